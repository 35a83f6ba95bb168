"""``torch.cond``, ``torch.while_loop`` and ``torch.vmap``; DLPack (``from_dlpack``, ``to_dlpack``),
``frombuffer``, ``empty_permuted`` and ``binomial`` against torch: values, errors, eagerly and compiled."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_same_result, check_op, raises_same

import torchjax as tj

X = np.array([1.0, 2.0, 3.0], np.float32)


def branches(lib):
    return (lambda a, b: (a * 2 + b, a.sum()), lambda a, b: (a - b, a.amax()))


COND = [
    ("tensor_true", lambda lib, x: lib.cond(x.sum() > 4, *branches(lib), (x, x)), X),
    ("tensor_false", lambda lib, x: lib.cond(x.sum() > 40, *branches(lib), [x, x]), X),
    ("python_bool", lambda lib, x: lib.cond(False, lambda a: a + 1, lambda a: a - 1, (x,)), X),
    ("one_element_tensor", lambda lib, x: lib.cond(x[:1] > 0, lambda a: a + 1, lambda a: a - 1, (x,)), X),
    ("not_scalar", lambda lib, x: lib.cond(x > 1, lambda a: a + 1, lambda a: a - 1, (x,)), X),
    ("operands_not_a_tuple", lambda lib, x: lib.cond(x.sum() > 1, lambda a: a + 1, lambda a: a - 1, x), X),
    ("while_loop", lambda lib, x: lib.while_loop(lambda i, a: i < 5, lambda i, a: (i + 1, a * 2), (lib.tensor(0), x)),
     X),
    ("while_loop_value_condition",
     lambda lib, x: lib.while_loop(lambda a: a.sum() < 100, lambda a: (a * 1.5,), (x,)), X),
    ("vmap", lambda lib, x: lib.vmap(lambda a, b: a * b.sum())(lib.stack([x, x * 2]), lib.stack([x, x])), X),
    ("vmap_in_dims", lambda lib, x: lib.vmap(lambda a, b: a + b, in_dims=(0, None))(x[:, None] * x, x), X),
]


@pytest.mark.parametrize("fn, arrays", [(c[1], c[2:]) for c in COND], ids=[c[0] for c in COND])
def test_control_flow(fn, arrays):
    check_op(fn, *arrays)


@pytest.mark.parametrize("name", ["tensor_false", "while_loop_value_condition"])
def test_control_flow_compiled(name):
    fn, *arrays = next(c[1:] for c in COND if c[0] == name)
    check_op(fn, *arrays, compiled=True)


def test_while_loop_carries_numbers_back_as_numbers():
    out_t = torch.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a + 1), (0, torch.tensor(X)))
    out = tj.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a + 1), (0, tj.tensor(X)))
    assert type(out[0]) is type(out_t[0]) is int and out[0] == out_t[0] == 3
    assert_same_result(out[1], out_t[1])


def test_cond_under_jax_transforms():
    def f(x):
        return tj.cond(tj.as_tensor(x).sum() > 0, lambda a: a.sin(), lambda a: a.cos(), (tj.as_tensor(x),)).jax()

    x = jnp.asarray(X)
    np.testing.assert_allclose(jax.jit(f)(x), np.sin(X), rtol=1e-6)
    np.testing.assert_allclose(jax.grad(lambda v: f(v).sum())(x), np.cos(X), rtol=1e-6)
    np.testing.assert_allclose(jax.grad(lambda v: f(v).sum())(-x), np.sin(X), rtol=1e-6)  # -d cos(v) at v = -x


def test_branch_outputs_must_match():
    with pytest.raises(RuntimeError, match="same structure"):
        tj.cond(tj.tensor(X).sum() > 0, lambda a: a, lambda a: a[:2], (tj.tensor(X),))
    with pytest.raises(RuntimeError, match="same number of outputs"):
        tj.while_loop(lambda i, a: i < 5, lambda i, a: (i + 1,), (tj.tensor(0), tj.tensor(X)))
    with pytest.raises(RuntimeError, match="boolean tensor"):
        tj.while_loop(lambda i: i, lambda i: (i - 1,), (tj.tensor(3),))


def test_dlpack_both_ways():
    x = tj.tensor(X)
    back = torch.from_dlpack(tj.to_dlpack(x))
    np.testing.assert_array_equal(back.numpy(), X)
    for source in (torch.tensor(X), torch.tensor(X).to_dlpack() if hasattr(torch.Tensor, "to_dlpack")
                   else torch.utils.dlpack.to_dlpack(torch.tensor(X)), np.asarray(X), jnp.asarray(X)):
        ours = tj.from_dlpack(source)
        assert isinstance(ours, tj.Tensor) and ours.dtype == tj.float32
        np.testing.assert_array_equal(ours.numpy(), X)
    # torch takes only tensors; torchjax's entry points take NumPy and jax arrays too (the package's rule).
    from_numpy = torch.from_dlpack(tj.to_dlpack(X))
    np.testing.assert_array_equal(from_numpy.numpy(), X)
    raises_same(lambda: torch.to_dlpack([1.0]), lambda: tj.to_dlpack([1.0]))


FROMBUFFER = [
    ("ints", lambda lib: lib.frombuffer(bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00"), dtype=lib.int32)),
    ("count_offset", lambda lib: lib.frombuffer(bytearray(range(8)), dtype=lib.int16, count=2, offset=2)),
    ("floats", lambda lib: lib.frombuffer(bytearray(X.tobytes()), dtype=lib.float32)),
    ("not_a_multiple", lambda lib: lib.frombuffer(bytearray(7), dtype=lib.int32)),
    ("empty", lambda lib: lib.frombuffer(bytearray(0), dtype=lib.int32)),
    ("count_too_big", lambda lib: lib.frombuffer(bytearray(8), dtype=lib.int32, count=3)),
    ("bad_offset", lambda lib: lib.frombuffer(bytearray(8), dtype=lib.int32, offset=9)),
    ("empty_permuted", lambda lib: lib.empty_permuted((2, 3, 4), (0, 2, 1)).shape),
    ("empty_permuted_dtype", lambda lib: lib.empty_permuted((2, 3), (1, 0), dtype=lib.int32).dtype == lib.int32),
    ("empty_permuted_bad", lambda lib: lib.empty_permuted((2, 3, 4), (0, 2))),
    ("binomial_dtype_error", lambda lib: lib.binomial(lib.tensor([10, 5]), lib.tensor([0.5, 0.2]))),
    ("binomial_mismatch", lambda lib: lib.binomial(lib.tensor([10.0]), lib.tensor([0.5], dtype=lib.float16))),
]


@pytest.mark.parametrize("fn", [c[1] for c in FROMBUFFER], ids=[c[0] for c in FROMBUFFER])
def test_creation(fn):
    check_op(fn)


def test_frombuffer_copies():
    buffer = bytearray(X.tobytes())
    out = tj.frombuffer(buffer, dtype=tj.float32)
    buffer[:4] = np.float32(9).tobytes()
    np.testing.assert_array_equal(out.numpy(), X)  # JAX arrays cannot alias host memory (documented)


def test_binomial_draws():
    tj.manual_seed(0)
    count = tj.full((4000,), 20.0)
    prob = tj.full((4000,), 0.3)
    draws = tj.binomial(count, prob).numpy()
    assert draws.dtype == np.float32 and np.all(draws == np.round(draws)) and draws.min() >= 0 and draws.max() <= 20
    assert abs(draws.mean() - 6.0) < 0.2 and abs(draws.var() - 4.2) < 0.4
    edge = tj.binomial(tj.tensor([5.0, 5.0, 0.0]), tj.tensor([0.0, 1.0, 0.5])).numpy()
    np.testing.assert_array_equal(edge, [0.0, 5.0, 0.0])
    tj.manual_seed(3)
    first = tj.binomial(count[:5], prob[:5])
    tj.manual_seed(3)
    assert np.array_equal(first.numpy(), tj.binomial(count[:5], prob[:5]).numpy())
    compiled = tj.compile(lambda n, p: tj.binomial(n, p))(count[:100], prob[:100]).numpy()
    assert np.all((compiled >= 0) & (compiled <= 20))

"""Bilinear, LazyLinear and NonDynamicallyQuantizableLinear (and F.bilinear) against torch; Identity and
Linear details not covered in test_module.py. Values and gradients eager and compiled, init
statistics, reprs, lazy materialization (forward, checkpoint, errors), low precision and vmap."""

from __future__ import annotations

import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, check_call_parity, check_forward_and_gradients, load_torch_state, raises_same

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F
from torchjax.nn.modules import attention as attention_module
from torchjax.nn.modules import linear as linear_module

RNG = np.random.default_rng(0)


def _randn(*shape) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _signature(cls) -> list:
    return [(p.name, p.default, p.kind) for p in inspect.signature(cls.__init__).parameters.values()]


@pytest.mark.parametrize("name", ["Identity", "Linear", "Bilinear", "LazyLinear", "NonDynamicallyQuantizableLinear"])
def test_signatures_and_constants_match_torch(name):
    ours, theirs = getattr(linear_module, name), getattr(torch.nn.modules.linear, name)
    assert _signature(ours) == _signature(theirs)
    assert getattr(ours, "__constants__", None) == getattr(theirs, "__constants__", None)
    assert name == "NonDynamicallyQuantizableLinear" or name in tnn.__all__


def test_identity_ignores_its_arguments_and_non_dynamically_quantizable_linear():
    x = torchjax.arange(3.0)
    assert tnn.Identity(54, unused="argument")(x) is x
    assert repr(tnn.Identity(1, a=2)) == repr(torch.nn.Identity(1, a=2)) == "Identity()"
    assert attention_module.NonDynamicallyQuantizableLinear is linear_module.NonDynamicallyQuantizableLinear
    assert "NonDynamicallyQuantizableLinear" not in linear_module.__all__  # not public, as in torch
    args = (3, 2, False)
    ours, theirs = linear_module.NonDynamicallyQuantizableLinear(*args), \
        torch.nn.modules.linear.NonDynamicallyQuantizableLinear(*args)
    assert repr(ours) == repr(theirs) and isinstance(ours, tnn.Linear)
    assert repr(tnn.MultiheadAttention(4, 2).out_proj) == repr(torch.nn.MultiheadAttention(4, 2).out_proj)


# --- Bilinear ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("in1,in2,out,bias,batch", [
    (3, 5, 4, True, (2,)),
    (3, 5, 4, False, (2, 3)),
    (2, 1, 3, True, ()),  # unbatched 1-D inputs
    (4, 2, 1, True, (0,)),  # empty batch
])
def test_bilinear_matches_torch(in1, in2, out, bias, batch):
    torch.manual_seed(0)
    theirs, ours = torch.nn.Bilinear(in1, in2, out, bias), tnn.Bilinear(in1, in2, out, bias)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    load_torch_state(ours, theirs)
    check_call_parity(theirs, ours, (_randn(*batch, in1), _randn(*batch, in2)))


def test_bilinear_same_input_twice_and_functional():
    torch.manual_seed(0)
    theirs, ours = torch.nn.Bilinear(3, 3, 2), tnn.Bilinear(3, 3, 2)
    load_torch_state(ours, theirs)
    x = _randn(4, 3)
    check_call_parity(theirs, ours, (x, x), compiled=False)  # one array at both positions: summed gradient
    w, b = _randn(2, 3, 3), _randn(2)
    assert_close(F.bilinear(x, x, w, b), torch.nn.functional.bilinear(*map(torch.tensor, (x, x, w, b))))
    assert_close(F.bilinear(x, x, tnn.Parameter(jnp.asarray(w))),
                 torch.nn.functional.bilinear(*map(torch.tensor, (x, x, w))))


def test_bilinear_default_init_matches_torch():
    """U(-1/sqrt(in1), 1/sqrt(in1)) for weight and bias, as torch's reset_parameters."""
    torch.manual_seed(0)
    torchjax.manual_seed(0)
    ours, theirs = tnn.Bilinear(16, 8, 32), torch.nn.Bilinear(16, 8, 32)
    bound = 1 / math.sqrt(16)
    for p, p_t in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        p, p_t = np.asarray(p.data), p_t.detach().numpy()
        assert p.shape == p_t.shape and p.dtype == p_t.dtype
        assert np.abs(p).max() <= bound and np.abs(p_t).max() <= bound
        assert np.abs(p).max() > 0.8 * bound
        tol = 0.05 if p.size > 1000 else 0.3  # Var of U(-b, b) is b^2 / 3; the bias has few samples
        assert abs(p.std() - bound / math.sqrt(3)) < tol * bound
        assert abs(p.mean()) < 0.1 * bound
    before = np.asarray(ours.weight.data)
    ours.reset_parameters()
    assert not np.array_equal(before, np.asarray(ours.weight.data))


def test_bilinear_factory_kwargs_low_precision_and_vmap():
    m = tnn.Bilinear(3, 2, 4, dtype=torchjax.bfloat16, device="cpu")
    assert m.weight.dtype == m.bias.dtype == jnp.bfloat16
    x1, x2 = _randn(5, 3), _randn(5, 2)
    full = F.bilinear(x1, x2, np.asarray(m.weight.data, np.float32), np.asarray(m.bias.data, np.float32))
    low = m(jnp.asarray(x1, jnp.bfloat16), jnp.asarray(x2, jnp.bfloat16))
    assert low.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(low, np.float32), full, atol=0.05, rtol=0.05)
    m = tnn.Bilinear(3, 2, 4)
    assert_close(jax.vmap(m)(jnp.asarray(x1), jnp.asarray(x2)), m(x1, x2), atol=1e-6)
    assert_close(jax.vmap(m, in_axes=(0, None))(jnp.asarray(x1), jnp.asarray(x2[0])), m(x1, np.tile(x2[0], (5, 1))),
                 atol=1e-6)
    ints = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(F.bilinear(ints, ints[:, :2], np.ones((4, 3, 2), np.int64)),
                                  torch.nn.functional.bilinear(torch.tensor(ints), torch.tensor(ints[:, :2]),
                                                               torch.ones(4, 3, 2, dtype=torch.long)).numpy())


@pytest.mark.parametrize("args", [(0, 3, 4), (3, 2, -1)])
def test_bilinear_constructor_errors(args):
    _, ours = raises_same(lambda: torch.nn.Bilinear(*args), lambda: tnn.Bilinear(*args))
    if args[0] == 0:
        assert str(ours) == "in1_features must be > 0, but got (in1_features=0)"
    for args in ((3, 0, 4), (3, 2, 0)):  # allowed, as in torch
        assert repr(tnn.Bilinear(*args)) == repr(torch.nn.Bilinear(*args))


@pytest.mark.parametrize("shapes", [
    ((1, 3), (2, 5), (4, 3, 5), (4,)),
    ((3, 3), (2, 5), (4, 3, 5), (4,)),
    ((2, 2, 3), (2, 5), (4, 3, 5), (4,)),
    ((2, 4), (2, 5), (4, 3, 5), (4,)),
    ((2, 3), (2, 4), (4, 3, 5), (4,)),
    ((2, 3), (2, 5), (4, 15), (4,)),
    ((2, 3), (2, 5), (4, 3, 5, 1), None),
    ((2, 3), (2, 5), (3,), None),
    ((2, 3), (2, 5), (4, 3, 5), (3,)),
    ((2, 3), (2, 5), (4, 3, 5), (1, 4)),
    ((2, 3), (2, 5), (4, 3, 5), ()),
    ((2, 3), (2, 5), (4, 3, 5), (4, 1)),
    ((), (), (4, 3, 5), (4,)),
])
def test_bilinear_functional_errors(shapes):
    arrays = [None if s is None else _randn(*s) for s in shapes]
    theirs, ours = raises_same(lambda: torch.nn.functional.bilinear(*[None if a is None else torch.tensor(a)
                                                                        for a in arrays]),
                               lambda: F.bilinear(*arrays))
    if "bilinear()" in str(theirs) or "Dimension" in str(theirs):
        assert str(ours) == str(theirs)


def test_bilinear_dtype_mismatch():
    args = [_randn(2, 3), _randn(2, 5), _randn(4, 3, 5), _randn(4)]
    for i in range(4):
        mixed = [a.astype(np.float16) if j == i else a for j, a in enumerate(args)]
        theirs, ours = raises_same(lambda: torch.nn.functional.bilinear(*map(torch.tensor, mixed)),  # noqa: B023
                                   lambda: F.bilinear(*mixed))  # noqa: B023
        assert str(ours) == str(theirs)
    theirs, ours = raises_same(lambda: torch.nn.Bilinear(3, 5, 4)(torch.zeros(2, 3), torch.zeros(2, 6)),
                               lambda: tnn.Bilinear(3, 5, 4)(jnp.zeros((2, 3)), jnp.zeros((2, 6))))
    assert str(ours) == str(theirs)


# --- LazyLinear ------------------------------------------------------------------------------------
def _state_summary(module, is_lazy) -> list:
    return [(k, repr(v) if is_lazy(v) else tuple(v.shape)) for k, v in module.state_dict().items()]


@pytest.mark.parametrize("bias,shape", [(True, (2, 3)), (False, (2, 1, 5)), (True, (4,))])
def test_lazy_linear_materializes_on_first_forward(bias, shape):
    ours, theirs = tnn.LazyLinear(4, bias), torch.nn.LazyLinear(4, bias)
    assert repr(ours) == repr(theirs)
    assert ours.has_uninitialized_params() and ours.in_features == 0
    assert _state_summary(ours, tnn.parameter.is_lazy) == _state_summary(theirs, torch.nn.parameter.is_lazy)
    x = _randn(*shape)
    with pytest.raises(RuntimeError, match="uninitialized.*run one forward pass eagerly"):
        torchjax.compile(lambda m, v: m(v))(ours, jnp.asarray(x))
    assert type(ours) is tnn.LazyLinear and ours.has_uninitialized_params()
    out, out_t = ours(jnp.asarray(x)), theirs(torch.tensor(x))
    assert out.shape == tuple(out_t.shape)
    assert type(ours) is tnn.Linear and type(theirs) is torch.nn.Linear
    assert repr(ours) == repr(theirs) and ours.in_features == shape[-1]
    assert not ours._forward_pre_hooks and not ours._load_state_dict_pre_hooks
    bound = 1 / math.sqrt(shape[-1])
    assert _state_summary(ours, tnn.parameter.is_lazy) == _state_summary(theirs, torch.nn.parameter.is_lazy)
    for p in ours.parameters():
        assert 0 < np.abs(np.asarray(p.data)).max() <= bound
    load_torch_state(ours, theirs)
    check_forward_and_gradients(theirs, ours, x, eager=False)  # an ordinary Linear now: compiled training works


def test_lazy_linear_loads_a_checkpoint():
    source = torch.nn.Linear(3, 4)
    ours, theirs = tnn.LazyLinear(4), torch.nn.LazyLinear(4)
    theirs.load_state_dict(source.state_dict())
    load_torch_state(ours, source)
    assert not ours.has_uninitialized_params() and type(ours) is tnn.LazyLinear
    assert repr(ours) == repr(theirs)  # in_features stays 0 until the first forward, as in torch
    assert_close(ours.weight, source.weight)
    x = _randn(2, 3)
    assert_close(ours(jnp.asarray(x)), theirs(torch.tensor(x)))
    assert type(ours) is tnn.Linear and repr(ours) == repr(theirs) == "Linear(in_features=3, out_features=4, bias=True)"
    # A loaded module whose first input disagrees with the checkpoint: torch's AssertionError.
    ours, theirs = tnn.LazyLinear(4), torch.nn.LazyLinear(4)
    theirs.load_state_dict(source.state_dict())
    load_torch_state(ours, source)
    _, error = raises_same(lambda: theirs(torch.zeros(2, 5)), lambda: ours(jnp.zeros((2, 5))))
    assert "in_features inferred from input: 5" in str(error)
    # Missing keys are reported as for any module (the bias placeholder has no value to load).
    raises_same(lambda: torch.nn.LazyLinear(4).load_state_dict(torch.nn.Linear(3, 4, bias=False).state_dict()),
                lambda: tnn.LazyLinear(4).load_state_dict({"weight": np.zeros((4, 3), np.float32)}))


def test_lazy_linear_dtype_vmap_and_errors():
    m = tnn.LazyLinear(3, bias=False, dtype=torchjax.bfloat16)
    assert m.weight.dtype == jnp.bfloat16
    m(jnp.ones((2, 5), jnp.bfloat16))
    assert m.weight.dtype == jnp.bfloat16 and m.weight.shape == (3, 5) and m.bias is None
    m = tnn.LazyLinear(3)
    x = _randn(6, 2)
    y = jax.vmap(m)(jnp.asarray(x))  # the first call, traced by vmap: in_features from one example
    assert type(m) is tnn.Linear and m.weight.shape == (3, 2) and not isinstance(m.weight.data, jax.core.Tracer)
    assert_close(y, m(x), atol=1e-6)
    raises_same(lambda: torch.nn.LazyLinear(4)(torch.tensor(1.0)), lambda: tnn.LazyLinear(4)(jnp.asarray(1.0)))


def test_uninitialized_parameter_misuse_raises_torchs_errors():
    for lib in (torch, torchjax):
        p = lib.nn.UninitializedParameter()
        for use in (lambda p=p: p + 1, lambda p=p: 2 * p, lambda p=p: -p, lambda p=p: p @ p, lambda p=p: p == 1,
                    lambda p=p: 1 >> p):
            with pytest.raises(ValueError, match="uninitialized parameter"):
                use()
    raises_same(lambda: torch.nn.LazyLinear(-1)(torch.ones(2, 3)), lambda: tnn.LazyLinear(-1)(jnp.ones((2, 3))))

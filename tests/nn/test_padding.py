"""The padding layers (Zero/Constant/Reflection/Replication/CircularPad 1d/2d/3d) and F.pad against
torch: outputs and input gradients eagerly and compiled, batched and unbatched, seeded random widths
(negative ones included), every F.pad mode, reprs, errors, vmap and half precision."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, check_forward_and_gradients, raises_same

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

RNG = np.random.default_rng(0)
FAMILIES = ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad")
# One batched input shape per number of padded dims (unbatched inputs drop N), to limit compiles.
SHAPES = {1: (2, 3, 6), 2: (2, 2, 4, 5), 3: (1, 2, 3, 4, 5)}


def _random_padding(family: str, n: int, rng: np.random.Generator):
    """A padding torch accepts for ``family`` on ``SHAPES[n]``: an int or a 2n-tuple (last dim first)."""
    sizes = SHAPES[n][::-1][:n]  # W, H, D
    if rng.integers(3) == 0:  # one int for every side
        return int(rng.integers(0, min(sizes))) if family == "ReflectionPad" else int(rng.integers(0, 3))
    widths = []
    for size in sizes:
        for _ in range(2):
            if family in ("ZeroPad", "ConstantPad"):
                widths.append(rng.integers(-2, 4))
            elif family == "ReflectionPad":
                widths.append(rng.integers(-1, size))
            elif family == "ReplicationPad":
                widths.append(rng.integers(-1, 5))
            else:  # circular: a border may not exceed the input left after the negative widths crop
                widths.append(rng.integers(-1, size - 1))
    return tuple(int(w) for w in widths)


def _configs():
    rng = np.random.default_rng(1)
    configs = []
    for family in FAMILIES:
        for n in (1, 2, 3):
            for batched in (True, False):
                args = (_random_padding(family, n, rng),)
                if family == "ConstantPad":
                    args += (round(float(rng.standard_normal()), 2),)
                configs.append((f"{family}{n}d", args, SHAPES[n] if batched else SHAPES[n][1:]))
    return configs


CONFIGS = _configs()


def _pair(name, *args):
    return getattr(torch.nn, name)(*args), getattr(tnn, name)(*args)


@pytest.mark.parametrize("name,args,shape", CONFIGS, ids=[f"{c[0]}-{len(c[2])}D-{c[1]}" for c in CONFIGS])
def test_module_matches_torch(name, args, shape):
    theirs, ours = _pair(name, *args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding and type(ours.padding) is tuple
    x = RNG.standard_normal(shape).astype(np.float32)
    check_forward_and_gradients(theirs, ours, x)


def _check_pad(x: np.ndarray, pad, mode="constant", value=None, compiled=True) -> None:
    """F.pad's output equals torch's eagerly, and with its input gradient inside ``torchjax.compile``
    (or eagerly with ``compiled=False``; the module tests check both ways)."""
    x_t = torch.tensor(x, requires_grad=x.dtype.kind == "f")
    out_t = torch.nn.functional.pad(x_t, pad, mode, value)
    ours = F.pad(jnp.asarray(x), pad, mode, value)
    assert ours.dtype == jnp.asarray(x).dtype
    assert_close(ours, out_t, atol=0, rtol=0)
    if x.dtype.kind != "f":
        return
    cotangent = RNG.standard_normal(tuple(out_t.shape)).astype(np.float32)
    (out_t * torch.tensor(cotangent)).sum().backward()

    def loss(v):
        return (F.pad(v, pad, mode, value) * cotangent).sum().jax()

    if not compiled:
        assert_close(jax.grad(loss)(jnp.asarray(x)), x_t.grad)
    else:
        out, grad = torchjax.compile(lambda v: (F.pad(v, pad, mode, value), jax.grad(loss)(v)))(jnp.asarray(x))
        assert_close(out, out_t, atol=0, rtol=0)
        assert_close(grad, x_t.grad)


X3 = RNG.standard_normal((2, 3, 5)).astype(np.float32)
X4 = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)
X5 = RNG.standard_normal((1, 2, 3, 4, 5)).astype(np.float32)


@pytest.mark.parametrize("x,pad,mode,value", [
    # constant: any number of dims, negative widths crop, a fill value
    (X4, (1, 2), "constant", None),
    (X4, (1, -2, 0, 3, -1, 1, 2, 0), "constant", 1.5),  # all four dims
    (X5, (-1, 2, 1, -1, 0, 1, 2, 2, 1, 0), "constant", -2.0),  # all five dims
    (X3, (-2, -2, 0, -1), "constant", 3.0),  # a pure crop
    (X3, (2, -5), "constant", 0.5),  # crops the whole dim, then pads it
    (X4, [], "constant", None),
    # reflect / replicate / circular on 1, 2 and 3 dims, batched and unbatched, negative widths
    (X3, (4, 3), "reflect", None),
    (X3, (-1, 3), "reflect", 0),
    (X3, (-6, 2), "reflect", None),  # crops past the input's end into the reflection
    (X3[0], (2, 1), "reflect", None),
    (X4[0], (2, 0, -1, 2), "reflect", None),
    (X4, (3, 1, 3, -2), "reflect", None),
    (X5[0], (1, 2, 0, 1, 2, 1), "reflect", None),
    (X5, (-1, 4, 2, 3, -1, 2), "reflect", None),
    (X3, (4, 7), "replicate", None),
    (X3, (-4, 2), "replicate", None),  # the border repeats the last element
    (X3, (3, -6), "replicate", None),
    (X4[0], (0, 0, 2, -1), "replicate", None),
    (X4, (-2, 1, 5, 0), "replicate", None),
    (X5, (1, -1, 0, 3, 2, 2), "replicate", None),
    (X5[0], (2, 2, 1, 1, -1, 3), "replicate", None),
    (X3, (5, 5), "circular", None),
    (X3, (-1, 2), "circular", None),  # wraps the cropped input
    (X3, (2, -1), "circular", None),
    (X3, (-3, -2), "circular", None),
    (X4[0], (1, 2, 2, 0), "circular", None),
    (X4, (-1, 3, 1, -2), "circular", None),
    (X5[0], (1, 2, 0, 3, 2, -1), "circular", None),
    (X5, (2, 1, 4, 0, -1, 1), "circular", None),
])
def test_functional_matches_torch(x, pad, mode, value):
    _check_pad(x, pad, mode, value)


def test_functional_dtypes_and_values():
    ints = np.arange(-6, 9, dtype=np.int32).reshape(3, 5)
    for mode in ("reflect", "replicate", "circular"):
        _check_pad(ints, (2, 1), mode)
    for value in (1.7, -1.7, True, None):  # a float fill truncates towards zero for integers
        _check_pad(ints, (1, 2, 0, 1), "constant", value)
    _check_pad(ints > 0, (1, 1), "constant", 0.5)  # bool: any non-zero value is True
    _check_pad(ints > 0, (1, 2), "circular")
    _check_pad(X3, (1, 1), "constant", float("nan"), compiled=False)
    # pad widths as a list, torch.Size-like tuples, NumPy and 0-d integer arrays
    _check_pad(X3, [np.int64(1), 2], "reflect", compiled=False)
    assert F.pad(jnp.asarray(X3), (jnp.asarray(1), 2)).shape == (2, 3, 8)


def test_traced_value_and_parameter_input():
    """A fill value that is an argument of a compiled step is traced (no recompile per value);
    a Parameter pads as its data."""
    x = jnp.asarray(X3)
    step = torchjax.compile(lambda v, value: F.pad(v, (1, 2), value=value))
    for value in (2.5, -1.0):
        assert_close(step(x, value), torch.nn.functional.pad(torch.tensor(X3), (1, 2), value=value), atol=0, rtol=0)
    p = tnn.Parameter(x)
    assert_close(F.pad(p, (1, 1), "replicate"), torch.nn.functional.pad(torch.tensor(X3), (1, 1), "replicate"))


def test_vmap():
    """Under jax.vmap the checks see one example: a (C, W) example pads as torch's unbatched input."""
    x = jnp.asarray(X4)
    for mode in ("constant", "reflect", "replicate", "circular"):
        out = jax.vmap(lambda v, mode=mode: F.pad(v, (1, 2, 2, -1), mode))(x)
        expected = torch.nn.functional.pad(torch.tensor(X4), (1, 2, 2, -1), mode)
        assert_close(out, expected, atol=0, rtol=0)
    ours = tnn.ReflectionPad1d((2, 1))
    assert_close(jax.vmap(ours)(jnp.asarray(X3)), torch.nn.ReflectionPad1d((2, 1))(torch.tensor(X3)), atol=0, rtol=0)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision(dtype):
    for mode, value in (("constant", 2.5), ("reflect", None), ("replicate", None), ("circular", None)):
        x = jnp.asarray(X4, dtype)
        out = F.pad(x, (1, 2, -1, 2), mode, value)
        assert out.dtype == dtype
        expected = torch.nn.functional.pad(torch.tensor(np.asarray(x, np.float32)), (1, 2, -1, 2), mode, value)
        assert_close(np.asarray(out, np.float32), expected, atol=0, rtol=0)
    assert tnn.ZeroPad3d(1)(jnp.asarray(X5, dtype)).dtype == dtype


@pytest.mark.parametrize("name,args", [
    ("ZeroPad1d", (2,)),
    ("ZeroPad2d", ((1, 1, 2, 0),)),
    ("ZeroPad3d", ((1, 2, 3, 4, 5, 6),)),
    ("ZeroPad2d", ((1, 2, 3),)),  # kept as given; the forward refuses it
    ("ConstantPad1d", ((1, 2), 2)),
    ("ConstantPad2d", (1, 3.5)),
    ("ConstantPad3d", (2, -1.0)),
    ("ReflectionPad1d", ([3, 1],)),
    ("ReflectionPad2d", ((1, 1, 2, 0),)),
    ("ReflectionPad3d", (1,)),
    ("ReplicationPad1d", (3,)),
    ("ReplicationPad2d", ((0, 1, 2, 3),)),
    ("ReplicationPad3d", ((3, 3, 6, 6, 1, 1),)),
    ("CircularPad1d", ((3, 1),)),
    ("CircularPad2d", (2,)),
    ("CircularPad3d", ((1, 2, 3, 4, 5, 6),)),
])
def test_repr_and_attributes_match_torch(name, args):
    theirs, ours = _pair(name, *args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding and type(ours.padding) is type(theirs.padding)
    assert getattr(ours, "value", None) == getattr(theirs, "value", None)
    assert ours.__constants__ == theirs.__constants__
    assert isinstance(ours, getattr(tnn, name).__mro__[1]) and list(ours.parameters()) == []


@pytest.mark.parametrize("name,args,shape", [
    ("CircularPad1d", (1,), (1, 1, 3, 5)),  # ValueError: the module's own rank check
    ("CircularPad2d", (1,), (3, 5)),
    ("CircularPad3d", (1,), (1, 1, 1, 3, 3, 5)),
    ("ReflectionPad2d", (1,), (3, 5)),  # NotImplementedError from F.pad
    ("ReflectionPad1d", (1,), (1, 1, 3, 5)),
    ("ReplicationPad3d", (1,), (3, 3, 5)),
    ("ConstantPad2d", (1, 2.0), (5,)),  # RuntimeError: more widths than dims
    ("ZeroPad2d", ((1, 2, 3),), (1, 3, 5)),  # odd number of widths
    ("ReflectionPad1d", (5,), (2, 5)),
    ("ReplicationPad2d", ((-5, 0, -4, 0),), (1, 4, 5)),
    ("CircularPad1d", (6,), (2, 5)),
])
def test_module_invalid_inputs(name, args, shape):
    theirs, ours = _pair(name, *args)
    x = np.zeros(shape, np.float32)
    raises_same(lambda: theirs(torch.tensor(x)), lambda: ours(jnp.asarray(x)))


@pytest.mark.parametrize("shape,pad,mode,value,dtype", [
    ((2, 3, 5), (1,), "constant", None, np.float32),
    ((2, 3, 5), (1, 1, 1), "reflect", None, np.float32),
    ((3, 5), (1,) * 6, "constant", None, np.float32),
    ((3, 5), (1,) * 6, "reflect", None, np.float32),
    ((2, 3, 5), (1, 1), "mirror", None, np.float32),
    ((2, 3, 5), (1, 1), "Reflect", None, np.float32),
    ((2, 3, 5), (1, 1), 3, None, np.float32),
    ((2, 3, 5), (1, 1), "reflect", 1.0, np.float32),
    ((2, 3, 5), (1, 1), "circular", 2, np.float32),
    ((2, 3, 5), (1.0, 1), "constant", None, np.float32),
    ((2, 3, 5), (True, 1), "constant", None, np.float32),
    ((2, 3, 5), 1, "constant", None, np.float32),
    ((2, 3, 5), None, "constant", None, np.float32),
    ((2, 3, 5), "ab", "constant", None, np.float32),
    ((2, 3, 5), np.array([1, 1]), "constant", None, np.float32),
    ((2, 3, 5), (1, 1), "constant", "a", np.float32),
    ((2, 3, 5), (1, 1), "constant", 1j, np.float32),
    ((2, 3, 5), (-3, -3), "constant", None, np.float32),
    ((2, 3, 5), (1, 0, -2, -2), "constant", None, np.float32),
    ((2, 3, 5), (1, 1), "constant", 1e39, np.float32),
    ((2, 3, 5), (1, 1), "constant", 1e6, np.float16),
    ((2, 3, 5), (1, 1), "constant", 128.0, np.int8),
    ((2, 3, 5), (1, 1), "constant", -1, np.uint8),
    ((2, 3, 5), (1, 1), "constant", float("nan"), np.int32),
    ((5,), (1, 1), "reflect", None, np.float32),  # 1-d padding wants a 2-d or 3-d input
    ((1, 2, 3, 5), (1, 1), "replicate", None, np.float32),
    ((3, 5), (1, 1, 1, 1), "circular", None, np.float32),
    ((3, 3, 5), (1,) * 6, "reflect", None, np.float32),
    ((1, 2, 3, 4, 5), (1,) * 8, "reflect", None, np.float32),
    ((2, 3, 5), (), "reflect", None, np.float32),
    ((2, 3, 5), (5, 1), "reflect", None, np.float32),  # reflect: widths below the size
    ((2, 3, 4, 5), (1, 1, 1, 4), "reflect", None, np.float32),
    ((1, 2, 3, 4, 5), (1, 1, 1, 1, 3, 0), "reflect", None, np.float32),
    ((2, 3, 5), (-5, 0), "reflect", None, np.float32),  # empty output
    ((1, 4, 5), (-5, 0, -4, 0), "reflect", None, np.float32),
    ((1, 3, 4, 5), (-5, 0, -4, 0, -3, 0), "replicate", None, np.float32),
    ((1, 3, 4, 5), (0, 0, 0, 0, -4, 0), "reflect", None, np.float32),  # a negative output size
    ((2, 3, 5), (-4, -2), "replicate", None, np.float32),
    ((2, 0, 5), (1, 1), "reflect", None, np.float32),  # only the batch may be empty
    ((0, 5), (1, 0), "replicate", None, np.float32),
    ((2, 3, 5), (1, 1), "reflect", None, np.bool_),
    ((2, 3, 5), (1, 1), "replicate", None, np.bool_),
    ((2, 3, 5), (6, 0), "circular", None, np.float32),  # circular: widths at most the size
    ((1, 2, 2), (-3, 0, 3, 0), "circular", None, np.float32),
    ((1, 2, 2), (3, 0, -3, 0), "circular", None, np.float32),
    ((1, 5), (-3, 5), "circular", None, np.float32),  # wraps more than the cropped input
    ((1, 5), (5, -3), "circular", None, np.float32),
])
def test_functional_invalid_arguments(shape, pad, mode, value, dtype):
    x = np.zeros(shape, dtype)
    raises_same(lambda: torch.nn.functional.pad(torch.tensor(x), pad, mode, value),
                lambda: F.pad(jnp.asarray(x), pad, mode, value))


def test_functional_invalid_input():
    raises_same(lambda: torch.nn.functional.pad([1.0, 2.0], (1, 1)), lambda: F.pad([1.0, 2.0], (1, 1)))


def test_allowed_edge_cases_match_torch():
    """Cases torch accepts that look like errors: an empty padded dim next to a non-empty one, an
    empty batch, widths equal to the size for circular, a pure crop needing no valid fill value."""
    for shape, pad, mode, value in (
        ((1, 4, 5), (0, 0, -4, 0), "reflect", None),
        ((1, 4, 5), (-1, 2, -4, 0), "replicate", None),
        ((1, 3, 4, 5), (0, 0, 0, 0, -3, 0), "replicate", None),
        ((0, 3, 5), (1, 1), "reflect", None),
        ((2, 0, 5), (1, 0), "circular", None),
        ((2, 3, 0), (0, 0), "circular", None),
        ((2, 3, 5), (-5, 0), "circular", None),
        ((2, 3, 5), (-1, 0), "constant", 1e39),
    ):
        x = np.ones(shape, np.float32)
        assert_close(F.pad(jnp.asarray(x), pad, mode, value),
                     torch.nn.functional.pad(torch.tensor(x), pad, mode, value), atol=0, rtol=0)

"""PixelShuffle, PixelUnshuffle, ChannelShuffle, Fold and Unfold (and their F forms) against torch:
values and input gradients eager and compiled, batched and unbatched, seeded random window
configurations, reprs, low precision, other dtypes, vmap and torch's errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from parity import assert_close, check_forward_and_gradients, raises_same

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

RNG = np.random.default_rng(0)


def _pair(name, *args):
    return getattr(torch.nn, name)(*args), getattr(tnn, name)(*args)


def _randn(*shape) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# --- pixel and channel shuffles -------------------------------------------------------------------
@pytest.mark.parametrize("name,factor,shape", [
    ("PixelShuffle", 2, (8, 2, 3)),  # no batch dim
    ("PixelShuffle", 3, (2, 9, 2, 1)),
    ("PixelShuffle", 2, (2, 1, 8, 1, 2)),  # two batch dims
    ("PixelShuffle", 1, (1, 3, 2, 2)),
    ("PixelUnshuffle", 2, (1, 4, 6)),
    ("PixelUnshuffle", 3, (2, 1, 3, 6)),
    ("PixelUnshuffle", 2, (1, 2, 3, 2, 4)),
    ("ChannelShuffle", 2, (2, 4, 3)),
    ("ChannelShuffle", 3, (1, 6, 2, 2)),
    ("ChannelShuffle", 2, (1, 6, 1, 2, 2)),
    ("ChannelShuffle", 1, (1, 3, 2)),
])
def test_shuffle_modules_match_torch(name, factor, shape):
    theirs, ours = _pair(name, factor)
    assert repr(ours) == repr(theirs)
    check_forward_and_gradients(theirs, ours, _randn(*shape), atol=0, rtol=0)


def test_shuffles_are_inverse_and_exact_for_every_dtype():
    x = np.arange(2 * 8 * 2 * 4).reshape(2, 8, 2, 4)
    for dtype in (np.int32, jnp.bfloat16, np.bool_):
        xj = jnp.asarray(x % 2 if dtype is np.bool_ else x, dtype)
        xt = torch.tensor(np.asarray(xj, np.float32 if dtype is jnp.bfloat16 else dtype))
        for fn, arg in (("pixel_shuffle", 2), ("pixel_unshuffle", 2), ("channel_shuffle", 4),
                        ("native_channel_shuffle", 2)):
            got = getattr(F, fn)(xj, arg)
            assert got.dtype == xj.dtype
            np.testing.assert_array_equal(np.asarray(got, xt.numpy().dtype), getattr(TF, fn)(xt, arg).numpy())
        np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(xj, 2), 2), xj)


def test_shuffles_under_vmap_and_jit():
    x = _randn(3, 2, 8, 2, 2)
    expected = TF.pixel_shuffle(torch.tensor(x), 2).numpy()
    assert_close(jax.vmap(lambda v: F.pixel_shuffle(v, 2))(jnp.asarray(x)), expected, atol=0)
    assert_close(jax.jit(jax.vmap(tnn.PixelShuffle(2)))(jnp.asarray(x)), expected, atol=0)
    expected = TF.channel_shuffle(torch.tensor(x).reshape(6, 8, 2, 2), 4).reshape(x.shape).numpy()
    assert_close(jax.vmap(tnn.ChannelShuffle(4))(jnp.asarray(x)), expected, atol=0)
    empty = F.pixel_unshuffle(jnp.zeros((0, 1, 4, 4)), 2)
    assert empty.shape == (0, 4, 2, 2)


@pytest.mark.parametrize("fn,shape,arg", [
    ("pixel_shuffle", (8, 2), 2),
    ("pixel_shuffle", (1, 6, 2, 2), 2),
    ("pixel_shuffle", (1, 4, 2, 2), 0),
    ("pixel_shuffle", (1, 4, 2, 2), -2),
    ("pixel_shuffle", (1, 4, 2, 2), 2.0),
    ("pixel_shuffle", (1, 4, 2, 2), True),
    ("pixel_unshuffle", (4, 4), 2),
    ("pixel_unshuffle", (1, 1, 3, 4), 2),
    ("pixel_unshuffle", (1, 1, 4, 3), 2),
    ("pixel_unshuffle", (1, 1, 4, 4), 0),
    ("channel_shuffle", (1, 4), 2),
    ("channel_shuffle", (4,), 2),
    ("channel_shuffle", (1, 6, 3), 4),
    ("channel_shuffle", (1, 4, 3), 0),
    ("channel_shuffle", (1, 4, 3), 2.0),
    ("native_channel_shuffle", (1, 4), 2),
    ("native_channel_shuffle", (1, 6, 3), 4),
    ("native_channel_shuffle", (1, 4, 3), -1),
])
def test_shuffle_errors(fn, shape, arg):
    x = np.zeros(shape, np.float32)
    theirs, ours = raises_same(lambda: getattr(TF, fn)(torch.tensor(x), arg), lambda: getattr(F, fn)(x, arg))
    assert str(ours).split(",")[0].split(":")[0] == str(theirs).split(",")[0].split(":")[0]


def test_shuffle_module_errors():
    for name, arg, shape in (("PixelShuffle", 3, (1, 8, 2, 2)), ("PixelUnshuffle", 2, (1, 3, 3)),
                             ("ChannelShuffle", 2, (1, 3, 2))):
        theirs, ours = _pair(name, arg)
        x = np.zeros(shape, np.float32)
        raises_same(lambda: theirs(torch.tensor(x)), lambda: ours(jnp.asarray(x)))  # noqa: B023


# --- fold and unfold --------------------------------------------------------------------------------
def _window_configs(count: int, seed: int = 0) -> list:
    """Seeded random kernel/dilation/padding/stride, given as ints or pairs, on a few input sizes."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        def arg(low, high):
            v = tuple(int(a) for a in rng.integers(low, high, 2))
            return v[0] if rng.integers(2) else v
        kwargs = dict(kernel_size=arg(1, 4), dilation=arg(1, 3), padding=arg(0, 3), stride=arg(1, 4))
        size = ((5, 6), (6, 4))[len(configs) % 2]
        k, d, p, s = (F.vision._pair(kwargs[n]) for n in ("kernel_size", "dilation", "padding", "stride"))
        if all(F.vision._blocks(*a) >= 1 for a in zip(size, k, d, p, s, strict=True)):
            configs.append((kwargs, size, bool(len(configs) % 3)))
    return configs


WINDOWS = [
    (dict(kernel_size=2), (4, 6), True),
    (dict(kernel_size=(2, 3), stride=(2, 3)), (5, 6), True),  # non-overlapping patches (one reshape)
    (dict(kernel_size=2, stride=2, padding=1), (4, 5), False),  # tiling with padding and a cropped remainder
    (dict(kernel_size=(3, 1), dilation=(2, 1), padding=(2, 0), stride=(1, 2)), (5, 6), True),
    *_window_configs(6),
]


@pytest.mark.parametrize("kwargs,size,batched", WINDOWS, ids=[f"w{i}" for i in range(len(WINDOWS))])
def test_unfold_and_fold_match_torch(kwargs, size, batched):
    channels = 2
    x = _randn(*((2,) if batched else ()), channels, *size)
    theirs, ours = torch.nn.Unfold(**kwargs), tnn.Unfold(**kwargs)
    assert repr(ours) == repr(theirs)
    blocks = theirs(torch.tensor(x))
    np.testing.assert_array_equal(ours(jnp.asarray(x)), blocks.numpy())  # a copy: exact
    # (the input gradient sums overlapping blocks, in XLA's order: within an ulp of torch's)
    check_forward_and_gradients(theirs, ours, x, atol=1e-6, rtol=1e-6, eager=batched)
    theirs, ours = torch.nn.Fold(size, **kwargs), tnn.Fold(size, **kwargs)
    assert repr(ours) == repr(theirs)
    check_forward_and_gradients(theirs, ours, _randn(*blocks.shape), atol=1e-6, rtol=1e-6, eager=batched)
    # fold(unfold(x)) == x * fold(unfold(ones)), as torch documents
    ones = np.ones_like(x)
    assert_close(F.fold(F.unfold(x, **kwargs), size, **kwargs),
                 x * np.asarray(F.fold(F.unfold(ones, **kwargs), size, **kwargs)), atol=1e-6)


def test_unfold_copies_exactly():
    """A copy, not a one-hot convolution: inf and nan stay in their own blocks (no 0 * inf)."""
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 1, 2], x[0, 0, 3, 0] = np.inf, np.nan
    for kwargs in (dict(kernel_size=2), dict(kernel_size=2, stride=2), dict(kernel_size=3, padding=1, dilation=2)):
        np.testing.assert_array_equal(F.unfold(jnp.asarray(x), **kwargs), TF.unfold(torch.tensor(x), **kwargs).numpy())
    cols = TF.unfold(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(F.fold(cols, 4, 2), TF.fold(torch.tensor(cols), 4, 2).numpy())


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_fold_unfold_low_precision(dtype):
    x = _randn(2, 3, 5, 4)
    kwargs = dict(kernel_size=2, padding=1, dilation=(1, 2))
    cols = F.unfold(jnp.asarray(x, dtype), **kwargs)
    assert cols.dtype == dtype
    np.testing.assert_array_equal(np.asarray(cols, np.float32), F.unfold(np.asarray(jnp.asarray(x, dtype), np.float32),
                                                                         **kwargs))
    out = F.fold(cols, (5, 4), **kwargs)
    assert out.dtype == dtype
    expected = TF.fold(TF.unfold(torch.tensor(x).to(getattr(torch, jnp.dtype(dtype).name)), **kwargs), (5, 4),
                       **kwargs)
    np.testing.assert_allclose(np.asarray(out, np.float32), expected.float().numpy(), atol=0.05, rtol=0.02)


def test_fold_unfold_other_dtypes():
    b = np.ones((1, 4, 4), bool)
    np.testing.assert_array_equal(F.fold(b, (3, 3), 2), TF.fold(torch.tensor(b), (3, 3), 2).numpy())
    np.testing.assert_array_equal(F.unfold(b[None], 2), TF.unfold(torch.tensor(b[None]), 2).numpy())
    z = (_randn(1, 2, 3, 3) + 1j * _randn(1, 2, 3, 3)).astype(np.complex64)
    np.testing.assert_array_equal(F.unfold(z, 2), TF.unfold(torch.tensor(z), 2).numpy())
    for fn, args in ((F.unfold, (2,)), (F.fold, ((3, 3), 2))):
        torch_fn = getattr(TF, fn.__name__)
        ints = np.ones((1, 4, 4), np.int32)
        _, error = raises_same(lambda: torch_fn(torch.tensor(ints), *args), lambda: fn(ints, *args))  # noqa: B023
        assert "not implemented for 'Int'" in str(error)


def test_fold_unfold_under_vmap_and_empty_batch():
    x = _randn(3, 2, 2, 5, 4)
    expected = TF.unfold(torch.tensor(x).reshape(6, 2, 5, 4), 2, stride=(1, 2)).reshape(3, 2, 8, 8).numpy()
    assert_close(jax.vmap(tnn.Unfold(2, stride=(1, 2)))(jnp.asarray(x)), expected, atol=0)  # 4-D per example
    assert_close(jax.vmap(jax.vmap(lambda v: F.unfold(v, 2, stride=(1, 2))))(jnp.asarray(x)), expected, atol=0)
    folded = jax.vmap(lambda c: F.fold(c, (5, 4), 2, stride=(1, 2)))(jnp.asarray(expected))
    assert_close(folded, TF.fold(torch.tensor(expected).reshape(6, 8, 8), (5, 4), 2, stride=(1, 2)).reshape(
        3, 2, 2, 5, 4), atol=1e-6)
    assert F.unfold(jnp.zeros((0, 2, 4, 4)), 2).shape == (0, 8, 9)
    assert F.fold(jnp.zeros((0, 8, 9)), 4, 2).shape == (0, 2, 4, 4)


@pytest.mark.parametrize("shape,args,kwargs", [
    ((5, 6), (2,), {}),  # 2-D input: torch's IndexError
    ((5,), (2,), {}),
    ((), (2,), {}),
    ((1, 2, 3, 5, 6), (2,), {}),
    ((2, 0, 5, 6), (2,), {}),
    ((0, 5, 6), (2,), {}),
    ((2, 3, 5, 6), ((2, 2, 2),), {}),
    ((2, 3, 5, 6), ((2,),), {}),
    ((2, 3, 5, 6), (2,), dict(dilation=(1, 1, 1))),
    ((2, 3, 5, 6), (2,), dict(stride=[1, 1, 1])),
    ((2, 3, 5, 6), (0,), dict(stride=0)),
    ((2, 3, 5, 6), (2,), dict(stride=0, dilation=0, padding=-1)),
    ((2, 3, 5, 6), (2,), dict(stride=0, padding=-1)),
    ((2, 3, 5, 6), (2,), dict(stride=0)),
    ((2, 3, 5, 6), (7,), {}),
    ((2, 3, 5, 6), (2.0,), {}),
])
def test_unfold_errors(shape, args, kwargs):
    x = np.zeros(shape, np.float32)
    theirs, ours = raises_same(lambda: TF.unfold(torch.tensor(x), *args, **kwargs),
                               lambda: F.unfold(jnp.asarray(x), *args, **kwargs))
    if not isinstance(theirs, TypeError):
        assert str(ours) == str(theirs)


@pytest.mark.parametrize("shape,args,kwargs", [
    ((1, 2, 12, 12), ((4, 5), 2), {}),
    ((12,), ((4, 5), 2), {}),
    ((2, 12, 0), ((1, 5), 2), {}),
    ((2, 0, 12), ((4, 5), 2), {}),
    ((0, 4), ((2, 2), 1), {}),
    ((2, 13, 12), ((4, 5), 2), {}),
    ((2, 12, 11), ((4, 5), 2), {}),
    ((2, 12, 12), ((0, 5), 2), {}),
    ((2, 4, 1), ((1, 1), 2), dict(dilation=2)),  # (-1) * (-1) blocks
    ((2, 4, 4), ((0, 0), 1), dict(padding=1)),
    ((2, 12, 12), ((4, 5, 6), 2), {}),
    ((2, 12, 12), ((4, 5), (2, 2, 2)), {}),
    ((2, 12, 12), ((4, 5), 2), dict(padding=(1, 1, 1))),
    ((2, 12, 12), ((4, 5), 0), dict(stride=0, dilation=0, padding=-1)),
    ((2, 12, 12), ((4, 5), 2), dict(stride=0, dilation=0, padding=-1)),
    ((2, 12, 12), ((4, 5), 2), dict(dilation=0, padding=-1)),
    ((2, 12, 12), ((4, 5), 2), dict(padding=-1)),
    ((2, 12, 12), ((4.0, 5), 2), {}),
])
def test_fold_errors(shape, args, kwargs):
    x = np.zeros(shape, np.float32)
    theirs, ours = raises_same(lambda: TF.fold(torch.tensor(x), *args, **kwargs),
                               lambda: F.fold(jnp.asarray(x), *args, **kwargs))
    if not isinstance(theirs, TypeError):
        assert str(ours) == str(theirs)


def test_fold_unfold_modules_keep_their_arguments():
    for args in (((4, 5), 2), ([4, 5], (2, 3), 1, (1, 0), [2, 1]), (4, 2, 2, 1, 3)):
        theirs, ours = _pair("Fold", *args)
        assert repr(ours) == repr(theirs)
        assert (ours.output_size, ours.kernel_size, ours.dilation, ours.padding, ours.stride) == (
            theirs.output_size, theirs.kernel_size, theirs.dilation, theirs.padding, theirs.stride)
        theirs, ours = _pair("Unfold", *args[1:])
        assert repr(ours) == repr(theirs)
    assert not list(tnn.Fold(4, 2).parameters()) and not tnn.Unfold(2).state_dict()
    theirs, ours = _pair("Fold", 4, 2)
    x = np.zeros((1, 4, 10), np.float32)
    raises_same(lambda: theirs(torch.tensor(x)), lambda: ours(jnp.asarray(x)))


def test_unfold_and_fold_inside_a_compiled_gradient():
    """Unfold -> Linear -> Fold (a convolution written with im2col): parameter gradients in one program."""
    torch.manual_seed(0)
    linear_t, linear = torch.nn.Linear(8, 8), tnn.Linear(8, 8)
    linear.load_state_dict({k: v.numpy() for k, v in linear_t.state_dict().items()})
    unfold_t, unfold = torch.nn.Unfold(2, padding=1), tnn.Unfold(2, padding=1)
    fold_t, fold = torch.nn.Fold((3, 4), 2, padding=1), tnn.Fold((3, 4), 2, padding=1)
    x = _randn(2, 2, 3, 4)
    out_t = fold_t(linear_t(unfold_t(torch.tensor(x)).transpose(1, 2)).transpose(1, 2))
    (out_t ** 2).sum().backward()

    def loss(lin, v):
        return (fold(lin(unfold(v).swapaxes(1, 2)).swapaxes(1, 2)) ** 2).sum()

    grads = torchjax.compile(torchjax.func.grad(loss))(linear, jnp.asarray(x))
    assert_close(grads["weight"], linear_t.weight.grad, atol=1e-4)
    assert_close(grads["bias"], linear_t.bias.grad, atol=1e-4)

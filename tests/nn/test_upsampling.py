"""F.interpolate (every mode), the deprecated F.upsample* aliases and Upsample / UpsamplingNearest2d /
UpsamplingBilinear2d against torch: outputs and input gradients eagerly and compiled, the index and
weight tables against torch's kernels over many sizes, uint8, half precision, vmap, reprs and errors."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, check_forward_and_gradients, raises_same

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F
from torchjax.nn.functional import upsampling as U

TF = torch.nn.functional
RNG = np.random.default_rng(0)
# One input shape per number of spatial dims: each new shape costs XLA compiles.
SHAPES = {1: (2, 3, 5), 2: (2, 3, 5, 4), 3: (1, 2, 3, 5, 4)}
MODE_DIMS = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3), "linear": (1,), "bilinear": (2,),
             "bicubic": (2,), "trilinear": (3,)}


class _TorchInterpolate(torch.nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, x):
        return TF.interpolate(x, **self.kwargs)


class _Interpolate(tnn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, x):
        return F.interpolate(x, **self.kwargs)


def _random_configs(count: int, seed: int = 0) -> list[dict]:
    """Seeded modes x (size | scale_factor, integer, fractional, downsampling) x align_corners x
    recompute_scale_factor."""
    rng = np.random.default_rng(seed)
    scales = [2, 1.7, 0.6, 3, 0.5, 1.3, 2.5]
    configs = []
    while len(configs) < count:
        mode = list(MODE_DIMS)[len(configs) % len(MODE_DIMS)]
        n = int(rng.choice(MODE_DIMS[mode]))
        kwargs = dict(mode=mode)
        if rng.random() < 0.35:
            sizes = tuple(int(v) for v in rng.integers(1, 9, n))
            kwargs["size"] = sizes if rng.random() < 0.7 else sizes[0]
        else:
            picks = tuple(float(scales[i]) for i in rng.integers(len(scales), size=n))
            kwargs["scale_factor"] = picks if rng.random() < 0.5 else picks[0]
            kwargs["recompute_scale_factor"] = [None, False, True][rng.integers(3)]
        if mode in ("linear", "bilinear", "bicubic", "trilinear"):
            kwargs["align_corners"] = [None, False, True][rng.integers(3)]
        configs.append((n, kwargs))
    return configs


CONFIGS = _random_configs(28) + [
    (1, dict(mode="nearest", scale_factor=1.1)),  # size kept: torch's backward copies, its forward does not
    (2, dict(mode="nearest", scale_factor=(1.1, 2.0000001))),
    (1, dict(mode="nearest-exact", scale_factor=0.6)),
    (1, dict(mode="linear", scale_factor=1.1)),  # size kept: a copy whatever the scale
    (2, dict(mode="bicubic", scale_factor=1.1)),  # size kept: the backward copies, the forward interpolates
    (2, dict(mode="bicubic", scale_factor=(1.1, 0.6), align_corners=False)),
    (2, dict(mode="bilinear", scale_factor=1.7, recompute_scale_factor=False)),
    (2, dict(mode="bilinear", scale_factor=1.7, recompute_scale_factor=True)),
    (2, dict(mode="bilinear", size=(2, 3), antialias=True)),
    (2, dict(mode="bilinear", scale_factor=(0.5, 1.1), antialias=True, align_corners=True)),
    (2, dict(mode="bicubic", scale_factor=0.6, antialias=True)),
    (2, dict(mode="bicubic", size=(7, 2), antialias=True, align_corners=True)),
    (2, dict(mode="lanczos", size=(2, 6), antialias=True)),
    (3, dict(mode="area", scale_factor=(0.6, 1.5, 0.5))),
]


@pytest.mark.parametrize("n,kwargs", CONFIGS, ids=[f"{k['mode']}-{i}" for i, (_, k) in enumerate(CONFIGS)])
def test_interpolate_matches_torch(n, kwargs):
    x = RNG.standard_normal(SHAPES[n]).astype(np.float32)
    check_forward_and_gradients(_TorchInterpolate(**kwargs), _Interpolate(**kwargs), x)


def test_nearest_large_output_uses_torch_forward_kernel():
    """torch's nearest-2d forward switches kernels at H_out + W_out > 128; so do the positions."""
    for width in (61, 62):  # W_out = 122 (<= 128 with H_out = 5) and 124 (> 128)
        x = RNG.standard_normal((1, 1, 5, width)).astype(np.float32)
        kwargs = dict(mode="nearest", scale_factor=(1.1, 2.0000001))
        check_forward_and_gradients(_TorchInterpolate(**kwargs), _Interpolate(**kwargs), x, eager=False)


def _dense(table, in_size: int) -> np.ndarray:
    indices, weights = table
    matrix = np.zeros((indices.shape[0], in_size))
    rows = np.repeat(np.arange(indices.shape[0]), indices.shape[1])
    np.add.at(matrix, (rows, indices.reshape(-1)), 1.0 if weights is None else weights.reshape(-1))
    return matrix


def _torch_matrices(mode, in_size, kwargs, dtype):
    """torch's forward and backward kernels along one dim as (out, in) matrices."""
    two_d = mode in ("bicubic", "bilinear", "lanczos")
    shape = (1, 1, 1, in_size) if two_d else (1, 1, in_size)
    if two_d:
        kwargs = {k: (1, v) if k == "size" else (1.0, v) if k == "scale_factor" else v for k, v in kwargs.items()}
    eye = torch.eye(in_size, dtype=dtype).reshape((in_size,) + shape[1:])
    forward = TF.interpolate(eye, mode=mode, **kwargs).reshape(in_size, -1).T
    x = torch.zeros(shape, dtype=dtype, requires_grad=True)
    y = TF.interpolate(x, mode=mode, **kwargs)
    cotangents = torch.eye(y.numel(), dtype=dtype).reshape((-1,) + tuple(y.shape))
    (backward,) = torch.autograd.grad(y, x, grad_outputs=cotangents, is_grads_batched=True)
    return forward.double().numpy(), backward.reshape(y.numel(), in_size).double().numpy()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tables_match_torch_kernels(dtype):
    """Positions and weights (float rounding included) of the forward and backward kernels of every
    separable mode, over random sizes and scales (no XLA: the NumPy tables against torch)."""
    rng = np.random.default_rng(1)
    f = np.float64 if dtype == torch.float64 else np.float32
    modes = ["nearest", "nearest-exact", "linear", "bicubic", "bilinear+aa", "bicubic+aa", "lanczos"]
    scales = [1.1, 2.0000001, 1.9, 0.5, 2.0, 3.0, 1 / 3, 0.6, 1.7, 0.3, 0.999, 2.5, 1.25]
    for _ in range(150):
        mode = modes[rng.integers(len(modes))]
        antialias = mode.endswith("+aa") or mode == "lanczos"
        mode = mode.removesuffix("+aa")
        in_size = int(rng.integers(1, 40))
        kwargs = dict(antialias=antialias)
        scale = None
        if rng.random() < 0.4:
            kwargs["size"] = int(rng.integers(1, 2 * in_size + 8))
        else:
            scale = float(rng.choice(scales)) if rng.random() < 0.5 else float(np.round(rng.uniform(0.2, 3.5), 3))
            if int(in_size * scale) < 1:
                continue
            kwargs["scale_factor"] = scale
            kwargs["recompute_scale_factor"] = [None, False, True][rng.integers(3)]
        align_corners = mode not in ("nearest", "nearest-exact", "lanczos") and bool(rng.integers(2))
        if mode not in ("nearest", "nearest-exact", "lanczos"):
            kwargs["align_corners"] = align_corners
        forward_t, backward_t = _torch_matrices(mode, in_size, kwargs, dtype)
        used_scale = None if kwargs.get("recompute_scale_factor") else scale
        forward, backward = U._axis_tables(U._kind(mode), in_size, forward_t.shape[0], align_corners, used_scale, f,
                                           antialias)
        if mode == "bicubic" and not antialias and forward_t.shape[0] == in_size:
            backward = U._identity_table(in_size)  # the kernel's rule: no size changes, the gradient is copied
        # float32: torch's bicubic backward kernel rounds its source positions differently from its
        # forward one (no fused multiply-add), a few ulps of a position, 2e-6 of a weight.
        atol = 5e-6 if f is np.float32 else 1e-12
        context = f"{mode} in={in_size} {kwargs}"
        np.testing.assert_allclose(_dense(forward, in_size), forward_t, atol=atol, err_msg=context)
        np.testing.assert_allclose(_dense(backward, in_size), backward_t, atol=atol, err_msg=context)


def test_recompute_scale_factor_changes_values():
    """With a fractional scale, the given scale (None/False) and in/out (True) give other values; both as torch."""
    x = RNG.standard_normal((1, 2, 5)).astype(np.float32)
    outs = []
    for recompute in (None, False, True):
        ours = F.interpolate(jnp.asarray(x), scale_factor=1.7, mode="linear", recompute_scale_factor=recompute)
        theirs = TF.interpolate(torch.tensor(x), scale_factor=1.7, mode="linear", recompute_scale_factor=recompute)
        assert_close(ours, theirs)
        outs.append(np.asarray(ours))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.allclose(outs[0], outs[2])


def test_antialias_output_width_one():
    """torch 2.13's float antialiased kernel repeats its first output row when the output width is 1
    (its gradient is right); ours is the correct resize: torch's on the transposed input."""
    x = RNG.standard_normal((1, 2, 5, 4)).astype(np.float32)
    for mode in ("bilinear", "bicubic"):
        ours = F.interpolate(jnp.asarray(x), size=(3, 1), mode=mode, antialias=True)
        theirs = TF.interpolate(torch.tensor(x).transpose(-1, -2), size=(1, 3), mode=mode, antialias=True)
        assert_close(ours, theirs.transpose(-1, -2))
        kwargs = dict(size=(3, 1), mode=mode, antialias=True)
        xt = torch.tensor(x, requires_grad=True)
        cotangent = RNG.standard_normal((1, 2, 3, 1)).astype(np.float32)
        (TF.interpolate(xt, **kwargs) * torch.tensor(cotangent)).sum().backward()
        grad = jax.grad(lambda v, kw=kwargs, c=cotangent: (F.interpolate(v, **kw) * c).sum().jax())(jnp.asarray(x))
        assert_close(grad, xt.grad)


@pytest.mark.parametrize("mode,kwargs", [
    ("nearest", dict(scale_factor=1.7)),
    ("nearest-exact", dict(size=(7, 3))),
    ("bilinear", dict(scale_factor=(1.7, 0.6), align_corners=False)),
    ("bilinear", dict(size=(9, 7), align_corners=True)),
    ("bicubic", dict(scale_factor=1.3)),
    ("bicubic", dict(size=(3, 9), align_corners=True)),
    ("bilinear", dict(size=(3, 2), antialias=True)),
    ("bicubic", dict(scale_factor=(0.5, 1.5), antialias=True)),
])
@pytest.mark.parametrize("channels", [3, 5])  # torch's AVX kernel takes <= 4 channels, its generic one more
def test_uint8_matches_torch_exactly(mode, kwargs, channels):
    x = RNG.integers(0, 256, (2, channels, 6, 5)).astype(np.uint8)
    ours = F.interpolate(jnp.asarray(x), mode=mode, **kwargs)
    assert ours.dtype == jnp.uint8
    np.testing.assert_array_equal(np.asarray(ours), TF.interpolate(torch.tensor(x), mode=mode, **kwargs).numpy())


def test_uint8_output_width_one():
    """torch's uint8 kernel for > 4 channels has the width-1 fault of its float antialiased one; ours
    matches its <= 4-channel kernel, here applied to channel groups."""
    x = RNG.integers(0, 256, (1, 6, 7, 3)).astype(np.uint8)
    for kwargs in (dict(size=(12, 1), mode="bicubic"), dict(size=(4, 1), mode="bilinear", antialias=True)):
        theirs = np.concatenate([TF.interpolate(torch.tensor(x[:, c:c + 3]), **kwargs).numpy() for c in (0, 3)], 1)
        np.testing.assert_array_equal(np.asarray(F.interpolate(jnp.asarray(x), **kwargs)), theirs)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision(dtype):
    x = RNG.standard_normal((1, 2, 5, 4)).astype(np.float32)
    torch_dtype = torch.float16 if dtype == jnp.float16 else torch.bfloat16
    for kwargs in (dict(mode="nearest", scale_factor=1.7), dict(mode="bilinear", size=(7, 3)),
                   dict(mode="bicubic", scale_factor=0.6, align_corners=True), dict(mode="area", size=(3, 2))):
        ours = F.interpolate(jnp.asarray(x, dtype), **kwargs)
        assert ours.dtype == dtype
        theirs = TF.interpolate(torch.tensor(x).to(torch_dtype), **kwargs).float()
        np.testing.assert_allclose(np.asarray(ours, np.float32), theirs.numpy(), atol=0.05, rtol=0.02)


def test_vmap_and_compile():
    x = RNG.standard_normal((3, 2, 2, 5, 4)).astype(np.float32)  # a vmapped leading dim over (N, C, H, W)
    kwargs = dict(scale_factor=(1.7, 0.6), mode="bicubic", align_corners=True)
    ours = jax.vmap(lambda v: F.interpolate(v, **kwargs))(jnp.asarray(x))
    theirs = TF.interpolate(torch.tensor(x).reshape(6, 2, 5, 4), **kwargs)
    assert_close(ours, theirs.reshape(3, 2, 2, 8, 2))
    grads = jax.vmap(jax.grad(lambda v: F.interpolate(v, size=(3, 7), mode="nearest").sum().jax()))(jnp.asarray(x))
    xt = torch.tensor(x.reshape(6, 2, 5, 4), requires_grad=True)
    TF.interpolate(xt, size=(3, 7), mode="nearest").sum().backward()
    assert_close(grads, xt.grad.reshape(x.shape))
    compiled = torchjax.compile(lambda v: F.interpolate(v, size=(3, 7), mode="nearest-exact"))
    assert_close(compiled(jnp.asarray(x[0])), TF.interpolate(torch.tensor(x[0]), size=(3, 7), mode="nearest-exact"))


def test_empty_batch():
    for mode in ("nearest", "bilinear", "bicubic"):
        ours = F.interpolate(jnp.zeros((0, 2, 3, 4)), size=(5, 2), mode=mode)
        assert ours.shape == tuple(TF.interpolate(torch.zeros(0, 2, 3, 4), size=(5, 2), mode=mode).shape)


@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("Upsample", (), dict(scale_factor=2), (2, 3, 5)),
    ("Upsample", ((7, 3),), dict(mode="bilinear", align_corners=True), (2, 3, 5, 4)),
    ("Upsample", (), dict(scale_factor=(1.7, 0.6), mode="bicubic", recompute_scale_factor=True), (2, 3, 5, 4)),
    ("Upsample", (6,), dict(mode="nearest-exact"), (1, 2, 3, 5, 4)),
    ("Upsample", (), dict(scale_factor=0.5, mode="area"), (2, 3, 5, 4)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), (2, 3, 5, 4)),
    ("UpsamplingBilinear2d", ((4, 7),), {}, (2, 3, 5, 4)),
    ("UpsamplingBilinear2d", (None, 1.5), {}, (2, 3, 5, 4)),
])
def test_modules_match_torch(name, args, kwargs, shape):
    theirs, ours = getattr(torch.nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    for attr in ("name", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert type(getattr(ours, attr)) is type(getattr(theirs, attr)), attr
    check_forward_and_gradients(theirs, ours, RNG.standard_normal(shape).astype(np.float32), eager=False)


@pytest.mark.parametrize("args,kwargs", [
    ((), {}),
    ((3,), dict(scale_factor=0)),
    ((), dict(scale_factor=(2, 3.5), mode="trilinear", align_corners=False)),
    (((2, 3),), dict(mode="bicubic", align_corners=True, recompute_scale_factor=False)),
    ((), dict(scale_factor=0.0, size=[1, 2])),
])
def test_module_repr_and_attributes(args, kwargs):
    theirs, ours = torch.nn.Upsample(*args, **kwargs), tnn.Upsample(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.scale_factor == theirs.scale_factor and ours.size == theirs.size


def test_module_invalid_scale_factor():
    raises_same(lambda: torch.nn.Upsample(scale_factor=[2, 3]), lambda: tnn.Upsample(scale_factor=[2, 3]))
    x = np.zeros((1, 1, 4, 4), np.float32)
    raises_same(lambda: torch.nn.Upsample(scale_factor=0)(torch.tensor(x)),
                lambda: tnn.Upsample(scale_factor=0)(jnp.asarray(x)))


@pytest.mark.parametrize("fn,kwargs", [
    ("upsample", dict(scale_factor=1.7, mode="bilinear")),
    ("upsample", dict(size=(3, 7), mode="bicubic", align_corners=True)),
    ("upsample_nearest", dict(scale_factor=2)),
    ("upsample_bilinear", dict(size=(3, 7))),
])
def test_deprecated_aliases(fn, kwargs):
    x = RNG.standard_normal((2, 3, 5, 4)).astype(np.float32)
    with pytest.warns(UserWarning, match=rf"`nn.functional.{fn}` is deprecated") as record:
        ours = getattr(F, fn)(jnp.asarray(x), **kwargs)
    assert record[0].filename == __file__  # stacklevel points at the caller, as torch's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(TF, fn)(torch.tensor(x), **kwargs)
    assert_close(ours, theirs)


@pytest.mark.parametrize("shape,kwargs", [
    ((1, 2, 5), dict(size=3, scale_factor=2.0)),
    ((1, 2, 5), {}),
    ((1, 2, 5), dict(size=(3, 4))),
    ((1, 2, 5, 4), dict(size=[3])),
    ((1, 2, 5), dict(scale_factor=(2.0, 3.0))),
    ((1, 2, 5), dict(size=(3.0,))),
    ((1, 2, 5), dict(size=3.0)),
    ((1, 2, 5, 4), dict(size=(None, 3))),
    ((1, 2, 5), dict(size=(True,))),
    ((1, 2, 5), dict(size=[[3]])),
    ((1, 2, 5, 4), dict(scale_factor=(None, 3))),
    ((1, 2, 5), dict(scale_factor="2")),
    ((1, 2, 5), dict(size=3, recompute_scale_factor=True)),
    ((1, 2, 5), dict(size=3, align_corners=False)),
    ((1, 2, 5), dict(size=3, mode="area", align_corners=True)),
    ((1, 2, 5), dict(size=3, mode="nearest-exact", align_corners=True)),
    ((1, 2, 5), dict(size=3, mode="linear", align_corners=1)),
    ((1, 2, 5), dict(size=3, mode="foo")),
    ((1, 2, 5, 4), dict(size=3, mode="cubic")),
    ((2, 5), dict(size=3)),
    ((2, 5), dict(size=(3,))),
    ((1, 1, 2, 2, 2, 2), dict(size=3)),
    ((1, 2, 5, 4), dict(size=3, mode="linear")),
    ((1, 2, 3, 5, 4), dict(size=3, mode="linear")),
    ((1, 2, 5), dict(size=3, mode="bilinear")),
    ((1, 2, 3, 5, 4), dict(size=3, mode="bilinear")),
    ((1, 2, 5), dict(size=3, mode="trilinear")),
    ((1, 2, 5, 4), dict(size=3, mode="trilinear")),
    ((1, 2, 5), dict(size=3, mode="bicubic")),
    ((1, 2, 5, 4), dict(size=3, antialias=True)),
    ((1, 2, 5), dict(size=3, mode="linear", antialias=True)),
    ((1, 2, 3, 5, 4), dict(size=3, mode="bilinear", antialias=True)),
    ((1, 2, 5, 4), dict(size=3, mode="lanczos")),
    ((1, 2, 5, 4), dict(size=3, mode="lanczos", antialias=True, align_corners=True)),
    ((1, 2, 5), dict(size=0)),
    ((1, 2, 5), dict(size=-1, mode="linear")),
    ((1, 2, 5, 4), dict(size=(0, 2), mode="bilinear")),
    ((1, 2, 3, 5, 4), dict(size=(0, 2, 2), mode="trilinear")),
    ((1, 2, 5), dict(scale_factor=0.1)),
    ((1, 2, 5), dict(scale_factor=-1.0)),
    ((1, 2, 5), dict(scale_factor=float("inf"))),
    ((1, 2, 5), dict(scale_factor=float("nan"), mode="nearest-exact")),
    ((1, 2, 5), dict(scale_factor=float("inf"), recompute_scale_factor=True)),
    ((1, 2, 5), dict(scale_factor=float("nan"), mode="area")),
    ((1, 2, 5), dict(size=3.0, mode="area")),
    ((1, 0, 5), dict(size=3)),
    ((1, 0, 5, 5), dict(size=3, mode="bicubic")),
    ((1, 2, 0), dict(size=3)),
    ((1, 2, 0, 3), dict(size=3, mode="bilinear")),
    ((1, 2, 0, 3), dict(size=3, mode="area")),
])
def test_invalid_arguments(shape, kwargs):
    x = np.zeros(shape, np.float32)
    raises_same(lambda: TF.interpolate(torch.tensor(x), **kwargs), lambda: F.interpolate(jnp.asarray(x), **kwargs))


@pytest.mark.parametrize("dtype,mode,antialias", [
    (np.int32, "nearest", False), (np.int8, "nearest-exact", False), (np.uint8, "linear", False),
    (np.uint8, "trilinear", False), (np.uint8, "area", False), (np.int32, "bicubic", False),
    (np.bool_, "bilinear", False), (np.float16, "bilinear", True), (np.int32, "bicubic", True),
])
def test_unsupported_dtypes(dtype, mode, antialias):
    n = {"linear": 1, "trilinear": 3}.get(mode, 2)
    x = np.zeros((1, 2) + (4,) * n, dtype)
    raises_same(lambda: TF.interpolate(torch.tensor(x), size=3, mode=mode, antialias=antialias),
                lambda: F.interpolate(jnp.asarray(x), size=3, mode=mode, antialias=antialias))

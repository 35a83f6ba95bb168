"""F.affine_grid, F.grid_sample, F.conv_tbc, F.grouped_mm and F.scaled_mm against torch: outputs and
gradients (input and grid / theta) eagerly and compiled, every mode x padding x align_corners, grids
reaching outside [-1, 1], half precision, NaN grids, vmap, warnings and errors."""

from __future__ import annotations

import itertools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, raises_same

import torchjax
import torchjax.nn.functional as F

TF = torch.nn.functional
# One input / grid shape per number of spatial dims: each new shape costs XLA compiles.
SHAPES = {2: ((2, 3, 4, 5), (2, 3, 4, 2)), 3: ((2, 2, 3, 4, 5), (2, 2, 3, 2, 3))}
MODES = [(2, "bilinear"), (2, "nearest"), (2, "bicubic"), (3, "bilinear"), (3, "nearest")]
PADDINGS = list(itertools.product(["zeros", "border", "reflection"], [False, True]))


def _inputs(n: int, seed: int):
    """A random input, and a grid reaching well outside [-1, 1] (random, so never on integer pixels)."""
    rng = np.random.default_rng(seed)
    x_shape, g_shape = SHAPES[n]
    x = rng.standard_normal(x_shape).astype(np.float32)
    g = rng.uniform(-2.6, 2.6, g_shape).astype(np.float32)
    return x, g


def _torch_grid_sample(x, g, cot, **kwargs):
    """torch's output and gradients of ``<grid_sample(x, g), cot>`` w.r.t. input and grid."""
    xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    out = TF.grid_sample(xt, gt, **kwargs)
    (out * torch.tensor(cot)).sum().backward()
    return out.detach(), xt.grad, gt.grad


def _cotangent(n: int, seed: int) -> np.ndarray:
    x_shape, g_shape = SHAPES[n]
    return np.random.default_rng(seed + 100).standard_normal(x_shape[:2] + g_shape[1:-1]).astype(np.float32)


def _check(ours, theirs, atol=1e-5, rtol=1e-5):
    for a, b in zip(ours, theirs, strict=True):
        assert_close(a, b, atol=atol, rtol=rtol)


# --- grid_sample ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n, mode", MODES)
def test_grid_sample_compiled_every_padding(n, mode):
    """Every padding_mode x align_corners in one torchjax.compile program: output, input and grid gradients."""
    x, g = _inputs(n, seed=n)
    cot = _cotangent(n, seed=n)
    cot_j = jnp.asarray(cot)

    def program(x, g):
        results = []
        for padding_mode, align_corners in PADDINGS:
            def loss(x, g, padding_mode=padding_mode, align_corners=align_corners):
                out = F.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
                return (out * cot_j).sum(), out

            (grad_x, grad_g), out = torchjax.func.grad(loss, argnums=(0, 1), has_aux=True)(x, g)
            results.append((out, grad_x, grad_g))
        return results

    results = torchjax.compile(program)(jnp.asarray(x), jnp.asarray(g))
    for (padding_mode, align_corners), ours in zip(PADDINGS, results, strict=True):
        theirs = _torch_grid_sample(x, g, cot, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        _check(ours, theirs)
        if mode == "nearest":
            assert not np.any(np.asarray(ours[2])), "nearest has no grid gradient"


# One padding / align_corners per mode for the eager runs (each configuration is a compile).
EAGER = [(2, "bilinear", "reflection", False), (2, "nearest", "border", True), (2, "bicubic", "reflection", True),
         (3, "bilinear", "border", False), (3, "nearest", "zeros", True)]


@pytest.mark.parametrize("n, mode, padding_mode, align_corners", EAGER)
def test_grid_sample_eager(n, mode, padding_mode, align_corners):
    x, g = _inputs(n, seed=10 + n)
    cot = _cotangent(n, seed=10 + n)
    kwargs = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    theirs = _torch_grid_sample(x, g, cot, **kwargs)
    out = F.grid_sample(jnp.asarray(x), jnp.asarray(g), **kwargs)
    grads = jax.grad(lambda x, g: (F.grid_sample(x, g, **kwargs) * cot).sum().jax(), argnums=(0, 1))(
        jnp.asarray(x), jnp.asarray(g))
    _check((out, *grads), theirs)


@pytest.mark.parametrize("n, mode, padding_mode, align_corners", EAGER)
def test_grid_sample_nan_grid(n, mode, padding_mode, align_corners):
    """NaN coordinates behave as in torch's kernels (the 2-D and 3-D ones treat them differently)."""
    x, g = _inputs(n, seed=20)
    g.reshape(-1)[[0, 4, 5, 9]] = np.nan
    kwargs = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    theirs = TF.grid_sample(torch.tensor(x), torch.tensor(g), **kwargs).numpy()
    ours = np.asarray(F.grid_sample(jnp.asarray(x), jnp.asarray(g), **kwargs))
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("n, mode", [(2, "bilinear"), (2, "bicubic"), (3, "nearest")])
def test_grid_sample_half_precision(dtype, n, mode):
    """Computed in the input's dtype as torch's CPU kernels: bfloat16 matches exactly, float16 closely."""
    x, g = _inputs(n, seed=30)
    kwargs = dict(mode=mode, padding_mode="reflection", align_corners=False)
    theirs = TF.grid_sample(torch.tensor(x).to(getattr(torch, dtype)), torch.tensor(g).to(getattr(torch, dtype)),
                            **kwargs)
    ours = F.grid_sample(jnp.asarray(x, dtype), jnp.asarray(g, dtype), **kwargs)
    assert ours.dtype == jnp.dtype(dtype)
    # float16: a few ulps, more where bicubic's 16 terms cancel
    atol = 0 if dtype == "bfloat16" else 2e-2 if mode == "bicubic" else 1e-2
    np.testing.assert_allclose(np.asarray(ours, np.float32), theirs.float().numpy(), atol=atol, rtol=0)


def test_grid_sample_vmap():
    x, g = _inputs(2, seed=40)
    kwargs = dict(mode="bilinear", padding_mode="reflection", align_corners=False)  # shapes of an eager test
    theirs = TF.grid_sample(torch.tensor(x), torch.tensor(g), **kwargs).numpy()
    ours = jax.vmap(lambda x, g: F.grid_sample(x[None], g[None], **kwargs)[0])(jnp.asarray(x), jnp.asarray(g))
    assert_close(ours, theirs)


def test_grid_sample_empty_and_default_align_corners():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    g = np.zeros((2, 0, 4, 2), np.float32)
    assert F.grid_sample(jnp.asarray(x), jnp.asarray(g), align_corners=False).shape == (2, 3, 0, 4)
    assert F.grid_sample(jnp.zeros((0, 3, 4, 5)), jnp.zeros((0, 2, 2, 2)), align_corners=False).shape == (0, 3, 2, 2)
    _, g = _inputs(2, seed=50)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        ours = F.grid_sample(jnp.asarray(x), jnp.asarray(g), padding_mode="reflection")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = TF.grid_sample(torch.tensor(x), torch.tensor(g), padding_mode="reflection")
    assert_close(ours, theirs)


def _r(*shape, dtype=np.float32):
    return np.ones(shape, dtype)


GRID_SAMPLE_ERRORS = [
    ((_r(1, 1, 3, 3), _r(1, 2, 2, 2)), dict(mode="linear")),
    ((_r(1, 1, 3, 3), _r(1, 2, 2, 2)), dict(padding_mode="circular")),
    ((_r(1, 1, 3, 3), _r(1, 2, 2, 2)), dict(align_corners=1)),
    ((_r(2, 1, 3, 3), _r(1, 2, 2, 2)), {}),  # batch sizes
    ((_r(1, 1, 3, 3), _r(1, 2, 2, 3)), {}),  # grid's last dim
    ((_r(1, 3, 3), _r(1, 2, 2)), {}),  # 3-D input: grid's last dim must be 1
    ((_r(1, 3, 3), _r(1, 2, 1)), {}),  # ... and then it is not 5-D
    ((_r(1, 1, 3, 3), _r(1, 2, 2, 2, 2)), {}),  # grid dims
    ((_r(1, 1, 3, 3, 3, 3), _r(1, 2, 2, 2, 2, 4)), {}),
    ((_r(1, 1, 0, 3), _r(1, 2, 2, 2)), {}),  # empty spatial dim
    ((_r(1, 1, 0, 3), _r(1, 2, 2, 2, 2)), {}),  # ... checked before the dims
    ((_r(1, 1, 3, 3, 3), _r(1, 2, 2, 2, 3)), dict(mode="bicubic")),
    ((_r(1, 1, 3, 3, 3), _r(1, 2, 2, 2, 2)), dict(mode="bicubic")),  # last dim first
    ((_r(1, 1, 3, 3, dtype=np.int32), _r(1, 2, 2, 2, dtype=np.int32)), {}),
    ((_r(1, 1, 3, 3, 3, dtype=np.int32), _r(1, 2, 2, 2, 3, dtype=np.int32)), {}),
    ((_r(1, 1, 3, 3, dtype=np.int32), _r(1, 2, 2, 2)), {}),  # the input's dtype first
    ((_r(1, 1, 3, 3), _r(1, 2, 2, 2, dtype=np.int32)), {}),
    ((_r(1, 1, 3, 3), _r(1, 2, 2, 2, dtype=np.float16)), {}),
    ((_r(1, 1, 3, 3, dtype=np.bool_), _r(1, 2, 2, 2, dtype=np.bool_)), {}),
    ((np.float32(1), np.float32(1)), {}),
]


@pytest.mark.parametrize("args, kwargs", GRID_SAMPLE_ERRORS)
def test_grid_sample_errors(args, kwargs):
    kwargs = dict(dict(align_corners=False), **kwargs)
    theirs, ours = raises_same(lambda: TF.grid_sample(*map(torch.tensor, args), **kwargs),
                               lambda: F.grid_sample(*map(jnp.asarray, args), **kwargs))
    if not isinstance(theirs, NotImplementedError) or "int" in str(theirs).lower():
        assert str(ours).split(":")[0] == str(theirs).split(":")[0]


# --- affine_grid ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 3, 4, 5), (2, 1, 1, 5), (1, 1, 1, 2, 3)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid(size, align_corners):
    n = len(size) - 2
    rng = np.random.default_rng(len(size))
    theta = rng.standard_normal((size[0], n, n + 1)).astype(np.float32)
    theta_t = torch.tensor(theta, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit dims with align_corners=True warn
        out_t = TF.affine_grid(theta_t, list(size), align_corners=align_corners)
        cot = rng.standard_normal(tuple(out_t.shape)).astype(np.float32)
        (out_t * torch.tensor(cot)).sum().backward()

        def loss(t):
            out = F.affine_grid(t, size, align_corners=align_corners)
            return (out * cot).sum(), out

        grad = torchjax.func.grad(loss, has_aux=True)
        for g, out in (grad(jnp.asarray(theta)), torchjax.compile(grad)(jnp.asarray(theta))):
            assert_close(out, out_t)
            assert_close(g, theta_t.grad)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_affine_grid_half_precision(dtype):
    theta = np.random.default_rng(0).standard_normal((2, 2, 3)).astype(np.float32)
    theirs = TF.affine_grid(torch.tensor(theta).to(getattr(torch, dtype)), [2, 3, 4, 5], align_corners=False)
    ours = F.affine_grid(jnp.asarray(theta, dtype), (2, 3, 4, 5), align_corners=False)
    assert ours.dtype == jnp.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(ours, np.float32), theirs.float().numpy())


def test_affine_grid_warnings_and_spatial_transformer():
    """The default align_corners warns; affine_grid -> grid_sample gradients w.r.t. theta equal torch's."""
    theta = np.array([[[0.9, -0.3, 0.1], [0.2, 1.1, -0.2]], [[1.2, 0.1, 0.3], [-0.4, 0.8, 0.05]]], np.float32)
    x, _ = _inputs(2, seed=60)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(jnp.asarray(theta), (2, 3, 3, 2))
    with pytest.warns(UserWarning, match="unit-size grids"):
        F.affine_grid(jnp.asarray(theta), (2, 3, 1, 2), align_corners=True)
    theta_t = torch.tensor(theta, requires_grad=True)
    size = (2, 3, 3, 4)  # the grid shape of SHAPES[2]
    out_t = TF.grid_sample(torch.tensor(x), TF.affine_grid(theta_t, size, align_corners=False),
                           padding_mode="reflection", align_corners=False)
    out_t.sum().backward()

    def loss(t):
        grid = F.affine_grid(t, size, align_corners=False)
        return F.grid_sample(jnp.asarray(x), grid, padding_mode="reflection", align_corners=False).sum().jax()

    assert_close(jax.grad(loss)(jnp.asarray(theta)), theta_t.grad, atol=1e-4)


AFFINE_GRID_ERRORS = [
    (_r(1, 2, 3, dtype=np.int32), [1, 1, 2, 2], dict(align_corners=False)),
    (_r(1, 3, 3), [1, 1, 2, 2], dict(align_corners=False)),
    (_r(2, 3), [1, 1, 2, 2], dict(align_corners=False)),
    (_r(1, 1, 2, 3), [1, 1, 2, 2], dict(align_corners=False)),
    (_r(1, 2, 3), [1, 1, 2, 2, 2], dict(align_corners=False)),
    (_r(1, 2, 3), [1, 1, 2], dict(align_corners=False)),
    (_r(1, 2, 3), [1, 1, 0, 2], dict(align_corners=False)),
    (_r(1, 2, 3), [1, 1, 0, 2], dict(align_corners=True)),
    (_r(1, 2, 3), [1, 0, 2, 2], dict(align_corners=False)),
    (_r(1, 2, 3), [1, 1, -2, 2], dict(align_corners=True)),
    (_r(2, 2, 3), [1, 1, 2, 2], dict(align_corners=False)),
    (_r(1, 2, 3), [1, 1, 2.0, 2], dict(align_corners=False)),
    (_r(1, 2, 3), [1, 1, 2, 2], dict(align_corners=1)),
    (_r(1, 2, 3, dtype=np.complex64), [1, 1, 2, 2], dict(align_corners=False)),
]


@pytest.mark.parametrize("theta, size, kwargs", AFFINE_GRID_ERRORS)
def test_affine_grid_errors(theta, size, kwargs):
    theirs, ours = raises_same(lambda: TF.affine_grid(torch.tensor(theta), size, **kwargs),
                               lambda: F.affine_grid(jnp.asarray(theta), size, **kwargs))
    if isinstance(theirs, ValueError | NotImplementedError):
        assert str(ours) == str(theirs)


# --- conv_tbc ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes, pad", [((5, 2, 3, 4, 2), 0), ((5, 2, 3, 4, 3), 2), ((6, 1, 3, 4, 2), -1),
                                         ((2, 2, 3, 4, 3), 0), ((5, 2, 3, 4, 0), 1)])
def test_conv_tbc(shapes, pad):
    length, batch, c_in, c_out, kernel = shapes
    rng = np.random.default_rng(kernel + pad)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((length, batch, c_in), (kernel, c_in, c_out), c_out)]
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_t = torch.conv_tbc(*tensors, pad)
    assert TF.conv_tbc is torch.conv_tbc
    cot = rng.standard_normal(tuple(out_t.shape)).astype(np.float32)
    (out_t * torch.tensor(cot)).sum().backward()

    def loss(*values):
        out = F.conv_tbc(*values, pad)
        return (out * cot).sum(), out

    grads, out = torchjax.func.grad(loss, argnums=(0, 1, 2), has_aux=True)(*map(jnp.asarray, arrays))
    assert_close(out, out_t)
    for g, t in zip(grads, tensors, strict=True):
        assert_close(g, t.grad if t.grad is not None else torch.zeros_like(t))


def test_conv_tbc_dtypes():
    x, w = np.arange(30).reshape(5, 2, 3) % 7, np.arange(24).reshape(2, 3, 4) % 5
    theirs = torch.conv_tbc(torch.tensor(x, dtype=torch.int32), torch.tensor(w, dtype=torch.int32),
                            torch.ones(4, dtype=torch.int32), 1)
    ours = F.conv_tbc(jnp.asarray(x, jnp.int32), jnp.asarray(w, jnp.int32), jnp.ones(4, jnp.int32), 1)
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())
    # a bias of another dtype is cast to the input's
    out = F.conv_tbc(jnp.ones((5, 2, 3)), jnp.ones((2, 3, 4)), jnp.ones(4, jnp.bfloat16))
    assert out.dtype == jnp.float32


CONV_TBC_ERRORS = [
    ((_r(5, 2, 3), _r(2, 3, 4), None), {}),
    ((_r(5, 3), _r(2, 3, 4), _r(4)), {}),
    ((_r(5, 2, 3), _r(3, 4), _r(4)), {}),
    ((_r(5, 2, 3), _r(2, 3, 4), _r(1, 4)), {}),
    ((_r(5, 2, 3), _r(2, 2, 4), _r(4)), {}),
    ((_r(5, 2, 3), _r(2, 3, 4), _r(3)), {}),
    ((_r(2, 2, 3), _r(4, 3, 4), _r(4)), {}),
    ((_r(5, 2, 3), _r(2, 3, 4), _r(4)), dict(pad=-3)),
    ((_r(5, 2, 3), _r(2, 3, 4), _r(4)), dict(pad=1.0)),
    ((_r(5, 2, 3), _r(2, 3, 4, dtype=np.float16), _r(4)), {}),
]


@pytest.mark.parametrize("args, kwargs", CONV_TBC_ERRORS)
def test_conv_tbc_errors(args, kwargs):
    def convert(lib):
        return [None if a is None else lib(a) for a in args]

    theirs, ours = raises_same(lambda: TF.conv_tbc(*convert(torch.tensor), **kwargs),
                               lambda: F.conv_tbc(*convert(jnp.asarray), **kwargs))
    assert str(ours).replace(" (position 4)", "") == str(theirs).replace(" (position 4)", "")


# --- grouped_mm ----------------------------------------------------------------------------------
# torch's CPU kernel wants 16-byte aligned strides: float32 sizes divisible by 4. Offsets cover the
# whole grouped dim, as torch leaves what lies past offs[-1] uninitialized (zeros here).
GROUPED = [((8, 4), (3, 4, 8), [2, 2, 8]), ((3, 4, 8), (8, 12), [4, 9, 12]), ((4, 12), (12, 8), [0, 5, 12]),
           ((3, 4, 8), (3, 8, 4), None)]


@pytest.mark.parametrize("shape_a, shape_b, offs", GROUPED)
def test_grouped_mm(shape_a, shape_b, offs):
    rng = np.random.default_rng(len(shape_a) + len(shape_b))
    a, b = rng.standard_normal(shape_a).astype(np.float32), rng.standard_normal(shape_b).astype(np.float32)
    a_t, b_t = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    offs_t = None if offs is None else torch.tensor(offs, dtype=torch.int32)
    out_t = TF.grouped_mm(a_t, b_t, offs=offs_t)
    cot = rng.standard_normal(tuple(out_t.shape)).astype(np.float32)
    (out_t * torch.tensor(cot)).sum().backward()
    offs_j = None if offs is None else jnp.asarray(offs, jnp.int32)

    def loss(a, b, offs):
        out = F.grouped_mm(a, b, offs=offs)
        return (out * cot).sum(), out

    grad = torchjax.func.grad(loss, argnums=(0, 1), has_aux=True)
    for (g_a, g_b), out in (grad(jnp.asarray(a), jnp.asarray(b), offs_j),
                            torchjax.compile(grad)(jnp.asarray(a), jnp.asarray(b), offs_j)):  # traced offs
        assert_close(out, out_t)
        assert_close(g_a, a_t.grad)
        assert_close(g_b, b_t.grad)


def test_grouped_mm_half_precision_and_tail():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((8, 8)).astype(np.float32), rng.standard_normal((2, 8, 8)).astype(np.float32)
    offs = [3, 6]
    theirs = TF.grouped_mm(torch.tensor(a).bfloat16(), torch.tensor(b).bfloat16(),
                           offs=torch.tensor(offs, dtype=torch.int32))
    ours = F.grouped_mm(jnp.asarray(a, jnp.bfloat16), jnp.asarray(b, jnp.bfloat16), offs=jnp.asarray(offs, jnp.int32))
    assert ours.dtype == jnp.bfloat16
    # rows past offs[-1] are uninitialized memory in torch, zeros here
    np.testing.assert_array_equal(np.asarray(ours[:6], np.float32), theirs[:6].float().numpy())
    assert not np.any(np.asarray(ours[6:], np.float32))


GROUPED_ERRORS = [
    ((_r(2, 3, 4, dtype=np.int32), _r(2, 4, 4, dtype=np.int32)), {}),
    ((_r(4), _r(2, 4, 4)), {}),
    ((_r(2, 4, 4), _r(4)), {}),
    ((_r(2, 3, 4), _r(2, 8, 4)), {}),
    ((_r(2, 3, 4), _r(3, 4, 4)), {}),
    ((_r(2, 3, 4), _r(2, 4, 4)), dict(offs=[1, 2])),
    ((_r(8, 4), _r(2, 4, 4)), {}),
    ((_r(8, 4), _r(2, 4, 4)), dict(offs=[[2, 5]])),
    ((_r(8, 4), _r(2, 4, 4)), dict(offs=[2, 3, 5])),
    ((_r(2, 3, 4), _r(2, 4, 4)), dict(bias=_r(4))),
    ((_r(2, 3, 4), _r(2, 4, 4)), dict(out_dtype="bfloat16")),
]


@pytest.mark.parametrize("args, kwargs", GROUPED_ERRORS)
def test_grouped_mm_errors(args, kwargs):
    def convert(lib, int_dtype, dtype_of):
        kw = dict(kwargs)
        if "offs" in kw:
            kw["offs"] = lib(np.asarray(kw["offs"]), dtype=int_dtype)
        if "bias" in kw:
            kw["bias"] = lib(kw["bias"])
        if "out_dtype" in kw:
            kw["out_dtype"] = dtype_of(kw["out_dtype"])
        return [lib(a) for a in args], kw

    args_t, kw_t = convert(torch.tensor, torch.int32, lambda name: getattr(torch, name))
    args_j, kw_j = convert(jnp.asarray, jnp.int32, jnp.dtype)
    theirs, ours = raises_same(lambda: TF.grouped_mm(*args_t, **kw_t), lambda: F.grouped_mm(*args_j, **kw_j))
    assert str(ours) == str(theirs)


# --- scaled_mm -----------------------------------------------------------------------------------
def _fp8_operands(seed=0, m=16, k=32, n=16):
    rng = np.random.default_rng(seed)
    a = torch.tensor(rng.standard_normal((m, k)) * 3, dtype=torch.float32).to(torch.float8_e4m3fn)
    b = torch.tensor(rng.standard_normal((k, n)) * 3, dtype=torch.float32).to(torch.float8_e4m3fn)

    def to_jax(t):
        return jnp.asarray(t.float().numpy()).astype(jnp.float8_e4m3fn)

    return a, b, to_jax(a), to_jax(b), rng


@pytest.mark.parametrize("recipe", ["TensorWise", "RowWise"])
@pytest.mark.parametrize("output_dtype", ["bfloat16", "float32", "float16", "float8_e4m3fn"])
def test_scaled_mm(recipe, output_dtype):
    a_t, b_t, a_j, b_j, rng = _fp8_operands()
    if recipe == "TensorWise":
        scale_a, scale_b = np.float32(0.37), np.float32(2.3)
    else:
        scale_a = (rng.random((16, 1)) + 0.5).astype(np.float32)
        scale_b = (rng.random((1, 16)) + 0.5).astype(np.float32)
    bias = rng.standard_normal(16).astype(np.float32)
    for with_bias in (False, True):
        theirs = TF.scaled_mm(a_t, b_t, torch.tensor(scale_a), getattr(TF.ScalingType, recipe), torch.tensor(scale_b),
                              getattr(TF.ScalingType, recipe), bias=torch.tensor(bias) if with_bias else None,
                              output_dtype=getattr(torch, output_dtype))
        ours = F.scaled_mm(a_j, b_j, jnp.asarray(scale_a), getattr(F.ScalingType, recipe), jnp.asarray(scale_b),
                           getattr(F.ScalingType, recipe), bias=jnp.asarray(bias) if with_bias else None,
                           output_dtype=jnp.dtype(output_dtype))
        assert ours.dtype == jnp.dtype(output_dtype)
        # float32 sums in another order; the rounded outputs match exactly here
        atol = 1e-4 if output_dtype == "float32" else 0
        np.testing.assert_allclose(np.asarray(ours, np.float32), theirs.float().numpy(), atol=atol, rtol=1e-6)


def test_scaled_mm_enums_and_defaults():
    for ours, theirs in ((F.ScalingType, TF.ScalingType), (F.SwizzleType, TF.SwizzleType)):
        assert [(e.name, e.value) for e in ours] == [(e.name, e.value) for e in theirs.__members__.values()]
    a_t, b_t, a_j, b_j, _ = _fp8_operands(seed=1)
    theirs = TF.scaled_mm(a_t, b_t, [torch.tensor(1.5)], [TF.ScalingType.TensorWise], torch.tensor(0.5),
                          TF.ScalingType.TensorWise, swizzle_a=TF.SwizzleType.NO_SWIZZLE)
    ours = F.scaled_mm(a_j, b_j, [jnp.asarray(1.5)], [F.ScalingType.TensorWise], jnp.asarray(0.5),
                       TF.ScalingType.TensorWise, swizzle_a=F.SwizzleType.NO_SWIZZLE)  # torch's enum works too
    assert ours.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(ours, np.float32), theirs.float().numpy())
    empty = F.scaled_mm(a_j[:, :0], b_j[:0], jnp.asarray(1.0), F.ScalingType.TensorWise, jnp.asarray(1.0),
                        F.ScalingType.TensorWise, output_dtype=jnp.dtype(jnp.float32))
    theirs = TF.scaled_mm(a_t[:, :0], b_t[:0], torch.tensor(1.0), TF.ScalingType.TensorWise, torch.tensor(1.0),
                          TF.ScalingType.TensorWise, output_dtype=torch.float32)
    assert_close(empty, theirs)


SCALED_ERRORS = [
    dict(a=lambda a: a[0]),
    dict(a=lambda a: a[:, :8]),
    dict(bias=np.ones(8, np.float32)),
    dict(bias=np.ones(16, np.int32)),
    dict(scale_a=np.ones((16, 1), np.float32)),  # RowWise scale with the TensorWise recipe
    dict(recipe_a="RowWise"),
    dict(recipe_a="BlockWise1x128", recipe_b="BlockWise128x128"),
    dict(swizzle_a="SWIZZLE_32_4_4", swizzle_b="NO_SWIZZLE"),
    dict(float_operands=True),
    dict(recipe_a="RowWise", recipe_b="RowWise", scale_a=np.ones((8, 1), np.float32),
         scale_b=np.ones((1, 16), np.float32)),
    dict(recipe_a="RowWise", recipe_b="RowWise", scale_a=np.ones((16, 1), np.float32),
         scale_b=np.ones((1, 8), np.float32)),
    dict(contraction_dim=(1,)),
    dict(contraction_dim=(0, 1), a=lambda a: a[:, :8]),
]


@pytest.mark.parametrize("case", SCALED_ERRORS)
def test_scaled_mm_errors(case):
    a_t, b_t, a_j, b_j, _ = _fp8_operands(seed=2)
    if case.get("float_operands"):
        a_t, b_t, a_j, b_j = a_t.float(), b_t.float(), a_j.astype(jnp.float32), b_j.astype(jnp.float32)
    cut = case.get("a", lambda a: a)
    scale_a, scale_b = case.get("scale_a", np.float32(1.0)), case.get("scale_b", np.float32(1.0))

    def call(fn, lib, a, b, tensor):
        kwargs = {}
        if "bias" in case:
            kwargs["bias"] = tensor(case["bias"])
        for key in ("swizzle_a", "swizzle_b"):
            if key in case:
                kwargs[key] = getattr(lib.SwizzleType, case[key])
        if "contraction_dim" in case:
            kwargs["contraction_dim"] = case["contraction_dim"]
        return lambda: fn(cut(a), b, tensor(scale_a), getattr(lib.ScalingType, case.get("recipe_a", "TensorWise")),
                          tensor(scale_b), getattr(lib.ScalingType, case.get("recipe_b", "TensorWise")), **kwargs)

    theirs, ours = raises_same(call(TF.scaled_mm, TF, a_t, b_t, lambda v: torch.tensor(np.asarray(v))),
                               call(F.scaled_mm, F, a_j, b_j, lambda v: jnp.asarray(np.asarray(v))))
    assert str(ours).split("\n")[0] == str(theirs).split("\n")[0]

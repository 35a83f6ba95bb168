"""Spatial transformer sampling: ``F.affine_grid`` and ``F.grid_sample``.

``affine_grid`` maps torch's base grid (``linspace(-1, 1)`` per spatial dim, scaled by
``(n - 1) / n`` unless ``align_corners``, and ``0`` for a unit dim) through each affine matrix, written
out as float32 multiply-adds (rounded once for half precision, as torch's bmm) rather than a matmul,
so no TF32 / bf16 matmul rounding happens on a GPU.

``grid_sample`` follows torch's CPU kernels (the vectorized 2-D one and the scalar 3-D one, whose
formulas differ in float rounding and for NaN coordinates): the grid is unnormalized to pixel
coordinates (``align_corners``), padded (``border`` clips, ``reflection`` reflects about the borders,
then clips), and the output is a weighted sum of taps: 1 (``nearest``, ``std::nearbyint``: round half
to even), 2**n (``bilinear`` / trilinear) or 16 (``bicubic``, cubic convolution with ``A = -0.75``,
each tap padded on its own as torch's ``get_value_bounded``). Taps outside the input read 0. All taps
are one gather from the input flattened over its spatial dims (``take_along_axis`` of flat indices),
so the input gradient is the transposed scatter-add and the grid gradient is the derivative of the
interpolation weights (zero for ``nearest``), which is what torch's backward kernels compute.
Half-precision inputs are computed in their dtype, as torch's kernels (bfloat16 results match
torch's exactly in the tested cases; float16 ones to a couple of ulps).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..._device import scalar_type_name
from ..._warnings import warn
from ..parameter import _unwrap

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_CORNERS_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please specify "
    "align_corners=True if the old behavior is desired. See the documentation of grid_sample for details."
)
_FLOATS = tuple(np.dtype(t) for t in (jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64))
_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}
_CUBIC_A = -0.75


def _array(value) -> jax.Array:
    return jnp.asarray(_unwrap(value))


def _check_bool(value, fn: str, position: int) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{fn}(): argument 'align_corners' (position {position}) must be bool, not "
                        f"{type(value).__name__}")
    return bool(value)


def _sizes(shape) -> str:
    return str(list(shape))


# --- affine_grid ---------------------------------------------------------------------------------
def _linspace_from_neg_one(steps: int, align_corners: bool, dtype) -> np.ndarray:
    """torch's ``linspace_from_neg_one``: ``linspace(-1, 1, steps)`` (its CPU kernel's formula, from
    both ends), times ``(steps - 1) / steps`` unless ``align_corners``; ``[0]`` for ``steps <= 1``."""
    if steps <= 1:
        return np.zeros((max(steps, 0),) if steps < 1 else (1,), dtype)
    one = np.asarray(1, dtype)
    step = (one - (-one)) / np.asarray(steps - 1, dtype)
    idx = np.arange(steps)
    halfway = steps // 2
    values = np.where(idx < halfway, -one + step * idx.astype(dtype),
                      one - step * (steps - idx - 1).astype(dtype)).astype(dtype)
    if not align_corners:
        values = (values * np.asarray(steps - 1, dtype)).astype(dtype) / np.asarray(steps, dtype)
    return values.astype(dtype)


@partial(jax.jit, static_argnames=("spatial", "align_corners"))
def _affine_grid(theta, *, spatial, align_corners):
    dtype = np.dtype(theta.dtype)
    n = len(spatial)
    # Base coordinates x (last spatial dim), y, z, each broadcast over the output's spatial dims.
    base = []
    for d in range(n):
        axis = n - 1 - d
        values = _linspace_from_neg_one(spatial[axis], align_corners, dtype)
        shape = [1] * n
        shape[axis] = values.shape[0]
        base.append(jnp.asarray(values.reshape(shape)))
    # torch's bmm accumulates half-precision products in float32 and rounds once.
    acc_dtype = jnp.promote_types(dtype, jnp.float32)
    base = [b.astype(acc_dtype) for b in base]
    theta = theta.astype(acc_dtype)
    outs = []
    for j in range(n):
        row = theta[:, j].reshape((theta.shape[0],) + (1,) * n + (n + 1,))
        acc = base[0] * row[..., 0]
        for k in range(1, n):
            acc = acc + base[k] * row[..., k]
        outs.append(jnp.broadcast_to(acc + row[..., n], (theta.shape[0], *spatial)))
    return jnp.stack(outs, axis=-1).astype(dtype)


def affine_grid(theta, size, align_corners=None) -> jax.Array:
    r"""The sampling grid of a batch of affine maps, for :func:`grid_sample` (spatial transformer networks).

    Arguments:
        theta: ``(N, 2, 3)`` matrices for a 2-D ``size`` or ``(N, 3, 4)`` for a 3-D one, floating point.
        size: the output size ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        align_corners: whether ``-1`` and ``1`` are the centers of the corner pixels (True) or their
            outer corners (False). ``None`` warns and means False, as torch.

    Output: ``(N, H, W, 2)`` or ``(N, D, H, W, 3)``, the ``(x, y[, z])`` of each output point.
    """
    if align_corners is None:
        warn(_ALIGN_CORNERS_WARNING)
        align_corners = False
    t = _array(theta)
    if not jnp.issubdtype(t.dtype, jnp.floating):
        raise ValueError(f"Expected theta to have floating point type, but got torch.{np.dtype(t.dtype).name}")
    size = list(size)
    shape = f"torch.Size({list(t.shape)})"
    if len(size) == 4:
        if t.ndim != 3 or t.shape[-2] != 2 or t.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got {shape}.")
        spatial_size = size[-2:]
    elif len(size) == 5:
        if t.ndim != 3 or t.shape[-2] != 3 or t.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. Got {shape}.")
        spatial_size = size[-3:]
    else:
        raise NotImplementedError(
            f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, respectively. Got size "
            f"{size}."
        )
    if align_corners and min(spatial_size) == 1:
        warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when align_corners=True. "
            "This is not an intended use case of affine_grid. See the documentation of affine_grid for details."
        )
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    for i, v in enumerate(size):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise TypeError(f"affine_grid_generator(): argument 'size' failed to unpack the object at pos {i + 1} "
                            f"with error \"type must be tuple of ints,but got {type(v).__name__}\"")
    align_corners = _check_bool(align_corners, "affine_grid_generator", 3)
    size = [int(v) for v in size]
    if t.shape[0] != size[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{size[0]}, "
                           f"{len(size) - 1}] but got: [{t.shape[0]}, {len(size) - 1}].")
    return _affine_grid(t, spatial=tuple(size[2:]), align_corners=align_corners)


# --- grid_sample ---------------------------------------------------------------------------------
# The coordinate transforms of one spatial dim of size ``size``. ``vectorized`` picks the formulas of
# torch's vectorized 2-D CPU kernel (``ComputeLocation``) over those of its scalar 3-D kernel
# (``GridSampler.h``); they agree up to float rounding, and differ for NaN coordinates.
def _unnormalize(c, size: int, align_corners: bool, vectorized: bool):
    if align_corners:
        return (c + 1) * ((size - 1) / 2) if vectorized else ((c + 1) / 2) * (size - 1)
    return (c + 1) * (size / 2) - 0.5 if vectorized else ((c + 1) * size - 1) / 2


def _clip(c, size: int, vectorized: bool):
    # Borders count as clipped (zero gradient there), as torch's ``clip_coordinates_set_grad``. The
    # vectorized kernel maps NaN to 0, the scalar one to ``size - 1``.
    c = jnp.where(c > 0, c, 0) if vectorized else jnp.where(c <= 0, 0, c)
    return jnp.where(c < size - 1, c, size - 1)


def _reflect(c, size: int, align_corners: bool, vectorized: bool):
    twice_low, twice_high = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
    if twice_low == twice_high:
        return jnp.zeros_like(c)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    if vectorized:
        twice_span = 2 * span
        c = jnp.abs(c - low)
        extra = c - jnp.trunc(c / twice_span) * twice_span
        return jnp.minimum(extra, twice_span - extra) + low
    c = jnp.abs(c - low)
    extra = jnp.fmod(c, span)
    even = jnp.fmod(jnp.floor(c / span), 2) == 0
    return jnp.where(even, extra + low, span - extra + low)


def _pad(c, size: int, padding_mode: str, align_corners: bool, vectorized: bool):
    """torch's ``compute_coordinates``: the padding's remapping of a pixel coordinate."""
    if padding_mode == "border":
        return _clip(c, size, vectorized)
    if padding_mode == "reflection":
        return _clip(_reflect(c, size, align_corners, vectorized), size, vectorized)
    return c


def _cubic_coefficients(t, vectorized: bool):
    """torch's cubic convolution coefficients (``A = -0.75``) for the 4 taps around ``t``: those of
    the vectorized kernel, or of ``get_cubic_upsample_coefficients`` (which rounds ``1 - t`` first)."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t) if vectorized else far((1 - t) + 1)


def _sum_in_order(x, axis: int):
    """``x.sum(axis)`` as torch's kernels add the taps: left to right, rounding each sum to the dtype."""
    parts = [lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]
    out = parts[0]
    for part in parts[1:]:
        out = out + part
    return out


@partial(jax.jit, static_argnames=("mode", "padding_mode", "align_corners"))
def _grid_sample(x, grid, *, mode, padding_mode, align_corners):
    n = x.ndim - 2
    batch, channels, *spatial = x.shape
    out_spatial = grid.shape[1:-1]
    # float16 4-D inputs follow the scalar kernel's formulas, which match torch's float16 results
    # better (measured): exactly for most bilinear / nearest cases, to ~2 ulps otherwise.
    vectorized = n == 2 and x.dtype != jnp.float16
    size, points = int(np.prod(spatial)), int(np.prod(out_spatial))
    flat_x = x.reshape(batch, channels, size)  # explicit sizes: -1 is ambiguous when a size is 0
    g = grid.reshape(batch, points, n)
    # coords[d]: the normalized coordinate along spatial dim d (grid's last axis holds x, y[, z]).
    coords = [g[..., n - 1 - d] for d in range(n)]
    strides = [int(np.prod(spatial[d + 1:], dtype=np.int64)) for d in range(n)]

    def taps(indices):
        """Input values at integral (float) pixel ``indices`` (one array per spatial dim, broadcasting
        to ``(N, *taps, P)``), 0 outside the input: one gather for all taps. Inside-ness is compared as
        floats, as torch's masks, so NaN is outside. Returns values ``(N, C, *taps, P)`` and the mask."""
        shape = jnp.broadcast_shapes(*(i.shape for i in indices))
        indices = [jnp.broadcast_to(i, shape) for i in indices]
        valid = None
        for d, i in enumerate(indices):
            inside = (i > -1) & (i < spatial[d])
            valid = inside if valid is None else valid & inside
        flat = 0
        for d, i in enumerate(indices):
            flat = flat + jnp.where(valid, i, 0).astype(jnp.int32) * strides[d]
        values = jnp.take_along_axis(flat_x, flat.reshape(batch, 1, int(np.prod(shape[1:]))), axis=2, mode="clip")
        return values.reshape(batch, channels, *shape[1:]), valid[:, None]

    if mode == "bicubic":  # 2-D only
        src = [_unnormalize(c, spatial[d], align_corners, vectorized) for d, c in enumerate(coords)]
        lo = [jnp.floor(s) for s in src]
        # per dim, the 4 tap coordinates (each padded on its own) and coefficients, stacked on axis 1
        pos = [_pad(jnp.stack([f + (k - 1) for k in range(4)], axis=1), spatial[d], padding_mode, align_corners,
                    vectorized) for d, f in enumerate(lo)]
        coeffs = [jnp.stack(_cubic_coefficients(s - f, vectorized), axis=1) for s, f in zip(src, lo, strict=True)]
        values, valid = taps([pos[0][:, :, None], pos[1][:, None, :]])  # (N, C, 4 (y), 4 (x), P)
        rows = _sum_in_order(coeffs[1][:, None, None] * jnp.where(valid, values, 0), axis=3)  # along x, then y
        out = _sum_in_order(coeffs[0][:, None] * rows, axis=2)
    else:
        src = [_pad(_unnormalize(c, spatial[d], align_corners, vectorized), spatial[d], padding_mode, align_corners,
                    vectorized) for d, c in enumerate(coords)]
        if mode == "nearest":
            values, valid = taps([jnp.round(s) for s in src])
            out = jnp.where(valid, values, 0)
        else:
            lo = [jnp.floor(s) for s in src]
            hi_w = [s - f for s, f in zip(src, lo, strict=True)]
            lo_w = [1 - w for w in hi_w] if vectorized else [(f + 1) - s for s, f in zip(src, lo, strict=True)]

            def corners(pair, d):  # (lo, hi) of dim d on the corner axis 1 + d of (N, 2, ..., 2, P)
                shape = [batch] + [1] * n + [points]
                shape[1 + d] = 2
                return jnp.stack(pair, axis=1).reshape(shape)

            ws = [corners((lo_w[d], hi_w[d]), d) for d in range(n)]
            # products in torch's order: y * x in the vectorized kernel, x * y [* z] in the scalar one
            if vectorized:
                w = ws[0] * ws[1]
            else:
                w = ws[-1]
                for d in reversed(range(n - 1)):
                    w = w * ws[d]
            values, valid = taps([corners((f, f + 1), d) for d, f in enumerate(lo)])
            # the vectorized kernel multiplies masked values by the weights, the scalar one adds
            # in-bound terms only (they differ where a weight is NaN)
            w = w[:, None]
            terms = jnp.where(valid, values, 0) * w if vectorized else jnp.where(valid, values * w, 0)
            out = _sum_in_order(terms.reshape(batch, channels, 2 ** n, points), axis=2)
    return out.reshape(batch, channels, *out_spatial)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None) -> jax.Array:
    r"""Sample ``input`` at the normalized locations of ``grid`` (spatial transformer networks).

    Arguments:
        input: ``(N, C, H_in, W_in)`` or ``(N, C, D_in, H_in, W_in)``.
        grid: ``(N, H_out, W_out, 2)`` or ``(N, D_out, H_out, W_out, 3)``: the ``(x, y[, z])`` to sample,
            normalized so ``-1`` / ``1`` are the left-top / right-bottom of the input (see ``align_corners``).
        mode: ``'bilinear'`` (trilinear for 5-D), ``'nearest'`` or ``'bicubic'`` (4-D only).
        padding_mode: what a location outside the input reads: ``'zeros'``, ``'border'`` (the nearest
            border value) or ``'reflection'`` (reflected by the borders until inside).
        align_corners: whether ``-1`` and ``1`` are the centers of the corner pixels (True) or their outer
            corners (False). ``None`` warns and means False, as torch.

    Output: ``(N, C, H_out, W_out)`` or ``(N, C, D_out, H_out, W_out)``, differentiable with respect to
    ``input`` and ``grid``.
    """
    if mode not in _MODES:
        raise ValueError(
            f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: '{mode}'"
        )
    if padding_mode not in _PADDING_MODES:
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or 'reflection', but got: "
            f"'{padding_mode}'"
        )
    if align_corners is None:
        warn(_ALIGN_CORNERS_WARNING)
        align_corners = False
    align_corners = _check_bool(align_corners, "grid_sampler", 5)
    x, g = _array(input), _array(grid)
    # torch's check_grid_sampler_common, then the 2-D / 3-D checks, then the kernel's dtype checks.
    if x.ndim == 0 or g.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if x.shape[0] != g.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {_sizes(x.shape)} and grid with sizes {_sizes(g.shape)}")
    if g.shape[-1] != x.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {x.ndim - 2} in last dimension, but got grid "
                           f"with sizes {_sizes(g.shape)}")
    for i in range(2, x.ndim):
        if x.shape[i] <= 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {_sizes(x.shape)} with dimension {i} being empty")
    n = 2 if x.ndim == 4 else 3
    if x.ndim != n + 2 or g.ndim != x.ndim:
        raise RuntimeError(f"grid_sampler(): expected {n + 2}D input and grid with same number of dimensions, but got "
                           f"input with sizes {_sizes(x.shape)} and grid with sizes {_sizes(g.shape)}")
    if n == 3 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if np.dtype(x.dtype) not in _FLOATS:
        kernel = "grid_sampler_2d_cpu_kernel_impl" if n == 2 else "grid_sampler3d_cpu"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_type_name(x.dtype)}'")
    if g.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {scalar_type_name(x.dtype)} but found {scalar_type_name(g.dtype)}")
    return _grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)

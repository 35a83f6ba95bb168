"""Resampling: ``F.interpolate`` and the deprecated ``F.upsample`` / ``upsample_nearest`` / ``upsample_bilinear``.

Every mode but ``'area'`` (which is adaptive average pooling) is separable: along each spatial dim,
output ``i`` is a weighted sum of a few input positions. Those positions and weights are static
NumPy tables computed from the sizes alone, so each spatial dim is one ``jnp.take`` of
``(out, taps)`` positions and a weighted sum over the taps; the gradient is then the transposed
gather, a scatter-add, as torch's backward kernels do.

The tables reproduce torch's CPU kernels exactly, float rounding included (in float32 for
float32/float16/bfloat16 inputs, float64 for float64): source positions, clamping at the borders,
the ``scale_factor`` that is used as given (``1 / scale_factor``) unless
``recompute_scale_factor=True`` (then ``in / out``), ``align_corners``, the cubic convolution with
``A = -0.75`` (``-0.5`` when antialiased), and the antialiased kernels' filter support and
normalisation. Where torch's backward kernel uses other positions than its forward one (corner
cases of the nearest modes, of antialiasing and of bicubic, such as a ``scale_factor`` of 1.1 that
keeps a size), the forward uses the forward table and the gradient the backward one (a
``custom_jvp``), so both match torch's.

``uint8`` inputs (nearest, bilinear and bicubic, as torch) are resampled in integers as torch's
CPU kernel does: int16 fixed-point weights, the last dim first, rounding to uint8 after each dim.

One deliberate difference: torch 2.13's separable CPU kernel (float antialiasing, and uint8 with more
than 4 channels) gives every output row the first row's values when the output width is 1; this
module computes the actual resize (which is what torch's gradient, and torch on the transposed
input, compute).
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..._device import scalar_type_name
from ..._warnings import warn
from ..parameter import _unwrap
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["interpolate", "upsample", "upsample_bilinear", "upsample_nearest"]

_FLOATS = tuple(np.dtype(t) for t in (jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64))
_HALF = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))
_UINT8 = np.dtype(np.uint8)
_DIM_NAMES = {1: ("W",), 2: ("H", "W"), 3: ("D", "H", "W")}
# Taps of each interpolating filter (torch's ``interp_size``).
_INTERP_SIZE = {"linear": 2, "cubic": 4, "lanczos": 6}


# --- index and weight tables (NumPy, static) ----------------------------------------------------
# ``f`` is the C++ ``opmath_t`` (np.float32 or np.float64); each step rounds as the C++ expression does,
# including the multiply-adds that torch's x86 builds (AVX2/AVX512 kernels) fuse into one rounding.
def _fma(a, b, c, f):
    """``a * b + c`` rounded once to ``f`` (exact products in a wider type)."""
    wide = np.float64 if f is np.float32 else np.longdouble
    return (np.asarray(a, wide) * np.asarray(b, wide) + np.asarray(c, wide)).astype(f)


def _scales_value(scale, in_size: int, out_size: int, f):
    """torch's ``compute_scales_value``: ``1 / scale`` when a positive scale was passed, else ``in / out``."""
    if scale is not None and scale > 0:
        return f(1.0 / scale)
    return f(in_size) / f(out_size)


def _area_pixel_scale(in_size: int, out_size: int, align_corners: bool, scale, f):
    """torch's ``area_pixel_compute_scale``."""
    if align_corners:
        return f(in_size - 1) / f(out_size - 1) if out_size > 1 else f(0)
    return _scales_value(scale, in_size, out_size, f)


def _source_index(scale, out_size: int, align_corners: bool, cubic: bool, f) -> np.ndarray:
    """torch's ``area_pixel_compute_source_index`` for every output position (clamped at 0 unless cubic)."""
    dst = np.arange(out_size).astype(f)
    if align_corners:
        return scale * dst
    src = _fma(scale, dst + f(0.5), -0.5, f)
    return src if cubic else np.where(src < 0, f(0), src).astype(f)


def _floorf(x: np.ndarray) -> np.ndarray:
    """C's ``(int64_t) floorf(x)``: the argument is a float32 whatever its type."""
    return np.floor(np.asarray(x).astype(np.float32)).astype(np.int64)


def _guard_index_and_lambda(real: np.ndarray, in_size: int, f) -> tuple[np.ndarray, np.ndarray]:
    index = np.minimum(_floorf(real), in_size - 1)
    lam = np.minimum(np.maximum(real - index.astype(f), f(0)), f(1)).astype(f)
    return index, lam


def _nearest_table(in_size, out_size, scale, f, exact: bool) -> np.ndarray:
    """The forward kernel's source positions (``HelperInterpNearest`` / ``NearestExact``)."""
    ratio = _area_pixel_scale(in_size, out_size, False, scale, f)
    if exact:
        real = _source_index(ratio, out_size, False, False, f)
        index = _floorf(real.astype(np.float64) + 0.5)
    else:
        index = _floorf(ratio * np.arange(out_size).astype(f))
    return np.minimum(index, in_size - 1)


def _nearest_backward_table(in_size, out_size, scale, exact: bool) -> np.ndarray:
    """The backward kernel's source positions (``nearest_idx`` / ``nearest_exact_idx``, always float32)."""
    dst = np.arange(out_size)
    ratio = _scales_value(scale, in_size, out_size, np.float32)
    if exact:
        return np.minimum(_floorf((dst + 0.5) * np.float64(ratio)), in_size - 1)
    if out_size == in_size:
        return dst
    if out_size == 2 * in_size:
        return dst >> 1
    return np.minimum(_floorf(dst.astype(np.float32) * ratio), in_size - 1)


def _linear_table(in_size, out_size, align_corners, scale, f) -> tuple[np.ndarray, np.ndarray]:
    """``compute_source_index_and_lambda``: two taps (the second clamped to the last input)."""
    if out_size == in_size:
        index = np.arange(out_size)
        return np.stack([index, index], 1), np.stack([np.ones(out_size, f), np.zeros(out_size, f)], 1)
    ratio = _area_pixel_scale(in_size, out_size, align_corners, scale, f)
    real = _source_index(ratio, out_size, align_corners, False, f)
    index0, lam1 = _guard_index_and_lambda(real, in_size, f)
    index1 = index0 + (index0 < in_size - 1)
    return np.stack([index0, index1], 1), np.stack([(f(1) - lam1).astype(f), lam1], 1)


def _cubic_convolution1(x, a, f):
    """``((a + 2) x - (a + 3)) x^2 + 1`` (the inner multiply-add fused, as torch's build)."""
    return ((_fma(a + f(2), x, -(a + f(3)), f) * x).astype(f) * x + f(1)).astype(f)


def _cubic_convolution2(x, a, f):
    """``((a x - 5a) x + 8a) x - 4a`` (the two inner multiply-adds fused, as torch's build)."""
    inner = _fma(_fma(a, x, -(f(5) * a), f), x, f(8) * a, f)
    return (inner * x - f(4) * a).astype(f)


def _cubic_table(in_size, out_size, align_corners, scale, f) -> tuple[np.ndarray, np.ndarray]:
    """Four taps around the source position, clamped at the borders, with ``A = -0.75`` weights."""
    ratio = _area_pixel_scale(in_size, out_size, align_corners, scale, f)
    real = _source_index(ratio, out_size, align_corners, True, f)
    index, t = _guard_index_and_lambda(real, in_size, f)
    a = f(-0.75)
    x2 = f(1.0) - t if f is np.float64 else (1.0 - t.astype(np.float64)).astype(f)
    weights = [
        _cubic_convolution2((t.astype(np.float64) + 1.0).astype(f), a, f),
        _cubic_convolution1(t, a, f),
        _cubic_convolution1(x2, a, f),
        _cubic_convolution2((x2.astype(np.float64) + 1.0).astype(f), a, f),
    ]
    indices = np.clip(index[:, None] - 1 + np.arange(4), 0, in_size - 1)
    return indices, np.stack(weights, 1)


def _aa_filter(kind: str, x: np.ndarray, f) -> np.ndarray:
    x = np.abs(x).astype(f)
    if kind == "linear":
        return np.where(x < 1, f(1) - x, f(0)).astype(f)
    if kind == "cubic":  # Keys' a = -0.5 (PIL's), not the -0.75 of the non-antialiased kernel
        a = f(-0.5)
        return np.where(x < 1, _cubic_convolution1(x, a, f),
                        np.where(x < 2, _cubic_convolution2(x, a, f), f(0))).astype(f)
    # Lanczos-3: sinc(x) sinc(x / 3) on |x| < 3
    with np.errstate(invalid="ignore", divide="ignore"):
        px = x.astype(np.float64) * np.pi
        sinc = np.where(x == 0, 1.0, np.sin(px) / px)
        px3 = px / 3
        sinc3 = np.where(x == 0, 1.0, np.sin(px3) / px3)
    return np.where(x < 3, sinc * sinc3, 0.0).astype(f)


def _aa_table(in_size, out_size, align_corners, scale, f, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The antialiased kernels' taps (``_compute_indices_min_size_weights_aa``, PIL's filter
    support scaled by the downsampling ratio), normalised to sum to one; unused taps have weight 0."""
    ratio = _area_pixel_scale(in_size, out_size, align_corners, scale, f)
    interp_size = _INTERP_SIZE[kind]
    support = f(interp_size * 0.5 * np.float64(ratio)) if ratio >= 1.0 else f(interp_size * 0.5)
    taps = int(math.ceil(support)) * 2 + 1
    invscale = f(1.0 / np.float64(ratio)) if ratio >= 1.0 else f(1.0)
    center = (np.float64(ratio) * (np.arange(out_size) + 0.5)).astype(f)
    xmin = np.maximum(np.trunc((center - support).astype(np.float64) + 0.5).astype(np.int64), 0)
    xsize = np.minimum(np.trunc((center + support).astype(np.float64) + 0.5).astype(np.int64), in_size) - xmin
    xsize = np.clip(xsize, 0, taps)
    j = np.arange(taps)
    positions = xmin[:, None] + j
    offsets = (positions.astype(f) - center[:, None]).astype(f)
    w = _aa_filter(kind, ((offsets.astype(np.float64) + 0.5) * np.float64(invscale)).astype(f), f)
    w = np.where(j < xsize[:, None], w, f(0)).astype(f)
    total = w.sum(axis=1, dtype=f)
    w = np.where(total[:, None] != 0, w / np.where(total == 0, f(1), total)[:, None], w).astype(f)
    return np.minimum(positions, in_size - 1), w


@functools.lru_cache(maxsize=512)
def _axis_tables(kind: str, in_size: int, out_size: int, align_corners: bool, scale, f, antialias: bool,
                 vectorized: bool = False):
    """``(forward, backward)`` for one spatial dim; each ``(indices (out, taps), weights or None)``.
    ``backward`` is ``forward`` (the same object) where torch's two kernels agree. ``vectorized``:
    torch's nearest forward runs its channels-last kernel, whose positions are the backward's."""
    if kind in ("nearest", "nearest-exact"):
        exact = kind == "nearest-exact"
        backward = (_nearest_backward_table(in_size, out_size, scale, exact)[:, None], None)
        if vectorized:
            return backward, backward
        forward = (_nearest_table(in_size, out_size, scale, f, exact)[:, None], None)
        if np.array_equal(forward[0], backward[0]):
            return forward, forward
        return forward, backward
    if antialias:
        table = _aa_table(in_size, out_size, align_corners, scale, f, kind)
        if in_size == out_size:  # the forward kernel skips a dim whose size does not change
            return _identity_table(in_size), table
        return table, table
    table = (_linear_table if kind == "linear" else _cubic_table)(in_size, out_size, align_corners, scale, f)
    return table, table


# --- the resampling kernels ---------------------------------------------------------------------
def _gather(x: jax.Array, axis: int, table) -> jax.Array:
    """Output ``i`` along ``axis`` is ``sum_t weights[i, t] * x[indices[i, t]]``."""
    indices, weights = table
    out, taps = indices.shape
    values = jnp.take(x, indices.reshape(-1), axis=axis, mode="clip")
    if weights is None:
        return values
    values = values.reshape(x.shape[:axis] + (out, taps) + x.shape[axis + 1:])
    w = jnp.asarray(weights, x.dtype).reshape((out, taps) + (1,) * (x.ndim - axis - 1))
    return (values * w).sum(axis=axis + 1)


def _resample_axis(x: jax.Array, axis: int, forward, backward) -> jax.Array:
    if forward is backward:
        return _gather(x, axis, forward)

    @jax.custom_jvp
    def resample(v):
        return _gather(v, axis, forward)

    @resample.defjvp
    def resample_jvp(primals, tangents):  # linear, so reverse mode transposes it into torch's backward
        return resample(primals[0]), _gather(tangents[0], axis, backward)

    return resample(x)


@functools.lru_cache(maxsize=64)
def _identity_table(size: int):
    return np.arange(size)[:, None], None


def _kind(mode: str) -> str:
    return {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}.get(mode, mode)


@partial(jax.jit, static_argnames=("mode", "out", "align_corners", "scales", "antialias"))
def _resample_kernel(x, *, mode, out, align_corners, scales, antialias):
    n = len(out)
    kind = _kind(mode)
    compute = np.dtype(jnp.float32) if x.dtype in _HALF else x.dtype
    f = np.float64 if compute == np.dtype(np.float64) else np.float32
    # torch's bicubic backward kernel copies the gradient when no size changes (whatever the scales)
    spatial = x.shape[x.ndim - n:]
    copy_back = kind == "cubic" and not antialias and spatial == out
    # torch's nearest forward takes its channels-last kernel (the backward's positions) for 2-d
    # outputs with H + W <= 128.
    vectorized = n == 2 and sum(out) <= 128
    y = x.astype(compute)
    for d in reversed(range(n)):  # the last dim first, as torch's separable kernels
        axis = x.ndim - n + d
        forward, backward = _axis_tables(kind, x.shape[axis], out[d], align_corners, scales[d], f, antialias,
                                         vectorized)
        if copy_back:
            backward = _identity_table(out[d])
        y = _resample_axis(y, axis, forward, backward)
    return y.astype(x.dtype)


# --- uint8: torch's fixed-point separable kernel ------------------------------------------------
def _uint8_weights(kind: str, in_size, out_size, align_corners, scale, antialias):
    """int16 weights and their precision (``_compute_index_ranges_int16_weights``)."""
    if antialias:
        indices, w = _aa_table(in_size, out_size, align_corners, scale, np.float64, kind)
        w_max = w.max()
    else:
        indices, w, w_max = _uint8_plain_table(kind, in_size, out_size, align_corners, scale)
    precision = 0
    while precision < 22 and int(0.5 + w_max * (1 << (precision + 1))) < (1 << 15):
        precision += 1
    v = w * (1 << precision)
    w16 = np.where(v < 0, np.trunc(-0.5 + v), np.trunc(0.5 + v)).astype(np.int32)
    return indices, w16, precision


def _uint8_plain_table(kind, in_size, out_size, align_corners, scale):
    """``_compute_indices_min_size_weights`` (float64): the float kernel's taps, with the weights of
    taps past a border accumulated onto the border element; also the largest (partial) sum."""
    f = np.float64
    taps = _INTERP_SIZE[kind]
    ratio = _area_pixel_scale(in_size, out_size, align_corners, scale, f)
    real = _source_index(ratio, out_size, align_corners, taps > 2, f)
    index, lam = _guard_index_and_lambda(real, in_size, f)
    support = taps // 2
    unbound_min = index - support + 1
    index_min = np.maximum(unbound_min, 0)
    x = (np.arange(taps) + 1 - support)[None, :].astype(f) - lam[:, None]
    w_unbound = _aa_filter("linear", x, f) if kind == "linear" else _keys075(x)
    w = np.zeros((out_size, taps), f)
    rows = np.arange(out_size)
    w_max = 0.0
    for t in range(taps):  # in torch's order, which sets the rounding of the sums and their running maximum
        slot = np.clip(unbound_min + t, 0, in_size - 1) - index_min
        w[rows, slot] += w_unbound[:, t]
        w_max = max(w_max, float(w[rows, slot].max()))
    positions = np.minimum(index_min[:, None] + np.arange(taps), in_size - 1)
    return positions, w, w_max


def _keys075(x):
    x = np.abs(x)
    a = -0.75
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))


@partial(jax.jit, static_argnames=("mode", "out", "align_corners", "scales", "antialias"))
def _resample_uint8_kernel(x, *, mode, out, align_corners, scales, antialias):
    kind = _kind(mode)
    y = x
    for d in reversed(range(2)):  # horizontal, then vertical; each pass rounds to uint8
        axis = x.ndim - 2 + d
        if y.shape[axis] == out[d]:
            continue
        indices, w16, precision = _uint8_weights(kind, y.shape[axis], out[d], align_corners, scales[d], antialias)
        o, taps = indices.shape
        values = jnp.take(y.astype(jnp.int32), indices.reshape(-1), axis=axis, mode="clip")
        values = values.reshape(y.shape[:axis] + (o, taps) + y.shape[axis + 1:])
        w = jnp.asarray(w16, jnp.int32).reshape((o, taps) + (1,) * (y.ndim - axis - 1))
        acc = (values * w).sum(axis=axis + 1) + (1 << (precision - 1) if precision else 0)
        y = jnp.clip(acc >> precision, 0, 255).astype(jnp.uint8)
    return y


# --- argument handling (torch's Python checks, then its C++ ones) --------------------------------
def _is_integer(v) -> bool:
    if isinstance(v, int | np.integer):
        return True
    return isinstance(v, jax.Array | np.ndarray) and v.ndim == 0 and not jnp.issubdtype(v.dtype, jnp.floating)


def _type_name(v) -> str:
    return "Tensor" if isinstance(v, jax.Array | np.ndarray) else type(v).__name__


def _op_name(mode: str, n: int, antialias: bool) -> str:
    if mode == "nearest":
        return f"upsample_nearest{n}d"
    if mode == "nearest-exact":
        return f"_upsample_nearest_exact{n}d"
    name = {"linear": "upsample_linear1d", "bilinear": "upsample_bilinear2d", "trilinear": "upsample_trilinear3d",
            "bicubic": "upsample_bicubic2d", "lanczos": "_upsample_lanczos2d"}[mode]
    return "_" + name + "_aa" if antialias and mode != "lanczos" else name + ("_aa" if mode == "lanczos" else "")


def _check_binding_args(op: str, output_size, scale_factors, align_corners, uses_align_corners: bool):
    """What torch's argument parser accepts: ``output_size`` ints (not bools), ``scale_factors``
    real numbers, ``align_corners`` a bool; otherwise a TypeError naming the op."""
    ok = True
    if output_size is not None:
        ok = all(not isinstance(v, bool) and not (isinstance(v, np.ndarray | jax.Array) and v.dtype == bool)
                 and _is_integer(v) for v in output_size)
    if scale_factors is not None:
        ok = ok and all(isinstance(v, numbers.Real) and not isinstance(v, np.ndarray | jax.Array)
                        for v in scale_factors)
    if uses_align_corners:
        ok = ok and isinstance(align_corners, bool | np.bool_)
    if ok:
        return
    got = ["Tensor", _type_name(output_size)]
    if uses_align_corners:
        got.append(_type_name(align_corners))
    got.append(_type_name(scale_factors))
    middle = "bool align_corners, " if uses_align_corners else ""
    raise TypeError(f"{op}() received an invalid combination of arguments - got ({', '.join(got)}), but expected "
                    f"one of:\n * (Tensor input, tuple of ints output_size, {middle}tuple of floats scale_factors)\n")


def _output_size(x, output_size, scale_factors) -> tuple[int, ...]:
    """torch's C++ ``compute_output_size``: ``floor(in * scale)`` (checked to fit an int64)."""
    if output_size is not None:
        return tuple(operator.index(v) for v in output_size)
    sizes = []
    for in_size, s in zip(x.shape[2:], scale_factors, strict=True):
        odim = float(in_size) * float(s)
        if not math.isfinite(odim) or not -(2.0 ** 63) <= odim < 2.0 ** 63:
            raise RuntimeError("value cannot be converted to type int64_t without overflow")
        sizes.append(int(odim))
    return tuple(sizes)


def _check_sizes(x, out: tuple[int, ...]) -> None:
    """torch's ``upsample_{1,2,3}d_common_check`` and the non-empty input check."""
    n = len(out)
    spatial = x.shape[2:]
    if not all(s > 0 for s in spatial) or not all(o > 0 for o in out):
        names = _DIM_NAMES[n]
        given = ", ".join(f"{name}: {s}" for name, s in zip(names, spatial, strict=True))
        wanted = ", ".join(f"{name}: {o}" for name, o in zip(names, out, strict=True))
        joiner = ") and output (" if n == 1 else ") output ("
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({given}{joiner}{wanted})")
    if x.size == 0 and x.shape[1] == 0:
        raise RuntimeError(f"Non-empty {x.ndim}D data tensor expected but got a tensor with sizes {list(x.shape)}")


def _check_dtype(x, mode: str, n: int, antialias: bool) -> None:
    dtype = x.dtype
    if antialias or mode == "lanczos":
        ok = dtype in (np.dtype(np.float32), np.dtype(np.float64), _UINT8)
        kernel = "compute_index_ranges_weights"
    else:
        ok = dtype in _FLOATS or (dtype == _UINT8 and mode in ("nearest", "nearest-exact", "bilinear", "bicubic"))
        kernel = {"nearest": f"upsample_nearest{n}d", "nearest-exact": f"_upsample_nearest_exact{n}d",
                  "bilinear": "upsample_bilinear2d", "bicubic": "compute_indices_weights_cubic"}.get(
            mode, "compute_indices_weights_linear")
    if not ok:
        name = scalar_type_name(dtype)
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{name}'")


def _area(x, output_size, n: int):
    fn = f"adaptive_avg_pool{n}d"
    for i, v in enumerate(output_size):
        if isinstance(v, bool) or not _is_integer(v):
            raise TypeError(f"{fn}(): argument 'output_size' (position 2) must be tuple of ints, but found element "
                            f"of type {type(v).__name__} at pos {i}")
    pool = (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[n - 1]
    return pool(x, tuple(operator.index(v) for v in output_size))


_MODE_DIMS = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3), "linear": (1,), "bilinear": (2,),
              "trilinear": (3,), "bicubic": (2,), "lanczos": (2,)}


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> jax.Array:
    r"""Down/up-sample ``(N, C, *spatial)`` (1 to 3 spatial dims) to ``size`` or by ``scale_factor``.

    Arguments:
        size: output spatial size (an int, or one int per spatial dim).
        scale_factor: multiplier of each spatial size (a number, or one per spatial dim); the output
            size is :math:`\lfloor L \cdot s \rfloor`.
        mode: ``'nearest'`` (source :math:`\lfloor i \cdot scale \rfloor`), ``'nearest-exact'``
            (:math:`\lfloor (i + 0.5) \cdot scale \rfloor`), ``'linear'`` (3-D input), ``'bilinear'``
            (4-D), ``'bicubic'`` (4-D, cubic convolution with :math:`A = -0.75`, borders replicated),
            ``'trilinear'`` (5-D), ``'area'`` (adaptive average pooling), ``'lanczos'`` (4-D,
            antialiased only).
        align_corners: linear and cubic modes only (default False): True maps the corner pixels'
            centres onto each other (:math:`src = i \cdot (L_{in} - 1) / (L_{out} - 1)`); False maps
            the corners of the pixel areas (:math:`src = (i + 0.5) \cdot scale - 0.5`).
        recompute_scale_factor: with ``scale_factor``, True computes the output size, then
            interpolates with :math:`scale = L_{in} / L_{out}`; False or None interpolates with
            :math:`scale = 1 / s` as given.
        antialias: for ``'bilinear'``, ``'bicubic'`` (Keys' :math:`A = -0.5`) and ``'lanczos'`` on
            4-D input: when downsampling, the filter is widened by the downsampling ratio (as PIL).

    ``uint8`` input works with the nearest, bilinear and bicubic modes (computed in fixed point as
    torch's CPU kernel); other modes need floating point.
    """
    x = jnp.asarray(_unwrap(input))
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False

    dim = x.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scale_factors = None
        if isinstance(size, list | tuple):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got input with spatial "
                    f"dimensions of {list(x.shape[2:])} and output size of {size}. Please provide input tensor in "
                    "(N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format."
                )
            if not all(_is_integer(v) for v in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or Tuple[int, int, "
                                f"int], but got size with types {[type(v) for v in size]}")
            output_size = size
        else:
            output_size = [size for _ in range(dim)]
    elif scale_factor is not None:
        output_size = None
        if isinstance(scale_factor, list | tuple):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but got input with "
                    f"spatial dimensions of {list(x.shape[2:])} and scale_factor of shape {scale_factor}. Please "
                    "provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) "
                    "format."
                )
            scale_factors = scale_factor
        else:
            scale_factors = [scale_factor for _ in range(dim)]
    else:
        raise ValueError("either size or scale_factor should be defined")

    if recompute_scale_factor is not None and recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and output_size is None:
        recompute_scale_factor = True
    if recompute_scale_factor is not None and recompute_scale_factor:
        output_size = [int(x.shape[i + 2] * scale_factors[i]) for i in range(dim)]
        scale_factors = None

    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and x.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D "
                         "tensor as input")

    if mode not in _MODE_DIMS or dim not in _MODE_DIMS[mode]:
        for want, n in (("linear", 1), ("bilinear", 2), ("trilinear", 3)):
            if mode == want and dim in (1, 2, 3):
                raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs {n + 2}D input")
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) for the modes: nearest | linear "
            f"| bilinear | bicubic | trilinear | lanczos | area | nearest-exact (got {mode})"
        )
    if mode == "area":
        return _area(x, output_size, dim)
    if mode == "lanczos":
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
        antialias = True

    uses_align_corners = mode not in ("nearest", "nearest-exact")
    _check_binding_args(_op_name(mode, dim, antialias), output_size, scale_factors, align_corners,
                        uses_align_corners)
    out = _output_size(x, output_size, scale_factors)
    _check_sizes(x, out)
    _check_dtype(x, mode, dim, antialias)
    scales = (None,) * dim if scale_factors is None else tuple(float(s) for s in scale_factors)
    geometry = dict(mode=mode, out=out, align_corners=bool(align_corners) and uses_align_corners, scales=scales,
                    antialias=bool(antialias))
    if x.size == 0:
        return jnp.zeros(x.shape[:2] + out, x.dtype)
    if x.dtype == _UINT8 and mode not in ("nearest", "nearest-exact"):
        return _resample_uint8_kernel(x, **geometry)
    return _resample_kernel(x, **geometry)


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> jax.Array:
    """Deprecated alias of :func:`interpolate` (warns, as torch)."""
    warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None) -> jax.Array:
    """Deprecated: :func:`interpolate` with ``mode='nearest'`` (warns, as torch)."""
    warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None) -> jax.Array:
    """Deprecated: :func:`interpolate` with ``mode='bilinear', align_corners=True`` (warns, as torch)."""
    warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)

"""Pooling: max, average, power-average, adaptive and fractional max pooling, and max-unpooling, in 1, 2 and 3 dims.

One N-d implementation per kind; the ``*1d/2d/3d`` functions only fix the number of spatial dims.
Inputs are ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``; the leading dims just ride along.

* Max (without indices) and average pooling are one ``lax.reduce_window`` each. XLA's gradient of a
  windowed max goes to the first maximum of each window, as torch's does.
* Searches that need *where* the maximum is (``return_indices``, adaptive max pooling) use that
  a window is a box, so its maximum is separable: per spatial dim (last first), gather every
  output's window along that dim (a static ``(out, k)`` table of positions, ``-1`` for padding)
  and reduce it, carrying the flat index of the winner. The output is then gathered from the input
  at the winning indices, so the gradient is torch's scatter to those indices.
* Adaptive average pooling is separable too: one ``(out, in)`` averaging matrix per dim.
* Fractional max pooling's windows depend on per-plane random samples (possibly traced), so its
  separable search gathers each plane's windows with ``take_along_axis`` instead of a static table.

Indices are flat positions within each input plane (``(*spatial)``), of dtype int64 as torch's
when ``jax_enable_x64`` is on and int32 otherwise.
"""

from __future__ import annotations

import functools
import math
import string
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ... import _random
from ..parameter import _unwrap
from ._utils import _pair, _triple, check_spatial_input, expand, index_dtype

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "fractional_max_pool2d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d", "fractional_max_pool3d_with_indices",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "max_pool1d", "max_pool1d_with_indices",
    "max_pool2d", "max_pool2d_with_indices",
    "max_pool3d", "max_pool3d_with_indices",
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
]

_HALF = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))


# --- shapes and argument checks --------------------------------------------------------------
def _pool_output_size(size: int, k: int, p: int, s: int, d: int, ceil_mode: bool) -> int:
    """torch's ``pooling_output_shape``: with ``ceil_mode`` the last window must start inside the
    input or the left padding."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _check_nonempty(x, n: int, fn: str) -> None:
    empty = [i for i in range(x.ndim - n - 1, x.ndim) if x.shape[i] == 0]
    if empty:
        raise RuntimeError(
            f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but input has sizes "
            f"{list(x.shape)} with dimension {empty[0]} being empty"
        )


def _window_args(x, n: int, fn: str, kernel_size, stride, padding, dilation, ceil_mode: bool):
    """Check and expand the window arguments; returns ``(kernel, stride, padding, dilation, out)``."""
    kernel = expand(kernel_size, n, "kernel_size", fn)
    # torch: a missing (None or empty) stride is the kernel size.
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else stride
    stride = expand(stride, n, "stride", fn)
    padding, dilation = expand(padding, n, "padding", fn), expand(dilation, n, "dilation", fn)
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{fn}(): kernel_size must be greater than zero, but got {list(kernel)}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{fn}(): stride must be greater than zero, but got {list(stride)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{fn}(): dilation should be greater than zero, but got {list(dilation)}")
    for k, p in zip(kernel, padding, strict=True):
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        # torch also bounds p by half the dilated kernel, which this (its stricter check) implies.
        if p > k // 2:
            raise RuntimeError(
                f"pad should be smaller than or equal to half of kernel size, but got pad={p}, kernel_size={k}"
            )
    _check_nonempty(x, n, fn)
    spatial = x.shape[-n:]
    out = tuple(_pool_output_size(*args, ceil_mode)
                for args in zip(spatial, kernel, padding, stride, dilation, strict=True))
    if any(o < 1 for o in out):
        channels = x.shape[-n - 1]
        raise RuntimeError(
            f"Given input size: ({'x'.join(map(str, (channels, *spatial)))}). Calculated output size: "
            f"({'x'.join(map(str, (channels, *out)))}). Output size is too small"
        )
    return kernel, stride, padding, dilation, out


def _window_padding(x, n: int, kernel, stride, padding, dilation, out) -> list[tuple[int, int]]:
    """``reduce_window`` padding giving exactly ``out`` windows: ``padding`` on the left, and on the
    right what the last (ceil-mode) window needs."""
    pads = [(0, 0)] * (x.ndim - n)
    for size, k, s, p, d, o in zip(x.shape[-n:], kernel, stride, padding, dilation, out, strict=True):
        pads.append((p, max(0, (o - 1) * s + d * (k - 1) + 1 - size - p)))
    return pads


def _lowest(dtype) -> np.ndarray:
    """The identity of max for ``dtype`` (a NumPy constant, so reduce_window sees a max monoid)."""
    if jnp.issubdtype(dtype, jnp.floating):
        return np.array(-np.inf, dtype)
    if dtype == np.dtype(bool):
        return np.array(False)
    return np.array(jnp.iinfo(dtype).min, dtype)


def _accumulation_dtype(dtype):
    """Sums of float16/bfloat16 accumulate in float32, as torch's kernels do."""
    return np.dtype(jnp.float32) if dtype in _HALF else dtype


# --- window search: maximum and its flat index ---------------------------------------------
def _strided_windows(size: int, k: int, s: int, p: int, d: int, out: int) -> np.ndarray:
    """``(out, k)`` input positions of each pooling window along one dim; ``-1`` where it is padding."""
    positions = np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d
    return np.where((positions >= 0) & (positions < size), positions, -1)


def _adaptive_bounds(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's adaptive windows: ``[floor(i * size / out), ceil((i + 1) * size / out))``."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_windows(size: int, out: int) -> np.ndarray:
    """``(out, longest window)`` input positions of each adaptive window; ``-1`` past its end."""
    start, end = _adaptive_bounds(size, out)
    positions = start[:, None] + np.arange(int((end - start).max()))[None, :]
    return np.where(positions < end[:, None], positions, -1)


def _window_max(x: jax.Array, windows: list[np.ndarray]) -> tuple[jax.Array, jax.Array]:
    """Maximum of every window and its flat index in the input plane.

    ``windows[d]`` is the ``(out_d, k_d)`` table of positions along spatial dim ``d``. Ties go to
    the first maximum in row-major order (the smallest flat index), NaN wins over numbers and the
    last NaN wins among NaNs: the scan order of torch's CPU kernels.
    """
    n = len(windows)
    lead = x.shape[:x.ndim - n]
    itype = index_dtype()
    never = jnp.iinfo(itype).max
    values = lax.stop_gradient(x)
    indices = jnp.broadcast_to(jnp.arange(math.prod(x.shape[len(lead):]), dtype=itype).reshape(x.shape[len(lead):]),
                               x.shape)
    for d in reversed(range(n)):  # any order is exact; the last dim first keeps gathers contiguous
        axis = len(lead) + d
        table = windows[d]
        valid = jnp.asarray(table >= 0).reshape(table.shape + (1,) * (n - 1 - d))
        flat = np.maximum(table, 0).reshape(-1)
        window_shape = values.shape[:axis] + table.shape + values.shape[axis + 1:]
        v = jnp.where(valid, jnp.take(values, flat, axis=axis, mode="clip").reshape(window_shape), _lowest(x.dtype))
        i = jnp.where(valid, jnp.take(indices, flat, axis=axis, mode="clip").reshape(window_shape), never)
        best = v.max(axis=axis + 1)
        first = jnp.where(v == jnp.expand_dims(best, axis + 1), i, never).min(axis=axis + 1)
        if jnp.issubdtype(x.dtype, jnp.floating):
            last_nan = jnp.where(jnp.isnan(v), i, -1).max(axis=axis + 1)
            first = jnp.where(last_nan >= 0, last_nan, first)
        values, indices = best, first
    planes = x.reshape(lead + (math.prod(x.shape[len(lead):]),))
    flat = indices.reshape(lead + (math.prod(indices.shape[len(lead):]),))
    out = jnp.take_along_axis(planes, flat, axis=-1).reshape(indices.shape)
    return out, indices


# --- max pooling -------------------------------------------------------------------------------
# Each function's array math is one jitted kernel with static geometry: called eagerly that is one
# dispatch per call (and per gradient) instead of one per primitive; under an outer jit it inlines.
_GEOMETRY = ("kernel", "stride", "padding", "dilation", "out")


@partial(jax.jit, static_argnames=_GEOMETRY)
def _max_pool_kernel(x, *, kernel, stride, padding, dilation, out):
    n = len(kernel)
    ones = (1,) * (x.ndim - n)
    return lax.reduce_window(
        x, _lowest(x.dtype), lax.max, ones + kernel, ones + stride,
        _window_padding(x, n, kernel, stride, padding, dilation, out), window_dilation=ones + dilation,
    )


@partial(jax.jit, static_argnames=_GEOMETRY)
def _max_pool_with_indices_kernel(x, *, kernel, stride, padding, dilation, out):
    geometry = zip(x.shape[x.ndim - len(kernel):], kernel, stride, padding, dilation, out, strict=True)
    return _window_max(x, [_strided_windows(*args) for args in geometry])


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, n: int):
    fn = f"max_pool{n}d"
    x = _unwrap(input)
    check_spatial_input(x, n, fn)
    kernel, stride, padding, dilation, out = _window_args(x, n, fn, kernel_size, stride, padding, dilation,
                                                          ceil_mode)
    geometry = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation, out=out)
    if return_indices:
        return _max_pool_with_indices_kernel(x, **geometry)
    if any(d != 1 for d in dilation):  # JAX has no gradient for a dilated reduce_window max
        return _max_pool_with_indices_kernel(x, **geometry)[0]
    return _max_pool_kernel(x, **geometry)


def _max_pool_doc(n: int) -> str:
    return rf"""{n}-D max pooling over ``(N, C, *spatial)`` or ``(C, *spatial)`` ({n} spatial dims).

    Arguments:
        kernel_size: window size (an int or a {n}-sequence).
        stride: window step; default (None) ``kernel_size``.
        padding: implicit ``-inf`` padding on both sides, at most half the kernel size.
        dilation: spacing between window elements.
        ceil_mode: round the output size up (a last partial window must start inside the input or
            the left padding).
        return_indices: also return the flat index of each maximum within its input plane (the
            first maximum on ties), for :func:`max_unpool{n}d`.

    Output size per dim: :math:`\lfloor (L + 2p - d(k - 1) - 1) / s \rfloor + 1` (ceil with ``ceil_mode``).
    Differs from torch: indices are int32 unless ``jax_enable_x64`` is on (torch: int64).
    """


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 1)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 2)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, True, 3)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3)


for _n, _fns in ((1, (max_pool1d, max_pool1d_with_indices)), (2, (max_pool2d, max_pool2d_with_indices)),
                 (3, (max_pool3d, max_pool3d_with_indices))):
    for _fn in _fns:
        _fn.__doc__ = _max_pool_doc(_n)
del _n, _fns, _fn


# --- average and power-average pooling ---------------------------------------------------------
def _window_counts(size: int, k: int, s: int, p: int, out: int, count_include_pad: bool) -> np.ndarray:
    """torch's divisor per output along one dim: the window clipped to the padded input (and to
    the input itself unless ``count_include_pad``)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


@partial(jax.jit, static_argnames=("kernel", "stride", "padding", "out", "count_include_pad", "divisor_override"))
def _avg_pool_kernel(x, *, kernel, stride, padding, out, count_include_pad, divisor_override):
    n = len(kernel)
    ones = (1,) * (x.ndim - n)
    acc = _accumulation_dtype(x.dtype)
    sums = lax.reduce_window(
        x.astype(acc), np.zeros((), acc), lax.add, ones + kernel, ones + stride,
        _window_padding(x, n, kernel, stride, padding, (1,) * n, out),
    )
    if divisor_override is not None:
        divisor = np.asarray(divisor_override)
    else:
        geometry = zip(x.shape[x.ndim - n:], kernel, stride, padding, out, strict=True)
        divisor = functools.reduce(np.multiply.outer, [_window_counts(*args, count_include_pad) for args in geometry])
    if jnp.issubdtype(acc, jnp.integer):  # torch divides integers truncating toward zero
        return lax.div(sums, jnp.broadcast_to(jnp.asarray(divisor, acc), sums.shape))
    return (sums / jnp.asarray(divisor, acc)).astype(x.dtype)


def _check_avg_input(x, n: int, fn: str) -> None:
    # torch's avg_pool2d (and lp_pool2d on it) fails indexing dim -3 of a smaller input: an IndexError.
    check_spatial_input(x, n, fn, error=IndexError if n == 2 and x.ndim < 3 else RuntimeError)


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, n: int):
    fn = f"avg_pool{n}d"
    x = _unwrap(input)
    _check_avg_input(x, n, fn)
    kernel, stride, padding, _, out = _window_args(x, n, fn, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    return _avg_pool_kernel(x, kernel=kernel, stride=stride, padding=padding, out=out,
                            count_include_pad=bool(count_include_pad), divisor_override=divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    r"""1-D average pooling over ``(N, C, L)`` or ``(C, L)``.

    Arguments:
        kernel_size, stride (default ``kernel_size``), padding (zeros, at most half the kernel):
            ints or 1-sequences.
        ceil_mode: round the output size up (the last window must start inside the input or the
            left padding).
        count_include_pad: divide by the window size including the zero padding (but not the part
            of a ceil-mode window past it); otherwise by the number of input elements.
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling over ``(N, C, H, W)`` or ``(C, H, W)``; arguments as :func:`avg_pool1d`, and
    ``divisor_override``: divide every window sum by this instead."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-D average pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``; arguments as :func:`avg_pool2d`."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3)


@partial(jax.jit, static_argnames=("norm_type", "kernel", "stride", "out"))
def _lp_pool_kernel(x, *, norm_type, kernel, stride, out):
    mean = _avg_pool_kernel(x ** norm_type, kernel=kernel, stride=stride, padding=(0,) * len(kernel), out=out,
                            count_include_pad=True, divisor_override=None)
    total = mean * math.prod(kernel)
    # torch's sign(s) * relu(|s|) is s with a zero gradient where s == 0, where the root's is infinite.
    nonzero = total != 0
    root = jnp.where(nonzero, total, 1) ** (1.0 / norm_type)
    return jnp.where(nonzero, root, jnp.zeros((), total.dtype) ** (1.0 / norm_type))


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, n: int):
    x = _unwrap(input)
    if norm_type == float("inf"):
        return _max_pool(jnp.abs(x), kernel_size, stride, 0, 1, ceil_mode, False, n)
    if norm_type == -float("inf"):
        return -_max_pool(-jnp.abs(x), kernel_size, stride, 0, 1, ceil_mode, False, n)
    fn = f"lp_pool{n}d"
    _check_avg_input(x, n, fn)
    kernel, stride, _, _, out = _window_args(x, n, fn, kernel_size, stride, 0, 1, ceil_mode)
    return _lp_pool_kernel(x, norm_type=norm_type, kernel=kernel, stride=stride, out=out)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""1-D power-average pooling: :math:`(\sum_{x \in \text{window}} x^p)^{1/p}` over ``(N, C, L)`` or ``(C, L)``.

    ``norm_type`` :math:`p = \infty` is max pooling of :math:`|x|`. Computed as torch does, from an
    average pool (so a ceil-mode window past the input is scaled up to the full kernel size); the
    gradient is zero where the sum is zero.
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """2-D power-average pooling over ``(N, C, H, W)`` or ``(C, H, W)``; see :func:`lp_pool1d`."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """3-D power-average pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``; see :func:`lp_pool1d`."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


# --- adaptive pooling -------------------------------------------------------------------------
def _adaptive_args(x, output_size, n: int, fn: str) -> tuple[int, ...]:
    """Check the input and ``output_size`` (an int or ``n`` ints / None = keep that size)."""
    check_spatial_input(x, n, fn)
    _check_nonempty(x, n, fn)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise NotImplementedError(f'"{fn}" not implemented for {x.dtype}')
    if isinstance(output_size, float):  # torch's Python wrapper takes len() of anything not an int
        raise TypeError("object of type 'float' has no len()")
    sizes = (output_size,) * n if output_size is None or isinstance(output_size, int) else tuple(output_size)
    bad = next((i for i, o in enumerate(sizes) if o is not None and not isinstance(o, int | np.integer)), None)
    if bad is not None:
        raise TypeError(f"{fn}(): argument 'output_size' (position 2) must be tuple of ints, but found element of "
                        f"type {type(sizes[bad]).__name__} at pos {bad}")
    if len(sizes) != n:
        raise RuntimeError(f"{fn}(): output_size must have {n} elements, but got output_size={output_size!r}")
    sizes = tuple(size if o is None else o for o, size in zip(sizes, x.shape[-n:], strict=True))
    if any(o < 0 for o in sizes):
        raise RuntimeError(f"{fn}(): elements of output_size must be greater than or equal to 0 but received "
                           f"{list(sizes)}")
    return sizes


@partial(jax.jit, static_argnames=("out",))
def _adaptive_avg_pool_kernel(x, *, out):
    n = len(out)
    matrices = []  # (out, in) per dim: row i averages window i
    for size, o in zip(x.shape[x.ndim - n:], out, strict=True):
        start, end = _adaptive_bounds(size, o)
        position = np.arange(size)
        inside = (position >= start[:, None]) & (position < end[:, None])
        matrices.append(inside / (end - start)[:, None])
    acc = _accumulation_dtype(x.dtype)
    letters = string.ascii_letters
    spec = f"...{letters[:n]}," + ",".join(letters[n + d] + letters[d] for d in range(n)) + f"->...{letters[n:2 * n]}"
    y = jnp.einsum(spec, x.astype(acc), *(jnp.asarray(m, acc) for m in matrices), precision=lax.Precision.HIGHEST)
    return y.astype(x.dtype)


@partial(jax.jit, static_argnames=("out",))
def _adaptive_max_pool_kernel(x, *, out):
    n = len(out)
    if 0 in out:
        shape = x.shape[:x.ndim - n] + out
        return jnp.zeros(shape, x.dtype), jnp.zeros(shape, index_dtype())
    return _window_max(x, [_adaptive_windows(size, o) for size, o in zip(x.shape[x.ndim - n:], out, strict=True)])


def _adaptive_avg_pool(input, output_size, n: int) -> jax.Array:
    x = _unwrap(input)
    return _adaptive_avg_pool_kernel(x, out=_adaptive_args(x, output_size, n, f"adaptive_avg_pool{n}d"))


def _adaptive_max_pool(input, output_size, return_indices, n: int):
    x = _unwrap(input)
    y, indices = _adaptive_max_pool_kernel(x, out=_adaptive_args(x, output_size, n, f"adaptive_max_pool{n}d"))
    return (y, indices) if return_indices else y


def adaptive_avg_pool1d(input, output_size) -> jax.Array:
    r"""Adaptive average pooling of ``(N, C, L)`` or ``(C, L)`` to length ``output_size``.

    Output ``i`` averages the input over :math:`[\lfloor iL/L_{out} \rfloor, \lceil (i+1)L/L_{out} \rceil)`.
    """
    return _adaptive_avg_pool(input, output_size, 1)


def adaptive_avg_pool2d(input, output_size) -> jax.Array:
    """Adaptive average pooling of ``(N, C, H, W)`` or ``(C, H, W)`` to ``output_size`` (an int, or
    two ints where None keeps that input size); windows as :func:`adaptive_avg_pool1d` per dim."""
    return _adaptive_avg_pool(input, output_size, 2)


def adaptive_avg_pool3d(input, output_size) -> jax.Array:
    """Adaptive average pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``; see :func:`adaptive_avg_pool2d`."""
    return _adaptive_avg_pool(input, output_size, 3)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """``(values, flat indices)`` of :func:`adaptive_max_pool1d`."""
    return _adaptive_max_pool(input, output_size, True, 1)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """``(values, flat indices)`` of :func:`adaptive_max_pool2d`."""
    return _adaptive_max_pool(input, output_size, True, 2)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """``(values, flat indices)`` of :func:`adaptive_max_pool3d`."""
    return _adaptive_max_pool(input, output_size, True, 3)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    r"""Adaptive max pooling of ``(N, C, L)`` or ``(C, L)`` to length ``output_size``.

    Output ``i`` is the maximum over :math:`[\lfloor iL/L_{out} \rfloor, \lceil (i+1)L/L_{out} \rceil)`;
    with ``return_indices`` also its flat index (int32 unless ``jax_enable_x64``; torch: int64).
    """
    return _adaptive_max_pool(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Adaptive max pooling of ``(N, C, H, W)`` or ``(C, H, W)``; ``output_size`` as :func:`adaptive_avg_pool2d`."""
    return _adaptive_max_pool(input, output_size, return_indices, 2)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Adaptive max pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``; see :func:`adaptive_avg_pool2d`."""
    return _adaptive_max_pool(input, output_size, return_indices, 3)


# --- max unpooling --------------------------------------------------------------------------
def _unpool_output_size(x, kernel, stride, padding, output_size) -> tuple[int, ...]:
    n = len(kernel)
    default = [(size - 1) * s + k - 2 * p for size, k, s, p in zip(x.shape[-n:], kernel, stride, padding, strict=True)]
    if output_size is None:
        sizes = default
    else:
        sizes = list(output_size)
        if len(sizes) == n + 2:
            sizes = sizes[2:]
        if len(sizes) != n:
            raise ValueError(
                f"output_size should be a sequence containing {n} or {n + 2} elements, but it has a length of "
                f"'{len(sizes)}'"
            )
        for d, (size, s) in enumerate(zip(default, stride, strict=True)):
            if not size - s < sizes[d] < size + s:
                raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {size - s} and '
                                 f"{size + s})")
    for d, size in enumerate(sizes):
        if size < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{d}]={size}")
    return tuple(sizes)


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, n: int) -> jax.Array:
    fn = f"max_unpool{n}d"
    x, idx = _unwrap(input), _unwrap(indices)
    if x.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"Input to {fn} should be a {n + 1}d or {n + 2}d Tensor, but got a tensor with "
                           f"{x.ndim} dimensions.")
    if idx.shape != x.shape:
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(x.shape)}) "
                           f"but got indices tensor with shape: {list(idx.shape)}")
    if not jnp.issubdtype(idx.dtype, jnp.integer):
        raise RuntimeError(f"elements in indices should be an integer type (int64 in torch) but got: {idx.dtype}")
    kernel = expand(kernel_size, n, "kernel_size", fn)
    stride = kernel if stride is None else expand(stride, n, "stride", fn)
    out = _unpool_output_size(x, kernel, stride, expand(padding, n, "padding", fn), output_size)
    if not isinstance(idx, jax.core.Tracer) and idx.size:
        with jax.ensure_compile_time_eval():  # concrete indices are checked even inside a trace
            found, index = _first_invalid_index(idx, plane=math.prod(out))
        if found:
            raise RuntimeError(f"Found an invalid max index: {int(index)} (output volumes are of size "
                               f"{'x'.join(map(str, out))})")
    return _max_unpool_kernel(x, idx, out)


@partial(jax.jit, static_argnames=("plane",))
def _first_invalid_index(indices, *, plane):
    """Whether an index lies outside ``[0, plane)``, and the first such index."""
    invalid = ((indices < 0) | (indices >= plane)).reshape(-1)
    return invalid.any(), indices.reshape(-1)[jnp.argmax(invalid)]


def _scatter_to_planes(values, indices, out, add: bool):
    lead = values.shape[:values.ndim - len(out)]
    rows, columns = math.prod(lead), math.prod(values.shape[len(lead):])
    values, indices = values.reshape(rows, columns), indices.reshape(rows, columns)
    at = jnp.zeros((rows, math.prod(out)), values.dtype).at[jnp.arange(rows)[:, None], indices]
    planes = at.add(values, mode="drop") if add else at.set(values, mode="drop")
    return planes.reshape(lead + out)


@partial(jax.custom_jvp, nondiff_argnums=(2,))
def _unpool(values, indices, out):
    return _scatter_to_planes(values, indices, out, add=False)


@_unpool.defjvp
def _unpool_jvp(out, primals, tangents):
    # torch's backward gives every value the gradient at its index, also where indices repeat
    # (overlapping windows): the tangent map is the scatter-add, whose transpose is that gather.
    values, indices = primals
    return _unpool(values, indices, out), _scatter_to_planes(tangents[0], indices, out, add=True)


_max_unpool_kernel = jax.jit(_unpool, static_argnums=(2,))


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> jax.Array:
    r"""Partial inverse of :func:`max_pool1d`: every value is put at its index, the rest is zero.

    Arguments:
        input, indices: the values and flat indices :func:`max_pool1d` returned (same shape).
        kernel_size, stride (default ``kernel_size``), padding: those of the pooling.
        output_size: the spatial size to produce (the pooling's input size may be ambiguous);
            default :math:`(L - 1) s + k - 2p`. May include the leading ``(N, C)``.

    Differs from torch: an out-of-range index raises eagerly but is dropped inside ``jit``; any
    integer index dtype is accepted.
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> jax.Array:
    """Partial inverse of :func:`max_pool2d`; see :func:`max_unpool1d`."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> jax.Array:
    """Partial inverse of :func:`max_pool3d`; see :func:`max_unpool1d`."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


# --- fractional max pooling -------------------------------------------------------------------
# torch's generate_intervals computes in the input's dtype; float16/bfloat16 round after every
# operation (c10::Half arithmetic goes through float), emulated with reduce_precision.
_REDUCED_BITS = {np.dtype(jnp.float16): (5, 10), np.dtype(jnp.bfloat16): (8, 7)}


def _fractional_starts(samples: jax.Array, size: int, out: int, k: int) -> jax.Array:
    """torch's ``generate_intervals`` for one spatial dim: the first input position of each of
    the ``out`` windows, ``lead + (out,)`` from per-plane samples ``lead``.

    ``alpha = (size - k) / (out - 1)``; window ``i < out - 1`` starts at
    ``int((i + u) * alpha) - int(u * alpha)`` and the last at ``size - k``.
    """
    itype = index_dtype()
    lead = samples.shape
    last = jnp.full(lead + (min(out, 1),), size - k, itype)
    if out <= 1:
        return last
    dtype = np.dtype(samples.dtype)
    bits = _REDUCED_BITS.get(dtype)
    if bits is None:
        def rounded(v):
            return v
        compute = dtype
    else:
        def rounded(v):
            return lax.reduce_precision(v, *bits)
        compute = np.dtype(np.float32)
    # alpha: both sizes converted to the dtype, divided in float, rounded to the dtype (NumPy does
    # exactly that for float16/bfloat16, and is IEEE for float32/float64).
    num, den = np.asarray(size - k, dtype).astype(compute), np.asarray(out - 1, dtype).astype(compute)
    alpha = np.asarray(num / den, compute).astype(dtype).astype(compute)
    u = samples.astype(compute)[..., None]
    i = rounded(jnp.arange(out - 1, dtype=compute))
    first = rounded(rounded(i + u) * alpha).astype(itype) - rounded(u * alpha).astype(itype)
    return jnp.concatenate([first, jnp.broadcast_to(last, first.shape[:-1] + (1,))], axis=-1)


def _sampled_window_max(x: jax.Array, starts: list[jax.Array], kernel) -> tuple[jax.Array, jax.Array]:
    """Maximum of every ``kernel``-sized window starting at ``starts`` and its flat index in the plane.

    ``starts[d]`` is ``lead + (out_d,)``: per-plane window starts along spatial dim ``d``. As
    :func:`_window_max`, separably (last dim first): first maximum in row-major order, NaN wins
    and the last NaN wins among NaNs, as torch's kernel (``val > maxVal || isnan(val)``).
    """
    n = len(kernel)
    lead = x.shape[:x.ndim - n]
    itype = index_dtype()
    never = jnp.iinfo(itype).max
    plane = x.shape[len(lead):]
    values = lax.stop_gradient(x)
    indices = jnp.broadcast_to(jnp.arange(math.prod(plane), dtype=itype).reshape(plane), x.shape)
    for d in reversed(range(n)):
        axis = len(lead) + d
        out, k = starts[d].shape[-1], kernel[d]
        positions = (starts[d][..., None] + jnp.arange(k, dtype=itype)).reshape(lead + (out * k,))
        positions = positions.reshape(lead + (1,) * d + (out * k,) + (1,) * (n - 1 - d))
        window_shape = values.shape[:axis] + (out, k) + values.shape[axis + 1:]
        v = jnp.take_along_axis(values, positions, axis=axis, mode="clip").reshape(window_shape)
        i = jnp.take_along_axis(indices, positions, axis=axis, mode="clip").reshape(window_shape)
        best = v.max(axis=axis + 1)
        first = jnp.where(v == jnp.expand_dims(best, axis + 1), i, never).min(axis=axis + 1)
        last_nan = jnp.where(jnp.isnan(v), i, -1).max(axis=axis + 1)
        values, indices = best, jnp.where(last_nan >= 0, last_nan, first)
    planes = x.reshape(lead + (math.prod(plane),))
    flat = indices.reshape(lead + (math.prod(indices.shape[len(lead):]),))
    return jnp.take_along_axis(planes, flat, axis=-1).reshape(indices.shape), indices


@partial(jax.jit, static_argnames=("kernel", "out"))
def _fractional_max_pool_kernel(x, samples, *, kernel, out):
    n = len(kernel)
    lead = x.shape[:x.ndim - n]
    spatial = x.shape[x.ndim - n:]
    # torch's sample order per plane: (W, H) in 2-d, (T, H, W) in 3-d.
    order = (1, 0) if n == 2 else tuple(range(n))
    starts = [_fractional_starts(samples[..., order[d]], spatial[d], out[d], kernel[d]) for d in range(n)]
    shape = lead + out
    if 0 in shape:
        return jnp.zeros(shape, x.dtype), jnp.zeros(shape, index_dtype())
    if any(k <= 0 for k in kernel):
        # torch's loop over an empty window leaves -inf and the window's (empty) start position.
        strides = [math.prod(spatial[d + 1:]) for d in range(n)]
        flat = functools.reduce(
            jnp.add, [starts[d].reshape(lead + (1,) * d + (out[d],) + (1,) * (n - 1 - d)) * strides[d]
                      for d in range(n)])
        return jnp.full(shape, -jnp.inf, x.dtype), jnp.broadcast_to(flat, shape).astype(index_dtype())
    return _sampled_window_max(x, starts, kernel)


def _int_tuple(value, n: int, name: str, position: int, fn: str, what: str) -> tuple[int, ...]:
    """torch's argument parser for an ``int[n]`` (a bare int is repeated), then its length check."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return (int(value),) * n
    if not isinstance(value, list | tuple):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be tuple of ints, not "
                        f"{type(value).__name__}")
    for j, v in enumerate(value):
        if not isinstance(v, int | np.integer) or isinstance(v, bool):
            raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be tuple of ints, but found "
                            f"element of type {type(v).__name__} at pos {j}")
    if len(value) != n:
        raise RuntimeError(f"{fn}: {name} must either be a single Int or tuple of {what}")
    return tuple(int(v) for v in value)


def _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, n: int):
    fn = f"fractional_max_pool{n}d"
    x = _unwrap(input)
    # The Python part of torch's function: output size from the ratio, samples drawn when missing.
    if output_size is None and output_ratio is None:
        raise ValueError(f"{fn} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        if n == 2 and len(output_ratio) > 2:  # as torch: a bare number has no len() (TypeError) in 2-d
            raise ValueError(f"{fn} requires output_ratio to either be a single Int or tuple of Ints.")
        ratio = (_pair if n == 2 else _triple)(output_ratio)
        output_size = [int(_dim_size(x, d - n) * ratio[d]) for d in range(n)]  # IndexError if ratio is short
    if _random_samples is None:
        batch = 1 if x.ndim == n + 1 else _dim_size(x, 0)
        channels = _dim_size(x, -n - 1)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise NotImplementedError(f'"check_uniform_bounds" not implemented for {x.dtype}')
        samples = jax.random.uniform(_random.next_key(), (batch, channels, n), x.dtype)
    else:
        samples = _random_samples if isinstance(_random_samples, jax.Array) else _unwrap(_random_samples)
        if not isinstance(samples, jax.Array | np.ndarray):
            raise TypeError(f"{fn}(): argument 'random_samples' (position 4) must be Tensor, not "
                            f"{type(_random_samples).__name__}")
        samples = jnp.asarray(samples)
    # torch's C++ checks, in its order.
    what = "Ints" if n == 2 else "three Ints"
    kernel = _int_tuple(kernel_size, n, "kernel_size", 2, fn, what)
    out = _int_tuple(output_size, n, "output_size", 3, fn, what)
    prefix = fn if n == 2 else f"{fn}_out"
    if x.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{prefix}(): Expected {n + 1}D or {n + 2}D tensor, but got: {list(x.shape)}")
    for d in range(1, x.ndim):
        if x.shape[d] == 0:
            raise RuntimeError(f"{prefix}(): Expected input to have non-zero size for non-batch dimensions, but "
                               f"got{list(x.shape)} with dimension {d} being empty.")
    spatial = x.shape[-n:]
    names = ("height", "width") if n == 2 else ("time", "height", "width")
    for d in range(n) if n == 2 else (0, 2, 1):  # 3-d checks time, width, height
        k, o, size = kernel[d], out[d], spatial[d]
        fits = o + k - 1 <= size if n == 2 else k <= size and o + k - 1 < size
        if not fits:
            raise RuntimeError(f"{prefix}(): pool {names[d]} {k} too large relative to input {names[d]} {size}")
    if any(o < 0 for o in out):
        shape = list(x.shape[:-n]) + list(out)
        raise RuntimeError(f"Trying to create tensor with negative dimension {next(o for o in out if o < 0)}: "
                           f"{shape}")
    if samples.dtype != x.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if samples.ndim != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.ndim}")
    batched = x.ndim == n + 2
    batch, channels = (x.shape[0], x.shape[1]) if batched else (1, x.shape[0])
    if samples.shape[0] < batch:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.shape[1] != channels:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.shape[2] != n:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {n}; got {samples.shape[2]}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise NotImplementedError(f'"{fn}_out_frame" not implemented for {x.dtype}')
    samples = samples[:batch] if batched else samples[0]
    return _fractional_max_pool_kernel(x, samples, kernel=kernel, out=out)


def _dim_size(x, dim: int) -> int:
    """``x.size(dim)`` with torch's IndexError for a dim out of range."""
    if not -x.ndim <= dim < max(x.ndim, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(x.ndim, 1)}, "
                         f"{max(x.ndim, 1) - 1}], but got {dim})")
    return x.shape[dim]


def _fractional_doc(n: int) -> str:
    dims = "H, W" if n == 2 else "T, H, W"
    order = "``(W, H)``" if n == 2 else "``(T, H, W)``"
    return rf"""{n}-D fractional max pooling (Graham, 2014) over ``(N, C, {dims})`` or ``(C, {dims})``.

    Windows of ``kernel_size`` start at pseudo-random positions: along a dim of size :math:`L`
    pooled to :math:`L_{{out}}` with sample :math:`u \in [0, 1)`, :math:`\alpha = (L - k) / (L_{{out}} - 1)`
    and window :math:`i < L_{{out}} - 1` starts at :math:`\lfloor (i + u)\alpha \rfloor - \lfloor u\alpha \rfloor`,
    the last at :math:`L - k` (computed in the input's dtype, as torch does).

    Arguments:
        kernel_size: window size (an int or a {n}-tuple).
        output_size: the output's spatial size (an int or a {n}-tuple); or
        output_ratio: the output size as a fraction of the input size, a {n}-tuple (or, as in
            torch, a number only for the 3-d function).
        return_indices: also return each maximum's flat index in its input plane (first maximum
            on ties, the last NaN wins), for :func:`max_unpool{n}d`.
        _random_samples: ``(N, C, {n})`` samples in the input's dtype, per plane in the order {order}
            (unbatched inputs use row 0); drawn uniformly from the torchjax default generator when
            None, so ``torchjax.manual_seed`` reproduces them and a compiled step draws new ones.

    Differs from torch: the samples come from torchjax's generator (same distribution, different
    stream); indices are int32 unless ``jax_enable_x64`` is on (torch: int64).
    """


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    out = _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)
    return out if return_indices else out[0]


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                                       _random_samples=None):
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    out = _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)
    return out if return_indices else out[0]


for _n, _fns in ((2, (fractional_max_pool2d, fractional_max_pool2d_with_indices)),
                 (3, (fractional_max_pool3d, fractional_max_pool3d_with_indices))):
    for _fn in _fns:
        _fn.__doc__ = _fractional_doc(_n)
del _n, _fns, _fn

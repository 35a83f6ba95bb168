"""torch's numerical calculus and statistics: ``trapezoid``/``trapz``/``cumulative_trapezoid``, ``gradient``,
``cov``, ``corrcoef``, ``histogram``, ``histogramdd``.

Integer inputs compute in the default float dtype, as torch's do. ``histogram``'s bin count is static (an int or
the given edges), so it runs under ``torchjax.compile`` too.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import _promotion
from .._tensor import _dtype_name, canonical_dim, op, return_type
from .._warnings import warn


def _floating(x):
    """``x`` in the default float dtype when it is bool or integer."""
    return x.astype(_promotion.get_default_dtype()) if _promotion.category(x.dtype) < 2 else x


# --- integration ----------------------------------------------------------------------------------
def _spacing(name: str, y, x, dx, axis: int):
    """The sample spacing along ``axis``: ``dx`` (a number) or the differences of ``x`` (broadcast against
    the ``n - 1`` intervals of ``y``)."""
    if x is not None and dx is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got both x and dx")
    if x is None:
        return 1 if dx is None else dx
    if x.ndim == 1:
        if x.shape[0] != y.shape[axis]:
            raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
        return jnp.diff(x).reshape((-1,) + (1,) * (y.ndim - 1 - axis))
    return jnp.diff(x, axis=axis - y.ndim + x.ndim if x.ndim < y.ndim else axis)


def _intervals(name: str, y, x, dx, dim: int):
    axis = canonical_dim(dim, y.ndim)
    y = _floating(y)
    spacing = _spacing(name, y, None if x is None else _floating(x), dx, axis)
    left = jnp.take(y, jnp.arange(y.shape[axis] - 1), axis=axis)
    right = jnp.take(y, jnp.arange(1, y.shape[axis]), axis=axis)
    return (left + right) * spacing / 2, axis


@op(method=False)
def trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """The trapezoid rule along ``dim``: samples ``x`` (1-D, or shaped like ``y``) or a constant spacing ``dx``
    (default 1)."""
    areas, axis = _intervals("trapezoid", y, x, dx, dim)
    return jnp.sum(areas, axis=axis)


@op(method=False)
def trapz(y, x=None, *, dx=None, dim: int = -1):
    """``torch.trapz``: :func:`trapezoid`."""
    areas, axis = _intervals("trapz", y, x, dx, dim)
    return jnp.sum(areas, axis=axis)


@op(method=False)
def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """The running trapezoid rule along ``dim`` (one fewer element than ``y`` there)."""
    areas, axis = _intervals("cumulative_trapezoid", y, x, dx, dim)
    return jnp.cumsum(areas, axis=axis)


# --- differentiation ------------------------------------------------------------------------------
@functools.partial(jax.jit, static_argnames=("axis", "edge_order"))
def _gradient_along(f, axis: int, spacing, edge_order: int):
    """numpy's second-order accurate central differences along ``axis`` (``spacing``: a number or the 1-D
    coordinates), with one-sided differences of ``edge_order`` at the ends."""
    f = jnp.moveaxis(f, axis, -1)
    if spacing.ndim == 0:
        h = spacing.astype(f.dtype)
        interior = (f[..., 2:] - f[..., :-2]) / (2 * h)
        if edge_order == 1:
            first, last = (f[..., 1] - f[..., 0]) / h, (f[..., -1] - f[..., -2]) / h
        else:
            first = (-1.5 * f[..., 0] + 2 * f[..., 1] - 0.5 * f[..., 2]) / h
            last = (0.5 * f[..., -3] - 2 * f[..., -2] + 1.5 * f[..., -1]) / h
    else:
        dx = jnp.diff(spacing.astype(f.dtype))
        dx1, dx2 = dx[:-1], dx[1:]
        a = -dx2 / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        interior = a * f[..., :-2] + b * f[..., 1:-1] + c * f[..., 2:]
        if edge_order == 1:
            first, last = (f[..., 1] - f[..., 0]) / dx[0], (f[..., -1] - f[..., -2]) / dx[-1]
        else:
            d1, d2 = dx[0], dx[1]
            first = (-(2 * d1 + d2) / (d1 * (d1 + d2)) * f[..., 0] + (d1 + d2) / (d1 * d2) * f[..., 1]
                     - d1 / (d2 * (d1 + d2)) * f[..., 2])
            d1, d2 = dx[-2], dx[-1]
            last = (d2 / (d1 * (d1 + d2)) * f[..., -3] - (d2 + d1) / (d1 * d2) * f[..., -2]
                    + (2 * d2 + d1) / (d2 * (d1 + d2)) * f[..., -1])
    out = jnp.concatenate([first[..., None], interior, last[..., None]], axis=-1)
    return jnp.moveaxis(out, -1, axis)


@op(method=False)
def gradient(input, *, spacing=1, dim=None, edge_order: int = 1):
    """The derivative estimate along each of ``dim`` (default: every dimension), one tensor per dimension:
    central differences inside, one-sided ones of ``edge_order`` (1 or 2) at the ends. ``spacing``: a number,
    one number per dimension, or one 1-D coordinate tensor per dimension."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = tuple(range(input.ndim)) if dim is None else (tuple(dim) if isinstance(dim, list | tuple) else (dim,))
    axes = [canonical_dim(d, input.ndim) for d in dims]
    spacings = list(spacing) if isinstance(spacing, list | tuple) else [spacing] * len(axes)
    if len(spacings) != len(axes):
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                           f"arguments to have the same length, but got a spacing argument of length {len(spacings)} "
                           f"and a dim argument of length {len(axes)}.")
    f = _floating(input)
    for axis in axes:
        if input.shape[axis] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    return tuple(_gradient_along(f, axis, jnp.asarray(s), edge_order) for axis, s in zip(axes, spacings, strict=True))


# --- covariance -----------------------------------------------------------------------------------
@op(method=True)
def cov(input, *, correction: int = 1, fweights=None, aweights=None):
    """The covariance of the variables in the rows of ``input`` (1-D: one variable), observations in columns;
    ``fweights`` (integer) and ``aweights`` weigh the observations; ``correction``: Bessel's (1) or none (0)."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = _floating(input.reshape(1, -1) if input.ndim < 2 else input)
    observations = x.shape[1]
    weights = None
    if fweights is not None:
        if _promotion.category(fweights.dtype) != 1:
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                               f"{_dtype_name(fweights.dtype)} dtype")
        weights = fweights.astype(x.dtype)
    if aweights is not None:
        if _promotion.category(aweights.dtype) != 2:
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{_dtype_name(aweights.dtype)} dtype")
        weights = aweights.astype(x.dtype) if weights is None else weights * aweights
    if weights is None:
        mean = jnp.mean(x, axis=1, keepdims=True)
        dof = observations - correction
        total = None
    else:
        total = jnp.sum(weights)
        mean = jnp.sum(x * weights, axis=1, keepdims=True) / total
        if correction == 0:
            dof = total
        elif aweights is None:
            dof = total - correction
        else:
            dof = total - correction * jnp.sum(weights * aweights) / total
    if isinstance(dof, int | float) and dof <= 0:
        warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of observations.")
    dof = jnp.maximum(dof, 0)
    centered = x - mean
    weighted = centered if weights is None else centered * weights
    out = weighted @ jnp.conj(centered).T / dof
    return out.reshape(()) if input.ndim < 2 else out


@op(method=True)
def corrcoef(input):
    """Pearson's correlation coefficients of the variables in the rows of ``input`` (clipped to [-1, 1])."""
    c = cov.__wrapped_array_fn__(input)
    if c.ndim == 0:
        return c / c
    d = jnp.diagonal(c)
    std = jnp.sqrt(d.real if jnp.iscomplexobj(d) else d)
    c = c / std[:, None] / std[None, :]
    if jnp.iscomplexobj(c):
        return jnp.clip(c.real, -1, 1) + 1j * jnp.clip(c.imag, -1, 1)
    return jnp.clip(c, -1, 1)


# --- histograms -----------------------------------------------------------------------------------
_Histogram = return_type("histogram", ("hist", "bin_edges"))
_HistogramDD = return_type("histogramdd", ("hist", "bin_edges"))


def _check_histogram_dtype(input, weight) -> None:
    if _promotion.category(input.dtype) != 2:
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_dtype_name(input.dtype)}'")
    if weight is not None and weight.dtype != input.dtype:
        raise RuntimeError("torch.histogramdd: if weight tensor is provided, it should have the same dtype as the "
                           "input tensor.")


@functools.partial(jax.jit, static_argnums=1)
def _edges(values, bins: int, lo_hi):
    """``bins + 1`` equal-width edges over ``lo_hi`` (default: the data's range, widened by 0.5 when empty)."""
    if lo_hi is None:
        lo, hi = jnp.min(values), jnp.max(values)
    else:
        lo, hi = jnp.asarray(lo_hi[0], values.dtype), jnp.asarray(lo_hi[1], values.dtype)
    equal = lo == hi
    lo, hi = jnp.where(equal, lo - 0.5, lo), jnp.where(equal, hi + 0.5, hi)
    return jnp.linspace(lo, hi, bins + 1).astype(values.dtype)


@functools.partial(jax.jit, static_argnums=3)
def _histogram_dd(points, edges: list, weight, density: bool):
    """Counts (or summed weights) of the points ``(N, D)`` in the bins the per-dimension ``edges`` make; the last
    bin of each dimension includes its right edge, points outside are dropped."""
    shape = tuple(e.shape[0] - 1 for e in edges)
    flat = jnp.zeros((), jnp.int32)
    inside = jnp.ones(points.shape[0], bool)
    for d, e in enumerate(edges):
        v = points[:, d]
        index = jnp.searchsorted(e, v, side="right") - 1
        index = jnp.where(v == e[-1], shape[d] - 1, index)
        inside &= (v >= e[0]) & (v <= e[-1])
        flat = flat * shape[d] + jnp.clip(index, 0, shape[d] - 1)
    w = jnp.ones(points.shape[0], points.dtype) if weight is None else weight.reshape(-1)
    counts = jnp.zeros(int(np.prod(shape)), points.dtype).at[flat].add(jnp.where(inside, w, 0)).reshape(shape)
    if density:
        volume = jnp.ones(shape, points.dtype)
        for d, e in enumerate(edges):
            volume = volume * jnp.diff(e).reshape((-1,) + (1,) * (len(shape) - d - 1))
        counts = counts / (jnp.sum(counts) * volume)
    return counts


@op(method=True)
def histogram(input, bins, *, range=None, weight=None, density: bool = False):  # noqa: A002 - torch's name
    """``(hist, bin_edges)`` of the values of ``input``: ``bins`` equal bins over ``range`` (default: the data's
    min and max), or the given edges; ``weight`` sums weights instead of counting; ``density`` normalizes to a
    density."""
    _check_histogram_dtype(input, weight)
    values = input.reshape(-1, 1)
    edges = bins.astype(input.dtype) if hasattr(bins, "ndim") else _edges(values, int(bins), range)
    hist = _histogram_dd(values, [edges], weight, density)
    return _Histogram(hist, edges)


@op(method=False)
def histogramdd(input, bins, *, range=None, weight=None, density: bool = False):  # noqa: A002 - torch's name
    """The D-dimensional histogram of the points in the last dimension of ``input`` (``(..., D)``): ``bins`` an int
    or one int or edge tensor per dimension, ``range`` a flat ``[min_0, max_0, min_1, ...]``; returns
    ``(hist, bin_edges)`` with one edge tensor per dimension."""
    _check_histogram_dtype(input, weight)
    points = input.reshape(-1, input.shape[-1])
    dims = points.shape[1]
    per_dim = list(bins) if isinstance(bins, list | tuple) else [bins] * dims
    if len(per_dim) != dims:
        raise RuntimeError(f"torch.histogramdd: expected {dims} sequences of bin edges for each of the {dims} "
                           f"dimensions of the input, but got {len(per_dim)}")
    edges = []
    for d, b in enumerate(per_dim):
        lo_hi = None if range is None else (range[2 * d], range[2 * d + 1])
        edges.append(b.astype(input.dtype) if hasattr(b, "ndim") else _edges(points[:, d], int(b), lo_hi))
    return _HistogramDD(_histogram_dd(points, edges, weight, density), tuple(edges))

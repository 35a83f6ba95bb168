"""torch's reductions, scans and sorting: ``sum``, ``mean``, ``max``, ``std``, ``cumsum``, ``sort``, ``topk``, ...

``dim`` is an int, a sequence of ints or None (all dimensions; an empty sequence also means all, as in torch).
Index results are torch's int64, which is int32 here (JAX without x64). Sorting is always stable, so equal
values keep their input order; NaN sorts as the largest value, as in torch. ``unique``, ``unique_consecutive``
and ``bincount`` have data-dependent output shapes and so work eagerly only.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .. import _promotion
from .._device import as_dtype, check_dtype_supported, get_default_dtype
from .._tensor import _dtype_name, canonical_dim, op, return_type

__all__ = [
    "sum", "nansum", "mean", "nanmean", "prod", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin",
    "std", "var", "std_mean", "var_mean", "norm", "logsumexp", "cumsum", "cumprod", "cummax", "cummin",
    "logcumsumexp", "all", "any", "count_nonzero", "median", "nanmedian", "mode", "quantile", "nanquantile",
    "topk", "sort", "argsort", "msort", "kthvalue", "unique", "unique_consecutive", "bincount", "histc", "diff",
]

_LONG = _promotion.long_dtype()

_Max = return_type("max", ("values", "indices"))
_Min = return_type("min", ("values", "indices"))
_AMinMax = return_type("aminmax", ("min", "max"))
_CumMax = return_type("cummax", ("values", "indices"))
_CumMin = return_type("cummin", ("values", "indices"))
_Median = return_type("median", ("values", "indices"))
_NanMedian = return_type("nanmedian", ("values", "indices"))
_Mode = return_type("mode", ("values", "indices"))
_TopK = return_type("topk", ("values", "indices"))
_Sort = return_type("sort", ("values", "indices"))
_KthValue = return_type("kthvalue", ("values", "indices"))


# --- argument helpers -----------------------------------------------------------------------------
def _axes(dim, ndim: int) -> tuple[int, ...]:
    """``dim`` as a tuple of distinct non-negative axes (None or empty: all); torch's errors."""
    if dim is None or (isinstance(dim, list | tuple) and len(dim) == 0):
        return tuple(range(ndim))
    dims = dim if isinstance(dim, list | tuple) else (dim,)
    axes = []
    for d in dims:
        a = canonical_dim(d, ndim)
        if a in axes:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
        axes.append(a)
    return tuple(axes) if ndim else ()


def _dtype_arg(dtype, where: str):
    if dtype is None:
        return None
    return check_dtype_supported(as_dtype(dtype), where)


def _integer_to_long(input, dtype, where: str):
    """The accumulation dtype of sum/prod/cumsum: ``dtype``, else int64 for bool and integer input."""
    dtype = _dtype_arg(dtype, where)
    if dtype is not None:
        return dtype
    return _LONG if _promotion.category(input.dtype) < 2 else np.dtype(input.dtype)


def _require_floating(input, message: str) -> None:
    if _promotion.category(input.dtype) < 2:
        raise RuntimeError(message)


def _is_inexact(dtype) -> bool:
    return _promotion.category(dtype) >= 2


def _is_tracer(*values) -> bool:
    return builtins.any(isinstance(v, jax.core.Tracer) for v in values)


def _eager(name: str, *values) -> None:
    if _is_tracer(*values):
        raise RuntimeError(f"{name}: the output shape depends on the values, so it cannot run under jax.jit / "
                           "torchjax.compile (call it eagerly)")


def _check_nonempty(input, axes, name: str, whole: bool) -> None:
    """torch's errors for a reduction without identity (max, argmax, ...) over no elements."""
    if input.size:
        return
    if whole:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           "reduction dim with the 'dim' argument.")
    for a in axes:
        if input.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")


def _take(values, index, axis: int):
    return jnp.take_along_axis(values, index, axis=axis)


def _jit(*static):
    """``jax.jit`` with static arguments: eager calls run one compiled program instead of op by op."""
    return functools.partial(jax.jit, static_argnums=static)


@_jit(1, 2)
def _argsort(x, axis: int, descending: bool):
    """Stable argsort; descending keeps equal values in input order and puts NaN first (as torch)."""
    if not descending:
        return jnp.argsort(x, axis=axis, stable=True)
    n = x.shape[axis]
    order = jnp.argsort(jnp.flip(x, axis), axis=axis, stable=True)
    return jnp.flip(n - 1 - order, axis).astype(order.dtype)


def _zero_index(input):
    return jnp.zeros(input.shape, _LONG)


# --- sums and means -------------------------------------------------------------------------------
@op()
def sum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """``torch.sum``: bool and integer input sum to int64 unless ``dtype`` is given."""
    dtype = _integer_to_long(input, dtype, "sum")
    return jnp.sum(input.astype(dtype), axis=_axes(dim, input.ndim), keepdims=keepdim)


@op()
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None):
    """``torch.nansum``: ``sum`` treating NaN as zero."""
    dtype = _integer_to_long(input, dtype, "nansum")
    x = input.astype(dtype)
    if _is_inexact(dtype):
        x = jnp.where(jnp.isnan(x), jnp.zeros((), dtype), x)
    return jnp.sum(x, axis=_axes(dim, input.ndim), keepdims=keepdim)


@op()
def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """``torch.mean``: floating or complex input (or an explicit ``dtype``)."""
    dtype = _dtype_arg(dtype, "mean")
    if dtype is None and not _is_inexact(input.dtype):
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {_dtype_name(input.dtype)}")
    x = input if dtype is None else input.astype(dtype)
    return jnp.mean(x, axis=_axes(dim, input.ndim), keepdims=keepdim)


@op()
def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """``torch.nanmean``: the mean of the non-NaN values."""
    dtype = _dtype_arg(dtype, "nanmean")
    x = input if dtype is None else input.astype(dtype)
    if not _is_inexact(x.dtype):
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_dtype_name(x.dtype)}")
    axes = _axes(dim, x.ndim)
    keep = ~jnp.isnan(x)
    total = jnp.sum(jnp.where(keep, x, jnp.zeros((), x.dtype)), axis=axes, keepdims=keepdim)
    return total / jnp.sum(keep, axis=axes, keepdims=keepdim).astype(total.dtype)


@op()
def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    """``torch.prod`` over all elements or one ``dim`` (an int, as in torch)."""
    if isinstance(dim, list | tuple):
        raise TypeError("prod(): argument 'dim' must be int, not tuple")
    dtype = _integer_to_long(input, dtype, "prod")
    return jnp.prod(input.astype(dtype), axis=_axes(dim, input.ndim), keepdims=keepdim)


# --- max and min ----------------------------------------------------------------------------------
def _extreme(input, dim, keepdim, other, name, result, reduce_fn, arg_fn, pair_fn):
    if isinstance(dim, jax.Array | np.ndarray):  # max(input, other): elementwise
        dim, other = None, dim
    if other is not None:
        dtype = _promotion.result_type(input, other)
        return pair_fn(input.astype(dtype), jnp.asarray(other).astype(dtype))
    if dim is None:
        _check_nonempty(input, (), name, whole=True)
        return reduce_fn(input)
    axis = canonical_dim(dim, input.ndim)
    if input.ndim == 0:
        return result(input, _zero_index(input))
    _check_nonempty(input, (axis,), name, whole=False)
    return result(*_extreme_along(input, axis, keepdim, arg_fn))


@_jit(1, 2, 3)
def _extreme_along(input, axis, keepdim, arg_fn):
    index = arg_fn(input, axis=axis, keepdims=True)  # the first occurrence, as torch
    values = _take(input, index, axis)
    if not keepdim:
        values, index = jnp.squeeze(values, axis), jnp.squeeze(index, axis)
    return values, index.astype(_LONG)


@op()
def max(input, dim=None, keepdim: bool = False, *, other=None):
    """``torch.max``: the maximum (no dim), ``(values, indices)`` along ``dim``, or elementwise with a tensor."""
    return _extreme(input, dim, keepdim, other, "max", _Max, jnp.max, jnp.argmax, jnp.maximum)


@op()
def min(input, dim=None, keepdim: bool = False, *, other=None):
    """``torch.min``: the minimum (no dim), ``(values, indices)`` along ``dim``, or elementwise with a tensor."""
    return _extreme(input, dim, keepdim, other, "min", _Min, jnp.min, jnp.argmin, jnp.minimum)


def _amax_amin(input, dim, keepdim, name, fn):
    axes = _axes(dim, input.ndim)
    _check_nonempty(input, axes, name, whole=dim is None or (isinstance(dim, list | tuple) and not dim))
    return fn(input, axis=axes, keepdims=keepdim)


@op()
def amax(input, dim=(), keepdim: bool = False):
    """``torch.amax``: the maximum over ``dim`` (gradient shared evenly among ties)."""
    return _amax_amin(input, dim, keepdim, "amax", jnp.max)


@op()
def amin(input, dim=(), keepdim: bool = False):
    """``torch.amin``: the minimum over ``dim`` (gradient shared evenly among ties)."""
    return _amax_amin(input, dim, keepdim, "amin", jnp.min)


@op()
def aminmax(input, *, dim=None, keepdim: bool = False):
    """``torch.aminmax``: ``(min, max)`` over all elements or along ``dim``."""
    axes = _axes(dim, input.ndim)
    if input.size == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    return _AMinMax(jnp.min(input, axis=axes, keepdims=keepdim), jnp.max(input, axis=axes, keepdims=keepdim))


def _arg_extreme(input, dim, keepdim, name, fn):
    if input.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if input.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        index = fn(input.reshape(-1))
        return (index.reshape((1,) * input.ndim) if keepdim else index).astype(_LONG)
    axis = canonical_dim(dim, input.ndim)
    if input.ndim == 0:
        return _zero_index(input)
    _check_nonempty(input, (axis,), name, whole=False)
    return fn(input, axis=axis, keepdims=keepdim).astype(_LONG)


@op()
def argmax(input, dim=None, keepdim: bool = False):
    """``torch.argmax``: the index of the first maximum (of the flattened input when ``dim`` is None)."""
    return _arg_extreme(input, dim, keepdim, "argmax", jnp.argmax)


@op()
def argmin(input, dim=None, keepdim: bool = False):
    """``torch.argmin``: the index of the first minimum (of the flattened input when ``dim`` is None)."""
    return _arg_extreme(input, dim, keepdim, "argmin", jnp.argmin)


# --- variance and norms ---------------------------------------------------------------------------
def _correction(dim, unbiased, correction):
    if isinstance(dim, builtins.bool):  # the legacy std(input, unbiased) overload
        if unbiased is not None:
            raise TypeError("std/var(): got both a positional unbiased and unbiased=")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError("std/var(): received an invalid combination of arguments: unbiased= and correction= "
                        "cannot both be given")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


def _var(input, dim, unbiased, keepdim, correction):
    _require_floating(input, "std and var only support floating point and complex dtypes")
    dim, correction = _correction(dim, unbiased, correction)
    axes = _axes(dim, input.ndim)
    return _var_core(input, axes, correction, keepdim), axes


@_jit(1, 2, 3)
def _var_core(input, axes, correction, keepdim):
    n = math.prod(input.shape[a] for a in axes)
    centered = input - jnp.mean(input, axis=axes, keepdims=True)
    squares = jnp.real(centered * jnp.conj(centered)) if jnp.iscomplexobj(centered) else centered * centered
    # torch divides by max(0, N - correction): too few elements give inf or nan, never a negative variance.
    return jnp.sum(squares, axis=axes, keepdims=keepdim) / builtins.max(0, n - correction)


@op()
def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``torch.var``: ``correction=`` (default 1) or the legacy ``unbiased`` (positional or keyword)."""
    return _var(input, dim, unbiased, keepdim, correction)[0]


@op()
def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``torch.std``: ``correction=`` (default 1) or the legacy ``unbiased`` (positional or keyword)."""
    return jnp.sqrt(_var(input, dim, unbiased, keepdim, correction)[0])


@op()
def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``torch.var_mean``: ``(var, mean)``."""
    variance, axes = _var(input, dim, unbiased, keepdim, correction)
    return variance, jnp.mean(input, axis=axes, keepdims=keepdim)


@op()
def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``torch.std_mean``: ``(std, mean)``."""
    variance, axes = _var(input, dim, unbiased, keepdim, correction)
    return jnp.sqrt(variance), jnp.mean(input, axis=axes, keepdims=keepdim)


def _safe_root(total, p):
    # d(s ** (1/p)) is infinite at s == 0; torch's subgradient there is 0.
    zero = total == 0
    return jnp.where(zero, jnp.zeros((), total.dtype), jnp.where(zero, jnp.ones((), total.dtype), total) ** (1 / p))


@op()
def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """``torch.norm``: the vector p-norm over ``dim`` (``'fro'``: 2-norm, inf, -inf, 0), or ``'nuc'``."""
    dtype = _dtype_arg(dtype, "norm")
    x = input if dtype is None else input.astype(dtype)
    if not _is_inexact(x.dtype):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_dtype_name(x.dtype)}")
    if isinstance(dim, builtins.int):
        dim = (dim,)
    if p == "nuc":
        axes = _axes(dim, x.ndim) if dim is not None else tuple(range(x.ndim))
        if len(axes) != 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {', '.join(map(str, axes))}")
        moved = jnp.moveaxis(x, axes, (-2, -1))
        out = jnp.sum(jnp.linalg.svd(moved, compute_uv=False), axis=-1)
        if keepdim:
            out = jnp.expand_dims(out, tuple(sorted(axes)))
        return out
    if p == "fro":
        p = 2
    if isinstance(p, str):
        raise RuntimeError(f"norm(): unsupported norm type {p!r}")
    axes = _axes(dim, x.ndim)
    magnitude = jnp.abs(x)
    if p == math.inf:
        return jnp.max(magnitude, axis=axes, keepdims=keepdim)
    if p == -math.inf:
        return jnp.min(magnitude, axis=axes, keepdims=keepdim)
    if p == 0:
        return jnp.sum(magnitude != 0, axis=axes, keepdims=keepdim).astype(magnitude.dtype)
    if p == 2:
        squares = jnp.real(x * jnp.conj(x)) if jnp.iscomplexobj(x) else x * x
        return _safe_root(jnp.sum(squares, axis=axes, keepdims=keepdim), 2)
    total = jnp.sum(magnitude ** p, axis=axes, keepdims=keepdim)
    return _safe_root(total, p) if p > 0 else total ** (1 / p)


@op()
def logsumexp(input, dim, keepdim: bool = False):
    """``torch.logsumexp``: bool and integer input compute in the default float dtype."""
    x = input if _is_inexact(input.dtype) else input.astype(get_default_dtype())
    return jax.nn.logsumexp(x, axis=_axes(dim, x.ndim), keepdims=keepdim)


# --- scans ----------------------------------------------------------------------------------------
def _scan(input, dim, dtype, where, fn):
    dtype = _integer_to_long(input, dtype, where)
    axis = canonical_dim(dim, input.ndim)
    x = input.astype(dtype)
    return x if x.ndim == 0 else fn(x, axis=axis)


@op(inplace=True)
def cumsum(input, dim, *, dtype=None):
    """``torch.cumsum``: bool and integer input accumulate in int64 unless ``dtype`` is given."""
    return _scan(input, dim, dtype, "cumsum", jnp.cumsum)


@op(inplace=True)
def cumprod(input, dim, *, dtype=None):
    """``torch.cumprod``: bool and integer input accumulate in int64 unless ``dtype`` is given."""
    return _scan(input, dim, dtype, "cumprod", jnp.cumprod)


def _cum_extreme(input, dim, better, result):
    axis = canonical_dim(dim, input.ndim)
    if input.ndim == 0:
        return result(input, _zero_index(input))
    return result(*_cum_extreme_core(input, axis, better))


@_jit(1, 2)
def _cum_extreme_core(input, axis, better):
    index = lax.broadcasted_iota(_LONG, input.shape, axis)
    inexact = _is_inexact(input.dtype)

    def combine(left, right):
        # torch moves to a later element when it ties the running extreme or is NaN (NaN then sticks):
        # the last index of the extreme. This rule is associative, so a parallel scan computes it.
        (lv, li), (rv, ri) = left, right
        take = better(rv, lv)
        if inexact:
            take = take | jnp.isnan(rv)
        return jnp.where(take, rv, lv), jnp.where(take, ri, li)

    return lax.associative_scan(combine, (input, index), axis=axis)


@op()
def cummax(input, dim):
    """``torch.cummax``: running ``(values, indices)``; a tie moves the index to the later element."""
    return _cum_extreme(input, dim, jnp.greater_equal, _CumMax)


@op()
def cummin(input, dim):
    """``torch.cummin``: running ``(values, indices)``; a tie moves the index to the later element."""
    return _cum_extreme(input, dim, jnp.less_equal, _CumMin)


@op()
def logcumsumexp(input, dim):
    """``torch.logcumsumexp`` (floating input)."""
    if not _is_inexact(input.dtype):
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{_dtype_name(input.dtype)}'")
    axis = canonical_dim(dim, input.ndim)
    return input if input.ndim == 0 else lax.cumlogsumexp(input, axis=axis)


# --- logical reductions ---------------------------------------------------------------------------
def _logical(input, dim, keepdim, fn):
    out = fn(input, axis=_axes(dim, input.ndim), keepdims=keepdim)
    # torch keeps uint8 for uint8 input (the pre-bool convention); everything else gives bool.
    return out.astype(np.uint8) if input.dtype == np.uint8 else out


@op()
def all(input, dim=None, keepdim: bool = False):
    """``torch.all``: whether every element is nonzero (bool; uint8 for uint8 input)."""
    return _logical(input, dim, keepdim, jnp.all)


@op()
def any(input, dim=None, keepdim: bool = False):
    """``torch.any``: whether some element is nonzero (bool; uint8 for uint8 input)."""
    return _logical(input, dim, keepdim, jnp.any)


@op()
def count_nonzero(input, dim=None):
    """``torch.count_nonzero`` over all elements or ``dim`` (int or tuple)."""
    return jnp.sum(input != 0, axis=_axes(dim, input.ndim)).astype(_LONG)


# --- order statistics -----------------------------------------------------------------------------
def _along(input, dim):
    """(array, axis) for an order statistic: the flattened input for dim None, 0-d made 1-d."""
    if dim is None:
        return input.reshape(-1), 0
    axis = canonical_dim(dim, input.ndim)
    return (input.reshape(1), 0) if input.ndim == 0 else (input, axis)


def _median(input, dim, keepdim, ignore_nan, result):
    x, axis = _along(input, dim)
    n = x.shape[axis]
    if n == 0:
        if dim is None:
            return jnp.full((), jnp.nan, input.dtype)
        raise IndexError(f"median(): Expected reduction dim {axis} to have non-zero size.")
    values, indices = _median_core(x, axis, ignore_nan)
    if dim is None:
        return values.reshape(())
    if not keepdim or input.ndim == 0:
        values, indices = jnp.squeeze(values, axis), jnp.squeeze(indices, axis)
    return result(values, indices.astype(_LONG))


@_jit(1, 2)
def _median_core(x, axis, ignore_nan):
    n = x.shape[axis]
    order = jnp.argsort(x, axis=axis, stable=True)  # NaN last
    ordered = _take(x, order, axis)
    if _is_inexact(x.dtype):
        nans = jnp.sum(jnp.isnan(x), axis=axis, keepdims=True)
        # median: NaN when there is one (the first NaN's index); nanmedian: the lower median of the rest.
        k = jnp.maximum((n - nans - 1) // 2, 0) if ignore_nan else jnp.where(nans > 0, n - nans, (n - 1) // 2)
    else:
        k = jnp.full(x.shape[:axis] + (1,) + x.shape[axis + 1:], (n - 1) // 2)
    return _take(ordered, k, axis), _take(order, k, axis)


@op()
def median(input, dim=None, keepdim: bool = False):
    """``torch.median``: the lower median (no dim), or ``(values, indices)`` along ``dim``; NaN propagates."""
    return _median(input, dim, keepdim, False, _Median)


@op()
def nanmedian(input, dim=None, keepdim: bool = False):
    """``torch.nanmedian``: ``median`` ignoring NaN."""
    return _median(input, dim, keepdim, True, _NanMedian)


@op()
def mode(input, dim=-1, keepdim: bool = False):
    """``torch.mode``: the most frequent value (the smallest on ties) and the index of its last occurrence."""
    x, axis = _along(input, dim)
    values, indices = _mode_core(x, axis)
    if keepdim and input.ndim:
        values, indices = jnp.moveaxis(values, -1, axis), jnp.moveaxis(indices, -1, axis)
    else:
        values, indices = values[..., 0], indices[..., 0]
    return _Mode(values, indices.astype(_LONG))


@_jit(1)
def _mode_core(x, axis):
    x = jnp.moveaxis(x, axis, -1)
    n = x.shape[-1]
    order = jnp.argsort(x, axis=-1, stable=True)
    ordered = _take(x, order, -1)
    position = lax.broadcasted_iota(np.int32, ordered.shape, ordered.ndim - 1)
    change = ordered[..., 1:] != ordered[..., :-1]
    edge = jnp.ones(x.shape[:-1] + (1,), bool)
    run_start = lax.cummax(jnp.where(jnp.concatenate([edge, change], -1), position, 0), axis=x.ndim - 1)
    run_end = lax.cummin(jnp.where(jnp.concatenate([change, edge], -1), position, n - 1), axis=x.ndim - 1,
                         reverse=True)
    best = jnp.argmax(run_end - run_start, axis=-1, keepdims=True)  # first longest run: the smallest value
    values = _take(ordered, best, -1)
    return values, _take(order, _take(run_end, best, -1), -1)  # stable: a run's end is its last occurrence


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, name, ignore_nan):
    if not _is_inexact(input.dtype) or jnp.iscomplexobj(input):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest, but "
                           f"got {interpolation}")
    if input.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    scalar_q = _promotion.is_scalar(q)
    if scalar_q:
        if not 0 <= q <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
        qs = jnp.asarray([q], input.dtype)
    else:
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        if not _is_tracer(q) and q.size and not bool(np.all((np.asarray(q) >= 0) & (np.asarray(q) <= 1))):
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        scalar_q = q.ndim == 0
        qs = q.reshape(-1)
    x, axis = _along(input, dim)
    out = jnp.moveaxis(_quantile_core(x, qs, axis, interpolation, ignore_nan), -1, 0)  # (Q, ...)
    if keepdim:
        out = out.reshape((out.shape[0],) + (1,) * input.ndim) if dim is None else (
            jnp.expand_dims(out, axis + 1) if input.ndim else out)
    return out[0] if scalar_q else out


@_jit(2, 3, 4)
def _quantile_core(x, qs, axis, interpolation, ignore_nan):
    ordered = jnp.sort(jnp.moveaxis(x, axis, -1), axis=-1)  # NaN last
    n = ordered.shape[-1]
    nans = jnp.sum(jnp.isnan(ordered), axis=-1, keepdims=True)
    count = n - nans if ignore_nan else jnp.full_like(nans, n)
    rank = qs * (count - 1).astype(qs.dtype)  # (..., Q)
    below = jnp.floor(rank)
    weight = rank - below

    def at(r):
        return _take(ordered, jnp.clip(r, 0, n - 1).astype(np.int32), -1)

    low, high = at(below), at(jnp.ceil(rank))
    if interpolation == "lower":
        out = low
    elif interpolation == "higher":
        out = high
    elif interpolation == "nearest":
        out = at(jnp.round(rank))  # half to even, as torch
    else:
        if interpolation == "midpoint":
            weight = jnp.full_like(weight, 0.5)
        # torch.lerp's two-sided formula (exact at both ends)
        out = jnp.where(weight < 0.5, low + weight * (high - low), high - (high - low) * (1 - weight))
    invalid = count == 0 if ignore_nan else nans > 0
    return jnp.where(invalid, jnp.full((), jnp.nan, out.dtype), out)


@op()
def quantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
    """``torch.quantile``: q a number or a 0-d/1-d tensor (its dimension first); NaN propagates."""
    return _quantile(input, q, dim, keepdim, interpolation, "quantile", False)


@op()
def nanquantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
    """``torch.nanquantile``: ``quantile`` ignoring NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, "nanquantile", True)


# --- sorting --------------------------------------------------------------------------------------
@op()
def sort(input, dim=-1, descending: bool = False, stable: bool = False):
    """``torch.sort``: ``(values, indices)``, always stable."""
    axis = canonical_dim(dim, input.ndim)
    if input.ndim == 0:
        return _Sort(input, _zero_index(input))
    return _Sort(*_sorted(input, axis, descending))


@_jit(1, 2)
def _sorted(input, axis, descending):
    order = _argsort(input, axis, descending)
    return _take(input, order, axis), order.astype(_LONG)


@op()
def argsort(input, dim=-1, descending: bool = False, stable: bool = False):
    """``torch.argsort``: the indices of ``sort``."""
    axis = canonical_dim(dim, input.ndim)
    return _zero_index(input) if input.ndim == 0 else _argsort(input, axis, descending).astype(_LONG)


@op()
def msort(input):
    """``torch.msort``: sorted along the first dimension."""
    return input if input.ndim == 0 else jnp.sort(input, axis=0, stable=True)


@op()
def topk(input, k, dim=-1, largest: bool = True, sorted: bool = True):
    """``torch.topk``: the ``k`` largest (or smallest) ``(values, indices)``, sorted; ties in input order."""
    axis = canonical_dim(dim, input.ndim)
    k = operator.index(k)
    if not 0 <= k <= (input.shape[axis] if input.ndim else 1):
        raise RuntimeError("selected index k out of range")
    if input.ndim == 0:
        return _TopK(input, _zero_index(input))
    return _TopK(*_sorted_slice(input, axis, largest, 0, k))


@_jit(1, 2, 3, 4)
def _sorted_slice(x, axis, descending, start, stop):
    index = lax.slice_in_dim(_argsort(x, axis, descending), start, stop, axis=axis)
    return _take(x, index, axis), index.astype(_LONG)


@op()
def kthvalue(input, k, dim=-1, keepdim: bool = False):
    """``torch.kthvalue``: the ``k``-th smallest ``(values, indices)`` along ``dim``."""
    x, axis = _along(input, dim)
    k = operator.index(k)
    if not 1 <= k <= x.shape[axis]:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    values, index = _sorted_slice(x, axis, False, k - 1, k)
    if not keepdim or input.ndim == 0:
        values, index = jnp.squeeze(values, axis), jnp.squeeze(index, axis)
    return _KthValue(values, index)


# --- eager only: data-dependent shapes ------------------------------------------------------------
def _unique_result(values, inverse, counts, return_inverse, return_counts, dtype):
    out = [jnp.asarray(values, dtype)]
    if return_inverse:
        out.append(jnp.asarray(inverse, _LONG))
    if return_counts:
        out.append(jnp.asarray(counts, _LONG))
    return out[0] if len(out) == 1 else tuple(out)


@op()
def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """``torch.unique`` (always sorted; NaNs stay distinct). Eager only: the output shape depends on the values."""
    _eager("unique", input)
    a = np.asarray(input)
    if dim is None:
        values, inverse, counts = np.unique(a.reshape(-1), return_inverse=True, return_counts=True, equal_nan=False)
        inverse = inverse.reshape(a.shape)
    else:
        axis = canonical_dim(dim, a.ndim)
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=axis)
        inverse = inverse.reshape(-1)
    return _unique_result(values, inverse, counts, return_inverse, return_counts, input.dtype)


@op()
def unique_consecutive(input, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """``torch.unique_consecutive``: one of each run of equal values. Eager only (data-dependent shape)."""
    _eager("unique_consecutive", input)
    a = np.asarray(input)
    axis = 0 if dim is None else canonical_dim(dim, a.ndim)
    rows = a.reshape(-1) if dim is None else np.moveaxis(a, axis, 0)
    flat = rows.reshape(rows.shape[0], -1)
    starts = np.ones(rows.shape[0], bool)
    starts[1:] = np.any(flat[1:] != flat[:-1], axis=1)
    values = rows[starts] if dim is None else np.moveaxis(rows[starts], 0, axis)
    inverse = np.cumsum(starts) - 1
    counts = np.diff(np.append(np.flatnonzero(starts), rows.shape[0]))
    if dim is None:
        inverse = inverse.reshape(a.shape)
    return _unique_result(values, inverse, counts, return_inverse, return_counts, input.dtype)


@op()
def bincount(input, weights=None, minlength: int = 0):
    """``torch.bincount`` of non-negative ints (float weights give float). Eager only (data-dependent length)."""
    _eager("bincount", input, weights)
    if _promotion.category(input.dtype) != 1:
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_dtype_name(input.dtype)}'")
    a = np.asarray(input)
    if a.ndim != 1 or (a.size and a.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is not None and (weights.ndim != 1 or weights.shape[0] != a.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    length = builtins.max(minlength, int(a.max()) + 1 if a.size else 0)
    if weights is None:
        return jnp.bincount(input, length=length).astype(_LONG)
    # torch keeps float32 weights and gives float64 (float32 without x64) for every other weight dtype.
    dtype = np.float32 if weights.dtype == np.float32 else _promotion.canonical(np.float64)
    return jnp.bincount(input, weights.astype(dtype), length=length)


@op()
def histc(input, bins: int = 100, min=0, max=0):
    """``torch.histc``: counts in ``bins`` equal bins over [min, max] (min == max: the data's range)."""
    if not _is_inexact(input.dtype) or jnp.iscomplexobj(input):
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_dtype_name(input.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins} for bins")
    if max < min:
        raise RuntimeError("torch.histc: max must be larger than min")
    low, high = jnp.asarray(min, input.dtype), jnp.asarray(max, input.dtype)
    if min == max and input.size:
        low, high = jnp.min(input), jnp.max(input)
        if not _is_tracer(low) and not (np.isfinite(low) and np.isfinite(high)):
            raise RuntimeError(f"torch.histc: range of [{low}, {high}] is not finite")
    return _histc_core(input, low, high, bins)


@_jit(3)
def _histc_core(input, low, high, bins):
    same = low == high
    low, high = jnp.where(same, low - 1, low), jnp.where(same, high + 1, high)
    x = input.reshape(-1)
    position = jnp.floor((x - low) / (high - low) * bins).astype(np.int32)
    inside = (x >= low) & (x <= high)  # NaN is never inside; x == max goes in the last bin
    return jnp.zeros(bins, input.dtype).at[jnp.clip(position, 0, bins - 1)].add(inside.astype(input.dtype))


@op()
def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):
    """``torch.diff``: the ``n``-th forward difference along ``dim`` (bool: ``!=``), after prepend/append."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    axis = canonical_dim(dim, input.ndim)
    parts = [p for p in (prepend, input, append) if p is not None]
    if builtins.any(p.ndim != input.ndim for p in parts):
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    dtype = _promotion.result_type(*parts)
    try:
        a = jnp.concatenate([p.astype(dtype) for p in parts], axis=axis)
    except (TypeError, ValueError) as e:
        raise RuntimeError(f"diff: prepend/append sizes must match the input's outside dim {dim}: {e}") from None
    for _ in range(n):
        later, earlier = a[(slice(None),) * axis + (slice(1, None),)], a[(slice(None),) * axis + (slice(None, -1),)]
        a = later != earlier if dtype == np.bool_ else later - earlier
    return a


_SEGMENT_REDUCTIONS = {"sum": "sum", "prod": "prod", "mean": "mean", "max": "max", "amax": "max", "min": "min",
                       "amin": "min"}


@op(method=False)
def segment_reduce(data, reduce: str, *, lengths=None, indices=None, offsets=None, axis: int = 0,
                   unsafe: bool = False, initial=None):
    """Reduce consecutive segments of ``data`` along ``axis`` (0): segment ``i`` has ``lengths[i]`` rows (or spans
    ``offsets[i]:offsets[i+1]``). ``reduce``: sum, prod, mean, max/amax, min/amin. An empty segment gives
    ``initial`` if given, else the reduction's identity (sum 0, prod 1, max -inf, min inf, mean NaN); ``initial``
    also joins every non-empty segment (mean: ``(initial + sum) / count``). Only 1-D ``lengths``/``offsets``."""
    if reduce not in _SEGMENT_REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    kind = _SEGMENT_REDUCTIONS[reduce]
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    if (lengths is None) == (offsets is None):
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined")
    if lengths is None:
        offsets = jnp.asarray(offsets)
        if offsets.ndim != 1:
            raise NotImplementedError("torchjax's segment_reduce takes 1-D lengths or offsets")
        lengths = jnp.diff(offsets)
    lengths = jnp.asarray(lengths)
    if lengths.ndim != 1:
        raise NotImplementedError("torchjax's segment_reduce takes 1-D lengths or offsets")
    if canonical_dim(axis, data.ndim) != lengths.ndim - 1:
        raise RuntimeError(f"segment_reduce(): Expected axis to be the last dimension of lengths but got {axis}.")
    if _promotion.category(data.dtype) != 2:
        raise NotImplementedError(f"\"_segment_reduce_cpu\" not implemented for '{_dtype_name(data.dtype)}'")
    if not unsafe and not isinstance(lengths, jax.core.Tracer) and int(jnp.sum(lengths)) != data.shape[0]:
        raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to sum to "
                           "data.size(lengths.dim()-1) when !unsafe.")
    return _segment_reduce(data, lengths, kind, None if initial is None else jnp.asarray(initial, data.dtype))


@functools.partial(jax.jit, static_argnums=2)
def _segment_reduce(data, lengths, kind: str, initial):
    segments = lengths.shape[0]
    ids = jnp.repeat(jnp.arange(segments), lengths, total_repeat_length=data.shape[0])
    if kind in ("sum", "mean"):
        out = jax.ops.segment_sum(data, ids, segments)
    elif kind == "prod":
        out = jax.ops.segment_prod(data, ids, segments)
    else:
        out = (jax.ops.segment_max if kind == "max" else jax.ops.segment_min)(data, ids, segments)
    shape = (segments,) + (1,) * (data.ndim - 1)
    empty = (lengths == 0).reshape(shape)
    if initial is not None:
        joined = {"sum": out + initial, "mean": out + initial, "prod": out * initial,
                  "max": jnp.maximum(out, initial), "min": jnp.minimum(out, initial)}[kind]
        out = jnp.where(empty, initial, joined)
    if kind == "mean":
        count = lengths.reshape(shape).astype(data.dtype)
        out = jnp.where(empty, out if initial is not None else jnp.nan, out / jnp.where(empty, 1, count))
    return out.astype(data.dtype)


@op(method=True, namespace=False)
def sum_to_size(input, *size):
    """``Tensor.sum_to_size``: sum the dims that broadcasting would have expanded, so the result has ``size``
    (which must broadcast to the input's shape)."""
    size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], tuple | list) else tuple(size)
    lead = input.ndim - len(size)
    if lead < 0 or builtins.any(s not in (1, d) for s, d in zip(size, input.shape[lead:], strict=True)):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(input.shape)}}}.")
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size) if s == 1 and input.shape[lead + i] != 1)
    return jnp.sum(input, axis=axes, keepdims=True).reshape(size) if axes else input

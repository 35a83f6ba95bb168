"""torch's indexing functions: ``gather``/``scatter*``, ``index_*``, ``masked_*``, ``take*``, ``put``,
``nonzero``, ``bucketize``/``searchsorted``.

Index tensors are int64 in torch and int32 here (any integer dtype is accepted). JAX clamps or drops
out-of-range indices where torch raises: with concrete indices (eager mode) they are checked and
torch's error is raised; under a trace (``torchjax.compile``, ``jax.jit``) they are not checked.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import _promotion
from .._tensor import _dtype_name, canonical_dim, op

_Tracer = jax.core.Tracer


def _check_integer(index, message: str) -> jax.Array:
    index = jnp.asarray(index)
    if _promotion.category(index.dtype) != 1:
        raise RuntimeError(message.format(dtype=_dtype_name(index.dtype)))
    return index


def _check_range(index, size: int, message: str, error: type = RuntimeError, negative: bool = False) -> None:
    """Raise ``error(message)`` for a concrete index outside ``[0, size)`` (``[-size, size)`` with ``negative``)."""
    if isinstance(index, _Tracer) or index.size == 0:
        return
    values = np.asarray(index)
    bad = values[(values < (-size if negative else 0)) | (values >= size)]
    if bad.size:
        raise error(message.format(index=int(bad.flat[0]), size=size))


def _size(shape: tuple, d: int) -> int:
    return shape[d] if shape else 1


def _same_dtype(input, src, message: str) -> None:
    if src.dtype != input.dtype:
        raise RuntimeError(message.format(self=_dtype_name(input.dtype), src=_dtype_name(src.dtype)))


# --- gather / scatter -----------------------------------------------------------------------------
def _scatter_key(index: jax.Array, axis: int) -> tuple:
    """The full index tuple of ``out[index[i][j]][j]`` (for dim 0): ``index`` at ``axis``, positions elsewhere."""
    return tuple(index if d == axis else jax.lax.broadcasted_iota(np.int32, index.shape, d)
                 for d in range(index.ndim))


@op()
def gather(input, dim, index, *, sparse_grad: bool = False):
    """``torch.gather``: ``out[i][j] = input[index[i][j]][j]`` (dim 0); ``index`` may be smaller than ``input``."""
    axis = canonical_dim(dim, input.ndim)
    index = _check_integer(index, "gather(): Expected dtype int32/int64 for index")
    if max(index.ndim, 1) != max(input.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(index.ndim):
        if d != axis and index.shape[d] > _size(input.shape, d):
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index.shape)} to be no "
                               f"larger than self {list(input.shape)} apart from dimension {axis}")
    _check_range(index, _size(input.shape, axis), f"index {{index}} is out of bounds for dimension {axis} with "
                                                 f"size {{size}}")
    if index.size == 0:
        return jnp.zeros(index.shape, input.dtype)
    a, i = input.reshape(input.shape or (1,)), index.reshape(index.shape or (1,))
    a = a[tuple(slice(None) if d == axis else slice(0, i.shape[d]) for d in range(i.ndim))]
    return jnp.take_along_axis(a, i, axis=axis).reshape(index.shape)


def _scatter_args(name: str, input, dim, index, src):
    """Checked ``(axis, index, src)`` of a scatter; a Python number ``src`` stays a number."""
    axis = canonical_dim(dim, input.ndim)
    index = _check_integer(index, f"{name}(): Expected dtype int64 for index")
    if max(index.ndim, 1) != max(input.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if isinstance(src, jax.Array | np.ndarray):
        if index.size and max(src.ndim, 1) != max(index.ndim, 1):
            raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
        _same_dtype(input, src, "scatter(): Expected self.dtype to be equal to src.dtype")
        if any(index.shape[d] > _size(src.shape, d) or (d != axis and index.shape[d] > _size(input.shape, d))
               for d in range(index.ndim)):
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} "
                               f"apart from dimension {axis} and to be no larger size than src {list(src.shape)}")
    elif any(d != axis and index.shape[d] > _size(input.shape, d) for d in range(index.ndim)):
        raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} apart "
                           f"from dimension {axis}")
    _check_range(index, _size(input.shape, axis), f"index {{index}} is out of bounds for dimension {axis} with "
                                                 f"size {{size}}")
    index = index.reshape(index.shape or (1,))
    if isinstance(src, jax.Array | np.ndarray):
        src = jnp.asarray(src).reshape(src.shape or (1,))
        src = src[tuple(slice(0, s) for s in index.shape)]
    return axis, index, src


def _value(value, dtype) -> jax.Array:
    # torch casts a scalar value to the tensor's dtype (a float into an int tensor truncates).
    return jnp.asarray(value).astype(dtype)


@op(inplace=True)
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """``torch.scatter``: ``out[index[i][j]][j] = src[i][j]`` (dim 0), ``src`` a tensor or ``value=`` a number.

    ``reduce='add'|'multiply'`` combines instead. With repeated indices the written value is one of them.
    """
    if src is None:
        src = value
    if reduce not in (None, "add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    axis, index, src = _scatter_args("scatter", input, dim, index, src)
    key = _scatter_key(index, axis)
    src = src if isinstance(src, jax.Array) else _value(src, input.dtype)
    out = input.reshape(input.shape or (1,)).at[key]
    out = out.set(src) if reduce is None else out.add(src) if reduce == "add" else out.multiply(src)
    return out.reshape(input.shape)


@op(inplace=True)
def scatter_add(input, dim, index, src):
    """``torch.scatter_add``: ``out[index[i][j]][j] += src[i][j]`` (dim 0), summing repeated indices."""
    if not isinstance(src, jax.Array | np.ndarray):
        raise TypeError(f"scatter_add(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}")
    axis, index, src = _scatter_args("scatter_add", input, dim, index, src)
    return input.reshape(input.shape or (1,)).at[_scatter_key(index, axis)].add(src).reshape(input.shape)


def _identity_of(reduce: str, dtype):
    if reduce == "prod":
        return 1
    if dtype == np.bool_:
        return reduce == "amin"
    if _promotion.category(dtype) >= 2:
        return -jnp.inf if reduce == "amax" else jnp.inf
    info = jnp.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def _reduce_into(input: jax.Array, key, src: jax.Array, reduce: str, include_self: bool) -> jax.Array:
    """``input`` with ``src`` reduced into the positions ``input.at[key]`` selects."""
    if reduce in ("sum", "mean"):
        base = input if include_self else input.at[key].set(0)
        total = base.at[key].add(src)
        if reduce == "sum":
            return total
        count = jnp.zeros(input.shape, np.int32).at[key].add(1)
        count = count + 1 if include_self else jnp.where(count == 0, 1, count)
        if _promotion.category(input.dtype) >= 2:
            return (total / count.astype(input.dtype)).astype(input.dtype)
        return jnp.floor_divide(total, count.astype(input.dtype))
    base = input if include_self else input.at[key].set(_identity_of(reduce, input.dtype))
    at = base.at[key]
    return at.multiply(src) if reduce == "prod" else at.max(src) if reduce == "amax" else at.min(src)


@op(inplace=True)
def scatter_reduce(input, dim, index, src, reduce, *, include_self: bool = True):
    """``torch.scatter_reduce``: reduce ``src`` into the scattered positions (sum, prod, mean, amax, amin).

    ``include_self=False`` leaves the tensor's own values out where something is scattered; integer
    means round down, as torch's.
    """
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    axis, index, src = _scatter_args("scatter_reduce", input, dim, index, src)
    flat = input.reshape(input.shape or (1,))
    return _reduce_into(flat, _scatter_key(index, axis), src, reduce, include_self).reshape(input.shape)


# --- index_* --------------------------------------------------------------------------------------
def _vector_index(index, name: str) -> jax.Array:
    return _check_integer(index, f"{name}(): Expected dtype int32 or int64 for index").reshape(-1)


def _index_args(name: str, input, dim, index, source, error: type = RuntimeError):
    """Checked ``(axis, index, key, source)``: ``source`` is ``input``'s shape with ``len(index)`` at ``dim``."""
    axis = canonical_dim(dim, input.ndim)
    index = jnp.asarray(index)
    if index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    index = _vector_index(index, name)
    size = _size(input.shape, axis)
    if _size(source.shape, axis) != index.shape[0] and input.ndim:
        raise error(f"{name}(): Number of indices ({index.shape[0]}) should be equal to source.size(dim) "
                    f"({_size(source.shape, axis)})")
    return axis, index, size


@op()
def index_select(input, dim, index):
    """``torch.index_select``: the entries at ``index`` (a vector) along ``dim``."""
    axis = canonical_dim(dim, input.ndim)
    index = jnp.asarray(index)
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    index = _vector_index(index, "index_select")
    if input.ndim == 0 and index.shape[0] != 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {index.shape[0]} value(s)")
    size = _size(input.shape, axis)
    _check_range(index, size, f"INDICES element is out of DATA bounds, id={{index}} axis_dim={size}")
    if input.ndim == 0:
        return input
    return jnp.take(input, index, axis=axis, mode="clip")


@op(inplace=True)
def index_add(input, dim, index, source, *, alpha=1):
    """``torch.index_add``: ``alpha * source`` added at ``index`` along ``dim`` (repeated indices accumulate)."""
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_add_(): self ({_dtype_name(input.dtype)}) and source "
                           f"({_dtype_name(source.dtype)}) must have the same scalar type")
    axis, index, size = _index_args("index_add_", input, dim, index, source)
    _check_range(index, size, f"index {{index}} is out of bounds for dimension {axis} with size {{size}}")
    if alpha != 1:
        # torch casts alpha to the tensor's dtype (an int tensor truncates a float alpha).
        source = source * _value(alpha, input.dtype)
    a = input.reshape(input.shape or (1,))
    return a.at[(slice(None),) * axis + (index,)].add(source.reshape(source.shape or (1,))).reshape(input.shape)


@op(inplace=True)
def index_copy(input, dim, index, source):
    """``torch.index_copy``: ``source``'s slices written at ``index`` along ``dim``."""
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{_dtype_name(input.dtype)} and (source) {_dtype_name(source.dtype)}")
    axis, index, size = _index_args("index_copy_", input, dim, index, source, IndexError)
    _check_range(index, size, f"index_copy_(): index {{index}} is out of bounds for dimension {axis} with size "
                              f"{{size}}", IndexError)
    a = input.reshape(input.shape or (1,))
    return a.at[(slice(None),) * axis + (index,)].set(source.reshape(source.shape or (1,))).reshape(input.shape)


@op(inplace=True)
def index_fill(input, dim, index, value):
    """``torch.index_fill``: ``value`` (a number or 0-D tensor) written at ``index`` (negatives wrap) along ``dim``."""
    axis = canonical_dim(dim, input.ndim)
    index = jnp.asarray(index)
    if index.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    index = _vector_index(index, "index_fill_")
    if np.ndim(value) != 0:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{np.ndim(value)} dimension(s).")
    size = _size(input.shape, axis)
    _check_range(index, size, f"index {{index}} is out of bounds for dimension {axis} with size {{size}}",
                 IndexError, negative=True)
    a = input.reshape(input.shape or (1,))
    return a.at[(slice(None),) * axis + (index,)].set(_value(value, input.dtype)).reshape(input.shape)


@op(inplace=True)
def index_reduce(input, dim, index, source, reduce, *, include_self: bool = True):
    """``torch.index_reduce``: ``source``'s slices reduced (prod, mean, amax, amin) into ``index`` along ``dim``."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
                           f"{reduce}.")
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_reduce_(): self ({_dtype_name(input.dtype)}) and source "
                           f"({_dtype_name(source.dtype)}) must have the same scalar type")
    axis, index, size = _index_args("index_reduce_", input, dim, index, source)
    _check_range(index, size, f"index {{index}} is out of bounds for dimension {axis} with size {{size}}")
    a = input.reshape(input.shape or (1,))
    key = (slice(None),) * axis + (index,)
    return _reduce_into(a, key, source.reshape(source.shape or (1,)), reduce, include_self).reshape(input.shape)


# --- masks ----------------------------------------------------------------------------------------
@op()
def masked_select(input, mask):
    """``torch.masked_select``: the 1-D tensor of the entries where ``mask`` (broadcast) is True. Eager only:
    the output's size depends on the mask's values."""
    mask = jnp.asarray(mask)
    if mask.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = np.broadcast_shapes(input.shape, mask.shape)
    return jnp.broadcast_to(input, shape)[jnp.broadcast_to(mask, shape)]


@op(inplace=True)
def masked_scatter(input, mask, source):
    """``torch.masked_scatter``: the entries where ``mask`` is True replaced, in order, by ``source``'s first ones.

    Under a trace a ``source`` with too few elements is not detected (its last element is repeated).
    """
    mask = jnp.asarray(mask)
    if mask.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{_dtype_name(mask.dtype)}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                           f"{_dtype_name(input.dtype)} and {_dtype_name(source.dtype)}")
    shape = np.broadcast_shapes(input.shape, mask.shape)
    mask = jnp.broadcast_to(mask, shape)
    if not isinstance(mask, _Tracer) and int(np.asarray(mask).sum()) > source.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    if source.size == 0:
        return jnp.broadcast_to(input, shape)
    # The k-th True position takes source's k-th element.
    position = jnp.cumsum(mask.reshape(-1)) - 1
    values = source.reshape(-1)[jnp.clip(position, 0, source.size - 1)].reshape(shape)
    return jnp.where(mask, values, input)


# --- take / put -----------------------------------------------------------------------------------
@op()
def take(input, index):
    """``torch.take``: the entries of the flattened input at ``index`` (negatives wrap); the shape of ``index``."""
    index = _check_integer(index, "take(): Expected a long tensor for index, but got {dtype}")
    _check_range(index, input.size, "out of range: tried to access index {index} on a tensor of {size} elements.",
                 IndexError, negative=True)
    return input.reshape(-1)[index]


@op()
def take_along_dim(input, indices, dim=None):
    """``torch.take_along_dim``: ``gather`` with broadcasting (negatives wrap); without ``dim``, ``gather`` on
    the flattened input (no negatives). Eagerly an index past the end raises (torch reads out of bounds)."""
    indices = _check_integer(indices, "torch.take_along_dim(): dtype of indices should be Long but got {dtype}")
    if dim is None:
        _check_range(indices, input.size, "index {index} is out of bounds for dimension 0 with size {size}")
        return input.reshape(-1)[indices.reshape(-1)]
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    axis = canonical_dim(dim, input.ndim)
    _check_range(indices, _size(input.shape, axis), f"index {{index}} is out of bounds for dimension {axis} with "
                                                    f"size {{size}}", negative=True)
    if input.ndim == 0:
        return input
    others = [1 if d == axis else s for d, s in enumerate(input.shape)]
    try:
        shape = list(np.broadcast_shapes(tuple(others), tuple(1 if d == axis else s
                                                             for d, s in enumerate(indices.shape))))
    except ValueError as e:
        raise RuntimeError(f"torch.take_along_dim(): {e}") from None
    input = jnp.broadcast_to(input, tuple(shape[:axis] + [input.shape[axis]] + shape[axis + 1:]))
    indices = jnp.broadcast_to(indices, tuple(shape[:axis] + [indices.shape[axis]] + shape[axis + 1:]))
    return jnp.take_along_axis(input, indices, axis=axis)


@op(inplace=True)
def put(input, index, source, accumulate: bool = False):
    """``torch.put``: ``source`` written (or added, ``accumulate=True``) into the flattened input at ``index``."""
    index = _check_integer(index, "put_(): Expected a long tensor for index, but got {dtype}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{_dtype_name(input.dtype)} and source.dtype = {_dtype_name(source.dtype)}")
    if source.size != index.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source.size}, index.numel() = {index.size}")
    _check_range(index, input.size, "out of range: tried to access index {index} on a tensor of {size} elements.",
                 IndexError, negative=True)
    at = input.reshape(-1).at[index.reshape(-1)]
    out = at.add(source.reshape(-1)) if accumulate else at.set(source.reshape(-1))
    return out.reshape(input.shape)


# --- data-dependent shapes and sorted search ------------------------------------------------------
@op()
def nonzero(input, *, as_tuple: bool = False):
    """``torch.nonzero``: the indices of the nonzero entries, ``(n, ndim)`` or one vector per dim
    (``as_tuple``). Eager only: the output's size depends on the values."""
    if as_tuple:
        return tuple(i.astype(_promotion.long_dtype()) for i in jnp.nonzero(input.reshape(input.shape or (1,))))
    if input.ndim == 0:
        return jnp.zeros((int(input != 0), 0), _promotion.long_dtype())
    return jnp.argwhere(input).astype(_promotion.long_dtype())


@op()
def argwhere(input):
    """``torch.argwhere``: ``nonzero(input)``. Eager only: the output's size depends on the values."""
    return nonzero.__wrapped_array_fn__(input)


def _search(sequence: jax.Array, values, side: str, out_int32: bool) -> jax.Array:
    values = jnp.asarray(values)
    dtype = _promotion.result_type(sequence, values)
    sequence, values = sequence.astype(dtype), values.astype(dtype)
    if sequence.ndim == 1:
        out = jnp.searchsorted(sequence, values, side=side)
    else:
        lead = sequence.shape[:-1]
        rows = jax.vmap(lambda s, v: jnp.searchsorted(s, v, side=side))
        out = rows(sequence.reshape(-1, sequence.shape[-1]), values.reshape(-1, values.shape[-1])).reshape(
            lead + values.shape[-1:])
    return out.astype(np.int32 if out_int32 else _promotion.long_dtype())


@op(method=False)
def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False):
    """``torch.bucketize``: the index of each value's bucket in the sorted 1-D ``boundaries``
    (``boundaries[i-1] < x <= boundaries[i]``; ``right=True``: ``boundaries[i-1] <= x < boundaries[i]``)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return _search(boundaries, input, "right" if right else "left", out_int32)


@op(method=False)
def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False, side=None,
                 sorter=None):
    """``torch.searchsorted``: insertion indices of ``input`` in the last dim of ``sorted_sequence``
    (its leading dims match ``input``'s), optionally sorted through ``sorter``."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    if sorted_sequence.ndim == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 "
                           "dimension")
    scalar = _promotion.is_scalar(input)
    if scalar and sorted_sequence.ndim != 1:
        raise RuntimeError(f"torch.searchsorted(): input value can be a scalar only when boundaries tensor "
                           f"dimension is 1, but we got boundaries tensor dim({sorted_sequence.ndim}) and input "
                           f"value's dim(0) numel(1)")
    values_shape = np.shape(input)
    if sorted_sequence.ndim > 1 and (len(values_shape) != sorted_sequence.ndim
                                     or values_shape[:-1] != sorted_sequence.shape[:-1]):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           f"dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(sorted_sequence.shape)} and input value tensor "
                           f"{list(values_shape)}")
    if sorter is not None:
        sorter = jnp.asarray(sorter)
        if sorter.shape != sorted_sequence.shape:
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same size, but got boundary "
                               f"tensor {list(sorted_sequence.shape)}and got sorter tensor {list(sorter.shape)}")
        sorter = _check_integer(sorter, "torch.searchsorted(): sorter must be a tensor of long dtype but got {dtype}")
        sorted_sequence = jnp.take_along_axis(sorted_sequence, sorter, axis=-1)
    return _search(sorted_sequence, input, "right" if right else "left", out_int32)


@op(method=False)
def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    """Whether each of ``elements`` occurs in ``test_elements`` (either may be a number, not both), compared in
    their promoted dtype; ``invert`` negates."""
    if _promotion.is_scalar(elements) and _promotion.is_scalar(test_elements):
        raise TypeError("isin() received an invalid combination of arguments - got (int, int)")
    dtype = _promotion.result_type(*(v if _promotion.is_scalar(v) else jnp.asarray(v)
                                     for v in (elements, test_elements)))
    values = jnp.asarray(elements, dtype)
    tests = jnp.asarray(test_elements, dtype).reshape(-1)
    found = jnp.any(values[..., None] == tests, axis=-1) if tests.size else jnp.zeros(values.shape, bool)
    return ~found if invert else found


@op(method=False)
def unravel_index(indices, shape):
    """The coordinates of the flat ``indices`` in a tensor of ``shape``: one tensor per dimension, shaped like
    ``indices`` (indices wrap around modulo the size, as torch's do)."""
    if _promotion.category(jnp.asarray(indices).dtype) != 1:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {_dtype_name(jnp.asarray(indices).dtype)}")
    dims = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(d < 0 for d in dims):
        raise ValueError("'shape' cannot have negative values, but got " + str(tuple(dims)))
    if 0 in dims:
        raise RuntimeError("ZeroDivisionError")
    flat = jnp.asarray(indices).astype(_promotion.long_dtype())
    coordinates = []
    for d in reversed(dims):
        coordinates.append(flat % d)
        flat = flat // d
    return tuple(reversed(coordinates))


@op()
def nonzero_static(input, *, size: int, fill_value: int = -1):
    """:func:`nonzero` with a static number of rows: the first ``size`` coordinates of the nonzero elements,
    padded with ``fill_value`` (so it also runs under a trace)."""
    if not isinstance(size, int) or size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    if input.ndim == 0:
        return jnp.zeros((size, 0), _promotion.long_dtype())
    return _nonzero_static(input, size, fill_value)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _nonzero_static(input, size: int, fill_value: int):
    rows = jnp.nonzero(input, size=size, fill_value=fill_value)
    return jnp.stack(rows, axis=-1).astype(_promotion.long_dtype())


@op("fill_diagonal", method=False, namespace=False, inplace="fill_diagonal_")
def _fill_diagonal(input, fill_value, wrap: bool = False):
    """``Tensor.fill_diagonal_``: ``fill_value`` on the main diagonal (all dims equal, or a tall matrix; with
    ``wrap`` a tall matrix's diagonal restarts every ``ncols + 1`` rows)."""
    if input.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if input.ndim > 2 and len(set(input.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    rows, cols = input.shape[0], input.shape[1]
    if input.ndim > 2:
        index = (jnp.arange(rows),) * input.ndim
    else:
        flat = np.arange(0, rows * cols, cols + 1)
        if not wrap:
            flat = flat[flat < min(rows, cols) * cols]
        index = (flat // cols, flat % cols)
    return input.at[index].set(jnp.asarray(fill_value).astype(input.dtype))

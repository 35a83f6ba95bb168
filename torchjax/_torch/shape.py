"""torch's shape functions: joining (``cat``, ``stack``, ...), reordering (``flip``, ``roll``, ...),
repeating, broadcasting, the function forms of the Tensor view methods, and the matrix builders
(``diag``, ``block_diag``, ``kron``, ...).

The function forms of view methods (``torchjax.transpose(x, 0, 1)``) call the Tensor method, so they
return the same write-through views; they are put in ``OPS`` directly, as ``op`` would unwrap their
arguments to arrays and lose the view.
"""

from __future__ import annotations

import itertools
import operator
import warnings
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .. import _promotion
from .._device import get_default_dtype
from .._tensor import OPS, Size, Tensor, _dtype_name, _scatter_into, canonical_dim, op, unwrap
from .creation import as_tensor


def _tensor_function(name: str | None = None, *, method: bool = False, aliases: Sequence[str] = ()) -> Callable:
    """Register a function of Tensors (not arrays) as ``torchjax.<name>`` and, with method=True, ``Tensor.<name>``."""

    def decorate(fn: Callable) -> Callable:
        fn.__name__ = fn.__qualname__ = name or fn.__name__
        for n in (fn.__name__, *aliases):
            OPS[n] = fn
            if method:
                setattr(Tensor, n, fn)
        return fn

    return decorate


def _tensor_list(tensors, name: str) -> list:
    """The arrays of a sequence of tensors, with torch's TypeError for anything else."""
    if not isinstance(tensors, list | tuple):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    out = []
    for i, t in enumerate(tensors):
        t = unwrap(t)
        if not isinstance(t, jax.Array | np.ndarray):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
        out.append(jnp.asarray(t))
    return out


def _varargs(tensors: tuple):
    """``f(a, b)`` and ``f([a, b])`` alike."""
    return tuple(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], list | tuple) else tensors


def _ints(values) -> tuple:
    values = unwrap(values)
    if isinstance(values, jax.Array | np.ndarray):
        return tuple(int(v) for v in np.asarray(values).reshape(-1))
    if isinstance(values, Sequence):
        return tuple(operator.index(unwrap(v)) for v in values)
    return (operator.index(values),)


# --- joining --------------------------------------------------------------------------------------
def _cat(arrays: list, dim: int) -> jax.Array:
    if not arrays:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    dtype = _promotion.result_type(*arrays)
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    # torch's legacy rule: 1-D empty tensors are skipped (they still take part in the dtype).
    kept = [(i, a) for i, a in enumerate(arrays) if not (a.ndim == 1 and a.shape[0] == 0)]
    if not kept:
        return jnp.zeros((0,), dtype)
    first = kept[0][1]
    axis = canonical_dim(dim, first.ndim)
    for i, a in kept[1:]:
        if a.ndim != first.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {first.ndim} and {a.ndim}")
        for d in range(a.ndim):
            if d != axis and a.shape[d] != first.shape[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. Expected size "
                                   f"{first.shape[d]} but got size {a.shape[d]} for tensor number {i} in the list.")
    return jnp.concatenate([a.astype(dtype) for _, a in kept], axis=axis)


@op(method=False, aliases=("concat",))
def cat(tensors, dim: int = 0):
    """``torch.cat``: skips legacy empty 1-D tensors, promotes the dtypes of all inputs."""
    return _cat(_tensor_list(tensors, "cat"), dim)


@op(method=False)
def concatenate(tensors, axis: int = 0):
    """``torch.concatenate``: ``cat`` with numpy's argument name."""
    return _cat(_tensor_list(tensors, "concatenate"), axis)


def _stack(arrays: list, dim: int) -> jax.Array:
    if not arrays:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, a in enumerate(arrays[1:], 1):
        if a.shape != arrays[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(arrays[0].shape)} at "
                               f"entry 0 and {list(a.shape)} at entry {i}")
    axis = canonical_dim(dim, arrays[0].ndim + 1)
    dtype = _promotion.result_type(*arrays)
    return jnp.stack([a.astype(dtype) for a in arrays], axis=axis)


@op(method=False)
def stack(tensors, dim: int = 0):
    """``torch.stack``: equal shapes, a new dimension ``dim``, dtypes promoted."""
    return _stack(_tensor_list(tensors, "stack"), dim)


def _atleast_shape(shape: tuple, n: int) -> tuple:
    if len(shape) >= n:
        return shape
    if n == 3 and len(shape) == 1:
        return (1, shape[0], 1)
    if n == 3 and len(shape) == 2:
        return (*shape, 1)
    return (1,) * (n - len(shape)) + shape


def _atleast(a: jax.Array, n: int) -> jax.Array:
    return a.reshape(_atleast_shape(a.shape, n))


@op(method=False)
def hstack(tensors):
    """``torch.hstack``: concatenate 1-D inputs along dim 0, others along dim 1."""
    arrays = [_atleast(a, 1) for a in _tensor_list(tensors, "hstack")]
    return _cat(arrays, 0 if arrays and arrays[0].ndim == 1 else 1)


@op(method=False, aliases=("row_stack",))
def vstack(tensors):
    """``torch.vstack``: concatenate along dim 0 after ``atleast_2d``."""
    return _cat([_atleast(a, 2) for a in _tensor_list(tensors, "vstack")], 0)


@op(method=False)
def dstack(tensors):
    """``torch.dstack``: concatenate along dim 2 after ``atleast_3d``."""
    return _cat([_atleast(a, 3) for a in _tensor_list(tensors, "dstack")], 2)


@op(method=False)
def column_stack(tensors):
    """``torch.column_stack``: 0-D and 1-D inputs become columns, then concatenated along dim 1."""
    arrays = [a.reshape(a.size, 1) if a.ndim <= 1 else a for a in _tensor_list(tensors, "column_stack")]
    return _cat(arrays, 1)


@_tensor_function()
def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """``torch.meshgrid``: expanded (read-only) views; warns as torch does when ``indexing`` is not given."""
    tensors = [as_tensor(t) for t in _varargs(tensors)]
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    sizes = [t.numel() for t in tensors]
    # 'xy' is 'ij' with the first two axes swapped.
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for i, axis in enumerate(axes):
        shape[axis] = sizes[i]
    out = []
    for t, axis in zip(tensors, axes, strict=True):
        view_shape = [1] * len(tensors)
        view_shape[axis] = sizes[axes.index(axis)]
        out.append(t.reshape(view_shape).expand(shape))
    return tuple(out)


@op(method=False)
def cartesian_prod(*tensors):
    """``torch.cartesian_prod``: the rows of all combinations of the 1-D inputs (one input: itself)."""
    arrays = _tensor_list(_varargs(tensors), "cartesian_prod")
    for a in arrays:
        if a.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(a.shape)}")
        if a.dtype != arrays[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if len(arrays) == 1:
        return arrays[0]
    grids = jnp.meshgrid(*arrays, indexing="ij")
    return jnp.stack([g.reshape(-1) for g in grids], axis=1)


@op(method=False)
def combinations(input, r: int = 2, with_replacement: bool = False):
    """``torch.combinations``: the length-``r`` combinations of a 1-D tensor's elements, as rows."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return jnp.zeros((0,), input.dtype)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    index = np.asarray(list(pick(range(input.shape[0]), r)), np.int32).reshape(-1, r)
    return input[index]


@op(method=False)
def block_diag(*tensors):
    """``torch.block_diag``: the inputs (0-D, 1-D as a row, or 2-D) along the diagonal, zeros elsewhere."""
    arrays = _tensor_list(tensors, "block_diag")
    blocks = []
    for i, a in enumerate(arrays):
        if a.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{a.ndim} dimensions")
        blocks.append(a.reshape((1,) * (2 - a.ndim) + a.shape))
    if not blocks:
        return jnp.zeros((1, 0), get_default_dtype())
    dtype = _promotion.result_type(*blocks)
    out = jnp.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)), dtype)
    row = col = 0
    for b in blocks:
        out = out.at[row:row + b.shape[0], col:col + b.shape[1]].set(b.astype(dtype))
        row, col = row + b.shape[0], col + b.shape[1]
    return out


# --- reordering -----------------------------------------------------------------------------------
def _unique_dims(dims, ndim: int) -> tuple:
    axes = tuple(canonical_dim(d, ndim) for d in dims)
    for a in axes:
        if axes.count(a) > 1:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    return axes


@op(method=True)
def flip(input, *dims):
    """``torch.flip(input, dims)``; the method also takes ``flip(0, 1)``."""
    dims = _ints(dims[0]) if len(dims) == 1 else _ints(dims)
    axes = _unique_dims(dims, input.ndim)
    return jnp.flip(input, axes) if axes else input


@op(method=True)
def fliplr(input):
    """``torch.fliplr``: flip dim 1 (at least 2-D)."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return jnp.flip(input, 1)


@op(method=True)
def flipud(input):
    """``torch.flipud``: flip dim 0 (at least 1-D)."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return jnp.flip(input, 0)


@op(method=True)
def roll(input, shifts, dims=None):
    """``torch.roll``: without ``dims``, the flattened tensor is rolled and reshaped back."""
    shifts = _ints(shifts)
    dims = () if dims is None else _ints(dims)
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return jnp.roll(input.reshape(-1), shifts[0]).reshape(input.shape)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if input.ndim == 0:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    axes = tuple(canonical_dim(d, input.ndim) for d in dims)
    return jnp.roll(input, shifts, axes)


@op(method=True)
def rot90(input, k: int = 1, dims=(0, 1)):
    """``torch.rot90``: rotate by ``k`` quarter turns from ``dims[0]`` towards ``dims[1]``."""
    dims = _ints(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = canonical_dim(dims[0], input.ndim), canonical_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    return jnp.rot90(input, k, axes=(d0, d1))


def _triangle(name: str, jnp_fn: Callable) -> Callable:
    def fn(input, diagonal: int = 0):
        if input.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return jnp_fn(input, operator.index(diagonal))

    fn.__name__ = name
    fn.__doc__ = f"``torch.{name}``: the {'lower' if name == 'tril' else 'upper'} triangle of the last two dims."
    return op(name, method=True, inplace=True)(fn)


tril = _triangle("tril", jnp.tril)
triu = _triangle("triu", jnp.triu)


# --- repeating ------------------------------------------------------------------------------------
def _repeat(input, sizes: tuple) -> jax.Array:
    if len(sizes) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    shape = (1,) * (len(sizes) - input.ndim) + input.shape
    out_shape = [s * r for s, r in zip(shape, sizes, strict=True)]
    if any(r < 0 for r in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(out_shape)}: {out_shape}")
    return jnp.tile(input, sizes)


@op(namespace=False)
def repeat(input, *sizes):
    """``Tensor.repeat(*sizes)``: tile the tensor ``sizes[i]`` times along each (new leading) dim."""
    return _repeat(input, _ints(sizes[0]) if len(sizes) == 1 else _ints(sizes))


@op(method=True)
def tile(input, *dims):
    """``torch.tile``: ``repeat`` with ``dims`` padded by leading ones to the tensor's rank."""
    dims = _ints(dims[0]) if len(dims) == 1 else _ints(dims)
    return _repeat(input, (1,) * (input.ndim - len(dims)) + dims)


@op(method=True)
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """``torch.repeat_interleave``: repeat each element (or slice along ``dim``) ``repeats`` times.

    With a tensor of repeats the output size depends on its values: under a trace pass ``output_size``.
    ``repeat_interleave(repeats)`` alone gives ``arange(len(repeats))`` repeated.
    """
    if repeats is None:
        repeats, input = input, jnp.arange(np.shape(input)[0] if np.ndim(input) else 1, dtype=np.int32)
    if dim is None:
        input, axis = input.reshape(-1), 0
    else:
        axis = canonical_dim(dim, input.ndim)
    size = input.shape[axis] if input.ndim else 1
    if input.ndim == 0:
        input = input.reshape(1)
    if isinstance(repeats, int):
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        if output_size is not None and output_size != size * repeats:
            raise RuntimeError(f"repeat_interleave: Invalid output_size, expected {size * repeats} but got "
                               f"{output_size}")
        return jnp.repeat(input, repeats, axis=axis)
    repeats = jnp.asarray(repeats)
    if repeats.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if _promotion.category(repeats.dtype) != 1:
        raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for '{_dtype_name(repeats.dtype)}'")
    if repeats.size == 1:
        repeats = jnp.broadcast_to(repeats.reshape(()), (size,))
    if repeats.shape[0] != size:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                           f"{repeats.shape[0]} and input.size(0) = {size}")
    if not isinstance(repeats, jax.core.Tracer):
        counts = np.asarray(repeats)
        if (counts < 0).any():
            raise RuntimeError("repeats can not be negative")
        if output_size is not None and output_size != counts.sum():
            raise RuntimeError("allocated size does not match required size")
        output_size = int(counts.sum())
    elif output_size is None:
        raise RuntimeError("repeat_interleave: with traced repeats the output size is data-dependent; "
                           "pass output_size")
    return jnp.repeat(input, repeats, axis=axis, total_repeat_length=output_size)


# --- broadcasting ---------------------------------------------------------------------------------
@_tensor_function()
def broadcast_shapes(*shapes) -> Size:
    """``torch.broadcast_shapes``: the broadcast of shapes (an int is a 1-D shape)."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    out = [1] * max((len(s) for s in shapes), default=0)
    for i, shape in enumerate(shapes):
        for k in range(-1, -len(shape) - 1, -1):
            s = operator.index(shape[k])
            if s < 0:
                raise ValueError("Attempting to broadcast a dimension with negative length!")
            if out[k] == 1 or s == out[k]:
                out[k] = s
            elif s != 1:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {s} at {k}! Mismatching argument "
                                   f"at index {i} had {shape}; but expected shape should be broadcastable to "
                                   f"{out}")
    return Size(out)


@_tensor_function(method=True)
def broadcast_to(input, size) -> Tensor:
    """``torch.broadcast_to``: ``expand`` (a read-only view)."""
    return as_tensor(input).expand(size)


@_tensor_function()
def broadcast_tensors(*tensors) -> tuple:
    """``torch.broadcast_tensors``: every input expanded (a read-only view) to their broadcast shape."""
    tensors = [as_tensor(t) for t in _varargs(tensors)]
    try:
        shape = broadcast_shapes(*(t.shape for t in tensors))
    except RuntimeError as e:
        raise RuntimeError(f"The tensors cannot be broadcast together: {e}") from None
    return tuple(t.expand(shape) for t in tensors)


@_tensor_function(method=True, aliases=("moveaxis",))
def movedim(input, source, destination) -> Tensor:
    """``torch.movedim``: a view with the dims ``source`` moved to ``destination``."""
    input = as_tensor(input)
    ndim = input.ndim
    src, dst = _ints(source), _ints(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain "
                           f"the same number of dims as destination ({list(dst)} dims)")
    src_axes = [canonical_dim(d, ndim) for d in src]
    dst_axes = [canonical_dim(d, ndim) for d in dst]
    for label, given, axes in (("source", src, src_axes), ("destination", dst, dst_axes)):
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"movedim: repeated dim in `{label}` ({list(given)})")
    order = [d for d in range(ndim) if d not in src_axes]
    for d, s in sorted(zip(dst_axes, src_axes, strict=True)):
        order.insert(d, s)
    return input.permute(order) if ndim else input._view(lambda a: a)


def _atleast_nd(n: int) -> Callable:
    def fn(*tensors):
        many = len(tensors) != 1 or isinstance(tensors[0], list | tuple)
        out = []
        for t in _varargs(tensors):
            t = as_tensor(t)
            out.append(t.reshape(_atleast_shape(tuple(t.shape), n)) if t.ndim < n else t)
        return tuple(out) if many else out[0]

    fn.__doc__ = f"``torch.atleast_{n}d``: views with at least {n} dims (one tensor, or a tuple for several)."
    return _tensor_function(f"atleast_{n}d")(fn)


atleast_1d, atleast_2d, atleast_3d = _atleast_nd(1), _atleast_nd(2), _atleast_nd(3)


# --- function forms of the Tensor view methods ----------------------------------------------------
def _method_function(name: str, doc: str, aliases: Sequence[str] = ()) -> Callable:
    def fn(input, *args, **kwargs):
        return getattr(as_tensor(input), name)(*args, **kwargs)

    fn.__doc__ = f"``torch.{name}``: {doc}"
    return _tensor_function(name, aliases=aliases)(fn)


for _name, _doc, _aliases in (
    ("reshape", "a view with a new shape.", ()),
    ("transpose", "a view with two dims swapped.", ()),
    ("swapaxes", "``transpose``.", ()),
    ("swapdims", "``transpose``.", ()),
    ("permute", "a view with the dims reordered.", ()),
    ("squeeze", "a view without the size-1 dims (or the given ones).", ()),
    ("unsqueeze", "a view with a size-1 dim inserted.", ()),
    ("flatten", "a view with dims ``start_dim..end_dim`` merged.", ()),
    ("unflatten", "a view with one dim split into ``sizes``.", ()),
    ("narrow", "a view of ``length`` entries from ``start`` along ``dim``.", ()),
    ("select", "a view of one index along ``dim``.", ()),
    ("split", "views of ``split_size`` (or the given sizes) along ``dim``.", ()),
    ("chunk", "``chunks`` (or fewer) views of equal size along ``dim``.", ()),
    ("unbind", "the views of every index along ``dim``.", ()),
    ("t", "a view of a matrix transposed (0-D and 1-D unchanged).", ()),
    ("diagonal", "a view of a diagonal over ``dim1`` and ``dim2``.", ()),
):
    _method_function(_name, _doc, _aliases)


@_tensor_function(method=True)
def ravel(input) -> Tensor:
    """``torch.ravel``: a 1-D view."""
    return as_tensor(input).reshape(-1)


@_tensor_function(method=True)
def tensor_split(input, indices_or_sections, dim: int = 0) -> tuple:
    """``torch.tensor_split``: views split into n near-equal sections, or at the given indices (slice rules)."""
    input = as_tensor(input)
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    axis = canonical_dim(dim, input.ndim)
    size = input.shape[axis]
    spec = unwrap(indices_or_sections)
    if isinstance(spec, jax.Array | np.ndarray):
        if _promotion.category(spec.dtype) != 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                               f"{_dtype_name(spec.dtype)}")
        if spec.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {spec.ndim} dims")
        spec = int(spec) if spec.ndim == 0 else [int(v) for v in np.asarray(spec)]
    if isinstance(spec, int):
        if spec <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
        small, extra = divmod(size, spec)
        lengths = [small + 1] * extra + [small] * (spec - extra)
        bounds = list(itertools.accumulate(lengths[:-1]))
    else:
        bounds = [operator.index(unwrap(v)) for v in spec]
    edges = [0, *bounds, None]
    lead = (slice(None),) * axis
    return tuple(input[lead + (slice(a, b),)] for a, b in itertools.pairwise(edges))


# --- matrices -------------------------------------------------------------------------------------
@op(method=True, promote=_promotion.Kind.DEFAULT)
def kron(input, other):
    """``torch.kron``: the Kronecker product (the lower-rank input gets leading ones)."""
    for name, v in (("input", input), ("other", other)):
        if not isinstance(v, jax.Array):
            raise TypeError(f"kron(): argument '{name}' must be Tensor, not {type(v).__name__}")
    return jnp.kron(input, other)


@op(method=False)
def tensordot(a, b, dims=2, out=None):
    """``torch.tensordot``: contract the last ``dims`` dims of ``a`` with the first of ``b``, or the listed pairs."""
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if isinstance(dims, jax.Array | np.ndarray):
        dims = int(dims) if dims.ndim == 0 else np.asarray(dims).tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.ndim or dims > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = _ints(dims[0]), _ints(dims[1])
        if len(dims_a) != len(dims_b):
            raise RuntimeError("both dimension lists should have same length")
    dims_a = [canonical_dim(d, a.ndim) for d in dims_a]
    dims_b = [canonical_dim(d, b.ndim) for d in dims_b]
    for da, db in zip(dims_a, dims_b, strict=True):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[da]} in dim {da} "
                               f"and second has size {b.shape[db]} in dim {db}")
    return jnp.tensordot(a, b, axes=(dims_a, dims_b))


@op(method=True)
def cross(input, other, dim=None):
    """``torch.cross``: the 3-vector cross product along ``dim`` (default, deprecated: the first dim of size 3)."""
    if input.dtype != other.dtype:
        raise RuntimeError(f"expected scalar type {_dtype_name(input.dtype)} but found {_dtype_name(other.dtype)}")
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=3)
        shape = np.broadcast_shapes(input.shape, other.shape)
        sized3 = [d for d, s in enumerate(shape) if s == 3]
        if not sized3:
            raise RuntimeError("no dimension of size 3 in input")
        dim = sized3[0]
    axis = canonical_dim(dim, input.ndim)
    if input.shape[axis] != 3 or other.shape[axis] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[axis]} and "
                           f"{other.shape[axis]}")
    return jnp.cross(input, other, axis=axis)


@op(method=True)
def trace(input):
    """``torch.trace``: the sum of a matrix's main diagonal (integers sum to int64, here int32)."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    if input.dtype == np.bool_:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    dtype = _promotion.long_dtype() if _promotion.category(input.dtype) == 1 else input.dtype
    return jnp.trace(input, dtype=dtype)


@op(method=True)
def diag(input, diagonal: int = 0):
    """``torch.diag``: a 1-D tensor as a diagonal matrix, or a matrix's diagonal (a copy)."""
    if input.ndim not in (1, 2):
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    return jnp.diag(input, diagonal)


@op(method=True)
def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """``torch.diag_embed``: the last dim put on the ``offset`` diagonal of the planes ``(dim1, dim2)``."""
    ndim = input.ndim + 1
    d1, d2 = canonical_dim(dim1, ndim), canonical_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    length = input.shape[-1]
    n = length + abs(offset)
    steps = jnp.arange(length)
    out = jnp.zeros(input.shape[:-1] + (n, n), input.dtype)
    out = out.at[..., steps + max(-offset, 0), steps + max(offset, 0)].set(input)
    return jnp.moveaxis(out, (-2, -1), (d1, d2))


@op(method=True)
def diagflat(input, offset: int = 0):
    """``torch.diagflat``: the flattened input on the ``offset`` diagonal of a square matrix."""
    return jnp.diag(input.reshape(-1), offset)



# --- more splits, unfold, as_strided --------------------------------------------------------------
@_tensor_function(method=True, aliases=("unsafe_split_with_sizes",))
def split_with_sizes(input, split_sizes, dim: int = 0) -> tuple:
    """``torch.split_with_sizes``: views of the given sizes along ``dim`` (they must sum to its size).
    ``unsafe_split_with_sizes`` is the same (torch's variant only skips autograd's view checks)."""
    return as_tensor(input).split([operator.index(unwrap(s)) for s in split_sizes], dim)


@_tensor_function(method=True)
def unsafe_split(input, split_size, dim: int = 0) -> tuple:
    """``torch.unsafe_split``: :meth:`Tensor.split` (torch's variant only skips autograd's view checks)."""
    return as_tensor(input).split(split_size, dim)


@_tensor_function(method=True)
def unsafe_chunk(input, chunks: int, dim: int = 0) -> tuple:
    """``torch.unsafe_chunk``: :meth:`Tensor.chunk` (torch's variant only skips autograd's view checks)."""
    return as_tensor(input).chunk(chunks, dim)


def _directional_split(name: str, dim: int, min_dims: int) -> Callable:
    def fn(input, indices_or_sections) -> tuple:
        input = as_tensor(input)
        if input.ndim < min_dims:
            raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor "
                               f"with {input.ndim} dimensions!")
        axis = 0 if name == "hsplit" and input.ndim == 1 else dim
        sections = unwrap(indices_or_sections)
        if isinstance(sections, int) and (sections == 0 or input.shape[axis] % sections):
            raise RuntimeError(f"torch.{name} attempted to split along dimension {axis}, but the size of the "
                               f"dimension {input.shape[axis]} is not divisible by the split_size {sections}!")
        return tensor_split(input, indices_or_sections, axis)

    fn.__doc__ = (f"``torch.{name}``: :func:`tensor_split` along dim {dim}"
                  + (" (dim 0 of a 1-D tensor)" if name == "hsplit" else "")
                  + "; an integer must divide that dimension.")
    return _tensor_function(name, method=True)(fn)


hsplit = _directional_split("hsplit", 1, 1)
vsplit = _directional_split("vsplit", 0, 2)
dsplit = _directional_split("dsplit", 2, 3)


@_tensor_function(method=True)
def unfold(input, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: a view of every window of ``size`` entries, ``step`` apart, along ``dimension`` (which
    becomes the window count; the windows are a new last dimension)."""
    input = as_tensor(input)
    ndim = input.ndim
    axis = canonical_dim(dimension, ndim) if ndim else 0
    length = input.shape[axis] if ndim else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    starts = np.arange(0, length - size + 1, step)
    positions = starts[:, None] + np.arange(size)

    def windows(a):
        if a.ndim == 0:
            return a.reshape(1)
        return jnp.moveaxis(jnp.take(a, positions, axis=axis), axis + 1, -1)

    return input._view(windows, overlaps=step < size)


def _strided_positions(shape: tuple, size, stride, storage_offset, name: str = "as_strided") -> np.ndarray:
    """The flat (row-major) positions an ``as_strided`` view reads, with torch's out-of-bounds error."""
    size, stride = tuple(_ints(size)), tuple(_ints(stride))
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"{name}: Negative strides are not supported at the moment, got strides: {list(stride)}")
    offset = 0 if storage_offset is None else operator.index(storage_offset)
    numel = int(np.prod(shape))
    needed = 0 if 0 in size else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if needed > numel:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
                           f"requiring a storage size of {needed} are out of bounds for storage of size {numel}")
    grids = np.meshgrid(*(np.arange(n) * s for n, s in zip(size, stride, strict=True)), indexing="ij")
    return (offset + sum(grids, np.zeros(size, np.int64))).astype(np.int32)


@_tensor_function(method=True)
def as_strided(input, size, stride, storage_offset=None) -> Tensor:
    """A view of the elements at ``storage_offset + sum(i_k * stride_k)`` of the tensor's row-major values.

    torchjax tensors are contiguous (``stride()`` reports row-major strides), so the values are the tensor's own;
    torch indexes the underlying storage, which is the same thing for a contiguous tensor (for a non-contiguous
    torch view it would read the base's memory layout instead)."""
    input = as_tensor(input)
    positions = _strided_positions(tuple(input.shape), size, stride, storage_offset)
    overlaps = len(np.unique(positions)) != positions.size
    return input._view(lambda a: a.reshape(-1)[positions], overlaps=overlaps)


# --- out-of-place scatters of views ---------------------------------------------------------------
def _view_scatter(name: str, input, src, view: Callable) -> Tensor:
    input, src = as_tensor(input), as_tensor(src)
    base = unwrap(input)
    selected = jax.eval_shape(view, jax.ShapeDtypeStruct(base.shape, base.dtype))
    if tuple(selected.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(selected.shape)}")
    return Tensor._wrap_array(_scatter_into(view, base, unwrap(src)))


@_tensor_function(method=True)
def select_scatter(input, src, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``input.select(dim, index)`` replaced by ``src`` (cast to ``input``'s dtype)."""
    input = as_tensor(input)
    axis = canonical_dim(dim, input.ndim)
    size = input.shape[axis]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size {list(input.shape)} at dimension "
                         f"{axis}")
    return _view_scatter("select_scatter", input, src, lambda a: jnp.take(a, index % size, axis=axis))


@_tensor_function(method=True)
def slice_scatter(input, src, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """A copy of ``input`` with the slice ``start:end:step`` along ``dim`` replaced by ``src``."""
    input = as_tensor(input)
    axis = canonical_dim(dim, input.ndim)
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    key = (slice(None),) * axis + (slice(start, end, step),)
    return _view_scatter("slice_scatter", input, src, lambda a: a[key])


@_tensor_function(method=True)
def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``."""
    input = as_tensor(input)
    d1, d2 = canonical_dim(dim1, input.ndim), canonical_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _view_scatter("diagonal_scatter", input, src, lambda a: jnp.diagonal(a, offset, d1, d2))


@_tensor_function(method=True)
def as_strided_scatter(input, src, size, stride, storage_offset=None) -> Tensor:
    """A copy of ``input`` with the elements :func:`as_strided` selects replaced by ``src``."""
    input = as_tensor(input)
    positions = _strided_positions(tuple(input.shape), size, stride, storage_offset)
    return _view_scatter("as_strided_scatter", input, src, lambda a: a.reshape(-1)[positions])


# --- *_copy: the view functions returning copies --------------------------------------------------
def _copy_of(name: str, view: Callable) -> None:
    def fn(input, *args, **kwargs):
        out = view(as_tensor(input), *args, **kwargs)
        if isinstance(out, tuple | list):
            return type(out)(t.clone() for t in out)
        return out.clone()

    fn.__doc__ = f"``torch.{name}``: what ``{name.removesuffix('_copy')}`` returns, as a new tensor (not a view)."
    _tensor_function(name)(fn)


for _name, _view in (
    ("alias_copy", lambda t: t), ("detach_copy", Tensor.detach), ("as_strided_copy", as_strided),
    ("diagonal_copy", Tensor.diagonal), ("expand_copy", Tensor.expand), ("permute_copy", Tensor.permute),
    ("select_copy", Tensor.select), ("split_copy", Tensor.split), ("split_with_sizes_copy", split_with_sizes),
    ("squeeze_copy", Tensor.squeeze), ("t_copy", Tensor.t), ("transpose_copy", Tensor.transpose),
    ("unbind_copy", Tensor.unbind), ("unfold_copy", unfold), ("unsqueeze_copy", Tensor.unsqueeze),
    ("view_copy", Tensor.view), ("narrow_copy", Tensor.narrow), ("view_as_real_copy", OPS["view_as_real"]),
    ("view_as_complex_copy", OPS["view_as_complex"]),
    ("slice_copy", lambda t, dim=0, start=None, end=None, step=1:
        t[(slice(None),) * canonical_dim(dim, t.ndim) + (slice(start, end, step),)]),
):
    _copy_of(_name, _view)
Tensor.narrow_copy = OPS["narrow_copy"]

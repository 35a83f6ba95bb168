"""``torchjax.Tensor``: torch's tensor type over a ``jax.Array``, and the one dispatch point.

A Tensor is a mutable box: ``_data`` holds the array (a tracer inside a transform). In-place
operations compute the new array functionally and rebind ``_data``, so every holder of the object
(a module's buffer, a tied weight, an optimizer's parameter list) sees the new value.

The dispatch point is :func:`dispatch`: unwrap Tensor arguments to arrays, apply torch's type
promotion where the op declares it, call one pure jax function, wrap the array results as Tensors.
Every Tensor method, operator, ``torchjax.*`` function and ``torchjax.nn.functional`` function goes
through it (``op`` declares an op, ``function`` wraps an array function), so the math stays in pure
array functions and nothing is written twice.

Views. JAX arrays never alias, so a torch view is emulated: a view remembers its base (the root
Tensor) and the function that selects it (``view_fn``). An in-place write through a view scatters the
new values into the base (the positions come from applying ``view_fn`` to an index map, so it is exact
for every dtype); a view whose base changed since it was last read recomputes itself from the base.
So ``y = x[0]; y.add_(1)`` changes ``x`` and ``x.zero_()`` changes ``y``, as in torch. Views are made by
``view``/``reshape`` (always a view here; torch copies a non-contiguous input), basic indexing,
``transpose``/``permute``/``t``/``T``, ``squeeze``/``unsqueeze``, ``narrow``/``select``/``split``/``chunk``/
``unbind``, ``diagonal``, ``unflatten``/``flatten``, ``expand`` (read-only, as in torch), ``detach`` and
``.data``.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _promotion
from ._device import as_dtype, check_dtype_supported, from_jax_device, get_default_dtype, to_jax_device
from ._device import scalar_type_name as _dtype_name
from ._promotion import Kind
from ._tensor_str import tensor_repr

__all__ = ["Tensor", "Size", "dispatch", "function", "op", "wrap", "unwrap", "is_tensor"]

_Tracer = jax.core.Tracer
_CPU = None  # torchjax.device('cpu'), set below (torch reports CPU tensors without an index)


class Size(tuple):
    """``torch.Size``: a tuple of ints (``x.size()``, ``x.shape``)."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        return tuple.__new__(cls, (operator.index(s) for s in sizes))

    def __repr__(self) -> str:
        return f"torchjax.Size([{', '.join(map(str, self))}])"

    def numel(self) -> int:
        return math.prod(self)

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))


# --- wrapping and unwrapping ----------------------------------------------------------------------
def _new(cls, data) -> Tensor:
    t = object.__new__(cls)
    t._data = data
    t._base = None
    t._requires_grad = False
    t._grad = None
    t._version = 0
    return t


def unwrap(value):
    """The array of a Tensor (fresh for a view); anything else unchanged."""
    if isinstance(value, Tensor):
        return value._data if value._base is None else value._fresh()
    return value


def _unwrap_arg(value):
    # One level into lists and tuples (torch.cat's sequence of tensors, index tuples).
    if isinstance(value, Tensor):
        return value._data if value._base is None else value._fresh()
    if type(value) in (list, tuple) and value and any(isinstance(v, Tensor) for v in value):
        return type(value)(unwrap(v) for v in value)
    return value


def wrap(value):
    """Arrays in ``value`` (also inside tuples, lists, named tuples and dicts) as Tensors."""
    if isinstance(value, jax.Array):
        return _new(Tensor, value)
    if isinstance(value, Tensor) or value is None:
        return value
    if isinstance(value, tuple):
        items = [wrap(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if type(value) is list:
        return [wrap(v) for v in value]
    if type(value) is dict:
        return {k: wrap(v) for k, v in value.items()}
    return value


def arrays(tree):
    """``tree`` with every Tensor replaced by its array (for JAX transforms' outputs)."""
    return jax.tree_util.tree_map(unwrap, tree, is_leaf=lambda x: isinstance(x, Tensor))


def is_tensor(obj) -> bool:
    """``torch.is_tensor``."""
    return isinstance(obj, Tensor)


def as_array(value, dtype=None) -> jax.Array:
    """A jax.Array from a Tensor, array, NumPy array, nested list or Python number."""
    value = unwrap(value)
    if isinstance(value, jax.Array) and (dtype is None or value.dtype == dtype):
        return value
    return jnp.asarray(value, dtype=dtype)


def tensor_arg(value, name: str, arg: str = "input", position: int = 1) -> Tensor:
    """``value`` as a Tensor for a function whose torch signature takes a Tensor there: a Tensor itself, a jax or
    NumPy array wrapped (no copy for jax); anything else torch's TypeError."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, jax.Array | np.ndarray):
        return _new(Tensor, jnp.asarray(value))
    raise TypeError(f"{name}(): argument '{arg}' (position {position}) must be Tensor, not {type(value).__name__}")


# --- the dispatch point ---------------------------------------------------------------------------
def dispatch(fn: Callable, args: tuple, kwargs: dict):
    """Call the array function ``fn`` on unwrapped arguments and wrap its array results.

    A function that returns its first argument's array unchanged returns that Tensor itself, as torch
    does (``F.dropout(x, training=False) is x``). A NumPy array as the first argument (torch's ``input``)
    becomes a jax array first, so the function sees the array type it is written for and returns a Tensor."""
    arrays = [_unwrap_arg(a) for a in args]
    if arrays and isinstance(arrays[0], np.ndarray) and arrays[0].dtype.kind in "biufc":
        arrays[0] = jnp.asarray(arrays[0])
    if kwargs:
        kwargs = {k: _unwrap_arg(v) for k, v in kwargs.items()}
    out = fn(*arrays, **kwargs)
    if arrays and out is arrays[0] and isinstance(args[0], Tensor):
        return args[0]
    return wrap(out)


def function(fn: Callable) -> Callable:
    """``fn`` (a function of arrays) taking Tensors and returning Tensors.

    An ``inplace=True`` argument, or a name ending in ``_`` (torch's in-place spellings such as
    ``F.relu_``), writes the result into the first argument and returns it. The arguments named in
    ``fn.tensor_args`` reach ``fn`` as given (Tensors), for functions that also update one of them in
    place (``F.embedding``'s ``max_norm`` renormalises the stored rows, as torch does).
    """
    name = fn.__name__
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    inplace_at = params.index("inplace") if "inplace" in params else None
    always_inplace = name.endswith("_") and not name.endswith("__")
    kept = getattr(fn, "tensor_args", ())
    kept_at = {params.index(n) for n in kept}

    def call(args, kwargs):
        if not kept:
            return dispatch(fn, args, kwargs)
        args = [a if i in kept_at else _unwrap_arg(a) for i, a in enumerate(args)]
        kwargs = {k: v if k in kept else _unwrap_arg(v) for k, v in kwargs.items()}
        return wrap(fn(*args, **kwargs))

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = call(args, kwargs)
        if always_inplace or (inplace_at is not None and (
                kwargs.get("inplace") if "inplace" in kwargs else len(args) > inplace_at and args[inplace_at])):
            target = args[0] if args else kwargs.get(params[0])
            if isinstance(target, Tensor) and isinstance(out, Tensor):
                target._write(out._data, name)
                return target
        return out

    wrapper.__wrapped_array_fn__ = fn
    return wrapper


OPS: dict[str, Callable] = {}  # torchjax.<name> for every op declared with ``op``


def _check_inplace_dtype(self: Tensor, result_dtype, name: str) -> None:
    if not _promotion.can_cast(result_dtype, self._data.dtype):
        raise RuntimeError(
            f"{name}: result type {_dtype_name(result_dtype)} can't be cast to the desired output type "
            f"{_dtype_name(self._data.dtype)}"
        )


def op(name: str | None = None, *, promote: Kind | None = None, args: Sequence[str] = ("input", "other"),
       method: bool | str = True, inplace: bool | str = False, namespace: bool = True,
       aliases: Sequence[str] = ()) -> Callable:
    """Declare a torch op implemented by an array function.

    Arguments:
        name: torch's name (default: the function's).
        promote: the elementwise promotion kind; the arguments named in ``args`` are cast to the
            computation dtype before the call (Python numbers stay weakly typed) and the result to the
            result dtype. None: no promotion (the function sees its arguments as given).
        method: also ``Tensor.<name>`` (or the given method name), with the tensor as first argument.
        inplace: also ``Tensor.<name>_`` (or the given name): computes, checks that the result dtype
            casts to the tensor's (torch's RuntimeError otherwise), writes into the tensor, returns it.
        namespace: also ``torchjax.<name>`` (collected in :data:`OPS`).
        aliases: further names for the same op (function and method).
    """

    def decorate(fn: Callable) -> Callable:
        op_name = name or fn.__name__
        params = list(inspect.signature(fn).parameters)
        positions = [(params.index(a), a) for a in args if a in params]

        # torch's argument parser takes NumPy's spellings too: sum(x, axis=0, keepdims=True).
        numpy_names = {k: v for k, v in (("axis", "dim"), ("keepdims", "keepdim")) if v in params}

        if promote is None:
            def public(*call_args, **kwargs):
                if numpy_names and kwargs:
                    kwargs = _numpy_spellings(kwargs, numpy_names)
                return dispatch(fn, call_args, kwargs)
        else:
            def public(*call_args, **kwargs):
                if numpy_names and kwargs:
                    kwargs = _numpy_spellings(kwargs, numpy_names)
                call_args = [_unwrap_arg(a) for a in call_args]
                kwargs = {k: _unwrap_arg(v) for k, v in kwargs.items()} if kwargs else kwargs
                operands = []
                for i, a in positions:
                    if i < len(call_args):
                        operands.append(call_args[i])
                    elif a in kwargs:
                        operands.append(kwargs[a])
                operands = [_as_operand(v) for v in operands]
                compute, result = _promotion.computation_and_result(promote, *operands)
                for i, a in positions:
                    if i < len(call_args):
                        call_args[i] = _cast_operand(call_args[i], compute)
                    elif a in kwargs:
                        kwargs[a] = _cast_operand(kwargs[a], compute)
                try:
                    out = fn(*call_args, **kwargs)
                except (TypeError, ValueError) as error:  # JAX's broadcasting error: torch's RuntimeError
                    mismatch = _broadcast_mismatch([np.shape(v) for v in operands if v is not None])
                    if mismatch is None:
                        raise
                    raise RuntimeError(mismatch) from error
                if isinstance(out, jax.Array) and out.dtype != result:
                    out = out.astype(result)
                return wrap(out)

        public.__name__ = public.__qualname__ = op_name
        public.__doc__ = fn.__doc__
        public.__wrapped_array_fn__ = fn
        public.promotion = promote
        if namespace:
            OPS[op_name] = public
            for alias in aliases:
                OPS[alias] = public
        if method:
            method_name = op_name if method is True else method
            for m in (method_name, *aliases):
                setattr(Tensor, m, public)
        if inplace:
            inplace_name = f"{op_name}_" if inplace is True else inplace

            def inplace_method(self, *call_args, **kwargs):
                out = public(self, *call_args, **kwargs)
                _check_inplace_shape(self, out, inplace_name)
                _check_inplace_dtype(self, out.dtype, inplace_name)
                self._write(out._data.astype(self._data.dtype), inplace_name)
                return self

            inplace_method.__name__ = inplace_name
            setattr(Tensor, inplace_name, inplace_method)
            for alias in aliases:
                setattr(Tensor, f"{alias}_", inplace_method)
        return public

    return decorate


def _broadcast_mismatch(shapes: list) -> str | None:
    """torch's message for the first pair of shapes that do not broadcast (dims counted from the right, as
    torch's ``infer_size`` checks them), or None when they all do."""
    shape = shapes[0] if shapes else ()
    for other in shapes[1:]:
        ndim = max(len(shape), len(other))
        merged = []
        for i in range(ndim - 1, -1, -1):
            a = shape[i - ndim + len(shape)] if i >= ndim - len(shape) else 1
            b = other[i - ndim + len(other)] if i >= ndim - len(other) else 1
            if a != b and a != 1 and b != 1:
                return (f"The size of tensor a ({a}) must match the size of tensor b ({b}) at non-singleton "
                        f"dimension {i}")
            merged.append(b if a == 1 else a)
        shape = tuple(reversed(merged))
    return None


def _numpy_spellings(kwargs: dict, names: dict) -> dict:
    if not any(k in kwargs for k in names):
        return kwargs
    return {names.get(k, k): v for k, v in kwargs.items()}


def _as_operand(value):
    if isinstance(value, jax.Array | np.ndarray) or _promotion.is_scalar(value) or value is None:
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    return jnp.asarray(value)


def _cast_operand(value, dtype):
    if _promotion.is_scalar(value) or value is None:
        # Weakly typed: JAX keeps the arrays' dtype. All-scalar calls still get a typed array.
        return value
    if isinstance(value, jax.Array):
        return value if value.dtype == dtype else value.astype(dtype)
    return jnp.asarray(value, dtype=dtype)


# --- views ----------------------------------------------------------------------------------------
_VIEW_STATE = frozenset({"_data", "_base", "_view_fn", "_view_write", "_base_version", "_view_overlaps", "_is_conj"})


def _scatter_into(view_fn: Callable, base: jax.Array, new: jax.Array) -> jax.Array:
    """``base`` with the positions that ``view_fn`` selects replaced by ``new`` (exact, any dtype)."""
    positions = view_fn(jnp.arange(base.size, dtype=jnp.int32).reshape(base.shape))
    flat = base.reshape(-1).at[positions.reshape(-1)].set(new.reshape(-1).astype(base.dtype))
    return flat.reshape(base.shape)


def _replace(value: jax.Array, new: jax.Array) -> jax.Array:
    """The inverse of the identity view."""
    return new


def _compose(fn: Callable, inner: Callable) -> Callable:
    return lambda a: fn(inner(a))


def _compose_write(parent_read: Callable, parent_write: Callable, inverse: Callable) -> Callable:
    """Write a view of a view: invert into the parent's value, then the parent into the root."""
    return lambda root, new: parent_write(root, inverse(parent_read(root), new))


class Tensor:
    """A torch tensor over a ``jax.Array``: ``torchjax.Tensor``.

    ``Tensor(data)`` builds a float tensor from a list or array (``torch.Tensor([1, 2])`` gives
    ``tensor([1., 2.])``); ``Tensor(*sizes)`` gives zeros of that shape. Prefer ``torchjax.tensor``.

    It is a registered pytree with one leaf, defines ``__jax_array__`` (``jnp`` functions take it)
    and ``jax()`` (the array, torchax's spelling).
    """

    # Reflected operators win over NumPy's: ndarray + Tensor gives a Tensor.
    __array_priority__ = 1000
    __array_ufunc__ = None

    def __init__(self, *args, **kwargs) -> None:
        device = kwargs.pop("device", None)
        if kwargs:
            raise TypeError(f"Tensor(): unexpected keyword arguments {sorted(kwargs)}")
        if len(args) == 1 and not isinstance(args[0], builtins.int):
            data = jnp.asarray(unwrap(args[0]))
            if not _promotion.category(data.dtype) >= 2 or data.dtype != get_default_dtype():
                data = data.astype(get_default_dtype())
        else:
            sizes = args[0] if len(args) == 1 and isinstance(args[0], Sequence) else args
            data = jnp.asarray(np.zeros(tuple(sizes), get_default_dtype()))
        if device is not None:
            data = jax.device_put(data, to_jax_device(device))
        self._data = data
        self._base = None
        self._requires_grad = False
        self._grad = None
        self._version = 0

    @classmethod
    def _wrap_array(cls, array) -> Tensor:
        return _new(cls, array)

    # jax.Array attributes with no torch meaning, passed through for JAX users (t.at, t.sharding, ...).
    _JAX_ATTRIBUTES = frozenset({"at", "astype", "block_until_ready", "sharding", "devices", "committed",
                                 "is_fully_replicated", "addressable_shards", "copy_to_host_async", "weak_type",
                                 "aval", "is_fully_addressable", "global_shards", "is_deleted", "delete",
                                 "unsafe_buffer_pointer", "on_device_size_in_bytes"})

    def __getattr__(self, name: str):
        # Only called when normal lookup fails.
        if name in Tensor._JAX_ATTRIBUTES:
            return getattr(unwrap(self), name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # --- the value -----------------------------------------------------------------------------
    def _fresh(self) -> jax.Array:
        """A view's value, recomputed when its base was written since it was last read."""
        base = self._base
        if self._base_version != base._version:
            self._data = self._view_fn(base._data)
            self._base_version = base._version
        return self._data

    def _write(self, value, name: str = "in-place operation", *, fill: bool = False) -> None:
        """Replace the value in place (same shape; cast to this dtype); writes through a view."""
        old = self._data if self._base is None else self._fresh()
        value = unwrap(value)
        if not isinstance(value, jax.Array) or value.dtype != old.dtype:
            value = jnp.asarray(value, dtype=old.dtype)
        if value.shape != old.shape:
            value = jnp.broadcast_to(value, old.shape)
        if self._base is None:
            self._data = _place_like(value, old)
            self._version += 1
            return
        if self._view_overlaps and not fill:  # one value everywhere is well defined (torch allows fill_)
            raise RuntimeError(
                f"{name}: unsupported operation: more than one element of the written-to tensor refers to a "
                "single memory location. Please clone() the tensor before performing the operation."
            )
        base = self._base
        base._data = _place_like(self._view_write(base._data, value), base._data)
        base._version += 1
        self._data, self._base_version = value, base._version

    def _rebind(self, array) -> None:
        """Hold ``array`` from now on (shape and dtype may change; a view stops being one)."""
        self._data = array
        self._base = None
        self._version += 1

    def _view(self, fn: Callable, *, overlaps: bool = False, inverse: Callable | None = None) -> Tensor:
        """A view of this tensor read by the array function ``fn``.

        ``inverse(value, new_view_value) -> new value`` writes the view back into this tensor's value.
        Selections (reshape, indexing, transpose, ...) need none: the default scatters into the positions
        ``fn`` selects. Views that change dtype or values (``view_as_real``, ``conj``) give theirs.
        """
        out = _new(Tensor, fn(unwrap(self)))
        if inverse is None:
            if self.__dict__.get("_is_conj"):  # a selection of a conjugated view is one too (torch's conj bit)
                out._is_conj = True
            inverse = _replace if fn is _identity else functools.partial(_scatter_into, fn)
        if self._base is None:
            root, read, write = self, fn, inverse
        else:
            root, outer_read, outer_write = self._base, self._view_fn, self._view_write
            read = fn if outer_read is _identity else _compose(fn, outer_read)
            write = outer_write if inverse is _replace else _compose_write(outer_read, outer_write, inverse)
        out._base = root
        out._view_fn = read
        out._view_write = write
        out._base_version = root._version
        out._view_overlaps = overlaps or (self._base is not None and self._view_overlaps)
        return out

    def jax(self) -> jax.Array:
        """The ``jax.Array`` (no copy)."""
        return unwrap(self)

    def __jax_array__(self) -> jax.Array:
        return unwrap(self)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(unwrap(self), dtype=dtype)

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """A NumPy copy (JAX arrays are immutable: torch's shared-memory ``numpy()`` cannot be had)."""
        return np.asarray(unwrap(self))

    def tolist(self):
        return np.asarray(unwrap(self)).tolist()

    def item(self):
        data = unwrap(self)
        if data.size != 1:
            raise RuntimeError(f"a Tensor with {data.size} elements cannot be converted to Scalar")
        return np.asarray(data).reshape(()).item()

    # --- attributes ----------------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """A detached view sharing this tensor's value (writes through it change this tensor)."""
        return self._view(_identity)

    @data.setter
    def data(self, value) -> None:
        self._data = as_array(value)
        self._version += 1

    @property
    def shape(self) -> Size:
        return Size(unwrap(self).shape)

    def size(self, dim: int | None = None):
        shape = unwrap(self).shape
        if dim is None:
            return Size(shape)
        return shape[canonical_dim(dim, len(shape))]

    def dim(self) -> int:
        return unwrap(self).ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return unwrap(self).ndim

    def numel(self) -> int:
        return builtins.int(unwrap(self).size)

    nelement = numel

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(unwrap(self).dtype)

    @property
    def device(self):
        data = unwrap(self)
        if isinstance(data, _Tracer):
            return from_jax_device(jax.devices()[0])
        dev = next(iter(data.devices()))
        return _CPU if dev.platform == "cpu" else from_jax_device(dev)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    is_sparse = False
    is_quantized = False
    is_meta = False
    is_mkldnn = False

    def get_device(self) -> int:
        dev = self.device
        return -1 if dev.type == "cpu" else (dev.index or 0)

    def element_size(self) -> int:
        return np.dtype(unwrap(self).dtype).itemsize

    def nbytes_(self) -> int:
        return self.numel() * self.element_size()

    @property
    def itemsize(self) -> int:
        return self.element_size()

    @property
    def nbytes(self) -> int:
        return self.numel() * self.element_size()

    def is_floating_point(self) -> bool:
        return _promotion.category(unwrap(self).dtype) == 2

    def is_complex(self) -> bool:
        return _promotion.category(unwrap(self).dtype) == 3

    def is_signed(self) -> bool:
        return np.dtype(unwrap(self).dtype).kind in "ifc"

    def is_contiguous(self, memory_format=None) -> bool:
        return True

    def contiguous(self, memory_format=None) -> Tensor:
        return self

    def stride(self, dim: int | None = None):
        """Row-major strides of the value (JAX does not expose layouts; views report their own shape's)."""
        shape = unwrap(self).shape
        strides, acc = [], 1
        for s in reversed(shape):
            strides.append(acc)
            acc *= max(s, 1)
        strides = tuple(reversed(strides))
        return strides if dim is None else strides[canonical_dim(dim, len(shape))]

    # --- autograd fields (the tape arrives with torch-style autograd) ----------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and _promotion.category(unwrap(self).dtype) < 2:
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = builtins.bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        self._grad = value if value is None or isinstance(value, Tensor) else _new(Tensor, as_array(value))

    @property
    def is_leaf(self) -> bool:
        return True

    @property
    def grad_fn(self):
        return None

    def detach(self) -> Tensor:
        """A view that shares the value and requires no grad."""
        return self._view(_identity)

    def detach_(self) -> Tensor:
        self._requires_grad = False
        return self

    def clone(self, *, memory_format=None) -> Tensor:
        return _new(Tensor, jnp.array(unwrap(self), copy=True))

    # --- Python protocols ------------------------------------------------------------------------
    __hash__ = object.__hash__

    def __len__(self) -> int:
        shape = unwrap(self).shape
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        return shape[0]

    def __iter__(self):
        data = unwrap(self)
        if data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self.select(0, i) for i in range(data.shape[0]))

    def __bool__(self) -> bool:
        data = unwrap(self)
        if data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return builtins.bool(data.reshape(()))

    def __float__(self) -> float:
        return builtins.float(self.item()) if not isinstance(unwrap(self), _Tracer) else builtins.float(unwrap(self))

    def __int__(self) -> int:
        return builtins.int(self.item()) if not isinstance(unwrap(self), _Tracer) else builtins.int(unwrap(self))

    def __complex__(self) -> complex:
        return builtins.complex(self.item())

    def __index__(self) -> int:
        data = unwrap(self)
        if _promotion.category(data.dtype) != 1 or data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return operator.index(data.reshape(()))

    def __format__(self, spec: str) -> str:
        if spec and unwrap(self).ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __repr__(self) -> str:
        name = "Tensor" if type(self) is Tensor else type(self).__name__
        return tensor_repr(unwrap(self), name, self.requires_grad)

    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor, (np.asarray(unwrap(self)), self._requires_grad))

    def __deepcopy__(self, memo):
        out = _new(type(self), jnp.array(unwrap(self), copy=True))
        out.__dict__.update({k: v for k, v in self.__dict__.items()
                             if k not in _VIEW_STATE})
        out._base = None
        memo[id(self)] = out
        return out

    # --- conversions -----------------------------------------------------------------------------
    def to(self, *args, **kwargs) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``; returns self when nothing changes."""
        data = unwrap(self)
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if arg is None or isinstance(arg, builtins.bool):
                continue
            if isinstance(arg, Tensor | jax.Array):
                dtype = arg.dtype
                continue
            try:
                dtype = as_dtype(arg)
            except TypeError:
                device = arg
        value = data
        if dtype is not None:
            dtype = check_dtype_supported(as_dtype(dtype), "Tensor.to")
            if dtype != data.dtype:
                value = value.astype(dtype)
        if device is not None and not isinstance(value, _Tracer):
            target = to_jax_device(device)
            if target not in value.devices() or len(value.devices()) != 1:
                value = jax.device_put(value, target)
        if value is data and not copy:
            return self
        return _new(Tensor, value if value is not data else jnp.array(data, copy=True))

    def type(self, dtype=None, non_blocking: bool = False):
        if dtype is None:
            return f"torchjax.{_dtype_name(unwrap(self).dtype)}Tensor"
        return self.to(dtype)

    def type_as(self, other) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def half(self) -> Tensor:
        return self.to(np.float16)

    def bfloat16(self) -> Tensor:
        return self.to(jnp.bfloat16)

    def long(self) -> Tensor:
        return self.to(_promotion.long_dtype())

    def int(self) -> Tensor:
        return self.to(np.int32)

    def short(self) -> Tensor:
        return self.to(np.int16)

    def char(self) -> Tensor:
        return self.to(np.int8)

    def byte(self) -> Tensor:
        return self.to(np.uint8)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def cfloat(self) -> Tensor:
        return self.to(np.complex64)

    def cpu(self, memory_format=None) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
        return self.to("cuda" if device is None else (device if not isinstance(device, builtins.int)
                                                       else f"cuda:{device}"))

    # --- new_* -----------------------------------------------------------------------------------
    def _new_dtype(self, dtype, name: str) -> np.dtype:
        return unwrap(self).dtype if dtype is None else check_dtype_supported(as_dtype(dtype), f"Tensor.{name}")

    def _new_like(self, value, device, requires_grad: bool) -> Tensor:
        value = jnp.asarray(value)
        if device is not None:
            value = jax.device_put(value, to_jax_device(device))
        out = _new(Tensor, _place_like(value, unwrap(self)) if device is None else value)
        return out.requires_grad_() if requires_grad else out

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False, **_) -> Tensor:
        return self._new_like(np.zeros(_sizes(size), self._new_dtype(dtype, "new_zeros")), device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False, **_) -> Tensor:
        return self._new_like(np.ones(_sizes(size), self._new_dtype(dtype, "new_ones")), device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False, **_) -> Tensor:
        return self._new_like(np.zeros(_sizes(size), self._new_dtype(dtype, "new_empty")), device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False, **_) -> Tensor:
        return self._new_like(jnp.full(_sizes((size,)), unwrap(fill_value), self._new_dtype(dtype, "new_full")),
                              device, requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return self._new_like(np.array(np.asarray(unwrap(data)), self._new_dtype(dtype, "new_tensor")), device,
                              requires_grad)

    # --- shape and view methods ------------------------------------------------------------------
    def view(self, *shape) -> Tensor:
        """A view with a new shape (one entry may be -1), or ``view(dtype)``: the bits reinterpreted."""
        if len(shape) == 1 and not isinstance(shape[0], builtins.int | Sequence | Tensor):
            dtype = as_dtype(shape[0])
            return self._view(lambda a: _bitcast(a, dtype))
        size = infer_size(_sizes(shape), unwrap(self).size, "view")
        return self._view(lambda a: a.reshape(size))

    def view_as(self, other) -> Tensor:
        return self.view(tuple(other.shape))

    def reshape(self, *shape) -> Tensor:
        size = infer_size(_sizes(shape), unwrap(self).size, "reshape")
        return self._view(lambda a: a.reshape(size))

    def reshape_as(self, other) -> Tensor:
        return self.reshape(tuple(other.shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = unwrap(self).shape
        if not shape:
            canonical_dim(start_dim, 0), canonical_dim(end_dim, 0)
            return self.reshape(1)
        start, end = canonical_dim(start_dim, len(shape)), canonical_dim(end_dim, len(shape))
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if start == end:
            return self
        return self.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def unflatten(self, dim: int, sizes) -> Tensor:
        shape = unwrap(self).shape
        if len(sizes) == 0:
            raise RuntimeError("unflatten: sizes must be non-empty")
        axis = canonical_dim(dim, len(shape))
        sizes = [builtins.int(s) for s in sizes]
        inferred = [i for i, s in enumerate(sizes) if s == -1]
        if len(inferred) > 1:
            raise RuntimeError("only one dimension can be inferred")
        known = math.prod(s for s in sizes if s != -1)
        if inferred:
            if known == 0 or shape[axis] % known:
                raise RuntimeError(f"shape '{sizes}' is invalid for input of size {shape[axis]}")
            sizes[inferred[0]] = shape[axis] // known
        elif known != shape[axis]:
            raise RuntimeError(
                f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {dim} "
                f"({shape[axis]}) in the input tensor"
            )
        return self.reshape(shape[:axis] + tuple(sizes) + shape[axis + 1:])

    def permute(self, *dims) -> Tensor:
        dims = _sizes(dims)
        ndim = unwrap(self).ndim
        if len(dims) != ndim:
            raise RuntimeError(
                f"permute(sparse_coo): number of dimensions in the tensor input does not match the length of "
                f"the desired ordering of dimensions i.e. input.dim() = {ndim} is not equal to len(dims) = "
                f"{len(dims)}")
        axes = tuple(canonical_dim(d, ndim) for d in dims)
        if len(set(axes)) != len(axes):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return self._view(lambda a: jnp.transpose(a, axes))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        ndim = unwrap(self).ndim
        d0, d1 = canonical_dim(dim0, ndim), canonical_dim(dim1, ndim)
        if d0 == d1:
            return self._view(_identity)
        return self._view(lambda a: jnp.swapaxes(a, d0, d1))

    swapaxes = swapdims = transpose

    def t(self) -> Tensor:
        ndim = unwrap(self).ndim
        if ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
        return self.transpose(0, 1) if ndim == 2 else self._view(_identity)

    @property
    def T(self) -> Tensor:
        ndim = unwrap(self).ndim
        return self.permute(*range(ndim - 1, -1, -1)) if ndim > 1 else self._view(_identity)

    @property
    def mT(self) -> Tensor:
        if unwrap(self).ndim < 2:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
        return self.transpose(-2, -1)

    @property
    def H(self) -> Tensor:
        return self.T.conj() if self.is_complex() else self.T

    @property
    def mH(self) -> Tensor:
        return self.mT.conj() if self.is_complex() else self.mT

    adjoint = property(lambda self: self.mH).fget

    def squeeze(self, dim=None) -> Tensor:
        shape = unwrap(self).shape
        if dim is None:
            axes = tuple(i for i, s in enumerate(shape) if s == 1)
        else:
            dims = (dim,) if isinstance(dim, builtins.int) else tuple(dim)
            axes = tuple(a for a in (canonical_dim(d, len(shape)) for d in dims) if shape and shape[a] == 1)
        if not axes:
            return self._view(_identity)
        return self._view(lambda a: jnp.squeeze(a, axes))

    def unsqueeze(self, dim: int) -> Tensor:
        ndim = unwrap(self).ndim
        axis = canonical_dim(dim, ndim + 1)
        return self._view(lambda a: jnp.expand_dims(a, axis))

    def expand(self, *sizes) -> Tensor:
        sizes = _sizes(sizes)
        shape = unwrap(self).shape
        if len(sizes) < len(shape):
            raise RuntimeError(
                f"expand(torchjax.{_dtype_name(unwrap(self).dtype)}Tensor{{{list(shape)}}}, size={list(sizes)}): "
                f"the number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
                f"dimensions in the tensor ({len(shape)})")
        lead = len(sizes) - len(shape)
        target = []
        for i, s in enumerate(sizes):
            if i < lead:
                if s < 0:
                    raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                       f"non-existing dimension {i}")
                target.append(s)
                continue
            have = shape[i - lead]
            if s == -1:
                target.append(have)
            elif have != 1 and s != have:
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) must match the existing size ({have}) at non-singleton "
                    f"dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}")
            else:
                target.append(s)
        target = tuple(target)
        if target == tuple(shape):
            return self._view(_identity)
        return self._view(lambda a: jnp.broadcast_to(a, target), overlaps=True)

    def expand_as(self, other) -> Tensor:
        return self.expand(tuple(other.shape))

    def narrow(self, dim: int, start, length: int) -> Tensor:
        shape = unwrap(self).shape
        axis = canonical_dim(dim, len(shape))
        start = builtins.int(unwrap(start))
        if not -shape[axis] <= start <= shape[axis]:
            raise IndexError(f"start out of range (expected to be in range of [{-shape[axis]}, {shape[axis]}], "
                             f"but got {start})")
        if start < 0:
            start += shape[axis]
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        if start + length > shape[axis]:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({shape[axis]}).")
        index = (slice(None),) * axis + (slice(start, start + length),)
        return self._view(lambda a: a[index])

    def select(self, dim: int, index: int) -> Tensor:
        shape = unwrap(self).shape
        if not shape:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        axis = canonical_dim(dim, len(shape))
        index = builtins.int(index)
        if not -shape[axis] <= index < shape[axis]:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(shape)} at "
                             f"dimension {axis}")
        key = (slice(None),) * axis + (index % shape[axis],)
        return self._view(lambda a: a[key])

    def split(self, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
        shape = unwrap(self).shape
        axis = canonical_dim(dim, len(shape))
        size = shape[axis]
        if isinstance(split_size_or_sections, builtins.int):
            step = split_size_or_sections
            if step < 0 or (step == 0 and size != 0):
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of "
                                   f"{size}")
            sections = [min(step, size - s) for s in range(0, size, step)] if step else [0]
        else:
            sections = [builtins.int(s) for s in split_size_or_sections]
            if sum(sections) != size:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                                   f"size at dimension {axis}), but got split_sizes={sections}")
        out, start = [], 0
        for length in sections:
            out.append(self.narrow(axis, start, length))
            start += length
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        if chunks <= 0:
            raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
        size = unwrap(self).shape[canonical_dim(dim, unwrap(self).ndim)]
        return self.split(max(-(-size // chunks), 1) if size else 1, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        shape = unwrap(self).shape
        axis = canonical_dim(dim, len(shape))
        return tuple(self.select(axis, i) for i in range(shape[axis]))

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        ndim = unwrap(self).ndim
        d1, d2 = canonical_dim(dim1, ndim), canonical_dim(dim2, ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return self._view(lambda a: jnp.diagonal(a, offset, d1, d2))

    # --- indexing --------------------------------------------------------------------------------
    def __getitem__(self, index) -> Tensor:
        data = unwrap(self)
        key, basic = _index_key(index, data.shape)
        if basic:
            return self._view(lambda a: a[key])
        split = _split_integers(key)
        if split is not None:
            return _new(Tensor, data[split[0]][split[1]])
        return _new(Tensor, data[key])

    def __setitem__(self, index, value) -> None:
        data = unwrap(self)
        value = unwrap(value)
        if _promotion.is_scalar(value):
            value = _setitem_scalar(value, data.dtype)
        else:
            value = as_array(value)
        mask = _whole_mask(index, data)
        if mask is not None:
            # A boolean mask of the leading dims with a broadcastable value: one where(), also under jit.
            value = jnp.asarray(value, data.dtype)
            expanded = mask.reshape(mask.shape + (1,) * (data.ndim - mask.ndim))
            if value.ndim == 0 or (value.ndim <= data.ndim - mask.ndim):
                self._write(jnp.where(expanded, value, data), "__setitem__")
                return
        key, _ = _index_key(index, data.shape)
        value = jnp.asarray(value, data.dtype) if not _promotion.is_scalar(value) else value
        split = _split_integers(key)
        if split is not None:
            positions = jnp.arange(data.size, dtype=jnp.int32).reshape(data.shape)[split[0]][split[1]]
            flat = data.reshape(-1).at[positions.reshape(-1)].set(jnp.broadcast_to(value, positions.shape).reshape(-1))
            self._write(flat.reshape(data.shape), "__setitem__")
            return
        self._write(data.at[key].set(value), "__setitem__")

    def index_put_(self, indices, values, accumulate: bool = False) -> Tensor:
        data = unwrap(self)
        key, _ = _index_key(tuple(indices), data.shape)
        values = as_array(values, data.dtype)
        self._write(data.at[key].add(values) if accumulate else data.at[key].set(values), "index_put_")
        return self

    def index_put(self, indices, values, accumulate: bool = False) -> Tensor:
        return self.clone().index_put_(indices, values, accumulate)

    # --- in place --------------------------------------------------------------------------------
    def copy_(self, src, non_blocking: bool = False) -> Tensor:
        """Copy ``src`` (broadcast to this shape, cast to this dtype) into this tensor."""
        data = unwrap(self)
        value = as_array(src)
        try:
            np.broadcast_shapes(value.shape, data.shape)
        except ValueError:
            raise RuntimeError(
                f"copy_: the source of shape {tuple(value.shape)} cannot be broadcast to the "
                f"destination's shape {tuple(data.shape)}"
            ) from None
        # A real copy, as torch makes: a donating compiled step must not invalidate the source.
        self._write(jnp.array(value, dtype=data.dtype, copy=True), "copy_")
        return self

    def fill_(self, value) -> Tensor:
        data = unwrap(self)
        value = unwrap(value)
        if isinstance(value, jax.Array) and value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        if _promotion.is_scalar(value):
            value = _promotion.checked_convert(value, data.dtype)
        self._write(jnp.full(data.shape, value, data.dtype), "fill_", fill=True)
        return self

    def zero_(self) -> Tensor:
        data = unwrap(self)
        self._write(jnp.zeros(data.shape, data.dtype), "zero_", fill=True)
        return self

    def set_(self, source) -> Tensor:
        self._data = as_array(source)
        self._version += 1
        return self


def _identity(a):
    return a


def _bitcast(a: jax.Array, dtype) -> jax.Array:
    old, new = np.dtype(a.dtype).itemsize, np.dtype(dtype).itemsize
    if old == new:
        return jax.lax.bitcast_convert_type(a, dtype)
    if a.ndim == 0 or (a.shape[-1] * old) % new:
        raise RuntimeError(
            f"self.size(-1) must be divisible by {new // old if new > old else 1} to view "
            f"{a.dtype} as {np.dtype(dtype)} (different element sizes), but got {a.shape[-1] if a.ndim else 0}")
    if new < old:
        out = jax.lax.bitcast_convert_type(a, dtype)  # (..., n, old/new)
        return out.reshape(*a.shape[:-1], a.shape[-1] * (old // new))
    grouped = a.reshape(*a.shape[:-1], a.shape[-1] * old // new, new // old)
    return jax.lax.bitcast_convert_type(grouped, dtype)


def _place_like(value: jax.Array, like) -> jax.Array:
    """Put ``value`` where ``like`` lives when ``like`` was placed explicitly (a device or sharding)."""
    if isinstance(like, jax.Array) and not isinstance(like, _Tracer) and like.committed:
        if isinstance(value, _Tracer) or value.sharding != like.sharding:
            return jax.device_put(value, like.sharding)
    return value


_REDUCED_FLOATS = (np.dtype(np.float16), np.dtype(jnp.bfloat16))


def _setitem_scalar(value, dtype) -> np.generic:
    """A number written by ``x[index] = value``, in ``dtype`` as torch converts it: checked, except that
    torch's indexing writes into a float16/bfloat16 tensor without the range check (1e6 becomes inf)."""
    if dtype in _REDUCED_FLOATS and not isinstance(value, builtins.complex):
        with np.errstate(over="ignore"):
            return np.float64(value).astype(dtype)
    return _promotion.checked_convert(value, dtype)


def _rebuild_tensor(array, requires_grad):
    t = _new(Tensor, jnp.asarray(array))
    t._requires_grad = requires_grad
    return t


def _sizes(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], Sequence | Tensor | jax.Array | np.ndarray):
        size = size[0]
        if isinstance(size, Tensor | jax.Array | np.ndarray):
            return tuple(builtins.int(s) for s in np.asarray(unwrap(size)).reshape(-1))
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = unwrap(s)
        try:
            out.append(operator.index(s))
        except TypeError:
            raise TypeError(f"expected a tuple of ints for the size, but found element of type "
                            f"{type(s).__name__}") from None
    return tuple(out)


def infer_size(shape: tuple, numel: int, name: str = "view") -> tuple:
    """``shape`` with its one ``-1`` filled in; torch's RuntimeError when it does not fit ``numel``."""
    inferred = [i for i, s in enumerate(shape) if s == -1]
    if len(inferred) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if inferred:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[:inferred[0]] + (numel // known,) + shape[inferred[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def canonical_dim(dim: int, ndim: int) -> int:
    """``dim`` as a non-negative axis; IndexError with torch's message when out of range."""
    try:
        dim = operator.index(dim)
    except TypeError:
        raise TypeError(f"dim must be an int, got {type(dim).__name__}") from None
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {dim})")
    return dim % bound


# --- indexing rules -------------------------------------------------------------------------------
def _index_key(index, shape: tuple) -> tuple[tuple, bool]:
    """torch's index as a JAX index tuple, and whether it is basic (a view).

    Checks what JAX would silently clamp: an integer out of range (IndexError, torch's message), a
    concrete integer tensor out of range, a negative slice step (torch's ValueError).
    """
    items = index if type(index) is tuple else (index,)
    key: list = []
    basic = True
    # Which dimension each item indexes, for the range checks.
    n_consumed = sum(_consumes(item) for item in items)
    dim = 0
    for item in items:
        if isinstance(item, Tensor):
            item = unwrap(item)
        if item is None:
            key.append(None)
            continue
        if item is Ellipsis:
            key.append(Ellipsis)
            dim += len(shape) - n_consumed
            continue
        if isinstance(item, builtins.bool):
            basic = False
            key.append(item)
            continue
        if isinstance(item, builtins.int | np.integer):
            item = builtins.int(item)
            if dim >= len(shape):
                raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
            size = shape[dim]
            if not -size <= item < size:
                raise IndexError(f"index {item} is out of bounds for dimension {dim} with size {size}")
            key.append(item)
            dim += 1
            continue
        if isinstance(item, slice):
            if item.step is not None and unwrap(item.step) is not None and _int(item.step) <= 0:
                if _int(item.step) == 0:
                    raise ValueError("slice step cannot be zero")
                raise ValueError("step must be greater than zero")
            key.append(slice(_int(item.start), _int(item.stop), _int(item.step)))
            dim += 1
            continue
        # Advanced: lists, arrays, integer or boolean tensors.
        basic = False
        if isinstance(item, list | tuple):
            item = np.asarray([unwrap(v) for v in item]) if item else np.zeros((0,), np.int32)
        if isinstance(item, np.ndarray | jax.Array):
            if item.dtype == np.bool_:
                if item.ndim and dim + item.ndim <= len(shape):
                    for k, s in enumerate(item.shape):
                        if s != shape[dim + k]:
                            raise IndexError(f"The shape of the mask [{', '.join(map(str, item.shape))}] at index "
                                             f"{k} does not match the shape of the indexed tensor "
                                             f"[{', '.join(map(str, shape))}] at index {dim + k}")
                dim += max(item.ndim, 0)
            else:
                if _promotion.category(item.dtype) != 1:
                    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
                if dim < len(shape) and not isinstance(item, _Tracer) and item.size:
                    size = shape[dim]
                    lo, hi = builtins.int(np.min(np.asarray(item))), builtins.int(np.max(np.asarray(item)))
                    if lo < -size or hi >= size:
                        bad = hi if hi >= size else lo
                        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
                dim += 1
            key.append(item)
            continue
        raise IndexError(
            "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices "
            f"(got {type(item).__name__})")
    if dim > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    return tuple(key), basic


def _split_integers(key: tuple):
    """torch applies integer indices first (as basic indexing), then the advanced ones; NumPy (and JAX)
    count integers as advanced indices, which moves dimensions differently. None when no integer mixes
    with an advanced index."""
    def is_int(k):
        return isinstance(k, builtins.int) and not isinstance(k, builtins.bool)

    def is_basic(k):
        return k is None or k is Ellipsis or is_int(k) or isinstance(k, slice)

    if not any(is_int(k) for k in key) or all(is_basic(k) for k in key):
        return None
    first = tuple(k if is_basic(k) else slice(None) for k in key)
    rest = tuple(slice(None) if (k is None or isinstance(k, slice)) else k for k in key if not is_int(k))
    return first, rest


def _int(value):
    value = unwrap(value)
    return None if value is None else operator.index(value)


def _consumes(item) -> int:
    if item is None or item is Ellipsis or isinstance(item, builtins.bool):
        return 0
    if isinstance(item, Tensor):
        item = unwrap(item)
    if isinstance(item, np.ndarray | jax.Array) and item.dtype == np.bool_:
        return item.ndim
    return 1


def _whole_mask(index, data):
    """The boolean mask when ``index`` is one boolean tensor over the leading dimensions."""
    if isinstance(index, Tensor):
        index = unwrap(index)
    if isinstance(index, jax.Array | np.ndarray) and index.dtype == np.bool_ and 0 < index.ndim <= data.ndim \
            and tuple(index.shape) == tuple(data.shape[:index.ndim]):
        return jnp.asarray(index)
    return None


# --- operators ------------------------------------------------------------------------------------
def _binary_op(jnp_fn, kind: Kind, name: str, *, reflected: bool = False, check=None):
    def array_fn(input, other):
        if check is not None:
            check(input, other)
        return jnp_fn(other, input) if reflected else jnp_fn(input, other)

    array_fn.__name__ = name
    return op(name, promote=kind, method=False, namespace=False)(array_fn)


def _no_bool_sub(a, b):
    if getattr(a, "dtype", None) == np.bool_ and getattr(b, "dtype", None) == np.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")


def _integral_only(name):
    def check(a, b):
        for v in (a, b):
            if isinstance(v, jax.Array) and _promotion.category(v.dtype) >= 2:
                raise RuntimeError(f"\"{name}_cpu\" not implemented for '{_dtype_name(v.dtype)}'")
            if isinstance(v, builtins.float):
                raise TypeError(f"unsupported operand type(s) for {name}: float")
    return check


def _matmul(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_dtype_name(a.dtype)} != "
                           f"{_dtype_name(b.dtype)}")
    return jnp.matmul(a, b)


def _install_operators() -> None:
    table = [
        ("add", jnp.add, Kind.DEFAULT, None), ("sub", jnp.subtract, Kind.DEFAULT, _no_bool_sub),
        ("mul", jnp.multiply, Kind.DEFAULT, None), ("truediv", jnp.true_divide, Kind.INT_TO_FLOAT, None),
        ("floordiv", jnp.floor_divide, Kind.DEFAULT, None), ("mod", jnp.remainder, Kind.DEFAULT, None),
        ("pow", jnp.power, Kind.DEFAULT, None),
        ("and", jnp.bitwise_and, Kind.DEFAULT, _integral_only("bitwise_and")),
        ("or", jnp.bitwise_or, Kind.DEFAULT, _integral_only("bitwise_or")),
        ("xor", jnp.bitwise_xor, Kind.DEFAULT, _integral_only("bitwise_xor")),
        ("lshift", jnp.left_shift, Kind.DEFAULT, _integral_only("lshift")),
        ("rshift", jnp.right_shift, Kind.DEFAULT, _integral_only("rshift")),
    ]
    for name, fn, kind, check in table:
        forward = _binary_op(fn, kind, f"__{name}__", check=check)
        reflected = _binary_op(fn, kind, f"__r{name}__", reflected=True, check=check)
        setattr(Tensor, f"__{name}__", forward)
        setattr(Tensor, f"__r{name}__", reflected)
        setattr(Tensor, f"__i{name}__", _inplace_operator(forward, f"__i{name}__"))
    for name, fn in (("lt", jnp.less), ("le", jnp.less_equal), ("gt", jnp.greater), ("ge", jnp.greater_equal),
                     ("eq", jnp.equal), ("ne", jnp.not_equal)):
        setattr(Tensor, f"__{name}__", _binary_op(fn, Kind.ALWAYS_BOOL, f"__{name}__"))
    matmul = op("__matmul__", method=False, namespace=False)(lambda input, other: _matmul(input, other))
    rmatmul = op("__rmatmul__", method=False, namespace=False)(lambda input, other: _matmul(other, input))
    Tensor.__matmul__, Tensor.__rmatmul__ = matmul, rmatmul
    Tensor.__imatmul__ = _inplace_operator(matmul, "__imatmul__")

    def neg(input):
        if input.dtype == np.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                               "invert a mask, use the `~` or `logical_not()` operator instead.")
        return jnp.negative(input)

    def invert(input):
        if _promotion.category(input.dtype) >= 2:
            raise TypeError(f"~ (bitwise_not) is only implemented for integer and boolean tensors, got "
                            f"{_dtype_name(input.dtype)}")
        return jnp.invert(input)

    Tensor.__neg__ = op("__neg__", method=False, namespace=False)(neg)
    Tensor.__pos__ = op("__pos__", method=False, namespace=False)(lambda input: input)
    Tensor.__invert__ = op("__invert__", method=False, namespace=False)(invert)
    Tensor.__abs__ = op("__abs__", method=False, namespace=False)(jnp.abs)
    Tensor.__divmod__ = lambda self, other: (self // other, self % other)


def bind_operators() -> None:
    """Operators whose torch rules need the named op's checks (bool subtraction, integer powers, bitwise
    kernels, matmul's shape errors): ``x - y`` is ``torchjax.sub(x, y)``, one implementation. Called once the
    families are loaded."""
    for dunder, name in (("sub", "sub"), ("pow", "pow"), ("and", "bitwise_and"), ("or", "bitwise_or"),
                         ("xor", "bitwise_xor"), ("lshift", "bitwise_left_shift"),
                         ("rshift", "bitwise_right_shift")):
        forward = (lambda fn: lambda self, other: fn(self, other))(OPS[name])
        setattr(Tensor, f"__{dunder}__", forward)
        setattr(Tensor, f"__i{dunder}__", _inplace_operator(forward, f"__i{dunder}__"))
    Tensor.__matmul__ = lambda self, other: OPS["matmul"](self, other)
    Tensor.__rmatmul__ = lambda self, other: OPS["matmul"](other, self)
    Tensor.__imatmul__ = _inplace_operator(Tensor.__matmul__, "__imatmul__")
    Tensor.__rsub__ = lambda self, other: OPS["rsub"](self, other)
    Tensor.__rpow__ = lambda self, other: OPS["pow"](other, self)


def _check_inplace_shape(self: Tensor, out, name: str) -> None:
    if tuple(out.shape) != tuple(unwrap(self).shape):
        raise RuntimeError(f"{name}: output with shape {list(unwrap(self).shape)} doesn't match the broadcast shape "
                           f"{list(out.shape)}")


def _inplace_operator(forward, name):
    def method(self, other):
        out = forward(self, other)
        _check_inplace_shape(self, out, name)
        _check_inplace_dtype(self, out.dtype, name)
        self._write(unwrap(out), name)
        return self

    method.__name__ = name
    return method


_install_operators()

jax.tree_util.register_pytree_node(
    Tensor,
    lambda t: ((unwrap(t),), None),
    # Unflatten must accept any leaf (tracers, None, sentinels).
    lambda _, leaves: _new(Tensor, leaves[0]),
)


class _ReturnTypes:
    """``torch.return_types``: the named tuples of ``max(dim)``, ``sort``, ``topk``, ..."""


def return_type(name: str, fields: Sequence[str]) -> type:
    cls = NamedTuple(name, [(f, Any) for f in fields])
    cls.__module__ = "torchjax.return_types"
    setattr(_ReturnTypes, name, cls)
    return cls


return_types = _ReturnTypes

from ._device import device as _device_cls  # noqa: E402

_CPU = _device_cls("cpu")

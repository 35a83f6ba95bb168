"""Parameter, Buffer and their uninitialized (lazy) forms.

A :class:`Parameter` is a small mutable box around an immutable ``jax.Array``: ``.data`` (the
array), ``.grad`` (array or None) and ``.requires_grad``. Rebinding ``.data`` is how every
"in-place" update works (``fill_``, ``copy_``, an optimizer step, ``load_state_dict``), so all
references to the Parameter (tied weights, optimizer param groups) see the new value.

It is a pytree node with the single leaf ``data`` and defines ``__jax_array__``; together these
let ``jnp`` functions and arithmetic take a Parameter directly. ``lax`` primitives do not accept
it: pass ``p.data`` there (``torchjax.nn.functional`` does this for you).
"""

from __future__ import annotations

import functools
import math
import operator

import jax
import jax.numpy as jnp
import numpy as np

from .. import _tracking
from .._device import as_dtype, check_dtype_supported, get_default_dtype, to_jax_device

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


def _unwrap(value):
    return value.data if isinstance(value, Parameter) else value


def _as_array(value) -> jax.Array:
    """A jax.Array from an array-like (jax/NumPy array, Parameter, anything with ``__array__``)."""
    if isinstance(value, jax.Array):
        return value
    if isinstance(value, Parameter):
        return value.data
    return jnp.asarray(value)


def _place_like(value: jax.Array, like) -> jax.Array:
    """Put ``value`` where ``like`` lives when ``like`` was placed explicitly (a device or sharding)."""
    if isinstance(like, jax.Array) and not isinstance(like, jax.core.Tracer) and like.committed:
        if isinstance(value, jax.core.Tracer) or value.sharding != like.sharding:
            return jax.device_put(value, like.sharding)
    return value


@functools.partial(jax.jit, static_argnums=1)
def _split(flat: jax.Array, shapes: tuple) -> list[jax.Array]:
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(flat[start:start + size].reshape(shape))
        start += size
    return out


class GradPack:
    """Gradients that a compiled step returned as one flat array (one program output instead of one
    per parameter, which costs far less per call). Split on first access, all at once."""

    __slots__ = ("flat", "shapes", "arrays")

    def __init__(self, flat: jax.Array, shapes: tuple) -> None:
        self.flat, self.shapes, self.arrays = flat, shapes, None

    def get(self, index: int) -> jax.Array:
        if self.arrays is None:
            with jax.ensure_compile_time_eval():  # concrete arrays even when first read under a trace
                self.arrays = _split(self.flat, self.shapes)
            self.flat = None
        return self.arrays[index]


class GradView:
    """What ``Parameter._grad`` holds until ``.grad`` is read: entry ``index`` of a :class:`GradPack`."""

    __slots__ = ("pack", "index")

    def __init__(self, pack: GradPack, index: int) -> None:
        self.pack, self.index = pack, index


class Parameter:
    """A trainable array: the ``torch.nn.Parameter`` of torchjax.

    Arguments:
        data: the initial value (any array-like; a jax.Array is used without copying).
            ``None`` gives an empty float array, as in torch.
        requires_grad: whether gradients are computed for it; frozen parameters are passed
            through ``stop_gradient`` by the transforms.

    Hashes by identity (optimizers and caches key on it) while ``==``, ``<``, indexing,
    iteration and arithmetic act elementwise on ``.data`` and return plain arrays.
    """

    # No __slots__: torch lets users attach attributes to parameters (p.sharded = True).
    _is_param = True

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            data = jnp.empty((0,), get_default_dtype())
        self.data = _as_array(data)
        self.grad = None
        self.requires_grad = requires_grad

    # --- the array protocols -------------------------------------------------------------
    def __jax_array__(self) -> jax.Array:
        return self.data

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.data, dtype=dtype)

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: delegate array attributes (shape, dtype, ndim,
        # T, reshape, sum, ...) to .data. Dunder and own names never delegate, so copy/pickle
        # protocols see a plain object rather than the array's methods.
        if name.startswith("__") or name in ("data", "_grad", "_requires_grad"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        return getattr(self.data, name)

    __hash__ = object.__hash__

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self):
        return iter(self.data)

    def __getitem__(self, index):
        return self.data[_unwrap(index)]

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __index__(self) -> int:
        return operator.index(self.data)

    def __complex__(self) -> complex:
        return complex(self.data)

    def __format__(self, spec: str) -> str:
        return format(self.data, spec) if spec else repr(self)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + repr(self.data)

    @property
    def grad(self):
        """The accumulated gradient, or None. While ``torchjax.compile`` traces a step it records
        whether each grad is read or written first: a grad written first (``zero_grad()`` at the
        top of the step) is not an input of the compiled program."""
        if _tracking.grad_access is not None:
            _tracking.grad_access.setdefault(id(self), "read")
        grad = self._grad
        if type(grad) is GradView:
            grad = self._grad = grad.pack.get(grad.index)
        return grad

    @grad.setter
    def grad(self, value) -> None:
        if _tracking.grad_access is not None:
            _tracking.grad_access.setdefault(id(self), "write")
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and self.data is not None and not (
            jnp.issubdtype(self.data.dtype, jnp.inexact)
        ):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(value)
        _tracking.bump()  # a compiled program differentiates exactly the trainable parameters

    # --- torch's tensor API, the parts that make sense for a box ------------------------------
    @property
    def is_leaf(self) -> bool:
        return True

    @property
    def grad_fn(self) -> None:
        return None

    @property
    def device(self):
        return self.data.device

    def size(self, dim: int | None = None):
        """torch's ``size()``: the shape, or one dimension of it (jax's ``.size`` is ``numel()``)."""
        return tuple(self.data.shape) if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return self.data.size

    nelement = numel

    def is_floating_point(self) -> bool:
        return jnp.issubdtype(self.data.dtype, jnp.floating)

    def is_complex(self) -> bool:
        return jnp.issubdtype(self.data.dtype, jnp.complexfloating)

    def detach(self) -> jax.Array:
        """The value as a plain array (JAX arrays carry no autograd graph to cut)."""
        return self.data

    def clone(self) -> jax.Array:
        return jnp.array(self.data, copy=True)

    def numpy(self) -> np.ndarray:
        return np.asarray(self.data)

    def cpu(self) -> jax.Array:
        return jax.device_put(self.data, to_jax_device("cpu"))

    def to(self, *args, **kwargs) -> jax.Array:
        """A converted copy as a plain array: ``p.to(dtype)``, ``p.to(device)``, ``p.to(device, dtype)``."""
        value = self.data
        for arg in (*args, *kwargs.values()):
            if arg is None or isinstance(arg, bool):
                continue
            if isinstance(arg, jax.Array | Parameter):
                value = value.astype(arg.dtype)
                continue
            try:
                dtype = as_dtype(arg)
            except TypeError:
                value = jax.device_put(value, to_jax_device(arg))
            else:
                check_dtype_supported(dtype, "Parameter.to")
                value = value.astype(dtype)
        return value

    def float(self) -> jax.Array:
        return self.data.astype(jnp.float32)

    def double(self) -> jax.Array:
        check_dtype_supported(np.dtype(np.float64), "Parameter.double")
        return self.data.astype(jnp.float64)

    def half(self) -> jax.Array:
        return self.data.astype(jnp.float16)

    def bfloat16(self) -> jax.Array:
        return self.data.astype(jnp.bfloat16)

    # --- in place: rebind .data, return self ---------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Parameter:
        self.requires_grad = requires_grad
        return self

    def _set(self, value) -> Parameter:
        value = jnp.asarray(value, dtype=self.data.dtype)
        if value.shape != self.data.shape:
            value = jnp.broadcast_to(value, self.data.shape)
        self.data = _place_like(value, self.data)
        return self

    def fill_(self, value) -> Parameter:
        return self._set(jnp.full(self.data.shape, _unwrap(value), self.data.dtype))

    def zero_(self) -> Parameter:
        return self._set(jnp.zeros(self.data.shape, self.data.dtype))

    def copy_(self, src, non_blocking: bool = False) -> Parameter:
        """Copy ``src`` (broadcast to this shape, cast to this dtype) into the parameter."""
        src = _as_array(src)
        try:
            np.broadcast_shapes(src.shape, self.data.shape)
        except ValueError:
            raise RuntimeError(
                f"copy_: the source of shape {tuple(src.shape)} cannot be broadcast to the "
                f"parameter's shape {tuple(self.data.shape)}"
            ) from None
        # A real copy, as torch makes: sharing the source array would let a donating compiled
        # step of one model invalidate the other's state.
        return self._set(jnp.array(src, dtype=self.data.dtype, copy=True))

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None) -> Parameter:
        from . import init

        return init.uniform_(self, a, b, generator=generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Parameter:
        from . import init

        return init.normal_(self, mean, std, generator=generator)

    def add_(self, other, *, alpha=1) -> Parameter:
        other = _unwrap(other)
        return self._set(self.data + (other if alpha == 1 else alpha * other))

    def sub_(self, other, *, alpha=1) -> Parameter:
        other = _unwrap(other)
        return self._set(self.data - (other if alpha == 1 else alpha * other))

    def mul_(self, other) -> Parameter:
        return self._set(self.data * _unwrap(other))

    def div_(self, other) -> Parameter:
        return self._set(self.data / _unwrap(other))

    def clamp_(self, min=None, max=None) -> Parameter:
        return self._set(jnp.clip(self.data, _unwrap(min), _unwrap(max)))

    clip_ = clamp_


def _binary(name: str):
    def method(self, other):
        return getattr(self.data, name)(_unwrap(other))

    method.__name__ = name
    return method


def _unary(name: str):
    def method(self):
        return getattr(self.data, name)()

    method.__name__ = name
    return method


_ARITHMETIC = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift",
               "rshift", "divmod")
_OPERATORS = (*(f"__{n}__" for n in _ARITHMETIC), *(f"__r{n}__" for n in _ARITHMETIC),
              *(f"__{n}__" for n in ("lt", "le", "gt", "ge", "eq", "ne")))
_UNARY_OPERATORS = tuple(f"__{n}__" for n in ("neg", "pos", "abs", "invert"))
for _name in _OPERATORS:
    setattr(Parameter, _name, _binary(_name))
for _name in _UNARY_OPERATORS:
    setattr(Parameter, _name, _unary(_name))
del _name

jax.tree_util.register_pytree_node(
    Parameter,
    lambda p: ((p.data,), p.requires_grad),
    # Unflatten must accept any leaf (tracers, None, sentinels), so it bypasses __init__.
    lambda requires_grad, leaves: _rebuild(Parameter, leaves[0], requires_grad),
)


def _rebuild(cls, data, requires_grad):
    param = object.__new__(cls)
    param.data, param._requires_grad, param._grad = data, requires_grad, None
    return param


class Buffer:
    """Marks an array to be registered as a buffer on assignment: ``self.b = nn.Buffer(x)``.

    Arguments:
        data: the array.
        persistent: whether the buffer is part of ``state_dict()``.

    On assignment the module stores the plain array; the ``Buffer`` wrapper is not kept.
    """

    def __init__(self, data=None, *, persistent: bool = True) -> None:
        self.data = jnp.empty((0,), get_default_dtype()) if data is None else _as_array(data)
        self.persistent = persistent

    def __repr__(self) -> str:
        return f"Buffer containing:\n{self.data!r}"


_UNINITIALIZED_MSG = (
    "Attempted to use an uninitialized parameter in {}. This error happens when you are using a "
    "`LazyModule` or explicitly manipulating `torchjax.nn.parameter.UninitializedParameter` "
    "objects. When using LazyModules Call `forward` with a dummy batch to initialize the "
    "parameters before calling torchjax functions"
)


class _UninitializedMixin:
    """Shape-less placeholder for lazy modules: any array use raises until materialized."""

    def _init_placeholder(self, device, dtype) -> None:
        self._target_device = device
        self._target_dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes."
        )

    @property
    def dtype(self):
        return self._target_dtype

    def _materialized(self, shape, device=None, dtype=None) -> jax.Array:
        shape = tuple(shape)
        if any(d < 0 for d in shape):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
        dtype = as_dtype(dtype) if dtype is not None else self._target_dtype
        value = jnp.empty(tuple(shape), dtype)
        device = device if device is not None else self._target_device
        if device is not None:
            value = jax.device_put(value, to_jax_device(device))
        return value

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __jax_array__(self):
        raise ValueError(_UNINITIALIZED_MSG.format("a JAX operation"))

    def __array__(self, dtype=None, copy=None):
        raise ValueError(_UNINITIALIZED_MSG.format("a NumPy conversion"))

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("data",):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        raise ValueError(_UNINITIALIZED_MSG.format(f"attribute '{name}'"))


class UninitializedParameter(_UninitializedMixin, Parameter):
    """A Parameter whose shape is not known yet (lazy modules).

    ``materialize(shape)`` turns it, in place, into an ordinary :class:`Parameter` of that shape
    (uninitialized values: zeros), as torch does.
    """

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        self.data = None
        self._requires_grad = requires_grad
        self._grad = None
        self._init_placeholder(device, dtype)

    def materialize(self, shape, device=None, dtype=None) -> None:
        self.data = self._materialized(shape, device, dtype)
        del self._target_device, self._target_dtype
        self.__class__ = self.cls_to_become
        _tracking.bump()

    def __iter__(self):
        raise ValueError(_UNINITIALIZED_MSG.format("iteration"))

    def _uninitialized_op(self, *args):
        raise ValueError(_UNINITIALIZED_MSG.format("an arithmetic operation"))

    def __len__(self):
        raise ValueError(_UNINITIALIZED_MSG.format("len()"))


class UninitializedBuffer(_UninitializedMixin):
    """A buffer whose shape is not known yet (lazy modules).

    Differs from torch: JAX arrays cannot change class in place, so ``materialize(shape)``
    returns the new array and the lazy module rebinds the buffer to it.
    """

    def __init__(self, requires_grad: bool = False, device=None, dtype=None) -> None:
        self.requires_grad = requires_grad
        self._init_placeholder(device, dtype)

    def materialize(self, shape, device=None, dtype=None) -> jax.Array:
        return self._materialized(shape, device, dtype)


def _refuse(*_):
    # jnp functions and transforms flatten their arguments first: fail there with a clear message.
    raise ValueError(_UNINITIALIZED_MSG.format("a JAX operation or transform"))


for _cls in (UninitializedParameter, UninitializedBuffer):
    jax.tree_util.register_pytree_node(_cls, _refuse, _refuse)
del _cls


# Arithmetic on a placeholder: torch's ValueError, not an error about a missing array.
for _name in (*_OPERATORS, *_UNARY_OPERATORS):
    setattr(UninitializedParameter, _name, UninitializedParameter._uninitialized_op)
del _name


def is_lazy(value) -> bool:
    return isinstance(value, _UninitializedMixin)

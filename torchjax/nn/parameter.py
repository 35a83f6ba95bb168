"""Parameter, Buffer and their uninitialized (lazy) forms.

A :class:`Parameter` is a :class:`~torchjax.Tensor` (a mutable box around an immutable ``jax.Array``,
held in ``_data``) with ``.grad`` and ``.requires_grad``. Rebinding the array is how every
"in-place" update works (``fill_``, ``copy_``, an optimizer step, ``load_state_dict``), so all
references to the Parameter (tied weights, optimizer param groups) see the new value.

It is a pytree node with the single leaf (its array) and, like every Tensor, defines
``__jax_array__``, so ``jnp`` functions take it. ``lax`` primitives do not: pass ``p.jax()`` there
(``torchjax.nn.functional`` unwraps for you).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _tracking
from .._device import as_dtype, get_default_dtype, to_jax_device
from .._tensor import Tensor, unwrap

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


def _unwrap(value):
    return unwrap(value)


def _as_array(value) -> jax.Array:
    """A jax.Array from an array-like (Tensor, jax/NumPy array, anything with ``__array__``)."""
    if isinstance(value, jax.Array):
        return value
    if isinstance(value, Tensor):
        return unwrap(value)
    return jnp.asarray(value)


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


class Parameter(Tensor):
    """A trainable tensor: the ``torch.nn.Parameter`` of torchjax, a :class:`~torchjax.Tensor` subclass.

    Arguments:
        data: the initial value (any array-like; a jax.Array is used without copying).
            ``None`` gives an empty float tensor, as in torch.
        requires_grad: whether gradients are computed for it; frozen parameters are passed
            through ``stop_gradient`` by the transforms.

    Hashes by identity (optimizers and caches key on it) while ``==``, ``<``, indexing and
    arithmetic act elementwise and return plain Tensors.
    """

    _is_param = True

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            data = jnp.empty((0,), get_default_dtype())
        self._data = _as_array(data)
        self._base = None
        self._version = 0
        self.grad = None
        self.requires_grad = requires_grad

    @property
    def grad(self):
        """The accumulated gradient (a Tensor), or None. While ``torchjax.compile`` traces a step it
        records whether each grad is read or written first: a grad written first (``zero_grad()`` at
        the top of the step) is not an input of the compiled program."""
        if _tracking.grad_access is not None:
            _tracking.grad_access.setdefault(id(self), "read")
        grad = self._grad
        if grad is None or type(grad) is Tensor:
            return grad
        if type(grad) is GradView:
            grad = grad.pack.get(grad.index)
        # A raw array (written by a transform): wrapped once, so in-place updates of p.grad persist.
        grad = self._grad = _wrap_grad(grad)
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
        if value and self._data is not None and not (
            jnp.issubdtype(self._data.dtype, jnp.inexact)
        ):
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(value)
        _tracking.bump()  # a compiled program differentiates exactly the trainable parameters

    def __deepcopy__(self, memo):
        out = Tensor.__deepcopy__(self, memo)
        out._grad = None if self._grad is None else _wrap_grad(jnp.array(unwrap(self.grad), copy=True))
        return out

    def __reduce_ex__(self, protocol):
        return (_rebuild_param, (np.asarray(self._data), self._requires_grad))


def _wrap_grad(value):
    return value if isinstance(value, Tensor) else Tensor._wrap_array(value)


def _rebuild_param(array, requires_grad):
    return Parameter(jnp.asarray(array), requires_grad)


def raw_grad(grad):
    """A grad slot's value as an array (or None / GradView), whether or not it was wrapped."""
    return grad._data if type(grad) is Tensor else grad


_ARITHMETIC = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift",
               "rshift", "divmod")
_OPERATORS = (*(f"__{n}__" for n in _ARITHMETIC), *(f"__r{n}__" for n in _ARITHMETIC),
              *(f"__{n}__" for n in ("lt", "le", "gt", "ge", "eq", "ne")))
_UNARY_OPERATORS = tuple(f"__{n}__" for n in ("neg", "pos", "abs", "invert"))

jax.tree_util.register_pytree_node(
    Parameter,
    lambda p: ((p._data,), p.requires_grad),
    # Unflatten must accept any leaf (tracers, None, sentinels), so it bypasses __init__.
    lambda requires_grad, leaves: _rebuild(Parameter, leaves[0], requires_grad),
)


def _rebuild(cls, data, requires_grad):
    param = object.__new__(cls)
    param._data, param._requires_grad, param._grad = data, requires_grad, None
    param._base, param._version = None, 0
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
        if name.startswith("__") or name in ("data", "_data", "_base", "_grad", "_view_fn"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        raise ValueError(_UNINITIALIZED_MSG.format(f"attribute '{name}'"))


class UninitializedParameter(_UninitializedMixin, Parameter):
    """A Parameter whose shape is not known yet (lazy modules).

    ``materialize(shape)`` turns it, in place, into an ordinary :class:`Parameter` of that shape
    (uninitialized values: zeros), as torch does.
    """

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        self._data = None
        self._base = None
        self._version = 0
        self._requires_grad = requires_grad
        self._grad = None
        self._init_placeholder(device, dtype)

    def materialize(self, shape, device=None, dtype=None) -> None:
        self._data = self._materialized(shape, device, dtype)
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

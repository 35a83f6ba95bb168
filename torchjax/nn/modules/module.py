"""``Module``: the base class of every layer, and the global module hooks.

Follows ``torch.nn.Module`` 2.13 attribute for attribute: parameters, buffers and submodules
live in ordered dicts and are reached through ``__getattr__``; assignment routes values into the
right dict with torch's checks; hooks fire in torch's order (global before local). Arrays are
JAX arrays: a parameter is a :class:`~torchjax.nn.Parameter` box, a buffer a plain array.
"""

from __future__ import annotations

import copy
import functools
import itertools
import warnings
import weakref
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ... import _tracking
from ..._device import (
    _typename,
    as_dtype,
    check_dtype_supported,
    is_float_or_complex,
    is_floating,
    to_jax_device,
)
from ..._device import (
    device as _torch_device,
)
from ..._tensor import Tensor, _new, _place_like, unwrap, wrap
from ...utils.hooks import RemovableHandle
from ..parameter import Buffer, Parameter, UninitializedBuffer, is_lazy

__all__ = [
    "Module",
    "register_module_backward_hook",
    "register_module_full_backward_hook",
    "register_module_full_backward_pre_hook",
    "register_module_forward_pre_hook",
    "register_module_forward_hook",
    "register_module_buffer_registration_hook",
    "register_module_module_registration_hook",
    "register_module_parameter_registration_hook",
]

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"
_ABSENT = _tracking.ABSENT


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s_: str, num_spaces: int) -> str:
    lines = s_.split("\n")
    if len(lines) == 1:
        return s_
    first = lines.pop(0)
    rest = [(num_spaces * " ") + line if line.strip() else "" for line in lines]
    return first + "\n" + "\n".join(rest)


class _WrappedHook:
    """A hook that receives its module as first argument, held by weak reference."""

    def __init__(self, hook: Callable, module: Module | None = None) -> None:
        self.hook = hook
        functools.update_wrapper(self, hook)
        self.with_module = module is not None
        if module is not None:
            self.module = weakref.ref(module)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.with_module:
            module = self.module()
            if module is None:
                raise RuntimeError("You are trying to call the hook of a dead Module!")
            return self.hook(module, *args, **kwargs)
        return self.hook(*args, **kwargs)

    def __getstate__(self) -> dict:
        state = {"hook": self.hook, "with_module": self.with_module}
        if self.with_module:
            state["module"] = self.module()
        return state

    def __setstate__(self, state: dict) -> None:
        self.hook = state["hook"]
        self.with_module = state["with_module"]
        if self.with_module:
            if state["module"] is None:
                raise RuntimeError("You are trying to revive the hook of a dead Module!")
            self.module = weakref.ref(state["module"])


# Hooks common to all modules, run before the module's own (torch's order).
_global_buffer_registration_hooks: dict[int, Callable] = OrderedDict()
_global_module_registration_hooks: dict[int, Callable] = OrderedDict()
_global_parameter_registration_hooks: dict[int, Callable] = OrderedDict()
_global_backward_pre_hooks: dict[int, Callable] = OrderedDict()
_global_backward_hooks: dict[int, Callable] = OrderedDict()
_global_is_full_backward_hook: bool | None = None
_global_forward_pre_hooks: dict[int, Callable] = OrderedDict()
_global_forward_hooks: dict[int, Callable] = OrderedDict()
_global_forward_hooks_always_called: dict[int, bool] = OrderedDict()
_global_forward_hooks_with_kwargs: dict[int, bool] = OrderedDict()


def _register_global(hooks: dict, hook: Callable) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def register_module_buffer_registration_hook(hook: Callable) -> RemovableHandle:
    """Hook ``hook(module, name, buffer) -> None or new buffer`` run by every ``register_buffer``."""
    return _register_global(_global_buffer_registration_hooks, hook)


def register_module_module_registration_hook(hook: Callable) -> RemovableHandle:
    """Hook ``hook(module, name, submodule) -> None or new submodule`` run on every submodule registration."""
    return _register_global(_global_module_registration_hooks, hook)


def register_module_parameter_registration_hook(hook: Callable) -> RemovableHandle:
    """Hook ``hook(module, name, param) -> None or new param`` run by every ``register_parameter``."""
    return _register_global(_global_parameter_registration_hooks, hook)


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """Forward pre-hook ``hook(module, args) -> None or new args`` for all modules, before local ones."""
    return _register_global(_global_forward_pre_hooks, hook)


def register_module_forward_hook(
    hook: Callable, *, with_kwargs: bool = False, always_call: bool = False
) -> RemovableHandle:
    """Forward hook ``hook(module, args, output) -> None or new output`` for all modules.

    With ``with_kwargs`` the hook is called as ``hook(module, args, kwargs, output)``; with
    ``always_call`` it also runs when the forward raises.
    """
    handle = RemovableHandle(
        _global_forward_hooks,
        extra_dict=[_global_forward_hooks_always_called, _global_forward_hooks_with_kwargs],
    )
    _global_forward_hooks[handle.id] = hook
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    """Backward pre-hook ``hook(module, grad_output) -> None or new grad_output`` for all modules."""
    return _register_global(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """Backward hook ``hook(module, grad_input, grad_output) -> None or new grad_input`` for all modules."""
    global _global_is_full_backward_hook
    if _global_is_full_backward_hook is False:
        raise RuntimeError(
            "Cannot use both regular backward hooks and full backward hooks as a global Module hook. "
            "Please use only one of them."
        )
    _global_is_full_backward_hook = True
    return _register_global(_global_backward_hooks, hook)


def register_module_backward_hook(hook: Callable) -> RemovableHandle:
    """Legacy global backward hook; in torchjax it has the full hook's semantics (see porting.md)."""
    global _global_is_full_backward_hook
    if _global_is_full_backward_hook is True:
        raise RuntimeError(
            "Cannot use both regular backward hooks and full backward hooks as a global Module hook. "
            "Please use only one of them."
        )
    _global_is_full_backward_hook = False
    return _register_global(_global_backward_hooks, hook)


def _forward_unimplemented(self, *input: Any) -> None:
    raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')


def _is_buffer_value(value) -> bool:
    return isinstance(value, Tensor | jax.Array | np.ndarray | UninitializedBuffer)


def _as_state_array(value):
    """Buffers are stored as Tensors (the object itself when given one, as torch does); jax and
    NumPy arrays are wrapped on registration."""
    if isinstance(value, np.ndarray):
        return _new(Tensor, jnp.asarray(value))
    if isinstance(value, jax.Array):
        return _new(Tensor, value)
    return value


def _checkpoint_array(value) -> jax.Array:
    """A jax array of its own from a checkpoint entry: jax/NumPy arrays, Parameters, or any tensor
    exposing DLPack or ``__array__`` (a torch tensor loads without torchjax importing torch).

    Always a copy, as torch's ``copy_`` makes: on the CPU, JAX may share a NumPy or DLPack buffer,
    which the source could later change in place, and sharing another model's array would let a
    donating compiled step of one model invalidate the other.
    """
    if isinstance(value, Tensor):
        value = unwrap(value)
    if not isinstance(value, jax.Array | np.ndarray) and hasattr(value, "__dlpack__"):
        try:
            # A host tensor goes through NumPy, so the array is not committed to a device (as the
            # parameters it replaces are not): a committed one would make the next compiled step
            # compile again once its outputs, placed like it, meet state that is not.
            cpu = value.__dlpack_device__()[0] == 1  # kDLCPU
            value = np.from_dlpack(value) if cpu else jnp.from_dlpack(value)
        except Exception:  # e.g. a tensor that requires grad, or an unsupported device
            value = np.asarray(value)
    elif not isinstance(value, jax.Array | np.ndarray):
        value = np.asarray(value)
    return jnp.array(value, copy=True)


def _is_tensor_like(value) -> bool:
    return isinstance(value, jax.Array | np.ndarray | Tensor) or hasattr(value, "__array__") or hasattr(
        value, "__dlpack__"
    )


class Module:
    """Base class for all neural network modules; subclass it and define ``forward``.

    Submodules, parameters and buffers assigned as attributes are registered, so that
    ``parameters()``, ``state_dict()``, ``to()`` and the transforms see them::

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Linear(4, 8)

            def forward(self, x):
                return self.conv1(x)
    """

    dump_patches: bool = False
    _version: int = 1
    training: bool
    call_super_init: bool = False
    forward: Callable[..., Any] = _forward_unimplemented

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.call_super_init is False and kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'"
            )
        if self.call_super_init is False and args:
            raise TypeError(
                f"{type(self).__name__}.__init__() takes 1 positional argument but {len(args) + 1} were given"
            )
        # Written through __dict__ so that __setattr__'s routing is bypassed (torch does the same).
        self.__dict__.update(
            training=True,
            _parameters=OrderedDict(),
            _buffers=OrderedDict(),
            _non_persistent_buffers_set=set(),
            _backward_pre_hooks=OrderedDict(),
            _backward_hooks=OrderedDict(),
            _is_full_backward_hook=None,
            _forward_hooks=OrderedDict(),
            _forward_hooks_with_kwargs=OrderedDict(),
            _forward_hooks_always_called=OrderedDict(),
            _forward_pre_hooks=OrderedDict(),
            _forward_pre_hooks_with_kwargs=OrderedDict(),
            _state_dict_hooks=OrderedDict(),
            _state_dict_pre_hooks=OrderedDict(),
            _load_state_dict_pre_hooks=OrderedDict(),
            _load_state_dict_post_hooks=OrderedDict(),
            _modules=OrderedDict(),
        )
        if _tracking.traced_modules is not None:
            _tracking.traced_modules.add(id(self))
        if self.call_super_init:
            super().__init__(*args, **kwargs)

    # --- registration ----------------------------------------------------------------------
    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add a buffer: state that is not trained (running statistics, masks, step counters).

        Arguments:
            name: attribute name of the buffer.
            tensor: a jax/NumPy array, or None (then it is skipped by ``to()`` and ``state_dict``).
            persistent: whether the buffer is part of ``state_dict()``.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        elif not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {_typename(name)}")
        elif "." in name:
            raise KeyError('buffer name can\'t contain "."')
        elif name == "":
            raise KeyError('buffer name can\'t be empty string ""')
        elif hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if isinstance(tensor, Parameter):
            tensor = _new(Tensor, tensor._data)
        if tensor is not None and not _is_buffer_value(tensor):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(jax.Array, numpy array or None required)"
            )
        if isinstance(tensor, jax.Array):
            # The same array registered twice is one buffer object, as the same tensor is in torch.
            tensor = next((b for b in self._buffers.values() if isinstance(b, Tensor) and b._data is tensor), tensor)
        tensor = _as_state_array(tensor)
        for hook in _global_buffer_registration_hooks.values():
            output = hook(self, name, tensor)
            if output is not None:
                tensor = output
        if _tracking.buffer_writes is not None:
            _tracking.buffer_writes.append((self._buffers, name, self._buffers.get(name, _ABSENT)))
        self._buffers[name] = tensor
        _tracking.bump()
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (a :class:`Parameter` or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        elif not isinstance(name, str):
            raise TypeError(f"parameter name should be a string. Got {_typename(name)}")
        elif "." in name:
            raise KeyError('parameter name can\'t contain "."')
        elif name == "":
            raise KeyError('parameter name can\'t be empty string ""')
        elif hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        _tracking.bump()
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(torchjax.nn.Parameter or None required)"
            )
        for hook in _global_parameter_registration_hooks.values():
            output = hook(self, name, param)
            if output is not None:
                param = output
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module, reachable as the attribute ``name``."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        elif not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {_typename(name)}")
        elif hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        elif "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        elif name == "":
            raise KeyError('module name can\'t be empty string ""')
        for hook in _global_module_registration_hooks.values():
            output = hook(self, name, module)
            if output is not None:
                module = output
        self._modules[name] = module
        _tracking.bump()

    def register_module(self, name: str, module: Module | None) -> None:
        """Alias for :meth:`add_module`."""
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` ('' is ``self``); AttributeError if absent."""
        if target == "":
            return self
        mod: Module = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Replace (or, unless ``strict``, add) the submodule at the dotted path ``target``."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        atoms = target.split(".")
        if not isinstance(module, Module):
            raise ValueError("`" + "module" + f"` is not an nn.Module, found {type(module)}")
        parent = self if len(atoms) == 1 else self.get_submodule(".".join(atoms[:-1]))
        if strict and not hasattr(parent, atoms[-1]):
            raise AttributeError(parent._get_name() + " has no attribute `" + atoms[-1] + "`")
        if hasattr(parent, atoms[-1]) and not isinstance(getattr(parent, atoms[-1]), Module):
            raise AttributeError("`" + atoms[-1] + "` is not an nn.Module")
        setattr(parent, atoms[-1], module)

    def get_parameter(self, target: str) -> Parameter:
        """The Parameter at the dotted path ``target``; AttributeError if absent."""
        module_path, _, param_name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, param_name):
            raise AttributeError(mod._get_name() + " has no attribute `" + param_name + "`")
        param = getattr(mod, param_name)
        if not isinstance(param, Parameter):
            raise AttributeError("`" + param_name + "` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> jax.Array:
        """The buffer at the dotted path ``target``; AttributeError if absent."""
        module_path, _, buffer_name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, buffer_name):
            raise AttributeError(mod._get_name() + " has no attribute `" + buffer_name + "`")
        buffer = getattr(mod, buffer_name)
        if buffer_name not in mod._buffers:
            raise AttributeError("`" + buffer_name + "` is not a buffer")
        return buffer

    def get_extra_state(self) -> Any:
        """Extra (non-array) state for ``state_dict()``; override together with ``set_extra_state``."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called. "
            "Override get_extra_state() together with set_extra_state() to store extra state."
        )

    def set_extra_state(self, state: Any) -> None:
        """Restore what :meth:`get_extra_state` returned, from ``load_state_dict``."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called. "
            "Override set_extra_state() together with get_extra_state() to load extra state."
        )

    # --- mapping over state ---------------------------------------------------------------
    def _apply(self, fn: Callable[[jax.Array], jax.Array], recurse: bool = True) -> Module:
        """Replace every parameter's data (and grad) and every buffer by ``fn`` of it, children first."""
        if recurse:
            for module in self.children():
                module._apply(fn)
        for param in self._parameters.values():
            if param is None or is_lazy(param):
                continue
            param._rebind(fn(unwrap(param)))
            if param.grad is not None:
                param.grad = _new(Tensor, fn(unwrap(param.grad)))
        for buf in self._buffers.values():
            if buf is not None and not is_lazy(buf):
                buf._rebind(fn(unwrap(buf)))
        return self

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first, recursively) and then on ``self``."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def cuda(self, device: int | str | None = None) -> Module:
        """Move all parameters and buffers to a GPU (``device`` index, default the first)."""
        target = _torch_device("cuda", device) if isinstance(device, int) or device is None else device
        jax_device = to_jax_device(target)
        return self._apply(lambda t: jax.device_put(t, jax_device))

    def cpu(self) -> Module:
        """Move all parameters and buffers to the CPU."""
        jax_device = to_jax_device("cpu")
        return self._apply(lambda t: jax.device_put(t, jax_device))

    def type(self, dst_type) -> Module:
        """Cast all parameters and buffers (integer ones too) to ``dst_type``."""
        dtype = check_dtype_supported(as_dtype(dst_type), f"{self._get_name()}.type")
        return self._apply(lambda t: t.astype(dtype))

    def _cast_floating(self, dtype, where: str) -> Module:
        dtype = as_dtype(dtype)
        check_dtype_supported(dtype, f"{self._get_name()}.{where}")
        return self._apply(lambda t: t.astype(dtype) if is_floating(t.dtype) else t)

    def float(self) -> Module:
        """Cast floating-point parameters and buffers to float32."""
        return self._cast_floating(jnp.float32, "float()")

    def double(self) -> Module:
        """Cast floating-point parameters and buffers to float64 (needs ``jax_enable_x64``)."""
        return self._cast_floating(jnp.float64, "double()")

    def half(self) -> Module:
        """Cast floating-point parameters and buffers to float16."""
        return self._cast_floating(jnp.float16, "half()")

    def bfloat16(self) -> Module:
        """Cast floating-point parameters and buffers to bfloat16."""
        return self._cast_floating(jnp.bfloat16, "bfloat16()")

    def to_empty(self, *, device, recurse: bool = True) -> Module:
        """Move to ``device`` with uninitialized (zero) values, as torch's meta-device flow does."""
        jax_device = to_jax_device(device)
        return self._apply(lambda t: jax.device_put(jnp.zeros(t.shape, t.dtype), jax_device), recurse=recurse)

    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast parameters and buffers: ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(array)`` (its dtype and device) or ``to(sharding)``.

        A dtype applies to floating-point and complex state only; integer buffers keep theirs.
        """
        placement, dtype = _parse_to(*args, **kwargs)
        if dtype is not None:
            if not is_float_or_complex(dtype):
                raise TypeError(
                    f"nn.Module.to only accepts floating point or complex dtypes, but got desired dtype={dtype}"
                )
            check_dtype_supported(dtype, f"{self._get_name()}.to")

        def convert(t):
            if dtype is not None and is_float_or_complex(t.dtype):
                t = t.astype(dtype)
            if placement is not None:
                t = jax.device_put(t, placement)
            return t

        return self._apply(convert)

    # --- forward and its hooks -------------------------------------------------------------
    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Run ``hook(module, args) -> None or new args`` before every forward.

        With ``with_kwargs``: ``hook(module, args, kwargs) -> None or (new_args, new_kwargs)``.
        ``prepend`` puts it before the hooks already registered on this module.
        """
        handle = RemovableHandle(self._forward_pre_hooks, extra_dict=self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(
        self,
        hook: Callable,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Run ``hook(module, args, output) -> None or new output`` after every forward.

        With ``with_kwargs``: ``hook(module, args, kwargs, output)``. ``always_call`` runs it
        even when the forward raises. ``prepend`` puts it first among this module's hooks.
        """
        handle = RemovableHandle(
            self._forward_hooks,
            extra_dict=[self._forward_hooks_with_kwargs, self._forward_hooks_always_called],
        )
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(module, grad_output) -> None or new grad_output`` when the gradients with
        respect to this module's outputs are known; a returned tuple replaces ``grad_output``
        for everything upstream, this module's parameter gradients included."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(module, grad_input, grad_output) -> None or new grad_input`` when the
        gradients with respect to this module's positional inputs are known (None for inputs
        that need none); a returned tuple replaces ``grad_input`` for everything upstream."""
        if self._is_full_backward_hook is False:
            raise RuntimeError(
                "Cannot use both regular backward hooks and full backward hooks on a single Module. "
                "Please use only one of them."
            )
        self._is_full_backward_hook = True
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Legacy backward hook. torch's version reports the gradients of the forward's last
        operation; torchjax gives it the full hook's ``grad_input`` (the module's inputs)."""
        if self._is_full_backward_hook is True:
            raise RuntimeError(
                "Cannot use both regular backward hooks and full backward hooks on a single Module. "
                "Please use only one of them."
            )
        self._is_full_backward_hook = False
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    def _get_backward_hooks(self) -> tuple[list[Callable], list[Callable]]:
        """(full hooks, legacy hooks), global before local, as torch orders them."""
        full, legacy = [], []
        if _global_is_full_backward_hook is True:
            full += _global_backward_hooks.values()
        elif _global_is_full_backward_hook is False:
            legacy += _global_backward_hooks.values()
        if self._is_full_backward_hook is True:
            full += self._backward_hooks.values()
        elif self._is_full_backward_hook is False:
            legacy += self._backward_hooks.values()
        return full, legacy

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # jax/NumPy array inputs become Tensors (torch-style forwards call Tensor methods on them);
        # array outputs become Tensors. That is all the Module layer adds to the dispatch point.
        for a in args:
            if type(a) is not Tensor and isinstance(a, jax.Array | np.ndarray):
                args = tuple(_as_state_array(v) if isinstance(v, jax.Array | np.ndarray) else v for v in args)
                break
        # Fast path: with no hook of any kind, calling a module is calling its forward.
        if (
            self._forward_hooks
            or self._forward_pre_hooks
            or self._backward_hooks
            or self._backward_pre_hooks
            or _global_forward_hooks
            or _global_forward_pre_hooks
            or _global_backward_hooks
            or _global_backward_pre_hooks
        ):
            out = self._call_impl(*args, **kwargs)
        else:
            out = self.forward(*args, **kwargs)
        if isinstance(out, Tensor) or out is None:
            return out
        return _new(Tensor, out) if isinstance(out, jax.Array) else wrap(out)

    def _call_impl(self, *args: Any, **kwargs: Any) -> Any:
        result = None
        called_always_called_hooks: set[int] = set()

        def forward_and_hooks(args: tuple, kwargs: dict) -> Any:
            nonlocal result
            result = self.forward(*args, **kwargs)
            for hook_id, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called or hook_id in _global_forward_hooks_always_called:
                    called_always_called_hooks.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs or hook_id in _global_forward_hooks_with_kwargs:
                    hook_result = hook(self, args, kwargs, result)
                else:
                    hook_result = hook(self, args, result)
                if hook_result is not None:
                    result = hook_result
            return result

        try:
            for hook_id, hook in (*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    args_kwargs_result = hook(self, args, kwargs)
                    if args_kwargs_result is not None:
                        if isinstance(args_kwargs_result, tuple) and len(args_kwargs_result) == 2:
                            args, kwargs = args_kwargs_result
                        else:
                            raise RuntimeError(
                                "forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                f"but got {args_kwargs_result}."
                            )
                else:
                    args_result = hook(self, args)
                    if args_result is not None:
                        args = args_result if isinstance(args_result, tuple) else (args_result,)
            full_hooks, legacy_hooks = self._get_backward_hooks() if (
                self._backward_hooks or _global_backward_hooks) else ([], [])
            pre_hooks = [*_global_backward_pre_hooks.values(), *self._backward_pre_hooks.values()]
            if (full_hooks or legacy_hooks or pre_hooks) and not _tracking.forward_mode:
                from ._backward_hooks import call_with_backward_hooks

                return call_with_backward_hooks(
                    self, forward_and_hooks, args, kwargs, pre_hooks, full_hooks + legacy_hooks
                )
            return forward_and_hooks(args, kwargs)
        except Exception:
            for hooks, always, with_kwargs, scope in (
                (_global_forward_hooks, _global_forward_hooks_always_called, _global_forward_hooks_with_kwargs,
                 "global module forward hook"),
                (self._forward_hooks, self._forward_hooks_always_called, self._forward_hooks_with_kwargs,
                 "module forward hook"),
            ):
                for hook_id, hook in hooks.items():
                    if hook_id not in always or hook_id in called_always_called_hooks:
                        continue
                    try:
                        if hook_id in with_kwargs:
                            hook_result = hook(self, args, kwargs, result)
                        else:
                            hook_result = hook(self, args, result)
                        if hook_result is not None:
                            result = hook_result
                    except Exception as e:
                        warnings.warn(
                            f"{scope} with ``always_call=True`` raised an exception that was silenced "
                            f"as another error was raised in forward: {e}",
                            stacklevel=2,
                        )
            raise

    # --- attribute routing -----------------------------------------------------------------
    def __getstate__(self) -> dict:
        return self.__dict__.copy()

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: parameters, buffers and submodules.
        d = self.__dict__
        if _tracking.traced_modules is not None and id(self) not in _tracking.traced_modules and "_modules" in d:
            _raise_not_an_argument(self, name)
        if "_parameters" in d:
            params = d["_parameters"]
            if name in params:
                return params[name]
        if "_buffers" in d:
            buffers = d["_buffers"]
            if name in buffers:
                return buffers[name]
        if "_modules" in d:
            modules = d["_modules"]
            if name in modules:
                return modules[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        def remove_from(*dicts_or_sets) -> None:
            for d in dicts_or_sets:
                if name in d:
                    if isinstance(d, dict):
                        del d[name]
                    else:
                        d.discard(name)

        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(self.__dict__, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    "(torchjax.nn.Parameter or None expected); to change its value, use "
                    f"self.{name}.data = ... or wrap it: nn.Parameter(value)"
                )
            self.register_parameter(name, value)
        else:
            modules = self.__dict__.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                remove_from(self.__dict__, self._parameters, self._buffers, self._non_persistent_buffers_set)
                for hook in _global_module_registration_hooks.values():
                    output = hook(self, name, value)
                    if output is not None:
                        value = output
                modules[name] = value
                _tracking.bump()
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(
                        f"cannot assign '{_typename(value)}' as child module '{name}' "
                        "(torchjax.nn.Module or None expected)"
                    )
                for hook in _global_module_registration_hooks.values():
                    output = hook(self, name, value)
                    if output is not None:
                        value = output
                modules[name] = value
                _tracking.bump()
            else:
                buffers = self.__dict__.get("_buffers")
                if isinstance(value, Buffer) or (buffers is not None and name in buffers):
                    if value is not None and not isinstance(value, Buffer) and not _is_buffer_value(value):
                        raise TypeError(
                            f"cannot assign '{_typename(value)}' as buffer '{name}' "
                            "(torchjax.nn.Buffer, jax.Array or None expected)"
                        )
                    if isinstance(value, Buffer):
                        persistent, value = value.persistent, value.data
                    else:
                        persistent = name not in self._non_persistent_buffers_set
                    if (
                        buffers is not None
                        and buffers.get(name) is not None
                        and not is_lazy(buffers[name])  # materializing a lazy buffer changes the structure
                        and value is not None
                        and not isinstance(value, np.ndarray | UninitializedBuffer)
                        and not _global_buffer_registration_hooks
                    ):
                        if _tracking.buffer_writes is not None:
                            _tracking.buffer_writes.append((buffers, name, buffers[name]))
                        buffers[name] = _as_state_array(value)  # the per-step path (running statistics)
                    else:
                        self.register_buffer(name, value, persistent)
                else:
                    if name == "training":
                        _tracking.bump()
                    super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            super().__delattr__(name)
            return
        _tracking.bump()

    # --- state_dict --------------------------------------------------------------------------
    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        """Private post-hook ``hook(module, state_dict, prefix, local_metadata)`` that may return
        a new state_dict (respected at the root only), as in torch."""
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError(
                "Cannot register the same function as the state dict post hook that was "
                "previously registered via register_state_dict_post_hook"
            )
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, state_dict, prefix, local_metadata) -> None`` after ``state_dict()``;
        it may edit the state_dict in place."""
        hook._from_public_api = True
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, prefix, keep_vars) -> None`` before ``state_dict()``."""
        handle = RemovableHandle(self._state_dict_pre_hooks)
        self._state_dict_pre_hooks[handle.id] = hook
        return handle

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars or is_lazy(buf) else buf.detach()
        if getattr(self.__class__, "get_extra_state", Module.get_extra_state) is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict of every parameter and persistent buffer, keyed by dotted name.

        Values are the arrays themselves (``keep_vars=True``: the Parameter objects). The
        ``_metadata`` attribute holds each module's ``version``, as in torch.
        """
        if args:
            warnings.warn(
                "Positional args are being deprecated, use kwargs instead.", FutureWarning, stacklevel=2
            )
            if destination is None:
                destination = args[0]
            if len(args) > 1 and prefix == "":
                prefix = args[1]
            if len(args) > 2 and keep_vars is False:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = dict(version=self._version)
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            hook_result = hook(self, destination, prefix, local_metadata)
            if not getattr(hook, "_from_public_api", False):
                if hook_result is not None:
                    destination = hook_result
            elif hook_result is not None:
                raise RuntimeError("state_dict post-hook must return None")
        return destination

    def _register_load_state_dict_pre_hook(self, hook: Callable, with_module: bool = False) -> RemovableHandle:
        handle = RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[handle.id] = _WrappedHook(hook, self if with_module else None)
        return handle

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs) -> None`` before this module loads; it may edit state_dict."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, incompatible_keys) -> None`` after this module and its children
        loaded; editing ``incompatible_keys`` in place changes what ``strict`` reports."""
        handle = RemovableHandle(self._load_state_dict_post_hooks)
        self._load_state_dict_post_hooks[handle.id] = hook
        return handle

    def _load_from_state_dict(
        self,
        state_dict: Mapping,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        """Load this module's own parameters and buffers (not its children's) from ``state_dict``.

        Override it to convert old checkpoint layouts; errors go to ``error_msgs``.
        """
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)

        persistent_buffers = {k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set}
        local_state = {
            k: v for k, v in itertools.chain(self._parameters.items(), persistent_buffers.items()) if v is not None
        }
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            input_param = state_dict[key]
            if not _is_tensor_like(input_param):
                error_msgs.append(
                    f'While copying the parameter named "{key}", expected an array (jax.Array, numpy '
                    f"array or tensor) from checkpoint but received {type(input_param)}"
                )
                continue
            param_lazy = is_lazy(param)
            input_shape = tuple(input_param.shape)
            if not param_lazy and len(param.shape) == 0 and input_shape == (1,):
                input_param, input_shape = input_param[0], ()
            if not param_lazy and input_shape != tuple(param.shape):
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {input_shape} from checkpoint, "
                    f"the shape in current model is {tuple(param.shape)}."
                )
                continue
            try:
                value = _checkpoint_array(input_param)
                if isinstance(param, Parameter):
                    if assign:
                        new_param = input_param if isinstance(input_param, Parameter) else Parameter(value)
                        new_param.requires_grad = param.requires_grad
                        setattr(self, name, new_param)
                    else:
                        param.copy_(value)
                elif assign:
                    self._buffers[name] = _new(Tensor, value)
                else:
                    param._rebind(_place_like(jnp.asarray(value, dtype=param.dtype), unwrap(param)))
            except Exception as ex:
                error_msgs.append(
                    f'While copying the parameter named "{key}", whose dimensions in the model are '
                    f"{_shape_str(param)} and whose dimensions in the checkpoint are {input_shape}, "
                    f"an exception occurred : {ex.args}."
                )

        extra_state_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        if getattr(self.__class__, "set_extra_state", Module.set_extra_state) is not Module.set_extra_state:
            if extra_state_key in state_dict:
                self.set_extra_state(state_dict[extra_state_key])
            elif strict:
                missing_keys.append(extra_state_key)
        elif strict and extra_state_key in state_dict:
            unexpected_keys.append(extra_state_key)

        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_state_key:
                    input_name = key[len(prefix):].split(".", 1)
                    if len(input_name) > 1:
                        if input_name[0] not in self._modules:
                            unexpected_keys.append(key)
                    elif input_name[0] not in local_state:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers from ``state_dict`` into this module and its descendants.

        Arguments:
            state_dict: name -> array (jax, NumPy, or a tensor with DLPack/``__array__``).
            strict: whether keys must match ``state_dict()``'s exactly.
            assign: replace the Parameter objects (keeping ``requires_grad``) instead of
                copying values into them; the dtype then comes from the checkpoint.

        Returns ``(missing_keys, unexpected_keys)``. Unlike torch, loading is atomic: when it
        raises (missing or unexpected keys under ``strict``, a shape mismatch, a failing hook),
        every parameter, buffer and extra state of the module tree is exactly as before.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing_keys: list[str] = []
        unexpected_keys: list[str] = []
        error_msgs: list[str] = []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata

        def load(module: Module, local_state_dict: dict, prefix: str = "") -> None:
            local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(
                local_state_dict, prefix, local_metadata, True, missing_keys, unexpected_keys, error_msgs
            )
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    child_state_dict = {k: v for k, v in local_state_dict.items() if k.startswith(child_prefix)}
                    load(child, child_state_dict, child_prefix)
            incompatible_keys = _IncompatibleKeys(missing_keys, unexpected_keys)
            for hook in module._load_state_dict_post_hooks.values():
                out = hook(module, incompatible_keys)
                if out is not None:
                    raise AssertionError(
                        "Hooks registered with ``register_load_state_dict_post_hook`` are not "
                        "expected to return new values, if incompatible_keys need to be modified, "
                        "it should be done inplace."
                    )

        snapshot = _StateSnapshot(self)
        try:
            load(self, state_dict)
            if strict:
                if unexpected_keys:
                    error_msgs.insert(
                        0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected_keys))
                    )
                if missing_keys:
                    error_msgs.insert(
                        0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing_keys))
                    )
            if error_msgs:
                raise RuntimeError(
                    "Error(s) in loading state_dict for {}:\n\t{}".format(
                        self.__class__.__name__, "\n\t".join(error_msgs)
                    )
                )
        except BaseException:
            snapshot.restore()
            raise
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    # --- iteration ---------------------------------------------------------------------------
    def _named_members(self, get_members_fn, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        memo: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members_fn(module):
                # By identity: jax arrays are unhashable, and equal values are still distinct state.
                if v is None or id(v) in memo:
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield module_prefix + ("." if module_prefix else "") + k, v

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters of this module (and, with ``recurse``, of all descendants), each once."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs; a shared Parameter is yielded once unless
        ``remove_duplicate=False``."""
        yield from self._named_members(
            lambda module: module._parameters.items(), prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate
        )

    def buffers(self, recurse: bool = True) -> Iterator[jax.Array]:
        """The buffers of this module (and, with ``recurse``, of all descendants)."""
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, jax.Array]]:
        """``(dotted name, array)`` pairs for every buffer."""
        yield from self._named_members(
            lambda module: module._buffers.items(), prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate
        )

    def children(self) -> Iterator[Module]:
        """The direct submodules, each once."""
        for _, module in self.named_children():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for the direct submodules, each module once."""
        memo: set[Module] = set()
        for name, module in self._modules.items():
            if module is not None and module not in memo:
                memo.add(module)
                yield name, module

    def modules(self, remove_duplicate: bool = True) -> Iterator[Module]:
        """``self`` and all descendants, each once unless ``remove_duplicate=False``."""
        for _, module in self.named_modules(remove_duplicate=remove_duplicate):
            yield module

    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        """``(dotted name, module)`` for ``self`` (name ``prefix``) and all descendants, depth first."""
        if memo is None:
            memo = set()
        if self not in memo:
            if remove_duplicate:
                memo.add(self)
            yield prefix, self
            for name, module in self._modules.items():
                if module is None:
                    continue
                submodule_prefix = prefix + ("." if prefix else "") + name
                yield from module.named_modules(memo, submodule_prefix, remove_duplicate)

    # --- modes and gradients ---------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and all descendants."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (freeze with ``False``)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients: to None (default) or to zeros."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None  # written without being read: a compiled step then needs no old grads
            elif p.grad is not None:
                p.grad = jnp.zeros_like(p.grad)

    def share_memory(self) -> Module:
        """No-op kept for porting: JAX arrays are immutable and shared freely."""
        return self

    # --- repr ------------------------------------------------------------------------------------
    def _get_name(self) -> str:
        return self.__class__.__name__

    def extra_repr(self) -> str:
        """The module's hyper-parameters for ``repr``; override in layers (one line or several)."""
        return ""

    def __repr__(self) -> str:
        extra_lines = []
        extra_repr = self.extra_repr()
        if extra_repr:
            extra_lines = extra_repr.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            child_lines.append("(" + key + "): " + _addindent(repr(module), 2))
        lines = extra_lines + child_lines
        main_str = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main_str += extra_lines[0]
            else:
                main_str += "\n  " + "\n  ".join(lines) + "\n"
        return main_str + ")"

    def __dir__(self):
        keys = (
            dir(self.__class__)
            + list(self.__dict__.keys())
            + list(self._parameters.keys())
            + list(self._modules.keys())
            + list(self._buffers.keys())
        )
        return sorted(key for key in keys if not key[0].isdigit())


# The state slots walk module trees; they sit below this file (the backward hooks run on them), so they
# learn the module type and the global hooks from _tracking instead of importing this file.
_tracking.module_type = Module
_tracking.module_global_hooks = lambda: (tuple(_global_forward_pre_hooks), tuple(_global_forward_hooks),
                                         tuple(_global_backward_pre_hooks), tuple(_global_backward_hooks))


def _raise_not_an_argument(module: Module, name: str) -> None:
    raise RuntimeError(
        f"torchjax.compile: the compiled function used {module._get_name()}.{name} of a module that is not "
        "one of its arguments (reached through a closure or a global). Its state would be baked into the "
        "compiled program as constants and never updated. Pass the module (or a module containing it) as an "
        "argument of the compiled function."
    )


def _shape_str(value) -> str:
    try:
        return str(tuple(value.shape))
    except Exception:
        return "(uninitialized)"


def _parse_to(*args, **kwargs):
    """Split ``Module.to``'s arguments into (placement: jax.Device | Sharding | None, dtype | None)."""
    kwargs = dict(kwargs)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    unknown = set(kwargs) - {"device", "dtype", "tensor"}
    if unknown:
        raise TypeError(f"to() got an unexpected keyword argument '{sorted(unknown)[0]}'")
    placement = dtype = None
    items = list(args) + [kwargs[k] for k in ("device", "dtype", "tensor") if k in kwargs]
    if len(args) > 3:
        raise TypeError(f"to() takes at most 3 positional arguments ({len(args)} given)")
    for arg in items:
        if arg is None or isinstance(arg, bool):
            continue
        if isinstance(arg, jax.Array | Parameter):
            dtype = arg.dtype
            sharding = unwrap(arg).sharding
            placement = next(iter(sharding.device_set)) if len(sharding.device_set) == 1 else sharding
        elif isinstance(arg, jax.sharding.Sharding | jax.Device):
            placement = arg
        elif isinstance(arg, _torch_device | int) or (isinstance(arg, str) and _looks_like_device(arg)):
            placement = to_jax_device(arg)
        else:
            dtype = as_dtype(arg)
    return placement, dtype


def _looks_like_device(text: str) -> bool:
    return text.split(":", 1)[0] in ("cpu", "cuda", "gpu", "tpu")


class _StateSnapshot:
    """Everything ``load_state_dict`` may change in a module tree, to restore it on failure."""

    def __init__(self, root: Module) -> None:
        self.entries = []
        for _, module in root.named_modules():
            extra = None
            if getattr(module.__class__, "get_extra_state", Module.get_extra_state) is not Module.get_extra_state:
                extra = (copy.deepcopy(module.get_extra_state()),)
            params = [(p, p.__class__, dict(p.__dict__)) for p in
                      itertools.chain(module._parameters.values(), module._buffers.values())
                      if isinstance(p, Tensor)]
            self.entries.append(
                (
                    module,
                    module.__class__,
                    OrderedDict(module._parameters),
                    params,
                    OrderedDict(module._buffers),
                    set(module._non_persistent_buffers_set),
                    OrderedDict(module._modules),
                    extra,
                )
            )

    def restore(self) -> None:
        for module, cls, parameters, params, buffers, non_persistent, modules, extra in self.entries:
            module.__class__ = cls
            for target, saved in (
                (module._parameters, parameters),
                (module._buffers, buffers),
                (module._modules, modules),
            ):
                target.clear()
                target.update(saved)
            module._non_persistent_buffers_set.clear()
            module._non_persistent_buffers_set.update(non_persistent)
            for param, param_cls, fields in params:
                param.__class__ = param_cls
                param.__dict__.clear()
                param.__dict__.update(fields)
            if extra is not None:
                module.set_extra_state(extra[0])

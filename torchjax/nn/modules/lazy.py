"""``LazyModuleMixin``: modules whose parameter shapes are inferred from the first input.

A lazy module creates :class:`~torchjax.nn.UninitializedParameter` /
:class:`~torchjax.nn.UninitializedBuffer` placeholders; the first forward call runs
``initialize_parameters(*args, **kwargs)`` (a forward pre-hook), which materializes them, then the
hooks are removed and the module becomes ``cls_to_become`` (``LazyLinear`` -> ``Linear``).
Loading a state_dict into a lazy module materializes the placeholders to the checkpoint's shapes.

Run the first forward eagerly: materializing changes which state exists, which a compiled
function cannot do (``torchjax.compile`` says so).
"""

from __future__ import annotations

import itertools
from typing import Any

from ... import _tracking
from ..._tensor import Tensor, _new, unwrap
from ..parameter import UninitializedBuffer, is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixin for modules that infer their parameters' shapes from their first input.

    Put it first among the bases (``class LazyLinear(LazyModuleMixin, Linear)``) and implement
    ``initialize_parameters(*args, **kwargs)``: materialize every placeholder (parameters in place
    with ``param.materialize(shape)``; buffers with ``self._materialize_buffer(name, shape)``, which
    replaces the placeholder without re-registering it), then reset them.

    Attributes:
        cls_to_become: the class the module turns into once initialized (None: keep the class).
    """

    cls_to_become: type[Any] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        # Placeholders are saved as themselves (they have no array to save).
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if is_lazy(param) or keep_vars else param._data
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                        error_msgs) -> None:
        """Materialize each placeholder that the checkpoint has a real value for, to its shape."""
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and param is not None and is_lazy(param) and not is_lazy(state_dict[key]):
                shape = tuple(state_dict[key].shape)
                if isinstance(param, UninitializedBuffer):
                    self._materialize_buffer(name, shape)
                else:
                    param.materialize(shape)

    def _materialize_buffer(self, name: str, shape: tuple[int, ...]) -> None:
        """Replace the placeholder buffer ``name`` by an array of ``shape`` (zeros), keeping persistence."""
        # Not register_buffer: torch materializes in place, so registration hooks do not fire again. The set
        # of state arrays changes all the same, so caches must see it.
        self._buffers[name] = _new(Tensor, unwrap(self._buffers[name].materialize(shape)))
        _tracking.bump()

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Materialize the placeholders from the first input; lazy modules override it."""
        raise NotImplementedError(f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether any parameter or buffer is still a placeholder."""
        return any(is_lazy(v) for v in itertools.chain(self._parameters.values(), self._buffers.values()))

    def _infer_parameters(self, module, args: tuple, kwargs: dict | None = None) -> None:
        """Forward pre-hook: initialize, then drop the hooks and become ``cls_to_become``."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self):
        raise RuntimeError(
            "Modules with uninitialized parameters can't be used with `DataParallel`. "
            "Run a dummy forward pass to correctly initialize the modules"
        )

"""``Optimizer``: torch.optim's base class, with the update math as pure JAX functions.

An optimizer keeps torch's structure (``param_groups``, ``state`` keyed by Parameter,
``state_dict()`` with ``state`` keyed by parameter index) and reads ``Parameter.grad``. Each
subclass supplies two pure functions: ``_init_state(group, param)`` (a parameter's initial state,
as arrays) and ``_update(hp, param, grad, state) -> (new_param, new_state)``. ``step()`` runs the
update of each group as one jitted function, so an eager step is one dispatch per group and the
same code is traced into a ``torchjax.compile``d step.

State values are Tensors (``step`` a float32 0-d one, as torch's Adam keeps it), updated in place by
every step, eager or compiled: a Tensor taken from ``opt.state`` or ``state_dict()`` follows the
optimizer, as in torch.

Hyper-parameters: in ``_update``, numbers in the group (``lr``, ``momentum``, ``betas``, ...)
are traced inputs, so a scheduler changing ``lr`` never recompiles, except numbers equal to 0,
which stay Python constants (``if weight_decay != 0`` keeps working) — test them with
:func:`nonzero`. Booleans, strings and None are compile-time constants.
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _tracking
from .._device import _typename
from .._tensor import Tensor, _place_like, unwrap, wrap
from ..autograd import enable_grad
from ..nn.parameter import Parameter
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required", "nonzero"]


class _RequiredParameter:
    """Marks a hyper-parameter every group must give (torch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def nonzero(value: Any) -> bool:
    """``value != 0`` for a hyper-parameter that may be traced: a traced value is never the
    constant 0 (zeros stay constants), so this is safe inside compiled steps."""
    return not (isinstance(value, int | float) and value == 0)


def _is_dynamic(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return value != 0
    # A tuple of numbers (betas) is traced; inside a compiled step it arrives as a tuple of tracers.
    if isinstance(value, tuple) and value and all(isinstance(v, int | float | jax.Array) and not isinstance(v, bool)
                                                  for v in value):
        return True
    return isinstance(value, jax.Array)


def _option_key(value: Any) -> Any:
    kind = type(value)
    if kind is float or kind is int:
        return "traced" if value != 0 else value
    if kind is bool or value is None or kind is str:
        return value
    if kind is list:  # the group's parameter list: its identity is part of the state layout already
        return None
    return "traced" if _is_dynamic(value) else _static_value(value)


def _static_value(value: Any) -> Any:
    return value if not isinstance(value, list) else tuple(value)


class Optimizer:
    """Base class of the optimizers.

    Arguments:
        params: an iterable of Parameters, of ``(name, Parameter)`` pairs, or of dicts defining
            parameter groups (``{"params": [...], "lr": ...}``).
        defaults: default hyper-parameters for groups that don't set them.
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict[int, Callable] = OrderedDict()
        if isinstance(params, Tensor | jax.Array):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
                + _typename(params)
            )
        self.state: defaultdict[Parameter, dict[str, Any]] = defaultdict(dict)
        self._created_ahead: set[Parameter] = set()  # state made by _state_slots before any step
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(dict(param_group))

    # --- what subclasses define -------------------------------------------------------------------
    def _init_state(self, group: dict[str, Any], param: Parameter) -> dict[str, Any]:
        """A parameter's state before its first step (arrays, or None for state created later)."""
        return {}

    def _new_state(self, group: dict[str, Any], param: Parameter) -> dict[str, Any]:
        """``_init_state`` with its arrays as Tensors: what ``self.state[param]`` holds."""
        return {key: wrap(value) for key, value in self._init_state(group, param).items()}

    @staticmethod
    def _update(hp: dict[str, Any], param: jax.Array, grad: jax.Array, state: dict[str, Any]):
        """One parameter's step: ``(new_param, new_state)``. Pure; ``hp`` holds the group's options."""
        raise NotImplementedError

    # --- torch's API ------------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks", "_optimizer_state_dict_pre_hooks",
                     "_optimizer_state_dict_post_hooks", "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            self.__dict__.setdefault(name, OrderedDict())
        self.__dict__.setdefault("_created_ahead", set())

    def __repr__(self) -> str:
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (fine-tuning a layer differently, say)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Parameter):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors "
                "in sets will change between runs. Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        names = [p[0] for p in param_group["params"] if isinstance(p, tuple)]
        param_group["params"] = [p[1] if isinstance(p, tuple) else p for p in param_group["params"]]
        if names:
            if len(names) != len(param_group["params"]):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for param in param_group["params"]:
            if not isinstance(param, Parameter):
                raise TypeError(
                    "optimizer can only optimize Parameters (a plain JAX array cannot be updated in place), "
                    "but one of the params is " + _typename(param)
                )
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause an error",
                stacklevel=3,
            )
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {which} to the optimizer"
                )
        if not seen.isdisjoint(id(p) for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)
        _tracking.bump()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter: to None (default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None  # written without being read: a compiled step then needs no old grads
                elif p.grad is not None:
                    p.grad.zero_()  # in place, as torch does

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One optimization step over every parameter whose ``grad`` is not None.

        ``closure`` re-evaluates the model and returns the loss (needed by LBFGS-style methods).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for pre_hook in self._optimizer_step_pre_hooks.values():
            result = pre_hook(self, (), {})
            if result is not None:
                raise RuntimeError("optimizer step pre-hooks must return None in torchjax")
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if not self.state[p]:
                    self.state[p] = self._new_state(group, p)
            static = tuple((k, _static_value(v)) for k, v in group.items()
                           if k not in ("params", "param_names") and not _is_dynamic(v))
            dynamic = {k: v for k, v in group.items() if k not in ("params", "param_names") and _is_dynamic(v)}
            new_params, new_states = _group_update(type(self)._update, static)(
                dynamic, [p._data for p in params], [p.grad.jax() for p in params],
                [{k: unwrap(v) for k, v in self.state[p].items()} for p in params]
            )
            for p, value, state in zip(params, new_params, new_states, strict=True):
                p._rebind(value)
                _write_state(self.state[p], state)
        for post_hook in self._optimizer_step_post_hooks.values():
            post_hook(self, (), {})
        return loss

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs) -> None`` before each step."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs) -> None`` after each step."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {param index: {...}}, "param_groups": [{..., "params": [indices]}]}``, as torch."""
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        mapping: dict[int, int] = {}
        start = 0

        def pack(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            mapping.update({id(p): i for i, p in enumerate(group["params"], start) if id(p) not in mapping})
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack(g) for g in self.param_groups]
        packed_state = {(mapping[id(k)] if isinstance(k, Parameter) else k): v for k, v in self.state.items()
                        if v and not self._never_stepped(k, v)}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load ``state_dict()`` output (ours or a torch optimizer's, arrays in any framework).

        Checked before anything changes: a mismatch raises and leaves the optimizer as it was.
        """
        state_dict = dict(state_dict)
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups, strict=True)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
            )
        id_map = {saved: p for g, s in zip(groups, saved_groups, strict=True)
                  for saved, p in zip(s["params"], g["params"], strict=True)}

        def cast(param: Parameter, value: Any, key: Any = None) -> Any:
            if _is_array_like(value):
                # A copy, as for a module's state_dict: sharing the source's array would let a donating
                # compiled step of one optimizer invalidate the other's state.
                value = unwrap(value)
                array = jnp.array(value if isinstance(value, jax.Array) else np.asarray(value), copy=True)
                if key != "step" and jnp.issubdtype(param.dtype, jnp.floating):
                    array = array.astype(param.dtype)
                return wrap(_place_like(array, param._data))
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict[Parameter, dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v)
            else:
                state[k] = v
        new_groups = []
        for group, saved in zip(groups, saved_groups, strict=True):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})
        self._created_ahead = set()
        _tracking.bump()
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    # --- the state-slot protocol (torchjax.compile / _state) -----------------------------------------
    def _state_slots(self) -> tuple[list[Parameter], list[tuple[dict, str]], list[tuple[dict, str]]]:
        """(parameters, state slots, hyper-parameter slots) for the transforms.

        State is created for every parameter first: a compiled step cannot add slots while it runs.
        """
        params = [p for group in self.param_groups for p in group["params"]]
        items = []
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if not state:
                    state = self.state[p] = self._new_state(group, p)
                    self._created_ahead.add(p)
                for key, value in state.items():
                    # Assigned by hand: a slot holds a Tensor of its own (the compiled call reads its array).
                    if isinstance(value, jax.Array | np.ndarray) or (
                            isinstance(value, Tensor) and value._base is not None):
                        state[key] = wrap(jnp.asarray(unwrap(value)))
                items += [(state, key) for key in state]
        hparams = [(group, key) for group in self.param_groups for key, value in group.items()
                   if key not in ("params", "param_names") and _is_dynamic(value)]
        return params, items, hparams

    def _never_stepped(self, param: Any, state: dict[str, Any]) -> bool:
        """State ``_state_slots`` created for a parameter that has had no step since (a frozen one):
        torch would have none, so ``state_dict()`` leaves it out. A step always sets a buffer or
        advances ``step``."""
        if param not in self._created_ahead:
            return False
        step = state.get("step")
        return all(v is None for v in state.values()) or (step is not None and float(step) == 0)

    def _compile_key(self) -> tuple:
        """What a compiled step depends on beyond the slots: constant options and which numbers are 0.

        Called on every compiled call, so the common option types are classified inline.
        """
        return tuple(
            (tuple(group), tuple(map(_option_key, group.values())))
            for group in self.param_groups
        )


def _is_array_like(value: Any) -> bool:
    return isinstance(value, Tensor | jax.Array | np.ndarray) or (
        hasattr(value, "__array__") and hasattr(value, "shape"))


def _write_state(holders: dict[str, Any], values: dict[str, Any]) -> None:
    """A step's new state into a parameter's state dict: each Tensor is rebound in place (keeps its
    identity, as torch's in-place updates do); state created by this step becomes a new Tensor."""
    for key, value in values.items():
        holder = holders.get(key)
        if isinstance(holder, Tensor) and value is not None:
            holder._rebind(value)
        else:
            holders[key] = wrap(value)


@functools.lru_cache(maxsize=256)
def _group_update(update: Callable, static: tuple) -> Callable:
    """One jitted function applying ``update`` to every parameter of a group."""
    static_hp = dict(static)

    @jax.jit
    def run(dynamic, params, grads, states):
        hp = {**static_hp, **dynamic}
        results = [update(hp, p, g, s) for p, g, s in zip(params, grads, states, strict=True)]
        return [r[0] for r in results], [r[1] for r in results]

    return run

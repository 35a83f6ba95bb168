"""State slots: the one mechanism every transform is built on.

Each transform (``func.*``, ``backward``, ``compile``, backward hooks) runs user code as a pure
function of the state it touches::

    (parameter data, grads, buffers, generator keys, optimizer state), inputs -> outputs, new state

:class:`StateLayout` is that state, flattened: ``collect`` walks Modules (each module and each
Parameter once, by identity, so tied weights stay tied), Parameters, Generators and any object
with a ``_state_slots()`` method (optimizers), and keeps typed lists of slots. ``read`` and
``write`` move arrays out of and into the live objects; :meth:`StateLayout.installed` puts values
(usually tracers) in for the duration of a body and always restores the originals, so no tracer
is ever left in a live object, also when the body raises.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import jax
import jax.numpy as jnp

from . import _random, _tracking
from ._tensor import Tensor, unwrap, wrap
from .nn.parameter import Parameter, is_lazy, raw_grad


def is_stateful(obj: Any) -> bool:
    """Whether ``obj`` carries state the transforms must thread (a tree leaf for them): a Module (the
    type ``nn.Module`` leaves in ``_tracking``, as this file cannot import it), a Parameter, a Generator or
    an object with ``_state_slots()`` (optimizers)."""
    return (isinstance(obj, (_tracking.module_type, Parameter, _random.Generator))
            or hasattr(type(obj), "_state_slots"))


class StateLayout:
    """The ordered state slots of a set of stateful root objects.

    Attributes:
        modules: every module reached, once.
        params: every Parameter reached, once (its ``data`` and ``grad`` are slots).
        buffers: ``(module._buffers, name)`` for every buffer that is not None.
        generators: Generators whose key is a slot.
        items: ``(dict, key)`` slots contributed by other stateful objects (optimizer state): each holds a
            Tensor (or None before the state exists), written in place like a buffer.
        hparams: ``(dict, key)`` inputs that are read but never written back (an optimizer's
            ``lr``): traced so that changing them does not recompile.
        signature: what a compiled program depends on besides shapes and dtypes: identities,
            types, ``training`` and ``requires_grad`` flags, buffer names, hook ids.
    """

    __slots__ = ("roots", "modules", "params", "buffers", "generators", "items", "hparams", "signature", "epoch",
                 "_hparam_arrays")

    def __init__(self, roots: Iterable[Any]) -> None:
        self.roots = tuple(roots)
        self.epoch = _tracking.epoch
        self.modules: list = []  # nn.Module instances
        self.params: list[Parameter] = []
        self.buffers: list[tuple[dict, str]] = []
        self.generators: list[_random.Generator] = []
        self.items: list[tuple[dict, Any]] = []
        self.hparams: list[tuple[dict, Any]] = []
        self._hparam_arrays: list[tuple[Any, Any]] = []  # per hparam: (last value, its device array)
        seen: set[int] = set()
        module_type = _tracking.module_type

        def add_param(p: Parameter, owner: str) -> None:
            if id(p) in seen:
                return
            if is_lazy(p):
                raise RuntimeError(
                    f"{owner} has an uninitialized (lazy) parameter: run one forward pass eagerly to "
                    "materialize it before using it in a torchjax transform"
                )
            seen.add(id(p))
            self.params.append(p)

        for obj in self.roots:
            if isinstance(obj, module_type):
                for module in obj.modules():
                    if id(module) in seen:
                        continue
                    seen.add(id(module))
                    self.modules.append(module)
                    for p in module._parameters.values():
                        if p is not None:
                            add_param(p, module._get_name())
                    for name, buf in module._buffers.items():
                        if buf is not None and not is_lazy(buf):
                            self.buffers.append((module._buffers, name))
            elif isinstance(obj, Parameter):
                add_param(obj, "an argument")
            elif isinstance(obj, _random.Generator):
                if id(obj) not in seen:
                    seen.add(id(obj))
                    self.generators.append(obj)
            elif id(obj) not in seen:
                seen.add(id(obj))
                params, items, hparams = obj._state_slots()
                for p in params:
                    add_param(p, type(obj).__name__)
                self.items.extend(items)
                self.hparams.extend(hparams)
        self.signature = self._signature()

    def _signature(self) -> tuple:
        return (
            tuple(
                (id(m), type(m), m.training, tuple(m._forward_pre_hooks), tuple(m._forward_hooks),
                 tuple(m._backward_pre_hooks), tuple(m._backward_hooks))
                for m in self.modules
            ),
            tuple((id(p), p.requires_grad) for p in self.params),
            tuple((id(d), k) for d, k in self.buffers),
            tuple(id(g) for g in self.generators),
            tuple((id(d), k) for d, k in self.items),
            tuple((id(d), k) for d, k in self.hparams),
            _tracking.module_global_hooks(),
        )

    def slot_structure(self) -> tuple:
        """The slots alone (no flags): what must not change inside a traced function."""
        return tuple(id(p) for p in self.params), self.signature[2:6]

    # --- moving values ---------------------------------------------------------------------------
    def read(self, grads: bool = True) -> tuple[list, list, list, list, list]:
        """The slots' values as stored: a grad may be a packed :class:`~torchjax.nn.parameter.GradView`
        (resolve it with ``p.grad`` before handing it to JAX); neither this nor :meth:`write` counts
        as a grad access for ``torchjax.compile``'s read-before-write tracking. ``grads=False``
        gives None for every grad without reading them."""
        try:  # every entry a Tensor (of its own: optimizers make no views): runs on every compiled call
            items = [d[k]._data for d, k in self.items]
        except AttributeError:  # None before the state exists (SGD's first momentum buffer), or a raw array
            items = [unwrap(d[k]) for d, k in self.items]
        return (
            [p._data for p in self.params],
            [raw_grad(p._grad) for p in self.params] if grads else [None] * len(self.params),  # raw: GradView
            [unwrap(d[k]) for d, k in self.buffers],
            [g._key for g in self.generators],
            items,
        )

    def write(self, state: tuple[list, list, list, list, list], grads: list[int] | None = None) -> None:
        """Store ``state`` in the slots; with ``grads`` (parameter indices), only those grads."""
        data, grad_values, buffers, keys, items = state
        for p, value in zip(self.params, data, strict=True):
            p._data = value
            p._version += 1  # views of the parameter (p.data, state_dict() values) re-read it
        if grads is None:
            for p, value in zip(self.params, grad_values, strict=True):
                p._grad = value
        else:
            params = self.params
            for i in grads:
                params[i]._grad = grad_values[i]
        for (d, k), value in zip(self.buffers, buffers, strict=True):
            d[k]._rebind(value)  # in place: the buffer keeps its identity, as after torch's in-place update
        for g, value in zip(self.generators, keys, strict=True):
            g._key = value
        for (d, k), value in zip(self.items, items, strict=True):
            holder = d[k]
            if type(holder) is Tensor and value is not None:
                # In place (Tensor._rebind, inlined: this runs on every compiled call): the state Tensor keeps
                # its identity, as after torch's step.
                holder._data, holder._base = value, None
                holder._version += 1
            else:
                d[k] = wrap(value)  # state this step created (SGD's first momentum buffer) or dropped

    def hparam_inputs(self) -> list:
        """The hyper-parameters as a compiled program takes them: Python numbers (and tuples of
        them) as device arrays of the same weak type, converted once per new value (a Python
        scalar argument costs jit a conversion on every call)."""
        cache = self._hparam_arrays
        if len(cache) != len(self.hparams):
            cache[:] = [(_UNSET, None)] * len(self.hparams)
        values = []
        for i, (d, k) in enumerate(self.hparams):
            value = d[k]
            last, array = cache[i]
            if value is not last and not (_is_number(value) and type(value) is type(last) and value == last):
                array = _as_input(value)
                cache[i] = (value, array)
            values.append(array)
        return values

    def read_hparams(self) -> list:
        return [d[k] for d, k in self.hparams]

    @contextlib.contextmanager
    def installed(self, state: tuple | None = None, hparams: list | None = None) -> Iterator[None]:
        """Install ``state`` and ``hparams`` (when given) for the body; restore every slot
        afterwards, always."""
        saved, saved_hparams = self.read(), self.read_hparams()
        # The body may rebind a buffer or an optimizer state entry to a new Tensor: the originals go back.
        saved_buffers = [d[k] for d, k in self.buffers]
        saved_items = [d[k] for d, k in self.items]
        try:
            if state is not None:
                self.write(state)
            if hparams is not None:
                for (d, k), value in zip(self.hparams, hparams, strict=True):
                    d[k] = value
            yield
        finally:
            for (d, k), buf in zip(self.buffers, saved_buffers, strict=True):
                d[k] = buf
            for (d, k), item in zip(self.items, saved_items, strict=True):
                d[k] = item
            self.write(saved)
            for (d, k), value in zip(self.hparams, saved_hparams, strict=True):
                d[k] = value


_UNSET = object()


def _is_number(value: Any) -> bool:
    """A Python int/float, or a tuple of them (an optimizer's betas): safe to compare with ``==``."""
    return type(value) in (int, float) or (type(value) is tuple and all(type(v) in (int, float) for v in value))


def _as_input(value: Any) -> Any:
    if type(value) in (int, float):
        return jnp.asarray(value)  # weakly typed, like the Python number jit would trace
    if _is_number(value):
        return tuple(jnp.asarray(v) for v in value)
    return value


def stateful_leaves(tree: Any) -> tuple[list, Any]:
    """Flatten ``tree`` with stateful objects as leaves: (leaves, treedef)."""
    return jax.tree_util.tree_flatten(tree, is_leaf=is_stateful)


def collect(objects: Iterable[Any], *, default_generator: bool = True) -> StateLayout:
    """The layout of every stateful object in ``objects`` (nested containers are searched),
    plus the default Generator unless ``default_generator=False``."""
    leaves, _ = stateful_leaves(list(objects))
    roots = [leaf for leaf in leaves if is_stateful(leaf)]
    if default_generator:
        roots.append(_random.default_generator)
    return StateLayout(roots)


@contextlib.contextmanager
def tracing_modules(layout: StateLayout) -> Iterator[None]:
    """While tracing a compiled function: only these modules (and ones created inside) may be used."""
    previous = _tracking.traced_modules
    _tracking.traced_modules = {id(m) for m in layout.modules} | (previous or set())
    try:
        yield
    finally:
        _tracking.traced_modules = previous


@contextlib.contextmanager
def guarding_buffers(layout: StateLayout, transform: str) -> Iterator[None]:
    """Inside a transform: a buffer of a module the layout does not hold (reached through a
    closure) that the body rebinds to a tracer is put back afterwards, with a warning, rather
    than left holding a tracer. The layout's own buffers are the transform's to carry out."""
    previous = _tracking.buffer_writes
    _tracking.buffer_writes = writes = []
    try:
        yield
    finally:
        _tracking.buffer_writes = previous
        if previous is not None:
            previous.extend(writes)
        own = {(id(d), k) for d, k in layout.buffers}
        for buffers, name, old in reversed(writes):
            if (id(buffers), name) in own or not isinstance(unwrap(buffers.get(name)), jax.core.Tracer):
                continue
            if isinstance(unwrap(old), jax.core.Tracer):
                continue  # an enclosing transform's value: that transform restores it
            if old is _tracking.ABSENT:
                del buffers[name]
            else:
                buffers[name] = old
            warnings.warn(
                f"{transform}: buffer '{name}' of a module that is not an argument was updated inside the "
                "transform; the update was discarded. Pass the module as an argument to keep it.",
                stacklevel=4,
            )


@contextlib.contextmanager
def forward_mode() -> Iterator[None]:
    """While a forward-mode transform runs, modules skip their backward hooks."""
    _tracking.forward_mode += 1
    try:
        yield
    finally:
        _tracking.forward_mode -= 1

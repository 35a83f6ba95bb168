"""``torchjax.compile``: a PyTorch-style step as one XLA program, all state written back.

Every Module, Optimizer, Parameter and Generator among the arguments (nested in tuples, lists
and dicts too), plus the default Generator, is state: its arrays go into the compiled program as
inputs and what the step left in them comes back out and is written into the live objects. The
per-call Python work is a flatten of the arguments, an O(1) check of the structure epoch and one
list comprehension per kind of slot; everything else is cached.

A program is reused until one of these changes: the slot structure (parameters, buffers,
submodules registered or replaced), ``training`` / ``requires_grad`` flags, hooks, which grads
are None, shapes and dtypes (jit's own check), or the static (non-array) arguments. Python
scalars (int, float) are traced like arrays, as in ``jax.jit``; pass ``static_argnums`` /
``static_argnames`` for ones that steer Python control flow.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _random, _state, _tracking
from ._tensor import Tensor, unwrap
from .nn.modules.module import Module, _StateSnapshot
from .nn.parameter import GradPack, GradView

__all__ = ["compile"]

_STATEFUL, _DYNAMIC, _STATIC = 0, 1, 2
_DYNAMIC_SCALARS = (int, float, complex)


_NESTED = -1
_PACK_BYTES = 2 << 20  # largest set of kept grads (per dtype) returned as one flat array
_ARRAY_TYPES = frozenset({type(jnp.zeros(())), np.ndarray, int, float, complex, Tensor})


def _flat_kind(arg: Any) -> int:
    """``_kind`` of a top-level argument, or ``_NESTED`` for containers that need flattening."""
    if type(arg) in _ARRAY_TYPES:
        return _DYNAMIC
    if arg is None or isinstance(arg, tuple | list | dict):
        return _NESTED
    return _kind(arg)


def _kind(leaf: Any) -> int:
    if _state.is_stateful(leaf):
        return _STATEFUL
    if isinstance(leaf, jax.Array | np.ndarray | Tensor) or type(leaf) in _DYNAMIC_SCALARS:
        return _DYNAMIC
    return _STATIC


class _Program:
    """One traced-and-jitted step for one set of stateful objects and one argument structure."""

    def __init__(self, fn: Callable, layout: _state.StateLayout, stateful: list, treedef, kinds: tuple,
                 static: tuple, donate: bool) -> None:
        self.layout = layout
        self.out_order = None  # the output's dict key orders, recorded while tracing
        self.written_args: list[int] = []  # Tensor arguments the step changes in place
        self.written_attrs: list[tuple[Module, str, Tensor]] = []  # Tensors the step stored in plain attributes
        self.dead_grads: list[int] = []  # params whose grad the step writes before reading it
        self.unused_keys: list[int] = []  # generators the step did not draw from
        self.live_grads: list[int] | None = None  # params whose grad the step reads (None: not traced yet)
        # Kept grads of small models leave the program as one flat array per dtype (see GradPack):
        # an output costs a few microseconds per call, which is a large share of a small step.
        # The concatenation is a copy (a transient second set of grads), so only up to
        # _PACK_BYTES per dtype; not for partitioned parameters, whose shards it would gather.
        # Decided from the placement the parameters have when the program is built.
        self.pack_grads = all(_replicated(p._data) for p in layout.params)
        self.grad_packs: list[tuple[list[int], tuple]] = []  # (param indices, shapes) per flat output
        # Set from the trace (see _settle): which grads to drop before a call and write after it,
        # and per flat output the GradPack and the views that every call re-points.
        self.release: list[int] = []
        self.written_grads: list[int] | None = None
        self.packs: list[tuple[GradPack, list, list]] | None = None

        def pure(state, keys, hparams, dynamic):
            # Generator keys travel apart from the donated state: a step that fails while it runs
            # must not take the (process-wide) default generator down with it.
            state = (*state[:3], keys, state[4])
            snapshots = [_StateSnapshot(obj) for obj in stateful if isinstance(obj, Module)]
            attributes = _attributes(layout.modules)
            structure = layout.slot_structure()
            try:
                with _state.tracing_modules(layout), layout.installed(state, hparams):
                    sources = {_STATEFUL: iter(stateful), _DYNAMIC: iter(dynamic), _STATIC: iter(static)}
                    leaves = [next(sources[kind]) for kind in kinds]
                    if isinstance(treedef, int):
                        args, kwargs = tuple(leaves), {}
                    else:
                        args, kwargs = jax.tree_util.tree_unflatten(treedef, leaves)
                    outer, _tracking.grad_access = _tracking.grad_access, {}
                    try:
                        out = fn(*args, **kwargs)
                    finally:
                        access, _tracking.grad_access = _tracking.grad_access, outer
                    self.dead_grads = [i for i, p in enumerate(layout.params) if access.get(id(p)) == "write"]
                    self.live_grads = [i for i, p in enumerate(layout.params) if access.get(id(p)) != "write"]
                    if _state.StateLayout(layout.roots).slot_structure() != structure:
                        raise RuntimeError(
                            "torchjax.compile: the compiled function changed which parameters, buffers or submodules "
                            "exist (registered, replaced or deleted one, or materialized a lazy module). Do that "
                            "outside the compiled function, e.g. run one forward pass eagerly first."
                        )
                    new_state = layout.read()
                    self.out_order = _dict_order(out)
                    # Tensor arguments the step changed in place (their version moved while tracing):
                    # their new values are outputs, written back into the caller's Tensors.
                    self.written_args = [i for i, leaf in enumerate(dynamic)
                                         if isinstance(leaf, Tensor) and leaf._version]
                    # A Tensor the step stored in a plain module attribute (a mask cached as
                    # ``self.src_mask = ...``) holds a value of this trace: an output as well, written
                    # back into that Tensor, which the attribute then holds (as torch would have it).
                    self.written_attrs = _stored_attributes(layout.modules, attributes)
                    out = (out, [unwrap(dynamic[i]) for i in self.written_args],
                           [unwrap(value) for _, _, value in self.written_attrs])
                    # A generator the step never drew from keeps its key as it was: passed back
                    # through the program it would come out placed on the program's devices.
                    self.unused_keys = [i for i, (new, old) in enumerate(zip(new_state[3], keys, strict=True))
                                        if new is old]
                    for i in self.unused_keys:  # not an output either: one fewer array per call
                        new_state[3][i] = None
                    flats = self._pack(new_state[1]) if self.pack_grads else []
                    self.packs = None  # re-settled after this call
            except BaseException:
                for snapshot in snapshots:
                    snapshot.restore()
                _restore_attributes(layout.modules, attributes)
                raise
            return out, new_state, flats

        self.jitted = jax.jit(pure, donate_argnums=(0,) if donate else ())

    def _pack(self, grads: list) -> list:
        """Replace the grads the step wrote before reading (non-None) by one flat array per dtype,
        in place; returns the flats. Grads read first are donated inputs and stay separate
        outputs, so that XLA writes them into the inputs' memory."""
        groups: dict = {}
        for i in self.dead_grads:
            g = grads[i]
            if g is not None:
                groups.setdefault(jnp.dtype(g.dtype), []).append(i)
        self.grad_packs = [(indices, tuple(tuple(grads[i].shape) for i in indices))
                           for dtype, indices in groups.items()
                           if len(indices) > 1 and sum(grads[i].size for i in indices) * dtype.itemsize <= _PACK_BYTES]
        flats = []
        for indices, _ in self.grad_packs:
            flats.append(jnp.concatenate([jnp.ravel(grads[i]) for i in indices]))
            for i in indices:
                grads[i] = None
        return flats

    def _run(self, state: tuple, hparams: list, dynamic: list):
        return self.jitted((*state[:3], [], state[4]), state[3], hparams, dynamic)

    def _settle(self) -> None:
        """After the first trace: precompute what each call does with grads."""
        packed = {i for indices, _ in self.grad_packs for i in indices}
        # Unpacked grads written first are dropped before the step, so their memory is free for
        # the new ones; packed ones are small and re-pointed after the step anyway.
        self.release = [i for i in self.dead_grads if i not in packed]
        # Grads to write back one by one: all (None, the plain loop) unless some come packed.
        self.written_grads = [i for i in range(len(self.layout.params)) if i not in packed] if packed else None
        self.packs = []
        for indices, shapes in self.grad_packs:
            pack = GradPack(None, shapes)
            self.packs.append((pack, [self.layout.params[i] for i in indices],
                               [GradView(pack, j) for j in range(len(indices))]))

    def _inputs(self, release: bool) -> tuple:
        """The state to pass: grads the step overwrites before reading are not inputs but None (one
        program whether they were None or not; with ``release`` the old arrays are dropped before
        the step runs); packed grads the step reads are unpacked."""
        params = self.layout.params
        if self.live_grads is not None and not self.live_grads:  # every grad is written first
            state = self.layout.read(grads=False)
        else:
            state = self.layout.read()
            grads = state[1]
            for i in self.dead_grads:
                grads[i] = None
            for i in range(len(params)) if self.live_grads is None else self.live_grads:
                if type(grads[i]) is GradView:
                    grads[i] = unwrap(params[i].grad)
        if release:
            for i in self.release:
                params[i]._grad = None
        return state

    def lower(self, dynamic: list) -> Any:
        """``jax.jit(...).lower`` of this program for the live state (to inspect its HLO or memory)."""
        state = self._inputs(release=False)
        return self.jitted.lower((*state[:3], [], state[4]), state[3], self.layout.hparam_inputs(), dynamic)

    def __call__(self, dynamic: list) -> Any:
        layout = self.layout
        if self.live_grads is None and any(p._grad is not None for p in layout.params):
            # First call with grads already set: trace once without compiling to learn which grads
            # the step overwrites before reading, so that they go in as None and XLA compiles the
            # one program later calls use (not a first one for arrays, then another for None).
            state = self._inputs(release=False)
            self.jitted.trace((*state[:3], [], state[4]), state[3], layout.hparam_inputs(), dynamic)
        state, hparams = self._inputs(release=True), layout.hparam_inputs()
        if self.packs is None:  # the first call
            state = _commit_alike(state)
        try:
            out, new_state, flats = self._run(state, hparams, dynamic)
        except RuntimeError as e:
            if "donate the same buffer twice" not in str(e):
                _note_lost_state(e, state)
                raise
            # Two slots hold the same array object: give each its own copy once, then retry.
            layout.write(_distinct(state))
            out, new_state, flats = self._run(self._inputs(release=False), hparams, dynamic)
        except ValueError as e:
            # A generator key left on another device set by an earlier step (one on a device mesh):
            # move the keys to where this step's arrays are, then retry. Raised before running,
            # so nothing was donated yet.
            if "incompatible devices" not in str(e) or not _place_keys(layout, state, dynamic):
                raise
            out, new_state, flats = self._run(state, hparams, dynamic)
        for i in self.unused_keys:
            new_state[3][i] = state[3][i]
        if self.packs is None:
            self._settle()
        layout.write(new_state, grads=self.written_grads)
        out, written, attributes = out
        for i, value in zip(self.written_args, written, strict=True):
            dynamic[i]._rebind(value)
        for (module, name, tensor), value in zip(self.written_attrs, attributes, strict=True):
            tensor._rebind(value)
            module.__dict__[name] = tensor
        for (pack, owners, views), flat in zip(self.packs, flats, strict=True):
            # One pack and its views per program, re-pointed at each call's flat array: every
            # parameter in it got a new grad from this call, so no view can still mean an older one.
            pack.flat, pack.arrays = flat, None
            for p, view in zip(owners, views, strict=True):
                p._grad = view
        return out if self.out_order is None else _reorder(out, self.out_order)


def _attributes(modules: list) -> dict[tuple[Module, str], tuple]:
    """The modules' plain attributes (not parameters, buffers or submodules), Tensors with their
    version and array: what tells which Tensors a trace stored or changed, and how to put them back."""
    return {(module, name): (value, value._version, value._data) if isinstance(value, Tensor) else (value, None, None)
            for module in modules for name, value in vars(module).items()}


def _traced_attributes(modules: list, before: dict) -> Iterator[tuple[tuple[Module, str], Tensor]]:
    """The plain-attribute Tensors that a trace stored, or changed in place, and so hold a tracer."""
    for module in modules:
        for name, value in vars(module).items():
            if not isinstance(value, Tensor):
                continue
            old = before.get((module, name))
            changed = old is None or old[0] is not value or old[1] != value._version
            if changed and isinstance(unwrap(value), jax.core.Tracer):
                yield (module, name), value


def _stored_attributes(modules: list, before: dict) -> list[tuple[Module, str, Tensor]]:
    """The plain-attribute Tensors the trace stored (new Tensors). One that existed before and was
    changed in place raises: the program reads it as a constant (its value when traced), so later
    calls would start again from that value."""
    stored = []
    for (module, name), value in _traced_attributes(modules, before):
        if before.get((module, name), (None,))[0] is value:
            raise RuntimeError(
                f"torchjax.compile: the compiled function changed {module._get_name()}.{name} in place, a Tensor "
                "held in a plain attribute: the program would read it as a constant, its value when traced. "
                f"Register it as a buffer (self.register_buffer({name!r}, tensor, persistent=False)) so that the "
                "compiled step carries it as state."
            )
        stored.append((module, name, value))
    return stored


def _restore_attributes(modules: list, before: dict) -> None:
    """Put back the plain attributes whose Tensors a failed trace stored or changed."""
    for (module, name), _ in list(_traced_attributes(modules, before)):
        if (module, name) not in before:
            del module.__dict__[name]
            continue
        value, version, data = before[module, name]
        if isinstance(value, Tensor):
            value._data, value._version = data, version
        module.__dict__[name] = value


def _commit_alike(state: tuple) -> tuple:
    """State that mixes arrays committed to one device (placed by ``.to(device)``, or computed from an input
    that was) with uncommitted ones, all committed there. The program's outputs come back committed, so
    without this the second call would see other placements and compile again."""
    arrays = [a for a in jax.tree_util.tree_leaves(state) if isinstance(a, jax.Array)]
    placements = {a.sharding for a in arrays if a.committed}
    if len(placements) != 1 or all(a.committed for a in arrays):
        return state
    sharding, = placements
    if not isinstance(sharding, jax.sharding.SingleDeviceSharding):
        return state
    return jax.tree_util.tree_map(
        lambda a: jax.device_put(a, sharding) if isinstance(a, jax.Array) and not a.committed else a, state)


def _place_keys(layout: _state.StateLayout, state: tuple, dynamic: list) -> bool:
    """Put the generator keys in ``state`` (and their generators) on the device set of the first
    committed array among the state and the dynamic arguments, replicated; False if there is none."""
    arrays = [a for a in (*state[0], *state[2], *map(unwrap, dynamic)) if isinstance(a, jax.Array) and a.committed]
    if not arrays:
        return False
    sharding = arrays[0].sharding
    if isinstance(sharding, jax.sharding.NamedSharding):
        target = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())
    elif len(sharding.device_set) == 1:
        target = jax.sharding.SingleDeviceSharding(next(iter(sharding.device_set)))
    else:
        return False
    keys = state[3]
    for i, (generator, key) in enumerate(zip(layout.generators, keys, strict=True)):
        keys[i] = generator._key = jax.device_put(key, target)
    return True


def _replicated(array: Any) -> bool:
    sharding = getattr(array, "sharding", None)
    return sharding is not None and sharding.is_fully_replicated


def _note_lost_state(error: BaseException, state: tuple) -> None:
    """A step that fails while it runs (out of memory, an error from a debug callback) has already
    consumed its donated state: say so on the error, since the model can no longer be used."""
    if any(leaf.is_deleted() for leaf in jax.tree_util.tree_leaves(state) if isinstance(leaf, jax.Array)):
        message = (
            "torchjax.compile: the step failed while running, after its donated state (parameters, buffers, "
            "optimizer state) was handed to XLA; that state is gone. Reload it from a checkpoint, and use "
            "compile(..., donate=False) to keep the state when a step may fail at run time."
        )
        if hasattr(error, "add_note"):
            error.add_note(message)


def _dict_order(tree: Any) -> Any:
    """Key orders of the plain dicts in ``tree`` (JAX rebuilds dicts sorted by key), or None."""
    if type(tree) is dict:
        return list(tree), {k: _dict_order(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        children = [_dict_order(v) for v in tree]
        return children if any(c is not None for c in children) else None
    return None


def _reorder(tree: Any, order: Any) -> Any:
    if order is None:
        return tree
    if type(tree) is dict:
        keys, children = order
        return {k: _reorder(tree[k], children[k]) for k in keys}
    items = [_reorder(v, o) for v, o in zip(tree, order, strict=True)]
    return type(tree)(*items) if hasattr(tree, "_fields") else type(tree)(items)


def _distinct(state: tuple) -> tuple:
    seen: set[int] = set()

    def own(x):
        if x is None or id(x) not in seen:
            seen.add(id(x))
            return x
        return jnp.array(x, copy=True)

    return jax.tree_util.tree_map(own, state)


class CompiledFunction:
    """What :func:`compile` returns for a function: call it like the function."""

    def __init__(self, fn: Callable, *, donate: bool, static_argnums: Sequence[int], static_argnames: Sequence[str]):
        self.fn = fn
        self.donate = donate
        self.static_argnums = tuple(static_argnums)
        self.static_argnames = tuple(static_argnames)
        self._layouts: dict[tuple[int, ...], _state.StateLayout] = {}
        self._by_signature: dict[tuple, _state.StateLayout] = {}
        self._programs: dict[tuple, _Program] = {}
        self._last: tuple | None = None  # the last call's program and how to recognise a call like it
        functools.update_wrapper(self, fn)

    def clear_cache(self) -> None:
        """Forget every compiled program (the next call traces again)."""
        self._layouts.clear()
        self._by_signature.clear()
        self._programs.clear()
        self._last = None

    def _layout(self, stateful: list, extras: tuple) -> _state.StateLayout:
        ids = (tuple(map(id, stateful)), extras)
        layout = self._layouts.get(ids)
        if layout is None or layout.epoch != _tracking.epoch:
            # Something changed somewhere since the last call: re-validate this call's state only.
            # A layout seen before (same objects, flags and hooks) comes back with its programs.
            fresh = _state.StateLayout([*stateful, _random.default_generator])
            layout = self._by_signature.setdefault(fresh.signature, fresh)
            layout.epoch = fresh.epoch
            self._layouts[ids] = layout
        return layout

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        last = self._last
        if last is not None and not kwargs and len(args) == last[0] and last[1] == _tracking.epoch:
            # The same stateful objects as the last call, arrays where it had arrays, nothing
            # restructured since (epoch) and the same optimizer options: the same program.
            _, _, same, arrays, optimizers, extras, program = last
            if (all(args[i] is obj for i, obj in same) and all(type(args[i]) in _ARRAY_TYPES for i in arrays)
                    and tuple(obj._compile_key() for obj in optimizers) == extras):
                return program([args[i] for i in arrays])
        static_args = ()
        if self.static_argnums or self.static_argnames:
            args, kwargs, static_args = self._split_static(args, kwargs)
        kinds = tuple(map(_flat_kind, args)) if not kwargs else (_NESTED,)
        if _NESTED in kinds:
            leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=_state.is_stateful)
            kinds = tuple(map(_kind, leaves))
        else:  # the common case, every argument a leaf: no pytree flatten needed
            leaves, treedef = args, len(args)
        stateful = [leaf for leaf, kind in zip(leaves, kinds, strict=True) if kind == _STATEFUL]
        dynamic = [leaf for leaf, kind in zip(leaves, kinds, strict=True) if kind == _DYNAMIC]
        static = tuple(leaf for leaf, kind in zip(leaves, kinds, strict=True) if kind == _STATIC)
        # Optimizers add what their compiled update depends on besides slots (constant options).
        extras = tuple(obj._compile_key() for obj in stateful if hasattr(type(obj), "_compile_key"))
        layout = self._layout(stateful, extras)
        key = (layout, extras, treedef, kinds, static, static_args)
        try:
            program = self._programs.get(key)
        except TypeError:
            bad = next(s for s in static if not _hashable(s))
            raise TypeError(
                f"torchjax.compile: an argument of type {type(bad).__name__} is neither an array, a number nor "
                "hashable, so it cannot key the compiled program; make it hashable or pass arrays instead"
            ) from None
        if program is None:
            fn = self.fn if not static_args else self._with_static(static_args)
            program = _Program(fn, layout, stateful, treedef, kinds, static, self.donate)
            self._programs[key] = program
        if isinstance(treedef, int) and not static and not static_args:
            same = [(i, a) for i, (a, k) in enumerate(zip(args, kinds, strict=True)) if k == _STATEFUL]
            self._last = (len(args), layout.epoch, same, [i for i, k in enumerate(kinds) if k == _DYNAMIC],
                          [obj for obj in stateful if hasattr(type(obj), "_compile_key")], extras, program)
        else:
            self._last = None
        return program(dynamic)

    def _split_static(self, args: tuple, kwargs: dict) -> tuple[tuple, dict, tuple]:
        nums = {i % len(args) for i in self.static_argnums if -len(args) <= i < len(args)}
        static = tuple(("arg", i, args[i]) for i in sorted(nums)) + tuple(
            ("kw", k, kwargs[k]) for k in self.static_argnames if k in kwargs)
        args = tuple(None if i in nums else a for i, a in enumerate(args))
        kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        return args, kwargs, static

    def _with_static(self, static_args: tuple) -> Callable:
        def call(*args, **kwargs):
            args = list(args)
            for where, key, value in static_args:
                if where == "arg":
                    args[key] = value
                else:
                    kwargs[key] = value
            return self.fn(*args, **kwargs)

        return call


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


class CompiledModule:
    """What :func:`compile` returns for a Module: calls its forward (with hooks) compiled, on its
    live state; other attributes are the module's."""

    def __init__(self, module: Module, *, donate: bool) -> None:
        self.__dict__["_orig_mod"] = module
        self.__dict__["_compiled"] = CompiledFunction(
            lambda m, *a, **k: m(*a, **k), donate=donate, static_argnums=(), static_argnames=()
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiled(self._orig_mod, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_orig_mod"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._orig_mod, name, value)

    def __repr__(self) -> str:
        return f"CompiledModule({self._orig_mod!r})"


def compile(
    fn: Callable | Module | None = None,
    *,
    donate: bool = True,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
) -> Any:
    """Compile a training step (or a module's forward) into one XLA program.

    Arguments:
        fn: a function whose stateful arguments (Modules, Optimizers, Parameters, Generators) are
            read and written like torch tensors, or a Module (its forward is compiled).
        donate: let XLA reuse the old state's memory for the new state, so a step's peak memory
            matches hand-written JAX. Arrays taken out of the state before the call (e.g. values
            of an earlier ``state_dict()``) are invalidated by it: copy them if you keep them.
        static_argnums, static_argnames: arguments that are compile-time constants.

    Usable as ``@torchjax.compile`` or ``@torchjax.compile(donate=False)``. A module the function
    reaches through a closure or a global instead of an argument raises a RuntimeError while
    tracing, since its state would otherwise be frozen into the program.
    """
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    if isinstance(static_argnames, str):
        static_argnames = (static_argnames,)
    if fn is None:
        return functools.partial(compile, donate=donate, static_argnums=static_argnums,
                                 static_argnames=static_argnames)
    if isinstance(fn, Module):
        return CompiledModule(fn, donate=donate)
    if not callable(fn):
        raise TypeError(f"torchjax.compile expects a function or a Module, got {type(fn).__name__}")
    return CompiledFunction(fn, donate=donate, static_argnums=static_argnums, static_argnames=static_argnames)

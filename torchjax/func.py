"""``torchjax.func``: torch.func's transforms, accepting Modules as arguments.

When an argument being differentiated is a Module, its trainable parameters
(``requires_grad=True``) are the differentiated leaves and its gradient (or tangent) is a dict
keyed like ``named_parameters()``; frozen parameters are constants. Buffers that the function
changes (BatchNorm's running statistics) and the generators it draws from are carried out of the
transform as state and written back afterwards, so no tracer ever stays in a live module, also
when the function raises. All of it runs on the state slots of :mod:`torchjax._state`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import jax

from . import _state
from ._tensor import Tensor, _new, arrays, unwrap, wrap
from .nn.modules.module import Module
from .nn.parameter import Parameter

__all__ = [
    "functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "vjp", "vmap",
]


# --- functional_call -------------------------------------------------------------------------------


def functional_call(
    module: Module,
    parameter_and_buffer_dicts: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    args: Any = None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Call ``module`` with some of its parameters and buffers replaced by the given arrays.

    Arguments:
        module: the module to call.
        parameter_and_buffer_dicts: name -> array (names as in ``named_parameters()`` /
            ``named_buffers()``), or a sequence of such dicts with disjoint keys.
        args: positional arguments (a tuple; a single non-tuple value is one argument).
        kwargs: keyword arguments.
        tie_weights: a value given for one name of a tied parameter applies to all its names;
            with False, tied names are replaced independently.
        strict: every parameter and buffer must be given, and nothing else.

    The module's own values are restored afterwards. A buffer the call updates (BatchNorm in
    training mode) keeps its new value when it was not among the given ones and the value is
    concrete, as in torch where the module's buffer is updated in place; when it was given, the
    new value is written into the given dict instead (torch's in-place update of the given
    tensor shows there too).
    """
    if isinstance(parameter_and_buffer_dicts, Mapping):
        dicts = [parameter_and_buffer_dicts]
        values = dict(parameter_and_buffer_dicts)
    else:
        dicts = list(parameter_and_buffer_dicts)
        values = {}
        for d in parameter_and_buffer_dicts:
            overlap = values.keys() & d.keys()
            if overlap:
                raise ValueError(
                    f"{sorted(overlap)} appeared in multiple dictionaries; behavior of functional call is ambiguous"
                )
            values.update(d)
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    kwargs = kwargs or {}
    given = dict(values)
    changed: dict[str, Any] = {}
    try:
        with _reparametrized(module, values, tie_weights=tie_weights, strict=strict, changed=changed):
            return module(*args, **kwargs)
    finally:
        for name, new in changed.items():
            old = given.get(name)
            if isinstance(new, jax.core.Tracer) and not isinstance(old, jax.core.Tracer):
                continue  # a tracer of a trace the given values are not part of must not leak out
            for d in dicts:
                if name in d and isinstance(d, MutableMapping):
                    d[name] = new


def _named_slots(module: Module) -> list[tuple[str, dict, str, Any]]:
    """(full name, owner dict, key, current value) for every parameter and buffer, duplicates included."""
    slots = []
    for prefix, m in module.named_modules(remove_duplicate=False):
        dot = prefix + "." if prefix else ""
        slots += [(dot + k, m._parameters, k, v) for k, v in m._parameters.items() if v is not None]
        slots += [(dot + k, m._buffers, k, v) for k, v in m._buffers.items() if v is not None]
    return slots


@contextlib.contextmanager
def _reparametrized(module: Module, values: dict, *, tie_weights: bool, strict: bool,
                    changed: dict | None = None) -> Iterator[None]:
    """Install ``values``; restore afterwards. Given buffers the body rebound go into ``changed``."""
    slots = _named_slots(module)
    names = {name for name, *_ in slots}
    if tie_weights:
        # A value given under one name of a tied object applies to every name of that object.
        by_object: dict[int, list[str]] = {}
        for name, _, _, obj in slots:
            by_object.setdefault(id(obj), []).append(name)
        for tied in by_object.values():
            given = [n for n in tied if n in values]
            if len(given) > 1 and any(values[n] is not values[given[0]] for n in given[1:]):
                raise ValueError(
                    f"functional_call got multiple values for keys {sorted(tied)}, which are tied. "
                    "Consider using tie_weights=False"
                )
            if given:
                values = {**values, **{n: values[given[0]] for n in tied}}
    if strict:
        # As torch: checked after untying, so one name of a tied pair stands for all of them.
        missing = sorted(names - values.keys())
        unexpected = sorted(values.keys() - names)
        if missing or unexpected:
            parts = ([f"Unexpected key(s): {', '.join(map(repr, unexpected))}."] if unexpected else []) + (
                [f"Missing key(s): {', '.join(map(repr, missing))}."] if missing else [])
            raise RuntimeError(f"Error(s) in reparametrizing for {module._get_name()}:\n\t" + "\n\t".join(parts))
    saved = [(owner, key, current) for name, owner, key, current in slots if name in values]
    not_given = [(owner, key, current) for name, owner, key, current in slots
                 if name not in values and not isinstance(current, Parameter)]
    installed = []
    try:
        for name, owner, key, current in slots:
            if name in values:
                value = values[name]
                if isinstance(current, Parameter):
                    value = value if isinstance(value, Parameter) else _box(value, current.requires_grad)
                elif value is not None:
                    value = value if isinstance(value, Tensor) else _new(Tensor, value)
                    installed.append((name, owner, key, value))
                owner[key] = value
        yield
    finally:
        if changed is not None:
            changed.update({name: owner[key] for name, owner, key, value in installed
                            if owner.get(key) is not value and owner.get(key) is not None})
        for owner, key, current in saved:
            owner[key] = current
        for owner, key, current in not_given:
            # A buffer the call rebound keeps its new value (as in torch) unless that value is a
            # tracer of a trace the module's state is not part of (jax.jit around this call).
            if isinstance(unwrap(owner.get(key)), jax.core.Tracer) and not isinstance(unwrap(current), jax.core.Tracer):
                owner[key] = current


def _box(value: Any, requires_grad: bool) -> Parameter:
    param = object.__new__(Parameter)  # any leaf (a tracer), no checks: a temporary stand-in
    param._data, param._requires_grad, param._grad = value, requires_grad, None
    param._base, param._version = None, 0
    return param


# --- the module-aware transforms ------------------------------------------------------------------


def _trainable(module: Module) -> dict[str, Parameter]:
    return {name: p for name, p in module.named_parameters() if p.requires_grad}


class _Lifted:
    """A call ``func(*args, **kwargs)`` seen as a pure function of its differentiated arguments.

    ``primals`` holds, for each position in ``argnums``, the argument itself or, for a Module,
    the dict of its trainable parameter values. ``pure(*primals)`` installs them, runs ``func``
    and returns ``(output, (aux, new_state))``, restoring every slot of every stateful argument;
    ``finish(new_state)`` writes the state the function left (buffers, generator keys) back.
    """

    def __init__(self, func: Callable, args: tuple, kwargs: dict, argnums: Sequence[int], has_aux: bool) -> None:
        self.func, self.args, self.kwargs, self.argnums, self.has_aux = func, args, kwargs, tuple(argnums), has_aux
        for i in self.argnums:
            if not -len(args) <= i < len(args):
                raise RuntimeError(f"Got argnums={i}, but only {len(args)} positional inputs")
        self.layout = _state.collect((args, kwargs))
        self.params: dict[int, dict[str, Parameter]] = {}
        primals = []
        for i in self.argnums:
            arg = args[i]
            if isinstance(arg, Module):
                self.params[i] = _trainable(arg)
                primals.append({name: p._data for name, p in self.params[i].items()})
            else:
                primals.append(unwrap(arg))
        self.primals = tuple(primals)

    def _mutable_state(self) -> tuple[list, list]:
        return [unwrap(d[k]) for d, k in self.layout.buffers], [g._key for g in self.layout.generators]

    def pure(self, *values: Any) -> tuple[Any, tuple[Any, tuple[list, list]]]:
        with self.layout.installed(), _state.guarding_buffers(self.layout, "torchjax.func"):
            args = list(self.args)
            for i, value in zip(self.argnums, values, strict=True):
                if i in self.params:
                    for name, p in self.params[i].items():
                        p._data = value[name]
                else:
                    args[i] = _new(Tensor, value) if isinstance(self.args[i], Tensor) else value
            out = self.func(*args, **self.kwargs)
            if self.has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("has_aux=True: the function must return a tuple (output, aux)")
                out, aux = out
            else:
                aux = None
            new_state = self._mutable_state()
        # JAX's transforms see arrays (a Tensor node in an output would nest their results in it).
        return arrays(out), (arrays(aux), new_state)

    def ordered(self, results: tuple) -> tuple:
        """JAX returns dicts sorted by key; give Module results ``named_parameters()`` order again."""
        return tuple(
            {name: r[name] for name in self.params[i]} if i in self.params and isinstance(r, dict) else r
            for i, r in zip(self.argnums, results, strict=True)
        )

    def finish(self, new_state: tuple[list, list]) -> None:
        buffers, keys = new_state
        for (d, k), value in zip(self.layout.buffers, buffers, strict=True):
            d[k]._rebind(value)
        for g, value in zip(self.layout.generators, keys, strict=True):
            g._key = value


def _argnums(argnums: int | Sequence[int]) -> tuple[tuple[int, ...], bool]:
    if isinstance(argnums, int):
        return (argnums,), True
    if not argnums:
        raise RuntimeError("argnums must be non-empty")
    return tuple(argnums), False


def _scalar_pure(lifted: _Lifted) -> Callable:
    def pure(*values):
        out, rest = lifted.pure(*values)
        out = unwrap(out)
        if not (hasattr(out, "shape") and out.shape == ()):
            raise RuntimeError(
                f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor with "
                f"{len(getattr(out, 'shape', ()))} dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
            )
        return out, rest

    return pure


def grad_and_value(func: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """``(gradient, value)`` of a scalar function; with ``has_aux``, ``(gradient, (value, aux))``.

    A Module at a differentiated position gets a dict of gradients keyed like
    ``named_parameters()`` (trainable parameters only).
    """

    def wrapper(*args: Any, **kwargs: Any):
        nums, single = _argnums(argnums)
        lifted = _Lifted(func, args, kwargs, nums, has_aux)
        (value, (aux, new_state)), grads = jax.value_and_grad(
            _scalar_pure(lifted), argnums=tuple(range(len(nums))), has_aux=True
        )(*lifted.primals)
        lifted.finish(new_state)
        grads = wrap(lifted.ordered(tuple(grads)))
        value, aux = wrap(value), wrap(aux)
        return (grads[0] if single else grads), ((value, aux) if has_aux else value)

    return wrapper


def grad(func: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function (``(gradient, aux)`` with ``has_aux``); see :func:`grad_and_value`."""
    inner = grad_and_value(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any):
        grads, value = inner(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False):
    """``(output, vjp_fn)`` (and ``aux``): ``vjp_fn(cotangent)`` returns one gradient per primal,
    a dict for a Module primal."""
    lifted = _Lifted(func, primals, {}, range(len(primals)), has_aux)
    out, vjp_fn, (aux, new_state) = jax.vjp(lifted.pure, *lifted.primals, has_aux=True)
    lifted.finish(new_state)

    def vjp_fn_tuple(cotangents):
        return wrap(lifted.ordered(tuple(vjp_fn(arrays(cotangents)))))  # arrays: a Tensor is a leaf here

    out, aux = wrap(out), wrap(aux)
    return (out, vjp_fn_tuple, aux) if has_aux else (out, vjp_fn_tuple)


def jvp(func: Callable, primals: Sequence[Any], tangents: Sequence[Any], *, strict: bool = False,
        has_aux: bool = False):
    """``(output, jvp_out)`` (and ``aux``); a Module primal takes a dict tangent keyed like its
    trainable parameters."""
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be tuples")
    if len(primals) != len(tangents):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same length")
    lifted = _Lifted(func, tuple(primals), {}, range(len(primals)), has_aux)
    tangents = tuple(unwrap(t) for t in tangents)

    def pure(*values):
        out, (aux, new_state) = lifted.pure(*values)
        return out, (aux, new_state)

    with _state.forward_mode():
        out, jvp_out, (aux, new_state) = jax.jvp(pure, lifted.primals, tangents, has_aux=True)
    lifted.finish(new_state)
    out, jvp_out, aux = wrap(out), wrap(jvp_out), wrap(aux)
    return (out, jvp_out, aux) if has_aux else (out, jvp_out)


def _jacobian(jax_transform: Callable, forward: bool) -> Callable:
    def transform(func: Callable, argnums: int | Sequence[int] = 0, *, has_aux: bool = False) -> Callable:
        def wrapper(*args: Any, **kwargs: Any):
            nums, single = _argnums(argnums)
            lifted = _Lifted(func, args, kwargs, nums, has_aux)
            with _state.forward_mode() if forward else contextlib.nullcontext():
                jac, (aux, new_state) = jax_transform(
                    lifted.pure, argnums=0 if single else tuple(range(len(nums))), has_aux=True
                )(*lifted.primals)
            lifted.finish(new_state)
            jac = lifted.ordered((jac,) if single else tuple(jac))
            jac = wrap(jac[0] if single else jac)
            return (jac, wrap(aux)) if has_aux else jac

        return wrapper

    return transform


jacrev = _jacobian(jax.jacrev, forward=False)
jacrev.__doc__ = "Jacobian by reverse mode; a Module argument's block is a dict keyed by parameter name."
jacrev.__name__ = "jacrev"
jacfwd = _jacobian(jax.jacfwd, forward=True)
jacfwd.__doc__ = "Jacobian by forward mode; a Module argument's block is a dict keyed by parameter name."
jacfwd.__name__ = "jacfwd"


def hessian(func: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """Hessian of a scalar function (forward over reverse, as torch.func.hessian)."""
    return jacfwd(jacrev(func, argnums), argnums)


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """Vectorise ``func`` over a batch dimension of its array arguments.

    Module arguments are not mapped (their ``in_dims`` entry must be None, or the whole
    ``in_dims`` an int, which then applies to the array arguments only). State the function
    changes is written back only if it does not depend on the mapped inputs.
    ``randomness`` other than 'error' / 'same' is not supported: draws inside are the same
    across the batch, like torch's 'same'.
    """
    if randomness not in ("error", "same", "different"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")

    def wrapper(*args: Any, **kwargs: Any):
        stateful = [i for i, a in enumerate(args) if _state.is_stateful(a)]
        dims = [in_dims] * len(args) if isinstance(in_dims, int) or in_dims is None else list(in_dims)
        if len(dims) != len(args):
            raise ValueError(
                f"vmap(f, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with the structure of "
                f"`inputs`. in_dims has structure of length {len(dims)} but inputs has {len(args)} positional args"
            )
        for i in stateful:
            if not isinstance(in_dims, int) and dims[i] is not None:
                raise ValueError(f"vmap: argument {i} is a {type(args[i]).__name__}; its in_dims must be None")
            dims[i] = None
        mapped = [i for i in range(len(args)) if i not in stateful]
        lifted = _Lifted(lambda *a: func(*a, **kwargs), args, {}, mapped, False)
        batched = jax.vmap(lifted.pure, in_axes=tuple(dims[i] for i in mapped), out_axes=(out_dims, None))
        out, (_, new_state) = batched(*lifted.primals)
        lifted.finish(new_state)
        return wrap(out)

    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("vmap: chunk_size should be None or greater than 0.")
    return wrapper

"""torch's functional control flow: ``torch.cond`` and ``torch.while_loop`` (on ``jax.lax.cond`` and
``jax.lax.while_loop``) and ``torch.vmap`` (``torchjax.func.vmap``).

The branch and loop functions take and return Tensors, as in torch. A predicate that is a tensor runs through
``lax.cond``, so the same call works eagerly and inside ``torchjax.compile`` / ``jax.jit`` (both branches are
traced: their outputs must match in structure, shape and dtype, as torch requires); a Python bool just calls
the chosen branch. ``while_loop`` always runs ``lax.while_loop``: the carried values keep their shapes and
dtypes from one iteration to the next, and the loop runs under a trace without unrolling.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._tensor import OPS, Tensor, _new, arrays, unwrap


def _export(fn):
    OPS[fn.__name__] = fn
    return fn


def _tensors(tree):
    """Arrays in ``tree`` as Tensors (the user's functions see torch's types)."""
    return jax.tree_util.tree_map(lambda a: _new(Tensor, a) if isinstance(a, jax.Array) else a, tree)


@_export
def cond(pred, true_fn: Callable, false_fn: Callable, operands: tuple | list = ()):
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``. ``pred``: a bool or number, or a
    one-element tensor (then ``jax.lax.cond``, so it may be traced)."""
    predicate = unwrap(pred)
    if isinstance(predicate, bool | int | float):  # torch calls the branch directly, unchecked
        return true_fn(*operands) if predicate else false_fn(*operands)
    if not isinstance(operands, tuple | list):
        raise RuntimeError(f"Expect operands to be a tuple of possibly nested dict/list/tuple that only consists of "
                           f"tensor leaves, but got {operands}.")
    if not (callable(true_fn) and callable(false_fn)):
        raise RuntimeError("Expect both branches to be callable.")
    predicate = jnp.asarray(predicate)
    if predicate.size != 1:
        raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")

    def branch(fn):
        return lambda values: arrays(fn(*_tensors(values)))

    values = arrays(tuple(operands))
    try:
        out = jax.lax.cond(predicate.reshape(()).astype(bool), branch(true_fn), branch(false_fn), values)
    except TypeError as error:  # JAX's complaint about branches whose outputs differ
        raise RuntimeError(f"cond: the outputs of true_fn and false_fn must have the same structure, shapes and "
                           f"dtypes: {error}") from None
    return _tensors(out)


@_export
def while_loop(cond_fn: Callable, body_fn: Callable, carried_inputs: tuple | list):
    """Run ``carried = body_fn(*carried)`` while ``cond_fn(*carried)`` (a one-element bool tensor) holds; returns
    the final carried values as a tuple. Python numbers among them are carried as 0-d tensors and come back as
    numbers, as in torch."""
    if not isinstance(carried_inputs, tuple | list):
        raise RuntimeError(f"carried_inputs must be a tuple or list, got {type(carried_inputs)}")
    numbers = [isinstance(v, bool | int | float) for v in carried_inputs]
    initial = tuple(jnp.asarray(v) if is_number else unwrap(v) for v, is_number in zip(carried_inputs, numbers,
                                                                                        strict=True))

    def test(values):
        out = jnp.asarray(unwrap(cond_fn(*_tensors(values))))
        if out.size != 1 or out.dtype != np.bool_:
            raise RuntimeError(f"cond_fn must return a boolean tensor with a single element, got {out}")
        return out.reshape(())

    def body(values):
        out = body_fn(*_tensors(values))
        out = out if isinstance(out, tuple | list) else (out,)
        if len(out) != len(values):
            raise RuntimeError(f"Expected body_fn_output and carried_inputs to have same number of outputs but got "
                               f"{len(out)} and {len(values)}")
        return tuple(jnp.asarray(unwrap(o)).astype(v.dtype) for o, v in zip(out, values, strict=True))

    final = jax.lax.while_loop(test, body, initial)
    return tuple(v.item() if is_number and not isinstance(v, jax.core.Tracer) else _new(Tensor, v)
                 for v, is_number in zip(final, numbers, strict=True))


@_export
def vmap(func: Callable, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None) -> Callable:
    """``torch.vmap``: :func:`torchjax.func.vmap`."""
    from ..func import vmap as func_vmap

    return func_vmap(func, in_dims, out_dims, randomness, chunk_size=chunk_size)

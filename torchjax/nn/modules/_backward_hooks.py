"""Module backward hooks on ``jax.custom_vjp``.

A module with backward hooks runs its forward (and its forward hooks) inside a custom_vjp whose
explicit arguments are the module's array inputs and its own state (parameter data, buffers, the
default generator's key): custom_vjp must not close over tracers. The backward rule computes the
cotangents with ``jax.vjp``, lets the pre-hooks replace ``grad_output``, then lets the full hooks
replace ``grad_input``, in torch's order. Eagerly the hooks see concrete arrays; under jit, tracers.
Which inputs "require grad" comes from custom_vjp's symbolic zeros: an input that does not depend
on a differentiated value gets None in ``grad_input``, as in torch.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from ... import _random
from ..._state import StateLayout
from ..._tensor import Tensor, unwrap
from ..parameter import Parameter


def _is_array(value: Any) -> bool:
    return isinstance(value, jax.Array | Tensor)


def _zero_cotangent(value) -> jax.Array:
    dtype = value.dtype
    if jnp.issubdtype(dtype, jnp.inexact):
        return jnp.zeros(value.shape, dtype)
    return np.zeros(value.shape, jax.dtypes.float0)


def _cotangent_or_none(ct):
    return None if isinstance(ct, SymbolicZero) else ct


def call_with_backward_hooks(
    module,
    run: Callable[[tuple, dict], Any],
    args: tuple,
    kwargs: dict,
    pre_hooks: Sequence[Callable],
    full_hooks: Sequence[Callable],
) -> Any:
    """``run(args, kwargs)`` (the forward and its forward hooks) with backward hooks attached."""
    layout = StateLayout([module, _random.default_generator])
    arg_leaves, arg_tree = jax.tree_util.tree_flatten((args, kwargs), is_leaf=lambda x: isinstance(x, Parameter))
    array_positions = [i for i, leaf in enumerate(arg_leaves) if _is_array(leaf)]
    # grad_input has one entry per positional argument; only top-level arrays get a gradient.
    # Found by position, not identity: the same array may also be passed as a kwarg or nested.
    top_level, start = {}, 0
    for i, a in enumerate(args):
        if _is_array(a):
            top_level[start] = i
        start += len(jax.tree_util.tree_leaves(a, is_leaf=lambda x: isinstance(x, Parameter)))
    inputs = [unwrap(arg_leaves[i]) for i in array_positions]
    state = ([p._data for p in layout.params], [unwrap(d[k]) for d, k in layout.buffers],
             [g._key for g in layout.generators])
    input_slot = [top_level.get(i) for i in array_positions]
    out_tree_box: list = []
    static_box: list = []

    def pure(inputs, state):
        data, buffers, keys = state
        saved = layout.read()
        saved_buffers = [d[k] for d, k in layout.buffers]
        try:
            for p, value in zip(layout.params, data, strict=True):
                p._data = value
            for (d, k), value in zip(layout.buffers, buffers, strict=True):
                d[k]._rebind(value)
            for g, value in zip(layout.generators, keys, strict=True):
                g._key = value
            leaves = list(arg_leaves)
            for i, value in zip(array_positions, inputs, strict=True):
                leaves[i] = value
            call_args, call_kwargs = jax.tree_util.tree_unflatten(arg_tree, leaves)
            out = run(call_args, call_kwargs)
            new_state = ([unwrap(d[k]) for d, k in layout.buffers], [g._key for g in layout.generators])
        finally:
            for (d, k), buf in zip(layout.buffers, saved_buffers, strict=True):
                d[k] = buf
            layout.write(saved)
        out_leaves, out_tree = jax.tree_util.tree_flatten(out, is_leaf=lambda x: isinstance(x, Parameter))
        out_tree_box[:] = [out_tree]
        return [unwrap(leaf) for leaf in out_leaves], new_state

    @jax.custom_vjp
    def hooked(inputs, state):
        return pure(inputs, state)

    def fwd(inputs, state):
        # Differentiate only what is perturbed: an unperturbed input stays a constant of the inner
        # ``jax.vjp``, so modules nested inside this one see it unperturbed too (grad_input None).
        state_leaves, state_tree = jax.tree_util.tree_flatten(state)
        in_perturbed = [x.perturbed for x in inputs]
        st_perturbed = [x.perturbed for x in state_leaves]
        in_values = [x.value for x in inputs]
        st_values = [x.value for x in state_leaves]

        def partial_pure(diff_inputs, diff_state):
            diff_inputs, diff_state = iter(diff_inputs), iter(diff_state)
            full_inputs = [next(diff_inputs) if p else v for v, p in zip(in_values, in_perturbed, strict=True)]
            full_state = [next(diff_state) if p else v for v, p in zip(st_values, st_perturbed, strict=True)]
            return pure(full_inputs, jax.tree_util.tree_unflatten(state_tree, full_state))

        outputs, vjp_fn = jax.vjp(
            partial_pure,
            [v for v, p in zip(in_values, in_perturbed, strict=True) if p],
            [v for v, p in zip(st_values, st_perturbed, strict=True) if p],
        )
        static_box[:] = [(in_perturbed, st_perturbed, state_tree)]  # Python values: not residuals
        return outputs, (vjp_fn, outputs)

    def bwd(residual, cotangents):
        vjp_fn, outputs = residual
        perturbed, st_perturbed, state_tree = static_box[0]
        out_cts, _ = cotangents
        grad_output = tuple(_cotangent_or_none(ct) for ct in out_cts)
        for hook in pre_hooks:
            result = hook(module, grad_output)
            if result is None:
                continue
            if len(result) != len(grad_output):
                raise RuntimeError(
                    "Backward pre hook returned an invalid number of grad_output, "
                    f"got {len(result)}, but expected {len(grad_output)}"
                )
            grad_output = tuple(result)
        if full_hooks and not any(perturbed):
            # As torch: with no input requiring grad, the full hooks fire right after the
            # pre-hooks, before the gradients flow into the module (and its submodules' hooks).
            warnings.warn(
                "Full backward hook is firing when gradients are computed with respect to module outputs "
                "since no inputs require gradients.",
                stacklevel=2,
            )
            for hook in full_hooks:
                result = hook(module, (None,) * len(args), grad_output)
                if result is not None and not (isinstance(result, tuple) and all(el is None for el in result)):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should always return None "
                        "or None for all gradients."
                    )
        filled = [
            _zero_cotangent(value) if ct is None else ct for ct, value in zip(grad_output, outputs[0], strict=True)
        ]
        state_cts = jax.tree_util.tree_map(_zero_cotangent, outputs[1])
        diff_input_cts, diff_state_cts = vjp_fn((filled, state_cts))
        diff_input_cts, diff_state_cts = iter(diff_input_cts), iter(diff_state_cts)
        input_cts = [next(diff_input_cts) if p else None for p in perturbed]
        state_grads = jax.tree_util.tree_unflatten(
            state_tree, [next(diff_state_cts) if p else None for p in st_perturbed])
        if full_hooks and any(perturbed):
            grad_input: tuple = tuple([None] * len(args))
            for ct, slot in zip(input_cts, input_slot, strict=True):
                if slot is not None and ct is not None:
                    grad_input = grad_input[:slot] + (ct,) + grad_input[slot + 1:]
            for hook in full_hooks:
                result = hook(module, grad_input, grad_output)
                if result is None:
                    continue
                if len(result) != len(grad_input):
                    raise RuntimeError(
                        "Backward hook returned an invalid number of grad_input, "
                        f"got {len(result)}, but expected {len(grad_input)}"
                    )
                grad_input = tuple(result)
            input_cts = [grad_input[slot] if slot is not None else ct
                         for ct, slot in zip(input_cts, input_slot, strict=True)]
        return [
            None if ct is None or not is_perturbed else jnp.asarray(ct, value.dtype)
            for ct, is_perturbed, value in zip(input_cts, perturbed, inputs, strict=True)
        ], state_grads

    hooked.defvjp(fwd, bwd, symbolic_zeros=True)
    out_leaves, (new_buffers, new_keys) = hooked(inputs, state)
    for (d, k), value in zip(layout.buffers, new_buffers, strict=True):
        d[k]._rebind(value)
    for g, value in zip(layout.generators, new_keys, strict=True):
        g._key = value
    return jax.tree_util.tree_unflatten(out_tree_box[0], out_leaves)

"""What torch's optimizers share: argument checks, the ``step`` counter, maximize and weight decay."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._tensor import wrap
from .optimizer import Optimizer, nonzero

_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def check_nonnegative(**values: float) -> None:
    """torch's ``ValueError("Invalid <name> value: <value>")`` for the first negative value, in order."""
    for name, value in values.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {_LABELS.get(name, name + ' value')}: {value}")


def check_betas(betas: tuple[float, float]) -> None:
    for index, beta in enumerate(betas[:2]):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")


def zero_step() -> jax.Array:
    """The ``step`` state: a float32 scalar, as torch's, so compiled steps trace it instead of baking it in."""
    return jnp.zeros((), jnp.float32)


def direction_and_decay(hp: dict[str, Any], param: jax.Array, grad: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(param, grad)`` after torch's preamble: negate the gradient for ``maximize``, then apply weight
    decay, either decoupled (the parameter shrinks by ``lr * weight_decay``) or as an L2 term in the gradient."""
    grad = -grad if hp["maximize"] else grad
    if nonzero(hp["weight_decay"]):
        if hp.get("decoupled_weight_decay", False):
            param = param * (1 - hp["lr"] * hp["weight_decay"])
        else:
            grad = grad + hp["weight_decay"] * param
    return param, grad


def fill_missing(optimizer: Optimizer, scalars: tuple[str, ...] = ("step",), **group_defaults: Any) -> None:
    """What torch's ``__setstate__`` does for state saved by older versions: add options the groups lack,
    and turn scalar state saved as Python numbers (``step``) into float32 Tensors."""
    for group in optimizer.param_groups:
        for key, value in group_defaults.items():
            group.setdefault(key, value)
    for state in optimizer.state.values():
        for key in scalars:
            if key in state and isinstance(state[key], int | float):
                state[key] = wrap(jnp.asarray(state[key], jnp.float32))


def bias_correction(beta: Any, step: jax.Array) -> jax.Array:
    """``1 - beta**step`` without float32's cancellation near ``beta = 1`` (torch computes it in float64)."""
    return -jnp.expm1(step * jnp.log1p(-(1 - beta)))

"""Loss reductions, and the deprecated ``size_average`` / ``reduce`` arguments torch still accepts."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp


def get_enum(reduction: str) -> str:
    """``reduction`` checked as torch's ``_Reduction.get_enum`` checks it: ValueError for an unknown
    name, a warning for the deprecated 'elementwise_mean' (which means 'mean'). Returns the name."""
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                      stacklevel=3)
        return "mean"
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def legacy_get_string(size_average: bool | None, reduce: bool | None, emit_warning: bool = True) -> str:
    """The ``reduction`` string that the legacy ``size_average``/``reduce`` pair means."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    if emit_warning:
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.", stacklevel=3
        )
    return ret


def resolve(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        return legacy_get_string(size_average, reduce)
    return reduction


def apply(loss: jax.Array, reduction: str) -> jax.Array:
    """Reduce an elementwise loss: 'none', 'mean' or 'sum' (ValueError otherwise, as torch)."""
    if reduction == "none":
        return loss
    if reduction == "mean":
        return jnp.mean(loss)
    if reduction == "sum":
        return jnp.sum(loss)
    raise ValueError(f"{reduction} is not a valid value for reduction")

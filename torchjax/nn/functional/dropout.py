"""Dropout as functions of arrays; masks are drawn from the torchjax default generator."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ... import _random
from ..parameter import _unwrap


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> jax.Array:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)`` (training only).

    The mask comes from the default generator, so ``torchjax.manual_seed`` reproduces it and a
    compiled step draws a new mask on every call.
    """
    _check_p(p)
    x = _unwrap(input)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return jnp.zeros_like(x)
    keep = jax.random.bernoulli(_random.next_key(), 1.0 - p, x.shape)
    return jnp.where(keep, x / (1.0 - p), 0).astype(x.dtype)

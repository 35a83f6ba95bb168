"""Activations as functions of arrays (``F.relu``, ``F.softmax`` ...)."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

from ..._ops import canonical_dim
from ..parameter import _unwrap

_LOW_PRECISION = (jnp.float16, jnp.bfloat16)


def relu(input, inplace: bool = False) -> jax.Array:
    """``max(x, 0)``. ``inplace`` is accepted for porting; JAX arrays are never modified."""
    return jax.nn.relu(_unwrap(input))


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_like(fn, name: str, input, dim, dtype):
    x = _unwrap(input)
    if dtype is not None:
        x = x.astype(dtype)
    dim = _softmax_dim(name, x.ndim) if dim is None else canonical_dim(dim, x.ndim)
    if x.ndim == 0:
        return fn(x.reshape(1), axis=0).reshape(())
    # Accumulate in float32 for half inputs, as torch does, then return the input's dtype.
    if x.dtype in _LOW_PRECISION:
        return fn(x.astype(jnp.float32), axis=dim).astype(x.dtype)
    return fn(x, axis=dim)


def softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> jax.Array:
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``."""
    return _softmax_like(jax.nn.softmax, "softmax", input, dim, dtype)


def log_softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> jax.Array:
    """``x_i - log(sum_j exp(x_j))`` along ``dim``, computed stably."""
    return _softmax_like(jax.nn.log_softmax, "log_softmax", input, dim, dtype)

"""Distances between arrays: ``F.pairwise_distance``, ``F.cosine_similarity``, ``F.pdist``.

Norms here have torch's gradients at zero (0, where a plain ``sqrt(sum(x**2))`` gives NaN), so
identical vectors are safe to differentiate.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..._ops import canonical_dim
from ..parameter import _unwrap

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _broadcast_shapes(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """Broadcast two shapes; RuntimeError with torch's message when they do not broadcast."""
    ndim = max(len(a), len(b))
    a_full, b_full = (1,) * (ndim - len(a)) + tuple(a), (1,) * (ndim - len(b)) + tuple(b)
    out = []
    for dim, (x, y) in enumerate(zip(a_full, b_full, strict=True)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                               f"at non-singleton dimension {dim}")
        out.append(y if x == 1 else x)
    return tuple(out)


def _abs(x: jax.Array) -> jax.Array:
    """``|x|`` whose gradient at 0 is 0 (torch's ``sgn``); ``jnp.abs`` gives 1 there."""
    return x * lax.stop_gradient(jnp.sign(x))


def _vector_norm(x: jax.Array, p: float, axis: int, keepdims: bool = False) -> jax.Array:
    """The ``p``-norm over ``axis`` (p may be 0, negative or ±inf), with a zero gradient at a zero norm."""
    if p == 0:
        return lax.stop_gradient((x != 0).sum(axis, keepdims=keepdims).astype(x.dtype))
    if p == math.inf:
        return _abs(x).max(axis, keepdims=keepdims)
    if p == -math.inf:
        return _abs(x).min(axis, keepdims=keepdims)
    if p == 1:
        return _abs(x).sum(axis, keepdims=keepdims)
    if p == 2:
        total = (x * x).sum(axis, keepdims=keepdims)
    else:
        total = (_abs(x) ** p).sum(axis, keepdims=keepdims)
    positive = total > 0
    # Where the norm is 0 torch's gradient is 0: keep sqrt/pow away from 0 on both passes.
    root = jnp.sqrt(jnp.where(positive, total, 1)) if p == 2 else jnp.where(positive, total, 1) ** (1 / p)
    return jnp.where(positive, root, 0)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> jax.Array:
    """``‖x1 - x2 + eps‖_p`` over the last dimension (inputs broadcast against each other).

    Shapes: ``(N, D)`` or ``(D,)`` each; output ``(N)`` or ``()`` (``keepdim`` keeps the last axis).
    """
    a, b = _unwrap(x1), _unwrap(x2)
    _broadcast_shapes(a.shape, b.shape)
    ndim = max(a.ndim, b.ndim)
    diff = a - b + eps
    if ndim == 0:
        return _vector_norm(diff.reshape(1), p, 0, keepdim).reshape(())
    return _vector_norm(diff, p, ndim - 1, keepdim)


def _straight_through(value: jax.Array, replaced: jax.Array) -> jax.Array:
    """``replaced`` in the forward pass, the gradient of ``value`` in the backward pass (torch's
    in-place edit under ``no_grad``)."""
    return value - lax.stop_gradient(value) + lax.stop_gradient(replaced)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8) -> jax.Array:
    """``sum(x1/max(‖x1‖, eps) * x2/max(‖x2‖, eps))`` along ``dim`` (inputs broadcast).

    As in torch, the clamp of each norm does not reach the gradient (the norm's own gradient is used).
    """
    a, b = _unwrap(x1), _unwrap(x2)
    dtype = jnp.result_type(a, b)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is {dtype}")
    shape = _broadcast_shapes(a.shape, b.shape)
    a, b = jnp.broadcast_to(a.astype(dtype), shape), jnp.broadcast_to(b.astype(dtype), shape)
    if len(shape) == 0:
        canonical_dim(dim, 0)
        a, b, axis = a.reshape(1), b.reshape(1), 0
    else:
        axis = canonical_dim(dim, len(shape))
    norm_a = _vector_norm(a, 2, axis, keepdims=True)
    norm_b = _vector_norm(b, 2, axis, keepdims=True)
    norm_a = _straight_through(norm_a, jnp.maximum(norm_a, eps))
    norm_b = _straight_through(norm_b, jnp.maximum(norm_b, eps))
    out = ((a / norm_a) * (b / norm_b)).sum(axis)
    return out.reshape(()) if len(shape) == 0 else out


def pdist(input, p: float = 2) -> jax.Array:
    """The ``p``-norm distance between every pair of rows of ``input`` ``(N, M)``: the upper
    triangle of the distance matrix, row by row, shape ``(N * (N - 1) / 2,)``."""
    x = _unwrap(input)
    if x.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    rows, cols = np.triu_indices(x.shape[0], k=1)
    return _vector_norm(x[rows] - x[cols], p, 1)

"""Distance modules: ``PairwiseDistance`` and ``CosineSimilarity`` (thin holders of ``F``'s options)."""

from __future__ import annotations

import jax

from .. import functional as F
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class PairwiseDistance(Module):
    """``‖x1 - x2 + eps‖_p`` over the last dimension; see :func:`F.pairwise_distance`.

    Arguments:
        p: the norm's degree (may be 0, negative or inf). eps: added to the difference.
        keepdim: keep the reduced dimension.

    Shape: x1 and x2 ``(N, D)`` or ``(D)`` (broadcast); output ``(N)`` or ``()``.
    """

    __constants__ = ["norm", "eps", "keepdim"]

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: jax.Array, x2: jax.Array) -> jax.Array:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """Cosine similarity of ``x1`` and ``x2`` along ``dim``; see :func:`F.cosine_similarity`.

    Arguments:
        dim: the dimension compared. eps: lower clamp of each norm.

    Shape: x1 and x2 broadcast to ``(*1, D, *2)``; output ``(*1, *2)``.
    """

    __constants__ = ["dim", "eps"]

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: jax.Array, x2: jax.Array) -> jax.Array:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)

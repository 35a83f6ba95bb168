"""Dropout modules."""

from __future__ import annotations

import jax

from .. import functional as F
from ..functional.dropout import _check_p
from .module import Module

__all__ = ["Dropout"]


class _DropoutNd(Module):
    __constants__ = ["p", "inplace"]

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """During training, zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    Identity in eval mode. Arguments: ``p`` the drop probability; ``inplace`` accepted for porting.
    """

    def forward(self, input: jax.Array) -> jax.Array:
        return F.dropout(input, self.p, self.training, self.inplace)

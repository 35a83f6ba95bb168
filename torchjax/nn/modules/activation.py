"""Activation modules: ``ReLU``, ``Softmax``, ``LogSoftmax``."""

from __future__ import annotations

import jax

from .. import functional as F
from .module import Module

__all__ = ["LogSoftmax", "ReLU", "Softmax"]


class ReLU(Module):
    """``max(x, 0)`` elementwise. ``inplace`` is accepted for porting (arrays are immutable)."""

    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: jax.Array) -> jax.Array:
        return F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Softmax(Module):
    """Softmax along ``dim`` (None: torch's deprecated implicit choice, with a warning)."""

    __constants__ = ["dim"]

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: jax.Array) -> jax.Array:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax along ``dim``."""

    def forward(self, input: jax.Array) -> jax.Array:
        return F.log_softmax(input, self.dim, _stacklevel=5)

"""Dropout modules: ``Dropout``, ``Dropout1d/2d/3d``, ``AlphaDropout``, ``FeatureAlphaDropout``.

All are the identity in eval mode; in training they draw their masks from the torchjax generator
(reproducible with ``torchjax.manual_seed``, fresh on every compiled step).
"""

from __future__ import annotations

import jax

from .. import functional as F
from ..functional.dropout import _check_p
from .module import Module

__all__ = ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    """Arguments: ``p`` the drop probability (ValueError outside [0, 1]); ``inplace`` accepted for
    porting (arrays are immutable)."""

    __constants__ = ["p", "inplace"]
    p: float
    inplace: bool

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """During training, zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    Shape: any; output the same.
    """

    def forward(self, input: jax.Array) -> jax.Array:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """During training, zero whole channels: input ``(N, C, L)`` or ``(C, L)``, one draw per channel."""

    def forward(self, input: jax.Array) -> jax.Array:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """During training, zero whole channels: input ``(N, C, H, W)`` or ``(C, H, W)`` (torch reads
    3D inputs as ``(N, C, L)``, with a warning)."""

    def forward(self, input: jax.Array) -> jax.Array:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """During training, zero whole channels: input ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""

    def forward(self, input: jax.Array) -> jax.Array:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks: dropped units take SELU's negative saturation value and the
    output is rescaled so that zero mean and unit variance are kept. Shape: any."""

    def forward(self, input: jax.Array) -> jax.Array:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """:class:`AlphaDropout` with one draw per channel: input ``(N, C, *)``."""

    def forward(self, input: jax.Array) -> jax.Array:
        return F.feature_alpha_dropout(input, self.p, self.training)

"""Sub-pixel rearrangements: ``PixelShuffle`` and ``PixelUnshuffle``."""

from __future__ import annotations

import jax

from .. import functional as F
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    r"""Rearranges ``(*, C r^2, H, W)`` into ``(*, C, H r, W r)`` with ``r = upscale_factor``: the
    efficient sub-pixel convolution (stride :math:`1/r`) of Shi et al. (2016).

    Shape:
        - Input ``(*, C_in, H_in, W_in)`` (zero or more batch dims); output ``(*, C_in / r^2, H_in r, W_in r)``.
    """

    __constants__ = ["upscale_factor"]
    upscale_factor: int

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: jax.Array) -> jax.Array:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    r"""Reverses :class:`PixelShuffle`: ``(*, C, H r, W r)`` into ``(*, C r^2, H, W)`` with
    ``r = downscale_factor``.

    Shape:
        - Input ``(*, C_in, H_in, W_in)``; output ``(*, C_in r^2, H_in / r, W_in / r)``.
    """

    __constants__ = ["downscale_factor"]
    downscale_factor: int

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: jax.Array) -> jax.Array:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"

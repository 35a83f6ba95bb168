"""Upsampling layers: ``Upsample`` and its fixed-mode forms ``UpsamplingNearest2d`` / ``UpsamplingBilinear2d``.

Hyper-parameters are stored as torch stores them (``scale_factor`` as a float or a tuple of
floats, ``size`` as given), so ``repr`` matches torch's; the forward is :func:`F.interpolate`.
"""

from __future__ import annotations

import jax

from .. import functional as F
from .module import Module

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]


class Upsample(Module):
    r"""Resample ``(N, C, *spatial)`` (1 to 3 spatial dims) to ``size`` or by ``scale_factor``.

    Arguments:
        size: output spatial size (an int or one int per spatial dim).
        scale_factor: multiplier of each spatial size (a number or a tuple, stored as floats).
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'``, ``'bilinear'``, ``'bicubic'``,
            ``'trilinear'`` or ``'area'``; see :func:`torchjax.nn.functional.interpolate`.
        align_corners: linear and cubic modes only; True maps the corner pixels' centres onto each
            other (default False).
        recompute_scale_factor: True interpolates with ``in / out`` sizes instead of the given
            ``scale_factor``.
    """

    __constants__ = ["size", "scale_factor", "mode", "align_corners", "name", "recompute_scale_factor"]
    name: str
    mode: str

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: jax.Array) -> jax.Array:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def __setstate__(self, state):
        if "recompute_scale_factor" not in state:
            state["recompute_scale_factor"] = True
        super().__setstate__(state)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = "scale_factor=" + repr(self.scale_factor)
        else:
            info = "size=" + repr(self.size)
        info += ", mode=" + repr(self.mode)
        return info


class UpsamplingNearest2d(Upsample):
    """2-D nearest-neighbour upsampling of ``(N, C, H, W)``: ``Upsample(size, scale_factor, mode='nearest')``."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """2-D bilinear upsampling of ``(N, C, H, W)``:
    ``Upsample(size, scale_factor, mode='bilinear', align_corners=True)``."""

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)

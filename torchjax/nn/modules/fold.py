"""Sliding blocks: ``Unfold`` (``im2col``) and ``Fold`` (``col2im``)."""

from __future__ import annotations

import jax

from .. import functional as F
from .module import Module

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    r"""Combines an array of sliding local blocks into a large containing array, summing overlaps.

    Input ``(N, C \prod(k), L)`` or unbatched ``(C \prod(k), L)``; output ``(N, C, *output_size)`` or
    ``(C, *output_size)``. ``L`` must equal the number of blocks,
    :math:`\prod_d \lfloor (\text{output\_size}[d] + 2 p[d] - d[d] (k[d] - 1) - 1) / s[d] \rfloor + 1`.
    The transpose of :class:`Unfold` with the same arguments (``fold(unfold(x))`` is ``x`` times the
    number of blocks covering each position). Only 2 spatial dims (torch's ``col2im``).

    Arguments:
        output_size: spatial shape of the output (an int or a pair).
        kernel_size: size of the blocks.
        dilation: spacing between the elements of a block.
        padding: implicit zero padding on both sides (cropped from the output).
        stride: step between blocks.

    The arguments are stored as given (ints or tuples), as torch stores them.
    """

    __constants__ = ["output_size", "kernel_size", "dilation", "padding", "stride"]

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: jax.Array) -> jax.Array:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Unfold(Module):
    r"""Extracts sliding local blocks: ``(N, C, H, W)`` -> ``(N, C \prod(k), L)``, or unbatched
    ``(C, H, W)`` -> ``(C \prod(k), L)``; column ``l`` holds block ``l`` (row-major over the block
    grid), row ``c \prod(k) + i k_w + j`` its element ``(i, j)`` of channel ``c``.

    Arguments:
        kernel_size: size of the blocks (an int or a pair).
        dilation: spacing between the elements of a block.
        padding: implicit zero padding on both sides of the input.
        stride: step between blocks.

    Only 2 spatial dims (torch's ``im2col``).
    """

    __constants__ = ["kernel_size", "dilation", "padding", "stride"]

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: jax.Array) -> jax.Array:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")

"""``ChannelShuffle``: interleave channel groups (ShuffleNet)."""

from __future__ import annotations

import jax

from .. import functional as F
from .module import Module

__all__ = ["ChannelShuffle"]


class ChannelShuffle(Module):
    r"""Divides the ``C`` channels of ``(N, C, *)`` into ``groups`` groups, as ``(N, g, C/g, *)``,
    and transposes them to ``(N, C/g, g, *)``, keeping the input's shape.

    Arguments:
        groups: number of groups to divide the channels into (must divide ``C``).
    """

    __constants__ = ["groups"]
    groups: int

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: jax.Array) -> jax.Array:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"

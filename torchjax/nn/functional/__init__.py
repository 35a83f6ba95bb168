"""``torchjax.nn.functional``: the layers as pure functions of arrays (``import ... as F``)."""

from .linear import linear

__all__ = ["linear"]

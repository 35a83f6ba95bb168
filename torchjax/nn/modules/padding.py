"""Padding layers: ``ZeroPad``, ``ConstantPad``, ``ReflectionPad``, ``ReplicationPad`` and
``CircularPad`` in 1, 2 and 3 dims, one N-d base per family (as torch's ``_ConstantPadNd`` etc.).

``padding`` is stored as torch stores it: an int becomes a tuple of 2, 4 or 6 equal widths, a
sequence becomes a tuple as it is; it is passed to :func:`F.pad` (last dimension first).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax

from .. import functional as F
from ..functional._utils import _ntuple, _pair
from ..parameter import _unwrap
from .module import Module

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]

_quadruple = _ntuple(4, "_quadruple")
_sextuple = _ntuple(6, "_sextuple")

_SIDES = {1: "left, right", 2: "left, right, top, bottom", 3: "left, right, top, bottom, front, back"}
_DIMS = {1: "W", 2: "H, W", 3: "D, H, W"}


def _doc(n: int, summary: str, note: str = "", value: bool = False, any_rank: bool = False) -> str:
    """The docstring of a padding class over ``n`` dims."""
    dims = _DIMS[n]
    shapes = f"``(*, {dims})``" if any_rank else f"``(N, C, {dims})`` or ``(C, {dims})``"
    value_doc = "\n        value: the fill of the border." if value else ""
    return f"""{summary.format(n=n, dims="dim" if n == 1 else f"{n} dims")}

    For other numbers of dims use :func:`torchjax.nn.functional.pad`.

    Args:
        padding: an int (the same width on every side) or a {2 * n}-tuple ``({_SIDES[n]})``{note}.{value_doc}

    Shape:
        - Input: {shapes}; output the same, each padded dim grown by its two widths.
    """


_CIRCULAR = ("Pads the last {dims} circularly: the values at the start of a dim pad its end and vice versa "
             "(negative widths crop first).")
_CIRCULAR_NOTE = "; each width at most the dim's size"
_CONSTANT = "Pads the last {dims} with the constant ``value`` (negative widths crop)."
_ZERO = "Pads the last {dims} with zeros (negative widths crop)."
_REFLECTION = "Pads the last {dims} with the reflection of the input, the edge element not repeated."
_REFLECTION_NOTE = "; each width less than the dim's size"
_REPLICATION = "Pads the last {dims} by repeating the edge element."
_REPLICATION_NOTE = "; the output dims must stay positive"


class _CircularPadNd(Module):
    """Circular padding: the values at the start of a dim pad its end and vice versa."""

    __constants__ = ["padding"]
    padding: Sequence[int]

    def _check_input_dim(self, input) -> None:
        raise NotImplementedError

    def forward(self, input: jax.Array) -> jax.Array:
        self._check_input_dim(input)
        return F.pad(input, self.padding, "circular")

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _check_rank(input, n: int) -> None:
    ndim = _unwrap(input).ndim
    if ndim not in (n + 1, n + 2):
        raise ValueError(f"expected {n + 1}D or {n + 2}D input (got {ndim}D input)")


class CircularPad1d(_CircularPadNd):
    __doc__ = _doc(1, _CIRCULAR, _CIRCULAR_NOTE)
    padding: tuple[int, int]

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _pair(padding)

    def _check_input_dim(self, input) -> None:
        _check_rank(input, 1)


class CircularPad2d(_CircularPadNd):
    __doc__ = _doc(2, _CIRCULAR, _CIRCULAR_NOTE)
    padding: tuple[int, int, int, int]

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _quadruple(padding)

    def _check_input_dim(self, input) -> None:
        _check_rank(input, 2)


class CircularPad3d(_CircularPadNd):
    __doc__ = _doc(3, _CIRCULAR, _CIRCULAR_NOTE)
    padding: tuple[int, int, int, int, int, int]

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _sextuple(padding)

    def _check_input_dim(self, input) -> None:
        _check_rank(input, 3)


class _ConstantPadNd(Module):
    """Constant padding: the new border holds ``value`` (negative widths crop)."""

    __constants__ = ["padding", "value"]
    value: float
    padding: Sequence[int]

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, input: jax.Array) -> jax.Array:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    __doc__ = _doc(1, _CONSTANT, value=True, any_rank=True)
    padding: tuple[int, int]

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _pair(padding)


class ConstantPad2d(_ConstantPadNd):
    __doc__ = _doc(2, _CONSTANT, value=True, any_rank=True)
    padding: tuple[int, int, int, int]

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _quadruple(padding)


class ConstantPad3d(_ConstantPadNd):
    __doc__ = _doc(3, _CONSTANT, value=True, any_rank=True)
    padding: tuple[int, int, int, int, int, int]

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _sextuple(padding)


class _ReflectionPadNd(Module):
    """Reflection padding: the border mirrors the input without repeating the edge element."""

    __constants__ = ["padding"]
    padding: Sequence[int]

    def forward(self, input: jax.Array) -> jax.Array:
        return F.pad(input, self.padding, "reflect")

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_ReflectionPadNd):
    __doc__ = _doc(1, _REFLECTION, _REFLECTION_NOTE)
    padding: tuple[int, int]

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _pair(padding)


class ReflectionPad2d(_ReflectionPadNd):
    __doc__ = _doc(2, _REFLECTION, _REFLECTION_NOTE)
    padding: tuple[int, int, int, int]

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _quadruple(padding)


class ReflectionPad3d(_ReflectionPadNd):
    __doc__ = _doc(3, _REFLECTION, _REFLECTION_NOTE)
    padding: tuple[int, int, int, int, int, int]

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _sextuple(padding)


class _ReplicationPadNd(Module):
    """Replication padding: the border repeats the edge element."""

    __constants__ = ["padding"]
    padding: Sequence[int]

    def forward(self, input: jax.Array) -> jax.Array:
        return F.pad(input, self.padding, "replicate")

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReplicationPad1d(_ReplicationPadNd):
    __doc__ = _doc(1, _REPLICATION, _REPLICATION_NOTE)
    padding: tuple[int, int]

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _pair(padding)


class ReplicationPad2d(_ReplicationPadNd):
    __doc__ = _doc(2, _REPLICATION, _REPLICATION_NOTE)
    padding: tuple[int, int, int, int]

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _quadruple(padding)


class ReplicationPad3d(_ReplicationPadNd):
    __doc__ = _doc(3, _REPLICATION, _REPLICATION_NOTE)
    padding: tuple[int, int, int, int, int, int]

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _sextuple(padding)


class ZeroPad1d(ConstantPad1d):
    __doc__ = _doc(1, _ZERO, any_rank=True)
    padding: tuple[int, int]

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    __doc__ = _doc(2, _ZERO, any_rank=True)
    padding: tuple[int, int, int, int]

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    __doc__ = _doc(3, _ZERO, any_rank=True)
    padding: tuple[int, int, int, int, int, int]

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


"""torch's dtype and tensor queries: ``result_type``, ``promote_types``, ``can_cast``, ``finfo``, ``iinfo``,
``is_tensor``, ``is_floating_point``, ``is_nonzero``, ``numel``, ``set_printoptions`` (``is_complex`` is in complex.py).

``finfo``/``iinfo`` describe any dtype, float64/int64 included (they create no array); ``promote_types``
and ``result_type`` answer with the dtypes JAX stores (int64 -> int32 and float64 -> float32 without x64).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .. import _promotion
from .._device import as_dtype, get_default_dtype
from .._tensor import OPS, is_tensor, op, tensor_arg, unwrap
from .._tensor_str import set_printoptions

__all__ = ["can_cast", "finfo", "iinfo", "is_floating_point", "is_nonzero", "numel",
           "promote_types", "result_type"]


def _is_float(dtype) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.floating))


def _is_complex(dtype) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.complexfloating))


def result_type(tensor, other) -> np.dtype:
    """``torch.result_type``: the dtype an arithmetic op on ``tensor`` and ``other`` (tensors or numbers) gives."""
    operands = [unwrap(v) for v in (tensor, other)]
    operands = [v if _promotion.is_scalar(v) else jnp.asarray(v) for v in operands]
    return _promotion.result_type(*operands)


def promote_types(type1, type2) -> np.dtype:
    """``torch.promote_types``: the smallest dtype both cast to without losing category."""
    return _promotion.promote_types(as_dtype(type1), as_dtype(type2))


def can_cast(from_, to) -> bool:
    """``torch.can_cast``: whether torch's casting rules allow ``from_`` -> ``to`` (no lower category)."""
    return _promotion.can_cast(as_dtype(from_), as_dtype(to))


def is_floating_point(input) -> bool:
    """``torch.is_floating_point``: float16, bfloat16, float32 or float64."""
    return _is_float(tensor_arg(input, "is_floating_point").dtype)


def numel(input) -> int:
    return math.prod(unwrap(tensor_arg(input, "numel")).shape)


@op(method=True)
def is_nonzero(input) -> bool:
    """``torch.is_nonzero``: the truth of a one-element tensor (eager only: it reads the value)."""
    if input.size == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input.size > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.reshape(()))


def _g(value) -> str:
    return f"{value:g}"


class finfo:  # noqa: N801 - torch's name
    """``torch.finfo``: bits, eps, max, min, tiny, smallest_normal, resolution and dtype (its name) of a
    floating dtype (the default dtype when none is given; a complex dtype describes its real part)."""

    def __init__(self, type=None) -> None:
        dtype = get_default_dtype() if type is None else as_dtype(type)
        if _is_complex(dtype):
            dtype = _promotion.to_real(dtype)
        if not _is_float(dtype):
            raise TypeError("torchjax.finfo() requires a floating point input type. Use torchjax.iinfo to handle "
                            "'torchjax.finfo'")
        info = jnp.finfo(dtype)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = np.dtype(dtype).name

    def __repr__(self) -> str:
        return (f"finfo(resolution={_g(self.resolution)}, min={_g(self.min)}, max={_g(self.max)}, "
                f"eps={_g(self.eps)}, smallest_normal={_g(self.smallest_normal)}, tiny={_g(self.tiny)}, "
                f"dtype={self.dtype})")


class iinfo:  # noqa: N801 - torch's name
    """``torch.iinfo``: bits, max, min and dtype (its name) of an integer dtype."""

    def __init__(self, type) -> None:
        dtype = as_dtype(type)
        if dtype.kind not in "iu":
            raise TypeError("torchjax.iinfo() requires an integer input type. Use torchjax.finfo to handle "
                            "'torchjax.iinfo'")
        info = np.iinfo(dtype)
        self.bits, self.max, self.min = int(info.bits), int(info.max), int(info.min)
        self.dtype = dtype.name

    def __repr__(self) -> str:
        return f"iinfo(min={_g(self.min)}, max={_g(self.max)}, dtype={self.dtype})"


OPS.update({fn.__name__: fn for fn in (
    can_cast, finfo, iinfo, is_floating_point, is_tensor, numel, promote_types, result_type,
    set_printoptions,
)})

"""torch's type promotion (``torch.result_type`` and the elementwise promotion kinds of ``torch._refs``).

Operands fall in three groups, in falling priority: tensors with dimensions, zero-dimensional tensors,
and Python numbers ("wrapped numbers"). Within a group dtypes promote as ``torch.promote_types``; across
groups a lower group only matters when its *category* (bool < integer < floating < complex) is higher.
So ``int32 tensor * 2.5`` is the default float dtype, ``float16 tensor + 0-d float32 tensor`` stays float16,
and ``int tensor / int tensor`` is float (INT_TO_FLOAT).

JAX's limit: without ``jax_enable_x64`` torch's int64 and float64 are int32 and float32 here.
"""

from __future__ import annotations

import builtins
import enum

import jax
import jax.numpy as jnp
import numpy as np

from ._device import get_default_dtype

_BOOL = np.dtype(np.bool_)


class Kind(enum.Enum):
    """``torch._prims_common.ELEMENTWISE_TYPE_PROMOTION_KIND``: how the result dtype follows the operands'."""

    DEFAULT = "default"  # the promoted dtype
    INT_TO_FLOAT = "int_to_float"  # bool/integer results become the default float dtype (div, sqrt, sin)
    ALWAYS_BOOL = "always_bool"  # computed in the promoted dtype, result bool (comparisons, isnan)
    COMPLEX_TO_FLOAT = "complex_to_float"  # complex results become their real dtype (abs)
    BOOL_TO_LONG = "bool_to_long"  # bool results become int64 (sum of a bool tensor)


def category(dtype) -> int:
    """0 bool, 1 integer, 2 floating, 3 complex."""
    kind = np.dtype(dtype).kind
    if kind == "b":
        return 0
    if kind in "iu":
        return 1
    if kind == "c":
        return 3
    return 2


def canonical(dtype) -> np.dtype:
    """``dtype`` as JAX stores it (int64 -> int32 without x64)."""
    return np.dtype(jax.dtypes.canonicalize_dtype(dtype))


def long_dtype() -> np.dtype:
    return canonical(np.int64)


def default_complex() -> np.dtype:
    return np.dtype(np.complex128) if get_default_dtype() == np.float64 else np.dtype(np.complex64)


def to_complex(dtype) -> np.dtype:
    return np.dtype(np.complex128) if np.dtype(dtype) == np.float64 else np.dtype(np.complex64)


def to_real(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype.kind != "c":
        return dtype
    return np.dtype(np.float64) if dtype == np.complex128 else np.dtype(np.float32)


def promote_types(a, b) -> np.dtype:
    """``torch.promote_types`` (JAX's lattice agrees with torch's on the dtypes both have)."""
    if a is None:
        return b
    if b is None:
        return a
    return canonical(jnp.promote_types(a, b))


def scalar_dtype(value) -> np.dtype:
    """The dtype torch gives a Python number: bool, int64 (int32 without x64), the default float, complex."""
    if isinstance(value, builtins.bool):
        return _BOOL
    if isinstance(value, builtins.int):
        return long_dtype()
    if isinstance(value, builtins.float):
        return get_default_dtype()
    return default_complex()


def _combine(higher, lower):
    # c10's combine_categories: a lower-priority group wins only with a higher category.
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch, cl = category(higher), category(lower)
    if ch == 3:
        return higher
    if cl == 3:
        return to_complex(higher) if ch == 2 else lower
    if ch == 2:
        return higher
    if ch == 0 or cl == 2:
        return promote_types(higher, lower)
    return higher


def is_scalar(value) -> bool:
    return isinstance(value, builtins.bool | builtins.int | builtins.float | builtins.complex)


def result_type(*operands) -> np.dtype:
    """``torch.result_type`` over arrays (anything with ``.dtype`` and ``.ndim``) and Python numbers."""
    dim = zero = wrapped = None
    for value in operands:
        if value is None:
            continue
        if is_scalar(value):
            wrapped = promote_types(wrapped, scalar_dtype(value))
        elif value.ndim == 0:
            zero = promote_types(zero, np.dtype(value.dtype))
        else:
            dim = promote_types(dim, np.dtype(value.dtype))
    result = _combine(dim, _combine(zero, wrapped))
    if result is None:
        raise TypeError("result_type: no tensor or number operands")
    return result


def computation_and_result(kind: Kind, *operands) -> tuple[np.dtype, np.dtype]:
    """(dtype to compute in, dtype of the result) for an elementwise op of promotion ``kind``."""
    promoted = result_type(*operands)
    if kind is Kind.DEFAULT:
        return promoted, promoted
    if kind is Kind.INT_TO_FLOAT:
        dtype = get_default_dtype() if category(promoted) < 2 else promoted
        return dtype, dtype
    if kind is Kind.ALWAYS_BOOL:
        return promoted, _BOOL
    if kind is Kind.COMPLEX_TO_FLOAT:
        return promoted, to_real(promoted)
    if kind is Kind.BOOL_TO_LONG:
        dtype = long_dtype() if promoted == _BOOL else promoted
        return dtype, dtype
    raise ValueError(kind)


def can_cast(src, dst) -> bool:
    """``torch.can_cast``: no cast to a lower category (float -> int, complex -> float, int -> bool)."""
    return category(src) <= category(dst)


# The C++ type names torch's scalar conversion check prints ("value cannot be converted to type int8_t ...").
_CONVERT_NAMES = {"bool": "bool", "int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "uint16": "uint16_t",
                  "int32": "int", "uint32": "uint32_t", "int64": "int64_t", "uint64": "uint64_t",
                  "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double",
                  "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def checked_convert(value, dtype) -> np.generic:
    """A Python number as a NumPy scalar of ``dtype``, converted as torch converts a number written into a
    tensor (``c10::checked_convert``): toward zero for integer types, ``value != 0`` for bool, a negative
    integer wrapping into an unsigned type. A value outside the type's range (NaN or infinity for an integer
    type, a nonzero imaginary part for a real one) raises torch's RuntimeError."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.bool_(value != 0)
    real, imag = (value.real, value.imag) if isinstance(value, builtins.complex) else (value, 0)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if isinstance(real, builtins.float):
            overflow = not np.isfinite(real) or not info.min <= real <= info.max
        else:  # an unsigned type takes a negative integer modulo 2**bits, as C++ does
            overflow = real > info.max or (real < -info.max if dtype.kind == "u" else real < info.min)
    else:
        limit = float(jnp.finfo(dtype).max)
        overflow = any(np.isfinite(part) and abs(part) > limit for part in (real, imag))
    if overflow or (imag != 0 and dtype.kind != "c"):
        name = _CONVERT_NAMES.get(dtype.name, dtype.name)
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")
    if dtype.kind in "iu":
        return dtype.type(int(real) % (1 << (8 * dtype.itemsize)) if int(real) < 0 and dtype.kind == "u"
                          else int(real))
    return dtype.type(value if dtype.kind == "c" else real)

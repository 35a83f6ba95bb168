"""Devices and dtypes: torch's device strings and dtype names mapped onto JAX."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_PLATFORM = {"cpu": "cpu", "cuda": "gpu", "gpu": "gpu", "tpu": "tpu"}


class device:
    """``torch.device``: ``device('cpu')``, ``device('cuda:1')``, ``device('cuda', 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and index is None:
            type, index = "cuda", type
        elif not isinstance(type, str):
            raise TypeError(f"device() expected a string or int, got {_typename(type)}")
        elif ":" in type:
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was passed explicitly: {type}"
                )
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in _PLATFORM:
            raise RuntimeError(
                f"Expected one of {', '.join(sorted(_PLATFORM))} device type at start of device string: {type}"
            )
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        object.__setattr__(self, "type", "cuda" if type == "gpu" else type)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("torchjax.device is immutable")

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


def _typename(obj) -> str:
    """torch.typename: ``module.QualName`` of an object's class (plain name for builtins)."""
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = type(obj).__module__ or ""
        qualname = type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def _jax_devices_seen() -> str:
    return ", ".join(f"{d.platform}:{d.id}" for d in jax.devices())


def to_jax_device(dev) -> jax.Device:
    """Map a torch-style device (str, int, ``device`` or jax.Device) to the jax.Device it names.

    Raises RuntimeError naming what JAX does see when the platform or index is not there.
    """
    if isinstance(dev, jax.Device):
        return dev
    dev = device(dev)
    platform = _PLATFORM[dev.type]
    try:
        candidates = jax.devices(platform)
    except RuntimeError:
        candidates = []
    index = 0 if dev.index is None else dev.index
    if index >= len(candidates):
        raise RuntimeError(
            f"device '{dev}' is not available: JAX sees {_jax_devices_seen()} "
            f"(install a JAX build for that platform, or use one of these)"
        )
    return candidates[index]


def from_jax_device(dev: jax.Device) -> device:
    return device("cuda" if dev.platform == "gpu" else dev.platform, dev.id)


_X64_DTYPES = (np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.uint64), np.dtype(np.complex128))
_INT64 = np.dtype(np.int64)
_INT32 = np.dtype(np.int32)


def as_dtype(dtype) -> np.dtype:
    """Normalise a dtype given as a NumPy/JAX dtype, scalar type or name ('float32', 'torch.half')."""
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.").removeprefix("torchjax.")
        aliases = {"half": "float16", "float": "float32", "double": "float64", "long": "int64",
                   "int": "int32", "short": "int16", "cfloat": "complex64", "cdouble": "complex128"}
        dtype = aliases.get(name, name)
    try:
        return jnp.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}") from None


# torch's scalar-type names (c10::ScalarType), for the dtype errors torch raises from C++
# ("... not implemented for 'Int'", "expected scalar type Float but found Half").
_SCALAR_TYPE_NAMES = {
    "bool": "Bool", "int8": "Char", "uint8": "Byte", "int16": "Short", "int32": "Int", "int64": "Long",
    "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "float16": "Half", "bfloat16": "BFloat16",
    "float32": "Float", "float64": "Double", "complex64": "ComplexFloat", "complex128": "ComplexDouble",
    "float8_e4m3fn": "Float8_e4m3fn", "float8_e5m2": "Float8_e5m2", "float8_e4m3fnuz": "Float8_e4m3fnuz",
    "float8_e5m2fnuz": "Float8_e5m2fnuz", "float8_e8m0fnu": "Float8_e8m0fnu",
}


def scalar_type_name(dtype) -> str:
    """torch's name for ``dtype`` (``Int`` for int32), or NumPy's when torch has none."""
    name = np.dtype(dtype).name
    return _SCALAR_TYPE_NAMES.get(name, name)


def cpp_type_name(dtype) -> str:
    """The C++ type torch's kernels print for ``dtype`` (``float``, ``c10::Half``)."""
    name = scalar_type_name(dtype)
    return {"Float": "float", "Double": "double", "Long": "int64_t", "Int": "int", "Bool": "bool"}.get(
        name, f"c10::{name}")


def legacy_type_name(dtype) -> str:
    """torch's legacy tensor-type name for ``dtype`` (``torch.FloatTensor``), as some CPU errors print it."""
    return f"torch.{scalar_type_name(dtype)}Tensor"


def check_dtype_supported(dtype: np.dtype, where: str) -> np.dtype:
    """The dtype to create for a requested ``dtype`` (jax_enable_x64 off): torch's int64 (``long``, its
    default integer and index type) is int32, as every integer tensor is here (``x.long()``,
    ``tensor([1])``, ``arange(3)``); float64, complex128 and uint64 raise, as narrowing them would
    silently lose precision."""
    if dtype in _X64_DTYPES and not jax.config.jax_enable_x64:
        if dtype == _INT64:
            return _INT32
        raise RuntimeError(
            f"{where}: {dtype} needs JAX's 64-bit mode, which is off, so JAX would silently use "
            f"32 bits. Enable it before creating arrays: jax.config.update('jax_enable_x64', True) "
            f"or the environment variable JAX_ENABLE_X64=1."
        )
    return dtype


def is_floating(dtype) -> bool:
    return jnp.issubdtype(dtype, jnp.floating)


def is_float_or_complex(dtype) -> bool:
    return jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.complexfloating)


_default_dtype = jnp.dtype(jnp.float32)


def get_default_dtype() -> np.dtype:
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the dtype new floating parameters are created with (float32 unless changed)."""
    global _default_dtype
    dtype = as_dtype(dtype)
    if not is_floating(dtype):
        raise TypeError(f"only floating-point types are supported as the default type, got {dtype}")
    check_dtype_supported(dtype, "set_default_dtype")
    _default_dtype = dtype

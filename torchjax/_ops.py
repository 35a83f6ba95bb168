"""Tensor functions of torch's top-level namespace that the nn layers need (``torch.flatten`` ...).

They take and return jax arrays (or Parameters) and raise torch's exception types.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import numpy as np

from ._device import as_dtype, check_dtype_supported, get_default_dtype, to_jax_device
from .nn.parameter import _unwrap as _data


def canonical_dim(dim: int, ndim: int) -> int:
    """``dim`` as a non-negative axis; IndexError with torch's message when out of range."""
    if not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {dim})")
    return dim % bound


def flatten(input, start_dim: int = 0, end_dim: int = -1) -> jax.Array:
    """Merge dimensions ``start_dim..end_dim`` into one, as ``torch.flatten``."""
    x = _data(input)
    if x.ndim == 0:
        canonical_dim(start_dim, 0), canonical_dim(end_dim, 0)
        return x.reshape(1)
    start, end = canonical_dim(start_dim, x.ndim), canonical_dim(end_dim, x.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return x
    merged = math.prod(x.shape[start:end + 1])
    return x.reshape(x.shape[:start] + (merged,) + x.shape[end + 1:])


def unflatten(input, dim: int, sizes: Sequence[int]) -> jax.Array:
    """Split dimension ``dim`` into ``sizes`` (one entry may be -1), as ``torch.unflatten``."""
    x = _data(input)
    if len(sizes) == 0:
        raise RuntimeError("unflatten: sizes must be non-empty")
    axis = canonical_dim(dim, x.ndim)
    sizes = [int(s) for s in sizes]
    inferred = [i for i, s in enumerate(sizes) if s == -1]
    if len(inferred) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in sizes if s != -1)
    if inferred:
        if known == 0 or x.shape[axis] % known:
            raise RuntimeError(f"shape '{sizes}' is invalid for input of size {x.shape[axis]}")
        sizes[inferred[0]] = x.shape[axis] // known
    elif known != x.shape[axis]:
        raise RuntimeError(
            f"unflatten: Provided sizes {sizes} don't multiply up to the size of dim {dim} "
            f"({x.shape[axis]}) in the input tensor"
        )
    return x.reshape(x.shape[:axis] + tuple(sizes) + x.shape[axis + 1:])


def empty(*size, dtype=None, device=None) -> jax.Array:
    """A new array of ``size`` (zeros: XLA has no uninitialized memory), as ``torch.empty``."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], Sequence) else tuple(size)
    for s in shape:
        if not isinstance(s, int) or isinstance(s, bool):
            raise TypeError(f"empty(): argument 'size' must be a tuple of ints, but found element of type "
                            f"{type(s).__name__}")
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    dtype = get_default_dtype() if dtype is None else check_dtype_supported(as_dtype(dtype), "empty")
    # Zeros made by NumPy and transferred: jnp.zeros would compile a kernel for every new shape.
    value = np.zeros(shape, dtype)
    return jax.device_put(value, None if device is None else to_jax_device(device))

"""Argument normalisers shared by the spatial layer families (conv, pooling, ...).

``_single`` / ``_pair`` / ``_triple`` are torch's ``torch.nn.modules.utils`` helpers, used by the
modules to store their hyper-parameters as torch does; :func:`expand` is the stricter check the
functional forms apply (torch does it in C++): an int, or a sequence of 1 or ``n`` ints.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat

import jax
import jax.numpy as jnp
import numpy as np


def _ntuple(n: int, name: str = "parse"):
    def parse(x):
        if isinstance(x, Iterable):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")


def _reverse_repeat_tuple(t: tuple, n: int) -> tuple:
    """Reverse ``t`` and repeat each element ``n`` times: torch's ``F.pad`` order from per-dim padding."""
    return tuple(x for x in reversed(t) for _ in range(n))


def expand(value, n: int, name: str, fn: str) -> tuple[int, ...]:
    """``value`` as ``n`` ints: an int is repeated, a sequence must hold 1 or ``n`` ints (RuntimeError)."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return (int(value),) * n
    values = tuple(value) if isinstance(value, Iterable) and not isinstance(value, str) else None
    if values is None or len(values) not in (1, n) or not all(isinstance(v, int | np.integer) for v in values):
        raise RuntimeError(
            f"{fn}(): expected {name} to be a single integer value or a list of {n} values to match the "
            f"{n} spatial dimensions, but got {name}={value!r}"
        )
    return tuple(int(v) for v in values) * (n // len(values))


def index_dtype() -> np.dtype:
    """torch's int64 index dtype as JAX gives it: int32 unless ``jax_enable_x64`` is on."""
    return np.dtype(jax.dtypes.canonicalize_dtype(jnp.int64))


def check_spatial_input(x, n: int, fn: str, error=RuntimeError) -> bool:
    """Refuse an input that is not ``(C, *spatial)`` or ``(N, C, *spatial)``; True when batched."""
    if x.ndim not in (n + 1, n + 2):
        raise error(
            f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {fn}, but got input of size: "
            f"{list(x.shape)}"
        )
    return x.ndim == n + 2

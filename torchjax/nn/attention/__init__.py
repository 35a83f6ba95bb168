"""``torchjax.nn.attention``: choosing the kernel behind ``F.scaled_dot_product_attention``.

torch picks among fused kernels (flash, memory-efficient, cuDNN) and the explicit "math" path;
``sdpa_kernel`` restricts that choice. Here the kernels map to JAX's:

- ``MATH``: the explicit softmax path (einsum, softmax, einsum), exact in every dtype.
- ``FLASH_ATTENTION``, ``EFFICIENT_ATTENTION``: ``jax.nn.dot_product_attention``'s XLA
  implementation (fused by XLA; a Pallas/cuDNN kernel is not forced).
- ``CUDNN_ATTENTION``: additionally lets GPUs use cuDNN's fused attention for half precision.

With several enabled (the default: all), torchjax uses a fused kernel where it applies and the
math path otherwise (dropout, a value head size different from the query's, float64, empty
sequences). When the call needs the math path and it is not enabled, or the only backend enabled
is ``OVERRIDEABLE``/``ERROR``, it raises torch's ``RuntimeError("No available kernel...")``.
``set_priority`` is accepted; the order is not otherwise used. torch's flash-attention
implementation registry (``register_flash_attention_impl`` & co.) is CUDA-specific and absent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import IntEnum

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(IntEnum):
    """The attention kernels, with torch's names and values."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_DEFAULT = (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH, SDPBackend.CUDNN_ATTENTION,
            SDPBackend.OVERRIDEABLE)
_enabled: tuple[SDPBackend, ...] = _DEFAULT


def _paths() -> tuple[bool, bool, bool]:
    """(math allowed, fused allowed, cuDNN allowed) under the current ``sdpa_kernel`` setting."""
    fused = {SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION}
    return SDPBackend.MATH in _enabled, bool(fused & set(_enabled)), SDPBackend.CUDNN_ATTENTION in _enabled


@contextlib.contextmanager
def sdpa_kernel(backends: list[SDPBackend] | SDPBackend, set_priority: bool = False) -> Iterator[dict]:
    """Within the block, ``F.scaled_dot_product_attention`` uses only ``backends`` (one or a list);
    the previous setting comes back on exit, also after an exception."""
    global _enabled
    if not isinstance(backends, list | SDPBackend):
        raise AssertionError(
            "Backend must be an instance of SDPBackend or a list of SDPBackend instances, got "
            f"{type(backends).__name__}"
        )
    if isinstance(backends, SDPBackend):
        backends = [backends]
    previous, _enabled = _enabled, tuple(dict.fromkeys(backends))
    try:
        yield {}
    finally:
        _enabled = previous

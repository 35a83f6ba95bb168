"""``torchjax.cuda``: torch.cuda's queries, answered from the GPUs JAX sees (``jax.devices('gpu')``).

Placement follows JAX: ``tensor.to('cuda:1')`` (or a sharding) puts data on a device, and JAX runs each
computation where its inputs are. So ``set_device`` only changes what :func:`current_device` reports,
:func:`synchronize` and :func:`empty_cache` are no-ops (JAX has no device-wide barrier: block on a result
with ``t.jax().block_until_ready()``; its allocator frees buffers when arrays die), and the seed functions
seed torchjax's one generator (there is no separate CUDA generator).
"""

from __future__ import annotations

import jax

from . import _random
from ._device import device as _device_cls
from ._device import to_jax_device

__all__ = [
    "current_device", "device_count", "empty_cache", "get_device_capability", "get_device_name",
    "get_device_properties", "initial_seed", "is_available", "is_bf16_supported", "is_initialized",
    "manual_seed", "manual_seed_all", "max_memory_allocated", "max_memory_reserved", "memory_allocated",
    "memory_reserved", "memory_stats", "reset_peak_memory_stats", "seed", "seed_all", "set_device", "synchronize",
]

_current = 0  # the index set_device chose


def _gpus() -> list[jax.Device]:
    try:
        return jax.devices("gpu")
    except RuntimeError:  # no GPU backend
        return []


def is_available() -> bool:
    """Whether JAX sees a GPU."""
    return bool(_gpus())


def is_initialized() -> bool:
    return is_available()


def device_count() -> int:
    """The number of GPUs JAX sees."""
    return len(_gpus())


def _lazy_check() -> None:
    if not is_available():
        raise RuntimeError(f"No CUDA GPUs are available: JAX sees {', '.join(map(str, jax.devices()))}")


def _gpu(device=None) -> jax.Device:
    """The jax.Device a torch device argument (None: the current one, an int, 'cuda:1', a device) names."""
    _lazy_check()
    if device is None:
        return _gpus()[_current]
    if isinstance(device, int):
        device = _device_cls("cuda", device)
    return to_jax_device(device)


def current_device() -> int:
    """The index of the current GPU (0 unless :func:`set_device` chose another)."""
    _lazy_check()
    return _current


def set_device(device) -> None:
    """Make ``device`` current: what :func:`current_device` and the default of the queries here report."""
    global _current
    if isinstance(device, int) and device < 0:  # torch: a negative index is a no-op
        return
    _current = _gpus().index(_gpu(device))


def get_device_name(device=None) -> str:
    """The GPU's name as JAX reports it (e.g. 'NVIDIA H100 80GB HBM3')."""
    return _gpu(device).device_kind


def get_device_capability(device=None) -> tuple[int, int]:
    """The GPU's compute capability (major, minor)."""
    major, _, minor = str(getattr(_gpu(device), "compute_capability", "0.0")).partition(".")
    return int(major), int(minor or 0)


class _DeviceProperties:
    """What torch.cuda.get_device_properties reports that JAX knows: name, memory, capability, SM count."""

    def __init__(self, dev: jax.Device) -> None:
        self.name = dev.device_kind
        self.total_memory = (_stats(dev) or {}).get("bytes_limit", 0)
        self.major, self.minor = get_device_capability(dev)
        self.multi_processor_count = getattr(dev, "core_count", 0)

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // (1024 * 1024)}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None) -> _DeviceProperties:
    return _DeviceProperties(_gpu(device))


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether the current GPU computes in bfloat16 (compute capability 8.0 or higher; XLA emulates it below)."""
    if not is_available():
        return False
    return including_emulation or get_device_capability()[0] >= 8


def synchronize(device=None) -> None:
    """No-op: JAX has no device-wide barrier; block on a result (``t.jax().block_until_ready()``)."""


def empty_cache() -> None:
    """No-op: JAX's allocator frees a buffer when its last array is gone."""


def _stats(dev: jax.Device) -> dict | None:
    try:
        return dev.memory_stats()
    except Exception:  # noqa: BLE001 - backends without memory statistics raise various errors
        return None


def memory_stats(device=None) -> dict:
    """The device's memory statistics as JAX reports them ({} where the backend keeps none)."""
    return dict(_stats(_gpu(device)) or {}) if is_available() else {}


def _stat(name: str, device) -> int:
    return int(memory_stats(device).get(name, 0))


def memory_allocated(device=None) -> int:
    """Bytes in use by arrays on the device (0 where JAX keeps no statistics)."""
    return _stat("bytes_in_use", device)


def max_memory_allocated(device=None) -> int:
    """Peak bytes in use since the process started (0 where JAX keeps no statistics)."""
    return _stat("peak_bytes_in_use", device)


def memory_reserved(device=None) -> int:
    """Bytes the allocator holds (0 where JAX keeps no statistics)."""
    return _stat("bytes_reserved", device) or _stat("pool_bytes", device)


def max_memory_reserved(device=None) -> int:
    return _stat("peak_bytes_reserved", device) or _stat("peak_pool_bytes", device)


def reset_peak_memory_stats(device=None) -> None:
    """No-op: JAX's peak counters cannot be reset."""


def manual_seed(seed: int) -> None:
    """Seed torchjax's generator (the one stream every device draws from)."""
    _random.manual_seed(seed)


manual_seed_all = manual_seed


def seed() -> None:
    _random.seed()


seed_all = seed


def initial_seed() -> int:
    return _random.initial_seed()

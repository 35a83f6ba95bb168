"""``torchjax.backends.cudnn``: settable no-op flags with torch's defaults (XLA picks the GPU kernels)."""

from __future__ import annotations

import contextlib

from .. import cuda as _cuda

enabled = True
benchmark = False
benchmark_limit = 10
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """Whether JAX sees a GPU (XLA calls cuDNN itself where it helps)."""
    return _cuda.is_available()


def version() -> int | None:
    """None: torchjax is not linked against cuDNN (XLA is)."""
    return None


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False, allow_tf32=True):
    """Set the flags for a ``with`` block (no-ops, as the flags are), restoring them afterwards."""
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    module = globals()
    old = {name: module[name] for name in names}
    module.update(zip(names, (enabled, benchmark, benchmark_limit, deterministic, allow_tf32), strict=True))
    try:
        yield
    finally:
        module.update(old)

"""``DataParallel`` and ``data_parallel``: run the module (JAX places the work; see ``torchjax.nn.parallel``)."""

from __future__ import annotations

from typing import Any

from ... import cuda
from ..._device import device as _device_cls
from ..modules.module import Module

__all__ = ["DataParallel", "data_parallel"]


def _device_indices(device_ids, output_device) -> tuple[list[int], int | None]:
    # torch: every visible GPU by default, output on the first; none without GPUs.
    if not cuda.is_available():
        return [], None
    if device_ids is None:
        device_ids = range(cuda.device_count())
    ids = [_index(d) for d in device_ids]
    if not ids:
        return [], None
    return ids, ids[0] if output_device is None else _index(output_device)


def _index(dev) -> int:
    if isinstance(dev, int):
        return dev
    dev = _device_cls(dev)
    return 0 if dev.index is None else dev.index


class DataParallel(Module):
    """``torch.nn.DataParallel``: wraps ``module`` (so state_dict keys read ``module.<name>``) and runs it.

    ``device_ids``, ``output_device`` and ``dim`` are recorded for code that reads them; nothing is
    scattered or replicated, because on a single controller JAX places the work where the data is.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids, self.output_device = _device_indices(device_ids, output_device)
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs: Any, device_ids=None, output_device=None, dim: int = 0,
                  module_kwargs: dict | None = None) -> Any:
    """``torch.nn.parallel.data_parallel``: ``module(*inputs, **module_kwargs)``.

    ``device_ids``, ``output_device`` and ``dim`` are accepted and unused (JAX places the work). torch
    raises on a machine without GPUs; here it runs the module there too.
    """
    if not isinstance(inputs, tuple):
        inputs = () if inputs is None else (inputs,)
    return module(*inputs, **(module_kwargs or {}))

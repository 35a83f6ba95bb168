"""Batch normalization: ``BatchNorm1d/2d/3d``, their lazy forms, and ``SyncBatchNorm``.

Running statistics are buffers (Tensors); a training forward updates them in place, as torch, which
``torchjax.compile`` / ``torchjax.backward`` / ``torchjax.func`` carry out of the trace and write back.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ... import _ops
from .. import init
from ..functional import normalization as FN
from ..functional._utils import index_dtype
from ..parameter import Parameter, UninitializedBuffer, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
           "SyncBatchNorm"]


def _step_counter(device) -> jax.Array:
    """``num_batches_tracked``: torch's int64 scalar, int32 unless ``jax_enable_x64`` is on."""
    return _ops.empty((), dtype=index_dtype(), device=device)


class _NormBase(Module):
    """State shared by batch and instance normalization: affine parameters and running statistics.

    Arguments:
        num_features: the number of channels ``C`` (dim 1 of the input).
        eps: added to the variance for numerical stability.
        momentum: weight of the newest batch in the running statistics; None for a cumulative
            (simple) average over all batches so far.
        affine: whether to learn a per-channel ``weight`` (init 1) and ``bias`` (init 0).
        track_running_stats: whether to keep ``running_mean`` / ``running_var`` (init 0 / 1) and
            ``num_batches_tracked``; without them the batch statistics are used in eval too.
        bias: whether the affine transform has a ``bias`` (only with ``affine``).
        device, dtype: where and in which dtype to create parameters and statistics.
    """

    _version = 2
    __constants__ = ["track_running_stats", "momentum", "eps", "num_features", "affine"]
    num_features: int
    eps: float
    momentum: float | None
    affine: bool
    track_running_stats: bool

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if self.affine:
            self.weight = Parameter(_ops.empty(num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(_ops.empty(num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", _ops.empty(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", _ops.empty(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", _step_counter(device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        # In place, as torch: rebinding would re-register the buffers (registration hooks fire again).
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            "{num_features}, eps={eps}, momentum={momentum}, affine={affine}, "
            "bias={use_bias}, track_running_stats={track_running_stats}".format(
                **self.__dict__, use_bias=self.bias is not None
            )
        )

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # Checkpoints from before version 2 have no num_batches_tracked: keep ours (or 0).
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                current = self.num_batches_tracked
                state_dict[key] = current if current is not None else _step_counter(None)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


class _BatchNorm(_NormBase):
    """Normalize each channel over the batch (and spatial) dimensions; see :func:`F.batch_norm`.

    In training: batch statistics (biased variance) normalize, and the running statistics move
    towards them (unbiased variance) by ``momentum``. In eval: the running statistics normalize.
    """

    _expected_dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _check_input_dim(self, input) -> None:
        ndim = jnp.ndim(input)
        if ndim not in self._expected_dims:
            expected = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(f"expected {expected} input (got {ndim}D input)")

    def forward(self, input: jax.Array) -> jax.Array:
        self._check_input_dim(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)  # in place, as torch (no buffer registration hooks per step)
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / self.num_batches_tracked
        # Batch statistics in training, and in eval when there are no running statistics.
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        # The buffers are passed only where they are used or updated.
        use_buffers = not self.training or self.track_running_stats
        output, running_mean, running_var = FN._batch_norm(
            input, self.running_mean if use_buffers else None, self.running_var if use_buffers else None,
            self.weight, self.bias, bn_training, momentum, self.eps,
        )
        if 0 in jnp.shape(input):  # torch's kernel leaves the statistics alone on an empty batch
            return output
        if running_mean is not None:
            self.running_mean.copy_(running_mean)
        if running_var is not None:
            self.running_var.copy_(running_var)
        return output


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """Lazy form of a norm layer: ``num_features`` comes from ``input.shape[1]`` on the first call."""

    weight: UninitializedParameter
    bias: UninitializedParameter

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if self.affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if self.track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = _step_counter(device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        if self.has_uninitialized_params():
            self.num_features = jnp.shape(input)[1]
            if self.affine:
                self.weight.materialize((self.num_features,))
                if self.bias is not None:
                    self.bias.materialize((self.num_features,))
            if self.track_running_stats:
                self._materialize_buffer("running_mean", (self.num_features,))
                self._materialize_buffer("running_var", (self.num_features,))
            self.reset_parameters()


class BatchNorm1d(_BatchNorm):
    r"""Batch normalization over a 2D ``(N, C)`` or 3D ``(N, C, L)`` input.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} * \gamma + \beta

    Arguments: see :class:`_NormBase` (``num_features``, ``eps``, ``momentum``, ``affine``,
    ``track_running_stats``, ``bias``, ``device``, ``dtype``).

    Shape: input ``(N, C)`` or ``(N, C, L)``; output the same.
    """

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over a 4D input ``(N, C, H, W)``; see :class:`BatchNorm1d`."""

    _expected_dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalization over a 5D input ``(N, C, D, H, W)``; see :class:`BatchNorm1d`."""

    _expected_dims = (5,)


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """:class:`BatchNorm1d` whose ``num_features`` is inferred from the first input's dim 1."""

    cls_to_become = BatchNorm1d
    _expected_dims = BatchNorm1d._expected_dims


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """:class:`BatchNorm2d` whose ``num_features`` is inferred from the first input's dim 1."""

    cls_to_become = BatchNorm2d
    _expected_dims = BatchNorm2d._expected_dims


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """:class:`BatchNorm3d` whose ``num_features`` is inferred from the first input's dim 1."""

    cls_to_become = BatchNorm3d
    _expected_dims = BatchNorm3d._expected_dims


class SyncBatchNorm(_BatchNorm):
    """Batch normalization with statistics over the whole (global) batch, for any input ``(N, C, *)``.

    torch all-reduces the statistics across processes. A JAX array is global: when the batch is
    sharded over devices (``jax.device_put(x, NamedSharding(mesh, P('b')))``) and the step runs
    under ``torchjax.compile``, the batch statistics already span every shard (XLA inserts the
    all-reduce). So this computes exactly what BatchNorm computes on the unsharded batch.
    ``process_group`` is accepted for porting and not used.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group: Any | None = None, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if jnp.ndim(input) < 2:
            raise ValueError(f"expected at least 2D input (got {jnp.ndim(input)}D input)")

    def _check_non_zero_input_channels(self, input) -> None:
        if jnp.shape(input)[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input: jax.Array) -> jax.Array:
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        return super().forward(input)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any | None = None) -> Module:
        """Replace every ``BatchNorm*`` in ``module`` (itself included) by a ``SyncBatchNorm`` sharing
        its parameters and running statistics; returns the converted module."""
        module_output = module
        if isinstance(module, _BatchNorm):
            module_output = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                          module.track_running_stats, process_group, bias=module.bias is not None)
            if module.affine:
                module_output.weight = module.weight
                module_output.bias = module.bias
            module_output.running_mean = module.running_mean
            module_output.running_var = module.running_var
            module_output.num_batches_tracked = module.num_batches_tracked
            module_output.training = module.training
            if hasattr(module, "qconfig"):
                module_output.qconfig = module.qconfig
        for name, child in module.named_children():
            module_output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return module_output

"""Instance normalization: ``InstanceNorm1d/2d/3d`` and their lazy forms."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp

from ..functional import normalization as FN
from .batchnorm import _LazyNormBase, _NormBase

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]


class _InstanceNorm(_NormBase):
    """Normalize each channel of each sample over its spatial dimensions; see :func:`F.instance_norm`.

    Defaults differ from BatchNorm: ``affine=False`` and ``track_running_stats=False``. With
    running statistics, eval mode normalizes with them. Unbatched inputs ``(C, *)`` are accepted.
    """

    _spatial_dims: int

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _get_no_batch_dim(self) -> int:
        return self._spatial_dims + 1

    def _check_input_dim(self, input) -> None:
        unbatched = self._get_no_batch_dim()
        if jnp.ndim(input) not in (unbatched, unbatched + 1):
            raise ValueError(f"expected {unbatched}D or {unbatched + 1}D input (got {jnp.ndim(input)}D input)")

    def _handle_no_batch_input(self, input: jax.Array) -> jax.Array:
        return self._apply_instance_norm(input[None])[0]

    def _apply_instance_norm(self, input: jax.Array) -> jax.Array:
        output, running_mean, running_var = FN._instance_norm(
            input, self.running_mean, self.running_var, self.weight, self.bias,
            self.training or not self.track_running_stats, self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )
        if running_mean is not None:  # in place, as torch (no buffer registration hooks per step)
            self.running_mean.copy_(running_mean)
        if running_var is not None:
            self.running_var.copy_(running_var)
        return output

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # Checkpoints from before torch 0.4 carry running statistics that the default layer lacks.
        version = local_metadata.get("version", None)
        if version is None and not self.track_running_stats:
            keys = [prefix + name for name in ("running_mean", "running_var") if prefix + name in state_dict]
            if keys:
                error_msgs.append(
                    "Unexpected running stats buffer(s) {names} for {klass} with track_running_stats=False. If "
                    "state_dict is a checkpoint saved before 0.4.0, this may be expected because {klass} does not "
                    "track running stats by default since 0.4.0. Please remove these keys from state_dict. If the "
                    "running stats are actually needed, instead set track_running_stats=True in {klass} to enable "
                    "them. See the documentation of {klass} for details.".format(
                        names=" and ".join(f'"{k}"' for k in keys), klass=self.__class__.__name__
                    )
                )
                for key in keys:
                    state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, input: jax.Array) -> jax.Array:
        self._check_input_dim(input)
        feature_dim = jnp.ndim(input) - self._get_no_batch_dim()
        if jnp.shape(input)[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"expected input's size at dim={feature_dim} to match num_features"
                    f" ({self.num_features}), but got: {jnp.shape(input)[feature_dim]}."
                )
            warnings.warn(
                f"input's size at dim={feature_dim} does not match num_features. You can silence this warning by "
                "not passing in num_features, which is not used because affine=False",
                stacklevel=2,
            )
        if jnp.ndim(input) == self._get_no_batch_dim():
            return self._handle_no_batch_input(input)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization over ``(N, C, L)`` or unbatched ``(C, L)`` inputs.

    Arguments: ``num_features``, ``eps``, ``momentum``, ``affine`` (default False),
    ``track_running_stats`` (default False), ``device``, ``dtype``; see :class:`BatchNorm1d`.
    """

    _spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization over ``(N, C, H, W)`` or unbatched ``(C, H, W)`` inputs."""

    _spatial_dims = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization over ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)`` inputs."""

    _spatial_dims = 3


class LazyInstanceNorm1d(_LazyNormBase, _InstanceNorm):
    """:class:`InstanceNorm1d` whose ``num_features`` is inferred from the input (as torch, its
    defaults are ``affine=True`` and ``track_running_stats=True``)."""

    cls_to_become = InstanceNorm1d
    _spatial_dims = 1


class LazyInstanceNorm2d(_LazyNormBase, _InstanceNorm):
    """:class:`InstanceNorm2d` whose ``num_features`` is inferred from the input."""

    cls_to_become = InstanceNorm2d
    _spatial_dims = 2


class LazyInstanceNorm3d(_LazyNormBase, _InstanceNorm):
    """:class:`InstanceNorm3d` whose ``num_features`` is inferred from the input."""

    cls_to_become = InstanceNorm3d
    _spatial_dims = 3

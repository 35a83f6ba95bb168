"""``LayerNorm``, ``GroupNorm``, ``RMSNorm``, ``LocalResponseNorm`` and ``CrossMapLRN2d``."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from ... import _ops
from ..._tensor import unwrap
from .. import functional as F
from .. import init
from ..functional import normalization as FN
from ..parameter import Parameter
from .module import Module

__all__ = ["CrossMapLRN2d", "GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]


def _as_shape(normalized_shape) -> tuple[int, ...]:
    if isinstance(normalized_shape, numbers.Integral):
        return (normalized_shape,)
    return tuple(normalized_shape)



def _affine_parameters(module: Module, shape: tuple, affine: bool, bias: bool, device, dtype) -> None:
    """``weight`` and ``bias`` of ``shape`` (or registered as None), as LayerNorm and GroupNorm have."""
    module.register_parameter("weight", Parameter(_ops.empty(shape, device=device, dtype=dtype)) if affine else None)
    has_bias = affine and bias
    module.register_parameter("bias", Parameter(_ops.empty(shape, device=device, dtype=dtype)) if has_bias else None)


def _reset_affine(module: Module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)

class LocalResponseNorm(Module):
    """Normalize each channel by the mean square of its ``size`` neighbouring channels; see
    :func:`F.local_response_norm`.

    Arguments: ``size`` (channels in the window), ``alpha`` (multiplicative factor), ``beta``
    (exponent), ``k`` (additive factor). Shape: ``(N, C, *)`` in and out.
    """

    __constants__ = ["size", "alpha", "beta", "k"]

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: jax.Array) -> jax.Array:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return "{size}, alpha={alpha}, beta={beta}, k={k}".format(**self.__dict__)


class CrossMapLRN2d(Module):
    """torch's legacy cross-channel LRN for 4D inputs ``(N, C, H, W)``, reproduced exactly (forward
    and its hand-written backward, quirks included: channel 0 stays in every later window)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: jax.Array) -> jax.Array:
        if jnp.ndim(input) != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {jnp.ndim(input)}D instead.")
        return FN._cross_map_lrn2d(unwrap(input), self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return "{size}, alpha={alpha}, beta={beta}, k={k}".format(**self.__dict__)


class LayerNorm(Module):
    r"""Normalize over the trailing ``normalized_shape`` dimensions of each sample.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} * \gamma + \beta

    Arguments:
        normalized_shape: an int or the trailing shape to normalize over.
        eps: added to the (biased) variance.
        elementwise_affine: whether to learn ``weight`` (init 1) and ``bias`` (init 0), both of
            shape ``normalized_shape``.
        bias: whether to learn the bias (only with ``elementwise_affine``).
        device, dtype: where and in which dtype to create the parameters.

    Shape: input ``(*, *normalized_shape)``; output the same.
    """

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]
    normalized_shape: tuple[int, ...]
    eps: float
    elementwise_affine: bool

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, self.elementwise_affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: jax.Array) -> jax.Array:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return "{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}, bias={use_bias}".format(
            **self.__dict__, use_bias=self.bias is not None
        )


class GroupNorm(Module):
    """Split the channels into ``num_groups`` groups and normalize each group of each sample.

    Arguments:
        num_groups: number of groups; must divide ``num_channels`` (ValueError otherwise).
        num_channels: number of channels ``C``.
        eps: added to the variance.
        affine: whether to learn per-channel ``weight`` (init 1) and ``bias`` (init 0).
        bias: whether to learn the bias (only with ``affine``).
        device, dtype: where and in which dtype to create the parameters.

    Shape: input ``(N, C, *)``; output the same.
    """

    __constants__ = ["num_groups", "num_channels", "eps", "affine"]
    num_groups: int
    num_channels: int
    eps: float
    affine: bool

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, (num_channels,), affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: jax.Array) -> jax.Array:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return "{num_groups}, {num_channels}, eps={eps}, affine={affine}, bias={use_bias}".format(
            **self.__dict__, use_bias=self.bias is not None
        )


class RMSNorm(Module):
    r"""Root-mean-square normalization over the trailing ``normalized_shape`` dimensions.

    .. math:: y = \frac{x}{\sqrt{\mathrm{mean}(x^2) + \epsilon}} * \gamma

    Arguments:
        normalized_shape: an int or the trailing shape to normalize over.
        eps: added to the mean square; None for the machine epsilon of the computation dtype
            (float32's for float16/bfloat16 inputs, as torch computes).
        elementwise_affine: whether to learn ``weight`` (init 1) of shape ``normalized_shape``.
        device, dtype: where and in which dtype to create the parameter.

    Shape: input ``(*, *normalized_shape)``; output the same.
    """

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]
    normalized_shape: tuple[int, ...]
    eps: float | None
    elementwise_affine: bool

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if self.elementwise_affine:
            self.weight = Parameter(_ops.empty(self.normalized_shape, device=device, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x: jax.Array) -> jax.Array:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return "{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}".format(**self.__dict__)

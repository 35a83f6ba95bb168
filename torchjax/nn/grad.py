"""``torchjax.nn.grad``: gradients of a convolution with respect to its input or its weight.

``conv{1,2,3}d_input(input_size, weight, grad_output, ...)`` and
``conv{1,2,3}d_weight(input, weight_size, grad_output, ...)`` as in ``torch.nn.grad``: the
vector-Jacobian product of ``F.conv{n}d`` with ``grad_output``, for the given sizes (which fix
what a strided convolution leaves ambiguous). Batched inputs only, as torch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .functional import conv as _conv
from .parameter import _unwrap

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]

_CONVS = {1: _conv.conv1d, 2: _conv.conv2d, 3: _conv.conv3d}


def _vjp(n: int, wrt: str, fixed, size, grad_output, stride, padding, dilation, groups) -> jax.Array:
    fixed, grad_output = jnp.asarray(_unwrap(fixed)), jnp.asarray(_unwrap(grad_output))
    size = tuple(int(d) for d in size)
    if len(size) != n + 2:
        raise RuntimeError(f"conv{n}d_{wrt}: expected a {n + 2}-d {wrt} size, got {list(size)}")
    conv = _CONVS[n]

    def forward(value):
        if wrt == "input":
            return conv(value, fixed, None, stride, padding, dilation, groups)
        return conv(fixed, value, None, stride, padding, dilation, groups)

    out, pullback = jax.vjp(forward, jnp.zeros(size, grad_output.dtype))
    if out.shape != grad_output.shape:
        raise RuntimeError(
            f"conv{n}d_{wrt}: grad_output has shape {list(grad_output.shape)}, but a convolution with these "
            f"arguments gives {list(out.shape)}"
        )
    return pullback(grad_output.astype(out.dtype))[0]


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1) -> jax.Array:
    """Gradient of ``F.conv1d`` with respect to an input of ``input_size`` ``(N, C_in, L)``."""
    return _vjp(1, "input", weight, input_size, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1) -> jax.Array:
    """Gradient of ``F.conv1d`` with respect to a weight of ``weight_size`` ``(C_out, C_in/groups, k)``."""
    return _vjp(1, "weight", input, weight_size, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1) -> jax.Array:
    """Gradient of ``F.conv2d`` with respect to an input of ``input_size`` ``(N, C_in, H, W)``."""
    return _vjp(2, "input", weight, input_size, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1) -> jax.Array:
    """Gradient of ``F.conv2d`` with respect to a weight of ``weight_size`` ``(C_out, C_in/groups, kH, kW)``."""
    return _vjp(2, "weight", input, weight_size, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1) -> jax.Array:
    """Gradient of ``F.conv3d`` with respect to an input of ``input_size`` ``(N, C_in, D, H, W)``."""
    return _vjp(3, "input", weight, input_size, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1) -> jax.Array:
    """Gradient of ``F.conv3d`` with respect to a weight of ``weight_size`` ``(C_out, C_in/groups, kD, kH, kW)``."""
    return _vjp(3, "weight", input, weight_size, grad_output, stride, padding, dilation, groups)

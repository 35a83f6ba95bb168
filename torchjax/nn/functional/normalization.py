"""Normalization as functions of arrays: ``F.batch_norm``, ``F.instance_norm``, ``F.layer_norm``,
``F.group_norm``, ``F.rms_norm``, ``F.local_response_norm``, ``F.normalize``.

Statistics of float16/bfloat16 inputs are computed in float32 (torch's "opmath" type) and the
output comes back in the input's dtype, as torch does.

torch's ``F.batch_norm`` / ``F.instance_norm`` update ``running_mean`` / ``running_var`` in
place; JAX arrays are immutable, so here the public functions return only the output and the
modules use :func:`_batch_norm` / :func:`_instance_norm`, which also return the updated
statistics for the module to rebind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..._device import scalar_type_name
from ..._ops import canonical_dim
from ..._tensor import Tensor
from ..parameter import _unwrap

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm", "local_response_norm", "normalize", "rms_norm"]

_LOW_PRECISION = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))


def _opmath(dtype) -> jnp.dtype:
    """The dtype torch computes in: float32 for half inputs, the input's own dtype otherwise."""
    return jnp.dtype(jnp.float32) if jnp.dtype(dtype) in _LOW_PRECISION else jnp.dtype(dtype)


def _check_param_dtypes(x: jax.Array, *params) -> None:
    """torch's (CPU) rule, parameters in torch's order: the first one given decides. If its dtype differs
    from the input's ("mixed dtype": a float16/bfloat16 input with float32 parameters), every parameter
    must be float32; otherwise every parameter must have the input's dtype. RuntimeError, torch's words."""
    given = [p.dtype for p in params if p is not None]
    if not given:
        return
    if given[0] != x.dtype:
        if x.dtype in _LOW_PRECISION and all(d == jnp.float32 for d in given):
            return
        raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
    for dtype in given:
        if dtype != x.dtype:
            raise RuntimeError(f"expected scalar type {scalar_type_name(x.dtype)} but found {scalar_type_name(dtype)}")


def _moments(x: jax.Array, axes: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    """Mean and biased variance over ``axes`` (kept), two-pass for accuracy."""
    mean = jnp.mean(x, axis=axes, keepdims=True)
    return mean, jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)


def _verify_batch_size(size: Sequence[int]) -> None:
    if size[0] * math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {_size(size)}")


def _verify_spatial_size(size: Sequence[int]) -> None:
    if math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {_size(size)}")


def _size(size: Sequence[int]) -> str:
    return f"torch.Size({list(size)})" if isinstance(size, tuple) else str(list(size))


def _check_features(name: str, value, expected: int, repeat: int = 1) -> None:
    if value is not None and value.size * repeat != expected:
        raise RuntimeError(f"{name} should contain {expected} elements not {value.size * repeat}")


def _channel_shape(ndim: int, channels: int) -> tuple[int, ...]:
    return (1, channels) + (1,) * (ndim - 2)


def _as_channels(vector, shape):
    return None if vector is None else vector.reshape(shape)


def _running_update(running, momentum, batch_stat, acc):
    """``(1 - momentum) * running + momentum * batch_stat`` in the buffer's dtype (None stays None)."""
    if running is None:
        return None
    new = (1 - momentum) * running.astype(acc) + momentum * lax.stop_gradient(batch_stat)
    return new.astype(running.dtype)


def _normalize_per_channel(x, mean, var, weight, bias, eps, acc):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` as torch's CPU kernel computes it:
    ``x * alpha + beta`` with per-channel ``alpha = weight * invstd``, ``beta = bias - mean * alpha``."""
    alpha = lax.rsqrt(var + eps)
    if weight is not None:
        alpha = alpha * weight.astype(acc)
    beta = -mean * alpha if bias is None else bias.astype(acc) - mean * alpha
    return x * alpha + beta


def _batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
                momentum=0.1, eps: float = 1e-5):
    """:func:`batch_norm` that also returns the updated ``(running_mean, running_var)``.

    They are None unless ``training`` and the corresponding statistic was given. ``momentum`` may
    be an array (BatchNorm's cumulative average, ``1 / num_batches_tracked``, under a trace).
    """
    x = _unwrap(input)
    running_mean, running_var, weight, bias = map(_unwrap, (running_mean, running_var, weight, bias))
    if training:
        _verify_batch_size(x.shape)
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    channels = x.shape[canonical_dim(1, x.ndim)]
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        if value is None and not training:
            raise RuntimeError(f"{name} must be defined in evaluation mode")
        _check_features(name, value, channels)
    _check_features("weight", weight, channels)
    _check_features("bias", bias, channels)
    _check_param_dtypes(x, weight, bias, running_mean, running_var)

    acc = _opmath(x.dtype)
    xs = x.astype(acc)
    shape = _channel_shape(x.ndim, channels)
    if training:
        axes = (0, *range(2, x.ndim))
        mean, var = _moments(xs, axes)
    else:
        mean, var = running_mean.astype(acc).reshape(shape), running_var.astype(acc).reshape(shape)
    out = _normalize_per_channel(xs, mean, var, _as_channels(weight, shape), _as_channels(bias, shape), eps,
                                 acc).astype(x.dtype)
    if not training:
        return out, None, None
    count = x.size // channels
    unbiased = var * (count / (count - 1))  # the running estimate uses the unbiased variance
    return (out, _running_update(running_mean, momentum, mean.reshape(channels), acc),
            _running_update(running_var, momentum, unbiased.reshape(channels), acc))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> jax.Array:
    """Normalize each channel (dim 1) over the batch and spatial dimensions.

    ``y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias``: batch statistics (biased variance)
    when ``training``, ``running_mean`` / ``running_var`` otherwise.

    Shape: input ``(N, C, *)``; running statistics, weight and bias ``(C,)``. In training, Tensor running
    statistics are updated in place, as torch's kernel does (a raw ``jax.Array`` cannot change).
    """
    out, mean, var = _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    _update_running(running_mean, mean, "batch_norm")
    _update_running(running_var, var, "batch_norm")
    return out


batch_norm.tensor_args = ("running_mean", "running_var")  # updated in place


def _update_running(running, new, name: str) -> None:
    if isinstance(running, Tensor) and new is not None:
        running._write(new, name)


def _instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                   use_input_stats: bool = True, momentum=0.1, eps: float = 1e-5):
    """:func:`instance_norm` that also returns the updated ``(running_mean, running_var)``: the
    batch average of what batch_norm would give each instance, as torch computes it."""
    x = _unwrap(input)
    running_mean, running_var, weight, bias = map(_unwrap, (running_mean, running_var, weight, bias))
    if use_input_stats:
        _verify_spatial_size(x.shape)
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    batch, channels = x.shape[0], x.shape[canonical_dim(1, x.ndim)]
    # torch repeats the per-channel vectors over the batch and runs batch_norm on (1, N*C, *).
    for name, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                        ("bias", bias)):
        _check_features(name, value, batch * channels, repeat=batch)
    _check_param_dtypes(x, weight, bias)  # torch does not check the running statistics here

    acc = _opmath(x.dtype)
    xs = x.astype(acc)
    shape = _channel_shape(x.ndim, channels)
    if use_input_stats:
        mean, var = _moments(xs, tuple(range(2, x.ndim)))
    else:
        mean, var = running_mean.astype(acc).reshape(shape), running_var.astype(acc).reshape(shape)
    out = _normalize_per_channel(xs, mean, var, _as_channels(weight, shape), _as_channels(bias, shape), eps,
                                 acc).astype(x.dtype)
    if not use_input_stats:
        return out, None, None
    count = math.prod(x.shape[2:])
    unbiased = var * (count / (count - 1))
    return (out, _running_update(running_mean, momentum, mean.reshape(batch, channels).mean(0), acc),
            _running_update(running_var, momentum, unbiased.reshape(batch, channels).mean(0), acc))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5) -> jax.Array:
    """Normalize each channel of each sample over its spatial dimensions.

    Shape: input ``(N, C, *)``; running statistics, weight and bias ``(C,)``. With
    ``use_input_stats=False`` the running statistics are used instead.
    With ``use_input_stats``, Tensor running statistics are updated in place (see :func:`batch_norm`).
    """
    out, mean, var = _instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)
    _update_running(running_mean, mean, "instance_norm")
    _update_running(running_var, var, "instance_norm")
    return out


instance_norm.tensor_args = ("running_mean", "running_var")  # updated in place


def _check_normalized(x: jax.Array, shape: tuple[int, ...], weight, bias, *, rms: bool) -> tuple[int, ...]:
    """Validate like torch; returns the trailing axes to normalize over."""
    if not shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, "
            f"but got normalized_shape = {list(shape)}"
        )
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                f"{list(value.shape)} and normalized_shape = {list(shape)}"
            )
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        expected = "*" + ", ".join(map(str, shape)) if rms else ", ".join(["*", *map(str, shape)])
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [{expected}], but got input of "
            f"size{list(x.shape)}"
        )
    return tuple(range(x.ndim - len(shape), x.ndim))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> jax.Array:
    """Normalize over the trailing ``normalized_shape`` dimensions, then ``* weight + bias``.

    Shape: input ``(*, *normalized_shape)``; weight and bias ``normalized_shape``.
    """
    if isinstance(normalized_shape, int):
        raise TypeError("layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not int")
    x, weight, bias = _unwrap(input), _unwrap(weight), _unwrap(bias)
    axes = _check_normalized(x, tuple(normalized_shape), weight, bias, rms=False)
    _check_param_dtypes(x, weight, bias)
    acc = _opmath(x.dtype)
    xs = x.astype(acc)
    mean, var = _moments(xs, axes)
    out = (xs - mean) * lax.rsqrt(var + eps)
    if weight is not None:
        out = out * weight.astype(acc)
    if bias is not None:
        out = out + bias.astype(acc)
    return out.astype(x.dtype)


def rms_norm(input, normalized_shape, weight=None, eps: float | None = None) -> jax.Array:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` dimensions.

    ``eps=None`` is the machine epsilon of the computation dtype: float32's for float16/bfloat16
    inputs (torch computes them in float32 and takes that type's epsilon, whatever its docs say).
    """
    if isinstance(normalized_shape, int):
        raise TypeError("rms_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not int")
    x, weight = _unwrap(input), _unwrap(weight)
    axes = _check_normalized(x, tuple(normalized_shape), weight, None, rms=True)
    acc = _opmath(x.dtype)
    eps = float(jnp.finfo(acc).eps) if eps is None else eps
    xs = x.astype(acc)
    out = xs * lax.rsqrt(jnp.mean(jnp.square(xs), axis=axes, keepdims=True) + eps)
    if weight is not None:
        out = out * weight.astype(acc)
    return out.astype(x.dtype)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> jax.Array:
    """Split the channels into ``num_groups`` groups and normalize each group of each sample.

    Shape: input ``(N, C, *)`` with ``C`` divisible by ``num_groups``; weight and bias ``(C,)``.
    """
    x, weight, bias = _unwrap(input), _unwrap(weight), _unwrap(bias)
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {x.ndim}")
    batch, channels = x.shape[:2]
    _verify_batch_size([batch * channels // num_groups, num_groups, *x.shape[2:]])
    if channels % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input of shape "
            f"{list(x.shape)} and num_groups={num_groups}"
        )
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and (value.ndim != 1 or value.size != channels):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in input, but got "
                f"{name} of shape {list(value.shape)} and input of shape {list(x.shape)}"
            )
    _check_param_dtypes(x, weight, bias)
    acc = _opmath(x.dtype)
    grouped = x.astype(acc).reshape(batch, num_groups, -1)
    mean, var = _moments(grouped, (2,))
    out = ((grouped - mean) * lax.rsqrt(var + eps)).reshape(x.shape)
    shape = _channel_shape(x.ndim, channels)
    if weight is not None:
        out = out * weight.astype(acc).reshape(shape)
    if bias is not None:
        out = out + bias.astype(acc).reshape(shape)
    return out.astype(x.dtype)


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> jax.Array:
    """``x / (k + alpha * mean of x^2 over a window of size channels) ** beta`` along dim 1.

    The window around channel ``c`` spans ``c - size // 2 .. c + (size - 1) // 2`` (zero padded,
    always divided by ``size``). Shape: input ``(N, C, *)`` with at least one spatial dimension.
    """
    x = _unwrap(input)
    if x.ndim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality                          input (got {x.ndim} dimensions)"
        )
    if x.size == 0:
        return x
    acc = _opmath(x.dtype)
    xs = x.astype(acc)
    # A NumPy zero, so that reduce_window sees an add monoid (which JAX can differentiate).
    window = (1, size) + (1,) * (x.ndim - 2)
    padding = ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (x.ndim - 2)
    summed = lax.reduce_window(xs * xs, np.zeros((), acc), lax.add, window, (1,) * x.ndim, padding)
    div = (summed / size * alpha + k) ** beta
    return (xs / div).astype(x.dtype)


def _vector_norm(x: jax.Array, p: float, axis: int) -> jax.Array:
    """torch's ``norm(p, dim, keepdim=True)``, with a zero (not NaN) gradient at the zero vector."""
    magnitude = x * jnp.sign(x)  # |x| with torch's subgradient sgn(0) = 0 (jnp.abs takes 1)
    if p == math.inf:
        return jnp.max(magnitude, axis=axis, keepdims=True)
    if p == -math.inf:
        return jnp.min(magnitude, axis=axis, keepdims=True)
    if p == 0:
        return jnp.sum(x != 0, axis=axis, keepdims=True).astype(x.dtype)
    if p == 1:
        return jnp.sum(magnitude, axis=axis, keepdims=True)
    powered = jnp.sum(x * x if p == 2 else magnitude**p, axis=axis, keepdims=True)
    nonzero = powered > 0
    return jnp.where(nonzero, jnp.where(nonzero, powered, 1) ** (1 / p), 0)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> jax.Array:
    """``x / max(||x||_p, eps)`` along ``dim``.

    ``out=`` exists for signature compatibility only: JAX arrays cannot be written into.
    """
    if out is not None:
        raise TypeError("normalize(): out= is not supported (JAX arrays are immutable); use the return value")
    x = _unwrap(input)
    axis = canonical_dim(dim, x.ndim)
    acc = _opmath(x.dtype)
    xs = x.astype(acc)
    norm = _vector_norm(xs, p, axis)
    denom = jnp.where(norm >= eps, norm, eps)  # clamp_min: the gradient passes where norm >= eps, as torch's
    return (xs / denom).astype(x.dtype)


@partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3, 4))
def _cross_map_lrn2d(x, size: int, alpha: float, beta: float, k: float) -> jax.Array:
    return _cross_map_lrn2d_forward(x, size, alpha, beta, k)[0]


def _cross_map_lrn2d_forward(x, size, alpha, beta, k):
    """torch's legacy CrossMapLRN2d, reproduced exactly: its running-sum loop centres the window on
    channel ``c`` but never subtracts channel 0 once the window has passed it."""
    pre_pad = int((size - 1) / 2 + 1)
    channels = x.shape[1]
    square = x * x
    padding = ((0, 0), (pre_pad - 1, pre_pad - 1), (0, 0), (0, 0))
    scale = lax.reduce_window(square, np.zeros((), x.dtype), lax.add, (1, 2 * pre_pad - 1, 1, 1), (1, 1, 1, 1),
                              padding)
    past_first = (jnp.arange(channels) >= pre_pad).reshape(1, channels, 1, 1)
    scale = scale + jnp.where(past_first, square[:, :1], 0)
    scale = scale * (alpha / size) + k
    output = scale ** (-beta) * x
    return output, (x, output, scale)


def _cross_map_lrn2d_fwd(x, size, alpha, beta, k):
    return _cross_map_lrn2d_forward(x, size, alpha, beta, k)


def _cross_map_lrn2d_bwd(size, alpha, beta, k, residuals, grad_output):
    # torch's hand-written backward (it is not the exact gradient of the forward above): the ratio
    # window for channel c is c - pre .. c + size - 1 - pre, with pre = int(size - (size - 1) / 2).
    x, output, scale = residuals
    pre = int(size - (size - 1) / 2)
    ratio = grad_output * output / scale
    accumulated = lax.reduce_window(ratio, np.zeros((), x.dtype), lax.add, (1, size, 1, 1), (1, 1, 1, 1),
                                    ((0, 0), (pre, size - 1 - pre), (0, 0), (0, 0)))
    grad_input = scale ** (-beta) * grad_output - (2 * alpha * beta / size) * x * accumulated
    return (grad_input,)


_cross_map_lrn2d.defvjp(_cross_map_lrn2d_fwd, _cross_map_lrn2d_bwd)

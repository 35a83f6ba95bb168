"""Activations as functions of arrays (``F.relu``, ``F.gelu``, ``F.softmax`` ...).

Piecewise functions are written with ``jnp.where`` on torch's exact conditions, so values *and*
gradients at the kinks (``x == 0``, ``x == min_val`` ...) match torch's, and the unselected branch
is fed a safe value so it cannot turn a gradient into NaN. ``inplace=`` is accepted for porting;
JAX arrays are never modified. For float16/bfloat16 inputs, transcendental activations and
softmax-like reductions compute in float32 (torch's "opmath") and return the input's dtype.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ... import _random
from ..._ops import canonical_dim
from ..._warnings import warn
from ..parameter import _unwrap

__all__ = [
    "celu", "elu", "gelu", "glu", "gumbel_softmax", "hardshrink", "hardsigmoid", "hardswish", "hardtanh",
    "leaky_relu", "log_softmax", "logsigmoid", "mish", "prelu", "relu", "relu6", "rrelu", "selu", "sigmoid", "silu",
    "softmax", "softmin", "softplus", "softshrink", "softsign", "tanh", "tanhshrink", "threshold",
    "celu_", "elu_", "hardtanh_", "leaky_relu_", "relu_", "rrelu_", "selu_", "threshold_",
]

_LOW_PRECISION = (jnp.float16, jnp.bfloat16)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _opmath(dtype) -> jnp.dtype:
    return jnp.dtype(jnp.float32) if dtype in _LOW_PRECISION else jnp.dtype(dtype)


def _in_opmath(fn, x: jax.Array) -> jax.Array:
    """``fn(x)`` computed in float32 for half inputs (as torch's kernels do; ``exp`` of a float16
    overflows at 11), returned in the input's dtype."""
    if x.dtype in _LOW_PRECISION:
        return fn(x.astype(jnp.float32)).astype(x.dtype)
    return fn(x)


def relu(input, inplace: bool = False) -> jax.Array:
    """``max(x, 0)`` (gradient 0 at 0, as torch)."""
    return jax.nn.relu(_unwrap(input))


def _threshold(input, threshold: float, value: float, inplace: bool = False) -> jax.Array:
    """``x`` where ``x > threshold``, else ``value``."""
    x = _unwrap(input)
    return jnp.where(x > threshold, x, jnp.asarray(value, x.dtype))


threshold = _threshold  # as torch: the name is taken by the argument inside the function


def _clamp(x: jax.Array, low: float, high: float) -> jax.Array:
    # jnp.clip splits the gradient at a tie; torch's hardtanh passes none at the bounds.
    return jnp.where(x <= low, jnp.asarray(low, x.dtype), jnp.where(x >= high, jnp.asarray(high, x.dtype), x))


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> jax.Array:
    """``x`` clamped to ``[min_val, max_val]``."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _clamp(_unwrap(input), min_val, max_val)


def relu6(input, inplace: bool = False) -> jax.Array:
    """``min(max(x, 0), 6)``: torch's ``hardtanh(x, 0, 6)``."""
    return _clamp(_unwrap(input), 0.0, 6.0)


def _elu(x: jax.Array, alpha: float, scale: float, input_scale: float) -> jax.Array:
    def fn(v):
        negative = v <= 0
        safe = jnp.where(negative, v, 0)  # keeps expm1 of large positive inputs out of the gradient
        return jnp.where(negative, jnp.expm1(safe * input_scale) * (alpha * scale), v * scale)

    return _in_opmath(fn, x)


def elu(input, alpha: float = 1.0, inplace: bool = False) -> jax.Array:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return _elu(_unwrap(input), alpha, 1.0, 1.0)


def selu(input, inplace: bool = False) -> jax.Array:
    """``scale * elu(x, alpha)`` with the self-normalizing constants."""
    return _elu(_unwrap(input), _SELU_ALPHA, _SELU_SCALE, 1.0)


def celu(input, alpha: float = 1.0, inplace: bool = False) -> jax.Array:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _elu(_unwrap(input), alpha, 1.0, 1.0 / alpha)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> jax.Array:
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    x = _unwrap(input)
    return jnp.where(x > 0, x, x * negative_slope)


def prelu(input, weight) -> jax.Array:
    """``x`` for ``x > 0``, else ``weight * x``; ``weight`` has 1 or ``C`` (dim 1) elements."""
    x, w = _unwrap(input), _unwrap(weight)
    if x.dtype != w.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {_torch_dtype(x.dtype)} and "
                           f"{_torch_dtype(w.dtype)}")
    if w.size != 1:
        if x.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = x.shape[1] if x.ndim > 1 else 1
        if channels != w.size:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter numbers = {w.size} and "
                f"channel size = {channels}."
            )
    if w.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {w.ndim}")
    if x.ndim != w.ndim:
        w = w.reshape((1, w.size) + (1,) * (x.ndim - 2) if x.ndim > 1 else (w.size,) * x.ndim)
    return jnp.where(x > 0, x, w * x)


def _torch_dtype(dtype) -> str:
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16"}
    return names.get(jnp.dtype(dtype).name, jnp.dtype(dtype).name)


def rrelu(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False, *,
          generator=None) -> jax.Array:
    """Randomized leaky ReLU: in training each ``x <= 0`` is scaled by its own slope drawn from
    ``U(lower, upper)`` (the torchjax generator); otherwise the mean slope ``(lower + upper) / 2``."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    x = _unwrap(input)
    if not training:
        return leaky_relu(x, (lower + upper) / 2)
    slope = jax.random.uniform(_random.next_key(generator), x.shape, _opmath(x.dtype), lower, upper)
    return jnp.where(x <= 0, x * slope.astype(x.dtype), x)


def glu(input, dim: int = -1) -> jax.Array:
    """Gated linear unit: split ``dim`` in halves ``a, b``; ``a * sigmoid(b)``."""
    x = _unwrap(input)
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = canonical_dim(dim, x.ndim)
    if x.shape[axis] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size {x.shape[axis]}")
    a, b = jnp.split(x, 2, axis=axis)
    return a * sigmoid(b)


def gelu(input, approximate: str = "none") -> jax.Array:
    """``x * Phi(x)`` (``approximate='tanh'``: the tanh approximation)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _in_opmath(lambda v: jax.nn.gelu(v, approximate=approximate == "tanh"), _unwrap(input))


def logsigmoid(input) -> jax.Array:
    """``log(1 / (1 + exp(-x)))``, computed stably."""
    return _in_opmath(jax.nn.log_sigmoid, _unwrap(input))


def hardshrink(input, lambd: float = 0.5) -> jax.Array:
    """``0`` for ``|x| <= lambd``, else ``x``."""
    x = _unwrap(input)
    return jnp.where((x >= -lambd) & (x <= lambd), jnp.zeros((), x.dtype), x)


def softshrink(input, lambd: float = 0.5) -> jax.Array:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else ``0``."""
    x = _unwrap(input)
    if lambd < 0:
        raise RuntimeError(f"lambda must be in range [0, {float(jnp.finfo(x.dtype).max):g}] for input dtype "
                           f"{_torch_dtype(x.dtype)}, but found {lambd}")
    return jnp.where(x > lambd, x - lambd, jnp.where(x < -lambd, x + lambd, jnp.zeros((), x.dtype)))


def tanhshrink(input) -> jax.Array:
    """``x - tanh(x)``."""
    x = _unwrap(input)
    return x - jnp.tanh(x)


def softsign(input) -> jax.Array:
    """``x / (1 + |x|)``."""
    x = _unwrap(input)
    return x / (jnp.abs(x) + 1)


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> jax.Array:
    """``log(1 + exp(beta * x)) / beta``; linear (``x``) where ``beta * x > threshold``."""
    def fn(v):
        linear = v * beta > threshold
        safe = jnp.where(linear, 0, v)
        return jnp.where(linear, v, jnp.log1p(jnp.exp(safe * beta)) / beta)

    return _in_opmath(fn, _unwrap(input))


def tanh(input) -> jax.Array:
    return _in_opmath(jnp.tanh, _unwrap(input))


def sigmoid(input) -> jax.Array:
    return _in_opmath(jax.nn.sigmoid, _unwrap(input))


def hardsigmoid(input, inplace: bool = False) -> jax.Array:
    """``0`` for ``x <= -3``, ``1`` for ``x >= 3``, else ``x / 6 + 1 / 2``."""
    x = _unwrap(input)
    inside = (x > -3) & (x < 3)
    return jnp.where(inside, x / 6 + 0.5, jnp.where(x <= -3, jnp.zeros((), x.dtype), jnp.ones((), x.dtype)))


def hardswish(input, inplace: bool = False) -> jax.Array:
    """``x * hardsigmoid(x)``: ``0`` up to -3, ``x`` from 3, ``x (x + 3) / 6`` between."""
    x = _unwrap(input)
    return jnp.where(x <= -3, jnp.zeros((), x.dtype), jnp.where(x < 3, x * (x + 3) / 6, x))


def silu(input, inplace: bool = False) -> jax.Array:
    """``x * sigmoid(x)``."""
    return _in_opmath(jax.nn.silu, _unwrap(input))


def mish(input, inplace: bool = False) -> jax.Array:
    """``x * tanh(softplus(x))``."""
    return _in_opmath(lambda v: v * jnp.tanh(jax.nn.softplus(v)), _unwrap(input))


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument."
    )
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_like(fn, name: str, input, dim, dtype, stacklevel: int = 4, negate: bool = False):
    x = _unwrap(input)
    if dtype is not None:
        x = x.astype(dtype)
    if negate:
        x = -x
    dim = _softmax_dim(name, x.ndim, stacklevel) if dim is None else canonical_dim(dim, x.ndim)
    if x.ndim == 0:
        return fn(x.reshape(1), axis=0).reshape(())
    # Accumulate in float32 for half inputs, as torch does, then return the input's dtype.
    if x.dtype in _LOW_PRECISION:
        return fn(x.astype(jnp.float32), axis=dim).astype(x.dtype)
    return fn(x, axis=dim)


def softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> jax.Array:
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``."""
    return _softmax_like(jax.nn.softmax, "softmax", input, dim, dtype)


def softmin(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> jax.Array:
    """``softmax(-x)`` along ``dim``."""
    return _softmax_like(jax.nn.softmax, "softmin", input, dim, dtype, negate=True)


def log_softmax(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> jax.Array:
    """``x_i - log(sum_j exp(x_j))`` along ``dim``, computed stably."""
    return _softmax_like(jax.nn.log_softmax, "log_softmax", input, dim, dtype)


def gumbel_softmax(logits, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1, *,
                   generator=None) -> jax.Array:
    """Sample from the Gumbel-softmax distribution: ``softmax((logits + g) / tau)`` with Gumbel
    noise ``g`` from the torchjax generator. ``hard``: the one-hot argmax in the forward pass with
    the soft sample's gradient (straight-through)."""
    if eps != 1e-10:
        warn("`eps` parameter is deprecated and has no effect.")
    x = _unwrap(logits)
    gumbels = jax.random.gumbel(_random.next_key(generator), x.shape, _opmath(x.dtype)).astype(x.dtype)
    y_soft = _softmax_like(jax.nn.softmax, "softmax", (x + gumbels) / tau, dim, None)
    if not hard:
        return y_soft
    axis = canonical_dim(dim, x.ndim)
    index = jnp.argmax(y_soft, axis=axis, keepdims=True)
    y_hard = (lax.broadcasted_iota(jnp.int32, x.shape, axis) == index).astype(x.dtype)
    return y_hard - lax.stop_gradient(y_soft) + y_soft


# torch's in-place variants. JAX arrays cannot be modified, so each returns its result like the
# out-of-place form: write ``x = F.relu_(x)``; a bare ``F.relu_(x)`` leaves ``x`` unchanged.
def relu_(input) -> jax.Array:
    """:func:`relu`, returning the result (see the note above)."""
    return relu(input)


def threshold_(input, threshold: float, value: float) -> jax.Array:
    """:func:`threshold`, returning the result."""
    return _threshold(input, threshold, value)


def hardtanh_(input, min_val: float = -1.0, max_val: float = 1.0) -> jax.Array:
    """:func:`hardtanh`, returning the result."""
    return hardtanh(input, min_val, max_val)


def elu_(input, alpha: float = 1.0) -> jax.Array:
    """:func:`elu`, returning the result."""
    return elu(input, alpha)


def selu_(input) -> jax.Array:
    """:func:`selu`, returning the result."""
    return selu(input)


def celu_(input, alpha: float = 1.0) -> jax.Array:
    """:func:`celu`, returning the result."""
    return celu(input, alpha)


def leaky_relu_(input, negative_slope: float = 0.01) -> jax.Array:
    """:func:`leaky_relu`, returning the result."""
    return leaky_relu(input, negative_slope)


def rrelu_(input, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, *,
           generator=None) -> jax.Array:
    """:func:`rrelu`, returning the result."""
    return rrelu(input, lower, upper, training, generator=generator)

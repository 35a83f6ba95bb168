r"""Parameter initialisation: the ``torch.nn.init`` API over JAX arrays.

Every function takes either

* a :class:`~torchjax.Tensor` (a :class:`~torchjax.nn.parameter.Parameter` included): the result is
  written in place (its array is rebound to a new one of the same shape, dtype and placement; through a
  view, into its base) and the same object is returned, so ``nn.init.zeros_(layer.bias)`` works exactly
  as in torch; or
* a plain jax / NumPy array: JAX arrays are immutable, so the input is left untouched and a **new**
  ``jax.Array`` holding the result is returned. Use the return value: ``w = init.normal_(w)``.

Random draws take a key from ``generator`` (a :class:`torchjax._random.Generator`) or from the
default generator seeded by ``torchjax.manual_seed``. float16 / bfloat16 arrays are drawn in float32
and cast; complex arrays follow torch (each component drawn separately, a complex normal has
variance ``std**2`` split evenly between the real and imaginary parts). torchjax's random streams
are JAX's, so values never equal torch's for the same seed; the distributions do.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from functools import partial
from typing import Literal, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np

from .. import _random
from .._tensor import Tensor
from .._torch import random as _draws
from .parameter import _UNINITIALIZED_MSG, Parameter, _as_array, _unwrap, is_lazy

# Sorted; the names without a trailing underscore are torch's deprecated aliases.
__all__ = [
    "calculate_gain",
    "constant",
    "constant_",
    "dirac",
    "dirac_",
    "eye",
    "eye_",
    "kaiming_normal",
    "kaiming_normal_",
    "kaiming_uniform",
    "kaiming_uniform_",
    "normal",
    "normal_",
    "ones_",
    "orthogonal",
    "orthogonal_",
    "sparse",
    "sparse_",
    "trunc_normal_",
    "uniform",
    "uniform_",
    "xavier_normal",
    "xavier_normal_",
    "xavier_uniform",
    "xavier_uniform_",
    "zeros_",
]

_Tensor: TypeAlias = Parameter | jax.Array | np.ndarray
_Result: TypeAlias = Parameter | jax.Array
_NonlinearityType: TypeAlias = Literal[
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu",
]
_FanMode: TypeAlias = Literal["fan_in", "fan_out"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d")
_LOW_PRECISION = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))


# --- internal helpers ------------------------------------------------------------------------
def _array(tensor: _Tensor, fn: str) -> jax.Array:
    """The current value of ``tensor`` as a jax.Array (refusing lazy, shape-less parameters)."""
    if is_lazy(tensor):
        raise ValueError(_UNINITIALIZED_MSG.format(f"torchjax.nn.init.{fn}"))
    return _as_array(tensor)


def _store(tensor: _Tensor, arr: jax.Array, value: jax.Array) -> _Result:
    """Write ``value`` into ``tensor``, whose current value is ``arr``.

    The value is cast to ``arr``'s dtype. A Parameter has its ``.data`` rebound (placed where the
    old value was, for a concrete array committed to a device or sharding) and is returned; for a
    plain array the new array is returned.
    """
    value = jnp.asarray(value, dtype=arr.dtype)
    if not isinstance(tensor, Tensor):
        return value
    tensor._write(value)  # in place (through a view too), placed where the old value was
    return tensor


def _compute_dtype(dtype: np.dtype, fn: str, complex_ok: bool = True) -> np.dtype:
    """The dtype to draw random values for an array of ``dtype`` in: float32 for half types.

    Refuses the dtypes torch cannot sample (integers, bool; complex where torch refuses it too).
    """
    if jnp.issubdtype(dtype, jnp.floating):
        return np.dtype(jnp.float32) if dtype in _LOW_PRECISION else dtype
    if complex_ok and jnp.issubdtype(dtype, jnp.complexfloating):
        return dtype
    raise NotImplementedError(
        f"torchjax.nn.init.{fn}: random initialisation is not implemented for {dtype} arrays "
        f"(it needs a floating-point{' or complex' if complex_ok else ''} dtype)"
    )


# The kernels below run jitted with static shape and compute dtype: one compiled program per
# shape instead of one per primitive (eager dispatch compiles each op separately), shared by all
# parameters of that shape whatever their (half) dtype. They return values in the compute dtype;
# ``_store`` casts them to the parameter's dtype.
_kernel = partial(jax.jit, static_argnames=("shape", "dtype"))


def _sample(sample: Callable, key: jax.Array, shape: tuple[int, ...], dtype: np.dtype) -> jax.Array:
    """``sample(key, shape, real_dtype)``; complex dtypes draw real and imaginary parts separately."""
    if jnp.issubdtype(dtype, jnp.complexfloating):
        parts = sample(key, (*shape, 2), np.dtype(jnp.finfo(dtype).dtype))
        return jax.lax.complex(parts[..., 0], parts[..., 1])
    return sample(key, shape, dtype)


def _normal_sample(key, mean, std, shape, dtype):
    if jnp.issubdtype(dtype, jnp.complexfloating):
        std = std / math.sqrt(2.0)  # torch: the variance std**2 is split over the two components
    return _sample(lambda k, s, d: mean + std * jax.random.normal(k, s, d), key, shape, dtype)


@_kernel
def _trunc_normal_kernel(key, mean, std, a, b, *, shape, dtype):
    lower, upper = (a - mean) / std, (b - mean) / std
    z = jax.random.truncated_normal(key, lower.astype(dtype), upper.astype(dtype), shape, dtype)
    # The clip only guards against rounding in mean + std * z; a later cast to a half type rounds
    # monotonically, so values stay within a and b as rounded to that type (as torch's do).
    return jnp.clip(mean + std * z, a, b).astype(dtype)


@_kernel
def _orthogonal_kernel(key, gain, *, shape, dtype):
    rows = shape[0]
    cols = math.prod(shape) // rows
    transpose = rows < cols
    flat = _normal_sample(key, 0.0, 1.0, (cols, rows) if transpose else (rows, cols), dtype)
    q, r = jnp.linalg.qr(flat)
    q = q * jnp.sign(jnp.diagonal(r))  # makes Q Haar-distributed (Mezzadri, math-ph/0609050)
    if transpose:
        q = q.T
    return (gain * q).reshape(shape)


@_kernel
def _sparse_kernel(key, std, num_zeros, *, shape, dtype):
    rows, cols = shape
    value_key, *perm_keys = jax.random.split(key, 3)
    values = _normal_sample(value_key, 0.0, std, shape, dtype)
    # An independent random permutation of the rows for every column, built as
    # jax.random.permutation builds one: sort by random 32-bit keys, twice, so that ties (which
    # would favour low rows) are negligible. perm[i, c] is the row at position i for column c.
    perm = jnp.broadcast_to(jnp.arange(rows)[:, None], shape)
    for perm_key in perm_keys:
        bits = jax.random.bits(perm_key, shape, jnp.uint32)
        _, perm = jax.lax.sort((bits, perm), dimension=0, num_keys=1)
    # Zero the rows at the first num_zeros positions of each column's permutation.
    zeroed = jnp.broadcast_to(jnp.arange(rows)[:, None] < num_zeros, shape)
    mask = jnp.zeros(shape, bool).at[perm, jnp.arange(cols)[None, :]].set(zeroed)
    return jnp.where(mask, jnp.zeros((), values.dtype), values)


def _num(x):
    """Python / NumPy scalars as float: kernels then compile once, not per int/float argument mix."""
    return float(x) if isinstance(x, int | float | np.number) else x


# Uniform and normal draws are Tensor.uniform_'s and Tensor.normal_'s (torchjax._torch.random): eager draws
# run NumPy's Philox on the host, seeded from the generator's key, so building a module compiles no XLA
# program per weight shape; traced keys draw with jax.random.
def _uniform(arr: jax.Array, a: float, b: float, generator, fn: str):
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")
    return _draws._uniform(arr.shape, _compute_dtype(arr.dtype, fn), generator, a, b)


def _normal(arr: jax.Array, mean: float, std: float, generator, fn: str):
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    return _draws._normal(arr.shape, _compute_dtype(arr.dtype, fn), generator, mean, std)


def _shape(tensor: _Tensor) -> tuple[int, ...]:
    return tuple(np.shape(tensor))


# --- gains and fans ------------------------------------------------------------------------
def calculate_gain(nonlinearity: _NonlinearityType, param: float | None = None) -> float:
    r"""The recommended gain for a nonlinearity (the scale of ``xavier_*`` / ``kaiming_*``).

    ================= ====================================================
    nonlinearity      gain
    ================= ====================================================
    linear / conv*    :math:`1`
    sigmoid           :math:`1`
    tanh              :math:`5/3`
    relu              :math:`\sqrt{2}`
    leaky_relu        :math:`\sqrt{2 / (1 + \text{negative\_slope}^2)}` (slope ``param``, default 0.01)
    selu              :math:`3/4`
    ================= ====================================================

    Raises ValueError for an unknown name or a non-numeric ``param`` (bools are refused).
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (isinstance(param, int) and not isinstance(param, bool)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4  # found empirically (pytorch/pytorch#50664)
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: _Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` for a weight of shape ``(out, in, *kernel)``.

    ``fan_in = in * prod(kernel)``, ``fan_out = out * prod(kernel)``.
    """
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field_size = math.prod(shape[2:])
    return shape[1] * receptive_field_size, shape[0] * receptive_field_size


def _calculate_correct_fan(tensor: _Tensor, mode: _FanMode) -> int:
    """``fan_in`` or ``fan_out`` of ``tensor`` according to ``mode`` (case-insensitive)."""
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# --- simple distributions -----------------------------------------------------------------
def uniform_(
    tensor: _Tensor, a: float = 0.0, b: float = 1.0, generator: _random.Generator | None = None
) -> _Result:
    r"""Fill ``tensor`` with values drawn from :math:`\mathcal{U}(a, b)`.

    Differs from torch: a plain (immutable) array input is returned as a new array.
    """
    arr = _array(tensor, "uniform_")
    return _store(tensor, arr, _uniform(arr, a, b, generator, "uniform_"))


def normal_(
    tensor: _Tensor, mean: float = 0.0, std: float = 1.0, generator: _random.Generator | None = None
) -> _Result:
    r"""Fill ``tensor`` with values drawn from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`.

    Differs from torch: a plain (immutable) array input is returned as a new array.
    """
    arr = _array(tensor, "normal_")
    return _store(tensor, arr, _normal(arr, mean, std, generator, "normal_"))


def trunc_normal_(
    tensor: _Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: _random.Generator | None = None,
) -> _Result:
    r"""Fill ``tensor`` from :math:`\mathcal{N}(\text{mean}, \text{std}^2)` truncated to :math:`[a, b]`.

    Samples :math:`z` from the standard normal truncated to
    :math:`[(a - \text{mean}) / \text{std}, (b - \text{mean}) / \text{std}]` (inverse-CDF method,
    ``jax.random.truncated_normal``) and returns :math:`\text{mean} + \text{std} \cdot z`, clipped to
    :math:`[a, b]` against rounding. Warns, as torch does, when ``mean`` is more than 2 std outside
    :math:`[a, b]`.

    Differs from torch: inverse-CDF sampling instead of rejection sampling (same distribution, but
    coarser in float32 far out in the tails); a plain array input is returned as a new array.
    """
    arr = _array(tensor, "trunc_normal_")
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")
    # torch's rejection sampler only ever sees std squared, so a negative std acts as |std|.
    scale = abs(std)
    if scale == 0:
        raise ZeroDivisionError("float division by zero")  # torch fails standardising the bounds
    dtype = _compute_dtype(arr.dtype, "trunc_normal_", complex_ok=False)
    args = (_num(mean), _num(scale), _num(a), _num(b))
    value = _trunc_normal_kernel(_random.next_key(generator), *args, shape=arr.shape, dtype=dtype)
    return _store(tensor, arr, value)


def constant_(tensor: _Tensor, val: float) -> _Result:
    r"""Fill ``tensor`` with the value :math:`\text{val}`.

    Differs from torch: a plain (immutable) array input is returned as a new array.
    """
    arr = _array(tensor, "constant_")
    return _store(tensor, arr, jnp.full(arr.shape, _unwrap(val), arr.dtype))


def ones_(tensor: _Tensor) -> _Result:
    """Fill ``tensor`` with the scalar value 1 (a plain array input is returned as a new array)."""
    arr = _array(tensor, "ones_")
    return _store(tensor, arr, jnp.ones(arr.shape, arr.dtype))


def zeros_(tensor: _Tensor) -> _Result:
    """Fill ``tensor`` with the scalar value 0 (a plain array input is returned as a new array)."""
    arr = _array(tensor, "zeros_")
    return _store(tensor, arr, jnp.zeros(arr.shape, arr.dtype))


# --- structured matrices ------------------------------------------------------------------
def eye_(tensor: _Tensor) -> _Result:
    r"""Fill the 2-dimensional ``tensor`` with the identity matrix: :math:`W_{ij} = [i = j]`.

    Preserves the identity of the inputs in ``Linear`` layers, as many inputs as possible.
    Differs from torch: a plain (immutable) array input is returned as a new array.
    """
    arr = _array(tensor, "eye_")
    if arr.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _store(tensor, arr, jnp.eye(*arr.shape, dtype=arr.dtype))


def dirac_(tensor: _Tensor, groups: int = 1) -> _Result:
    r"""Fill the {3, 4, 5}-dimensional ``tensor`` with the Dirac delta function.

    With ``n = size(0) // groups`` output channels per group,
    :math:`W[g n + d, d, c_2, c_3, \ldots] = 1` for every group ``g`` and every
    :math:`d < \min(n, \text{size}(1))`, where :math:`c_k = \text{size}(k) // 2` is the kernel
    centre, and 0 elsewhere: a convolution that preserves as many input channels as possible
    (per group).

    Differs from torch: a plain (immutable) array input is returned as a new array.
    """
    arr = _array(tensor, "dirac_")
    sizes = tuple(arr.shape)
    if len(sizes) not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    min_dim = max(min(out_per_group, sizes[1]), 0)
    n_groups = max(groups, 0)
    if min_dim and n_groups:
        for dim in range(2, len(sizes)):
            if sizes[dim] == 0:
                raise IndexError(f"index 0 is out of bounds for dimension {dim} with size 0")
    out_idx = (np.arange(n_groups)[:, None] * out_per_group + np.arange(min_dim)[None, :]).ravel()
    in_idx = np.tile(np.arange(min_dim), n_groups)
    centres = tuple(s // 2 for s in sizes[2:])
    value = jnp.zeros(sizes, arr.dtype).at[(out_idx, in_idx, *centres)].set(1)
    return _store(tensor, arr, value)


# --- scaled initialisations ---------------------------------------------------------------
def xavier_uniform_(
    tensor: _Tensor, gain: float = 1.0, generator: _random.Generator | None = None
) -> _Result:
    r"""Glorot / Xavier uniform: values from :math:`\mathcal{U}(-a, a)` with

    .. math::
        a = \text{gain} \times \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}

    (Glorot & Bengio, 2010). Differs from torch: a plain array input is returned as a new array.
    """
    arr = _array(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(arr)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return _store(tensor, arr, _uniform(arr, -bound, bound, generator, "xavier_uniform_"))


def xavier_normal_(
    tensor: _Tensor, gain: float = 1.0, generator: _random.Generator | None = None
) -> _Result:
    r"""Glorot / Xavier normal: values from :math:`\mathcal{N}(0, \text{std}^2)` with

    .. math::
        \text{std} = \text{gain} \times \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}

    (Glorot & Bengio, 2010). Differs from torch: a plain array input is returned as a new array.
    """
    arr = _array(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(arr)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _store(tensor, arr, _normal(arr, 0.0, std, generator, "xavier_normal_"))


def _kaiming_std(arr: jax.Array, a: float, mode: str, nonlinearity: str) -> float:
    fan = _calculate_correct_fan(arr, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: _Tensor,
    a: float = 0,
    mode: _FanMode = "fan_in",
    nonlinearity: _NonlinearityType = "leaky_relu",
    generator: _random.Generator | None = None,
) -> _Result:
    r"""He / Kaiming uniform: values from :math:`\mathcal{U}(-\text{bound}, \text{bound})` with

    .. math::
        \text{bound} = \text{gain} \times \sqrt{\frac{3}{\text{fan\_mode}}}

    where ``gain = calculate_gain(nonlinearity, a)`` (``a``: the negative slope of a leaky ReLU)
    and ``fan_mode`` is ``fan_in`` (keeps forward variance) or ``fan_out`` (backward variance) of
    a weight used as ``x @ w.T``. A zero-element tensor warns and is left as it is.
    Differs from torch: a plain array input is returned as a new array.
    """
    arr = _array(tensor, "kaiming_uniform_")
    if 0 in arr.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return _store(tensor, arr, arr)
    bound = math.sqrt(3.0) * _kaiming_std(arr, a, mode, nonlinearity)
    return _store(tensor, arr, _uniform(arr, -bound, bound, generator, "kaiming_uniform_"))


def kaiming_normal_(
    tensor: _Tensor,
    a: float = 0,
    mode: _FanMode = "fan_in",
    nonlinearity: _NonlinearityType = "leaky_relu",
    generator: _random.Generator | None = None,
) -> _Result:
    r"""He / Kaiming normal: values from :math:`\mathcal{N}(0, \text{std}^2)` with

    .. math::
        \text{std} = \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}

    with ``gain`` and ``fan_mode`` as in :func:`kaiming_uniform_`. A zero-element tensor warns and
    is left as it is. Differs from torch: a plain array input is returned as a new array.
    """
    arr = _array(tensor, "kaiming_normal_")
    if 0 in arr.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return _store(tensor, arr, arr)
    std = _kaiming_std(arr, a, mode, nonlinearity)
    return _store(tensor, arr, _normal(arr, 0.0, std, generator, "kaiming_normal_"))


def orthogonal_(
    tensor: _Tensor, gain: float = 1, generator: _random.Generator | None = None
) -> _Result:
    r"""Fill ``tensor`` with a (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2013).

    The tensor is viewed as ``(rows, cols) = (size(0), numel // size(0))``. A standard normal
    matrix of that shape (transposed when ``rows < cols``) is QR-factorised and
    :math:`Q \operatorname{diag}(\operatorname{sign}(\operatorname{diag} R))` (transposed back) is
    used, which makes :math:`Q` Haar-distributed. Hence :math:`W W^T = \text{gain}^2 I` when
    ``rows <= cols`` and :math:`W^T W = \text{gain}^2 I` otherwise.

    Differs from torch: float16 / bfloat16 work (QR in float32; torch's CPU QR refuses them); a
    plain array input is returned as a new array.
    """
    arr = _array(tensor, "orthogonal_")
    if arr.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if arr.size == 0:
        return _store(tensor, arr, arr)
    dtype = _compute_dtype(arr.dtype, "orthogonal_")
    value = _orthogonal_kernel(_random.next_key(generator), _num(gain), shape=arr.shape, dtype=dtype)
    return _store(tensor, arr, value)


def sparse_(
    tensor: _Tensor, sparsity: float, std: float = 0.01, generator: _random.Generator | None = None
) -> _Result:
    r"""Fill the 2-D ``tensor`` as a sparse matrix (Martens, 2010).

    Values are drawn from :math:`\mathcal{N}(0, \text{std}^2)`, then in every column
    :math:`\lceil \text{sparsity} \cdot \text{rows} \rceil` rows, chosen uniformly at random
    (an independent permutation per column), are set to zero.

    Differs from torch: the choice of zeroed rows also uses ``generator`` (torch's ``randperm``
    there ignores it); a plain array input is returned as a new array.
    """
    arr = _array(tensor, "sparse_")
    if arr.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows = arr.shape[0]
    # torch slices a permutation with [:ceil(sparsity * rows)]; mirror Python's slice rules.
    num_zeros = len(range(rows)[: math.ceil(sparsity * rows)])
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    dtype = _compute_dtype(arr.dtype, "sparse_")
    key = _random.next_key(generator)
    value = _sparse_kernel(key, _num(std), num_zeros, shape=arr.shape, dtype=dtype)
    return _store(tensor, arr, value)


# --- deprecated aliases -------------------------------------------------------------------
def _deprecated(fn: Callable[..., _Result]) -> Callable[..., _Result]:
    new_name = fn.__name__
    old_name = new_name.removesuffix("_")

    def alias(*args, **kwargs) -> _Result:
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return fn(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old_name
    alias.__doc__ = f"Deprecated alias of :func:`{new_name}` (warns FutureWarning)."
    return alias


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)

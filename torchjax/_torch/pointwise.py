"""torch's pointwise functions: unary math, arithmetic, comparisons, logical and bitwise ops,
``clamp``/``where``/``masked_fill``, ``isclose``/``allclose``/``equal``, ``softmax``/``log_softmax``, and number
theory and special functions (``gcd``, ``lcm``, ``ldexp``, ``frexp``, ``nextafter``, ``igamma``, ``polygamma``, ...).

Each op is declared once with ``op`` (function, Tensor method, in-place method where torch has one)
with torch._refs' promotion kind. Half inputs of the transcendental unary ops are computed in float32,
as torch's CPU kernels do, and rounded once to the half result.
"""

from __future__ import annotations

import builtins
import functools
import warnings

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np

from .. import _promotion
from .._device import as_dtype, check_dtype_supported
from .._promotion import Kind
from .._tensor import _dtype_name, canonical_dim, op, return_type

_HALF = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))
_F32 = np.dtype(np.float32)
_CATEGORY_LETTER = "bifc"  # _promotion.category: 0 bool, 1 integer, 2 floating, 3 complex


def _category(x) -> str:
    """b, i, f or c: the category of an array's dtype (or of a dtype)."""
    return _CATEGORY_LETTER[_promotion.category(getattr(x, "dtype", x))]


def _kernel_check(name: str, x, reject: str) -> None:
    """torch's NotImplementedError for a dtype its kernel lacks (``x``: an array or a dtype; ``reject``: letters
    of ``bifc``)."""
    if _category(x) in reject:
        raise NotImplementedError(f'"{name}" not implemented for \'{_dtype_name(getattr(x, "dtype", x))}\'')


def _tensors_only(name: str, **operands) -> None:
    """torch's TypeError for a Python number where its signature takes only a Tensor."""
    for arg, value in operands.items():
        if _promotion.is_scalar(value):
            raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(value).__name__}")


def _opmath(x):
    """``x`` in float32 when it is half (the op casts the result back to the half result dtype)."""
    return x.astype(_F32) if x.dtype in _HALF else x


# --- unary ----------------------------------------------------------------------------------------
def _unary(name: str, fn, kind: Kind, *, reject: str = "", aliases=(), inplace: bool = True,
           opmath: bool = False, doc: str = ""):
    def array_fn(input):
        _kernel_check(name, input, reject)
        return fn(_opmath(input) if opmath else input)

    array_fn.__name__ = name
    array_fn.__doc__ = doc or f"``torch.{name}``, elementwise."
    return op(name, promote=kind, args=("input",), inplace=inplace, aliases=aliases)(array_fn)


def _neg(x):
    if x.dtype == np.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")
    return jnp.negative(x)


def _positive(x):
    if x.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return x


def _sign(x):
    if _category(x) == "c":
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
                                  "torch.sgn instead.")
    if x.dtype == np.bool_:
        return x
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)  # torch: sign(NaN) is 0


def _sgn(x):
    if _category(x) != "c":
        return _sign(x)
    magnitude = jnp.abs(x)
    return jnp.where(magnitude == 0, 0, x / jnp.where(magnitude == 0, 1, magnitude))


def _signbit(x):
    category = _category(x)
    if category == "c":
        raise NotImplementedError("signbit is not implemented for complex tensors.")
    if category == "f":
        return jnp.signbit(x)
    return x < 0


def _no_complex(name: str, fn, error=RuntimeError):
    def run(x):
        if _category(x) == "c":
            raise error(f"{name} is not supported for complex tensors.")
        return fn(x)
    return run


def _integral_identity(fn):
    # floor/ceil/trunc/round of an integer tensor is the tensor itself (torch returns a copy).
    return lambda x: x if _category(x) == "i" else fn(x)


def _digamma(x):
    # torch: digamma(+-0) = -+inf (JAX gives nan there).
    return jnp.where(x == 0, jnp.copysign(jnp.inf, -x).astype(x.dtype), jsp.digamma(x))


def _isreal(x):
    return jnp.imag(x) == 0 if _category(x) == "c" else jnp.ones(x.shape, np.bool_)


def _relu(x):
    if x.dtype == np.bool_:
        raise RuntimeError("Boolean inputs not supported for relu")
    if _category(x) == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    return jax.nn.relu(x)


def _bitwise_not(x):
    _kernel_check("bitwise_not_cpu", x, "fc")
    return jnp.invert(x)


_I2F, _DEFAULT, _BOOL = Kind.INT_TO_FLOAT, Kind.DEFAULT, Kind.ALWAYS_BOOL
abs = _unary("abs", jnp.abs, Kind.COMPLEX_TO_FLOAT, reject="b", aliases=("absolute",))
neg = _unary("neg", _neg, _DEFAULT, aliases=("negative",))
positive = _unary("positive", _positive, _DEFAULT, inplace=False)
sign = _unary("sign", _sign, _DEFAULT)
sgn = _unary("sgn", _sgn, _DEFAULT)
signbit = _unary("signbit", _signbit, _BOOL, inplace=False)
exp = _unary("exp", jnp.exp, _I2F, opmath=True)
exp2 = _unary("exp2", jnp.exp2, _I2F, opmath=True)
expm1 = _unary("expm1", jnp.expm1, _I2F, opmath=True)
log = _unary("log", jnp.log, _I2F, opmath=True)
log2 = _unary("log2", jnp.log2, _I2F, opmath=True)
log10 = _unary("log10", jnp.log10, _I2F, opmath=True)
log1p = _unary("log1p", jnp.log1p, _I2F, opmath=True)
sqrt = _unary("sqrt", jnp.sqrt, _I2F, opmath=True)
rsqrt = _unary("rsqrt", jax.lax.rsqrt, _I2F, opmath=True)
square = _unary("square", jnp.square, Kind.BOOL_TO_LONG)
reciprocal = _unary("reciprocal", jnp.reciprocal, _I2F, opmath=True)
sin = _unary("sin", jnp.sin, _I2F, opmath=True)
cos = _unary("cos", jnp.cos, _I2F, opmath=True)
tan = _unary("tan", jnp.tan, _I2F, opmath=True)
asin = _unary("asin", jnp.arcsin, _I2F, opmath=True, aliases=("arcsin",))
acos = _unary("acos", jnp.arccos, _I2F, opmath=True, aliases=("arccos",))
atan = _unary("atan", jnp.arctan, _I2F, opmath=True, aliases=("arctan",))
sinh = _unary("sinh", jnp.sinh, _I2F, opmath=True)
cosh = _unary("cosh", jnp.cosh, _I2F, opmath=True)
tanh = _unary("tanh", jnp.tanh, _I2F, opmath=True)
asinh = _unary("asinh", jnp.arcsinh, _I2F, opmath=True, aliases=("arcsinh",))
acosh = _unary("acosh", jnp.arccosh, _I2F, opmath=True, aliases=("arccosh",))
atanh = _unary("atanh", jnp.arctanh, _I2F, opmath=True, aliases=("arctanh",))
sigmoid = _unary("sigmoid", jax.nn.sigmoid, _I2F, opmath=True)
erf = _unary("erf", jsp.erf, _I2F, reject="c", opmath=True)
erfc = _unary("erfc", jsp.erfc, _I2F, reject="c", opmath=True)
erfinv = _unary("erfinv", jsp.erfinv, _I2F, reject="c", opmath=True)
lgamma = _unary("lgamma", jax.lax.lgamma, _I2F, reject="c", opmath=True)
digamma = _unary("digamma", _digamma, _I2F, reject="c", opmath=True)
i0 = _unary("i0", jsp.i0, _I2F, reject="c", opmath=True)
sinc = _unary("sinc", jnp.sinc, _I2F, opmath=True, doc="``sin(pi x) / (pi x)``, 1 at 0.")
floor = _unary("floor", _integral_identity(jnp.floor), _DEFAULT, reject="bc")
ceil = _unary("ceil", _integral_identity(jnp.ceil), _DEFAULT, reject="bc")
trunc = _unary("trunc", _integral_identity(jnp.trunc), _DEFAULT, reject="bc", aliases=("fix",))
frac = _unary("frac", lambda x: x - jnp.trunc(x), _DEFAULT, reject="bic", doc="``x - trunc(x)``.")
deg2rad = _unary("deg2rad", _no_complex("deg2rad", jnp.deg2rad), _I2F)
rad2deg = _unary("rad2deg", _no_complex("rad2deg", jnp.rad2deg), _I2F)
isnan = _unary("isnan", jnp.isnan, _BOOL, inplace=False)
isinf = _unary("isinf", jnp.isinf, _BOOL, inplace=False)
isfinite = _unary("isfinite", jnp.isfinite, _BOOL, inplace=False)
isposinf = _unary("isposinf", _no_complex("isposinf", jnp.isposinf), _BOOL, inplace=False)
isneginf = _unary("isneginf", _no_complex("isneginf", jnp.isneginf), _BOOL, inplace=False)
isreal = _unary("isreal", _isreal, _BOOL, inplace=False)
logical_not = _unary("logical_not", jnp.logical_not, _BOOL)
bitwise_not = _unary("bitwise_not", _bitwise_not, _DEFAULT)
relu = _unary("relu", _relu, _DEFAULT, doc="``max(x, 0)`` (gradient 0 at 0, as torch).")


@op(promote=_I2F, args=("input",), inplace=True)
def logit(input, eps: float | None = None):
    """``log(x / (1 - x))``, with ``x`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    _kernel_check("logit", input, "c")
    x = _opmath(input)
    if eps is not None:
        x = jnp.clip(x, eps, 1 - eps)
    return jnp.log(x / (1 - x))


@op(promote=_DEFAULT, args=("input",), inplace=True)
def round(input, *, decimals: int = 0):
    """Round half to even, to ``decimals`` decimal places (negative: to tens, hundreds, ...)."""
    if not isinstance(decimals, int):
        raise TypeError(f"round(): argument 'decimals' must be int, not {type(decimals).__name__}")
    _kernel_check("round", input, "bc" if decimals == 0 else "bic")
    if _category(input) == "i":
        return input
    if decimals == 0:
        return jnp.round(input)
    x = _opmath(input)
    scale = 10.0 ** builtins.abs(decimals)  # this module shadows abs
    return jnp.round(x * scale) / scale if decimals > 0 else jnp.round(x / scale) * scale


@op(promote=_DEFAULT, args=("input",), inplace=True)
def nan_to_num(input, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
    """NaN to ``nan``, +-inf to ``posinf``/``neginf`` (default: the dtype's largest/lowest finite value)."""
    if _category(input) in "bi":
        return input
    return jnp.nan_to_num(input, nan=nan, posinf=posinf, neginf=neginf)


def _softmax_like(fn, input, dim: int, dtype):
    if dtype is not None:
        dtype = as_dtype(dtype)
        check_dtype_supported(dtype, "softmax")
        input = input.astype(dtype)
    _kernel_check("softmax_lastdim_kernel_impl", input, "bi")
    axis = canonical_dim(dim, input.ndim)
    x = _opmath(input)
    out = fn(x.reshape(1), axis=0).reshape(()) if x.ndim == 0 else fn(x, axis=axis)
    return out.astype(input.dtype)


@op()
def softmax(input, dim: int, dtype=None):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim`` (``dtype``: cast the input first; half: computed in float32)."""
    return _softmax_like(jax.nn.softmax, input, dim, dtype)


@op()
def log_softmax(input, dim: int, dtype=None):
    """``x_i - logsumexp(x)`` along ``dim`` (``dtype``: cast the input first; half: computed in float32)."""
    return _softmax_like(jax.nn.log_softmax, input, dim, dtype)


# --- arithmetic -----------------------------------------------------------------------------------
def _scaled(input, other, alpha):
    """``alpha * other``; a floating ``alpha`` with an integral result, or a bool one with a non-bool result,
    raises as in torch."""
    category = _promotion.category(jnp.result_type(input, other))
    if isinstance(alpha, bool) and category > 0:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if alpha == 1:
        return other
    if isinstance(alpha, float | complex) and category < 2:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    return alpha * other


def _no_bool_subtraction(input, other):
    # Checked on the operands as given: promotion would hide a bool next to a number.
    bools = sum(isinstance(v, bool) or getattr(v, "dtype", None) == np.bool_ for v in (input, other))
    if bools:
        hint = ("Use the `^` or `logical_xor()` operator instead." if bools == 2 else
                "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        operands = "two bool tensors" if bools == 2 else "a bool tensor"
        raise RuntimeError(f"Subtraction, the `-` operator, with {operands} is not supported. {hint}")


@op(promote=_DEFAULT, inplace=True)
def add(input, other, *, alpha=1):
    """``input + alpha * other``."""
    return jnp.add(input, _scaled(input, other, alpha))


@op("sub", promote=_DEFAULT, method=False, namespace=False)
def _subtract(input, other, *, alpha=1):
    return jnp.subtract(input, _scaled(input, other, alpha))


@op(inplace=True, aliases=("subtract",))
def sub(input, other, *, alpha=1):
    """``input - alpha * other`` (a bool operand raises, as in torch)."""
    _no_bool_subtraction(input, other)
    return _subtract(input, other, alpha=alpha)


@op(method=False)
def rsub(input, other, *, alpha=1):
    """``other - alpha * input``."""
    _tensors_only("rsub", input=input)
    _no_bool_subtraction(input, other)
    return _subtract(other, input, alpha=alpha)


@op(promote=_DEFAULT, inplace=True, aliases=("multiply",))
def mul(input, other):
    """``input * other``."""
    return jnp.multiply(input, other)


@op(promote=_I2F, inplace=True)
def true_divide(input, other):
    """``input / other`` (integers divide as floats)."""
    return jnp.true_divide(input, other)


@op(promote=_DEFAULT, inplace=True)
def floor_divide(input, other):
    """``floor(input / other)``, in the promoted dtype."""
    _kernel_check("div_floor_cpu", jnp.result_type(input, other), "bc")
    return jnp.floor_divide(input, other)


@op("trunc_divide", promote=_DEFAULT, method=False, namespace=False)
def _trunc_divide(input, other):
    dtype = jnp.result_type(input, other)
    _kernel_check("div_trunc_cpu", dtype, "bc")
    if _promotion.category(dtype) == 1:
        # lax.div of integers rounds toward zero.
        return jax.lax.div(*jnp.broadcast_arrays(jnp.asarray(input, dtype), jnp.asarray(other, dtype)))
    return jnp.trunc(jnp.true_divide(input, other))


@op(inplace=True, aliases=("divide",))
def div(input, other, *, rounding_mode: str | None = None):
    """``input / other``; ``rounding_mode`` 'trunc' or 'floor' rounds the quotient and keeps the promoted dtype."""
    if rounding_mode is None:
        return true_divide(input, other)
    if rounding_mode == "trunc":
        return _trunc_divide(input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                       f"'{rounding_mode}'")


@op(promote=_DEFAULT, inplace=True)
def remainder(input, other):
    """Python's modulo: the result takes the divisor's sign."""
    _kernel_check("remainder_cpu", jnp.result_type(input, other), "bc")
    return jnp.remainder(input, other)


@op(promote=_DEFAULT, inplace=True)
def fmod(input, other):
    """C's ``fmod``: the result takes the dividend's sign."""
    _tensors_only("fmod", input=input)
    _kernel_check("fmod_cpu", jnp.result_type(input, other), "bc")
    return jnp.fmod(input, other)


def _integer_pow(base, exponent):
    # JAX's integer power is undefined for negative exponents; torch gives 1/base rounded toward zero.
    if _promotion.is_scalar(exponent):
        return jnp.power(base, exponent)
    exponent = jnp.asarray(exponent)
    base = jnp.asarray(base, dtype=exponent.dtype) if _promotion.is_scalar(base) else base
    negative = jnp.where(base == 1, 1, jnp.where(base == -1, jnp.where(exponent % 2 == 0, 1, -1), 0))
    return jnp.where(exponent < 0, negative.astype(base.dtype), jnp.power(base, jnp.maximum(exponent, 0)))


@op(promote=_DEFAULT, args=("input", "exponent"), inplace=True)
def pow(input, exponent):
    """``input ** exponent``; an integer tensor to a negative Python integer raises, as in torch."""
    dtype = jnp.result_type(input, exponent)
    if dtype == np.bool_:
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    if _promotion.category(dtype) == 1:
        if isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return _integer_pow(input, exponent)
    return jnp.power(input, exponent)


@op(inplace=True)
def float_power(input, exponent):
    """``input ** exponent`` in double precision (float32 here without JAX's x64 mode; complex stays complex)."""
    operands = [v for v in (input, exponent) if not _promotion.is_scalar(v)]
    complex_ = any(_category(v) == "c" for v in operands) or any(isinstance(v, complex) for v in (input, exponent))
    dtype = _promotion.canonical(np.complex128 if complex_ else np.float64)
    cast = [v if _promotion.is_scalar(v) else v.astype(dtype) for v in (input, exponent)]
    return jnp.power(*cast).astype(dtype)


@op(promote=_I2F, inplace=True, aliases=("arctan2",))
def atan2(input, other):
    """The angle of ``(other, input)``: ``atan(input / other)`` in the right quadrant."""
    _tensors_only("atan2", input=input, other=other)
    _kernel_check("atan2_cpu", input, "c")
    return jnp.arctan2(input, other)


@op(promote=_DEFAULT, inplace=True)
def hypot(input, other):
    """``sqrt(input**2 + other**2)`` without overflow."""
    _tensors_only("hypot", input=input, other=other)
    _kernel_check("hypot_cpu", input, "bic")
    return jnp.hypot(input, other)


def _extremum(name: str, jnp_fn, *, complex_message: str | None):
    def array_fn(input, other):
        _tensors_only(name, input=input, other=other)
        if _category(input) == "c" and complex_message:
            raise RuntimeError(complex_message)
        return jnp_fn(input, other)

    array_fn.__name__ = name
    array_fn.__doc__ = f"``torch.{name}``, elementwise."
    return op(name, promote=_DEFAULT)(array_fn)


maximum = _extremum("maximum", jnp.maximum, complex_message="maximum not implemented for complex tensors.")
minimum = _extremum("minimum", jnp.minimum, complex_message="minimum not implemented for complex tensors.")
fmax = _extremum("fmax", jnp.fmax, complex_message="fmax not implemented for complex tensors.")
fmin = _extremum("fmin", jnp.fmin, complex_message="fmin not implemented for complex tensors.")


@op(promote=_DEFAULT)
def logaddexp(input, other):
    """``log(exp(input) + exp(other))``, computed stably."""
    _tensors_only("logaddexp", input=input, other=other)
    _kernel_check("logaddexp_cpu", input, "bi")
    return jnp.logaddexp(_opmath(input), _opmath(other))


@op(promote=_DEFAULT)
def logaddexp2(input, other):
    """``log2(2**input + 2**other)``, computed stably."""
    _tensors_only("logaddexp2", input=input, other=other)
    _kernel_check("logaddexp2_cpu", input, "bic")
    return jnp.logaddexp2(_opmath(input), _opmath(other))


@op(promote=_I2F, inplace=True)
def copysign(input, other):
    """``|input|`` with the sign of ``other``."""
    _tensors_only("copysign", input=input)
    _kernel_check("copysign_cpu", input, "c")
    return jnp.copysign(input, other)


@op(promote=_I2F, inplace=True)
def xlogy(input, other):
    """``input * log(other)``, 0 where ``input == 0`` unless ``other`` is NaN."""
    _kernel_check("xlogy_cpu", jnp.result_type(input, other), "c")
    log_other = jnp.log(other)
    product = jnp.where(input == 0, 0, input * jnp.where(input == 0, 1, log_other))
    return jnp.where(jnp.isnan(other), jnp.nan, product)


@op(inplace=True)
def heaviside(input, values):
    """0 where ``input < 0``, ``values`` where ``input == 0``, 1 where ``input > 0`` (NaN gives 0)."""
    _tensors_only("heaviside", input=input, values=values)
    if input.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    if _category(input) == "c":
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    return jnp.where(input == 0, values, input > 0).astype(input.dtype)


def _same_dtype_as_input(name: str, input, **others) -> None:
    for arg, value in others.items():
        if hasattr(value, "dtype") and value.ndim > 0 and value.dtype != input.dtype:
            raise RuntimeError(f"expected dtype {_dtype_name(input.dtype)} for `{arg}` but got dtype "
                               f"{_dtype_name(value.dtype)}")


@op(inplace=True)
def lerp(input, end, weight):
    """``input + weight * (end - input)``, evaluated from the nearer end as torch does (exact at weight 1)."""
    _tensors_only("lerp", end=end)
    if end.dtype != input.dtype:
        raise RuntimeError(f"expected dtype {_dtype_name(input.dtype)} for `end` but got dtype "
                           f"{_dtype_name(end.dtype)}")
    _same_dtype_as_input("lerp", input, weight=weight)
    _kernel_check("lerp_kernel_scalar", input, "bi")
    start, stop = _opmath(input), _opmath(end)
    w = weight if _promotion.is_scalar(weight) else _opmath(weight.astype(input.dtype))
    difference = stop - start
    out = jnp.where(jnp.abs(w) < 0.5, start + w * difference, stop - difference * (1 - w))
    return out.astype(input.dtype)


def _value_for(value, dtype):
    # torch converts ``value`` to the result's scalar type first (0.5 is 0 for an integer addcmul).
    return int(value) if _promotion.category(dtype) < 2 and isinstance(value, float) else value


@op(promote=_DEFAULT, args=("input", "tensor1", "tensor2"), inplace=True)
def addcmul(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 * tensor2``."""
    product = jnp.multiply(tensor1, tensor2)
    return input + _value_for(value, jnp.result_type(input, product)) * product


@op("addcdiv", promote=_I2F, args=("input", "tensor1", "tensor2"), method=False, namespace=False)
def _addcdiv_promoted(input, tensor1, tensor2, *, value=1):
    return input + value * jnp.true_divide(tensor1, tensor2)


@op(inplace=True)
def addcdiv(input, tensor1, tensor2, *, value=1):
    """``input + value * tensor1 / tensor2`` (integer ``tensor1`` and ``tensor2`` raise, as in torch)."""
    if all(_promotion.category(jnp.result_type(t)) < 2 for t in (tensor1, tensor2)):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release addcdiv "
                           "will perform a true division of tensor1 and tensor2.")
    return _addcdiv_promoted(input, tensor1, tensor2, value=value)


# --- clamp ----------------------------------------------------------------------------------------
def _at_least(x, low):
    # where, not maximum: the gradient at x == low goes to x (torch's), and a NaN input or bound stays NaN.
    return jnp.where(jnp.isnan(x), x, jnp.where(x >= low, x, low))


def _at_most(x, high):
    return jnp.where(jnp.isnan(x), x, jnp.where(x <= high, x, high))


@op(promote=_DEFAULT, args=("input", "min", "max"), inplace=True, aliases=("clip",))
def clamp(input, min=None, max=None):
    """``input`` limited to ``[min, max]`` (tensors or numbers; ``min > max`` gives ``max``)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if _category(input) == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    x = input if min is None else _at_least(input, min)
    return x if max is None else _at_most(x, max)


@op(promote=_DEFAULT, args=("input", "min"), inplace=True)
def clamp_min(input, min):
    """``input`` limited to at least ``min``."""
    return clamp.__wrapped_array_fn__(input, min=min)


@op(promote=_DEFAULT, args=("input", "max"), inplace=True)
def clamp_max(input, max):
    """``input`` limited to at most ``max``."""
    return clamp.__wrapped_array_fn__(input, max=max)


# --- comparisons, logical and bitwise ops ---------------------------------------------------------
def _comparison(name: str, jnp_fn, aliases=(), ordered: bool = True):
    def array_fn(input, other):
        _tensors_only(name, input=input)
        if ordered and _category(input) == "c":
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{_dtype_name(input.dtype)}\'')
        return jnp_fn(input, other)

    array_fn.__name__ = name
    array_fn.__doc__ = f"``torch.{name}``, elementwise (a bool tensor)."
    return op(name, promote=_BOOL, inplace=True, aliases=aliases)(array_fn)


eq = _comparison("eq", jnp.equal, ordered=False)
ne = _comparison("ne", jnp.not_equal, aliases=("not_equal",), ordered=False)
lt = _comparison("lt", jnp.less, aliases=("less",))
le = _comparison("le", jnp.less_equal, aliases=("less_equal",))
gt = _comparison("gt", jnp.greater, aliases=("greater",))
ge = _comparison("ge", jnp.greater_equal, aliases=("greater_equal",))


def _logical(name: str, jnp_fn):
    def array_fn(input, other):
        _tensors_only(name, input=input, other=other)
        return jnp_fn(input, other)

    array_fn.__name__ = name
    array_fn.__doc__ = f"``torch.{name}``: nonzero elements are True (a bool tensor)."
    return op(name, promote=_BOOL, inplace=True)(array_fn)


logical_and = _logical("logical_and", jnp.logical_and)
logical_or = _logical("logical_or", jnp.logical_or)
logical_xor = _logical("logical_xor", jnp.logical_xor)


def _bitwise(name: str, jnp_fn, kernel: str, reject: str = "fc"):
    def array_fn(input, other):
        _kernel_check(kernel, jnp.result_type(input, other), reject)
        return jnp_fn(input, other)

    array_fn.__name__ = name
    array_fn.__doc__ = f"``torch.{name}`` of integer or bool tensors."
    return op(name, promote=_DEFAULT, inplace=True)(array_fn)


bitwise_and = _bitwise("bitwise_and", jnp.bitwise_and, "bitwise_and_cpu")
bitwise_or = _bitwise("bitwise_or", jnp.bitwise_or, "bitwise_or_cpu")
bitwise_xor = _bitwise("bitwise_xor", jnp.bitwise_xor, "bitwise_xor_cpu")
bitwise_left_shift = _bitwise("bitwise_left_shift", jnp.left_shift, "lshift_cpu", "bfc")
bitwise_right_shift = _bitwise("bitwise_right_shift", jnp.right_shift, "rshift_cpu", "bfc")


# --- selection ------------------------------------------------------------------------------------
def _condition(condition):
    if condition.dtype == np.uint8:
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed in "
                      "a future version of PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=4)
        return condition.astype(np.bool_)
    if condition.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{_dtype_name(condition.dtype)}")
    return condition


@op("where", promote=_DEFAULT, method=False, namespace=False)
def _where_selected(condition, input, other):
    return jnp.where(_condition(condition), input, other)


@op(method=False)
def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other``. ``where(condition)`` is ``nonzero(condition,
    as_tuple=True)``: its shape depends on the data, so that form is eager only."""
    if input is None and other is None:
        return tuple(index.astype(_promotion.long_dtype()) for index in jnp.nonzero(condition))
    return _where_selected(condition, input, other)


@op("where", promote=_DEFAULT, namespace=False)
def _where_method(input, condition, other):
    """``Tensor.where(condition, other)``: ``torch.where(condition, self, other)``."""
    return jnp.where(_condition(condition), input, other)


@op(inplace=True)
def masked_fill(input, mask, value):
    """``input`` with ``value`` (a number or 0-d tensor, cast to the input's dtype) where ``mask`` is True."""
    if mask.dtype != np.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{_dtype_name(mask.dtype)}")
    if hasattr(value, "ndim") and value.ndim != 0:
        raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    if _promotion.is_scalar(value):
        value = _promotion.checked_convert(value, input.dtype)
    return jnp.where(mask, jnp.asarray(value).astype(input.dtype), input)


# --- closeness ------------------------------------------------------------------------------------
def _close(name: str, input, other, rtol, atol, equal_nan):
    _tensors_only(name, other=other)
    if input.dtype != other.dtype:
        raise RuntimeError(f"{_dtype_name(input.dtype)} did not match {_dtype_name(other.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    if input.dtype == np.bool_:
        return input == other
    if _category(input) == "i":
        input, other = input.astype(_promotion.get_default_dtype()), other.astype(_promotion.get_default_dtype())
    close = input == other
    if equal_nan:
        close = close | (jnp.isnan(input) & jnp.isnan(other))
    difference = jnp.abs(input - other)
    finite = jnp.isfinite(difference)
    return close | (finite & (difference <= atol + rtol * jnp.abs(other)))


@op()
def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
    """``|input - other| <= atol + rtol * |other|`` elementwise (infinities close only to themselves)."""
    return _close("isclose", input, other, rtol, atol, equal_nan)


@op()
def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every element is close (a Python bool: eager only)."""
    return bool(jnp.all(_close("allclose", input, other, rtol, atol, equal_nan)))


@op()
def equal(input, other) -> bool:
    """Same shape and equal values (a Python bool: eager only)."""
    return tuple(input.shape) == tuple(other.shape) and bool(jnp.all(input == other))



# --- number theory and special functions ----------------------------------------------------------
def _integer_pair(name: str, fn):
    def array_fn(input, other):
        _tensors_only(name, input=input, other=other)
        _kernel_check(f"{name}_cpu", jnp.result_type(input, other), "bfc")
        return fn(input, other)

    array_fn.__name__ = name
    array_fn.__doc__ = f"``torch.{name}`` of integer tensors (nonnegative; {name}(0, 0) is 0)."
    return op(name, promote=_DEFAULT, inplace=True)(array_fn)


gcd = _integer_pair("gcd", jnp.gcd)
lcm = _integer_pair("lcm", jnp.lcm)


@op(promote=_I2F, inplace=True)
def ldexp(input, other):
    """``input * 2**other`` (integer operands give the default float dtype)."""
    _tensors_only("ldexp", input=input, other=other)
    return input * jnp.exp2(other)


_frexp_result = return_type("frexp", ("mantissa", "exponent"))


@op()
def frexp(input):
    """``(mantissa, exponent)`` with ``input = mantissa * 2**exponent``, ``|mantissa|`` in ``[0.5, 1)``; the
    exponent is int32."""
    if _category(input) != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    mantissa, exponent = jnp.frexp(input)
    return _frexp_result(mantissa.astype(input.dtype), exponent.astype(np.int32))


@op(promote=_DEFAULT, inplace=True)
def nextafter(input, other):
    """The next representable value after ``input`` towards ``other``."""
    _tensors_only("nextafter", input=input, other=other)
    _kernel_check("nextafter_cpu", jnp.result_type(input, other), "bic")
    return jnp.nextafter(input, other)


def _incomplete_gamma(name: str, fn, doc: str):
    def array_fn(input, other):
        _tensors_only(name, input=input, other=other)
        _kernel_check(f"{name}_cpu", jnp.result_type(input, other), "bic")
        return fn(_opmath(input), _opmath(other))

    array_fn.__name__ = name
    array_fn.__doc__ = doc
    return op(name, promote=_DEFAULT, inplace=True)(array_fn)


# The special-function kernels are jitted: an eager call is one cached XLA program, not one per primitive.
igamma = _incomplete_gamma("igamma", jax.jit(jsp.gammainc), "The regularized lower incomplete gamma function "
                                                             "``P(input, other)``.")
igammac = _incomplete_gamma("igammac", jax.jit(jsp.gammaincc), "The regularized upper incomplete gamma function "
                                                               "``Q(input, other) = 1 - P(input, other)``.")


def _polygamma(n: int, input):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    _kernel_check("polygamma", input, "c")
    return _polygamma_kernel(_opmath(input), n)


@functools.partial(jax.jit, static_argnums=1)
def _polygamma_kernel(x, n: int):
    return _digamma(x) if n == 0 else jsp.polygamma(n, x)


@op("polygamma", promote=_I2F, args=("input",), method=False)
def polygamma(n: int, input):
    """The ``n``-th derivative of the digamma function (``n = 0``: digamma)."""
    return _polygamma(n, input)


@op("polygamma", promote=_I2F, args=("input",), namespace=False, inplace=True)
def _polygamma_method(input, n: int):
    """``Tensor.polygamma(n)``: ``torch.polygamma(n, self)``."""
    return _polygamma(n, input)


@op(promote=_I2F, args=("input",), inplace=True)
def mvlgamma(input, p: int):
    """The multivariate log-gamma function of dimension ``p``: ``sum_i lgamma(x - i/2) + p(p-1)/4 log(pi)``."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    _kernel_check("mvlgamma", input, "c")
    return _mvlgamma_kernel(_opmath(input), p)


@functools.partial(jax.jit, static_argnums=1)
def _mvlgamma_kernel(x, p: int):
    terms = jax.lax.lgamma(x[..., None] - jnp.arange(p, dtype=x.dtype) / 2)
    return jnp.sum(terms, axis=-1) + p * (p - 1) / 4 * np.log(np.pi)

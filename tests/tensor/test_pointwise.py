"""torchjax's pointwise ops against torch: values, dtypes (promotion), errors, compile, gradients, in place.

Each case is written once as ``fn(lib, *tensors)`` with ``lib`` torch or torchjax; when torch raises,
torchjax must raise the same exception type, otherwise the results must match (dtypes modulo JAX's
32-bit mode: torch's int64/float64 are int32/float32 here).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import raises_same

import torchjax as tj

SHAPE = (3, 4)
DTYPES = ("bool", "uint8", "int8", "int32", "float16", "bfloat16", "float32", "complex64")
_X64 = {"int64": "int32", "float64": "float32", "complex128": "complex64"}


def sample(dtype: str, seed: int = 0, *, nonzero: bool = False, shape=SHAPE) -> np.ndarray:
    """Random values for ``dtype`` (as float32/complex64/int/bool NumPy); floats include 0, +-inf and NaN."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in ("uint8", "int8", "int32"):
        values = rng.integers(1 if dtype == "uint8" else -3, 4, shape)
        if nonzero:
            values = np.where(values == 0, 2, values)
        return values.astype(dtype)
    values = np.round(rng.uniform(-3, 3, shape), 2).astype(np.float32)
    if dtype == "complex64":  # finite: complex infinities are a corner we do not chase
        return (values + 1j * np.round(rng.uniform(-3, 3, shape), 2)).astype(np.complex64)
    if not nonzero and len(shape) == 2:
        values[-1, :] = [0.0, np.inf, -np.inf, np.nan][: shape[1]]
    return values


def make(lib, values, dtype: str):
    """``values`` as a tensor of ``lib`` with ``dtype`` (Python numbers stay numbers)."""
    if not isinstance(values, np.ndarray):
        return values
    return lib.tensor(values).to(getattr(lib, dtype))


def dtype_name(dtype) -> str:
    name = str(dtype).split(".")[-1]
    return _X64.get(name, name)


def as_numpy(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    data = t.jax()
    return np.asarray(data.astype(jnp.float32) if data.dtype == jnp.bfloat16 else data)


def assert_matches(ours, theirs) -> None:
    """Same kind of result; tensors with the same dtype (modulo x64) and values."""
    if isinstance(theirs, tuple | list):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            assert_matches(o, t)
        return
    if not isinstance(theirs, torch.Tensor):
        assert type(ours) is type(theirs) and ours == theirs, (ours, theirs)
        return
    assert isinstance(ours, tj.Tensor), type(ours)
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype), f"dtype {ours.dtype} != torch's {theirs.dtype}"
    a, b = as_numpy(ours), as_numpy(theirs)
    assert a.shape == b.shape, f"shape {a.shape} != torch's {b.shape}"
    tol = {"float16": 2e-3, "bfloat16": 1.6e-2}.get(dtype_name(theirs.dtype), 2e-5)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def check(fn, *operands) -> None:
    """``fn(torch, ...)`` against ``fn(torchjax, ...)``; operands are ``(values, dtype)`` or numbers."""
    def call(lib):
        return fn(lib, *(make(lib, *o) if isinstance(o, tuple) else o for o in operands))

    try:
        theirs = call(torch)
    except Exception:  # noqa: BLE001 - then ours must raise the same type
        raises_same(lambda: call(torch), lambda: call(tj))
        return
    assert_matches(call(tj), theirs)


# --- unary ops over every dtype -------------------------------------------------------------------
UNARY = """abs absolute neg negative positive sign sgn signbit exp exp2 expm1 log log2 log10 log1p sqrt rsqrt square
reciprocal sin cos tan asin arcsin acos arccos atan arctan sinh cosh tanh asinh acosh atanh sigmoid logit erf erfc
erfinv lgamma digamma i0 sinc floor ceil trunc fix frac round deg2rad rad2deg nan_to_num isnan isinf isfinite
isposinf isneginf isreal logical_not bitwise_not relu""".split()


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int32", "float16", "bfloat16", "float32", "complex64"])
@pytest.mark.parametrize("name", UNARY)
def test_unary(name, dtype):
    def fn(lib, x):
        if name == "signbit" and x.is_floating_point():
            x = x.masked_fill(x.isnan(), 1.0)  # NaN's sign bit after torch's cast to bfloat16 is set
        return getattr(lib, name)(x)

    check(fn, (sample(dtype), dtype))


UNARY_KWARGS = [
    ("logit_eps", lambda lib, x: lib.logit(x, eps=0.1), "float32"),
    ("logit_eps_int", lambda lib, x: lib.logit(x, 0.25), "int32"),
    ("round_decimals", lambda lib, x: lib.round(x * 3.14159, decimals=2), "float32"),
    ("round_negative_decimals", lambda lib, x: lib.round(x * 1234.5, decimals=-2), "float32"),
    ("round_decimals_half", lambda lib, x: lib.round(x, decimals=1), "float16"),
    ("round_decimals_int", lambda lib, x: lib.round(x, decimals=1), "int32"),
    ("round_float_decimals", lambda lib, x: lib.round(x, decimals=1.5), "float32"),
    ("nan_to_num_values", lambda lib, x: lib.nan_to_num(x, nan=1.0, posinf=2.5, neginf=-7.0), "float32"),
    ("nan_to_num_half", lambda lib, x: lib.nan_to_num(x), "float16"),
    ("nan_to_num_complex", lambda lib, x: lib.nan_to_num(x / 0), "complex64"),
    ("softmax", lambda lib, x: lib.softmax(x.nan_to_num(), 1), "float32"),
    ("softmax_method_half", lambda lib, x: x.nan_to_num().softmax(0), "float16"),
    ("softmax_bfloat16", lambda lib, x: lib.softmax(x.nan_to_num(), -1), "bfloat16"),
    ("softmax_int", lambda lib, x: lib.softmax(x, 0), "int32"),
    ("softmax_int_dtype", lambda lib, x: lib.softmax(x, 0, dtype=lib.float32), "int32"),
    ("softmax_dim_out_of_range", lambda lib, x: lib.softmax(x, 2), "float32"),
    ("softmax_0d", lambda lib, x: lib.softmax(x[0, 0], 0), "float32"),
    ("log_softmax", lambda lib, x: lib.log_softmax(x.nan_to_num(), 0), "float32"),
    ("log_softmax_method_half", lambda lib, x: x.nan_to_num().log_softmax(1), "float16"),
    ("relu_method", lambda lib, x: x.relu(), "int8"),
    ("neg_method", lambda lib, x: x.negative(), "float32"),
    ("abs_int8_min", lambda lib, x: (x - 125).abs(), "int8"),
]


@pytest.mark.parametrize("fn, dtype", [c[1:] for c in UNARY_KWARGS], ids=[c[0] for c in UNARY_KWARGS])
def test_unary_arguments(fn, dtype):
    check(fn, (sample(dtype), dtype))


def test_softmax_float64_dtype_is_refused():
    with pytest.raises(RuntimeError, match="64-bit"):
        tj.softmax(tj.tensor(sample("float32")), 0, dtype=tj.float64)


# --- binary ops -----------------------------------------------------------------------------------
BINARY = """add sub subtract mul multiply div divide true_divide floor_divide remainder fmod pow float_power atan2
arctan2 hypot maximum minimum fmax fmin eq ne lt le gt ge greater greater_equal less less_equal not_equal logical_and
logical_or logical_xor bitwise_and bitwise_or bitwise_xor bitwise_left_shift bitwise_right_shift logaddexp logaddexp2
copysign xlogy heaviside""".split()
VARIANTS = {
    "add": [{"alpha": 2}, {"alpha": 0.5}], "sub": [{"alpha": 2}], "rsub": [{}, {"alpha": 2}],
    "div": [{"rounding_mode": "trunc"}, {"rounding_mode": "floor"}, {"rounding_mode": "round"}],
}
# (input, other): (dtype, 0-d?) or a Python number.
PAIRS = [("float32", "float32"), ("int32", "int32"), ("bool", "bool"), ("int32", "float32"), ("uint8", "int8"),
         ("float16", ("float32", True)), ("complex64", "float32"), ("int32", 2), ("float32", 2.5), ("int8", True),
         (-1.5, "float32")]


def _operand(spec, seed):
    if not isinstance(spec, str | tuple):
        return spec
    dtype, zero_dim = spec if isinstance(spec, tuple) else (spec, False)
    values = sample(dtype, seed, nonzero=True)
    return (np.asarray(values[0, 0]) if zero_dim else values), dtype


def _binary_cases():
    for name in [*BINARY, "rsub"]:
        for kwargs in VARIANTS.get(name, [{}]):
            for a, b in PAIRS:
                label = f"{name}{kwargs or ''}-{a}-{b}"
                yield pytest.param(name, kwargs, a, b, id=label)


def _shift_amount(lib, name, other):
    # Negative or too-large shifts are undefined behaviour in torch's kernels.
    if "shift" in name and isinstance(other, lib.Tensor) and other.dtype != lib.bool:
        return other.abs()
    return other


@pytest.mark.parametrize("name, kwargs, a, b", list(_binary_cases()))
def test_binary(name, kwargs, a, b):
    def fn(lib, x, y):
        return getattr(lib, name)(x, _shift_amount(lib, name, y), **kwargs)

    check(fn, _operand(a, 1), _operand(b, 2))


@pytest.mark.parametrize("name", ["add", "mul", "div", "lt"])
def test_promotion_table(name):
    """Every dtype against a tensor, a 0-d tensor and a Python bool/int/float of every dtype."""
    others = [(d, False) for d in DTYPES] + [(d, True) for d in DTYPES] + [True, 2, 2.5]
    for first in DTYPES:
        for other in others:
            if first == "float16" and other == ("complex64", True):
                continue  # torch gives complex32, which JAX lacks
            check(lambda lib, x, y: getattr(lib, name)(x, y), _operand(first, 1), _operand(other, 2))
            if first == "float32" and not isinstance(other, tuple):
                check(lambda lib, x, y: getattr(lib, name)(y, x), _operand(first, 1), other)


def test_pow_negative_integer_powers():
    ints = (np.array([2, 1, -1, 3, -2, 0], np.int32), "int32")
    check(lambda lib, x: lib.pow(x, -1), ints)
    check(lambda lib, x, e: lib.pow(x, e), ints, (np.array([-1, -1, -1, -2, -3, 2], np.int32), "int32"))
    check(lambda lib, x: lib.pow(2, x.abs()), ints)
    check(lambda lib, x: lib.pow(x, 0.5), ints)
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed."):
        tj.pow(tj.tensor([1, 2]), -1)


# --- ternary ops, clamp, where, masked_fill, closeness ---------------------------------------------
F, I, B, H = (sample("float32", 3), "float32"), (sample("int32", 4), "int32"), (sample("bool", 5), "bool"), \
    (sample("float16", 6), "float16")
F2 = (sample("float32", 7), "float32")
POS = (np.abs(sample("float32", 8, nonzero=True)) + 0.5, "float32")
ROW = (sample("float32", 9, shape=(4,)), "float32")
SPECIAL = [
    ("lerp_scalar", lambda lib, x, y: lib.lerp(x, y, 0.3), F, F2),
    ("lerp_weight_one", lambda lib, x, y: lib.lerp(x, y, 1.0), F, F2),
    ("lerp_tensor_weight", lambda lib, x, y, w: lib.lerp(x, y, w.sigmoid()), F, F2, ROW),
    ("lerp_0d_float64_weight", lambda lib, x, y: lib.lerp(x, y, lib.tensor(0.75)), F, F2),
    ("lerp_half", lambda lib, x: lib.lerp(x, x * 2, 0.6), H),
    ("lerp_end_dtype", lambda lib, x, y: lib.lerp(x, y, 0.5), F, I),
    ("lerp_weight_dtype", lambda lib, x, w: lib.lerp(x, x, w), F, H),
    ("lerp_int", lambda lib, x: lib.lerp(x, x, 0.5), I),
    ("lerp_method", lambda lib, x, y: x.lerp(y, 0.25), F, F2),
    ("addcmul", lambda lib, x, y, z: lib.addcmul(x, y, z, value=0.5), F, F2, ROW),
    ("addcmul_int", lambda lib, x, y: lib.addcmul(x, y, y, value=2), I, I),
    ("addcmul_int_float_value", lambda lib, x, y: lib.addcmul(x, y, y, value=0.5), I, I),
    ("addcmul_mixed", lambda lib, x, y: lib.addcmul(x, y, y, value=0.5), F, I),
    ("addcdiv", lambda lib, x, y, z: x.addcdiv(y, z, value=2), F, F2, POS),
    ("addcdiv_int", lambda lib, x, y: lib.addcdiv(x, y, y), F, I),
    ("clamp", lambda lib, x: lib.clamp(x, -1, 1.5), F),
    ("clamp_min_only", lambda lib, x: lib.clamp(x, min=0.5), I),
    ("clamp_tensor_bounds", lambda lib, x, lo, hi: lib.clamp(x, lo, hi), F, ROW, POS),
    ("clamp_0d_bound", lambda lib, x: lib.clamp(x, max=lib.tensor(1.0)), I),
    ("clamp_min_above_max", lambda lib, x: lib.clamp(x, min=1, max=0), F),
    ("clamp_nan_bound", lambda lib, x: lib.clamp(x, min=float("nan")), F),
    ("clamp_bool", lambda lib, x: lib.clamp(x, 0, 1), B),
    ("clamp_no_bounds", lambda lib, x: lib.clamp(x), F),
    ("clamp_complex", lambda lib, x: lib.clamp(x.to(lib.complex64), 0, 1), F),
    ("clip", lambda lib, x: x.clip(-1, 1), F),
    ("clamp_min", lambda lib, x, lo: lib.clamp_min(x, lo), F, ROW),
    ("clamp_max", lambda lib, x: x.clamp_max(0.5), I),
    ("where", lambda lib, c, x, y: lib.where(c, x, y), B, F, ROW),
    ("where_scalars", lambda lib, c: lib.where(c, 2, 3.0), B),
    ("where_int_scalars", lambda lib, c: lib.where(c, 2, 3), B),
    ("where_promotes", lambda lib, c, x: lib.where(c, x, 2.5), B, I),
    ("where_half_0d", lambda lib, c, x: lib.where(c, x, lib.tensor(1.0)), B, H),
    ("where_method", lambda lib, c, x: x.where(c, 5), B, I),
    ("where_float_condition", lambda lib, x: lib.where(x, 1, 2), F),
    ("where_one_argument", lambda lib, c: lib.where(c), B),
    ("masked_fill", lambda lib, x, m: x.masked_fill(m, -1.5), F, B),
    ("masked_fill_int_truncates", lambda lib, x, m: lib.masked_fill(x, m, 2.7), I, B),
    ("masked_fill_0d_value", lambda lib, x, m: x.masked_fill(m, lib.tensor(2.5)), I, B),
    ("masked_fill_broadcast", lambda lib, x, m: x[0].masked_fill(m, 1.0), F, B),
    ("masked_fill_uint8_mask", lambda lib, x: x.masked_fill(x > 0, 1.0).masked_fill(x.to(lib.uint8), 0.0), F),
    ("masked_fill_1d_value", lambda lib, x, m: x.masked_fill(m, x[0]), F, B),
    ("isclose", lambda lib, x, y: lib.isclose(x, x + y * 1e-6), F, F2),
    ("isclose_tolerances", lambda lib, x, y: lib.isclose(x, x + y * 1e-2, rtol=0, atol=1e-2), F, F2),
    ("isclose_equal_nan", lambda lib, x: lib.isclose(x, x, equal_nan=True), F),
    ("isclose_int", lambda lib, x: x.isclose(x + 1, atol=1), I),
    ("isclose_bool", lambda lib, x: lib.isclose(x, ~x), B),
    ("isclose_dtypes", lambda lib, x, y: lib.isclose(x, y), F, I),
    ("isclose_negative_rtol", lambda lib, x: lib.isclose(x, x, rtol=-1), F),
    ("isclose_scalar", lambda lib, x: lib.isclose(x, 1.5), F),
    ("allclose", lambda lib, x, y: lib.allclose(x.nan_to_num(), x.nan_to_num() + y * 1e-9), F, F2),
    ("allclose_false", lambda lib, x: x.nan_to_num().allclose(x.nan_to_num() + 1), F),
    ("equal", lambda lib, x: lib.equal(x, x.clone()), I),
    ("equal_nan", lambda lib, x: lib.equal(x, x), F),
    ("equal_dtypes", lambda lib, x: lib.equal(x, x.float()), I),
    ("equal_shapes", lambda lib, x: x.equal(x[:2]), I),
    ("div_method_trunc", lambda lib, x, y: x.div(y, rounding_mode="trunc"), F, POS),
    ("rsub_scalar", lambda lib, x: lib.rsub(x, 2, alpha=3), I),
    ("add_bool_alpha", lambda lib, x: lib.add(x, 1, alpha=True), I),
    ("add_bool_alpha_bool", lambda lib, x: lib.add(x, True, alpha=True), B),
]


@pytest.mark.parametrize("fn, operands", [(c[1], c[2:]) for c in SPECIAL], ids=[c[0] for c in SPECIAL])
def test_special(fn, operands):
    check(fn, *operands)


# --- methods and in-place variants exist exactly where torch has them -----------------------------
SPECIAL_NAMES = """rsub lerp addcmul addcdiv clamp clip clamp_min clamp_max where masked_fill isclose allclose equal
softmax log_softmax""".split()


@pytest.mark.parametrize("name", UNARY + BINARY + SPECIAL_NAMES)
def test_method_and_inplace_exist_as_in_torch(name):
    assert callable(getattr(tj, name))
    assert hasattr(tj.Tensor, name) == hasattr(torch.Tensor, name)
    assert hasattr(tj.Tensor, name + "_") == hasattr(torch.Tensor, name + "_")


INPLACE = [
    ("add_", lambda x, y: x.add_(y, alpha=2), F, F2),
    ("add_int_scalar", lambda x: x.add_(1), I),
    ("sub_", lambda x, y: x.sub_(y), F, I),
    ("mul_broadcast", lambda x, y: x.mul_(y), F, ROW),
    ("div_trunc", lambda x, y: x.div_(y, rounding_mode="trunc"), I, (sample("int32", 11, nonzero=True), "int32")),
    ("sqrt_", lambda x: x.abs_().sqrt_(), F),
    ("clamp_", lambda x: x.clamp_(min=-1, max=1), F),
    ("eq_", lambda x, y: x.eq_(y), F, F2),
    ("logical_not_", lambda x: x.logical_not_(), I),
    ("masked_fill_", lambda x, m: x.masked_fill_(m, 0.5), F, B),
    ("pow_", lambda x: x.pow_(2), I),
    ("lerp_", lambda x, y: x.lerp_(y, 0.5), F, F2),
    ("half_add_float", lambda x, y: x.add_(y), H, F),
    # The result dtype cannot be cast to self's: torch's RuntimeError.
    ("int_div_", lambda x: x.div_(2), I),
    ("int_sqrt_", lambda x: x.sqrt_(), I),
    ("bool_add_int", lambda x: x.add_(2), B),
    ("int_clamp_float", lambda x: x.clamp_(min=0.5), I),
    ("float_add_complex", lambda x: x.add_(1j), F),
    # A result larger than self: _tensor.op's in-place methods raise JAX's ValueError (torch: RuntimeError).
    ("broadcast_self", lambda x, y: x.add_(y), ROW, F),
    ("masked_fill_broadcast_self", lambda x, m: x[0].masked_fill_(m, 1.0), F, B),
]


def _inplace_param(case):
    if type(case) is tuple:
        return pytest.param(case[1], case[2:], id=case[0])
    name, fn, *operands = case.values
    return pytest.param(fn, tuple(operands), id=name, marks=case.marks)


@pytest.mark.parametrize("fn, operands", [_inplace_param(c) for c in INPLACE])
def test_inplace(fn, operands):
    """Returns self, changes it to torch's value, and raises where torch refuses."""
    def call(lib):
        tensors = [make(lib, *o) for o in operands]
        return tensors[0], fn(*tensors)

    try:
        target_t, result_t = call(torch)
    except Exception:  # noqa: BLE001 - then ours must raise the same type
        raises_same(lambda: call(torch), lambda: call(tj))
        return
    target, result = call(tj)
    assert result is target
    assert_matches(target, target_t)


def test_inplace_through_a_view_changes_the_base():
    x = tj.tensor(sample("float32", 12))
    x[0].mul_(0)
    assert not np.asarray(x.jax())[0].any()


# --- the same calls inside one compiled program ----------------------------------------------------
COMPILED_UNARY = [n for n in UNARY if n not in ("bitwise_not",)]
COMPILED_BINARY = [n for n in BINARY if not n.startswith("bitwise")]


def test_compiled_matches_eager():
    x, y = tj.tensor(sample("float32", 13)), tj.tensor(sample("float32", 14, nonzero=True))
    c, i = tj.tensor(sample("bool", 15)), tj.tensor(sample("int32", 16, nonzero=True))

    def run(x, y, c, i):
        out = [getattr(tj, n)(x) for n in COMPILED_UNARY] + [getattr(tj, n)(x, y) for n in COMPILED_BINARY]
        out += [getattr(tj, n)(i, i.abs()) for n in BINARY if n.startswith("bitwise")]
        out += [tj.div(i, 2, rounding_mode="trunc"), tj.div(x, y, rounding_mode="floor"), tj.clamp(x, -1, y),
                tj.where(c, x, 2.5), x.masked_fill(c, 0.0), tj.lerp(x, y, 0.5), tj.addcmul(x, y, y, value=0.5),
                tj.addcdiv(x, y, y), tj.softmax(x.nan_to_num(), 1), x.nan_to_num().log_softmax(0),
                tj.isclose(x, y), tj.round(x, decimals=1), tj.logit(x, 0.1), tj.pow(i, i.abs()),
                x.clone().add_(y), i.clone().clamp_(max=1)]
        return tuple(out)

    eager = run(x, y, c, i)
    compiled = tj.compile(run)(x, y, c, i)
    assert len(compiled) == len(eager)
    for ours, reference in zip(compiled, eager, strict=True):
        assert isinstance(ours, tj.Tensor) and ours.dtype == reference.dtype
        np.testing.assert_allclose(np.asarray(ours.jax()), np.asarray(reference.jax()), rtol=1e-6, atol=1e-6,
                                   equal_nan=True)


# --- gradients --------------------------------------------------------------------------------------
# (op, domain of the inputs): differentiable float ops away from their singularities.
GRAD_UNARY = {n: (0.2, 0.8) for n in """abs neg positive exp exp2 expm1 log log2 log10 log1p sqrt rsqrt square
reciprocal sin cos tan asin acos atan sinh cosh tanh asinh atanh sigmoid logit erf erfc erfinv lgamma digamma i0 sinc
deg2rad rad2deg relu nan_to_num frac""".split()}
GRAD_UNARY.update(acosh=(1.2, 2.0), sgn=(-1.0, 1.0), floor=(-2.0, 2.0), round=(-2.0, 2.0))
GRAD_BINARY = """add sub mul div true_divide remainder fmod pow float_power atan2 hypot maximum minimum fmax fmin
logaddexp logaddexp2 copysign xlogy""".split()
GRAD_OTHER = {
    "clamp": lambda lib, x, y: lib.clamp(x, 0.3, 0.6) + lib.clamp(y, min=x),
    "lerp": lambda lib, x, y: lib.lerp(x, y, 0.3) + lib.lerp(y, x, 0.8),
    "lerp_tensor_weight": lambda lib, x, y: lib.lerp(x, y, y),
    "addcmul": lambda lib, x, y: lib.addcmul(x, y, x, value=0.5),
    "addcdiv": lambda lib, x, y: lib.addcdiv(x, y, x, value=2),
    "where": lambda lib, x, y: lib.where(x > 0.5, x, y * 2),
    "masked_fill": lambda lib, x, y: (x * y).masked_fill(x > 0.5, 1.0),
    "softmax": lambda lib, x, y: lib.softmax(x * y, 1) * y,
    "log_softmax": lambda lib, x, y: lib.log_softmax(x, 0) * y,
    "div_floor": lambda lib, x, y: lib.div(x * 3, y, rounding_mode="floor") + x,
}


def _torch_grads(fn, arrays):
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    fn(torch, *tensors).sum().backward()
    return [t.grad.numpy(force=True) for t in tensors]  # force: floor's gradient is a ZeroTensor


def test_gradients():
    rng = np.random.default_rng(17)
    cases = [(f"unary {n}", (lambda lib, x, n=n: getattr(lib, n)(x)),
              [rng.uniform(*domain, SHAPE).astype(np.float32)]) for n, domain in GRAD_UNARY.items()]
    pair = [rng.uniform(0.2, 0.8, SHAPE).astype(np.float32) for _ in range(2)]
    cases += [(f"binary {n}", (lambda lib, x, y, n=n: getattr(lib, n)(x, y)), pair) for n in GRAD_BINARY]
    cases += [(n, fn, pair) for n, fn in GRAD_OTHER.items()]

    def ours(inputs):
        # All gradients in one program: one compile for the whole table.
        return [jax.grad(lambda args, fn=fn: jnp.sum(fn(tj, *(tj.as_tensor(a) for a in args)).jax()))(arrays)
                for (_, fn, _), arrays in zip(cases, inputs, strict=True)]

    for (label, fn, arrays), grads in zip(cases, jax.jit(ours)([c[2] for c in cases]), strict=True):
        for got, expected in zip(grads, _torch_grads(fn, arrays), strict=True):
            np.testing.assert_allclose(np.asarray(got), expected, rtol=2e-4, atol=2e-5, err_msg=label)

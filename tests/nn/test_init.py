"""torchjax.nn.init against torch.nn.init as the oracle.

Random initialisers cannot match torch value for value (different generators), so they are
compared through sample statistics and exact bounds; deterministic ones must match exactly.
"""

from __future__ import annotations

import math
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import torchjax
from torchjax import _random
from torchjax.nn import init, parameter
from torchjax.nn.parameter import Parameter

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
FAN_SHAPES = [(3, 5), (5, 3), (4, 3, 7), (8, 4, 3, 3), (2, 3, 2, 3, 4), (0, 5), (6, 0, 2)]
TORCH_DTYPES = {jnp.float32: torch.float32, jnp.float16: torch.float16, jnp.bfloat16: torch.bfloat16,
                jnp.int32: torch.int32, jnp.bool_: torch.bool}


@pytest.fixture(autouse=True)
def _seed():
    _random.manual_seed(1234)
    torch.manual_seed(1234)


def raised(fn, *args, **kwargs):
    """The exception ``fn`` raises (or None), with warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - we compare whatever is raised
            return exc
    return None


def assert_same_error(torch_call, tj_call):
    expected, got = raised(torch_call), raised(tj_call)
    assert expected is not None, "torch did not raise"
    assert type(got) is type(expected), (got, expected)
    assert str(got) == str(expected)


def np32(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().numpy()
    return np.asarray(x).astype(np.float32)


# Arrays are built in NumPy and transferred: jnp.zeros / jnp.full would compile a program per
# shape, and XLA compiles are what make these tests slow (the init kernels compile per shape).
def zeros(shape, dtype=np.float32) -> jnp.ndarray:
    return jnp.asarray(np.zeros(shape, dtype))


def full(shape, value, dtype=np.float32) -> jnp.ndarray:
    return jnp.asarray(np.full(shape, value, dtype))


def assert_close_stats(got, expected, *, mean_tol: float, std_rtol: float):
    """Sample mean and std of ``got`` (torchjax) match those of ``expected`` (torch)."""
    got, expected = np32(got).ravel(), np32(expected).ravel()
    scale = max(float(expected.std()), 1e-12)
    assert abs(got.mean() - expected.mean()) <= mean_tol * scale, (got.mean(), expected.mean())
    assert got.std() == pytest.approx(expected.std(), rel=std_rtol)


# --- calculate_gain, fans ------------------------------------------------------------------
@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain(nonlinearity):
    expected = torch.nn.init.calculate_gain(nonlinearity)
    got = init.calculate_gain(nonlinearity)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("param", [None, 0, 0.2, 1, 3, -0.5, np.float64(0.3)])
def test_calculate_gain_leaky_relu_param(param):
    assert init.calculate_gain("leaky_relu", param) == torch.nn.init.calculate_gain("leaky_relu", param)


@pytest.mark.parametrize(("nonlinearity", "param"), [("softmax", None), ("ReLU", None), ("leaky_relu", True),
                                                      ("leaky_relu", "0.1"), ("leaky_relu", np.float32(0.1))])
def test_calculate_gain_errors(nonlinearity, param):
    assert_same_error(lambda: torch.nn.init.calculate_gain(nonlinearity, param),
                      lambda: init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("shape", FAN_SHAPES)
def test_fans(shape):
    t, x = torch.empty(shape), zeros(shape)
    assert init._calculate_fan_in_and_fan_out(x) == torch.nn.init._calculate_fan_in_and_fan_out(t)
    assert init._calculate_fan_in_and_fan_out(Parameter(x)) == torch.nn.init._calculate_fan_in_and_fan_out(t)
    for mode in ("fan_in", "fan_out", "FAN_OUT"):
        assert init._calculate_correct_fan(x, mode) == torch.nn.init._calculate_correct_fan(t, mode)


@pytest.mark.parametrize("shape", [(), (7,)])
def test_fan_needs_two_dims(shape):
    assert_same_error(lambda: torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)),
                      lambda: init._calculate_fan_in_and_fan_out(zeros(shape)))
    assert_same_error(lambda: torch.nn.init.xavier_uniform_(torch.empty(shape)),
                      lambda: init.xavier_uniform_(zeros(shape)))
    assert_same_error(lambda: torch.nn.init.kaiming_normal_(torch.empty(shape)),
                      lambda: init.kaiming_normal_(zeros(shape)))


def test_bad_mode():
    assert_same_error(lambda: torch.nn.init._calculate_correct_fan(torch.empty(3, 4), "Fan_Avg"),
                      lambda: init._calculate_correct_fan(zeros((3, 4)), "Fan_Avg"))
    assert_same_error(lambda: torch.nn.init.kaiming_uniform_(torch.empty(3, 4), mode="fan"),
                      lambda: init.kaiming_uniform_(zeros((3, 4)), mode="fan"))


def test_bad_nonlinearity_in_kaiming():
    assert_same_error(lambda: torch.nn.init.kaiming_normal_(torch.empty(3, 4), nonlinearity="gelu"),
                      lambda: init.kaiming_normal_(zeros((3, 4)), nonlinearity="gelu"))
    assert_same_error(lambda: torch.nn.init.kaiming_uniform_(torch.empty(3, 4), a=True),
                      lambda: init.kaiming_uniform_(zeros((3, 4)), a=True))


# --- distributions ---------------------------------------------------------------------------
SHAPE = (256, 256)
CONV = (32, 64, 3, 3)
SMALL = (4, 6)  # for the semantics tests: the init kernels compile once per shape, so reuse it


@pytest.mark.parametrize(("a", "b"), [(0.0, 1.0), (-0.5, 2.0), (3.0, 3.0)])
def test_uniform(a, b):
    got = init.uniform_(zeros(SHAPE), a, b)
    expected = torch.nn.init.uniform_(torch.empty(SHAPE), a, b)
    g = np32(got)
    assert g.min() >= np.float32(a) and g.max() <= np.float32(b)
    if a < b:
        assert g.min() < a + 1e-3 * (b - a) and g.max() > b - 1e-3 * (b - a)
        assert_close_stats(got, expected, mean_tol=0.04, std_rtol=0.02)


def test_uniform_bad_range():
    assert_same_error(lambda: torch.nn.init.uniform_(torch.empty(3), 2.0, -2.0),
                      lambda: init.uniform_(zeros(3), 2.0, -2.0))


@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (1.5, 0.3), (-2.0, 0.0)])
def test_normal(mean, std):
    got = init.normal_(zeros(SHAPE), mean, std)
    expected = torch.nn.init.normal_(torch.empty(SHAPE), mean, std)
    if std == 0:
        np.testing.assert_array_equal(np32(got), np32(expected))
    else:
        assert_close_stats(got, expected, mean_tol=0.04, std_rtol=0.02)


def test_normal_negative_std():
    assert_same_error(lambda: torch.nn.init.normal_(torch.empty(3), 0.0, -1.5),
                      lambda: init.normal_(zeros(3), 0.0, -1.5))


def test_complex_normal_and_uniform():
    got = np.asarray(init.normal_(zeros(SHAPE, jnp.complex64), 1.0, 2.0))
    expected = torch.nn.init.normal_(torch.empty(SHAPE, dtype=torch.complex64), 1.0, 2.0).numpy()
    for part in (np.real, np.imag):
        assert_close_stats(part(got), torch.from_numpy(part(expected)), mean_tol=0.04, std_rtol=0.02)
    got = np.asarray(init.uniform_(zeros(SHAPE, jnp.complex64), -1.0, 1.0))
    for part in (np.real, np.imag):
        assert part(got).min() >= -1 and part(got).max() <= 1 and part(got).std() == pytest.approx(
            2 / math.sqrt(12), rel=0.02)


@pytest.mark.parametrize(("mean", "std", "a", "b"), [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 3.0),
                                                     (0.0, 0.02, -0.04, 0.04), (0.0, 1.0, 0.0, 5.0),
                                                     (1.0, 1.0, -10.0, 10.0)])
def test_trunc_normal(mean, std, a, b):
    got = init.trunc_normal_(zeros(SHAPE), mean, std, a, b)
    expected = torch.nn.init.trunc_normal_(torch.empty(SHAPE), mean, std, a, b)
    g = np32(got)
    assert g.min() >= np.float32(a) and g.max() <= np.float32(b)
    assert_close_stats(got, expected, mean_tol=0.04, std_rtol=0.02)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_trunc_normal_low_precision_bounds(dtype):
    got = init.trunc_normal_(zeros(SHAPE, dtype), 0.0, 1.0, -0.3, 0.7)
    assert got.dtype == dtype
    g = np32(got)
    assert g.min() >= float(jnp.asarray(-0.3, dtype)) and g.max() <= float(jnp.asarray(0.7, dtype))


def test_trunc_normal_warnings_and_errors():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(zeros(10), mean=10.0)
    for kwargs in ({"std": 0.0}, {"a": 2.0, "b": -2.0}):
        assert_same_error(lambda kw=kwargs: torch.nn.init.trunc_normal_(torch.empty(10), **kw),
                          lambda kw=kwargs: init.trunc_normal_(zeros(10), **kw))


@pytest.mark.parametrize("gain", [1.0, 0.5])
@pytest.mark.parametrize("shape", [SHAPE, CONV])
def test_xavier(shape, gain):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    got = np32(init.xavier_uniform_(zeros(shape), gain))
    assert np.abs(got).max() <= np.float32(bound) and np.abs(got).max() > 0.99 * bound
    expected = torch.nn.init.xavier_uniform_(torch.empty(shape), gain)
    assert_close_stats(got, expected, mean_tol=0.07, std_rtol=0.03)
    got = init.xavier_normal_(zeros(shape), gain)
    expected = torch.nn.init.xavier_normal_(torch.empty(shape), gain)
    assert_close_stats(got, expected, mean_tol=0.07, std_rtol=0.03)
    assert np32(got).std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize(("nonlinearity", "a"), [(n, 0) for n in NONLINEARITIES] + [("leaky_relu", 0.2)])
def test_kaiming(nonlinearity, a, mode):
    fan = torch.nn.init._calculate_correct_fan(torch.empty(CONV), mode)
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    got = np32(init.kaiming_uniform_(zeros(CONV), a, mode, nonlinearity))
    expected = torch.nn.init.kaiming_uniform_(torch.empty(CONV), a, mode, nonlinearity)
    assert np.abs(got).max() <= np.float32(bound) and np.abs(got).max() > 0.99 * bound
    assert_close_stats(got, expected, mean_tol=0.07, std_rtol=0.03)
    got = np32(init.kaiming_normal_(zeros(CONV), a, mode, nonlinearity))
    expected = torch.nn.init.kaiming_normal_(torch.empty(CONV), a, mode, nonlinearity)
    assert_close_stats(got, expected, mean_tol=0.07, std_rtol=0.03)
    assert got.std() == pytest.approx(std, rel=0.03)


@pytest.mark.parametrize("fn", ["kaiming_uniform_", "kaiming_normal_"])
@pytest.mark.parametrize("shape", [(0, 5), (0,), (3, 0, 2)])
def test_kaiming_zero_element_is_a_noop(fn, shape):
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        getattr(torch.nn.init, fn)(torch.empty(shape))
    p = Parameter(zeros(shape))
    before = p.jax()
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert getattr(init, fn)(p) is p
    assert p.jax() is before


@pytest.mark.parametrize("gain", [1.0, 2.5])
@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (4, 3, 2, 2), (12, 2, 2)])
def test_orthogonal(shape, gain):
    w = np.asarray(init.orthogonal_(zeros(shape), gain), np.float64)
    assert w.shape == shape
    rows = shape[0]
    flat = w.reshape(rows, -1)
    small = flat @ flat.T if rows <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(small, gain**2 * np.eye(len(small)), atol=1e-5 * gain**2)
    # torch satisfies the same identity; its spectrum matches ours.
    t = torch.nn.init.orthogonal_(torch.empty(shape), gain).double().numpy().reshape(rows, -1)
    np.testing.assert_allclose(np.linalg.svd(flat, compute_uv=False), np.linalg.svd(t, compute_uv=False),
                               atol=1e-5 * gain)


def test_orthogonal_is_haar_not_biased():
    # Without the sign correction by diag(R), Q's diagonal would be biased; with it E[Q_ii] = 0.
    diag = [np.diagonal(np.asarray(init.orthogonal_(zeros((10, 6))))) for _ in range(64)]
    assert abs(np.mean(diag)) < 0.1


def test_orthogonal_edge_cases():
    assert_same_error(lambda: torch.nn.init.orthogonal_(torch.empty(5)), lambda: init.orthogonal_(zeros(5)))
    p = Parameter(zeros((0, 4)))
    assert init.orthogonal_(p) is p and p.shape == (0, 4)
    w = np.asarray(init.orthogonal_(zeros(SMALL, jnp.bfloat16)), np.float64)
    np.testing.assert_allclose(w @ w.T, np.eye(4), atol=3e-2)


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.35, 1.0, 1.5, -0.2])
@pytest.mark.parametrize("shape", [(20, 30), SMALL, (0, 3), (3, 0)])
def test_sparse(shape, sparsity):
    got = np32(init.sparse_(zeros(shape), sparsity, std=0.5))
    expected = torch.nn.init.sparse_(torch.empty(shape), sparsity, std=0.5).numpy()
    np.testing.assert_array_equal((got == 0).sum(0), (expected == 0).sum(0))


def test_sparse_values_and_randomness():
    got = np32(init.sparse_(zeros((200, 100)), 0.3, std=0.05))
    expected = torch.nn.init.sparse_(torch.empty(200, 100), 0.3, std=0.05)
    assert_close_stats(got[got != 0], expected[expected != 0], mean_tol=0.05, std_rtol=0.03)
    zero_rows = got == 0
    assert len({tuple(np.flatnonzero(col)) for col in zero_rows.T}) > 90  # columns choose independently
    assert zero_rows.mean(1).std() < 0.1  # and each row is zeroed about as often


@pytest.mark.parametrize("shape", [(3, 4, 5), (5,), ()])
def test_sparse_needs_two_dims(shape):
    assert_same_error(lambda: torch.nn.init.sparse_(torch.empty(shape), 0.1),
                      lambda: init.sparse_(zeros(shape), 0.1))


# --- deterministic initialisers: exact ----------------------------------------------------------
@pytest.mark.parametrize(("shape", "dtype"), [
    ((3, 5), jnp.float32), ((5, 3), jnp.float32), ((4, 4), jnp.float32), ((0, 3), jnp.float32),
    ((3, 5), jnp.int32), ((3, 5), jnp.bool_),
])
def test_eye(shape, dtype):
    expected = torch.nn.init.eye_(torch.empty(shape, dtype=TORCH_DTYPES[dtype])).numpy()
    got = init.eye_(zeros(shape, dtype))
    assert got.dtype == dtype
    np.testing.assert_array_equal(np.asarray(got), expected)


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_eye_needs_two_dims(shape):
    assert_same_error(lambda: torch.nn.init.eye_(torch.empty(shape)), lambda: init.eye_(zeros(shape)))


@pytest.mark.parametrize(("shape", "groups"), [
    ((4, 4, 3), 1), ((3, 5, 4), 1), ((6, 3, 3, 3), 1), ((4, 6, 5, 5), 1), ((6, 4, 3, 3, 3), 1),
    ((6, 2, 3), 3), ((8, 4, 3, 3), 2), ((6, 4, 3, 2, 3), 3), ((8, 1, 2, 2), 4), ((0, 3, 3), 1),
    ((4, 0, 3), 2),
])
def test_dirac(shape, groups):
    expected = torch.nn.init.dirac_(torch.empty(shape), groups).numpy()
    got = init.dirac_(Parameter(full(shape, 7.0)), groups)
    np.testing.assert_array_equal(np.asarray(got.data), expected)


@pytest.mark.parametrize(("shape", "groups"),
                         [((3, 3), 1), ((2, 2, 2, 2, 2, 2), 1), ((6, 3, 3), 4), ((6, 3, 3), 0)])
def test_dirac_errors(shape, groups):
    assert_same_error(lambda: torch.nn.init.dirac_(torch.empty(shape), groups),
                      lambda: init.dirac_(zeros(shape), groups))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float16, jnp.int32, jnp.bool_])
def test_constant_ones_zeros(dtype):
    tdtype = TORCH_DTYPES[dtype]
    val = True if dtype == jnp.bool_ else 3
    for fn, args in (("constant_", (val,)), ("ones_", ()), ("zeros_", ())):
        expected = getattr(torch.nn.init, fn)(torch.empty(SMALL, dtype=tdtype), *args)
        got = getattr(init, fn)(full(SMALL, 5, dtype), *args)
        assert got.dtype == dtype
        np.testing.assert_array_equal(np32(got), np32(expected))
    p = Parameter(zeros(SMALL))
    assert init.constant_(p, Parameter(jnp.asarray(0.25))) is p
    np.testing.assert_array_equal(np.asarray(p.data), np.full(SMALL, 0.25, np.float32))


# --- in-place semantics ---------------------------------------------------------------------------
RANDOM_CASES = [
    ("uniform_", SMALL, {}), ("normal_", SMALL, {}), ("trunc_normal_", SMALL, {}),
    ("xavier_uniform_", SMALL, {}), ("xavier_normal_", SMALL, {}),
    ("kaiming_uniform_", SMALL, {}), ("kaiming_normal_", SMALL, {"mode": "fan_out"}),
    ("orthogonal_", SMALL, {"gain": 2.0}), ("sparse_", SMALL, {"sparsity": 0.5}),
]
DETERMINISTIC_CASES = [
    ("constant_", SMALL, {"val": 0.5}), ("ones_", SMALL, {}), ("zeros_", SMALL, {}), ("eye_", SMALL, {}),
    ("dirac_", (4, 2, 3, 3), {"groups": 2}),
]
ALL_CASES = RANDOM_CASES + DETERMINISTIC_CASES


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float16, jnp.bfloat16])
@pytest.mark.parametrize(("fn", "shape", "kwargs"), ALL_CASES)
def test_parameter_in_place(fn, shape, kwargs, dtype):
    p = Parameter(full(shape, 9, dtype))
    old = p.jax()
    assert getattr(init, fn)(p, **kwargs) is p
    assert p.jax() is not old and p.shape == shape and p.dtype == dtype
    assert np.all(np.isfinite(np32(p.data))) and not np.all(np32(p.data) == 9)
    np.testing.assert_array_equal(np32(old), 9)  # the old array was not touched


@pytest.mark.parametrize(("fn", "shape", "kwargs"), ALL_CASES)
def test_plain_array_returns_new_array(fn, shape, kwargs):
    x = full(shape, 9.0, jnp.float16)
    y = getattr(init, fn)(x, **kwargs)
    assert y is not x and y.shape == shape and y.dtype == x.dtype
    np.testing.assert_array_equal(np32(x), 9)
    z = getattr(init, fn)(np.full(shape, 9.0, np.float32), **kwargs)
    assert isinstance(z, jnp.ndarray) and z.shape == shape and z.dtype == jnp.float32


def test_lazy_parameter_refused():
    lazy = parameter.UninitializedParameter()
    with pytest.raises(ValueError, match="uninitialized parameter"):
        init.normal_(lazy)


@pytest.mark.parametrize("fn", ["uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "orthogonal_"])
def test_integer_tensor_refused(fn):
    torch_error = raised(getattr(torch.nn.init, fn), torch.empty(3, 4, dtype=torch.int32))
    assert isinstance(torch_error, NotImplementedError)
    with pytest.raises(NotImplementedError, match="int32"):
        getattr(init, fn)(zeros((3, 4), jnp.int32))


# --- reproducibility --------------------------------------------------------------------------------
@pytest.mark.parametrize(("fn", "shape", "kwargs"), RANDOM_CASES)
def test_manual_seed_reproducible(fn, shape, kwargs):
    _random.manual_seed(0)
    first = getattr(init, fn)(zeros(shape), **kwargs)
    third = getattr(init, fn)(zeros(shape), **kwargs)
    _random.manual_seed(0)
    second = getattr(init, fn)(zeros(shape), **kwargs)
    np.testing.assert_array_equal(np.asarray(first), np.asarray(second))
    assert not np.array_equal(np.asarray(first), np.asarray(third))


@pytest.mark.parametrize(("fn", "shape", "kwargs"), RANDOM_CASES)
def test_explicit_generator(fn, shape, kwargs):
    _random.manual_seed(5)
    state = np.asarray(_random.get_rng_state())
    a = getattr(init, fn)(zeros(shape), generator=_random.Generator().manual_seed(1), **kwargs)
    np.testing.assert_array_equal(np.asarray(_random.get_rng_state()), state)  # default stream untouched
    _random.manual_seed(99)
    b = getattr(init, fn)(zeros(shape), generator=_random.Generator().manual_seed(1), **kwargs)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    gen = _random.Generator().manual_seed(1)
    c = getattr(init, fn)(zeros(shape), generator=gen, **kwargs)
    d = getattr(init, fn)(zeros(shape), generator=gen, **kwargs)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(c))
    assert not np.array_equal(np.asarray(c), np.asarray(d))


# --- deprecated aliases -------------------------------------------------------------------------------
ALIASES = [
    ("uniform", SMALL, {}), ("normal", SMALL, {}), ("constant", SMALL, {"val": 2.0}), ("eye", SMALL, {}),
    ("dirac", (4, 2, 3, 3), {}), ("xavier_uniform", SMALL, {}), ("xavier_normal", SMALL, {}),
    ("kaiming_uniform", SMALL, {}), ("kaiming_normal", SMALL, {}), ("orthogonal", SMALL, {}),
    ("sparse", SMALL, {"sparsity": 0.5}),
]


def test_aliases_listed_like_torch():
    assert sorted(init.__all__) == sorted(torch.nn.init.__all__)


@pytest.mark.parametrize(("name", "shape", "kwargs"), ALIASES)
def test_deprecated_aliases(name, shape, kwargs):
    with pytest.warns(FutureWarning) as record:
        getattr(torch.nn.init, name)(torch.empty(shape), **kwargs)
    message = str(record[0].message)
    _random.manual_seed(3)
    with pytest.warns(FutureWarning) as record:
        got = getattr(init, name)(zeros(shape), **kwargs)
    assert str(record[0].message) == message
    assert record[0].filename == __file__  # points at the caller, as torch's does
    _random.manual_seed(3)
    expected = getattr(init, name + "_")(zeros(shape), **kwargs)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


def test_tensor_inputs_are_written_in_place_and_returned():
    """As in torch for any tensor (not only Parameters): the same object back, changed in place, also
    through a view into its base; a raw array input is left alone and a new array returned."""
    t = torchjax.zeros(3, 4)
    assert init.normal_(t) is t and float(abs(t).sum()) > 0
    row = t[1]
    assert init.ones_(row) is row
    np.testing.assert_array_equal(t.numpy()[1], np.ones(4, np.float32))
    assert init.xavier_uniform_(t) is t and type(t) is torchjax.Tensor
    raw = jnp.zeros((3, 4))
    out = init.ones_(raw)
    assert type(out) is not torchjax.Tensor and float(out.sum()) == 12 and float(raw.sum()) == 0

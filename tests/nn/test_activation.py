"""Activation modules and functions against torch: values and gradients (kinks included) eager and
compiled, reprs, errors and warnings, low precision, and the random ones (RReLU, gumbel_softmax)
by their statistics."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, check_forward_and_gradients, load_torch_state, raises_same, to_numpy

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

RNG = np.random.default_rng(0)
SHAPE = (4, 3, 6)
# Every kink and branch boundary of the piecewise activations, where gradient conventions differ.
KINKS = np.array([0.0, 1.0, -1.0, 0.5, -0.5, 3.0, -3.0, 6.0, 20.0, -2.0, 2.0, 0.1, -3.5, 10.0, 0.25, -0.1, 5.0, -6.0],
                 np.float32)


def _input() -> np.ndarray:
    x = (RNG.standard_normal(SHAPE) * 3).astype(np.float32)
    x.reshape(-1)[: KINKS.size] = KINKS
    return x


HAND_PICKED = [
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("ReLU6", (), {}), ("ReLU6", (), dict(inplace=True)),
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}), ("LeakyReLU", (-0.5,), {}),
    ("PReLU", (), {}), ("PReLU", (3,), dict(init=-0.1)), ("RReLU", (0.1, 0.3), {}), ("RReLU", (), dict(inplace=True)),
    ("ELU", (), {}), ("ELU", (0.5, True), {}), ("CELU", (), {}), ("CELU", (2.0,), {}), ("SELU", (), {}),
    ("GELU", (), {}), ("GELU", ("tanh",), {}), ("SiLU", (), {}), ("Mish", (True,), {}), ("Sigmoid", (), {}),
    ("Tanh", (), {}), ("Hardtanh", (), {}), ("Hardtanh", (-2.0, 0.5), {}),
    ("Hardtanh", (), dict(min_val=-0.5, max_val=3)),
    ("Hardsigmoid", (), {}), ("Hardswish", (), {}), ("Hardshrink", (), {}), ("Hardshrink", (1.0,), {}),
    ("Softshrink", (), {}), ("Softshrink", (1.0,), {}), ("Tanhshrink", (), {}), ("Softsign", (), {}),
    ("Softplus", (), {}), ("Softplus", (2, 10), {}), ("Softplus", (0.5, 1), {}), ("LogSigmoid", (), {}),
    ("Threshold", (0.1, 20), {}), ("Threshold", (-1, -3.5, True), {}), ("GLU", (), {}), ("GLU", (0,), {}),
    ("Softmax", (1,), {}), ("Softmax", (-1,), {}), ("LogSoftmax", (0,), {}), ("Softmin", (1,), {}),
    ("Softmax2d", (), {}),
]


def _random_configs(count: int, seed: int = 2) -> list:
    """Seeded random hyper-parameters for the parameterized activations."""
    rng = np.random.default_rng(seed)
    makers = [
        lambda: ("LeakyReLU", (float(rng.uniform(-1, 1)),), {}),
        lambda: ("ELU", (float(rng.uniform(0.1, 3)),), {}),
        lambda: ("CELU", (float(rng.uniform(0.1, 3)),), {}),
        lambda: ("Softplus", (float(rng.uniform(0.2, 3)), float(rng.uniform(1, 20))), {}),
        lambda: ("Hardtanh", tuple(sorted(float(v) for v in rng.uniform(-4, 4, 2))), {}),
        lambda: ("Threshold", (float(rng.uniform(-2, 2)), float(rng.uniform(-5, 5))), {}),
        lambda: ("Softshrink", (float(rng.uniform(0, 2)),), {}),
        lambda: ("Hardshrink", (float(rng.uniform(0, 2)),), {}),
        lambda: ("PReLU", (int(rng.choice([1, 3])),), dict(init=float(rng.uniform(-1, 1)))),
        lambda: ("RReLU", tuple(sorted(float(v) for v in rng.uniform(0, 1, 2))), {}),
    ]
    return [makers[i % len(makers)]() for i in range(count)]


CONFIGS = HAND_PICKED + _random_configs(10)


@pytest.mark.parametrize("name,args,kwargs", CONFIGS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)])
def test_module_matches_torch(name, args, kwargs):
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    ours = getattr(tnn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    if getattr(theirs, "inplace", False):
        theirs.inplace = False  # torch cannot write into the leaf input the parity check differentiates
    load_torch_state(ours, theirs)
    if name == "RReLU":  # random in training; its eval mode is deterministic (training: see below)
        theirs.eval(), ours.eval()
    # Eagerly for the first configuration of each class only: op-by-op execution dominates test time.
    eager = next(c for c in CONFIGS if c[0] == name) == (name, args, kwargs)
    check_forward_and_gradients(theirs, ours, _input(), atol=1e-5, rtol=1e-5, eager=eager)


def test_prelu_parameter():
    for lib in (torch.nn, tnn):
        assert [(n, tuple(p.shape)) for n, p in lib.PReLU(3, init=0.5).named_parameters()] == [("weight", (3,))]
    assert_close(tnn.PReLU(3, init=0.5).weight, np.full(3, 0.5, np.float32), atol=0)
    assert tnn.PReLU(dtype=torchjax.bfloat16).weight.dtype == jnp.bfloat16


def _t(a):
    return torch.tensor(np.asarray(a, np.float32))


def _j(a):
    return jnp.asarray(np.asarray(a, np.float32))


def _fresh(x):
    """A copy for torch's in-place functions to write into (jax arrays are never written)."""
    return x.clone() if isinstance(x, torch.Tensor) else x


FUNCTIONAL = [
    lambda F, a, x: F.tanh(x), lambda F, a, x: F.sigmoid(x), lambda F, a, x: F.relu(x, inplace=True),
    lambda F, a, x: F.hardtanh(x, min_val=-2.0, max_val=2.0), lambda F, a, x: F.hardtanh(x, 1.0, 1.0),
    lambda F, a, x: F.relu6(x), lambda F, a, x: F.elu(x, alpha=0.3), lambda F, a, x: F.selu(x),
    lambda F, a, x: F.celu(x, alpha=1.5), lambda F, a, x: F.leaky_relu(x, negative_slope=0.3),
    lambda F, a, x: F.prelu(x, a([0.1, -0.2, 0.3])), lambda F, a, x: F.prelu(x, a(0.2)),
    lambda F, a, x: F.rrelu(x, 0.2, 0.4), lambda F, a, x: F.gelu(x, approximate="tanh"), lambda F, a, x: F.silu(x),
    lambda F, a, x: F.mish(x), lambda F, a, x: F.logsigmoid(x), lambda F, a, x: F.hardshrink(x, lambd=0.7),
    lambda F, a, x: F.tanhshrink(x), lambda F, a, x: F.softsign(x), lambda F, a, x: F.softplus(x, beta=3, threshold=4),
    lambda F, a, x: F.softmin(x, dim=2),
    lambda F, a, x: F.softshrink(x, 0.2), lambda F, a, x: F.threshold(x, 0.5, -1.0), lambda F, a, x: F.glu(x, dim=-1),
    lambda F, a, x: F.hardsigmoid(x), lambda F, a, x: F.hardswish(x), lambda F, a, x: F.softmax(x, 1),
    lambda F, a, x: F.log_softmax(x, -1), lambda F, a, x: F.prelu(a(-2.0).reshape(()), a([0.5])),
    # The in-place spellings: torch writes into a copy here; ours return the result.
    lambda F, a, x: F.relu_(_fresh(x)),
    lambda F, a, x: F.threshold_(_fresh(x), 0.5, 2.0),
    lambda F, a, x: F.hardtanh_(_fresh(x), -0.5, 0.5),
    lambda F, a, x: F.elu_(_fresh(x), 0.5),
    lambda F, a, x: F.selu_(_fresh(x)),
    lambda F, a, x: F.celu_(_fresh(x), 2.0),
    lambda F, a, x: F.leaky_relu_(_fresh(x), 0.3),
    lambda F, a, x: F.rrelu_(_fresh(x), 0.2, 0.3),
]


def test_functional_forms_match_torch():
    x = _input()
    for i, call in enumerate(FUNCTIONAL):
        assert_close(call(F, _j, jnp.asarray(x)), call(torch.nn.functional, _t, torch.tensor(x)), atol=1e-5), i


X = np.zeros(SHAPE, np.float32)


@pytest.mark.parametrize("call", [
    lambda nn, F, a: nn.Hardtanh(1, 1),
    lambda nn, F, a: nn.Hardtanh(2, 1),
    lambda nn, F, a: F.hardtanh(a(X), 2, 1),
    lambda nn, F, a: F.rrelu(a(X), 0.5, 0.2, training=True),
    lambda nn, F, a: nn.RReLU(0.5, 0.2)(a(X)),
    lambda nn, F, a: F.celu(a(X), 0.0),
    lambda nn, F, a: F.gelu(a(X), approximate="foo"),
    lambda nn, F, a: nn.GELU("foo")(a(X)),
    lambda nn, F, a: F.glu(a(np.zeros((4, 3, 5))), 1),
    lambda nn, F, a: nn.GLU()(a(np.zeros((4, 5)))),
    lambda nn, F, a: F.glu(a(1.0), 0),
    lambda nn, F, a: F.glu(a(X), 3),
    lambda nn, F, a: F.softshrink(a(X), -1),
    lambda nn, F, a: nn.Softmax2d()(a(np.zeros((3, 4)))),
    lambda nn, F, a: nn.Softmax2d()(a(np.zeros((1, 2, 3, 4, 5)))),
    lambda nn, F, a: F.prelu(a(X), a(np.ones(4))),
    lambda nn, F, a: F.prelu(a(1.0), a(np.ones(4))),
    lambda nn, F, a: F.prelu(a(np.zeros(3)), a(np.ones(3))),
    lambda nn, F, a: F.prelu(a(X), a(np.ones((3, 1)))),
    lambda nn, F, a: nn.PReLU(4)(a(X)),
    lambda nn, F, a: F.softmax(a(X), 3),
    lambda nn, F, a: nn.LogSoftmax(-4)(a(X)),
    lambda nn, F, a: nn.Tanh(1),
    lambda nn, F, a: nn.Sigmoid(inplace=True),
], ids=lambda c: "")
def test_errors_match_torch(call):
    raises_same(lambda: call(torch.nn, torch.nn.functional, _t), lambda: call(tnn, F, _j))


def test_warnings_match_torch():
    x = _input()
    for nn, F_, value in ((torch.nn, torch.nn.functional, torch.tensor(x)), (tnn, F, jnp.asarray(x))):
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
            nn.Softmin()(value)
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            F_.softmax(value)
        with pytest.warns(FutureWarning, match="`min_value` is deprecated"):
            assert nn.Hardtanh(min_value=-2.0).min_val == -2.0
        with pytest.warns(FutureWarning, match="`max_value` is deprecated"):
            assert nn.Hardtanh(max_value=2.0).max_val == 2.0
        with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
            F_.gumbel_softmax(value, eps=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            nn.Softmin(0)(value)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_low_precision_keeps_dtype_and_matches_torch(dtype):
    x = _input()
    x_j = jnp.asarray(x).astype(dtype)
    x_t = torch.tensor(to_numpy(x_j.astype(jnp.float32))).to(getattr(torch, dtype))
    for name, args in [("GELU", ()), ("SiLU", ()), ("Softplus", ()), ("ELU", ()), ("Hardswish", ()), ("Mish", ()),
                       ("LogSigmoid", ()), ("Softmax", (1,)), ("LogSoftmax", (2,)), ("Softmin", (0,)),
                       ("Hardtanh", ()), ("LeakyReLU", ())]:
        out = getattr(tnn, name)(*args)(x_j)
        assert out.dtype == jnp.dtype(dtype), name
        assert_close(out.astype(jnp.float32), getattr(torch.nn, name)(*args)(x_t).float(), atol=2e-2, rtol=2e-2)
    # Softmin over a long row: float32 accumulation keeps the sum at 1.
    long_row = jnp.asarray(RNG.standard_normal((2, 4000))).astype(dtype)
    total = F.softmin(long_row, dim=1).astype(jnp.float32).sum(axis=1)
    np.testing.assert_allclose(np.asarray(total), 1.0, atol=2e-2)


def test_rrelu_training_draws_slopes_from_the_generator():
    lower, upper = 0.1, 0.4
    x = jnp.concatenate([-jnp.ones((200, 50)), jnp.ones((200, 50))], axis=1)
    torchjax.manual_seed(3)
    out = F.rrelu(x, lower, upper, training=True)
    slopes = -np.asarray(out[:, :50])
    np.testing.assert_array_equal(np.asarray(out[:, 50:]), 1.0)
    assert slopes.min() >= lower and slopes.max() <= upper
    # U(lower, upper): mean (l+u)/2, std (u-l)/sqrt(12); 10000 draws, 6 standard errors.
    assert abs(slopes.mean() - (lower + upper) / 2) < 6 * (upper - lower) / np.sqrt(12 * slopes.size)
    assert abs(slopes.std() - (upper - lower) / np.sqrt(12)) < 0.01
    torchjax.manual_seed(3)
    grad = jax.grad(lambda v: F.rrelu(v, lower, upper, training=True).sum().jax())(x)  # same draw: d out / d x = slope
    np.testing.assert_allclose(np.asarray(grad[:, :50]), slopes, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(grad[:, 50:]), 1.0)
    # The module: training draws, fresh on every compiled step, reproducible from the seed.
    module = tnn.RReLU(lower, upper)
    step = torchjax.compile(lambda m, v: m(v))
    torchjax.manual_seed(7)
    first, second = np.asarray(step(module, x)), np.asarray(step(module, x))
    assert not np.array_equal(first, second)
    torchjax.manual_seed(7)
    np.testing.assert_array_equal(np.asarray(step(module, x)), first)
    module.eval()
    np.testing.assert_allclose(np.asarray(module(x[:, :50])), -(lower + upper) / 2, rtol=1e-6)


def test_gumbel_softmax_statistics():
    probs = np.array([0.1, 0.2, 0.3, 0.4], np.float32)
    logits = jnp.asarray(np.log(np.tile(probs, (4000, 1))))
    weights = jnp.asarray(RNG.standard_normal(logits.shape).astype(np.float32))
    torchjax.manual_seed(0)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(np.asarray(soft.sum(axis=1)), 1.0, rtol=1e-5)
    torchjax.manual_seed(0)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    assert set(np.unique(np.asarray(hard))) == {0.0, 1.0} and np.all(np.asarray(hard.sum(axis=1)) == 1)
    np.testing.assert_array_equal(np.asarray(hard.argmax(1)), np.asarray(soft.argmax(1)))
    # The argmax of logits + Gumbel noise is a sample of softmax(logits).
    frequencies = np.bincount(np.asarray(hard.argmax(1)), minlength=4) / 4000
    np.testing.assert_allclose(frequencies, probs, atol=0.03)
    # Straight-through: the hard sample's gradient is the soft sample's.
    grads = []
    for hard_flag in (False, True):
        torchjax.manual_seed(0)
        grads.append(jax.grad(lambda v, h=hard_flag: (F.gumbel_softmax(v, tau=0.5, hard=h) * weights).sum().jax())(
            logits))
    np.testing.assert_allclose(np.asarray(grads[0]), np.asarray(grads[1]), rtol=1e-5, atol=1e-6)
    torchjax.manual_seed(0)
    np.testing.assert_array_equal(np.asarray(F.gumbel_softmax(logits, tau=0.5)), np.asarray(soft))
    on_axis_0 = F.gumbel_softmax(logits.T, dim=0, hard=True)
    np.testing.assert_array_equal(np.asarray(on_axis_0.sum(axis=0)), 1.0)


def test_activations_under_vmap_and_compile_with_generator():
    x = jnp.asarray(_input())
    fns = (F.gelu, F.silu, F.hardswish, lambda v: F.glu(v, -1), lambda v: F.softmin(v, -1))
    batched = jax.jit(lambda v: [jax.vmap(fn)(v) for fn in fns])(x)
    single = jax.jit(lambda v: [fn(v) for fn in fns])
    sliced = [single(s) for s in x]
    for i, out in enumerate(batched):
        np.testing.assert_allclose(np.asarray(out), np.stack([np.asarray(s[i]) for s in sliced]), rtol=1e-6)
    generator = torchjax.Generator().manual_seed(5)
    a = F.rrelu(x, training=True, generator=generator)
    generator.manual_seed(5)
    np.testing.assert_array_equal(np.asarray(F.rrelu(x, training=True, generator=generator)), np.asarray(a))

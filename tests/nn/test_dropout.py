"""Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout (modules and F). Random streams
differ from torch's, so training mode is tested by its statistics (keep rate, scaling, whole-channel
masks, AlphaDropout's mean and variance) and reproducibility; the rest (eval, p=0/1, reprs, errors,
warnings) against torch directly."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import raises_same

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

RNG = np.random.default_rng(0)
CLASSES = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]
# An input each class accepts without a warning.
SHAPES = {"Dropout": (4, 6), "Dropout1d": (4, 6, 5), "Dropout2d": (4, 6, 3, 5), "Dropout3d": (4, 6, 2, 3, 5),
          "AlphaDropout": (4, 6), "FeatureAlphaDropout": (4, 6, 5)}


def _sigma_bound(p: float, n: int, sigmas: float = 5.0) -> float:
    """A bound on |observed rate - p| for n Bernoulli(p) draws that a correct sampler essentially never breaks."""
    return sigmas * np.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("name", CLASSES)
def test_module_api_eval_and_edge_probabilities_match_torch(name):
    for args in ((), (0.2,), (0.7, True)):
        assert repr(getattr(tnn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
    raises_same(lambda: getattr(torch.nn, name)(1.5), lambda: getattr(tnn, name)(1.5))
    raises_same(lambda: getattr(torch.nn, name)(-0.1), lambda: getattr(tnn, name)(-0.1))
    x = RNG.standard_normal(SHAPES[name]).astype(np.float32)
    module = getattr(tnn, name)(0.5).eval()
    x_j = torchjax.tensor(x)
    assert module(x_j) is x_j  # identity in eval
    assert getattr(tnn, name)(0.0)(x_j) is x_j
    theirs = getattr(torch.nn, name)(1.0)(torch.tensor(x))
    np.testing.assert_array_equal(np.asarray(getattr(tnn, name)(1.0)(x_j)), theirs.numpy())
    step = torchjax.compile(lambda m, v: m(v))
    np.testing.assert_array_equal(np.asarray(step(module, x_j)), x)


def test_dropout_keep_rate_scaling_and_gradient():
    p = 0.3
    x = jnp.ones((128, 256))
    torchjax.manual_seed(0)
    out = np.asarray(tnn.Dropout(p)(x))
    assert set(np.unique(out)) == {0.0, np.float32(1 / (1 - p))}
    dropped = (out == 0).mean()
    assert abs(dropped - p) < _sigma_bound(p, out.size)
    assert abs(out.mean() - 1) < 5 * np.sqrt(p / (1 - p) / out.size)  # unbiased: E[out] = x
    torchjax.manual_seed(0)
    grad = jax.grad(lambda v: F.dropout(v, p).sum().jax())(x)  # same mask: d out / d x = mask / (1 - p)
    np.testing.assert_array_equal(np.asarray(grad), out)


@pytest.mark.parametrize("name,fn,shape,batched", [
    ("Dropout1d", F.dropout1d, (64, 32, 5), True),
    ("Dropout1d", F.dropout1d, (2048, 5), False),
    ("Dropout2d", F.dropout2d, (64, 32, 3, 5), True),
    ("Dropout2d", F.dropout2d, (64, 32, 5), True),  # 3D: torch's (N, C, L) reading, with a warning
    ("Dropout3d", F.dropout3d, (64, 32, 2, 3, 5), True),
    ("Dropout3d", F.dropout3d, (2048, 2, 3, 5), False),
])
def test_feature_dropout_drops_whole_channels(name, fn, shape, batched):
    p = 0.4
    x = jnp.ones(shape)
    torchjax.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = np.asarray(getattr(tnn, name)(p)(x))
    channels = out.reshape(shape[:2] + (-1,)) if batched else out.reshape(shape[:1] + (-1,))
    per_channel = channels[..., 0:1]
    np.testing.assert_array_equal(channels, np.broadcast_to(per_channel, channels.shape))  # one draw per channel
    assert set(np.unique(per_channel)) == {0.0, np.float32(1 / (1 - p))}
    assert abs((per_channel == 0).mean() - p) < _sigma_bound(p, per_channel.size)
    # The functional form draws the same mask from the same seed.
    torchjax.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(np.asarray(fn(x, p)), out)


@pytest.mark.parametrize("name,feature", [("AlphaDropout", False), ("FeatureAlphaDropout", True)])
def test_alpha_dropout_keeps_zero_mean_and_unit_variance(name, feature):
    p = 0.2
    shape = (512, 256, 2) if feature else (256, 512)
    x = jnp.asarray(RNG.standard_normal(shape).astype(np.float32))
    torchjax.manual_seed(2)
    out = np.asarray(getattr(tnn, name)(p)(x))
    assert abs(out.mean()) < 0.02 and abs(out.var() - 1) < 0.03
    # Dropped units all take the same value, a * (-alpha') + b, with torch's constants.
    alpha = 1.7580993408473766
    a = 1 / np.sqrt((alpha**2 * p + 1) * (1 - p))
    dropped_value = np.float32(alpha * a * (p - 1))
    dropped = np.isclose(out, dropped_value, atol=1e-6)
    if feature:  # a whole channel or nothing (a kept unit may land on the value by chance: both must)
        dropped = np.broadcast_to(dropped.all(axis=-1, keepdims=True), dropped.shape)
    assert abs(dropped.mean() - p) < _sigma_bound(p, dropped.size if not feature else dropped[..., 0].size)
    kept = ~dropped
    np.testing.assert_allclose(out[kept], np.asarray(x)[kept] * a + alpha * a * p, rtol=1e-5, atol=1e-6)
    # torch: the same statistics.
    torch.manual_seed(2)
    theirs = getattr(torch.nn, name)(p)(torch.tensor(np.asarray(x))).numpy()
    assert abs(theirs.mean() - out.mean()) < 0.03 and abs(theirs.var() - out.var()) < 0.04
    assert np.isclose(theirs, dropped_value, atol=1e-6).any()


def test_functional_alpha_dropout_defaults_to_eval():
    x = torchjax.ones(4, 3, 2)
    assert F.alpha_dropout(x) is x and F.feature_alpha_dropout(x, 0.5) is x
    assert F.dropout(x, training=False) is x
    assert not np.array_equal(np.asarray(F.alpha_dropout(x, 0.5, training=True)), np.asarray(x))


def test_reproducible_with_manual_seed_and_fresh_on_each_compiled_step():
    model = tnn.ModuleList([tnn.Dropout(0.5), tnn.Dropout2d(0.5), tnn.AlphaDropout(0.5)])
    x, x4 = jnp.ones((4, 8)), jnp.ones((4, 8, 3, 3))

    def forward(m, v, v4):
        return m[0](v), m[1](v4), m[2](v)

    step = torchjax.compile(forward)
    torchjax.manual_seed(0)
    first = [np.asarray(o) for o in step(model, x, x4)]
    second = [np.asarray(o) for o in step(model, x, x4)]
    for a, b in zip(first, second, strict=True):
        assert not np.array_equal(a, b)  # the generator's key is threaded: a new mask per step
    torchjax.manual_seed(0)
    for a, b in zip(first, [np.asarray(o) for o in step(model, x, x4)], strict=True):
        np.testing.assert_array_equal(a, b)
    # Eager draws the same masks as the compiled step from the same seed.
    torchjax.manual_seed(0)
    for a, b in zip(first, [np.asarray(o) for o in forward(model, x, x4)], strict=True):
        np.testing.assert_array_equal(a, b)
    generator = torchjax.Generator().manual_seed(4)
    masked = F.dropout(x4, 0.5, generator=generator)
    generator.manual_seed(4)
    np.testing.assert_array_equal(np.asarray(F.dropout(x4, 0.5, generator=generator)), np.asarray(masked))


@pytest.mark.parametrize("call", [
    lambda F, a: F.dropout1d(a(np.ones((2, 3, 4, 5)))),
    lambda F, a: F.dropout1d(a(np.ones(3))),
    lambda F, a: F.dropout2d(a(np.ones(3))),
    lambda F, a: F.feature_alpha_dropout(a(np.ones(3)), training=True),
    lambda F, a: F.dropout(a(np.ones(3)), p=1.5),
    lambda F, a: F.alpha_dropout(a(np.ones(3)), p=-0.5),
])
def test_errors_match_torch(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raises_same(lambda: call(torch.nn.functional, lambda v: torch.tensor(v, dtype=torch.float32)),
                    lambda: call(F, lambda v: jnp.asarray(v, jnp.float32)))


@pytest.mark.parametrize("name,shape,message", [
    ("dropout2d", (2, 3), "Received a 2-D input to dropout2d"),
    ("dropout2d", (2, 3, 4), "Received a 3D input to dropout2d"),
    ("dropout3d", (2, 3, 4), "Received a 3-D input to dropout3d"),
    ("dropout3d", (1, 2, 3, 4, 1, 1), "Received a 6-D input to dropout3d"),
])
def test_shape_warnings_match_torch(name, shape, message):
    x = np.ones(shape, np.float32)
    for fn, value in ((getattr(torch.nn.functional, name), torch.tensor(x)), (getattr(F, name), jnp.asarray(x))):
        with pytest.warns(UserWarning, match=message):
            assert tuple(fn(value).shape) == shape


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_low_precision_keeps_dtype(dtype):
    x = jnp.ones((64, 32, 4), dtype)
    for fn in (F.dropout, F.dropout1d, F.alpha_dropout, F.feature_alpha_dropout):
        out = fn(x, 0.25, training=True)
        assert out.dtype == jnp.dtype(dtype)
    kept = np.asarray(F.dropout(x, 0.25).astype(jnp.float32))
    assert set(np.unique(kept)) == {0.0, np.float32(jnp.asarray(1 / 0.75, dtype))}

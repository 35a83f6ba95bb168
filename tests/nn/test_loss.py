"""cross_entropy / nll_loss (functional and modules) and the softmax activations against torch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import raises_same, to_numpy

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

RNG = np.random.default_rng(0)


def make_case(shape, classes, probabilities=False, ignore=False):
    x = RNG.standard_normal(shape).astype(np.float32)
    target_shape = (shape[0], *shape[2:]) if len(shape) >= 2 else ()
    if probabilities:
        t = RNG.random(shape).astype(np.float32)
        t = t / t.sum(axis=1 if len(shape) >= 2 else 0, keepdims=True)
    else:
        t = RNG.integers(0, classes, size=target_shape)
        if ignore and t.size:
            t.reshape(-1)[0] = -100
    return x, t


CONFIGS = [
    # shape, options, probability targets
    ((6, 5), {}, False),
    ((6, 5), {"weight": True, "reduction": "sum"}, False),
    ((6, 5), {"label_smoothing": 0.25, "ignore": True}, False),
    ((6, 5), {"weight": True, "label_smoothing": 0.1, "ignore": True}, False),
    ((3, 4, 2, 3), {"reduction": "none", "ignore": True}, False),
    ((3, 4, 2, 3), {"weight": True, "label_smoothing": 0.2}, False),
    ((5,), {}, False),
    ((6, 5), {}, True),
    ((6, 5), {"weight": True, "label_smoothing": 0.3, "reduction": "none"}, True),
    ((2, 3, 4), {"reduction": "sum"}, True),
]


@pytest.mark.parametrize("shape,options,probabilities", CONFIGS)
def test_cross_entropy_values_and_gradients_match_torch(shape, options, probabilities):
    options = dict(options)
    classes = shape[1] if len(shape) >= 2 else shape[0]
    x, t = make_case(shape, classes, probabilities, options.pop("ignore", False))
    weight = np.linspace(0.5, 2.0, classes).astype(np.float32) if options.pop("weight", False) else None
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.cross_entropy(xt, torch.tensor(t), weight=None if weight is None else
                                              torch.tensor(weight), **options)
    out_t.sum().backward()

    def ours(v):
        return F.cross_entropy(v, jnp.asarray(t), weight=None if weight is None else jnp.asarray(weight), **options)

    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(x))), to_numpy(out_t), rtol=1e-5, atol=1e-6)
    grad = jax.grad(lambda v: ours(v).sum())(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(grad), to_numpy(xt.grad), rtol=1e-5, atol=1e-6)
    module = tnn.CrossEntropyLoss(weight=None if weight is None else jnp.asarray(weight), **options)
    compiled = torchjax.compile(lambda m, v, target: m(v, target))
    np.testing.assert_allclose(np.asarray(compiled(module, jnp.asarray(x), jnp.asarray(t))), to_numpy(out_t),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_torch(reduction):
    x, t = make_case((7, 4), 4, ignore=True)
    weight = np.array([1.0, 0.5, 2.0, 1.5], np.float32)
    logp = torch.log_softmax(torch.tensor(x), 1)
    expected = torch.nn.NLLLoss(weight=torch.tensor(weight), reduction=reduction)(logp, torch.tensor(t))
    ours = tnn.NLLLoss(weight=jnp.asarray(weight), reduction=reduction)(jnp.asarray(to_numpy(logp)), jnp.asarray(t))
    np.testing.assert_allclose(np.asarray(ours), to_numpy(expected), rtol=1e-5, atol=1e-6)


def test_loss_module_state_and_legacy_arguments():
    m = tnn.CrossEntropyLoss(weight=jnp.ones(3))
    assert list(m.state_dict()) == ["weight"] and repr(m) == repr(torch.nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert tnn.NLLLoss().weight is None and list(tnn.NLLLoss().state_dict()) == []
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert tnn.NLLLoss(size_average=False).reduction == "sum"


def test_all_ignored_mean_is_nan_like_torch():
    x, t = np.zeros((2, 3), np.float32), np.array([-100, -100])
    assert np.isnan(float(F.cross_entropy(jnp.asarray(x), jnp.asarray(t))))
    assert torch.isnan(torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t)))


@pytest.mark.parametrize("build", [
    lambda lib, x, t: lib.cross_entropy(x(np.zeros((3, 4), np.float32)), t(np.array([0, 1, 7]))),
    lambda lib, x, t: lib.cross_entropy(x(np.zeros((3, 4), np.float32)), t(np.array([0, 1]))),
    lambda lib, x, t: lib.cross_entropy(x(np.zeros((3, 4), np.float32)), t(np.array([0, 1, 2])), label_smoothing=1.5),
    lambda lib, x, t: lib.cross_entropy(x(np.zeros((3, 4), np.float32)), t(np.array([0, 1, 2])), reduction="avg"),
    lambda lib, x, t: lib.nll_loss(x(np.zeros((3, 4), np.float32)), t(np.array([0, -3, 2]))),
])
def test_invalid_arguments_raise_torchs_exception_types(build):
    raises_same(lambda: build(torch.nn.functional, torch.tensor, torch.tensor),
                lambda: build(F, jnp.asarray, jnp.asarray))


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision_accumulates_in_float32(dtype):
    x = jnp.asarray(RNG.standard_normal((4, 300)) * 8, dtype)
    reference = jax.nn.log_softmax(x.astype(jnp.float32), axis=1)
    out = F.log_softmax(x, dim=1)
    assert out.dtype == dtype
    np.testing.assert_allclose(np.asarray(out, np.float32), np.asarray(reference), rtol=2e-2, atol=5e-2)


@pytest.mark.parametrize("dim", [0, 1, -1, None])
def test_softmax_modules_match_torch(dim):
    x = RNG.standard_normal((3, 5)).astype(np.float32)
    for ours, theirs in ((tnn.Softmax(dim), torch.nn.Softmax(dim)), (tnn.LogSoftmax(dim), torch.nn.LogSoftmax(dim))):
        with pytest.warns(UserWarning) if dim is None else _no_warning():
            out = ours(jnp.asarray(x))
        with pytest.warns(UserWarning) if dim is None else _no_warning():
            expected = theirs(torch.tensor(x))
        np.testing.assert_allclose(np.asarray(out), to_numpy(expected), rtol=1e-5, atol=1e-6)
        assert repr(ours) == repr(theirs)
    assert repr(tnn.ReLU(inplace=True)) == repr(torch.nn.ReLU(inplace=True))
    np.testing.assert_array_equal(np.asarray(tnn.ReLU()(jnp.asarray(x))), np.maximum(x, 0))


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

"""Regression tests for the parity defects of issue 14, each against torch: all-ignored class targets
(NaN loss, zero gradients), KLDivLoss's NaN propagation, weight/input dtype checks, buffer registration
hooks fired once, MultiheadAttention's gradients."""

from __future__ import annotations

import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, global_hooks_removed, raises_same

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F
from torchjax._tensor import unwrap

RNG = np.random.default_rng(14)


def _value_and_grad(fn, x: np.ndarray):
    """``fn(x)`` and the gradient of its sum, with the result unwrapped whatever the function returns."""
    return jax.value_and_grad(lambda v: unwrap(fn(v)).sum())(jnp.asarray(x))


def _torch_value_and_grad(fn, x: np.ndarray):
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt)
    out.sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


def _assert_same_nan(ours, theirs, atol=1e-6):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, atol=atol, rtol=1e-5, equal_nan=True)


# --------------------------------------------------------------------------- 1. every target ignored

_ALL_IGNORED = [
    # name, input shape, keyword arguments (ignore_index 1 everywhere; every target is 1)
    ("cross_entropy", (2, 3), {}),
    ("cross_entropy", (2, 3), {"label_smoothing": 0.2}),
    ("cross_entropy", (2, 3), {"weight": True, "label_smoothing": 0.1}),
    ("cross_entropy", (2, 3, 2, 2), {}),
    ("cross_entropy", (2, 3, 2), {"weight": True, "label_smoothing": 0.3}),
    ("cross_entropy", (3,), {}),
    ("nll_loss", (2, 3), {}),
    ("nll_loss", (2, 3), {"weight": True}),
    ("nll_loss", (2, 3, 4), {}),
    ("nll_loss", (3,), {"weight": True}),
]


@pytest.mark.parametrize("name,shape,kwargs", _ALL_IGNORED)
def test_all_ignored_targets_give_nan_loss_and_zero_gradients(name, shape, kwargs):
    x = RNG.standard_normal(shape).astype(np.float32)
    target = np.ones((shape[0], *shape[2:]) if len(shape) > 1 else (), np.int64)
    weight = np.linspace(0.5, 2, shape[1] if len(shape) > 1 else shape[0]).astype(np.float32)
    kwargs = dict(kwargs, ignore_index=1)
    use_weight = kwargs.pop("weight", False)

    def call(lib, tensor, v):
        w = tensor(weight) if use_weight else None
        return getattr(lib, name)(v, tensor(target), weight=w, **kwargs)

    value_t, grad_t = _torch_value_and_grad(lambda v: call(torch.nn.functional, torch.tensor, v), x)
    value, grad = _value_and_grad(lambda v: call(F, jnp.asarray, v), x)
    assert np.isnan(value_t) and np.isnan(value)
    _assert_same_nan(grad, grad_t)
    # The same through the module and under compile.
    module_t = torch.nn.CrossEntropyLoss(ignore_index=1) if name == "cross_entropy" else torch.nn.NLLLoss(
        ignore_index=1)
    module = tnn.CrossEntropyLoss(ignore_index=1) if name == "cross_entropy" else tnn.NLLLoss(ignore_index=1)
    _, grad_t = _torch_value_and_grad(lambda v: module_t(v, torch.tensor(target)), x)
    grad = jax.jit(jax.grad(lambda v: unwrap(module(v, jnp.asarray(target))).sum()))(jnp.asarray(x))
    _assert_same_nan(grad, grad_t)


def test_some_ignored_targets_keep_torchs_gradients():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    target = np.array([1, 0, 1, 2])
    _, grad_t = _torch_value_and_grad(
        lambda v: torch.nn.functional.cross_entropy(v, torch.tensor(target), ignore_index=1, label_smoothing=0.1), x)
    _, grad = _value_and_grad(lambda v: F.cross_entropy(v, jnp.asarray(target), ignore_index=1,
                                                        label_smoothing=0.1), x)
    assert_close(grad, grad_t)


def test_all_zero_probability_targets_match_torch():
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    target = np.zeros((2, 3), np.float32)
    value_t, grad_t = _torch_value_and_grad(lambda v: torch.nn.functional.cross_entropy(v, torch.tensor(target)), x)
    value, grad = _value_and_grad(lambda v: F.cross_entropy(v, jnp.asarray(target)), x)
    _assert_same_nan(value, value_t)
    _assert_same_nan(grad, grad_t)


@pytest.mark.parametrize("chunked", [False, True])
def test_linear_cross_entropy_all_ignored(chunked):
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    w = RNG.standard_normal((5, 4)).astype(np.float32)
    target = np.full(3, 2)

    def run(lib, tensor, options, v, weight):
        kwargs = {"options": options(batch_chunk_size=2)} if options is not None else {}
        return lib.linear_cross_entropy(v, weight, tensor(target), ignore_index=2, **kwargs)

    # Against torch's reference path: torch's own chunked path gives NaN gradients here, unlike its reference
    # path; ours keeps one answer (the chunked path's values and gradients are the reference path's).
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    out_t = run(torch.nn.functional, torch.tensor, None, xt, wt)
    out_t.backward()
    value, grads = jax.value_and_grad(
        lambda v, weight: unwrap(run(F, jnp.asarray, tnn.LinearCrossEntropyOptions if chunked else None, v, weight)),
        argnums=(0, 1))(
        jnp.asarray(x), jnp.asarray(w))
    assert np.isnan(out_t.item()) and np.isnan(value)
    _assert_same_nan(grads[0], xt.grad.numpy())
    _assert_same_nan(grads[1], wt.grad.numpy())


# --------------------------------------------------------------------------- 2. KLDivLoss NaN propagation

_KL_TARGET = np.array([[0.5, -0.2, np.nan, 0.0, 2.0], [0.1, 0.0, -1.0, 0.3, 0.7]], np.float32)
_KL_INPUT = np.array([[-1.0, -2.0, -0.5, -1.0, 0.3], [-0.2, -3.0, -1.5, np.nan, -0.7]], np.float32)


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean", "mean"])
@pytest.mark.parametrize("zero_d", [False, True])
def test_kl_div_propagates_nan_like_torch(log_target, reduction, zero_d):
    xs, ys = (_KL_INPUT, _KL_TARGET) if not zero_d else (_KL_INPUT[0, 1:2].reshape(()), _KL_TARGET[0, 1:2].reshape(()))
    cases = [(xs, ys)] if not zero_d else [(xs, ys), (np.float32(-1.0), np.float32(np.nan)),
                                          (np.float32(-1.0), np.float32(0.0))]
    for x, y in cases:
        x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
        xt, yt = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out_t = torch.nn.functional.kl_div(xt, yt, reduction=reduction, log_target=log_target)
            out_t.sum().backward()

            def ours(a, b):
                return unwrap(F.kl_div(a, b, reduction=reduction, log_target=log_target)).sum()

            out = F.kl_div(jnp.asarray(x), jnp.asarray(y), reduction=reduction, log_target=log_target)
            gx, gy = jax.grad(ours, argnums=(0, 1))(jnp.asarray(x), jnp.asarray(y))
        _assert_same_nan(unwrap(out), out_t.detach().numpy())
        _assert_same_nan(gx, xt.grad.numpy())
        _assert_same_nan(gy, yt.grad.numpy())


def test_kl_div_module_and_compile_propagate_nan():
    module_t, module = torch.nn.KLDivLoss(reduction="none"), tnn.KLDivLoss(reduction="none")
    expected = module_t(torch.tensor(_KL_INPUT), torch.tensor(_KL_TARGET)).numpy()
    compiled = torchjax.compile(lambda m, a, b: m(a, b))
    _assert_same_nan(np.asarray(compiled(module, jnp.asarray(_KL_INPUT), jnp.asarray(_KL_TARGET))), expected)


# --------------------------------------------------------------------------- 3. dtype mismatches

_H = (torch.float16, jnp.float16)
_B = (torch.bfloat16, jnp.bfloat16)


def _tensor(lib_index):
    def make(a, dtype=None):
        a = np.asarray(a)
        if dtype is not None:
            return torch.tensor(a).to(dtype[0]) if lib_index == 0 else jnp.asarray(a, dtype[1])
        if lib_index == 0:
            return torch.tensor(a)
        return jnp.asarray(a, jnp.int32 if a.dtype.kind == "i" else a.dtype)
    return make


_X = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
_T = np.array([0, 2])
_ONES = np.ones(3, np.float32)
_IDX = np.array([[0, 1]])

# Each builds a call from (functional module, tensor maker); a dtype tuple marks the mismatching argument.
_DTYPE_MISMATCH = {
    "nll_loss_weight": lambda L, T: L.nll_loss(T(_X), T(_T), weight=T(_ONES, _H)),
    "nll_loss_input": lambda L, T: L.nll_loss(T(_X, _H), T(_T), weight=T(_ONES)),
    "cross_entropy_weight": lambda L, T: L.cross_entropy(T(_X), T(_T), weight=T(_ONES, _H)),
    "cross_entropy_smoothing": lambda L, T: L.cross_entropy(T(_X), T(_T), weight=T(_ONES, _B), label_smoothing=0.1),
    "cross_entropy_kdim": lambda L, T: L.cross_entropy(T(_X[:, :, None]), T(_T[:, None]), weight=T(_ONES, _H)),
    "multi_margin_weight": lambda L, T: L.multi_margin_loss(T(_X), T(_T), weight=T(_ONES, _H)),
    "linear_bias": lambda L, T: L.linear(T(_X), T(np.ones((4, 3), np.float32)), T(np.ones(4, np.float32), _H)),
    "linear_bias_1d": lambda L, T: L.linear(T(_X[0]), T(np.ones((4, 3), np.float32)), T(np.ones(4, np.float32), _H)),
    "embedding_bag_per_sample_weights": lambda L, T: L.embedding_bag(
        T(_IDX), T(np.ones((4, 3), np.float32)), mode="sum", per_sample_weights=T(np.ones((1, 2), np.float32), _H)),
    "layer_norm_weight": lambda L, T: L.layer_norm(T(_X), (3,), T(_ONES, _H), T(_ONES)),
    "layer_norm_bias": lambda L, T: L.layer_norm(T(_X), (3,), T(_ONES), T(_ONES, _H)),
    "layer_norm_half_input_mixed_params": lambda L, T: L.layer_norm(T(_X, _H), (3,), T(_ONES, _B), T(_ONES, _B)),
    "group_norm_weight": lambda L, T: L.group_norm(T(_X), 1, T(_ONES, _H), T(_ONES)),
    "batch_norm_weight": lambda L, T: L.batch_norm(T(_X), T(_ONES), T(_ONES), T(_ONES, _H), T(_ONES)),
    "batch_norm_running_stats": lambda L, T: L.batch_norm(T(_X), T(_ONES, _H), T(_ONES), T(_ONES), T(_ONES)),
    "batch_norm_training": lambda L, T: L.batch_norm(T(_X), None, None, T(_ONES, _H), None, training=True),
    "batch_norm_half_input": lambda L, T: L.batch_norm(T(_X, _H), T(_ONES), T(_ONES), T(_ONES, _H), T(_ONES, _H)),
    "instance_norm_weight": lambda L, T: L.instance_norm(T(_X[None]), weight=T(_ONES[:2], _H),
                                                         bias=T(_ONES[:2])),
    "conv1d_weight": lambda L, T: L.conv1d(T(_X[None]), T(np.ones((2, 2, 2), np.float32), _H)),
    "conv1d_bias": lambda L, T: L.conv1d(T(_X[None]), T(np.ones((2, 2, 2), np.float32)),
                                         T(np.ones(2, np.float32), _H)),
}


_SCALAR_TYPES = re.compile(r"\b(Float|Half|BFloat16|Double|Long|Int)\b")


@pytest.mark.parametrize("name", list(_DTYPE_MISMATCH))
def test_dtype_mismatch_raises_like_torch(name):
    build = _DTYPE_MISMATCH[name]
    theirs, ours = raises_same(lambda: build(torch.nn.functional, _tensor(0)), lambda: build(F, _tensor(1)))
    # The gist of torch's message: the scalar types it names (float64 is float32 here, without x64).
    assert set(_SCALAR_TYPES.findall(str(theirs))) <= set(_SCALAR_TYPES.findall(str(ours))), (theirs, ours)


# Mixed combinations torch accepts (a float16 input with float32 parameters, promoting losses).
_DTYPE_ACCEPTED = {
    "layer_norm_mixed": lambda L, T: L.layer_norm(T(_X, _H), (3,), T(_ONES), T(_ONES)),
    "group_norm_mixed": lambda L, T: L.group_norm(T(_X, _H), 1, T(_ONES), T(_ONES)),
    "batch_norm_mixed": lambda L, T: L.batch_norm(T(_X, _B), T(_ONES), T(_ONES), T(_ONES), T(_ONES)),
    "cross_entropy_probabilities": lambda L, T: L.cross_entropy(T(_X), T(np.abs(_X)), weight=T(_ONES, _H)),
    "bce_with_logits_pos_weight": lambda L, T: L.binary_cross_entropy_with_logits(T(_X), T(np.abs(_X)),
                                                                                  pos_weight=T(_ONES, _H)),
}


@pytest.mark.parametrize("name", list(_DTYPE_ACCEPTED))
def test_dtype_combinations_torch_accepts(name):
    build = _DTYPE_ACCEPTED[name]
    expected = build(torch.nn.functional, _tensor(0))
    ours = unwrap(build(F, _tensor(1)))
    np.testing.assert_allclose(np.asarray(ours, np.float32), expected.float().numpy(), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("dtype", [_H, _B])
def test_recurrent_input_dtype_must_match_weights(name, dtype):
    theirs, ours = getattr(torch.nn, name)(3, 4), getattr(tnn, name)(3, 4)
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    torch_error, _ = raises_same(lambda: theirs(torch.tensor(x).to(dtype[0])), lambda: ours(jnp.asarray(x, dtype[1])))
    if "Cell" not in name:
        assert isinstance(torch_error, ValueError)
    # A float32 input against half weights raises as well.
    theirs, ours = theirs.to(dtype[0]), ours.to(dtype[1])
    raises_same(lambda: theirs(torch.tensor(x)), lambda: ours(jnp.asarray(x)))


def test_recurrent_hidden_state_dtype_must_match():
    theirs, ours = torch.nn.GRU(3, 4), tnn.GRU(3, 4)
    x, h = np.ones((2, 1, 3), np.float32), np.ones((1, 1, 4), np.float32)
    raises_same(lambda: theirs(torch.tensor(x), torch.tensor(h).half()),
                lambda: ours(jnp.asarray(x), jnp.asarray(h, jnp.float16)))


# --------------------------------------------------------------------------- 4. buffer registration hooks

def _lazy_input(name):
    if "2d" in name:
        return np.ones((2, 2, 3, 3), np.float32)
    return np.ones((2, 2, 3), np.float32) if "Norm" in name or "Conv" in name else np.ones((2, 2), np.float32)


_CONSTRUCTORS = {
    "BatchNorm1d": lambda nn: nn.BatchNorm1d(2),
    "BatchNorm2d_untracked": lambda nn: nn.BatchNorm2d(2, track_running_stats=False),
    "SyncBatchNorm": lambda nn: nn.SyncBatchNorm(2),
    "InstanceNorm1d_tracked": lambda nn: nn.InstanceNorm1d(2, affine=True, track_running_stats=True),
    "LazyBatchNorm1d": lambda nn: nn.LazyBatchNorm1d(),
    "LazyInstanceNorm1d": lambda nn: nn.LazyInstanceNorm1d(),
    "LazyLinear": lambda nn: nn.LazyLinear(3),
    "LazyConv1d": lambda nn: nn.LazyConv1d(2, 2),
    "LSTM": lambda nn: nn.LSTM(2, 3, num_layers=2, proj_size=2),
    "GRU": lambda nn: nn.GRU(2, 3, bidirectional=True),
    "RNNCell": lambda nn: nn.RNNCell(2, 3),
    "MultiheadAttention": lambda nn: nn.MultiheadAttention(4, 2, kdim=3, vdim=3, add_bias_kv=True),
}


def _registration_log(lib, name):
    """Every registration hook call while building, running (train then eval) and resetting the module."""
    calls = []
    hooks = [lib.modules.module.register_module_buffer_registration_hook(
                 lambda m, n, b: calls.append(("buffer", type(m).__name__, n, b is None))),
             lib.modules.module.register_module_parameter_registration_hook(
                 lambda m, n, p: calls.append(("parameter", type(m).__name__, n, p is None)))]
    try:
        module = _CONSTRUCTORS[name](lib)
        if "Lazy" in name or "Norm" in name:
            x = _lazy_input(name)
            for training in (True, False):
                module.train(training)
                calls.append(f"forward training={training}")
                module(torch.tensor(x) if lib is torch.nn else jnp.asarray(x))
        for method in ("reset_parameters", "reset_running_stats", "flatten_parameters"):
            if hasattr(module, method):
                calls.append(method)
                getattr(module, method)()
    finally:
        for hook in hooks:
            hook.remove()
    return calls, module


@pytest.mark.parametrize("name", list(_CONSTRUCTORS))
def test_registration_hooks_fire_as_in_torch(name):
    with global_hooks_removed():
        theirs, module_t = _registration_log(torch.nn, name)
        ours, module = _registration_log(tnn, name)
    assert ours == theirs
    for (key, value), (key_t, value_t) in zip(module.state_dict().items(), module_t.state_dict().items(),
                                              strict=True):
        assert key == key_t
        if "weight" not in key and "bias" not in key:  # random initialisations differ; statistics do not
            assert_close(np.asarray(value), value_t.numpy())


def test_reset_running_stats_updates_in_place():
    module = tnn.BatchNorm1d(2)
    running_mean = module.running_mean
    module(jnp.asarray(RNG.standard_normal((4, 2)).astype(np.float32)))
    assert module.running_mean is running_mean and int(module.num_batches_tracked) == 1
    module.reset_running_stats()
    assert module.running_mean is running_mean
    assert_close(np.asarray(running_mean), np.zeros(2))
    assert int(module.num_batches_tracked) == 0


# --------------------------------------------------------------------------- 5. MultiheadAttention gradients

@pytest.mark.parametrize("kwargs", [{}, {"add_zero_attn": True, "add_bias_kv": True}, {"batch_first": True}])
def test_multihead_attention_in_proj_gradients_are_float32_rounding(kwargs):
    """in_proj_weight's gradient differs from torch's by float32 rounding only: ours is as close to torch's
    float64 gradient as torch's own float32 one (no accumulation in a lower dtype, no missing scale step)."""
    torch.manual_seed(5)
    theirs = torch.nn.MultiheadAttention(6, 3, **kwargs)
    reference = torch.nn.MultiheadAttention(6, 3, **kwargs).double()
    reference.load_state_dict({k: v.double() for k, v in theirs.state_dict().items()})
    ours = tnn.MultiheadAttention(6, 3, **kwargs)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    shape = (2, 4, 6)
    q, k, v = (RNG.standard_normal(shape).astype(np.float32) * 3 for _ in range(3))
    cotangent = RNG.standard_normal(shape).astype(np.float32)

    def torch_grad(module, dtype):
        out = module(*(torch.tensor(a, dtype=dtype) for a in (q, k, v)))[0]
        (out * torch.tensor(cotangent, dtype=dtype)).sum().backward()
        return module.in_proj_weight.grad.double().numpy()

    exact, theirs_grad = torch_grad(reference, torch.float64), torch_grad(theirs, torch.float32)
    grads = torchjax.func.grad(
        lambda m: jnp.vdot(jnp.asarray(m(*(jnp.asarray(a) for a in (q, k, v)))[0]), cotangent))(ours)
    ours_grad = np.asarray(grads["in_proj_weight"], np.float64)
    torch_error, our_error = np.abs(theirs_grad - exact).max(), np.abs(ours_grad - exact).max()
    scale = np.abs(exact).max()
    assert our_error <= 4 * torch_error + 1e-6 * scale, (our_error, torch_error, scale)
    assert np.abs(ours_grad - theirs_grad).max() <= 5e-6 * scale

"""torchjax.backward against torch's loss.backward(): accumulation, tied and frozen weights, buffers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from nets import network
from parity import TJ, TORCH, to_numpy

import torchjax
import torchjax.nn as tnn


def paired_networks():
    theirs, ours = network(TORCH), network(TJ)
    ours.load_state_dict({k: to_numpy(v) for k, v in theirs.state_dict().items()})
    return theirs, ours


def batch(seed: int):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((5, 6)).astype(np.float32)


def torch_loss(model, x, y):
    return ((model(torch.tensor(x)) - torch.tensor(y)) ** 2).mean()


def our_loss(model, x, y):
    return ((model(jnp.asarray(x)) - jnp.asarray(y)) ** 2).mean()


def compare_grads(theirs, ours, atol=1e-5):
    for (name, pt), (_, po) in zip(theirs.named_parameters(), ours.named_parameters(), strict=True):
        if pt.grad is None:
            assert po.grad is None, name
        else:
            np.testing.assert_allclose(to_numpy(po.grad), to_numpy(pt.grad), atol=atol, err_msg=name)


def test_gradients_accumulate_over_two_calls_like_torch():
    theirs, ours = paired_networks()
    for seed in (1, 2):
        x, y = batch(seed)
        loss_t = torch_loss(theirs, x, y)
        loss_t.backward()
        loss_o = torchjax.backward(our_loss, ours, x, y)
        np.testing.assert_allclose(float(loss_o), loss_t.item(), rtol=1e-5)
        compare_grads(theirs, ours)
    assert ours.frozen.weight.grad is None and ours.out.weight is ours.block.weight
    for name in ("norm.running_mean", "norm.num_batches_tracked"):
        np.testing.assert_allclose(to_numpy(ours.get_buffer(name)), to_numpy(theirs.get_buffer(name)), atol=1e-6)
    assert all(isinstance(b, torchjax.Tensor) and not isinstance(b.jax(), jax.core.Tracer) for b in ours.buffers())


def test_zero_grad_then_backward_matches_fresh_gradients():
    theirs, ours = paired_networks()
    x, y = batch(3)
    torchjax.backward(our_loss, ours, x, y)
    ours.zero_grad()
    theirs.zero_grad()
    torch_loss(theirs, x, y).backward()
    torchjax.backward(our_loss, ours, x, y)
    compare_grads(theirs, ours)


def test_eval_mode_leaves_running_statistics_alone():
    _, ours = paired_networks()
    ours.eval()
    before = to_numpy(ours.norm.running_mean).copy()
    torchjax.backward(our_loss, ours, *batch(4))
    np.testing.assert_array_equal(to_numpy(ours.norm.running_mean), before)


def test_has_aux_kwargs_and_parameters_as_arguments():
    _, ours = paired_networks()
    x, y = batch(5)
    loss, aux = torchjax.backward(lambda m, x, y: (our_loss(m, x, y), "extra"), ours, x, y=y, has_aux=True)
    assert aux == "extra" and loss.shape == ()
    p = tnn.Parameter(jnp.array([1.0, 2.0]))
    torchjax.backward(lambda q: (q * q).sum(), p)
    torchjax.backward(lambda q: (q * q).sum(), p)
    np.testing.assert_allclose(to_numpy(p.grad), [4.0, 8.0])
    w = tnn.Parameter(jnp.ones(2))
    torchjax.backward(lambda params: (params["a"] * 3).sum(), {"a": w})  # nested containers are searched
    np.testing.assert_allclose(to_numpy(w.grad), [3.0, 3.0])


def test_errors_and_grad_mode():
    m = tnn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        torchjax.backward(lambda m: m(jnp.ones((1, 2))), m)
    with torchjax.no_grad():
        assert not torchjax.is_grad_enabled()
        with pytest.raises(RuntimeError, match="no_grad"):
            torchjax.backward(lambda m: m(jnp.ones((1, 2))).sum(), m)
        with torchjax.enable_grad():
            torchjax.backward(lambda m: m(jnp.ones((1, 2))).sum(), m)
    assert torchjax.is_grad_enabled()

    @torchjax.no_grad()
    def evaluate():
        return torchjax.is_grad_enabled()

    assert evaluate() is False and torchjax.is_grad_enabled()
    torchjax.set_grad_enabled(False)
    assert not torchjax.is_grad_enabled()
    torchjax.set_grad_enabled(True)


def test_a_raising_loss_leaves_no_tracer_and_no_change():
    _, ours = paired_networks()
    before = {k: to_numpy(v).copy() for k, v in ours.state_dict().items()}

    def broken(m):
        our_loss(m, *batch(6))
        raise ValueError("after the forward")

    with pytest.raises(ValueError, match="after the forward"):
        torchjax.backward(broken, ours)
    for k, v in ours.state_dict().items():
        assert not isinstance(v, jax.core.Tracer)
        np.testing.assert_array_equal(to_numpy(v), before[k])
    assert all(p.grad is None for p in ours.parameters())


def test_parameters_outside_the_graph_keep_grad_none_like_torch():
    def build(lib):
        lib.manual_seed(0)
        m = lib.nn.Module()
        m.used = lib.nn.Linear(2, 2)
        m.unused = lib.nn.Linear(2, 2)
        return m

    theirs, ours = build(TORCH), build(TJ)
    theirs.used(torch.ones(1, 2)).sum().backward()
    torchjax.backward(lambda m: m.used(jnp.ones((1, 2))).sum(), ours)
    assert [p.grad is None for p in ours.parameters()] == [p.grad is None for p in theirs.parameters()]
    step = torchjax.compile(lambda m: torchjax.backward(lambda m: m.used(jnp.ones((1, 2))).sum(), m))
    step(ours)
    assert ours.unused.weight.grad is None and ours.used.weight.grad is not None

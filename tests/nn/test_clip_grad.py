"""torchjax.nn.utils' gradient clipping and parameter vectors against torch.nn.utils, eagerly and compiled.

Each scenario runs on torch Parameters and on ours holding the same values and gradients (some
parameters have none); the returned norms and the gradients (or parameters) afterwards must agree.
"""

from __future__ import annotations

import math
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import TJ, TORCH, raises_same, to_numpy

import torchjax
import torchjax.nn as tnn
from torchjax.nn import utils as our_utils

UTILS = {TORCH.name: torch.nn.utils, TJ.name: our_utils}
SHAPES = [(3, 4), (5,), (), (2, 1, 3)]
WITHOUT_GRAD = {1}  # indices of the parameters left without a gradient
NORM_TYPES = [2.0, 1.0, math.inf, 0.5, "inf", 0.0]


def parameters(lib, scale: float = 1.0) -> list:
    """The same parameters and gradients in either library (gradients times ``scale``)."""
    rng = np.random.default_rng(0)
    params = []
    for i, shape in enumerate(SHAPES):
        data, grad = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
        grad = grad * np.float32(scale)
        if lib is TORCH:
            p = torch.nn.Parameter(torch.tensor(data))
            p.grad = None if i in WITHOUT_GRAD else torch.tensor(grad)
        else:
            p = tnn.Parameter(jnp.asarray(data))
            p.grad = None if i in WITHOUT_GRAD else jnp.asarray(grad)
        params.append(p)
    return params


def assert_same_grads(ours: list, theirs: list) -> None:
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert (a.grad is None) == (b.grad is None), i
        if b.grad is not None:
            np.testing.assert_allclose(to_numpy(a.grad), to_numpy(b.grad), rtol=1e-6, atol=1e-7, err_msg=str(i))
            assert a.grad.dtype == jnp.float32


def run(fn, compiled: bool, params: list, *args):
    """``fn(params, *args)`` eagerly or as a ``torchjax.compile``d function of the parameters and numbers."""
    return torchjax.compile(fn)(params, *args) if compiled else fn(params, *args)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])  # clips / leaves the gradients as they are
@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_clip_grad_norm_matches_torch(norm_type, max_norm: float, compiled: bool) -> None:
    theirs, ours = parameters(TORCH), parameters(TJ)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    norm = run(lambda ps, m: our_utils.clip_grad_norm_(ps, m, norm_type), compiled, ours, max_norm)
    assert norm.shape == () and norm.dtype == jnp.float32
    np.testing.assert_allclose(float(norm), expected.item(), rtol=1e-6)
    assert_same_grads(ours, theirs)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("norm_type", NORM_TYPES[:4])
def test_get_total_norm_then_clip_grads_with_norm(norm_type: float, compiled: bool) -> None:
    theirs, ours = parameters(TORCH, scale=3.0), parameters(TJ, scale=3.0)
    expected = torch.nn.utils.get_total_norm([p.grad for p in theirs if p.grad is not None], norm_type)
    torch.nn.utils.clip_grads_with_norm_(theirs, 2.0, expected)

    def clip(params, max_norm):
        total = our_utils.get_total_norm([p.grad for p in params if p.grad is not None], norm_type)
        our_utils.clip_grads_with_norm_(params, max_norm, total)
        return total

    np.testing.assert_allclose(float(run(clip, compiled, ours, 2.0)), expected.item(), rtol=1e-6)
    assert_same_grads(ours, theirs)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("clip_value", [0.3, 10.0])
def test_clip_grad_value_matches_torch(clip_value: float, compiled: bool) -> None:
    theirs, ours = parameters(TORCH), parameters(TJ)
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    assert run(our_utils.clip_grad_value_, compiled, ours, clip_value) is None
    assert_same_grads(ours, theirs)


@pytest.mark.parametrize("lib", [TORCH, TJ], ids=lambda lib: lib.name)
def test_single_parameter_and_no_gradients(lib) -> None:
    utils, params = UTILS[lib.name], parameters(lib)
    norm = utils.clip_grad_norm_(params[0], 0.1)
    assert float(norm) == pytest.approx(float(np.linalg.norm(to_numpy(parameters(lib)[0].grad))), rel=1e-6)
    for p in params:
        p.grad = None
    norm = utils.clip_grad_norm_(params, 1.0)
    assert float(norm) == 0.0 and tuple(norm.shape) == () and all(p.grad is None for p in params)
    if lib is TJ:  # torch 2.13's clip_grad_value_ fails on an internal check here; ours has nothing to do
        utils.clip_grad_value_(params, 1.0)
        assert all(p.grad is None for p in params)


def test_empty_generator_warns_like_torch() -> None:
    messages = []
    for utils in UTILS.values():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert float(utils.clip_grad_norm_((p for p in []), 1.0)) == 0.0
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[0] == messages[1] and len(messages[0]) == 1


def test_deprecated_clip_grad_norm_warns() -> None:
    ours = parameters(TJ)
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        norm = our_utils.clip_grad_norm(ours, 0.5)
    np.testing.assert_allclose(float(norm), torch.nn.utils.clip_grad_norm_(parameters(TORCH), 0.5).item(), rtol=1e-6)


@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_nonfinite_norm(norm_type: float) -> None:
    """``error_if_nonfinite``: torch's RuntimeError (eagerly and from a compiled step); otherwise scaled by it."""
    def poisoned(lib):
        params = parameters(lib)
        params[0].grad = params[0].grad * float("inf") if lib is TJ else params[0].grad.mul(float("inf"))
        return params

    theirs, ours = raises_same(lambda: torch.nn.utils.clip_grad_norm_(poisoned(TORCH), 1.0, norm_type, True),
                               lambda: our_utils.clip_grad_norm_(poisoned(TJ), 1.0, norm_type, True))
    assert str(ours) == str(theirs)
    compiled = torchjax.compile(lambda ps: our_utils.clip_grad_norm_(ps, 1.0, norm_type, True), donate=False)
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        float(compiled(poisoned(TJ)))
    theirs, ours = poisoned(TORCH), poisoned(TJ)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    assert float(our_utils.clip_grad_norm_(ours, 1.0, norm_type)) == expected.item() == math.inf
    for a, b in zip(ours, theirs, strict=True):  # 0 * inf: nan where torch has nan
        if b.grad is not None:
            np.testing.assert_array_equal(to_numpy(a.grad), to_numpy(b.grad))


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_parameters_to_vector_and_back(compiled: bool) -> None:
    theirs, ours = parameters(TORCH), parameters(TJ)
    expected = torch.nn.utils.parameters_to_vector(theirs)
    vec = run(our_utils.parameters_to_vector, compiled, ours)
    np.testing.assert_array_equal(np.asarray(vec), to_numpy(expected))
    new = np.arange(expected.numel() + 2, dtype=np.float32)  # longer than needed: the tail is unused, as in torch
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs)
    assert run(lambda ps, v: our_utils.vector_to_parameters(v, ps), compiled, ours, jnp.asarray(new)) is None
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == tuple(b.shape)
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def test_vector_errors_like_torch() -> None:
    theirs, ours = raises_same(lambda: torch.nn.utils.vector_to_parameters([1.0, 2.0], parameters(TORCH)),
                               lambda: our_utils.vector_to_parameters([1.0, 2.0], parameters(TJ)))
    assert str(ours) == str(theirs).replace("torch.Tensor", "torchjax.Tensor")
    # torch takes only tensors; torchjax takes NumPy arrays too (as every entry point does)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        torch.nn.utils.vector_to_parameters(np.zeros(24, np.float32), parameters(TORCH))
    ours = parameters(TJ)
    our_utils.vector_to_parameters(np.arange(24, dtype=np.float32), ours)
    np.testing.assert_array_equal(np.concatenate([np.ravel(p.numpy()) for p in ours]), np.arange(24))
    raises_same(lambda: torch.nn.utils.parameters_to_vector([]), lambda: our_utils.parameters_to_vector([]))
    raises_same(lambda: torch.nn.utils.vector_to_parameters(torch.zeros(5), parameters(TORCH)),
                lambda: our_utils.vector_to_parameters(jnp.zeros(5), parameters(TJ)))
    ours = parameters(TJ)
    before = [np.asarray(p.data) for p in ours]
    with pytest.raises(RuntimeError, match="the parameters need 24"):
        our_utils.vector_to_parameters(jnp.zeros(20), ours)
    assert all(np.array_equal(np.asarray(p.data), b) for p, b in zip(ours, before, strict=True))  # nothing changed


def test_clipping_scales_the_grads_in_place() -> None:
    """As torch's ``_foreach_mul_``/``clamp_``: the grad Tensors keep their identity, so a reference follows."""
    ours = parameters(TJ, scale=10.0)
    held = [p.grad for p in ours]
    norm = our_utils.clip_grad_norm_(ours, 1.0)
    assert type(norm) is torchjax.Tensor and float(norm) > 1.0
    our_utils.clip_grad_value_(ours, 0.01)
    assert all(p.grad is g for p, g in zip(ours, held, strict=True) if g is not None)
    assert all(float(abs(g).max()) <= 0.01 for g in held if g is not None)

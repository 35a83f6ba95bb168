"""F.cosine_similarity, F.pairwise_distance, F.pdist and the CosineSimilarity / PairwiseDistance modules
against torch: values and gradients (zero vectors and identical rows included), broadcasting, every p,
compile, vmap, repr and exception types."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, raises_same

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

RNG = np.random.default_rng(0)


def _normal(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _with_zero_row(x):
    x = x.copy()
    x[0] = 0
    return x


# (id, inputs, call(lib, *inputs), whether to compare the gradients)
CASES = [
    ("cosine", [_normal(4, 6), _normal(4, 6)], lambda L, a, b: L.cosine_similarity(a, b), True),
    ("cosine_zero_vector", [_with_zero_row(_normal(4, 6)), _normal(4, 6)],
     lambda L, a, b: L.cosine_similarity(a, b, eps=1e-3), True),
    ("cosine_tiny_vector", [_normal(4, 6) * 1e-5, _normal(4, 6)],
     lambda L, a, b: L.cosine_similarity(a, b, eps=1e-4), True),
    ("cosine_broadcast_dim0", [_normal(4, 3, 2), _normal(1, 3, 2)],
     lambda L, a, b: L.cosine_similarity(a, b, dim=0), True),
    ("cosine_broadcast_last", [_normal(4, 3, 2), _normal(3, 1)], lambda L, a, b: L.cosine_similarity(a, b, dim=-1),
     True),
    ("cosine_1d", [_normal(6), _normal(6)], lambda L, a, b: L.cosine_similarity(a, b, dim=0), True),
    ("pairwise", [_normal(4, 6), _normal(4, 6)], lambda L, a, b: L.pairwise_distance(a, b), True),
    ("pairwise_p1_keepdim", [_normal(4, 6), _normal(4, 6)],
     lambda L, a, b: L.pairwise_distance(a, b, p=1, keepdim=True), True),
    ("pairwise_p3_eps", [_normal(4, 6), _normal(4, 6)], lambda L, a, b: L.pairwise_distance(a, b, p=3, eps=0.1), True),
    ("pairwise_p_half", [_normal(4, 6), _normal(4, 6)], lambda L, a, b: L.pairwise_distance(a, b, p=0.5), True),
    ("pairwise_inf", [_normal(4, 6), _normal(4, 6)], lambda L, a, b: L.pairwise_distance(a, b, p=math.inf), True),
    ("pairwise_minus_inf", [_normal(4, 6), _normal(4, 6)],
     lambda L, a, b: L.pairwise_distance(a, b, p=-math.inf), True),
    ("pairwise_p0", [_normal(4, 6), _normal(4, 6)], lambda L, a, b: L.pairwise_distance(a, b, p=0, eps=0), True),
    ("pairwise_negative_p", [_normal(4, 6), _normal(4, 6)], lambda L, a, b: L.pairwise_distance(a, b, p=-1), False),
    ("pairwise_broadcast", [_normal(4, 6), _normal(6)], lambda L, a, b: L.pairwise_distance(a, b), True),
    ("pairwise_1d", [_normal(6), _normal(6)], lambda L, a, b: L.pairwise_distance(a, b, keepdim=True), True),
    ("pairwise_0d", [np.float32(1.5), np.float32(-0.5)], lambda L, a, b: L.pairwise_distance(a, b), True),
    ("pairwise_identical_no_eps", [_normal(4, 6)] * 2, lambda L, a, b: L.pairwise_distance(a, b, eps=0), True),
    ("pdist", [_normal(5, 3)], lambda L, a: L.pdist(a), True),
    ("pdist_p1", [_normal(5, 3)], lambda L, a: L.pdist(a, p=1), True),
    ("pdist_p3", [_normal(5, 3)], lambda L, a: L.pdist(a, p=3), True),
    ("pdist_inf", [_normal(5, 3)], lambda L, a: L.pdist(a, p=math.inf), True),
    ("pdist_p0", [_normal(5, 3)], lambda L, a: L.pdist(a, p=0), True),
    ("pdist_identical_rows", [np.repeat(_normal(2, 3), [2, 3], axis=0)], lambda L, a: L.pdist(a), True),
    ("pdist_single_row", [_normal(1, 3)], lambda L, a: L.pdist(a), True),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_distances_match_torch(case):
    _, arrays, call, check_grads = case
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = call(torch.nn.functional, *theirs)
    if check_grads and expected.numel():
        (expected * torch.linspace(0.5, 1.5, expected.numel()).reshape(expected.shape)).sum().backward()
    weights = jnp.linspace(0.5, 1.5, expected.numel()).reshape(tuple(expected.shape))

    @jax.jit
    def ours(*args):
        grads = jax.grad(lambda *a: (call(F, *a) * weights).sum().jax(), argnums=tuple(range(len(args))))(*args)
        return call(F, *args), grads

    value, grads = ours(*(jnp.asarray(a) for a in arrays))
    assert_close(value, expected)
    if check_grads and expected.numel():
        for grad, t in zip(grads, theirs, strict=True):
            assert np.isfinite(np.asarray(grad)).all()
            assert_close(grad, np.zeros_like(arrays[0]) if t.grad is None else t.grad, atol=2e-5, rtol=2e-5)


def test_eager_calls_and_modules_match_torch():
    x1, x2 = _normal(4, 6), _normal(4, 6)
    for ours, theirs in [(tnn.PairwiseDistance(), torch.nn.PairwiseDistance()),
                         (tnn.PairwiseDistance(p=1.0, eps=0.0, keepdim=True),
                          torch.nn.PairwiseDistance(p=1.0, eps=0.0, keepdim=True)),
                         (tnn.CosineSimilarity(), torch.nn.CosineSimilarity()),
                         (tnn.CosineSimilarity(dim=0, eps=1e-3), torch.nn.CosineSimilarity(dim=0, eps=1e-3))]:
        assert repr(ours) == repr(theirs)
        assert type(ours).__constants__ == type(theirs).__constants__
        assert list(ours.state_dict()) == []
        expected = theirs(torch.tensor(x1), torch.tensor(x2))
        assert_close(ours(jnp.asarray(x1), jnp.asarray(x2)), expected)
        compiled = torchjax.compile(lambda m, a, b: m(a, b))
        assert_close(compiled(ours, jnp.asarray(x1), jnp.asarray(x2)), expected)
    assert_close(F.pdist(jnp.asarray(x1)), torch.pdist(torch.tensor(x1)))


def test_distances_under_vmap_are_per_example():
    x1, x2 = jnp.asarray(_normal(4, 6)), jnp.asarray(_normal(4, 6))

    @jax.jit
    def run(a, b):
        per_example = jax.vmap(lambda u, v: (F.pairwise_distance(u, v), F.cosine_similarity(u, v, dim=0)))(a, b)
        return per_example, (F.pairwise_distance(a, b), F.cosine_similarity(a, b))

    (distance, cosine), (distance_batched, cosine_batched) = run(x1, x2)
    assert_close(distance, distance_batched)
    assert_close(cosine, cosine_batched)


@pytest.mark.parametrize("build", [
    lambda L, T: L.pdist(T(np.zeros(3, np.float32))),
    lambda L, T: L.pdist(T(np.zeros((2, 3, 4), np.float32))),
    lambda L, T: L.pdist(T(np.zeros((3, 2), np.float32)), p=-1),
    lambda L, T: L.cosine_similarity(T(np.zeros((2, 3), np.float32)), T(np.zeros((2, 3), np.float32)), dim=2),
    lambda L, T: L.cosine_similarity(T(np.zeros((2, 3), np.float32)), T(np.zeros((2, 4), np.float32))),
    lambda L, T: L.cosine_similarity(T(np.zeros((2, 3), np.int64)), T(np.zeros((2, 3), np.int64))),
    lambda L, T: L.pairwise_distance(T(np.zeros((2, 3), np.float32)), T(np.zeros((2, 4), np.float32))),
])
def test_invalid_inputs_raise_torchs_exception_types(build):
    raises_same(lambda: build(torch.nn.functional, torch.tensor), lambda: build(F, jnp.asarray))

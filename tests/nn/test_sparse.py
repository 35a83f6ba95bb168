"""Embedding, EmbeddingBag, F.embedding, F.embedding_bag and F.one_hot against torch: outputs and
gradients (weight and per-sample weights, eager and compiled), max_norm's in-place renormalisation,
padding_idx, scale_grad_by_freq, from_pretrained, the notes' examples, transforms and errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, assert_no_tracers, check_call_parity, load_torch_state, raises_same, to_numpy

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

RNG = np.random.default_rng(0)
INDICES = np.array([[1, 2, 4, 5], [4, 3, 2, 9]])  # 2 appears twice, 4 twice: frequencies and padding matter
FLAT = np.array([1, 2, 4, 5, 4, 3, 2, 9, 2, 0])
OFFSETS = np.array([0, 3, 3, 7])  # bag 1 is empty


def _pair(name, *args, **kwargs):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    ours = getattr(tnn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    load_torch_state(ours, theirs)
    return theirs, ours


@pytest.mark.parametrize("kwargs", [
    {},
    dict(padding_idx=2, scale_grad_by_freq=True),
    dict(max_norm=1.0),
    dict(max_norm=1.5, norm_type=1.0, padding_idx=-1),
], ids=["plain", "padding-freq", "max-norm", "max-norm-l1"])
def test_embedding_matches_torch(kwargs):
    theirs, ours = _pair("Embedding", 10, 3, **kwargs)
    check_call_parity(theirs, ours, (INDICES,))
    # torch renormalised the referenced rows in place; the eager call did the same to ours
    assert_close(ours.weight, theirs.weight, atol=1e-6)
    if kwargs.get("padding_idx") is not None:
        assert not to_numpy(ours.weight)[ours.padding_idx].any()


def test_embedding_max_norm_under_tracing_leaves_the_stored_weight():
    theirs, ours = _pair("Embedding", 10, 3, max_norm=0.5)
    before = to_numpy(ours.weight).copy()
    out = torchjax.compile(lambda m, i: m(i))(ours, jnp.asarray(INDICES))
    np.testing.assert_array_equal(to_numpy(ours.weight), before)
    assert_close(out, theirs(torch.tensor(INDICES)), atol=1e-6)
    assert_no_tracers(ours)


BAG_CONFIGS = [
    (dict(mode="sum"), "1d", True),
    (dict(mode="mean"), "1d", False),
    (dict(mode="max"), "1d", False),
    (dict(mode="sum", include_last_offset=True, padding_idx=2), "1d", True),
    (dict(mode="mean", padding_idx=4), "2d", False),
    (dict(mode="max", padding_idx=2, max_norm=1.0), "2d", False),
    (dict(mode="sum", max_norm=1.0, norm_type=3.0), "2d", True),
    (dict(mode="mean", include_last_offset=True, max_norm=2.0, padding_idx=0), "1d", False),
]


@pytest.mark.parametrize("kwargs,layout,weighted", BAG_CONFIGS, ids=[f"bag-{i}" for i in range(len(BAG_CONFIGS))])
def test_embedding_bag_matches_torch(kwargs, layout, weighted):
    theirs, ours = _pair("EmbeddingBag", 10, 3, **kwargs)
    indices = FLAT if layout == "1d" else INDICES
    # include_last_offset: the last offset ends the last bag; torch documents it as len(input)
    offsets = (np.append(OFFSETS, len(FLAT)) if kwargs.get("include_last_offset") else OFFSETS) if layout == "1d" \
        else None
    weights = RNG.standard_normal(indices.shape).astype(np.float32) if weighted else None
    check_call_parity(theirs, ours, (indices, offsets, weights))
    assert_close(ours.weight, theirs.weight, atol=1e-6)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scale_grad_by_freq(mode):
    """Each row's gradient divided by its index's count in the input. torch 2.13's CPU kernel
    divides some rows by another index's count (pytorch#190063, fixed by #190264; CUDA and MPS
    are right), so the reference is torch's F.embedding (correct on CPU) followed by the reduction."""
    w = RNG.standard_normal((10, 3)).astype(np.float32)
    w_t = torch.tensor(w, requires_grad=True)
    rows = torch.nn.functional.embedding(torch.tensor(INDICES), w_t, scale_grad_by_freq=True, padding_idx=4)
    keep = torch.tensor(INDICES != 4)[..., None]
    reduced = (rows * keep).sum(1)
    expected = reduced if mode == "sum" else reduced / keep.sum(1)
    cotangent = RNG.standard_normal(tuple(expected.shape)).astype(np.float32)
    (expected * torch.tensor(cotangent)).sum().backward()
    bag = tnn.EmbeddingBag.from_pretrained(jnp.asarray(w), freeze=False, mode=mode, scale_grad_by_freq=True,
                                           padding_idx=4)
    assert_close(bag(jnp.asarray(INDICES)), expected)
    for layout in ((jnp.asarray(INDICES),), (jnp.asarray(INDICES.reshape(-1)), jnp.asarray([0, 4]))):
        grads = torchjax.func.grad(lambda m, args=layout: (m(*args) * cotangent).sum())(bag)
        assert_close(grads["weight"], w_t.grad)


def test_functional_embedding_bag_matches_torch():
    w = RNG.standard_normal((10, 3)).astype(np.float32)
    t = torch.tensor
    cases = [
        (FLAT, np.array([0, 2, 2, 2, 10]), dict(mode="sum", include_last_offset=True)),  # empty bags, CSR
        (np.array([2, 2, 2]), np.array([0, 1]), dict(mode="mean", padding_idx=2)),  # all-padding bags
        (np.array([], np.int64), np.array([0, 0]), dict(mode="max")),  # no indices at all
        (FLAT, np.array([0], np.int32), dict(mode="mean")),  # int32 offsets
    ]
    for indices, offsets, kwargs in cases:
        expected = torch.nn.functional.embedding_bag(t(indices), t(w), t(offsets), **kwargs)
        assert_close(F.embedding_bag(jnp.asarray(indices), w, jnp.asarray(offsets), **kwargs), expected)
    # the old argument order (weight first) still works, with torch's warning
    with pytest.warns(UserWarning, match="Argument order"):
        out = F.embedding_bag(w, jnp.asarray(FLAT), jnp.asarray(OFFSETS))
    assert_close(out, torch.nn.functional.embedding_bag(t(FLAT), t(w), t(OFFSETS)))


def test_functional_embedding_and_one_hot_match_torch():
    w = RNG.standard_normal((10, 3)).astype(np.float32)
    t = torch.tensor
    assert_close(F.embedding(jnp.asarray(INDICES), w, padding_idx=0),
                 torch.nn.functional.embedding(t(INDICES), t(w), padding_idx=0))
    for x, n in ((np.array([[0, 3], [2, 1]]), -1), (np.array([1, 0, 2]), 5), (np.zeros((0,), np.int64), 3)):
        ours, theirs = F.one_hot(jnp.asarray(x), n), torch.nn.functional.one_hot(t(x), n)
        assert_close(ours, theirs, atol=0)
        assert jnp.issubdtype(ours.dtype, jnp.integer)
    hot = torchjax.compile(lambda x: F.one_hot(x, 4))(jnp.asarray([3, 1]))
    assert_close(hot, torch.nn.functional.one_hot(t([3, 1]), 4), atol=0)


@pytest.mark.parametrize("name,freeze", [("Embedding", True), ("Embedding", False), ("EmbeddingBag", True),
                                         ("EmbeddingBag", False)])
def test_from_pretrained(name, freeze):
    pretrained = RNG.standard_normal((4, 3)).astype(np.float32)
    theirs = getattr(torch.nn, name).from_pretrained(torch.tensor(pretrained), freeze=freeze, padding_idx=1)
    ours = getattr(tnn, name).from_pretrained(jnp.asarray(pretrained), freeze=freeze, padding_idx=1)
    assert repr(ours) == repr(theirs)
    assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
    np.testing.assert_array_equal(to_numpy(ours.weight), pretrained)  # the padding row is kept as given
    x = np.array([[1, 0, 3]])
    assert_close(ours(jnp.asarray(x)), theirs(torch.tensor(x)))
    grads = torchjax.func.grad(lambda m: m(jnp.asarray(x)).sum())(ours)
    assert list(grads) == ([] if freeze else ["weight"])


def test_notes_examples():
    """The examples of seed/nn-module-notes.zh.md (Sparse section), torch -> torchjax."""
    tensor = getattr(torchjax, "tensor", jnp.asarray)
    nn = tnn
    embedding = nn.Embedding(num_embeddings=10, embedding_dim=3)
    input_indices = tensor([1, 2, 3, 4])
    output = embedding(input_indices)
    assert output.shape == (4, 3)
    assert_close(output, embedding.weight.data[1:5], atol=0)

    embedding_bag = nn.EmbeddingBag(num_embeddings=10, embedding_dim=3, mode='mean')
    input_indices = tensor([1, 2, 3, 4])
    offsets = tensor([0])
    output = embedding_bag(input_indices, offsets)
    assert output.shape == (1, 3)
    assert_close(output, embedding_bag.weight.data[1:5].mean(0, keepdims=True), atol=1e-6)


def test_default_init_padding_row_and_factory_kwargs():
    torchjax.manual_seed(0)
    emb = tnn.Embedding(1000, 16, padding_idx=3, dtype=torchjax.bfloat16)
    w = np.asarray(emb.weight.data, np.float32)
    assert emb.weight.dtype == jnp.bfloat16 and not w[3].any()
    assert abs(w.std() - 1) < 0.05 and abs(w.mean()) < 0.05  # N(0, 1)
    before = w.copy()
    emb.reset_parameters()
    assert not np.array_equal(before, np.asarray(emb.weight.data, np.float32))


def test_transforms():
    torchjax.manual_seed(0)
    bag = tnn.EmbeddingBag(10, 3, mode="sum")
    batch = jnp.asarray(np.stack([INDICES, INDICES[::-1]]))
    mapped = torchjax.func.vmap(lambda m, x: m(x), in_dims=(None, 0))(bag, batch)
    assert_close(mapped, jnp.stack([bag(x) for x in batch]))
    emb = tnn.Embedding(10, 3, padding_idx=2)
    # forward mode through the padding/frequency rule (a custom JVP) and jax.grad on the functional form
    tangent = {"weight": jnp.ones((10, 3))}
    _, out_tangent = torchjax.func.jvp(lambda m: m(jnp.asarray(INDICES)), (emb,), (tangent,))
    assert_close(out_tangent, np.where((INDICES == 2)[..., None], 0.0, np.ones(3)))
    grad = jax.grad(lambda w: F.embedding(jnp.asarray(INDICES), w, scale_grad_by_freq=True).sum().jax())(
        emb.weight.data)
    assert_close(grad[2], np.ones(3))  # index 2 occurs twice: 2 x (1 / 2)
    assert_close(grad[0], np.zeros(3))


def _errors():
    t = np.array
    w = np.zeros((10, 3), np.float32)
    return {
        "oob": (F.embedding, (t([1, 10]), w), {}),
        "negative": (F.embedding, (t([1, -1]), w), {}),
        "float-indices": (F.embedding, (t([1.0], np.float32), w), {}),
        "weight-1d": (F.embedding, (t([1]), np.zeros(10, np.float32)), {}),
        "padding-range": (F.embedding, (t([1]), w), dict(padding_idx=10)),
        "bag-first-offset": (F.embedding_bag, (t([1, 2, 3]), w, t([1, 2])), {}),
        "bag-last-offset": (F.embedding_bag, (t([1, 2, 3]), w, t([0, 5])), {}),
        "bag-2d-with-offsets": (F.embedding_bag, (t([[1, 2]]), w, t([0])), {}),
        "bag-1d-without-offsets": (F.embedding_bag, (t([1, 2]), w), {}),
        "bag-3d": (F.embedding_bag, (t([[[1]]]), w), {}),
        "bag-mode": (F.embedding_bag, (t([[1]]), w), dict(mode="min")),
        "bag-weights-mean": (F.embedding_bag, (t([[1]]), w), dict(per_sample_weights=t([[1.0]], np.float32))),
        "bag-weights-shape": (F.embedding_bag, (t([[1, 2]]), w),
                              dict(per_sample_weights=t([[1.0]], np.float32), mode="sum")),
        "bag-max-freq": (F.embedding_bag, (t([[1]]), w), dict(mode="max", scale_grad_by_freq=True)),
        "bag-max-sparse": (F.embedding_bag, (t([[1]]), w), dict(mode="max", sparse=True)),
        "bag-oob": (F.embedding_bag, (t([[11]]), w), {}),
        "bag-offsets-2d": (F.embedding_bag, (t([1, 2]), w, t([[0]])), {}),
        "bag-weight-1d": (F.embedding_bag, (t([[1]]), np.zeros(10, np.float32)), {}),
        "bag-padding-range": (F.embedding_bag, (t([[1]]), w), dict(padding_idx=10)),
        "one-hot-negative": (F.one_hot, (t([-1, 2]),), {}),
        "one-hot-too-large": (F.one_hot, (t([1, 2]), 2), {}),
        "one-hot-float": (F.one_hot, (t([1.0], np.float32),), {}),
        "one-hot-empty": (F.one_hot, (t([], np.int64),), {}),
    }


@pytest.mark.parametrize("name", sorted(_errors()))
def test_functional_errors_match_torch(name):
    fn, args, kwargs = _errors()[name]
    torch_fn = getattr(torch.nn.functional, fn.__name__)

    def convert(v, array):
        return array(v) if isinstance(v, np.ndarray) else v

    raises_same(lambda: torch_fn(*(convert(a, torch.tensor) for a in args),
                                 **{k: convert(v, torch.tensor) for k, v in kwargs.items()}),
                lambda: fn(*(convert(a, jnp.asarray) for a in args),
                           **{k: convert(v, jnp.asarray) for k, v in kwargs.items()}))


@pytest.mark.parametrize("name,args,kwargs", [
    ("Embedding", (5, 2), dict(padding_idx=5)),
    ("Embedding", (5, 2), dict(padding_idx=-6)),
    ("Embedding", (5, 2), dict(_weight=np.zeros((4, 2), np.float32))),
    ("Embedding", (-1, 2), {}),
    ("EmbeddingBag", (5, 2), dict(padding_idx=5)),
    ("EmbeddingBag", (5, 2), dict(_weight=np.zeros((5, 3), np.float32))),
])
def test_constructor_errors_match_torch(name, args, kwargs):
    torch_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    raises_same(lambda: getattr(torch.nn, name)(*args, **torch_kwargs), lambda: getattr(tnn, name)(*args, **kwargs))
    raises_same(lambda: getattr(torch.nn, name).from_pretrained(torch.zeros(4)),
                lambda: getattr(tnn, name).from_pretrained(jnp.zeros(4)))


@pytest.mark.parametrize("name,args,kwargs", [
    ("Embedding", (10, 3), dict(padding_idx=0, max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True, sparse=True)),
    ("EmbeddingBag", (10, 3), dict(max_norm=2.0, norm_type=1.0, scale_grad_by_freq=True, mode="sum", padding_idx=0)),
    ("EmbeddingBag", (10, 3), dict(mode="max", include_last_offset=True)),
])
def test_repr_matches_torch(name, args, kwargs):
    assert repr(getattr(tnn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))

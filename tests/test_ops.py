"""torch's top-level creation functions (tensor, zeros, ones, rand, randn) and the notes' examples."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import torchjax
import torchjax.nn as tnn


@pytest.mark.parametrize("data", [[1.5, 2.0], [[1, 2], [3, 4]], [True, False], 3.0, np.arange(3, dtype=np.float64)])
def test_tensor_values_and_dtypes_follow_torch(data):
    ours, theirs = torchjax.tensor(data), torch.tensor(data)
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())
    expected = str(theirs.dtype).removeprefix("torch.")
    # without jax_enable_x64, JAX's 64-bit types are its 32-bit ones
    assert str(ours.dtype) == {"int64": "int32", "float64": "float32"}.get(expected, expected)
    assert torchjax.tensor([1, 2], dtype=torchjax.float16).dtype == np.float16


def test_zeros_ones_rand_randn():
    assert torchjax.zeros(2, 3).shape == (2, 3) and float(torchjax.ones((4,)).sum()) == 4.0
    assert torchjax.zeros(2, dtype=torchjax.int32).dtype == np.int32
    torchjax.manual_seed(0)
    u = np.asarray(torchjax.rand(20000))
    z = np.asarray(torchjax.randn(20000))
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    torchjax.manual_seed(0)
    np.testing.assert_array_equal(np.asarray(torchjax.rand(20000)), u)
    g = torchjax.Generator().manual_seed(1)
    assert torchjax.randn(3, generator=g).shape == (3,)


def test_the_notes_examples_run_with_torch_replaced_by_torchjax():
    torch_ = torchjax  # the notes write `torch.`; after porting it is torchjax
    nn = tnn
    decoder_layer = nn.TransformerDecoderLayer(d_model=32, nhead=4, batch_first=True)
    memory = torch_.rand(2, 5, 32)
    tgt = torch_.rand(2, 7, 32)
    assert decoder_layer(tgt, memory).shape == (2, 7, 32)
    embedding = nn.Embedding(num_embeddings=10, embedding_dim=3)
    input_indices = torch_.tensor([1, 2, 3, 4])
    assert embedding(input_indices).shape == (4, 3)
    embedding_bag = nn.EmbeddingBag(num_embeddings=10, embedding_dim=3, mode="mean")
    offsets = torch_.tensor([0])
    assert embedding_bag(input_indices, offsets).shape == (1, 3)
    x = torch_.randn(1, 1, 4, 4)
    pool = nn.MaxPool2d(2, return_indices=True)
    y, ind = pool(x)
    unpool = nn.MaxUnpool2d(2, 2)
    assert unpool(y, ind).shape == (1, 1, 4, 4)

"""Explicit dtype requests without jax_enable_x64 (torch's long is int32 here, its double an error) and the
``Tensor.new_*`` constructors, against torch."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import torch
from parity import assert_close, raises_same

import torchjax

pytestmark = pytest.mark.skipif(jax.config.jax_enable_x64, reason="the 32-bit platform's narrowing")

# torch.long is what model code writes for indices (torch.arange(t, dtype=torch.long)); it is torch's
# default integer type, which is int32 here for every integer tensor, so asking for it by name too gives int32.
LONG_REQUESTS = {
    "arange": lambda lib: lib.arange(0, 5, dtype=lib.long),
    "zeros": lambda lib: lib.zeros(2, 3, dtype=lib.int64),
    "ones": lambda lib: lib.ones(2, dtype=lib.long),
    "full": lambda lib: lib.full((2,), 7, dtype=lib.long),
    "empty": lambda lib: lib.empty(2, dtype=lib.long).zero_(),
    "tensor": lambda lib: lib.tensor([1, 2], dtype=lib.long),
    "to": lambda lib: lib.tensor([1.5, -2.5]).to(lib.long),
    "to_keyword": lambda lib: lib.tensor([1.5, -2.5]).to(dtype=lib.int64),
    "type": lambda lib: lib.tensor([1.5, -2.5]).type(lib.long),
    "sum": lambda lib: lib.tensor([[1, 2], [3, 4]], dtype=lib.int32).sum(0, dtype=lib.long),
    "new_zeros": lambda lib: lib.ones(2).new_zeros(3, dtype=lib.long),
    "new_full": lambda lib: lib.ones(2).new_full((2,), 3, dtype=lib.long),
    "new_tensor": lambda lib: lib.ones(2).new_tensor([4, 5], dtype=lib.long),
}


@pytest.mark.parametrize("name", sorted(LONG_REQUESTS))
def test_long_requests_give_int32_with_torch_values(name):
    expected = LONG_REQUESTS[name](torch)
    assert expected.dtype == torch.int64
    ours = LONG_REQUESTS[name](torchjax)
    assert isinstance(ours, torchjax.Tensor) and ours.dtype == np.int32
    assert_close(ours, expected, atol=0, rtol=0)


def test_long_request_under_compile():
    out = torchjax.compile(lambda x: torchjax.arange(x.shape[0], dtype=torchjax.long) + x.long())(torchjax.ones(3))
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out.jax(), [1, 2, 3])


@pytest.mark.parametrize("request_double", [
    lambda: torchjax.zeros(2, dtype=torchjax.float64),
    lambda: torchjax.ones(2).to(torchjax.double),
    lambda: torchjax.ones(2).double(),
    lambda: torchjax.ones(2).new_zeros(2, dtype=torchjax.float64),
    lambda: torchjax.ones(2).new_tensor([1.0], dtype=torchjax.float64),
    lambda: torchjax.arange(3, dtype=torchjax.complex128),
])
def test_64_bit_floating_requests_raise(request_double):
    with pytest.raises(RuntimeError, match="jax_enable_x64"):
        request_double()


NEW = {
    "new_zeros": lambda x, lib: x.new_zeros(2, 3),
    "new_zeros_sequence": lambda x, lib: x.new_zeros([2, 3]),
    "new_zeros_size": lambda x, lib: x.new_zeros(x.shape),
    "new_ones": lambda x, lib: x.new_ones((2,)),
    "new_ones_dtype": lambda x, lib: x.new_ones((2,), dtype=lib.int32),
    "new_full": lambda x, lib: x.new_full((2, 2), 2.5),
    "new_full_int_self": lambda x, lib: x.int().new_full((2,), 2.5),
    "new_tensor": lambda x, lib: x.new_tensor([1, 2]),
    "new_tensor_dtype": lambda x, lib: x.new_tensor([1, 2], dtype=lib.int32),
    "new_empty_shape": lambda x, lib: x.new_empty((2, 3)).zero_(),
}


@pytest.mark.parametrize("name", sorted(NEW))
def test_new_constructors_match_torch(name):
    x = np.arange(6, dtype=np.float16).reshape(2, 3)
    expected = NEW[name](torch.tensor(x), torch)
    ours = NEW[name](torchjax.tensor(x), torchjax)
    assert isinstance(ours, torchjax.Tensor)
    assert str(ours.dtype) == str(expected.dtype).removeprefix("torch.")
    assert_close(ours, expected, atol=0, rtol=0)


def test_new_constructors_make_leaves_that_require_grad():
    for lib in (torch, torchjax):
        x = lib.ones(2)
        made = [x.new_zeros(2, requires_grad=True), x.new_ones(2, requires_grad=True),
                x.new_full((2,), 1.0, requires_grad=True), x.new_tensor([1.0], requires_grad=True),
                x.new_empty(2, requires_grad=True)]
        assert all(t.requires_grad for t in made) and not x.new_zeros(2).requires_grad
    raises_same(lambda: torch.ones(2).new_zeros(2, dtype=torch.long, requires_grad=True),
                lambda: torchjax.ones(2).new_zeros(2, dtype=torchjax.long, requires_grad=True))

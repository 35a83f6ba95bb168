"""torchjax's indexing functions (torchjax/_torch/indexing.py) against torch: values, dtypes, compiled,
gradients, errors."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, raises_same

import torchjax

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 4)).astype(np.float32)
XI = RNG.integers(-9, 9, (3, 4))
IDX = np.array([[0, 1], [2, 0]])  # no repeats along dim 1 per row: scatter's written value is defined
PERM = np.array([[2, 0, 1, 0], [1, 2, 0, 1]])  # dim 0 indices, repeats across columns only
SRC = RNG.standard_normal((3, 4)).astype(np.float32)
MASK = X > 0
_DTYPES = {torch.int64: np.int32, torch.float64: np.float32}


def compare(ours, theirs):
    if isinstance(theirs, tuple | list):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs, strict=True):
            compare(o, t)
        return
    assert isinstance(ours, torchjax.Tensor), type(ours)
    assert ours.dtype == np.dtype(_DTYPES.get(theirs.dtype, str(theirs.dtype).removeprefix("torch."))), (
        ours.dtype, theirs.dtype)
    assert_close(ours, theirs)


def check(fn, *arrays, compiled=True):
    """``fn(lib, *tensors)`` with lib torch and torchjax: equal eagerly and under torchjax.compile."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's beta / deprecation notes
        expected = fn(torch, *(torch.tensor(a) for a in arrays))
    ours = [torchjax.tensor(a) for a in arrays]
    compare(fn(torchjax, *ours), expected)
    if compiled:
        compare(torchjax.compile(lambda *xs: fn(torchjax, *xs))(*ours), expected)


CASES = {
    "gather": (lambda L, x, i: L.gather(x, 1, i), X, IDX),
    "gather_dim0": (lambda L, x, i: x.gather(0, i), X, PERM),
    "gather_0d": (lambda L, x: L.gather(x[0, 0], 0, L.tensor(0)), X),
    "scatter": (lambda L, x, i, s: L.scatter(x, 1, i, s), X, IDX, SRC),
    "scatter_value": (lambda L, x, i: x.scatter(1, i, 7.5), XI, IDX),
    "scatter_value_kw": (lambda L, x, i: L.scatter(x, 1, i, value=-2.0), X, IDX),
    "scatter_add_reduce": (lambda L, x, i, s: x.scatter(0, i, s, reduce="add"), X, PERM, SRC),
    "scatter_multiply": (lambda L, x, i, s: x.scatter(0, i, s, reduce="multiply"), X, PERM, SRC),
    "scatter_": (lambda L, x, i, s: x.clone().scatter_(1, i, s), X, IDX, SRC),
    "scatter_add": (lambda L, x, i, s: L.scatter_add(x, 0, i, s), X, PERM, SRC),
    "scatter_add_": (lambda L, x, i, s: x.clone().scatter_add_(0, i, s), XI, PERM, XI * 2),
    "index_select": (lambda L, x, i: L.index_select(x, 1, i), X, np.array([3, 0, 3])),
    "index_select_0d_index": (lambda L, x: x.index_select(0, L.tensor(2)), X),
    "index_add": (lambda L, x, s: L.index_add(x, 1, L.tensor([0, 0, 3]), s[:, :3], alpha=2), X, SRC),
    "index_add_int": (lambda L, x: x.clone().index_add_(0, L.tensor([1, 1]), x[:2]), XI),
    "index_copy": (lambda L, x, s: x.index_copy(0, L.tensor([2, 0]), s[:2]), X, SRC),
    "index_copy_": (lambda L, x, s: x.clone().index_copy_(1, L.tensor([3]), s[:, :1]), X, SRC),
    "index_fill": (lambda L, x: L.index_fill(x, 1, L.tensor([1, -1]), -1.5), X),
    "index_fill_int": (lambda L, x: x.index_fill(0, L.tensor([0]), 2.7), XI),
    "index_fill_tensor_value": (lambda L, x: x.clone().index_fill_(1, L.tensor([2]), L.tensor(4.0)), X),
    "masked_scatter": (lambda L, x, m, s: x.masked_scatter(m, s), X, MASK, SRC),
    "masked_scatter_broadcast": (lambda L, x, m, s: L.masked_scatter(x, m[0], s), X, MASK, SRC),
    "masked_scatter_": (lambda L, x, m, s: x.clone().masked_scatter_(m, s), X, MASK, SRC),
    "take": (lambda L, x: L.take(x, L.tensor([[0, 11], [-1, 5]])), X),
    "take_along_dim": (lambda L, x, i: L.take_along_dim(x, i, 0), X, PERM),
    "take_along_dim_broadcast": (lambda L, x: x[:, :1].take_along_dim(L.tensor([[0, -1, 2]]), 0), X),
    "take_along_dim_flat": (lambda L, x: L.take_along_dim(x, L.tensor([[11, 0], [2, 3]])), X),
    "put": (lambda L, x, s: L.put(x, L.tensor([0, -1]), s[0, :2]), X, SRC),
    "put_accumulate": (lambda L, x, s: x.put(L.tensor([[0, 0]]), s[0, :2], accumulate=True), X, SRC),
    "put_": (lambda L, x: x.clone().put_(L.tensor([3, 1]), x[0, :2]), XI),
    "bucketize": (lambda L, x: L.bucketize(x, L.tensor([-1.0, 0.0, 0.5])), X),
    "bucketize_right_int32": (lambda L, x: L.bucketize(x, L.tensor([-3, 0, 3]), right=True, out_int32=True), XI),
    "bucketize_scalar": (lambda L: L.bucketize(4, L.tensor([1, 3, 5, 7])),),
    "searchsorted": (lambda L, s, v: L.searchsorted(s, v), np.sort(X, 1), SRC),
    "searchsorted_right": (lambda L, s, v: L.searchsorted(s, v, right=True), np.sort(XI, 1), XI[:, :2]),
    "searchsorted_side": (lambda L, s, v: L.searchsorted(s, v, side="right"), np.sort(XI[0]), XI),
    "searchsorted_sorter": (lambda L, s: L.searchsorted(s, L.tensor([0.0, 9.0]), sorter=L.argsort(s)), X[0]),
    "searchsorted_scalar": (lambda L: L.searchsorted(L.tensor([1, 3, 5]), 3),),
}
for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _include in (True, False):
        CASES[f"scatter_reduce_{_reduce}_{_include}"] = (
            lambda L, x, i, s, r=_reduce, inc=_include: L.scatter_reduce(x, 0, i, s, r, include_self=inc),
            X, PERM, SRC)
        CASES[f"scatter_reduce_int_{_reduce}_{_include}"] = (
            lambda L, x, i, r=_reduce, inc=_include: x.scatter_reduce(0, i, -x[:2], r, include_self=inc), XI, PERM)
        if _reduce != "sum":
            CASES[f"index_reduce_{_reduce}_{_include}"] = (
                lambda L, x, s, r=_reduce, inc=_include: x.index_reduce(0, L.tensor([0, 0, 2]), s, r,
                                                                        include_self=inc), X, SRC)
            CASES[f"index_reduce_int_{_reduce}_{_include}"] = (
                lambda L, x, r=_reduce, inc=_include: x.clone().index_reduce_(1, L.tensor([1, 1, 3, 1]), x * 3, r,
                                                                              include_self=inc), XI)


@pytest.mark.parametrize("name", CASES)
def test_values_vs_torch(name):
    fn, *arrays = CASES[name]
    check(fn, *arrays)


EAGER_ONLY = {
    "masked_select": (lambda L, x, m: L.masked_select(x, m), X, MASK),
    "masked_select_broadcast": (lambda L, x, m: x.masked_select(m[1]), X, MASK),
    "nonzero": (lambda L, x: L.nonzero(x), XI),
    "nonzero_tuple": (lambda L, x: x.nonzero(as_tuple=True), XI),
    "nonzero_0d": (lambda L, x: L.nonzero(x[0, 0]), XI),
    "nonzero_0d_tuple": (lambda L, x: L.nonzero(x[0, 0], as_tuple=True), XI),
    "argwhere": (lambda L, m: L.argwhere(m), MASK),
    "argwhere_method": (lambda L, x: x.argwhere(), X),
}


@pytest.mark.parametrize("name", EAGER_ONLY)
def test_data_dependent_shapes_eager(name):
    fn, *arrays = EAGER_ONLY[name]
    check(fn, *arrays, compiled=False)


GRADS = {
    "gather": (lambda L, x: L.gather(x, 1, L.tensor(IDX)), X),
    # src of index's shape: torch's backward rejects a larger src.
    "scatter": (lambda L, x, s: L.scatter(x, 1, L.tensor(IDX), s), X, SRC[:2, :2]),
    "scatter_add": (lambda L, x, s: L.scatter_add(x, 0, L.tensor(PERM), s), X, SRC[:2]),
    "index_select": (lambda L, x: L.index_select(x, 1, L.tensor([3, 0, 3])), X),
    "index_add": (lambda L, x, s: L.index_add(x, 1, L.tensor([0, 0, 3]), s[:, :3]), X, SRC),
    "take_along_dim": (lambda L, x: L.take_along_dim(x, L.tensor(PERM), 0), X),
    "masked_scatter": (lambda L, x, s: L.masked_scatter(x, L.tensor(MASK), s), X, SRC),
}


@pytest.mark.parametrize("name", GRADS)
def test_gradients(name):
    fn, *arrays = GRADS[name]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(torch, *ts)
    cot = RNG.standard_normal(tuple(out.shape)).astype(np.float32)
    (out * torch.tensor(cot)).sum().backward()
    grads = jax.grad(lambda *xs: (fn(torchjax, *map(torchjax.as_tensor, xs)).jax() * cot).sum(),
                     argnums=tuple(range(len(arrays))))(*map(jnp.asarray, arrays))
    for g, t in zip(grads, ts, strict=True):
        assert_close(g, t.grad)


def _x(L):
    return L.tensor(X)


ERRORS = {
    "gather_float_index": lambda L: L.gather(_x(L), 1, L.tensor([[1.0]])),
    "gather_ndim": lambda L: L.gather(_x(L), 1, L.tensor([0])),
    "gather_size": lambda L: L.gather(_x(L), 1, L.zeros(4, 1, dtype=L.long)),
    "gather_out_of_range": lambda L: L.gather(_x(L), 1, L.tensor([[4]])),
    "gather_negative": lambda L: L.gather(_x(L), 1, L.tensor([[-1]])),
    "gather_dim": lambda L: L.gather(_x(L), 2, L.tensor(IDX)),
    "scatter_reduce_arg": lambda L: _x(L).scatter(1, L.tensor(IDX), _x(L), reduce="sum"),
    "scatter_dtype": lambda L: _x(L).scatter(1, L.tensor(IDX), _x(L).int()),
    "scatter_src_small": lambda L: _x(L).scatter(1, L.tensor(IDX), L.ones(1, 1)),
    "scatter_self_small": lambda L: _x(L)[:1].scatter(1, L.tensor(IDX), _x(L)),
    "scatter_out_of_range": lambda L: _x(L).scatter(1, L.tensor([[4]]), _x(L)),
    "scatter_0d_src": lambda L: _x(L).scatter(1, L.tensor(IDX), L.tensor(2.0)),
    "scatter_add_scalar": lambda L: _x(L).scatter_add(1, L.tensor(IDX), 2.0),
    "scatter_reduce_name": lambda L: _x(L).scatter_reduce(0, L.tensor(PERM), _x(L), "foo"),
    "index_select_2d": lambda L: L.index_select(_x(L), 1, L.tensor([[2]])),
    "index_select_out_of_range": lambda L: L.index_select(_x(L), 1, L.tensor([4])),
    "index_select_negative": lambda L: L.index_select(_x(L), 1, L.tensor([-1])),
    "index_select_float": lambda L: L.index_select(_x(L), 1, L.tensor([1.0])),
    "index_select_scalar": lambda L: L.index_select(_x(L)[0, 0], 0, L.tensor([0, 0])),
    "index_add_dtype": lambda L: _x(L).index_add(1, L.tensor([0]), L.ones(3, 1, dtype=L.int32)),
    "index_add_count": lambda L: _x(L).index_add(1, L.tensor([0]), L.ones(3, 2)),
    "index_add_out_of_range": lambda L: _x(L).index_add(1, L.tensor([4]), L.ones(3, 1)),
    "index_copy_out_of_range": lambda L: _x(L).index_copy(0, L.tensor([3]), L.ones(1, 4)),
    "index_copy_count": lambda L: _x(L).index_copy(0, L.tensor([0]), L.ones(2, 4)),
    "index_copy_dtype": lambda L: _x(L).index_copy(0, L.tensor([0]), L.ones(1, 4, dtype=L.int32)),
    "index_fill_value_1d": lambda L: _x(L).index_fill(1, L.tensor([1]), L.tensor([2.0])),
    "index_fill_out_of_range": lambda L: _x(L).index_fill(1, L.tensor([4]), 2.0),
    "index_fill_2d": lambda L: _x(L).index_fill(1, L.tensor([[1]]), 2.0),
    "index_reduce_sum": lambda L: _x(L).index_reduce(0, L.tensor([0]), L.ones(1, 4), "sum"),
    "masked_select_int_mask": lambda L: L.masked_select(_x(L), L.ones(3, 4, dtype=L.int32)),
    "masked_scatter_few": lambda L: L.zeros(2, 3).masked_scatter(L.tensor([True, False, True]), L.ones(3)),
    "masked_scatter_dtype": lambda L: L.zeros(2, 3).masked_scatter(L.tensor([True, False, True]), L.ones(9).int()),
    "masked_scatter_int_mask": lambda L: L.zeros(2, 3).masked_scatter(L.tensor([1, 0, 1]), L.ones(9)),
    "take_out_of_range": lambda L: L.take(_x(L), L.tensor([12])),
    "take_out_of_range_negative": lambda L: L.take(_x(L), L.tensor([-13])),
    "take_float": lambda L: L.take(_x(L), L.tensor([1.0])),
    "take_along_dim_ndim": lambda L: L.take_along_dim(_x(L), L.tensor([1]), 1),
    "take_along_dim_float": lambda L: L.take_along_dim(_x(L), L.tensor([[1.0]]), 1),
    "take_along_dim_broadcast": lambda L: L.take_along_dim(_x(L), L.tensor([[0, 1]]), 0),
    "take_along_dim_flat_negative": lambda L: L.take_along_dim(_x(L), L.tensor([-1])),
    "put_count": lambda L: _x(L).put(L.tensor([0, 1]), L.tensor([5.0])),
    "put_out_of_range": lambda L: _x(L).put(L.tensor([12]), L.tensor([5.0])),
    "put_dtype": lambda L: _x(L).put(L.tensor([1]), L.tensor([5])),
    "bucketize_2d_boundaries": lambda L: L.bucketize(_x(L), L.tensor([[1.0, 2.0]])),
    "searchsorted_conflict": lambda L: L.searchsorted(L.tensor([1, 3]), L.tensor([2]), side="left", right=True),
    "searchsorted_side": lambda L: L.searchsorted(L.tensor([1, 3]), L.tensor([2]), side="middle"),
    "searchsorted_leading": lambda L: L.searchsorted(L.tensor([[1, 3, 5]]), L.tensor([[3, 6], [0, 2]])),
    "searchsorted_sorter_shape": lambda L: L.searchsorted(L.tensor([5, 1, 3]), L.tensor([3]), sorter=L.tensor([1])),
    "searchsorted_0d": lambda L: L.searchsorted(L.tensor(1), L.tensor([3.5])),
    "searchsorted_scalar_2d": lambda L: L.searchsorted(L.tensor([[1, 3, 5]]), 3),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raises_same(lambda: ERRORS[name](torch), lambda: ERRORS[name](torchjax))


def test_traced_indices_are_not_checked():
    # Under a trace the indices are not concrete: no range check (JAX clamps), and no error.
    out = torchjax.compile(lambda x, i: x.gather(1, i))(torchjax.tensor(X), torchjax.tensor([[0], [1], [2]]))
    compare(out, torch.tensor(X).gather(1, torch.tensor([[0], [1], [2]])))

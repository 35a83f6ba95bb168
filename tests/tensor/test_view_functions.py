"""Splits (``hsplit``/``vsplit``/``dsplit``, ``split_with_sizes``, ``unsafe_*``), ``unfold``, ``as_strided``,
the out-of-place scatters of views (``select_scatter``, ``slice_scatter``, ``diagonal_scatter``,
``as_strided_scatter``), the ``*_copy`` functions, ``unravel_index`` and ``nonzero_static`` against torch:
values, dtypes, shapes, errors, views writing through, gradients, compiled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from parity import assert_same_result, check_op, check_op_gradients

import torchjax as tj

RNG = np.random.default_rng(3)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((2, 3, 4)).astype(np.float32)
V = RNG.standard_normal(6).astype(np.float32)
C = (RNG.standard_normal((3, 2)) + 1j * RNG.standard_normal((3, 2))).astype(np.complex64)
MASK = (RNG.random((3, 4)) < 0.5).astype(np.int32)

CASES = [
    ("split_with_sizes", lambda lib, a: lib.split_with_sizes(a, [1, 2]), A),
    ("split_with_sizes_method_dim", lambda lib, a: a.split_with_sizes([3, 1], dim=1), A),
    ("split_with_sizes_bad", lambda lib, a: lib.split_with_sizes(a, [1, 1]), A),
    ("unsafe_split", lambda lib, a: lib.unsafe_split(a, 2, 1), A),
    ("unsafe_chunk", lambda lib, a: a.unsafe_chunk(2) + lib.unsafe_chunk(a, 3, 1), A),
    ("unsafe_split_with_sizes", lambda lib, a: lib.unsafe_split_with_sizes(a, [2, 2], 1), A),
    ("hsplit", lambda lib, a: lib.hsplit(a, 2), A),
    ("hsplit_1d", lambda lib, v: lib.hsplit(v, 3), V),
    ("hsplit_not_divisible", lambda lib, a: lib.hsplit(a, 3), A),
    ("vsplit", lambda lib, a: lib.vsplit(a, [1]), A),
    ("vsplit_1d", lambda lib, v: lib.vsplit(v, 2), V),
    ("dsplit", lambda lib, b: lib.dsplit(b, 2), B),
    ("dsplit_2d", lambda lib, a: lib.dsplit(a, 2), A),
    ("unfold", lambda lib, a: a.unfold(1, 2, 1), A),
    ("unfold_step", lambda lib, b: b.unfold(-1, 2, 2), B),
    ("unfold_too_big", lambda lib, a: a.unfold(1, 5, 1), A),
    ("unfold_bad_step", lambda lib, a: a.unfold(1, 2, 0), A),
    ("as_strided", lambda lib, a: lib.as_strided(a, (2, 2), (1, 2), 1), A),
    ("as_strided_method_overlapping", lambda lib, a: a.as_strided((3, 3), (1, 1)), A),
    ("as_strided_out_of_bounds", lambda lib, a: lib.as_strided(a, (4, 4), (4, 1)), A),
    ("select_scatter", lambda lib, a, s: lib.select_scatter(a, s, 0, -1), A, A[0] * 10),
    ("select_scatter_casts_src", lambda lib, a: lib.select_scatter(a, lib.ones(4, dtype=lib.int32), 1, 2), B),
    ("select_scatter_bad_shape", lambda lib, a: lib.select_scatter(a, a[0, :3], 0, 1), A),
    ("slice_scatter", lambda lib, a: lib.slice_scatter(a, lib.zeros(3, 2), 1, 0, 4, 2), A),
    ("diagonal_scatter", lambda lib, a: lib.diagonal_scatter(a, lib.ones(3), 1), A),
    ("diagonal_scatter_bad_shape", lambda lib, a: lib.diagonal_scatter(a, lib.ones(4), 1), A),
    ("as_strided_scatter", lambda lib, a: lib.as_strided_scatter(a, lib.zeros(2, 2), (2, 2), (1, 2), 1), A),
    ("alias_copy", lambda lib, a: lib.alias_copy(a), A),
    ("detach_copy", lambda lib, a: lib.detach_copy(a), A),
    ("squeeze_copy", lambda lib, b: lib.squeeze_copy(b[:1], 0), B),
    ("as_strided_copy", lambda lib, a: lib.as_strided_copy(a, (2, 3), (3, 1), 2), A),
    ("diagonal_copy", lambda lib, b: lib.diagonal_copy(b, 1, 1, 2), B),
    ("expand_copy", lambda lib, a: lib.expand_copy(a[:1], (2, 4)), A),
    ("permute_copy", lambda lib, b: lib.permute_copy(b, (2, 0, 1)), B),
    ("select_copy", lambda lib, b: lib.select_copy(b, 1, 2), B),
    ("slice_copy", lambda lib, a: lib.slice_copy(a, 1, 1, None, 2), A),
    ("split_copy", lambda lib, a: lib.split_copy(a, 2), A),
    ("split_with_sizes_copy", lambda lib, a: lib.split_with_sizes_copy(a, [3, 1], 1), A),
    ("t_copy", lambda lib, a: lib.t_copy(a), A),
    ("transpose_copy", lambda lib, b: lib.transpose_copy(b, 0, 2), B),
    ("unbind_copy", lambda lib, a: lib.unbind_copy(a, 1), A),
    ("unfold_copy", lambda lib, a: lib.unfold_copy(a, 0, 2, 1), A),
    ("unsqueeze_copy", lambda lib, a: lib.unsqueeze_copy(a, 1), A),
    ("view_copy", lambda lib, a: lib.view_copy(a, (4, 3)), A),
    ("view_copy_dtype", lambda lib, a: lib.view_copy(a, lib.int32), A),
    ("narrow_copy", lambda lib, a: lib.narrow_copy(a, 1, 1, 2), A),
    ("narrow_copy_method", lambda lib, a: a.narrow_copy(0, 1, 2), A),
    ("view_as_real_copy", lambda lib, c: lib.view_as_real_copy(c), C),
    ("view_as_complex_copy", lambda lib, a: lib.view_as_complex_copy(a[:, :2]), A),
    ("unravel_index", lambda lib: lib.unravel_index(lib.tensor([4, 1, 7, 11]), (3, 4))),
    ("unravel_index_0d_wraps", lambda lib: lib.unravel_index(lib.tensor(-1), (3, 4))),
    ("unravel_index_float", lambda lib: lib.unravel_index(lib.tensor([1.0]), (3, 4))),
    ("unravel_index_negative_shape", lambda lib: lib.unravel_index(lib.tensor([1]), (2, -3))),
    ("unravel_index_zero_shape", lambda lib: lib.unravel_index(lib.tensor([1]), (2, 0))),
    ("nonzero_static", lambda lib, m: lib.nonzero_static(m, size=9, fill_value=-7), MASK),
    ("nonzero_static_0d", lambda lib, m: lib.nonzero_static(m[0, 0], size=2), MASK),
    ("nonzero_static_bad_size", lambda lib, m: lib.nonzero_static(m, size=-1), MASK),
]


@pytest.mark.parametrize("fn, arrays", [(c[1], c[2:]) for c in CASES], ids=[c[0] for c in CASES])
def test_values(fn, arrays):
    check_op(fn, *arrays)


@pytest.mark.parametrize("name", ["unfold_step", "as_strided", "diagonal_scatter", "nonzero_static"])
def test_compiled(name):
    fn, *arrays = next(c[1:] for c in CASES if c[0] == name)
    check_op(fn, *arrays, compiled=True)


VIEWS = [
    ("unfold", lambda t: t.unfold(1, 2, 2)),
    ("as_strided", lambda t: t.as_strided((2, 2), (4, 1), 1)),
    ("hsplit", lambda t: t.hsplit(2)[1]),
    ("split_with_sizes", lambda t: t.split_with_sizes([1, 2])[1]),
]


@pytest.mark.parametrize("view", [c[1] for c in VIEWS], ids=[c[0] for c in VIEWS])
def test_views_write_through(view):
    def run(lib):
        base = lib.tensor(A)
        view(base).mul_(0).add_(5)
        return base

    assert_same_result(run(tj), run(torch))


def test_copies_are_not_views():
    for lib in (torch, tj):
        a = lib.tensor(A)
        copy = lib.t_copy(a)
        a.zero_()
        assert float(copy.abs().sum()) > 0


def test_overlapping_views_refuse_writes():
    # torch applies the write once per view element, so shared elements get it twice; torchjax raises instead
    # of differing silently (as for every overlapping view, e.g. expand).
    with pytest.raises(RuntimeError, match="more than one element"):
        tj.tensor(A).unfold(1, 2, 1).add_(1)
    with pytest.raises(RuntimeError, match="more than one element"):
        tj.tensor(A).as_strided((3, 3), (1, 1)).mul_(2)


def test_gradients():
    check_op_gradients([
        ("unfold", lambda lib, a: a.unfold(1, 2, 1) * lib.arange(2.0), [A]),
        ("as_strided", lambda lib, a: lib.as_strided(a, (3, 3), (1, 1)), [A]),
        ("select_scatter", lambda lib, a, s: lib.select_scatter(a, s * 2, 0, 1) ** 2, [A, A[0]]),
        ("slice_scatter", lambda lib, a, s: lib.slice_scatter(a, s, 1, 1, 3) ** 2, [A, A[:, :2]]),
        ("diagonal_scatter", lambda lib, a, s: lib.diagonal_scatter(a, s.exp()) ** 2, [A, A[0, :3]]),
        # torch's own as_strided_scatter backward returns zeros for the input: the reference is the same scatter
        # written with index_put, whose gradients torch gets right.
        ("as_strided_scatter", lambda lib, a, s: (
            lib.as_strided_scatter(a, s, (2, 2), (2, 1), 1) if lib is tj
            else a.flatten().index_put((torch.arange(1, 5),), s.flatten()).view(3, 4)) ** 2, [A, A[:2, :2]]),
        ("hsplit", lambda lib, a: lib.hsplit(a, 2)[0] * 3, [A]),
        ("view_copy", lambda lib, a: lib.view_copy(a, (4, 3)) ** 2, [A]),
    ])

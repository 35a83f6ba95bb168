"""Numerical calculus and statistics (``trapezoid``, ``trapz``, ``cumulative_trapezoid``, ``gradient``, ``cov``,
``corrcoef``, ``histogram``, ``histogramdd``) and ``segment_reduce`` against torch: values, dtypes, shapes,
errors, gradients, compiled."""

from __future__ import annotations

import numpy as np
import pytest
from parity import check_op, check_op_gradients

RNG = np.random.default_rng(6)
Y = RNG.standard_normal((3, 5)).astype(np.float32)
XS = np.sort(RNG.uniform(0, 4, 5)).astype(np.float32)
YI = RNG.integers(-4, 5, (3, 5)).astype(np.int32)
FW = RNG.integers(1, 4, 5).astype(np.int32)
AW = RNG.uniform(0.5, 2, 5).astype(np.float32)
SAMPLES = RNG.standard_normal(20).astype(np.float32)
POINTS = RNG.uniform(0, 1, (12, 2)).astype(np.float32)
WEIGHTS = RNG.uniform(0.5, 2, 12).astype(np.float32)
DATA = RNG.standard_normal((6, 2)).astype(np.float32)

CASES = [
    ("trapezoid", lambda lib, y: lib.trapezoid(y), Y),
    ("trapezoid_x", lambda lib, y, x: lib.trapezoid(y, x), Y, XS),
    ("trapezoid_dx", lambda lib, y: lib.trapezoid(y, dx=0.5, dim=0), Y),
    ("trapezoid_int", lambda lib, y: lib.trapezoid(y) + lib.trapezoid(y, dx=2), YI),
    ("trapezoid_bad_x", lambda lib, y, x: lib.trapezoid(y, x[:3]), Y, XS),
    ("trapz", lambda lib, y, x: lib.trapz(y, x), Y, XS),
    ("cumulative_trapezoid", lambda lib, y, x: lib.cumulative_trapezoid(y, x), Y, XS),
    ("cumulative_trapezoid_int_dim0", lambda lib, y: lib.cumulative_trapezoid(y, dim=0), YI),
    ("gradient", lambda lib, y: lib.gradient(y), Y),
    ("gradient_spacing_edge2", lambda lib, y: lib.gradient(y, spacing=2.0, dim=1, edge_order=2), Y),
    ("gradient_coordinates", lambda lib, y, x: lib.gradient(y, spacing=(x,), dim=1), Y, XS),
    ("gradient_coordinates_edge2", lambda lib, y, x: lib.gradient(y, spacing=(x,), dim=1, edge_order=2), Y, XS),
    ("gradient_int", lambda lib, y: lib.gradient(y, dim=0), YI),
    ("gradient_bad_edge_order", lambda lib, y: lib.gradient(y, edge_order=3), Y),
    ("gradient_too_short", lambda lib, y: lib.gradient(y[:, :2], dim=1, edge_order=2), Y),
    ("cov", lambda lib, y: lib.cov(y), Y),
    ("cov_method_int", lambda lib, y: y.cov(), YI),
    ("cov_1d", lambda lib, y: lib.cov(y[0]), Y),
    ("cov_weights", lambda lib, y, f, a: lib.cov(y, correction=0, fweights=f, aweights=a), Y, FW, AW),
    ("cov_aweights", lambda lib, y, a: lib.cov(y, correction=2, aweights=a), Y, AW),
    ("cov_float_fweights", lambda lib, y, a: lib.cov(y, fweights=a), Y, AW),
    ("cov_3d", lambda lib, y: lib.cov(y[None]), Y),
    ("corrcoef", lambda lib, y: lib.corrcoef(y), Y),
    ("corrcoef_method_int", lambda lib, y: y.corrcoef(), YI),
    ("histogram", lambda lib, x: lib.histogram(x, 5), SAMPLES),
    ("histogram_method_range_weight_density",
     lambda lib, x: x.histogram(4, range=(-1.0, 1.0), weight=x.abs(), density=True), SAMPLES),
    ("histogram_edges", lambda lib, x: lib.histogram(x, lib.tensor([-2.0, 0.0, 0.5, 3.0])), SAMPLES),
    ("histogram_int", lambda lib, x: lib.histogram(x.int(), 3), SAMPLES),
    ("histogramdd", lambda lib, p: lib.histogramdd(p, [3, 2]), POINTS),
    ("histogramdd_range_weight_density",
     lambda lib, p, w: lib.histogramdd(p, 2, range=[0.0, 0.5, 0.0, 1.0], weight=w, density=True), POINTS, WEIGHTS),
    ("histogramdd_edges", lambda lib, p: lib.histogramdd(p, [lib.tensor([0.0, 0.3, 1.0]), lib.tensor([0.0, 1.0])]),
     POINTS),
    ("segment_reduce_sum", lambda lib, d: lib.segment_reduce(d, "sum", lengths=lib.tensor([1, 0, 3, 2])), DATA),
    ("segment_reduce_mean", lambda lib, d: lib.segment_reduce(d, "mean", lengths=lib.tensor([1, 0, 5])), DATA),
    ("segment_reduce_max_offsets", lambda lib, d: lib.segment_reduce(d, "max", offsets=lib.tensor([0, 2, 2, 6])),
     DATA),
    ("segment_reduce_prod", lambda lib, d: lib.segment_reduce(d, "prod", lengths=lib.tensor([2, 0, 4])), DATA),
    ("segment_reduce_initial_sum", lambda lib, d: lib.segment_reduce(d, "sum", lengths=lib.tensor([2, 0, 4]),
                                                                     initial=10.0), DATA),
    ("segment_reduce_initial_mean", lambda lib, d: lib.segment_reduce(d, "mean", lengths=lib.tensor([2, 0, 4]),
                                                                      initial=10.0), DATA),
    ("segment_reduce_initial_max", lambda lib, d: lib.segment_reduce(d, "max", lengths=lib.tensor([2, 0, 4]),
                                                                     initial=0.5), DATA),
    ("segment_reduce_bad_lengths", lambda lib, d: lib.segment_reduce(d, "sum", lengths=lib.tensor([1, 2])), DATA),
    ("segment_reduce_bad_reduce", lambda lib, d: lib.segment_reduce(d, "median", lengths=lib.tensor([6])), DATA),
    ("segment_reduce_int", lambda lib, d: lib.segment_reduce(d.int(), "sum", lengths=lib.tensor([6])), DATA),
    ("segment_reduce_bad_axis", lambda lib, d: lib.segment_reduce(d, "sum", lengths=lib.tensor([2]), axis=1), DATA),
]


@pytest.mark.parametrize("fn, arrays", [(c[1], c[2:]) for c in CASES], ids=[c[0] for c in CASES])
def test_values(fn, arrays):
    check_op(fn, *arrays, tol=1e-4)


@pytest.mark.parametrize("name", ["cumulative_trapezoid", "gradient_coordinates_edge2", "cov_weights",
                                  "histogramdd", "segment_reduce_initial_mean"])
def test_compiled(name):
    fn, *arrays = next(c[1:] for c in CASES if c[0] == name)
    check_op(fn, *arrays, compiled=True, tol=1e-4)


def test_gradients():
    check_op_gradients([
        ("trapezoid", lambda lib, y, x: lib.trapezoid(y, x), [Y, XS]),
        ("cumulative_trapezoid", lambda lib, y: lib.cumulative_trapezoid(y, dx=0.5) ** 2, [Y]),
        ("gradient", lambda lib, y, x: lib.gradient(y, spacing=(x,), dim=1, edge_order=2)[0] ** 2, [Y, XS]),
        ("cov", lambda lib, y, a: lib.cov(y, aweights=a), [Y, AW]),
        ("corrcoef", lambda lib, y: lib.corrcoef(y) * lib.arange(9.0).reshape(3, 3), [Y]),
        ("segment_reduce", lambda lib, d: lib.segment_reduce(d, "mean", lengths=lib.tensor([2, 4])) ** 2, [DATA]),
    ], rtol=1e-3, atol=1e-4)

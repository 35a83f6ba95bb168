"""torch's LU and triangular solvers (``lu``, ``lu_unpack``, ``lu_solve``, ``triangular_solve``), Cholesky solves
(``cholesky_solve``, ``cholesky_inverse``), Householder products (``geqrf``, ``orgqr``, ``ormqr``), the functions
torch removed (``eig``, ``symeig``, ``solve``, ``lstsq``, ``matrix_rank`` raise its RuntimeError), and the norms
``frobenius_norm``, ``nuclear_norm``, ``norm_except_dim``, ``dist``, ``renorm``, and ``vander``, against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from parity import check_op, check_op_gradients

import torchjax as tj

RNG = np.random.default_rng(4)
M = (RNG.standard_normal((3, 3)) + 3 * np.eye(3)).astype(np.float32)      # well conditioned
BM = (RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)).astype(np.float32)
RHS = RNG.standard_normal((3, 2)).astype(np.float32)
TALL = RNG.standard_normal((4, 3)).astype(np.float32)
WIDE = RNG.standard_normal((2, 4)).astype(np.float32)
L = np.tril(M).astype(np.float32)
CPLX = (RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3)) + 3 * np.eye(3)).astype(np.complex64)
X = RNG.standard_normal((2, 3, 4)).astype(np.float32)
V = RNG.standard_normal(4).astype(np.float32)

CASES = [
    ("lu", lambda lib, a: lib.lu(a), M),
    ("lu_batched_infos", lambda lib, a: lib.lu(a, get_infos=True), BM),
    ("lu_singular_infos", lambda lib, a: lib.lu(a * 0, get_infos=True), M),
    ("lu_no_pivot", lambda lib, a: lib.lu(a, pivot=False), M),
    ("lu_int", lambda lib, a: lib.lu(a.int()), M),
    ("lu_unpack", lambda lib, a: lib.lu_unpack(*lib.lu(a)), M),
    ("lu_unpack_tall_batched", lambda lib, a: lib.lu_unpack(*lib.lu(a[None].expand(2, 4, 3))), TALL),
    ("lu_unpack_only_pivots", lambda lib, a: lib.lu_unpack(*lib.lu(a), unpack_data=False), M),
    ("lu_unpack_only_data", lambda lib, a: lib.lu_unpack(*lib.lu(a), unpack_pivots=False), M),
    ("lu_solve", lambda lib, a, b: lib.lu_solve(b, *lib.lu(a)), M, RHS),
    ("lu_solve_batched_method", lambda lib, a, b: b.lu_solve(*lib.lu(a)), BM, RHS),
    ("lu_solve_dtype_mismatch", lambda lib, a, b: lib.lu_solve(b.double(), *lib.lu(a)), M, RHS),
    ("triangular_solve", lambda lib, a, b: lib.triangular_solve(b, a), M, RHS),
    ("triangular_solve_lower_unit_transposed",
     lambda lib, a, b: b.triangular_solve(a, upper=False, transpose=True, unitriangular=True), M, RHS),
    ("triangular_solve_int", lambda lib, a, b: lib.triangular_solve(b.int(), a.int()), M, RHS),
    ("cholesky_solve", lambda lib, l, b: lib.cholesky_solve(b, l), L, RHS),
    ("cholesky_solve_upper_method", lambda lib, l, b: b.cholesky_solve(l.mT, upper=True), L, RHS),
    ("cholesky_solve_complex", lambda lib, c, b: lib.cholesky_solve(b.to(c.dtype), c.tril()), CPLX, RHS),
    ("cholesky_solve_dtype_mismatch", lambda lib, l, b: lib.cholesky_solve(b.double(), l), L, RHS),
    ("cholesky_inverse", lambda lib, l: lib.cholesky_inverse(l), L),
    ("cholesky_inverse_1d", lambda lib, v: lib.cholesky_inverse(v), V),
    ("geqrf", lambda lib, a: lib.geqrf(a), TALL),
    ("orgqr", lambda lib, a: lib.orgqr(*lib.geqrf(a)), TALL),
    ("ormqr", lambda lib, a, c: lib.ormqr(*lib.geqrf(a), c), TALL, TALL),
    ("ormqr_right_transposed", lambda lib, a, c: lib.ormqr(*lib.geqrf(a), c.mT, left=False, transpose=True), TALL,
     TALL),
    ("eig_removed", lambda lib, a: lib.eig(a), M),
    ("symeig_removed_method", lambda lib, a: a.symeig(), M),
    ("solve_removed", lambda lib, a, b: lib.solve(b, a), M, RHS),
    ("lstsq_removed_method", lambda lib, a, b: b.lstsq(a), M, RHS),
    ("matrix_rank_removed", lambda lib, a: lib.matrix_rank(a), M),
    ("frobenius_norm", lambda lib, x: lib.frobenius_norm(x, [0, 2], True), X),
    ("frobenius_norm_int", lambda lib, x: lib.frobenius_norm(x.int(), [0]), X),
    ("nuclear_norm", lambda lib, a: lib.nuclear_norm(a), M),
    ("nuclear_norm_keepdim", lambda lib, a: lib.nuclear_norm(a, True), M),
    ("nuclear_norm_dims", lambda lib, x: lib.nuclear_norm(x, [1, 2]), X),
    ("nuclear_norm_batched", lambda lib, x: lib.nuclear_norm(x), X),
    ("nuclear_norm_1d", lambda lib, v: lib.nuclear_norm(v), V),
    ("norm_except_dim", lambda lib, x: lib.norm_except_dim(x, 2, 1), X),
    ("norm_except_dim_whole", lambda lib, x: lib.norm_except_dim(x, 2, -1), X),
    ("dist", lambda lib, x, v: lib.dist(x, v), X, V),
    ("dist_p_method", lambda lib, x, v: x.dist(v, 3.5), X, V),
    ("dist_promotes", lambda lib, x, v: lib.dist(x.half(), v), X, V),
    ("dist_int", lambda lib, x: lib.dist(x.int(), x.int()), X),
    ("renorm", lambda lib, x: lib.renorm(x, 2, 1, 1.5), X),
    ("renorm_inplace", lambda lib, x: x.renorm_(2, 2, 1.0), X),
    ("renorm_bad_p", lambda lib, x: lib.renorm(x, 0, 0, 1.0), X),
    ("renorm_bad_maxnorm", lambda lib, x: lib.renorm(x, 2, 0, -1.0), X),
    ("renorm_int", lambda lib, x: lib.renorm(x.int(), 2, 0, 1.0), X),
    ("vander", lambda lib, v: lib.vander(v), V),
    ("vander_n_increasing", lambda lib, v: lib.vander(v, 6, True), V),
    ("vander_int", lambda lib, v: lib.vander((v * 3).int()), V),
    ("vander_zero_columns", lambda lib, v: lib.vander(v, 0), V),
    ("vander_negative_n", lambda lib, v: lib.vander(v, -1), V),
    ("vander_2d", lambda lib, x: lib.vander(x), X),
]


@pytest.mark.parametrize("fn, arrays", [(c[1], c[2:]) for c in CASES], ids=[c[0] for c in CASES])
def test_values(fn, arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's and our deprecation notes for lu & co.
        check_op(fn, *arrays, tol=1e-4)


@pytest.mark.parametrize("name", ["lu_solve", "cholesky_solve", "ormqr", "renorm"])
def test_compiled(name):
    fn, *arrays = next(c[1:] for c in CASES if c[0] == name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_op(fn, *arrays, compiled=True, tol=1e-4)


def test_deprecation_warnings():
    for name, call in (("lu", lambda: tj.lu(tj.tensor(M))),
                       ("lu_solve", lambda: tj.lu_solve(tj.tensor(RHS), *tj.lu(tj.tensor(M)))),
                       ("triangular_solve", lambda: tj.triangular_solve(tj.tensor(RHS), tj.tensor(M)))):
        with pytest.warns(UserWarning, match=f"torch.{name} is deprecated"):
            call()


def test_gradients():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_op_gradients([
            ("triangular_solve", lambda lib, a, b: lib.triangular_solve(b, a).solution, [M, RHS]),
            ("lu_solve", lambda lib, a, b: lib.lu_solve(b, *lib.lu(a)), [M, RHS]),
            ("cholesky_solve", lambda lib, l, b: lib.cholesky_solve(b, l.tril()), [L, RHS]),
            ("cholesky_inverse", lambda lib, l: lib.cholesky_inverse(l.tril()), [L]),
            ("frobenius_norm", lambda lib, x: lib.frobenius_norm(x, [1, 2]), [X]),
            ("nuclear_norm", lambda lib, a: lib.nuclear_norm(a), [M]),
            ("norm_except_dim", lambda lib, x: lib.norm_except_dim(x, 2, 1), [X]),
            ("dist", lambda lib, x, v: lib.dist(x, v, 3), [X, V]),
            ("renorm", lambda lib, x: lib.renorm(x, 2, 1, 1.5), [X]),
            # torch.vander's own backward fails (an in-place write it records): the reference is linalg.vander.
            ("vander", lambda lib, v: lib.vander(v, 4) if lib is tj else lib.linalg.vander(v, N=4).flip(-1), [V]),
        ], rtol=1e-3, atol=1e-4)

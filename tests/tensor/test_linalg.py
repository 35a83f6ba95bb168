"""torchjax's matmul family and ``torchjax.linalg`` against torch: values, dtypes, errors, compile, gradients.

Each case is ``fn(lib, *tensors)`` with ``lib`` torch or torchjax (``lib.linalg`` is torch.linalg or
torchjax.linalg); when torch raises, torchjax must raise the same exception type, otherwise results
(tensors, named tuples, numbers) must match, eagerly and inside ``torchjax.compile``.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
import torch
from parity import raises_same

import torchjax as tj
import torchjax.linalg  # noqa: F401 - the submodule, as ``tj.linalg``

_X64 = {"int64": "int32", "float64": "float32", "complex128": "complex64"}


def sample(shape, seed: int = 0, kind: str = "normal", dtype: str = "float32"):
    """``(values, dtype)``: normal values, a well-conditioned ('wc') or symmetric positive-definite ('spd')
    batch of square matrices, small integers ('int')."""
    rng = np.random.default_rng(seed)
    if kind == "int":
        return rng.integers(-3, 4, shape).astype(np.int32), dtype
    values = rng.standard_normal(shape).astype(np.float32)
    if dtype == "complex64":
        values = (values + 1j * rng.standard_normal(shape)).astype(np.complex64)
    if kind in ("wc", "spd"):
        n = shape[-1]
        if kind == "spd":
            values = values @ np.conj(np.swapaxes(values, -1, -2))
        values = values + n * np.eye(n, dtype=values.dtype)
    return values, dtype


def make(lib, values, dtype):
    return lib.tensor(values).to(getattr(lib, dtype))


def dtype_name(dtype) -> str:
    name = str(dtype).split(".")[-1]
    return _X64.get(name, name)


def assert_matches(ours, theirs, tol: float = 1e-4) -> None:
    if isinstance(theirs, tuple | list):
        assert isinstance(ours, tuple | list) and len(ours) == len(theirs), (ours, theirs)
        if hasattr(theirs, "_fields") or hasattr(theirs, "n_fields"):
            assert type(ours).__name__ == type(theirs).__name__
        for o, t in zip(ours, theirs, strict=True):
            assert_matches(o, t, tol)
        return
    if not isinstance(theirs, torch.Tensor):
        assert type(ours) is type(theirs), (ours, theirs)
        assert ours == (pytest.approx(theirs, rel=tol) if isinstance(theirs, float) else theirs), (ours, theirs)
        return
    assert isinstance(ours, tj.Tensor), type(ours)
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype), f"dtype {ours.dtype} != torch's {theirs.dtype}"
    a, b = np.asarray(ours.jax()), theirs.detach().resolve_conj().numpy()
    assert a.shape == b.shape, f"shape {a.shape} != torch's {b.shape}"
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def check(fn, *operands, compiled: bool = True, tol: float = 1e-4) -> None:
    """``fn(torch, ...)`` against ``fn(torchjax, ...)``, eagerly and compiled."""
    def call(lib):
        return fn(lib, *(make(lib, *o) if isinstance(o, tuple) else o for o in operands))

    try:
        theirs = call(torch)
    except Exception:  # noqa: BLE001 - then ours must raise the same type
        raises_same(lambda: call(torch), lambda: call(tj))
        return
    assert_matches(call(tj), theirs, tol)
    if compiled:
        tensors = [make(tj, *o) for o in operands if isinstance(o, tuple)]
        it = iter(range(len(tensors)))
        placed = [next(it) if isinstance(o, tuple) else o for o in operands]

        def run(*ts):
            return fn(tj, *(ts[p] if isinstance(o, tuple) else p for o, p in zip(operands, placed, strict=True)))

        assert_matches(tj.compile(run)(*tensors), theirs, tol)


M23, M34, M33, V3, V4 = sample((2, 3)), sample((3, 4), 1), sample((3, 3), 2), sample((3,), 3), sample((4,), 4)
B234, B245, B33 = sample((2, 3, 4), 5), sample((2, 4, 5), 6), sample((2, 3, 3), 7, "wc")
WC, SPD, BSPD = sample((3, 3), 8, "wc"), sample((3, 3), 9, "spd"), sample((2, 3, 3), 10, "spd")
C33, CSPD = sample((3, 3), 11, "wc", "complex64"), sample((3, 3), 12, "spd", "complex64")
I23, I34 = sample((2, 3), 13, "int"), sample((3, 4), 14, "int")
TALL = sample((4, 2), 15)
INT22 = (np.array([[2, 1], [1, 1]], np.int32), "int32")  # invertible
ROUNDED = (np.round(M34[0]), "float32")  # equal entries, so p=0 counts differ from the size

MATMUL = [
    ("matmul", lambda lib, a, b: lib.matmul(a, b), M23, M34),
    ("matmul_method_batch", lambda lib, a, b: a.matmul(b), B234, B245),
    ("matmul_broadcast", lambda lib, a, b: lib.matmul(a, b), B234, sample((4, 2), 16)),
    ("matmul_vec", lambda lib, a, b: lib.matmul(a, b), B234, V4),
    ("matmul_vec_mat", lambda lib, a, b: lib.matmul(a, b), V3, M34),
    ("matmul_dot", lambda lib, a, b: lib.matmul(a, b), V3, V3),
    ("matmul_int", lambda lib, a, b: lib.matmul(a, b), I23, I34),
    ("matmul_operator", lambda lib, a, b: a @ b, M23, M34),
    ("mm", lambda lib, a, b: lib.mm(a, b), M23, M34),
    ("mm_method", lambda lib, a, b: a.mm(b), M23, M34),
    ("bmm", lambda lib, a, b: lib.bmm(a, b), B234, B245),
    ("mv", lambda lib, a, b: lib.mv(a, b), M34, V4),
    ("dot", lambda lib, a, b: lib.dot(a, b), V3, sample((3,), 20)),
    ("vdot_complex", lambda lib, a, b: lib.vdot(a[0], b[1]), C33, C33),
    ("inner", lambda lib, a, b: lib.inner(a, b), M34, sample((2, 4), 21)),
    ("inner_method", lambda lib, a, b: a.inner(b), V3, V3),
    ("outer", lambda lib, a, b: lib.outer(a, b), V3, V4),
    ("outer_promotes", lambda lib, a, b: lib.outer(a[0], b), I23, V4),
    ("ger", lambda lib, a, b: a.ger(b), V3, V4),
    ("addmm", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2.0), sample((2, 4), 22), M23, M34),
    ("addmm_broadcast", lambda lib, c, a, b: lib.addmm(c, a, b), V4, M23, M34),
    ("addmm_beta0_ignores_nan", lambda lib, c, a, b: lib.addmm(c / 0 * 0, a, b, beta=0), sample((2, 4), 22), M23,
     M34),
    ("addmm_", lambda lib, c, a, b: c.addmm_(a, b, alpha=3), sample((2, 4), 22), M23, M34),
    ("addbmm", lambda lib, c, a, b: lib.addbmm(c, a, b, beta=2), sample((3, 5), 23), B234, B245),
    ("baddbmm", lambda lib, c, a, b: lib.baddbmm(c, a, b, alpha=0.5), sample((2, 3, 5), 24), B234, B245),
    ("baddbmm_", lambda lib, c, a, b: c.baddbmm_(a, b), sample((2, 3, 5), 24), B234, B245),
    ("addmv", lambda lib, c, a, b: lib.addmv(c, a, b, beta=-1), V3, M34, V4),
    ("addr", lambda lib, c, a, b: lib.addr(c, a, b, alpha=2), M34, V3, V4),
    ("addr_", lambda lib, c, a, b: c.addr_(a, b), M34, V3, V4),
    ("einsum", lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), M23, M34),
    ("einsum_list", lambda lib, a, b: lib.einsum("bij,bjk", [a, b]), B234, B245),
    ("einsum_ellipsis", lambda lib, a: lib.einsum("...ii->...i", a), B33),
    ("chain_matmul", lambda lib, a, b, c: lib.chain_matmul(a, b, c), M23, M34, sample((4, 2), 25)),
    ("cdist", lambda lib, a, b: lib.cdist(a, b), B234, sample((2, 5, 4), 26)),
    ("cdist_p1", lambda lib, a, b: lib.cdist(a, b, p=1.0), M34, sample((2, 4), 27)),
    ("cdist_p3", lambda lib, a, b: lib.cdist(a, b, p=3, compute_mode="donot_use_mm_for_euclid_dist"), M34,
     sample((2, 4), 27)),
    ("cdist_inf", lambda lib, a, b: lib.cdist(a, b, p=float("inf")), M34, sample((2, 4), 27)),
    ("cdist_p0", lambda lib, a, b: lib.cdist(a, b, p=0), ROUNDED, (np.round(sample((2, 4), 27)[0]), "float32")),
    # errors
    ("matmul_dtype_mismatch", lambda lib, a, b: lib.matmul(a, b.half()), M23, M34),
    ("matmul_shapes", lambda lib, a, b: lib.matmul(a, b), M23, M23),
    ("matmul_batch_shapes", lambda lib, a, b: lib.matmul(a, b), B234, sample((3, 4, 5), 28)),
    ("matmul_0d", lambda lib, a: lib.matmul(a[0, 0], a), M23),
    ("mm_shapes", lambda lib, a, b: lib.mm(a, b), M23, M23),
    ("mm_3d", lambda lib, a, b: lib.mm(a, b), B234, M34),
    ("mm_dtype", lambda lib, a, b: lib.mm(a, b.half()), M23, M34),
    ("bmm_2d", lambda lib, a, b: lib.bmm(a, b), M23, M34),
    ("bmm_batch_mismatch", lambda lib, a, b: lib.bmm(a, b), B234, sample((3, 4, 5), 29)),
    ("bmm_inner_mismatch", lambda lib, a, b: lib.bmm(a, b), B234, B234),
    ("mv_shapes", lambda lib, a, b: lib.mv(a, b), M34, V3),
    ("dot_2d", lambda lib, a: lib.dot(a, a), M23),
    ("dot_sizes", lambda lib, a, b: lib.dot(a, b), V3, V4),
    ("dot_dtypes", lambda lib, a: lib.dot(a, a.half()), V3),
    ("inner_dtypes", lambda lib, a: lib.inner(a, a.half()), V3),
    ("inner_shapes", lambda lib, a, b: lib.inner(a, b), V3, V4),
    ("outer_2d", lambda lib, a, b: lib.outer(a, b), M23, V4),
    ("addmm_dtype", lambda lib, c, a, b: lib.addmm(c.half(), a, b), sample((2, 4), 22), M23, M34),
    ("baddbmm_dtype", lambda lib, c, a, b: lib.baddbmm(c.half(), a, b), sample((2, 3, 5), 24), B234, B245),
    ("addmv_dtype", lambda lib, c, a, b: lib.addmv(c.half(), a, b), V3, M34, V4),
    ("einsum_dtype", lambda lib, a, b: lib.einsum("ij,jk", a.half(), b), M23, M34),
    ("cdist_int", lambda lib, a: lib.cdist(a, a), I23),
    ("cdist_columns", lambda lib, a, b: lib.cdist(a, b), M23, M34),
]


@pytest.mark.parametrize("fn, operands", [(c[1], c[2:]) for c in MATMUL], ids=[c[0] for c in MATMUL])
def test_matmul_family(fn, operands):
    check(fn, *operands)


LINALG = [
    ("inv", lambda lib, a: lib.linalg.inv(a), WC),
    ("inv_batch", lambda lib, a: lib.linalg.inv(a), B33),
    ("inv_complex", lambda lib, a: lib.linalg.inv(a), C33),
    ("inverse", lambda lib, a: lib.inverse(a), WC),
    ("inverse_method", lambda lib, a: a.inverse(), WC),
    ("inv_ex", lambda lib, a: lib.linalg.inv_ex(a), WC),
    ("inv_ex_singular_info", lambda lib, a: lib.linalg.inv_ex(a * 0).info, WC),
    ("solve", lambda lib, a, b: lib.linalg.solve(a, b), WC, M34),
    ("solve_vector", lambda lib, a, b: lib.linalg.solve(a, b), WC, V3),
    ("solve_batch_vector", lambda lib, a, b: lib.linalg.solve(a, b[:, :, 0]), B33, B234),
    ("solve_broadcast", lambda lib, a, b: lib.linalg.solve(a, b), B33, M34),
    ("solve_right", lambda lib, a, b: lib.linalg.solve(a, b, left=False), WC, M23),
    ("cholesky", lambda lib, a: lib.linalg.cholesky(a), SPD),
    ("cholesky_upper", lambda lib, a: lib.linalg.cholesky(a, upper=True), BSPD),
    ("cholesky_lower_triangle_only", lambda lib, a, b: lib.linalg.cholesky(a + b.tril(-1)), SPD, M33),
    ("cholesky_complex", lambda lib, a: lib.linalg.cholesky(a), CSPD),
    ("cholesky_ex", lambda lib, a: lib.linalg.cholesky_ex(a), SPD),
    ("cholesky_ex_info", lambda lib, a: lib.linalg.cholesky_ex(a - 100 * lib.eye(3)).info, SPD),
    ("cholesky_ex_info_order2", lambda lib, a: lib.linalg.cholesky_ex(a * lib.tensor([1.0, -1, 1])).info, SPD),
    ("torch_cholesky", lambda lib, a: lib.cholesky(a, upper=True), SPD),
    ("qr", lambda lib, a: lib.linalg.qr(a), TALL),
    ("qr_complete", lambda lib, a: lib.linalg.qr(a, mode="complete"), TALL),
    ("qr_r", lambda lib, a: lib.linalg.qr(a, mode="r"), TALL),
    ("torch_qr", lambda lib, a: lib.qr(a, some=False), TALL),
    ("qr_method", lambda lib, a: a.qr(), B234),
    ("svdvals", lambda lib, a: lib.linalg.svdvals(a), B234),
    ("svdvals_complex", lambda lib, a: lib.linalg.svdvals(a), C33),
    ("svd_reconstructs", lambda lib, a: (lambda u, s, vh: (u * s[..., None, :]) @ vh)(*lib.linalg.svd(
        a, full_matrices=False)), B234),
    ("svd_full_shapes", lambda lib, a: [lib.tensor(list(t.shape)) for t in lib.linalg.svd(a)], TALL),
    ("torch_svd_v_not_vh", lambda lib, a: (lambda u, s, v: (u * s) @ v.mT)(*lib.svd(a)), TALL),
    ("torch_svd_some_false", lambda lib, a: [lib.tensor(list(t.shape)) for t in lib.svd(a, some=False)], TALL),
    ("torch_svd_no_uv", lambda lib, a: lib.svd(a, compute_uv=False), TALL),
    ("eigh_values", lambda lib, a: lib.linalg.eigh(a).eigenvalues, BSPD),
    ("eigh_reconstructs", lambda lib, a: (lambda w, v: (v * w[..., None, :]) @ v.mT)(*lib.linalg.eigh(a)), SPD),
    ("eigh_upper", lambda lib, a, b: lib.linalg.eigvalsh(a + b.triu(1), UPLO="U"), SPD, M33),
    ("eigvalsh", lambda lib, a, b: lib.linalg.eigvalsh(a + b.tril(-1)), SPD, M33),
    ("eigvalsh_complex", lambda lib, a: lib.linalg.eigvalsh(a), CSPD),
    ("eigvals", lambda lib, a: lib.linalg.eigvals(a + a.mT).real.sort().values, M33),
    ("eig_reconstructs", lambda lib, a: (lambda w, v: (v * w) @ lib.linalg.inv(v))(*lib.linalg.eig(a)), WC),
    ("det", lambda lib, a: lib.linalg.det(a), B33),
    ("det_method", lambda lib, a: a.det(), WC),
    ("det_complex", lambda lib, a: lib.det(a), C33),
    ("slogdet", lambda lib, a: lib.linalg.slogdet(-a), B33),
    ("torch_slogdet", lambda lib, a: lib.slogdet(a), WC),
    ("slogdet_complex", lambda lib, a: lib.linalg.slogdet(a), C33),
    ("logdet", lambda lib, a: lib.logdet(a), SPD),
    ("logdet_negative_is_nan", lambda lib, a: lib.logdet(a * lib.tensor([1.0, 1, -1])), SPD),
    ("pinv", lambda lib, a: lib.linalg.pinv(a), B234),
    ("pinv_rank_deficient", lambda lib, a: lib.linalg.pinv(a[:, :1] * a[:1]), M34),
    ("pinv_hermitian", lambda lib, a: lib.linalg.pinv(a, hermitian=True), SPD),
    ("pinverse", lambda lib, a: a.pinverse(), TALL),
    ("matrix_rank", lambda lib, a: lib.linalg.matrix_rank(a), M34),
    ("matrix_rank_deficient", lambda lib, a: lib.linalg.matrix_rank(a[:, :1] * a[:1]), M34),
    ("matrix_rank_atol", lambda lib, a: lib.linalg.matrix_rank(a, atol=1.0, rtol=0.0), B234),
    ("lstsq", lambda lib, a, b: lib.linalg.lstsq(a, b), TALL, sample((4, 3), 30)),
    ("lstsq_gelsd", lambda lib, a, b: lib.linalg.lstsq(a, b, driver="gelsd"), TALL, sample((4, 3), 30)),
    ("cross", lambda lib, a, b: lib.linalg.cross(a, b), M23, sample((2, 3), 31)),
    ("cross_broadcast", lambda lib, a, b: lib.linalg.cross(a, b), M33, sample((1, 3), 31)),
    ("cross_dim", lambda lib, a, b: lib.linalg.cross(a.mT, b.mT, dim=0), M23, sample((2, 3), 31)),
    ("multi_dot", lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), V3, M34, V4),
    ("multi_dot_matrices", lambda lib, a, b, c: lib.linalg.multi_dot((a, b, c)), M23, M34, TALL),
    ("matrix_power", lambda lib, a: lib.linalg.matrix_power(a, 3), B33),
    ("matrix_power_negative", lambda lib, a: lib.matrix_power(a, -2), WC),
    ("matrix_power_zero", lambda lib, a: a.matrix_power(0), B33),
    ("matrix_power_int", lambda lib, a: lib.linalg.matrix_power(a[:, :2], 2), sample((2, 2), 32, "int")),
    ("matrix_exp", lambda lib, a: lib.linalg.matrix_exp(a * 0.3), B33),
    ("matrix_exp_method", lambda lib, a: (a * 0.3).matrix_exp(), B33),
    ("vander", lambda lib, a: lib.linalg.vander(a), V3),
    ("vander_n", lambda lib, a: lib.linalg.vander(a, N=5), M23),
    ("vander_int", lambda lib, a: lib.linalg.vander(a), I23),
    ("diagonal", lambda lib, a: lib.linalg.diagonal(a, offset=1), B234),
    ("vector_norm", lambda lib, a: lib.linalg.vector_norm(a), B234),
    ("vector_norm_ord_dim", lambda lib, a: [lib.linalg.vector_norm(a, o, dim=(0, 2), keepdim=True) for o in
                                            (1, 3, 0.5, 0, float("inf"), -float("inf"), -1)], B234),
    ("vector_norm_complex", lambda lib, a: lib.linalg.vector_norm(a, dim=-1), C33),
    ("matrix_norm", lambda lib, a: [lib.linalg.matrix_norm(a, o) for o in
                                    ("fro", "nuc", float("inf"), -float("inf"), 1, -1, 2, -2)], B234),
    ("matrix_norm_dim_keepdim", lambda lib, a: lib.linalg.matrix_norm(a, 1, dim=(2, 0), keepdim=True), B234),
    ("norm_default", lambda lib, a: lib.linalg.norm(a), B234),
    ("norm_vector", lambda lib, a: lib.linalg.norm(a, 3, dim=1), B234),
    ("norm_matrix", lambda lib, a: lib.linalg.norm(a, "nuc"), M34),
    ("norm_2d_ord", lambda lib, a: lib.linalg.norm(a, 2), M34),
    ("norm_1d_ord", lambda lib, a: lib.linalg.norm(a, 1), V4),
    ("norm_dims", lambda lib, a: lib.linalg.norm(a, dim=(0, 1)), B234),
    ("vecdot", lambda lib, a, b: lib.linalg.vecdot(a, b[0]), C33, C33),
    ("vecdot_dim", lambda lib, a, b: lib.linalg.vecdot(a, b, dim=0), M34, sample((3, 1), 35)),
    ("tensorinv", lambda lib, a: lib.linalg.tensorinv(a.reshape(3, 1, 3), ind=1), WC),
    ("tensorsolve", lambda lib, a, b: lib.linalg.tensorsolve(a.reshape(3, 3, 1), b[:, :1]), WC, M34),
    ("tensorsolve_dims", lambda lib, a, b: lib.linalg.tensorsolve(a.reshape(3, 1, 3), b[:, 0], dims=(1,)), WC, M34),
    # errors
    ("vecdot_int", lambda lib, a: lib.linalg.vecdot(a, a), I23),
    ("vecdot_dtypes", lambda lib, a: lib.linalg.vecdot(a, a.half()), M23),
    ("tensorinv_shape", lambda lib, a: lib.linalg.tensorinv(a, ind=1), M23),
    ("tensorinv_ind", lambda lib, a: lib.linalg.tensorinv(a, ind=0), WC),
    ("tensorsolve_shape", lambda lib, a, b: lib.linalg.tensorsolve(a, b), M23, V3),
    ("inv_not_square", lambda lib, a: lib.linalg.inv(a), M23),
    ("inv_int", lambda lib, a: lib.linalg.inv(a), INT22),
    ("inv_1d", lambda lib, a: lib.linalg.inv(a), V3),
    ("det_not_square", lambda lib, a: lib.linalg.det(a), M23),
    ("det_int", lambda lib, a: lib.linalg.det(a), INT22),
    ("solve_shapes", lambda lib, a, b: lib.linalg.solve(a, b), WC, sample((2, 3), 34)),
    ("solve_right_shapes", lambda lib, a, b: lib.linalg.solve(a, b, left=False), WC, M34),
    ("qr_mode", lambda lib, a: lib.linalg.qr(a, mode="full"), TALL),
    ("eigh_uplo", lambda lib, a: lib.linalg.eigh(a, UPLO="X"), SPD),
    ("vector_norm_int", lambda lib, a: lib.linalg.vector_norm(a), I23),
    ("vector_norm_narrowing", lambda lib, a: lib.linalg.vector_norm(a, dtype=lib.float16), M23),
    ("vector_norm_inf_empty", lambda lib, a: lib.linalg.vector_norm(a[:0], float("inf")), M23),
    ("matrix_norm_1d", lambda lib, a: lib.linalg.matrix_norm(a), V3),
    ("norm_3d_ord", lambda lib, a: lib.linalg.norm(a, 2), B234),
    ("cross_ndim", lambda lib, a, b: lib.linalg.cross(a, b), V3, M23),
    ("cross_size", lambda lib, a: lib.linalg.cross(a, a), M34),
    ("multi_dot_one", lambda lib, a: lib.linalg.multi_dot([a]), M23),
    ("multi_dot_3d", lambda lib, a, b: lib.linalg.multi_dot([a, b]), B234, M34),
]


@pytest.mark.parametrize("fn, operands", [(c[1], c[2:]) for c in LINALG], ids=[c[0] for c in LINALG])
def test_linalg(fn, operands):
    check(fn, *operands)


# --- singular inputs: torch.linalg.LinAlgError (a RuntimeError), checked eagerly ---------------------
SINGULAR = [
    ("inv", lambda lib, a: lib.linalg.inv(a)),
    ("inverse", lambda lib, a: lib.inverse(a)),
    ("inv_ex_check_errors", lambda lib, a: lib.linalg.inv_ex(a, check_errors=True)),
    ("solve", lambda lib, a: lib.linalg.solve(a, a[0])),
    ("matrix_power_negative", lambda lib, a: lib.linalg.matrix_power(a, -1)),
    ("cholesky_not_pd", lambda lib, a: lib.linalg.cholesky(a - 3 * lib.eye(3))),
    ("cholesky_ex_check_errors", lambda lib, a: lib.linalg.cholesky_ex(-a, check_errors=True)),
]


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("fn", [c[1] for c in SINGULAR], ids=[c[0] for c in SINGULAR])
def test_singular_input_raises_linalg_error(fn, batched):
    values = np.ones((3, 3), np.float32)
    if batched:
        values = np.stack([np.eye(3, dtype=np.float32), values])

    def call(lib):
        return fn(lib, lib.tensor(values))

    with pytest.raises(torch.linalg.LinAlgError) as theirs:
        call(torch)
    with pytest.raises(tj.linalg.LinAlgError) as ours:
        call(tj)
    assert issubclass(tj.linalg.LinAlgError, RuntimeError)
    # The same gist: the failing matrix of the batch and the pivot / minor order.
    assert str(ours.value).split(": ", 1)[1] == str(theirs.value).split(": ", 1)[1]


def test_singular_input_under_a_trace_gives_nan_not_an_error():
    out = tj.compile(lambda a: tj.linalg.inv(a))(tj.zeros(2, 2))
    assert not np.isfinite(np.asarray(out.jax())).all()


# --- gradients ------------------------------------------------------------------------------------
def _loss_terms(lib, ops, arrays):
    return sum(fn(lib, *(arrays[i] for i in idx)).abs().sum() for fn, idx in ops)


GRADS = [
    (lambda lib, a, b: lib.matmul(a, b), (0, 1)),
    (lambda lib, a, b: lib.mm(a, b) * lib.bmm(a[None], b[None])[0], (0, 1)),
    (lambda lib, a, v: lib.mv(a, v) + lib.addmv(v[:2], a, v, beta=0.5, alpha=2), (0, 3)),
    (lambda lib, a, b: lib.addmm(a[:, :1], a, b, beta=0.3, alpha=-2), (0, 1)),
    (lambda lib, a, b: lib.baddbmm(a[None, :, :1], a[None], b[None], alpha=0.5).sum()
     + lib.addbmm(a, a[None], a.mT[None] @ a).sum(), (0, 1)),
    (lambda lib, v, w: lib.dot(v, w) + lib.vdot(v, w) + lib.inner(v, w), (3, 3)),
    (lambda lib, v, w: lib.outer(v, w) + lib.addr(lib.outer(v, w), v, w, beta=2), (3, 4)),
    (lambda lib, a, b: lib.einsum("ij,jk->ki", a, b), (0, 1)),
    (lambda lib, a, b: lib.cdist(a, b.mT) + lib.cdist(a, b.mT, p=1.5), (0, 1)),
    (lambda lib, w: lib.linalg.inv(w) + lib.inverse(w), (2,)),
    (lambda lib, w, a: lib.linalg.solve(w, a) + lib.linalg.solve(w, a[:, 0]).sum(), (2, 1)),
    (lambda lib, s: lib.linalg.cholesky(s) + lib.linalg.cholesky(s, upper=True), (5,)),
    (lambda lib, w: lib.linalg.det(w) + lib.linalg.slogdet(w).logabsdet + lib.logdet(w * w.mT), (2,)),
    (lambda lib, a: lib.linalg.svdvals(a), (0,)),
    (lambda lib, s: lib.linalg.eigvalsh(s), (5,)),
    (lambda lib, a: lib.linalg.vector_norm(a) + lib.linalg.vector_norm(a, 3, dim=0).sum()
     + lib.linalg.norm(a, 1, dim=1).sum() + lib.linalg.vector_norm(a, float("inf")), (0,)),
    (lambda lib, w: lib.linalg.matrix_norm(w) + lib.linalg.matrix_norm(w, "nuc") + lib.linalg.matrix_norm(w, 2)
     + lib.linalg.matrix_norm(w, 1), (2,)),
    (lambda lib, w: lib.linalg.matrix_exp(w * 0.2) + lib.linalg.matrix_power(w, 2) + lib.linalg.pinv(w), (2,)),
]


def test_gradients():
    # One loss over the whole table: one compiled program (a wrong term shows in the inputs it uses).
    arrays = [M23[0], M34[0], WC[0], V3[0], V4[0], SPD[0]]
    torch_arrays = [torch.tensor(a, requires_grad=True) for a in arrays]
    _loss_terms(torch, GRADS, torch_arrays).backward()

    def loss(*values):
        return _loss_terms(tj, GRADS, [tj.as_tensor(v) for v in values]).jax()

    grads = jax.jit(jax.grad(loss, argnums=tuple(range(len(arrays)))))(*arrays)
    for g, t in zip(grads, torch_arrays, strict=True):
        np.testing.assert_allclose(np.asarray(g), t.grad.numpy(), rtol=2e-4, atol=2e-4)


def test_inplace_addmm_checks_the_result_dtype():
    raises_same(lambda: torch.ones(2, 2, dtype=torch.int64).addmm_(torch.ones(2, 2), torch.ones(2, 2)),
                lambda: tj.ones(2, 2, dtype=tj.int32).addmm_(tj.ones(2, 2), tj.ones(2, 2)))

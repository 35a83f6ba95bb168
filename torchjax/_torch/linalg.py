"""torch's linear algebra: the matmul family (``mm``, ``bmm``, ``einsum``, ``addmm``, ...), ``torch.linalg``
and its top-level aliases (``torch.det``, ``torch.svd``, ...).

torch checks dtypes instead of promoting in the matmul family (``mm`` of float and double is an error), and
raises :class:`LinAlgError` for singular or non-positive-definite inputs where LAPACK reports it. JAX returns
NaN/inf silently, so those checks run on concrete values in eager mode only; under a trace (``torchjax.compile``,
``jax.jit``, ``jax.grad``) no check is possible and the result holds NaN/inf as JAX computes it.
"""

from __future__ import annotations

import builtins
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _promotion
from .._device import as_dtype, check_dtype_supported
from .._tensor import Kind, Tensor, _dtype_name, _matmul, as_array, canonical_dim, op, return_type

__all__ = [
    "LinAlgError", "matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "addmm", "addbmm", "baddbmm",
    "addmv", "addr", "einsum", "chain_matmul", "cdist", "det", "logdet", "slogdet", "inverse", "cholesky", "svd",
    "qr", "pinverse", "matrix_power", "matrix_exp",
]


class LinAlgError(RuntimeError):
    """``torch.linalg.LinAlgError``: a singular or not positive-definite input (checked in eager mode only)."""


def _concrete(*arrays) -> bool:
    return not any(isinstance(a, jax.core.Tracer) for a in arrays)


def _shape(a) -> str:
    return "x".join(map(str, a.shape))


def _same_dtype(message: str, *arrays) -> None:
    if len({np.dtype(a.dtype) for a in arrays}) > 1:
        raise RuntimeError(message.format(*(_dtype_name(a.dtype) for a in arrays)))


# --- the matmul family ----------------------------------------------------------------------------
def _matmul_checked(a, b):
    if a.ndim == 1 and b.ndim == 1 and a.shape != b.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to have "
                           f"the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements respectively")
    if a.ndim == 2 and b.ndim == 1 and a.shape[1] != b.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a.shape[0]}), mat ({_shape(a)}), vec ({b.shape[0]})")
    if a.ndim >= 1 and b.ndim >= 1 and a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape(a.reshape(-1, a.shape[-1]))} and "
                           f"{_shape(b if b.ndim > 1 else b[:, None])})")
    batch_a, batch_b = a.shape[:-2], b.shape[:-2]
    for i, (x, y) in enumerate(zip(reversed(batch_a), reversed(batch_b), strict=False)):
        if x != y and 1 not in (x, y):
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                               f"dimension {max(len(batch_a), len(batch_b)) - 1 - i}")
    return _matmul(a, b)


@op()
def matmul(input, other):
    """``torch.matmul``: operands of one dtype (torch's RuntimeError otherwise), batch dims broadcast."""
    return _matmul_checked(input, other)


@op(args=("input", "mat2"))
def mm(input, mat2):
    """``torch.mm``: two matrices of one dtype."""
    for name, a in (("self", input), ("mat2", mat2)):
        if a.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix")
    return _matmul_checked(input, mat2)


def _check_bmm(b1, b2, names=("batch1", "batch2")) -> None:
    for name, a in zip(names, (b1, b2), strict=True):
        if a.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    want = [b1.shape[0], b1.shape[2]]
    if list(b2.shape[:2]) != want:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: {want} but got: "
                           f"{list(b2.shape[:2])}.")


@op(args=("input", "mat2"))
def bmm(input, mat2):
    """``torch.bmm``: batches of matrices (3-D, equal batch sizes, one dtype)."""
    _check_bmm(input, mat2)
    return _matmul(input, mat2)


def _check_mv(mat, vec, *others) -> None:
    _same_dtype("addmv input tensors must have the same dtype, but got {}, {}, and {}", *(others or (vec,)), mat, vec)
    if mat.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {others[0].ndim if others else 1}, {mat.ndim}, "
                           f"{vec.ndim}")
    if mat.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({mat.shape[0]}), mat ({_shape(mat)}), vec ({vec.shape[0]})")


@op(args=("input", "vec"))
def mv(input, vec):
    """``torch.mv``: matrix times vector."""
    _check_mv(input, vec)
    return jnp.matmul(input, vec)


def _check_dot(a, b, name: str = "dot") -> None:
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    _same_dtype(f"{name} : expected both vectors to have same dtype, but found {{}} and {{}}", a, b)
    if a.shape != b.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to have "
                           f"the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements respectively")


@op(args=("input", "tensor"))
def dot(input, tensor):
    """``torch.dot``: the inner product of two 1-D tensors of one dtype."""
    _check_dot(input, tensor)
    return jnp.dot(input, tensor)


@op()
def vdot(input, other):
    """``torch.vdot``: ``dot(input.conj(), other)``."""
    _check_dot(input, other)
    return jnp.vdot(input, other)


@op()
def inner(input, other):
    """``torch.inner``: contraction over the last dims (a product for 0-d operands)."""
    _same_dtype("both inputs should have same dtype", input, other)
    if input.ndim == 0 or other.ndim == 0:
        return jnp.multiply(input, other)
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return jnp.inner(input, other)


@op(promote=Kind.DEFAULT, args=("input", "vec2"), aliases=("ger",))
def outer(input, vec2):
    """``torch.outer`` (``ger``): the outer product of two vectors (promoting, as torch)."""
    for name, a in (("self", input), ("vec2", vec2)):
        if a.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {a.ndim}-D")
    return jnp.outer(input, vec2)


def _scaled_sum(input, product, beta, alpha):
    # beta == 0 ignores input entirely (its NaNs do not propagate), as torch documents.
    scaled = product if alpha == 1 else alpha * product
    if beta == 0:
        return jnp.broadcast_to(scaled, jnp.broadcast_shapes(input.shape, scaled.shape)).astype(product.dtype)
    return (input if beta == 1 else beta * input) + scaled


def _check_broadcast(input, shape, name: str) -> None:
    try:
        if np.broadcast_shapes(input.shape, shape) != tuple(shape):
            raise ValueError
    except ValueError:
        raise RuntimeError(f"{name}: the size of input {list(input.shape)} cannot be broadcast to the result's "
                           f"{list(shape)}") from None


@op(args=("input", "mat1", "mat2"), inplace=True)
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``torch.addmm``: ``beta * input + alpha * (mat1 @ mat2)``."""
    _same_dtype("self and mat2 must have the same dtype, but got {} and {}", input, mat2)
    product = mm.__wrapped_array_fn__(mat1, mat2)
    _check_broadcast(input, product.shape, "addmm")
    return _scaled_sum(input, product, beta, alpha)


@op(args=("input", "batch1", "batch2"), inplace=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``torch.addbmm``: ``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    _check_bmm(batch1, batch2)
    _same_dtype("Input dtypes must be the same, got: input {}, batch1: {}, batch2: {}", input, batch1, batch2)
    product = jnp.einsum("bij,bjk->ik", batch1, batch2)
    _check_broadcast(input, product.shape, "addbmm")
    return _scaled_sum(input, product, beta, alpha)


@op(args=("input", "batch1", "batch2"), inplace=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``torch.baddbmm``: ``beta * input + alpha * bmm(batch1, batch2)``."""
    _check_bmm(batch1, batch2)
    _same_dtype("Input dtypes must be the same, got: input {}, batch1: {}, batch2: {}", input, batch1, batch2)
    product = _matmul(batch1, batch2)
    _check_broadcast(input, product.shape, "baddbmm")
    return _scaled_sum(input, product, beta, alpha)


@op(args=("input", "mat", "vec"), inplace=True)
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``torch.addmv``: ``beta * input + alpha * (mat @ vec)``."""
    _check_mv(mat, vec, input)
    product = jnp.matmul(mat, vec)
    _check_broadcast(input, product.shape, "addmv")
    return _scaled_sum(input, product, beta, alpha)


@op(promote=Kind.DEFAULT, args=("input", "vec1", "vec2"), inplace=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``torch.addr``: ``beta * input + alpha * outer(vec1, vec2)`` (promoting, as torch)."""
    product = outer.__wrapped_array_fn__(vec1, vec2)
    _check_broadcast(input, product.shape, "addr")
    return _scaled_sum(input, product, beta, alpha)


@op(method=False)
def einsum(equation, *operands):
    """``torch.einsum(equation, *operands)`` or ``einsum(equation, [operands])``; operands of one dtype."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    operands = tuple(as_array(o) for o in operands)
    if len({np.dtype(o.dtype) for o in operands}) > 1:
        dtypes = [_dtype_name(o.dtype) for o in operands]
        raise RuntimeError(f"expected scalar type {dtypes[0]} but found {next(d for d in dtypes if d != dtypes[0])}")
    try:
        return jnp.einsum(equation, *operands)
    except ValueError as e:
        raise RuntimeError(f"einsum(): {e}") from None


@op(method=False)
def chain_matmul(*matrices):
    """``torch.chain_matmul`` (deprecated in torch for ``linalg.multi_dot``): a product of 2-D matrices."""
    if len(matrices) == 1 and isinstance(matrices[0], list | tuple):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if m.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m.ndim}, expected 2 instead.")
    if len(matrices) == 1:
        return matrices[0]
    return jnp.linalg.multi_dot(matrices)


@op(method=False, args=("x1", "x2"))
def cdist(x1, x2, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary"):
    """``torch.cdist``: p-norm distances between the rows of ``x1`` (``(*, P, M)``) and ``x2`` (``(*, R, M)``).

    ``compute_mode`` is accepted; the distances are always computed directly (exact, like torch's
    ``donot_use_mm_for_euclid_dist``)."""
    for name, x in (("X1", x1), ("X2", x2)):
        if _promotion.category(x.dtype) != 2:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {_dtype_name(x.dtype)}")
    _same_dtype("expected scalar type {} but found {}", x1, x2)
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    diff = jnp.abs(x1[..., :, None, :] - x2[..., None, :, :])
    if p == 0:
        return jnp.sum(diff != 0, axis=-1).astype(x1.dtype)
    if math.isinf(p):
        return jnp.max(diff, axis=-1)
    if p == 1:
        return jnp.sum(diff, axis=-1)
    # Zero distances get torch's zero gradient instead of the 0 * inf of d(s ** (1/p)) at s = 0.
    total = jnp.sum(diff ** p, axis=-1)
    positive = total > 0
    return jnp.where(positive, jnp.where(positive, total, 1) ** (1 / p), 0)


# --- torch.linalg ---------------------------------------------------------------------------------
def _check_float(name: str, a) -> None:
    if _promotion.category(a.dtype) < 2:
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {_dtype_name(a.dtype)}")


def _check_square(name: str, a, arg: str = "A") -> None:
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are {a.shape[-2]} by "
                           f"{a.shape[-1]} matrices")


# The numeric kernels below are jitted: an eager call is then one cached XLA program, not one per primitive.
@jax.jit
def _lu_info(a):
    """LAPACK getrf's info: the 1-based index of the first zero pivot of each matrix (0: nonsingular)."""
    lu, _, _ = jax.lax.linalg.lu(jax.lax.stop_gradient(a))
    zero = jnp.diagonal(lu, axis1=-2, axis2=-1) == 0
    return jnp.where(jnp.any(zero, -1), jnp.argmax(zero, -1) + 1, 0).astype(jnp.int32)


def _raise_info(info, message: str) -> None:
    """Raise LinAlgError for the first failing matrix (eager only; ``message`` formats the info)."""
    if not _concrete(info):
        return
    info = np.asarray(info)
    if not info.any():
        return
    flat = info.reshape(-1)
    first = builtins.int(np.argmax(flat != 0))
    prefix = f"(Batch element {first}): " if info.ndim else ""
    raise LinAlgError(message.format(prefix=prefix, info=builtins.int(flat[first])))


def _inv(A, name: str = "linalg.inv"):
    _check_square(name, A)
    _check_float(name, A)
    if _concrete(A):
        _raise_info(_lu_info(A), name + ": {prefix}The diagonal element {info} is zero, the inversion could not be "
                                        "completed because the input matrix is singular.")
    return jnp.linalg.inv(A)


@op(method=False, namespace=False)
def inv(A):
    """``torch.linalg.inv``; LinAlgError for a singular matrix (eager only: under a trace JAX gives inf/NaN)."""
    return _inv(A)


@op("inverse")
def inverse(input):
    """``torch.inverse``: ``linalg.inv``."""
    return _inv(input)


_InvEx = return_type("linalg_inv_ex", ("inverse", "info"))


@op(method=False, namespace=False)
def inv_ex(A, *, check_errors: bool = False):
    """``torch.linalg.inv_ex``: the inverse and LAPACK's info (the first zero pivot, 0 when invertible)."""
    _check_square("linalg.inv_ex", A)
    _check_float("linalg.inv_ex", A)
    info = _lu_info(A)
    if check_errors:
        _raise_info(info, "linalg.inv_ex: {prefix}The diagonal element {info} is zero, the inversion could not be "
                          "completed because the input matrix is singular.")
    return _InvEx(jnp.linalg.inv(A), info)


@op(method=False, namespace=False, args=("A", "B"))
def solve(A, B, *, left: bool = True):
    """``torch.linalg.solve``: X with ``A X = B`` (``X A = B`` for ``left=False``); B may be a (batch of) vector.

    LinAlgError for a singular A in eager mode only (under a trace JAX gives inf/NaN)."""
    _check_square("linalg.solve", A)
    _check_float("linalg.solve", A)
    _same_dtype("linalg.solve: Expected A and B to have the same dtype, but found A of type {} and B of type {} "
                "instead", A, B)
    vector = B.ndim == 1 or (left and B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector:
        B = B[..., :, None] if left else B[..., None, :]
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {eq} "
                           f"({_shape(A[(0,) * (A.ndim - 2)])} and {_shape(B[(0,) * (B.ndim - 2)])})")
    if _concrete(A):
        _raise_info(_lu_info(A), "torch.linalg.solve: {prefix}The solver failed because the input matrix is "
                                 "singular.")
    batch = jnp.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    A = jnp.broadcast_to(A, batch + A.shape[-2:])
    if left:
        X = jnp.linalg.solve(A, jnp.broadcast_to(B, batch + B.shape[-2:]))
    else:
        Bt = jnp.swapaxes(jnp.broadcast_to(B, batch + B.shape[-2:]), -1, -2)
        X = jnp.swapaxes(jnp.linalg.solve(jnp.swapaxes(A, -1, -2), Bt), -1, -2)
    return X[..., 0] if vector and left else (X[..., 0, :] if vector else X)


@jax.jit
def _cholesky_info(a):
    """potrf's info: the order of the first leading minor that is not positive-definite (0: all are)."""
    n = a.shape[-1]
    a = jax.lax.stop_gradient(a)
    k = jnp.arange(1, n + 1)[:, None, None]
    idx = jnp.arange(n)
    inside = (idx[:, None] < k) & (idx[None, :] < k)
    # Leading minor k embedded in the identity: its factor is finite iff the minor is positive-definite.
    minors = jnp.where(inside, a[..., None, :, :], jnp.eye(n, dtype=a.dtype))
    ok = jnp.all(jnp.isfinite(jax.lax.linalg.cholesky(minors, symmetrize_input=False)), axis=(-2, -1))
    return jnp.where(jnp.all(ok, -1), 0, jnp.argmin(ok, -1) + 1).astype(jnp.int32)


def _cholesky(A, upper: bool, name: str):
    _check_square(name, A)
    _check_float(name, A)
    if _concrete(A):
        _raise_info(_cholesky_info(A), name + ": {prefix}The factorization could not be completed because the input "
                                              "is not positive-definite (the leading minor of order {info} is not "
                                              "positive-definite).")
    return _cholesky_factor(A, upper)


def _cholesky_factor(A, upper: bool):
    # torch reads one triangle only (the lower one, or the upper for upper=True) and never symmetrizes.
    if upper:
        return jnp.conj(jnp.swapaxes(jax.lax.linalg.cholesky(jnp.conj(jnp.swapaxes(A, -1, -2)),
                                                             symmetrize_input=False), -1, -2))
    return jax.lax.linalg.cholesky(A, symmetrize_input=False)


@op("cholesky", method=False, namespace=False)
def linalg_cholesky(A, *, upper: bool = False):
    """``torch.linalg.cholesky``; LinAlgError when not positive-definite (eager only: a trace gives NaN)."""
    return _cholesky(A, upper, "linalg.cholesky")


@op()
def cholesky(input, upper: bool = False):
    """``torch.cholesky`` (deprecated in torch): ``linalg.cholesky``."""
    return _cholesky(input, upper, "linalg.cholesky")


_CholeskyEx = return_type("linalg_cholesky_ex", ("L", "info"))


@op(method=False, namespace=False)
def cholesky_ex(A, *, upper: bool = False, check_errors: bool = False):
    """``torch.linalg.cholesky_ex``: the factor and potrf's info (where it fails the factor holds NaN)."""
    _check_square("linalg.cholesky_ex", A)
    _check_float("linalg.cholesky_ex", A)
    info = _cholesky_info(A)
    if check_errors:
        _raise_info(info, "linalg.cholesky_ex: {prefix}The factorization could not be completed because the input "
                          "is not positive-definite (the leading minor of order {info} is not positive-definite).")
    return _CholeskyEx(_cholesky_factor(A, upper), info)


@op(method=False, namespace=False)
def tensorinv(A, ind: int = 2):
    """``torch.linalg.tensorinv``: the inverse of ``A`` seen as a ``prod(shape[:ind]) x prod(shape[ind:])`` matrix."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = math.prod(A.shape[:ind]), math.prod(A.shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    return _inv(A.reshape(rows, cols)).reshape(A.shape[ind:] + A.shape[:ind])


@op(method=False, namespace=False, args=("A", "B"))
def tensorsolve(A, B, dims=None):
    """``torch.linalg.tensorsolve``: X with ``tensordot(A, X, X.ndim) = B`` (``dims`` of A moved last first)."""
    if dims is not None:
        dims = [canonical_dim(d, A.ndim) for d in dims]
        A = jnp.moveaxis(A, dims, range(A.ndim - len(dims), A.ndim))
    shape = A.shape[B.ndim:]
    if math.prod(shape) != B.size:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {math.prod(shape)} != {B.size}")
    return solve.__wrapped_array_fn__(A.reshape(B.size, -1), B.reshape(-1)).reshape(shape)


@op(method=False, namespace=False, args=("x", "y"))
def vecdot(x, y, *, dim: int = -1):
    """``torch.linalg.vecdot``: ``sum(x.conj() * y, dim)`` with broadcasting."""
    _check_float("linalg.vecdot", x)
    _same_dtype("linalg.vecdot: Expected x and y to have the same dtype, but found x of type {} and y of type {} "
                "instead", x, y)
    return jnp.sum(jnp.conj(x) * y, axis=canonical_dim(dim, max(x.ndim, y.ndim)))


_LinalgQR = return_type("linalg_qr", ("Q", "R"))
_QR = return_type("qr", ("Q", "R"))


def _qr(A, mode: str, name: str):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    _check_float(name, A)
    if mode == "r":
        return jnp.zeros((0,), A.dtype), jnp.linalg.qr(A, mode="r")
    return jnp.linalg.qr(A, mode=mode)


@op("qr", method=False, namespace=False)
def linalg_qr(A, mode: str = "reduced"):
    """``torch.linalg.qr``: Q and R (Q empty for ``mode='r'``)."""
    return _LinalgQR(*_qr(A, mode, "linalg.qr"))


@op()
def qr(input, some: bool = True):
    """``torch.qr`` (deprecated in torch): ``linalg.qr`` with ``mode='reduced' if some else 'complete'``."""
    return _QR(*_qr(input, "reduced" if some else "complete", "linalg.qr"))


_LinalgSVD = return_type("linalg_svd", ("U", "S", "Vh"))
_SVD = return_type("svd", ("U", "S", "V"))


def _check_matrix(name: str, A) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    _check_float(name, A)


@op("svd", method=False, namespace=False)
def linalg_svd(A, full_matrices: bool = True, *, driver=None):
    """``torch.linalg.svd``: ``U, S, Vh`` (singular vectors are unique only up to sign/phase, as in torch)."""
    _check_matrix("linalg.svd", A)
    return _LinalgSVD(*jnp.linalg.svd(A, full_matrices=full_matrices))


@op()
def svd(input, some: bool = True, compute_uv: bool = True):
    """``torch.svd``: ``U, S, V`` with V (not Vh); without ``compute_uv`` U and V are zero (m, m), (n, n)."""
    _check_matrix("linalg.svd", input)
    if not compute_uv:
        m, n = input.shape[-2:]
        batch = input.shape[:-2]
        return _SVD(jnp.zeros(batch + (m, m), input.dtype), jnp.linalg.svd(input, compute_uv=False),
                    jnp.zeros(batch + (n, n), input.dtype))
    U, S, Vh = jnp.linalg.svd(input, full_matrices=not some)
    return _SVD(U, S, jnp.conj(jnp.swapaxes(Vh, -1, -2)))


@op(method=False, namespace=False)
def svdvals(A, *, driver=None):
    """``torch.linalg.svdvals``: the singular values, descending (real)."""
    _check_matrix("linalg.svdvals", A)
    return jnp.linalg.svd(A, compute_uv=False)


_Eigh = return_type("linalg_eigh", ("eigenvalues", "eigenvectors"))
_Eig = return_type("linalg_eig", ("eigenvalues", "eigenvectors"))


def _check_uplo(UPLO: str) -> None:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


@op(method=False, namespace=False)
def eigh(A, UPLO: str = "L"):
    """``torch.linalg.eigh``: ascending eigenvalues, eigenvectors (reads the ``UPLO`` triangle only)."""
    _check_uplo(UPLO)
    _check_square("linalg.eigh", A)
    _check_float("linalg.eigh", A)
    return _Eigh(*jnp.linalg.eigh(A, UPLO=UPLO, symmetrize_input=False))


@op(method=False, namespace=False)
def eigvalsh(A, UPLO: str = "L"):
    """``torch.linalg.eigvalsh``: the ascending eigenvalues of a Hermitian matrix."""
    _check_uplo(UPLO)
    _check_square("linalg.eigvalsh", A)
    _check_float("linalg.eigvalsh", A)
    return jnp.linalg.eigh(A, UPLO=UPLO, symmetrize_input=False)[0]


@op(method=False, namespace=False)
def eig(A):
    """``torch.linalg.eig``: complex eigenvalues and eigenvectors (JAX computes it on CPU only)."""
    _check_square("linalg.eig", A)
    _check_float("linalg.eig", A)
    values, vectors = jnp.linalg.eig(A)
    return _Eig(values, vectors)


@op(method=False, namespace=False)
def eigvals(A):
    """``torch.linalg.eigvals``: complex eigenvalues (JAX computes them on CPU only)."""
    _check_square("linalg.eigvals", A)
    _check_float("linalg.eigvals", A)
    return jnp.linalg.eigvals(A)


def _det(A, name: str):
    _check_square(name, A)
    _check_float(name, A)
    return jnp.linalg.det(A)


@op("det", method=False, namespace=False)
def linalg_det(A):
    """``torch.linalg.det``."""
    return _det(A, "linalg.det")


@op()
def det(input):
    """``torch.det``: ``linalg.det``."""
    return _det(input, "linalg.det")


_LinalgSlogdet = return_type("linalg_slogdet", ("sign", "logabsdet"))
_Slogdet = return_type("slogdet", ("sign", "logabsdet"))


def _slogdet(A, name: str):
    _check_square(name, A)
    _check_float(name, A)
    return jnp.linalg.slogdet(A)


@op("slogdet", method=False, namespace=False)
def linalg_slogdet(A):
    """``torch.linalg.slogdet``: ``(sign, logabsdet)`` (sign is complex for complex A)."""
    return _LinalgSlogdet(*_slogdet(A, "linalg.slogdet"))


@op()
def slogdet(input):
    """``torch.slogdet``: ``linalg.slogdet``."""
    return _Slogdet(*_slogdet(input, "linalg.slogdet"))


@op()
def logdet(input):
    """``torch.logdet``: ``log(det)``: NaN for a negative determinant, -inf for a singular matrix."""
    sign, logabs = _slogdet(input, "logdet")
    if _promotion.category(input.dtype) == 3:
        return jnp.log(sign) + logabs
    return jnp.where(sign < 0, jnp.nan, logabs)


def _pinv(A, atol, rtol, hermitian: bool, name: str = "linalg.pinv"):
    _check_matrix(name, A)
    return _pinv_kernel(A, atol, rtol, hermitian)


@functools.partial(jax.jit, static_argnames="hermitian")
def _pinv_kernel(A, atol, rtol, hermitian: bool):
    if hermitian:
        w, v = jnp.linalg.eigh(A)
        s = jnp.abs(w)
    else:
        u, s, vh = jnp.linalg.svd(A, full_matrices=False)
    cutoff = _tolerance(A, s, atol, rtol)
    keep = s > cutoff
    inv_s = jnp.where(keep, 1 / jnp.where(keep, s if not hermitian else w, 1), 0)
    if hermitian:
        return jnp.matmul(v * inv_s[..., None, :].astype(v.dtype), jnp.conj(jnp.swapaxes(v, -1, -2)))
    return jnp.matmul(jnp.conj(jnp.swapaxes(vh, -1, -2)) * inv_s[..., None, :].astype(u.dtype),
                      jnp.conj(jnp.swapaxes(u, -1, -2)))


def _tolerance(A, s, atol, rtol):
    """max(atol, rtol * largest singular value); rtol defaults to eps * max(m, n) when neither is given."""
    atol, rtol = as_array(atol) if atol is not None else None, as_array(rtol) if rtol is not None else None
    if rtol is None:
        rtol = 0.0 if atol is not None else jnp.finfo(s.dtype).eps * max(A.shape[-2:])
    smax = jnp.max(s, axis=-1, initial=0.0)
    tol = jnp.asarray(rtol, s.dtype) * smax
    if atol is not None:
        tol = jnp.maximum(jnp.asarray(atol, s.dtype), tol)
    return tol[..., None]


@op(method=False, namespace=False)
def pinv(A, *, atol=None, rtol=None, hermitian: bool = False):
    """``torch.linalg.pinv``: singular values at most ``max(atol, rtol * s_max)`` are dropped."""
    return _pinv(A, atol, rtol, hermitian)


@op()
def pinverse(input, rcond: float = 1e-15):
    """``torch.pinverse``: ``linalg.pinv(input, rtol=rcond)``."""
    return _pinv(input, None, rcond, False, "pinverse")


@op(method=False, namespace=False)
def matrix_rank(A, *, atol=None, rtol=None, hermitian: bool = False):
    """``torch.linalg.matrix_rank``: the number of singular values above ``max(atol, rtol * s_max)`` (int64)."""
    _check_matrix("linalg.matrix_rank", A)
    s = jnp.abs(jnp.linalg.eigvalsh(A)) if hermitian else jnp.linalg.svd(A, compute_uv=False)
    return jnp.sum(s > _tolerance(A, s, atol, rtol), axis=-1).astype(_promotion.long_dtype())


_Lstsq = return_type("linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))


@op(method=False, namespace=False, args=("A", "B"))
def lstsq(A, B, rcond=None, *, driver=None):
    """``torch.linalg.lstsq``: the least-squares solution of ``A X = B``, with what the driver reports.

    The solution is computed through the pseudo-inverse (rank-revealing, like gelsy/gelsd). As in torch:
    ``rank`` for every driver but 'gels', ``singular_values`` for 'gelsd'/'gelss', ``residuals`` (squared
    column norms of ``A X - B``) for m > n and drivers other than 'gelsy'; the rest are empty."""
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    _check_matrix("torch.linalg.lstsq", A)
    _same_dtype("torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's dtype {} "
                "and other's dtype {}", A, B)
    vector = B.ndim == A.ndim - 1
    if vector:
        B = B[..., None]
    if B.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2). Got {A.shape[-2]} and "
                           f"{B.shape[-2]}")
    m, n = A.shape[-2:]
    rtol = rcond if rcond is not None else jnp.finfo(_promotion.to_real(A.dtype)).eps * max(m, n)
    s = jnp.linalg.svd(A, compute_uv=False)
    X = jnp.matmul(_pinv(A, None, rtol, False, "torch.linalg.lstsq"), B)
    empty = jnp.zeros((0,), _promotion.to_real(A.dtype))
    rank = (jnp.sum(s > _tolerance(A, s, None, rtol), axis=-1).astype(_promotion.long_dtype())
            if driver != "gels" else jnp.zeros((0,), _promotion.long_dtype()))
    residuals = empty
    if m > n and driver != "gelsy":
        residuals = jnp.sum(jnp.abs(jnp.matmul(A, X) - B) ** 2, axis=-2)
    singular = s if driver in ("gelsd", "gelss") else empty
    return _Lstsq(X[..., 0] if vector else X, residuals, rank, singular)


@op("cross", promote=Kind.DEFAULT, method=False, namespace=False)
def linalg_cross(input, other, *, dim: int = -1):
    """``torch.linalg.cross``: the cross product along ``dim`` (batch dims broadcast, same number of dims)."""
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    try:
        shape = np.broadcast_shapes(input.shape, other.shape)
    except ValueError as e:
        raise RuntimeError(f"linalg.cross: {e}") from None
    axis = canonical_dim(dim, len(shape))
    if input.shape[axis] != 3 or other.shape[axis] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[axis]} and "
                           f"{other.shape[axis]}")
    return jnp.cross(jnp.broadcast_to(input, shape), jnp.broadcast_to(other, shape), axis=axis)


@op(method=False, namespace=False)
def multi_dot(tensors, *, out=None):
    """``torch.linalg.multi_dot``: the chained product in the cheapest order (first/last may be 1-D)."""
    tensors = [as_array(t) for t in tensors]
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    last = len(tensors) - 1
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, last) else (2,)
        if t.ndim not in allowed:
            which = "first" if i == 0 else ("last" if i == last else "")
            raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got {t.ndim}D" if which else
                               f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    if len({np.dtype(t.dtype) for t in tensors}) > 1:
        raise RuntimeError("multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                           f"{_dtype_name(tensors[0].dtype)} and tensor 1 {_dtype_name(tensors[1].dtype)}")
    for a, b in zip(tensors, tensors[1:], strict=False):
        if a.shape[-1] != b.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors cannot be multiplied ({_shape(a)} and {_shape(b)})")
    return jnp.linalg.multi_dot(tensors)


def _matrix_power(A, n: int):
    _check_square("linalg.matrix_power", A)
    if n < 0:
        A = _inv(A)
        n = -n
    return jnp.linalg.matrix_power(A, n)


@op("matrix_power", method=False, namespace=False)
def linalg_matrix_power(A, n: int):
    """``torch.linalg.matrix_power``: ``A ** n`` (a negative n inverts: LinAlgError when singular, eager)."""
    return _matrix_power(A, n)


@op()
def matrix_power(input, n: int):
    """``torch.matrix_power``: ``linalg.matrix_power``."""
    return _matrix_power(input, n)


_expm = jax.jit(jax.scipy.linalg.expm)


def _matrix_exp(A):
    _check_square("linalg.matrix_exp", A)
    _check_float("linalg.matrix_exp", A)
    return _expm(A)


@op("matrix_exp", method=False, namespace=False)
def linalg_matrix_exp(A):
    """``torch.linalg.matrix_exp``."""
    return _matrix_exp(A)


@op()
def matrix_exp(input):
    """``torch.matrix_exp``."""
    return _matrix_exp(input)


@op(method=False, namespace=False)
def vander(x, *, N=None):
    """``torch.linalg.vander``: increasing powers ``x ** 0, ..., x ** (N - 1)`` in a new last dim."""
    if x.ndim == 0:
        raise RuntimeError("x must be at least 1-dimensional.")
    N = x.shape[-1] if N is None else N
    if N <= 1:
        if N < 1:
            raise RuntimeError("N must be greater than 1.")
        return jnp.ones(x.shape + (1,), x.dtype)
    dtype = x.dtype if x.dtype != np.bool_ else _promotion.long_dtype()
    powers = jnp.cumprod(jnp.broadcast_to(x[..., None], x.shape + (N - 1,)).astype(dtype), axis=-1)
    return jnp.concatenate([jnp.ones(x.shape + (1,), dtype), powers], axis=-1)


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``torch.linalg.diagonal``: a view of the diagonals of the last two dims (as ``Tensor.diagonal``)."""
    return _as_tensor(A).diagonal(offset, dim1, dim2)


def _as_tensor(value) -> Tensor:
    from .creation import as_tensor

    return as_tensor(value)


# --- norms ----------------------------------------------------------------------------------------
def _norm_dtype(name: str, x, dtype):
    _check_float(name, x)
    if dtype is None:
        return x
    dtype = as_dtype(dtype)
    check_dtype_supported(dtype, name)
    if _promotion.promote_types(x.dtype, dtype) != np.dtype(dtype):
        raise RuntimeError(f"{name}: the dtype of the input ({_dtype_name(x.dtype)}) should be convertible without "
                           f"narrowing to the specified dtype ({_dtype_name(dtype)})")
    return x.astype(dtype)


def _vector_norm(x, ord, dim, keepdim: bool):
    dim = (dim,) if isinstance(dim, builtins.int) else (None if dim is None else tuple(dim))
    return _vector_norm_kernel(x, builtins.float(ord), dim, keepdim)


@functools.partial(jax.jit, static_argnames=("ord", "dim", "keepdim"))
def _vector_norm_kernel(x, ord, dim, keepdim: bool):
    axes = tuple(range(x.ndim)) if dim is None or dim == () else tuple(canonical_dim(d, x.ndim) for d in dim)
    a = jnp.abs(x)
    if math.isinf(ord):
        if any(x.shape[d] == 0 for d in axes) or x.size == 0:
            raise RuntimeError("linalg.vector_norm cannot compute the inf norm on an empty tensor because the "
                               "operation does not have an identity")
        return (jnp.max if ord > 0 else jnp.min)(a, axis=axes, keepdims=keepdim)
    if ord == 0:
        return jnp.sum(a != 0, axis=axes, keepdims=keepdim).astype(a.dtype)
    if ord == 1:
        return jnp.sum(a, axis=axes, keepdims=keepdim)
    if ord == 2:
        # sqrt of the sum of squares with torch's zero gradient at the zero vector.
        sq = jnp.sum(jnp.real(x * jnp.conj(x)) if _promotion.category(x.dtype) == 3 else x * x, axis=axes,
                     keepdims=keepdim)
        positive = sq > 0
        return jnp.where(positive, jnp.sqrt(jnp.where(positive, sq, 1)), 0)
    return jnp.sum(a ** ord, axis=axes, keepdims=keepdim) ** (1 / ord)


@op(method=False, namespace=False, args=("x",))
def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):
    """``torch.linalg.vector_norm``: over ``dim`` (all elements when None); real result."""
    x = _norm_dtype("linalg.vector_norm", x, dtype)
    return _vector_norm(x, ord, dim, keepdim)


@functools.partial(jax.jit, static_argnames=("ord", "dim", "keepdim", "name"))
def _matrix_norm(A, ord, dim, keepdim: bool, name: str = "linalg.matrix_norm"):
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    d0, d1 = (canonical_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{name}: dims must be different. Got ({dim[0]}, {dim[1]})")
    moved = jnp.moveaxis(A, (d0, d1), (-2, -1))
    if isinstance(ord, str):
        if ord == "fro":
            out = _vector_norm(moved, 2, (-2, -1), False)
        elif ord == "nuc":
            out = jnp.sum(jnp.linalg.svd(moved, compute_uv=False), axis=-1)
        else:
            raise RuntimeError(f"{name}: Order {ord} not supported.")
    elif ord in (2, -2):
        s = jnp.linalg.svd(moved, compute_uv=False)
        out = s[..., 0] if ord == 2 else s[..., -1]
    elif ord in (1, -1, math.inf, -math.inf):
        # 1: the largest column sum of |A|, inf: the largest row sum (min for the negative orders).
        sums = jnp.sum(jnp.abs(moved), axis=-2 if abs(ord) == 1 else -1)
        out = jnp.max(sums, -1) if ord > 0 else jnp.min(sums, -1)
    else:
        raise RuntimeError(f"{name}: Order {ord} not supported.")
    if keepdim:
        out = jnp.expand_dims(out, tuple(sorted((d0, d1))))
    return out


@op(method=False, namespace=False)
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None):
    """``torch.linalg.matrix_norm``: ord 'fro', 'nuc', inf, -inf, 1, -1, 2, -2 over the two dims ``dim``."""
    A = _norm_dtype("linalg.matrix_norm", A, dtype)
    return _matrix_norm(A, ord, tuple(dim), keepdim)


@op(method=False, namespace=False)
def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None):
    """``torch.linalg.norm``: a vector norm (1-D, one dim, or ord None over everything) or a matrix norm."""
    A = _norm_dtype("linalg.norm", A, dtype)
    if isinstance(dim, builtins.int) or (dim is not None and len(dim) == 1):
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 2. Got {dim}")
        return _vector_norm(A, 2 if ord is None else ord, dim, keepdim)
    if dim is not None:
        if len(dim) != 2:
            raise RuntimeError(f"linalg.norm: If dim is specified, it mut be of length 1 or 2. Got {list(dim)}")
        return _matrix_norm(A, "fro" if ord is None else ord, tuple(dim), keepdim, "linalg.norm")
    if ord is None:
        return _vector_norm(A, 2, None, keepdim)
    if A.ndim == 1 and not isinstance(ord, str):
        return _vector_norm(A, ord, None, keepdim)
    if A.ndim == 2:
        return _matrix_norm(A, ord, (-2, -1), keepdim, "linalg.norm")
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {A.ndim}D.")


# --- LU, triangular and Cholesky solves, Householder products ---------------------------------------
def _deprecation(message: str) -> None:
    from .._warnings import warn

    warn(message)


def _same_dtype_solve(b, A) -> None:
    if b.dtype != A.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_dtype_name(b.dtype)} and A "
                           f"of type {_dtype_name(A.dtype)} instead.")


def _kernel_float(name: str, *arrays) -> None:
    for a in arrays:
        if _promotion.category(a.dtype) < 2:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_dtype_name(a.dtype)}'")


def _batched(b, A):
    """``b`` and ``A`` with their batch dimensions broadcast to each other's."""
    batch = jnp.broadcast_shapes(b.shape[:-2], A.shape[:-2])
    return jnp.broadcast_to(b, batch + b.shape[-2:]), jnp.broadcast_to(A, batch + A.shape[-2:])


_LuWithInfo = return_type("_lu_with_info", ("LU", "pivots", "info"))


@op()
def lu(A, pivot: bool = True, get_infos: bool = False):
    """``torch.lu`` (deprecated in torch): ``(LU, pivots)`` with LAPACK's 1-based int32 pivots (and getrf's info
    with ``get_infos``; without it a singular matrix is not an error, as in torch)."""
    _deprecation("torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be "
                 "removed in a future PyTorch release.")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.lu_factor: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} "
                           "instead")
    _kernel_float("lu", A)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    factors, pivots, _ = jax.lax.linalg.lu(A)
    pivots = (pivots + 1).astype(jnp.int32)
    if get_infos:
        return _LuWithInfo(factors, pivots, _lu_info(A))
    return factors, pivots


def _permutation(pivots, m: int):
    """The row permutation ``perm`` of LAPACK's 1-based ``pivots``: ``A[perm] = L @ U``."""
    return jax.lax.linalg.lu_pivots_to_permutation((pivots - 1).astype(jnp.int32), m)


_LuUnpack = return_type("lu_unpack", ("P", "L", "U"))


@op(method=False)
def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True, unpack_pivots: bool = True):  # noqa: N803 - torch's
    """``(P, L, U)`` with ``A = P @ L @ U`` from :func:`lu`'s output (an unrequested part is an empty tensor)."""
    if unpack_pivots and _promotion.category(LU_pivots.dtype) != 1:
        raise RuntimeError("lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.")
    return _LuUnpack(*_lu_unpack(LU_data, LU_pivots, unpack_data, unpack_pivots))


@functools.partial(jax.jit, static_argnums=(2, 3))
def _lu_unpack(LU_data, LU_pivots, unpack_data: bool, unpack_pivots: bool):  # noqa: N803 - torch's names
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    empty = jnp.zeros((0,), LU_data.dtype)
    L = U = P = empty
    if unpack_data:
        L = jnp.tril(LU_data[..., :, :k], -1) + jnp.eye(m, k, dtype=LU_data.dtype)
        U = jnp.triu(LU_data[..., :k, :])
    if unpack_pivots:
        perm = _permutation(LU_pivots, m)
        P = jnp.swapaxes(jax.nn.one_hot(perm, m, dtype=LU_data.dtype), -1, -2)
    return P, L, U


@op()
def lu_solve(input, LU_data, LU_pivots):  # noqa: N803 - torch's names
    """``torch.lu_solve`` (deprecated in torch): the solution ``X`` of ``A X = input`` from :func:`lu`'s output."""
    _deprecation("torch.lu_solve is deprecated in favor of torch.linalg.lu_solve and will be removed in a future "
                 "PyTorch release.")
    _same_dtype_solve(input, LU_data)
    return _lu_solve(input, LU_data, LU_pivots)


@jax.jit
def _lu_solve(input, LU_data, LU_pivots):  # noqa: N803 - torch's names
    b, factors = _batched(input, LU_data)
    perm = jnp.broadcast_to(_permutation(LU_pivots, factors.shape[-1]), b.shape[:-1])
    permuted = jnp.take_along_axis(b, perm[..., None], axis=-2)
    y = jax.lax.linalg.triangular_solve(factors, permuted, left_side=True, lower=True, unit_diagonal=True)
    return jax.lax.linalg.triangular_solve(factors, y, left_side=True, lower=False)


_TriangularSolve = return_type("triangular_solve", ("solution", "cloned_coefficient"))


@op()
def triangular_solve(input, A, upper: bool = True, transpose: bool = False, unitriangular: bool = False):
    """``torch.triangular_solve`` (deprecated in torch): ``(X, A)`` with ``op(A) X = input`` for the triangle of
    ``A`` that ``upper`` names (``op`` transposes with ``transpose``; ``unitriangular``: ones on the diagonal)."""
    _deprecation("torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangular and will be removed "
                 "in a future PyTorch release.")
    _same_dtype_solve(input, A)
    _kernel_float("triangular_solve", A)
    b, coefficient = _batched(input, A)
    solution = jax.lax.linalg.triangular_solve(coefficient, b, left_side=True, lower=not upper,
                                               transpose_a=transpose, unit_diagonal=unitriangular)
    return _TriangularSolve(solution, jnp.array(coefficient, copy=True))


@op()
def cholesky_solve(input, input2, upper: bool = False):
    """The solution ``X`` of ``A X = input`` where ``input2`` is ``A``'s Cholesky factor (lower, or upper with
    ``upper``)."""
    _same_dtype_solve(input, input2)
    _kernel_float("cholesky_solve", input2)
    b, factor = _batched(input, input2)
    first = jax.lax.linalg.triangular_solve(factor, b, left_side=True, lower=not upper, transpose_a=upper,
                                            conjugate_a=upper)
    return jax.lax.linalg.triangular_solve(factor, first, left_side=True, lower=not upper, transpose_a=not upper,
                                           conjugate_a=not upper)


@op()
def cholesky_inverse(input, upper: bool = False):
    """The inverse of ``A`` from its Cholesky factor ``input`` (lower, or upper with ``upper``)."""
    if input.ndim < 2:
        raise RuntimeError("cholesky_inverse: The input tensor input must have at least 2 dimensions.")
    _check_square("cholesky_inverse", input, "input")
    _kernel_float("cholesky_inverse", input)
    identity = jnp.broadcast_to(jnp.eye(input.shape[-1], dtype=input.dtype), input.shape)
    return cholesky_solve.__wrapped_array_fn__(identity, input, upper)


_Geqrf = return_type("geqrf", ("a", "tau"))


@op()
def geqrf(input):
    """LAPACK's geqrf: ``(a, tau)``, R above the diagonal of ``a`` and the Householder reflectors below it."""
    _kernel_float("geqrf", input)
    reflectors, tau = jnp.linalg.qr(input, mode="raw")  # NumPy's raw mode: LAPACK's output, transposed
    return _Geqrf(jnp.swapaxes(reflectors, -1, -2), tau)


@op()
def orgqr(input, tau):
    """The first ``n`` columns of the product of the Householder reflectors :func:`geqrf` returns (``Q``)."""
    return jax.lax.linalg.householder_product(input, tau)


@op()
def ormqr(input, input2, input3, left: bool = True, transpose: bool = False):
    """``Q @ input3`` (``left``) or ``input3 @ Q``, with ``Q`` the full product of the reflectors of
    :func:`geqrf` (``input``, ``input2``) and ``transpose``: ``Q^H``."""
    return jax.lax.linalg.ormqr(input, input2, input3, left=left, transpose=transpose)


def _removed(name: str, message: str, method: bool = True):
    def array_fn(*args, **kwargs):
        raise RuntimeError("This function was deprecated since version 1.9 and is now removed. " + message)

    array_fn.__name__ = name
    array_fn.__doc__ = f"Removed from torch in 1.9 (torch raises the same RuntimeError): {message.splitlines()[0]}"
    return op(name, method=method)(array_fn)


eig_removed = _removed("eig", "`torch.linalg.eig` returns complex tensors of dtype `cfloat` or `cdouble` rather "
                       "than real tensors mimicking complex tensors.\n\nL, _ = torch.eig(A) should be replaced with:\n"
                       "L_complex = torch.linalg.eigvals(A)\n\nand\n\nL, V = torch.eig(A, eigenvectors=True) should be "
                       "replaced with:\nL_complex, V_complex = torch.linalg.eig(A)")
symeig_removed = _removed("symeig", "The default behavior has changed from using the upper triangular portion of the "
                          "matrix by default to using the lower triangular portion.\n\nL, _ = torch.symeig(A, "
                          "upper=upper) should be replaced with:\nL = torch.linalg.eigvalsh(A, UPLO='U' if upper else "
                          "'L')\n\nand\n\nL, V = torch.symeig(A, eigenvectors=True) should be replaced with:\nL, V = "
                          "torch.linalg.eigh(A, UPLO='U' if upper else 'L')")
solve_removed = _removed("solve", "`torch.solve` is deprecated in favor of `torch.linalg.solve`. `torch.linalg.solve` "
                         "has its arguments reversed and does not return the LU factorization.\n\nTo get the LU "
                         "factorization see `torch.lu`, which can be used with `torch.lu_solve` or `torch.lu_unpack`.\n"
                         "X = torch.solve(B, A).solution should be replaced with:\nX = torch.linalg.solve(A, B)")
lstsq_removed = _removed("lstsq", "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n`torch.linalg.lstsq` "
                         "has reversed arguments and does not return the QR decomposition in the returned tuple "
                         "(although it returns other information about the problem).")
matrix_rank_removed = _removed("matrix_rank", "\nPlease use the `torch.linalg.matrix_rank` function instead. The "
                               "parameter 'symmetric' was renamed in `torch.linalg.matrix_rank()` to 'hermitian'.",
                               method=False)


# --- more norms -----------------------------------------------------------------------------------
@op(method=False)
def frobenius_norm(input, dim, keepdim: bool = False):
    """``sqrt(sum |x|^2)`` over ``dim`` (floating or complex input)."""
    if _promotion.category(input.dtype) < 2:
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got "
                           f"{_dtype_name(input.dtype)} instead.")
    dims = tuple(dim) if isinstance(dim, list | tuple) else (dim,)
    axes = tuple(canonical_dim(d, input.ndim) for d in dims)
    return _vector_norm(input, 2, axes, keepdim)


@op(method=False)
def nuclear_norm(input, dim=None, keepdim: bool = False):
    """The sum of the singular values of the matrices in the last two dims (``nuclear_norm(input, keepdim)``), or
    in the two dims ``dim``: ``linalg.matrix_norm(input, 'nuc', dim, keepdim)``."""
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    return _matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim, "linalg.matrix_norm")


@op(method=False)
def norm_except_dim(v, pow=2, dim: int = 0):
    """The ``pow``-norm over every dimension but ``dim``, kept as size-1 dimensions (``dim=-1``: of the whole
    tensor, a 0-d result); weight normalization's norm."""
    if dim == -1:
        return _vector_norm(v, pow, None, False)
    axis = canonical_dim(dim, v.ndim)
    return _vector_norm(v, pow, tuple(d for d in range(v.ndim) if d != axis), True)


@op(method=True)
def dist(input, other, p=2):
    """``norm(input - other, p)`` over every element (the operands broadcast; floating or complex)."""
    difference = jnp.subtract(*jnp.broadcast_arrays(input, other))
    dtype = _promotion.result_type(input, other)
    if _promotion.category(dtype) < 2:
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got {_dtype_name(dtype)} "
                           "instead.")
    return _vector_norm(difference.astype(dtype), p, None, False)


@op(method=True, inplace=True)
def renorm(input, p, dim: int, maxnorm):
    """Each slice ``input.select(dim, i)`` whose ``p``-norm exceeds ``maxnorm`` scaled to norm ``maxnorm``."""
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    _check_float("linalg.vector_norm", input)
    axis = canonical_dim(dim, input.ndim)
    norms = _vector_norm(input, p, tuple(d for d in range(input.ndim) if d != axis), True)
    factor = jnp.where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return (input * factor).astype(input.dtype)


@op("vander", method=False)
def torch_vander(x, N=None, increasing: bool = False):
    """``torch.vander``: columns ``x ** (N - 1), ..., x ** 0`` (``increasing``: the other way round) of a 1-D ``x``;
    integer and bool inputs give int64 (int32 here)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    N = x.shape[0] if N is None else N
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    dtype = _promotion.long_dtype() if _promotion.category(x.dtype) < 2 else x.dtype
    powers = jnp.cumprod(jnp.broadcast_to(x[:, None], (x.shape[0], max(N - 1, 0))).astype(dtype), axis=1)
    out = jnp.concatenate([jnp.ones((x.shape[0], min(N, 1)), dtype), powers], axis=1)
    return out if increasing else out[:, ::-1]

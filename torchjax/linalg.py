"""``torch.linalg``: decompositions, solvers, inverses, determinants and norms (see ``torchjax._torch.linalg``)."""

from ._torch.linalg import (
    LinAlgError,
    cholesky_ex,
    diagonal,
    eig,
    eigh,
    eigvals,
    eigvalsh,
    inv,
    inv_ex,
    lstsq,
    matmul,
    matrix_norm,
    matrix_rank,
    multi_dot,
    norm,
    pinv,
    solve,
    svdvals,
    tensorinv,
    tensorsolve,
    vander,
    vecdot,
    vector_norm,
)
from ._torch.linalg import linalg_cholesky as cholesky
from ._torch.linalg import linalg_cross as cross
from ._torch.linalg import linalg_det as det
from ._torch.linalg import linalg_matrix_exp as matrix_exp
from ._torch.linalg import linalg_matrix_power as matrix_power
from ._torch.linalg import linalg_qr as qr
from ._torch.linalg import linalg_slogdet as slogdet
from ._torch.linalg import linalg_svd as svd

__all__ = [
    "LinAlgError", "cholesky", "cholesky_ex", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh",
    "inv", "inv_ex", "lstsq", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot",
    "norm", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensorinv", "tensorsolve", "vander",
    "vecdot", "vector_norm",
]

"""torch's tensor-attribute types and members: ``dtype`` (NumPy's dtype class: torchjax's dtypes are NumPy dtypes),
``layout`` (``strided``, the only layout here) and ``memory_format`` (``contiguous_format``, ``channels_last``,
``channels_last_3d``, ``preserve_format``), and the dtype names beyond the common ones (the unsigned and float8
types; ``uint64`` needs JAX's 64-bit mode to create, as ``int64`` does).

A memory format is accepted wherever torch takes one and changes nothing: XLA chooses physical layouts, and
``stride()`` reports row-major strides. Also here: the Tensor predicates for backends and tensor kinds that do not
occur (``is_xpu``, ``is_nested``, ``is_pinned()``, ... all False) and torch's legacy members (``new``,
``new_empty_strided``, ``dim_order``, ``cdouble``, ``volatile``, ``reinforce``).
"""

from __future__ import annotations

import numpy as np

from .. import _dtypes
from .._tensor import OPS, Tensor
from .._tensor import Size as _Size


class _Named:
    """An instance that prints as torch's (``torchjax.strided``) and pickles as a reference to itself."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torchjax.{self.name}"

    def __reduce__(self):
        return self.name


class layout(_Named):  # noqa: N801 - torch's name
    """``torch.layout``: how a tensor's elements are stored; ``strided`` (dense) is the only one here."""

    __slots__ = ()


class memory_format(_Named):  # noqa: N801 - torch's name
    """``torch.memory_format``: accepted for porting, with no effect (XLA chooses physical layouts)."""

    __slots__ = ()


strided = layout("strided")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

Tensor.layout = property(lambda self: strided, doc="``torchjax.strided``: every tensor here is dense.")

OPS.update(
    dtype=np.dtype, layout=layout, memory_format=memory_format, strided=strided, contiguous_format=contiguous_format,
    channels_last=channels_last, channels_last_3d=channels_last_3d, preserve_format=preserve_format,
    **{name: getattr(_dtypes, name) for name in ("uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e4m3fnuz",
                                                 "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu")},
)


# --- predicates and legacy Tensor members ---------------------------------------------------------
# Backends and kinds of tensor that never occur here: torch's properties answer False for a CPU tensor too.
for _name in ("is_ipu", "is_maia", "is_mps", "is_mtia", "is_nested", "is_sparse_csr", "is_vulkan", "is_xla",
              "is_xpu"):
    setattr(Tensor, _name, False)
del _name


def _is_pinned(self, device=None) -> bool:
    """False: JAX arrays are not in page-locked host memory that torch could pin."""
    return False


def _is_shared(self) -> bool:
    """False: no tensor here lives in shared memory (``share_memory_`` is out of scope, with storages)."""
    return False


def _new(self, *args, device=None):
    """torch's legacy constructor in this tensor's dtype: ``new(*sizes)`` (zeros; uninitialised in torch),
    ``new(data)`` from a list or array, ``new()`` an empty 1-D tensor, ``new(tensor)`` an alias of a tensor of
    this dtype (another dtype raises, as in torch)."""
    from .creation import tensor

    if len(args) == 1 and isinstance(args[0], Tensor):  # torch: an alias of a tensor of this dtype
        if args[0].dtype != self.dtype:
            raise TypeError(f"expected {self.dtype} tensor options, got a {args[0].dtype} tensor")
        return args[0].detach()
    if len(args) == 1 and isinstance(args[0], list | tuple | np.ndarray) and not isinstance(args[0], _Size):
        return tensor(args[0], dtype=self.dtype, device=device)
    return self.new_zeros(*args if args else (0,), device=device)


def _new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad: bool = False, **_):
    """``new_empty`` of ``size`` (zeros): ``stride`` has no effect, XLA chooses layouts."""
    return self.new_zeros(size, dtype=dtype, device=device)


def _dim_order(self, *, ambiguity_check=False) -> tuple:
    """The dims from outermost to innermost in memory: ``0, 1, ..., ndim - 1``, as ``stride()`` reports row-major
    strides here (torch reports a transposed view's actual order)."""
    return tuple(range(self.ndim))


def _cdouble(self, memory_format=None):
    """``to(complex128)``: needs JAX's 64-bit mode, as ``double()`` does."""
    return self.to(np.complex128)


def _volatile(self) -> bool:
    from .._warnings import warn

    warn("volatile was removed (Variable.volatile is always False)")
    return False


def _reinforce(self, reward):
    raise RuntimeError("reinforce() was removed.\nUse torch.distributions instead.\nSee "
                       "https://pytorch.org/docs/main/distributions.html")


Tensor.is_pinned, Tensor.is_shared, Tensor.new = _is_pinned, _is_shared, _new
Tensor.new_empty_strided, Tensor.dim_order, Tensor.cdouble = _new_empty_strided, _dim_order, _cdouble
Tensor.volatile = property(_volatile, doc="Removed in torch: always False, with torch's warning.")
Tensor.reinforce = _reinforce

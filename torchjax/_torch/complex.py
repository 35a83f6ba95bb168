"""Complex tensors: ``view_as_real``/``view_as_complex``, ``real``/``imag``, ``conj`` and friends, ``polar``,
``complex``, ``angle``.

``view_as_real``, ``view_as_complex``, ``real``, ``imag`` and ``conj`` are write-through views, as in torch.
They change the dtype (or, for ``conj``, the values), so a write cannot scatter positions into the base the way
``Tensor._view`` does for selections; each of these views gives ``Tensor._view`` the exact inverse instead
(``inverse(base_value, new_view_value) -> new_base_value``), through which writes, also through views taken of
it, go. ``conj`` computes the conjugate (JAX has no conjugate bit) but reports ``is_conj()`` as torch does.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import _promotion
from .._device import get_default_dtype
from .._tensor import OPS, Tensor, _dtype_name, _new, op, tensor_arg, unwrap

__all__ = ["view_as_real", "view_as_complex", "real", "imag", "conj", "conj_physical", "resolve_conj",
           "resolve_neg", "is_conj", "is_neg", "is_complex", "polar", "angle"]


# --- views with an explicit inverse ---------------------------------------------------------------
def _inverse_view(parent: Tensor, fn: Callable, inverse: Callable, *, conj: bool = False) -> Tensor:
    """A view of ``parent`` read by ``fn``; ``inverse(parent_value, new_value)`` is the parent's new value."""
    out = parent._view(fn, inverse=inverse)
    if conj:
        out._is_conj = True
    return out


def _tensor(value) -> Tensor:
    if isinstance(value, Tensor):
        return value
    from .creation import as_tensor

    return as_tensor(value)


def _declare(name: str, *, method: bool = True) -> Callable:
    """Register a function of Tensors (one that returns a view or its argument) as ``torchjax.<name>``."""

    def decorate(fn: Callable) -> Callable:
        OPS[name] = fn
        if method:
            setattr(Tensor, name, fn)
        return fn

    return decorate


def _is_complex_dtype(dtype) -> bool:
    return _promotion.category(dtype) == 3


# --- real and complex views -----------------------------------------------------------------------
def _stack_parts(a):
    return jnp.stack([jnp.real(a), jnp.imag(a)], axis=-1)


def _from_parts(a):
    return jax.lax.complex(a[..., 0], a[..., 1])


@_declare("view_as_real", method=False)
def view_as_real(input) -> Tensor:
    """``torch.view_as_real``: a complex tensor as a real view of shape ``(..., 2)`` (real, imaginary)."""
    input = _tensor(input)
    if not _is_complex_dtype(input.dtype):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    if is_conj(input):
        raise RuntimeError("view_as_real doesn't work on unresolved conjugated tensors.  To resolve the conjugate "
                           "tensor so you can view it as real, use self.resolve_conj(); however, be warned that the "
                           "resulting tensor will NOT alias the original.")
    return _inverse_view(input, _stack_parts, lambda p, v: _from_parts(v).astype(p.dtype))


@_declare("view_as_complex", method=False)
def view_as_complex(input) -> Tensor:
    """``torch.view_as_complex``: a float tensor with last dim 2 as a complex view (one dim fewer)."""
    input = _tensor(input)
    dtype = input.dtype
    if dtype not in (np.float32, np.float64, np.float16):
        raise RuntimeError(f"view_as_complex is only supported for half, float and double tensors, but got a "
                           f"tensor of scalar type: {_dtype_name(dtype)}")
    if dtype == np.float16:
        raise RuntimeError("view_as_complex: JAX has no complex32 (ComplexHalf) dtype")
    if input.ndim == 0:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    return _inverse_view(input, _from_parts, lambda p, v: _stack_parts(v).astype(p.dtype))


@_declare("real", method=False)
def real(input) -> Tensor:
    """``torch.real``: a view of the real part of a complex tensor; a real tensor itself."""
    input = _tensor(input)
    if not _is_complex_dtype(input.dtype):
        return input
    return _inverse_view(input, jnp.real, lambda p, v: jax.lax.complex(v, jnp.imag(p)))


@_declare("imag", method=False)
def imag(input) -> Tensor:
    """``torch.imag``: a view of the imaginary part (complex tensors only, torch's RuntimeError otherwise)."""
    input = _tensor(input)
    if not _is_complex_dtype(input.dtype):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _inverse_view(input, jnp.imag, lambda p, v: jax.lax.complex(jnp.real(p), v))


def _set_real(self, value) -> None:
    real(self).copy_(value)


def _set_imag(self, value) -> None:
    imag(self).copy_(value)


Tensor.real = property(real, _set_real, doc="The real part, a write-through view (``x.real = v`` writes it).")
Tensor.imag = property(imag, _set_imag, doc="The imaginary part, a write-through view (``x.imag = v`` writes it).")


# --- conjugation ----------------------------------------------------------------------------------
@_declare("conj")
def conj(input) -> Tensor:
    """``torch.conj``: a write-through conjugated view of a complex tensor (``is_conj()`` True); real: itself."""
    input = _tensor(input)
    if not _is_complex_dtype(input.dtype):
        return input
    return _inverse_view(input, jnp.conj, lambda p, v: jnp.conj(v), conj=not is_conj(input))


@op(inplace=True)
def conj_physical(input):
    """``torch.conj_physical``: the conjugate as a new tensor."""
    return jnp.conj(input)


@_declare("resolve_conj")
def resolve_conj(input) -> Tensor:
    """``torch.resolve_conj``: a conjugated view materialised as a new tensor; anything else itself."""
    input = _tensor(input)
    return _new(Tensor, unwrap(input)) if is_conj(input) else input


@_declare("resolve_neg")
def resolve_neg(input) -> Tensor:
    """``torch.resolve_neg``: the tensor itself (torchjax makes no negative-bit views)."""
    return _tensor(input)


@_declare("is_conj")
def is_conj(input) -> bool:
    """``torch.is_conj``: whether the tensor is a conjugated view (from ``conj`` of a complex tensor)."""
    return bool(getattr(tensor_arg(input, "is_conj"), "__dict__", {}).get("_is_conj", False))


@_declare("is_neg")
def is_neg(input) -> bool:
    """``torch.is_neg``: always False (torchjax makes no negative-bit views)."""
    return False


@_declare("is_complex", method=False)
def is_complex(input) -> bool:
    """``torch.is_complex``: whether the dtype is complex."""
    return _is_complex_dtype(_tensor(input).dtype)


# --- construction and angle -----------------------------------------------------------------------
def _check_parts(a, b, name_b: str) -> None:
    for x in (a, b):
        if x.dtype not in (np.float16, np.float32, np.float64):
            raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                               f"{_dtype_name(a.dtype)} and {_dtype_name(b.dtype)}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"Expected object of scalar type {_dtype_name(a.dtype)} but got scalar type "
                           f"{_dtype_name(b.dtype)} for second argument")
    if a.dtype == np.float16:
        raise RuntimeError(f"{name_b}: JAX has no complex32 (ComplexHalf) dtype")


@op(method=False)
def polar(abs, angle):
    """``torch.polar``: ``abs * (cos(angle) + i sin(angle))`` (both of one float dtype)."""
    _check_parts(abs, angle, "polar")
    return jax.lax.complex(abs * jnp.cos(angle), abs * jnp.sin(angle))


@op("complex", method=False)
def _complex(real, imag):
    """``torch.complex``: ``real + i imag`` (both of one float dtype, broadcast)."""
    _check_parts(real, imag, "complex")
    real, imag = jnp.broadcast_arrays(real, imag)
    return jax.lax.complex(real, imag)


@op()
def angle(input):
    """``torch.angle``: the argument of a complex number (real result); for real input 0 or pi (NaN kept)."""
    if _is_complex_dtype(input.dtype):
        return jnp.angle(input)
    if _promotion.category(input.dtype) < 2:
        input = input.astype(get_default_dtype())
    # torch: pi for negative values, 0 otherwise (also for -0.0), NaN propagates.
    angles = jnp.where(input < 0, jnp.asarray(np.pi, input.dtype), jnp.zeros((), input.dtype))
    return jnp.where(jnp.isnan(input), input, angles)

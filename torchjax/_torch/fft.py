"""``torch.fft``: discrete Fourier transforms, sample frequencies and shifts.

Real and integer inputs are transformed as the default float dtype, so ``fft`` of a float32 (or int)
tensor is complex64; the real-output transforms (``irfft``, ``hfft``) give the matching real dtype.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import _promotion
from .._device import as_dtype, check_dtype_supported, get_default_dtype
from .._tensor import _dtype_name, canonical_dim, op

__all__ = [
    "fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
    "rfftn", "irfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift",
]

_NORMS = (None, "backward", "ortho", "forward")


def _prepare(name: str, input, norm, *, real_only: bool = False):
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    category = _promotion.category(input.dtype)
    if real_only and category == 3:
        raise RuntimeError(f"{name} expects a real input tensor, but got {_dtype_name(input.dtype)}")
    if category < 2:
        input = input.astype(get_default_dtype())
    return input


def _check_n(name: str, n) -> None:
    if n is not None and n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")


def _one_dim(jnp_fn, name: str, real_only: bool = False):
    def transform(input, n=None, dim: int = -1, norm=None):
        x = _prepare(name, input, norm, real_only=real_only)
        _check_n(name, n)
        return jnp_fn(x, n=n, axis=canonical_dim(dim, x.ndim), norm=norm)

    transform.__name__ = transform.__qualname__ = name
    transform.__doc__ = f"``torch.fft.{name}`` over ``dim`` (``n`` points: input cropped or zero-padded)."
    return op(name, method=False, namespace=False)(transform)


fft = _one_dim(jnp.fft.fft, "fft")
ifft = _one_dim(jnp.fft.ifft, "ifft")
rfft = _one_dim(jnp.fft.rfft, "rfft", real_only=True)
irfft = _one_dim(jnp.fft.irfft, "irfft")
hfft = _one_dim(jnp.fft.hfft, "hfft")
ihfft = _one_dim(jnp.fft.ihfft, "ihfft", real_only=True)


def _axes(x, s, dim, default):
    """torch's (s, dim): dim defaults to the last len(s) dims when s is given, else to ``default``."""
    if dim is None:
        dim = tuple(range(x.ndim - len(s), x.ndim)) if s is not None else default
    if isinstance(dim, int):
        dim = (dim,)
    axes = tuple(canonical_dim(d, x.ndim) for d in (range(x.ndim) if dim == "all" else dim))
    if len(set(axes)) != len(axes):
        raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = tuple(int(v) for v in s)
        if len(s) != len(axes):
            raise RuntimeError(f"When given, dim and shape arguments must have the same length: got {len(axes)} "
                               f"dims and {len(s)} shape values")
        for v in s:
            _check_n("fftn", v if v != -1 else None)
        # -1 keeps a dim's size, as in torch.
        s = tuple(x.shape[a] if v == -1 else v for v, a in zip(s, axes, strict=True))
    return s, axes


def _n_dim(jnp_fn, name: str, default, real_only: bool = False):
    def transform(input, s=None, dim=default, norm=None):
        x = _prepare(name, input, norm, real_only=real_only)
        shape, axes = _axes(x, s, dim, "all" if default is None else default)
        return jnp_fn(x, s=shape, axes=axes, norm=norm)

    transform.__name__ = transform.__qualname__ = name
    transform.__doc__ = f"``torch.fft.{name}`` over ``dim`` (``s``: the signal size per dim)."
    return op(name, method=False, namespace=False)(transform)


fft2 = _n_dim(jnp.fft.fftn, "fft2", (-2, -1))
ifft2 = _n_dim(jnp.fft.ifftn, "ifft2", (-2, -1))
rfft2 = _n_dim(jnp.fft.rfftn, "rfft2", (-2, -1), real_only=True)
irfft2 = _n_dim(jnp.fft.irfftn, "irfft2", (-2, -1))
fftn = _n_dim(jnp.fft.fftn, "fftn", None)
ifftn = _n_dim(jnp.fft.ifftn, "ifftn", None)
rfftn = _n_dim(jnp.fft.rfftn, "rfftn", None, real_only=True)
irfftn = _n_dim(jnp.fft.irfftn, "irfftn", None)


def _freq_dtype(dtype, name: str):
    if dtype is None:
        return get_default_dtype()
    return check_dtype_supported(as_dtype(dtype), name)


@op(method=False, namespace=False)
def fftfreq(n: int, d: float = 1.0, *, dtype=None, layout=None, device=None, requires_grad: bool = False):
    """``torch.fft.fftfreq``: the sample frequencies ``[0, 1, ..., -1] / (d * n)`` (default float dtype)."""
    dtype = _freq_dtype(dtype, "fftfreq")
    return jnp.asarray(np.fft.fftfreq(n, d)).astype(dtype)


@op(method=False, namespace=False)
def rfftfreq(n: int, d: float = 1.0, *, dtype=None, layout=None, device=None, requires_grad: bool = False):
    """``torch.fft.rfftfreq``: the non-negative sample frequencies of ``rfft`` (default float dtype)."""
    dtype = _freq_dtype(dtype, "rfftfreq")
    return jnp.asarray(np.fft.rfftfreq(n, d)).astype(dtype)


def _shift_axes(input, dim):
    if dim is None:
        return tuple(range(input.ndim))
    return tuple(canonical_dim(d, input.ndim) for d in ((dim,) if isinstance(dim, int) else dim))


@op(method=False, namespace=False)
def fftshift(input, dim=None):
    """``torch.fft.fftshift``: the zero frequency moved to the centre of ``dim`` (all dims by default)."""
    return jnp.fft.fftshift(input, axes=_shift_axes(input, dim))


@op(method=False, namespace=False)
def ifftshift(input, dim=None):
    """``torch.fft.ifftshift``: the inverse of ``fftshift``."""
    return jnp.fft.ifftshift(input, axes=_shift_axes(input, dim))

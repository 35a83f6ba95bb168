"""Linear maps: ``F.linear`` and ``F.bilinear``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ..._device import cpp_type_name, scalar_type_name
from ..parameter import _unwrap
from .vision import _size


def linear(input, weight, bias=None) -> jax.Array:
    """``y = x Aᵀ + b`` over the last dimension of ``input``.

    Arguments:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)``, or ``(in_features,)`` for a single output that
            drops the last dimension.
        bias: ``(out_features,)`` or None.
    """
    x, w = _unwrap(input), _unwrap(weight)
    if x.ndim == 0 or w.ndim not in (1, 2) or x.shape[-1] != w.shape[-1]:
        raise RuntimeError(
            f"linear(): input of shape {tuple(x.shape)} and weight of shape {tuple(w.shape)} cannot be "
            f"multiplied (the input's last dimension must equal the weight's in_features)"
        )
    if x.dtype != w.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {cpp_type_name(x.dtype)} != "
                           f"{cpp_type_name(w.dtype)}")
    b = None if bias is None else _unwrap(bias)
    if b is not None and b.dtype != x.dtype:  # torch's addmm: no promotion of the bias either
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {scalar_type_name(b.dtype)} and "
                           f"{scalar_type_name(x.dtype)}")
    y = lax.dot_general(x, w, (((x.ndim - 1,), (w.ndim - 1,)), ((), ())))
    return y if b is None else y + b


# torch's C++ dtype names (caffe2::TypeMeta), for bilinear's dtype message.
_CPP_DTYPE_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16", "int64": "long int",
    "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
    "complex64": "c10::complex<float>", "complex128": "c10::complex<double>",
}


def bilinear(input1, input2, weight, bias=None) -> jax.Array:
    r"""``y = x_1^T A x_2 + b`` for each output feature: ``y[..., o] = Σ_ij x1[..., i] A[o, i, j] x2[..., j] + b[o]``.

    Arguments:
        input1: ``(*, in1_features)``.
        input2: ``(*, in2_features)``, with exactly ``input1``'s leading dims (no broadcasting).
        weight: ``(out_features, in1_features, in2_features)``.
        bias: ``(out_features,)`` or None.

    All operands must have one dtype (any numeric dtype, as torch).
    """
    x1, x2, w = jnp.asarray(_unwrap(input1)), jnp.asarray(_unwrap(input2)), jnp.asarray(_unwrap(weight))
    b = None if bias is None else jnp.asarray(_unwrap(bias))
    operands = {"input1": x1, "input2": x2, "weight": w} | ({} if b is None else {"bias": b})
    if len({a.dtype for a in operands.values()}) > 1:
        names = ", ".join(f"{k}: {_CPP_DTYPE_NAMES.get(a.dtype.name, a.dtype.name)}" for k, a in operands.items())
        raise RuntimeError(f"All tensors must have the same dtype, got {names}")
    if x1.ndim != x2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {x1.ndim} and {x2.ndim}")
    for i in range(x1.ndim - 1):
        if x1.shape[i] != x2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: got {x1.shape[i]} and "
                               f"{x2.shape[i]}")
    if _size(x1, -1) != _size(w, 1):
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {x1.shape[-1]} but expected "
                           f"{w.shape[1]}")
    if _size(x2, -1) != _size(w, 2):
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {x2.shape[-1]} but expected "
                           f"{w.shape[2]}")
    if b is not None and _size(b, 0) != w.shape[0]:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {b.shape[0]} but expected "
                           f"{w.shape[0]}")
    if w.ndim != 3:
        raise RuntimeError("number of dimensions must match")
    # (x1 · A) first: (*, out, in2), then contracted with x2, as torch's _trilinear orders the sums.
    y = jnp.einsum("...j,...oj->...o", x2, jnp.einsum("...i,oij->...oj", x1, w))
    if b is None:
        return y
    ndim = max(y.ndim, b.ndim)
    for i in range(1, min(y.ndim, b.ndim) + 1):  # torch's broadcasting error, from the last dim
        if y.shape[-i] != b.shape[-i] and 1 not in (y.shape[-i], b.shape[-i]):
            raise RuntimeError(f"The size of tensor a ({y.shape[-i]}) must match the size of tensor b "
                               f"({b.shape[-i]}) at non-singleton dimension {ndim - i}")
    return y + b

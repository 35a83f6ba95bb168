"""Linear maps: ``F.linear``."""

from __future__ import annotations

import jax
from jax import lax

from ..parameter import _unwrap


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
        raise RuntimeError(f"linear(): input and weight must have the same dtype, but got {x.dtype} and {w.dtype}")
    y = lax.dot_general(x, w, (((x.ndim - 1,), (w.ndim - 1,)), ((), ())))
    return y if bias is None else y + _unwrap(bias)

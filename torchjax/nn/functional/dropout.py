"""Dropout as functions of arrays; masks are drawn from the torchjax default generator.

The mask comes from the default generator (or ``generator=``), so ``torchjax.manual_seed``
reproduces it and a compiled step draws a new mask on every call. The random streams differ from
torch's; the distributions are the same. ``inplace=`` is accepted for porting (arrays are immutable).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ... import _random
from ..._warnings import warn
from ..parameter import _unwrap

__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]

# SELU's scale * alpha: the value a dropped unit takes before AlphaDropout's affine correction.
_ALPHA = 1.7580993408473766


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(x: jax.Array, p: float, training: bool, *, feature: bool, alpha: bool, generator) -> jax.Array:
    """torch's ``_dropout_impl``: element or whole-channel (``feature``) masks, plain or alpha."""
    if p == 0 or not training or x.size == 0:
        return x
    if p == 1:
        return x * jnp.zeros((), x.dtype)
    if feature:
        if x.ndim < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = x.shape[:2] + (1,) * (x.ndim - 2)  # one draw per (sample, channel)
    else:
        shape = x.shape
    keep = jax.random.bernoulli(_random.next_key(generator), 1.0 - p, shape).astype(x.dtype)
    if not alpha:
        return x * (keep * (1.0 / (1.0 - p)))
    # Keep the mean and variance of SELU-normalized inputs: dropped units go to SELU's negative
    # saturation, then everything is rescaled by a and shifted by b.
    a = 1.0 / ((_ALPHA**2 * p + 1) * (1 - p)) ** 0.5
    b = (keep - 1) * (_ALPHA * a) + _ALPHA * a * p
    return x * (keep * a) + b


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None) -> jax.Array:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)`` (training only)."""
    _check_p(p)
    return _dropout(_unwrap(input), p, training, feature=False, alpha=False, generator=generator)


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False, *,
                  generator=None) -> jax.Array:
    """Dropout that keeps a SELU network's zero mean and unit variance (training only; note that
    ``training`` defaults to False, as in torch)."""
    _check_p(p)
    return _dropout(_unwrap(input), p, training, feature=False, alpha=True, generator=generator)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False, *,
                          generator=None) -> jax.Array:
    """:func:`alpha_dropout` with one draw per channel (dim 1) of each sample."""
    _check_p(p)
    return _dropout(_unwrap(input), p, training, feature=True, alpha=True, generator=generator)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None) -> jax.Array:
    """Zero whole channels of ``(N, C, L)`` or unbatched ``(C, L)`` inputs with probability ``p``."""
    _check_p(p)
    x = _unwrap(input)
    if x.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D input. Note that dropout1d exists to "
            "provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and an optional "
            "batch dimension (i.e. 2D or 3D inputs)."
        )
    batched = x.ndim == 3
    result = _dropout(x if batched else x[None], p, training, feature=True, alpha=False, generator=generator)
    return result if batched else result[0]


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None) -> jax.Array:
    """Zero whole channels of ``(N, C, H, W)`` or ``(C, H, W)`` inputs with probability ``p``.

    As torch: a 3D input is treated as ``(N, C, L)`` (with a warning), other ranks warn.
    """
    _check_p(p)
    x = _unwrap(input)
    if x.ndim not in (3, 4):
        warn(
            f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead. Note "
            "that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial dimensions, a channel "
            "dimension, and an optional batch dimension (i.e. 3D or 4D inputs)."
        )
    if x.ndim == 3:
        warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will "
            "change in a future release to interpret the input as one without a batch dimension, i.e. shape "
            "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d instead."
        )
    return _dropout(x, p, training, feature=True, alpha=False, generator=generator)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None) -> jax.Array:
    """Zero whole channels of ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)`` inputs with probability ``p``."""
    _check_p(p)
    x = _unwrap(input)
    if x.ndim not in (4, 5):
        warn(
            f"dropout3d: Received a {x.ndim}-D input to dropout3d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead. Note "
            "that dropout3d exists to provide channel-wise dropout on inputs with 3 spatial dimensions, a channel "
            "dimension, and an optional batch dimension (i.e. 4D or 5D inputs)."
        )
    batched = x.ndim == 5
    result = _dropout(x if batched else x[None], p, training, feature=True, alpha=False, generator=generator)
    return result if batched else result[0]

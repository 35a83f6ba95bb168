"""Losses as functions of arrays: ``F.nll_loss``, ``F.cross_entropy``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import _reduction
from ..parameter import _unwrap
from .activation import log_softmax


def _check_class_target(input: jax.Array, target: jax.Array, ignore_index: int, name: str) -> None:
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have at least one dimension (classes), got a 0-d array")
    batched = input.ndim >= 2
    expected = (input.shape[0], *input.shape[2:]) if batched else ()
    if batched and target.ndim >= 1 and target.shape[0] != input.shape[0]:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({target.shape[0]})."
        )
    if tuple(target.shape) != expected:
        raise RuntimeError(
            f"{name}: expected target of shape {expected} for input of shape {tuple(input.shape)}, "
            f"got {tuple(target.shape)}"
        )
    if not jnp.issubdtype(target.dtype, jnp.integer):
        raise RuntimeError(f"{name}: expected class indices of an integer dtype as target, got {target.dtype}")
    if not isinstance(target, jax.core.Tracer):  # eager only: data checks cannot raise inside a trace
        classes = input.shape[1] if batched else input.shape[0]
        bad = ((target < 0) | (target >= classes)) & (target != ignore_index)
        if bool(jnp.any(bad)):
            raise IndexError(f"Target {int(target.ravel()[jnp.argmax(bad.ravel())])} is out of bounds.")


def _class_nll(logp: jax.Array, target: jax.Array, weight, ignore_index: int, reduction: str, name: str):
    """Weighted negative log-likelihood of class-index targets (input: log-probabilities)."""
    _check_class_target(logp, target, ignore_index, name)
    class_axis = 1 if logp.ndim >= 2 else 0
    keep = target != ignore_index
    safe = jnp.where(keep, target, 0)
    picked = jnp.take_along_axis(logp, jnp.expand_dims(safe, class_axis), axis=class_axis).squeeze(class_axis)
    w = jnp.ones((), logp.dtype) if weight is None else jnp.asarray(_unwrap(weight), logp.dtype)[safe]
    w = jnp.where(keep, w, 0)
    losses = -picked * w
    if reduction == "mean":
        return losses.sum() / w.sum()  # torch's weighted mean: 0/0 = nan when everything is ignored
    return _reduction.apply(losses, reduction)


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> jax.Array:
    """Negative log-likelihood of class indices ``target`` under log-probabilities ``input``.

    Shapes: input ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``; target ``(N)``, ``()`` or ``(N, d1, ...)``.
    ``mean`` divides by the summed weights of the non-ignored targets, as torch.
    """
    reduction = _reduction.resolve(size_average, reduce, reduction)
    return _class_nll(_unwrap(input), _unwrap(target), weight, ignore_index, reduction, "nll_loss")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> jax.Array:
    """Cross entropy between logits ``input`` and class indices or class probabilities ``target``.

    Class indices: ``nll_loss(log_softmax(input), target)``, with label smoothing mixing in the
    uniform distribution exactly as torch does (weights and ignore_index included).
    Probabilities (``target`` shaped like ``input``): ``-sum_c w_c p_c log q_c``, mean over the
    batch (and spatial) positions.
    """
    reduction = _reduction.resolve(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    x, t = _unwrap(input), _unwrap(target)
    class_axis = 1 if x.ndim >= 2 else 0
    logp = log_softmax(x, dim=class_axis)
    classes = x.shape[class_axis]
    w = None if weight is None else jnp.asarray(_unwrap(weight), logp.dtype)
    w_b = None if w is None else w.reshape((classes,) + (1,) * (x.ndim - class_axis - 1))
    if t.shape == x.shape and jnp.issubdtype(t.dtype, jnp.floating):
        if label_smoothing > 0:
            t = t * (1 - label_smoothing) + label_smoothing / classes
        terms = logp * t if w_b is None else logp * t * w_b
        losses = -terms.sum(axis=class_axis)
        if reduction == "mean":
            return losses.sum() / (x.size // classes) if x.ndim else losses
        return _reduction.apply(losses, reduction)
    nll = _class_nll(logp, t, weight, ignore_index, reduction, "cross_entropy")
    if label_smoothing == 0:
        return nll
    keep = t != ignore_index
    smooth = -(logp if w_b is None else logp * w_b).sum(axis=class_axis)
    smooth = jnp.where(keep, smooth, 0)
    if reduction == "mean":
        if w is None:
            smooth = smooth.sum() / keep.sum()
        else:
            smooth = smooth.sum() / jnp.where(keep, w[jnp.where(keep, t, 0)], 0).sum()
    else:
        smooth = _reduction.apply(smooth, reduction)
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / classes)

"""Losses as functions of arrays: every loss of ``torch.nn.functional`` (``F.mse_loss``, ``F.cross_entropy``,
``F.ctc_loss`` ...).

Shared conventions:
- ``reduction`` is 'none' | 'mean' | 'sum'; the deprecated ``size_average`` / ``reduce`` override it
  exactly as torch maps them (with torch's deprecation warning).
- Checks of shapes and arguments raise torch's exception types. Checks of *values* (a class index out
  of range, a probability outside [0, 1], a negative variance) run only on concrete arrays, in NumPy:
  under ``jit``, ``grad`` or ``vmap`` the values are tracers and the check is skipped.
- Where torch's backward is not the derivative of its forward (BCE's clamped log, CTC's gradient
  with respect to the logits) a ``custom_vjp`` reproduces torch's gradient; elsewhere autodiff of a
  numerically stable forward gives it, with torch's choice at the kinks (``|x|`` has gradient 0 at 0,
  a hinge ``max(0, z)`` passes the gradient at ``z = 0`` where torch's ``clamp_min`` does).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..._device import scalar_type_name
from ..._warnings import warn
from .. import _reduction
from ..parameter import _unwrap
from .distance import _abs, _broadcast_shapes, _straight_through, pairwise_distance
from .linear import linear

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss", "cross_entropy", "ctc_loss",
    "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss", "kl_div", "l1_loss", "linear_cross_entropy",
    "margin_ranking_loss", "mse_loss", "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
    "nll_loss", "poisson_nll_loss", "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]

_LOW_PRECISION = (jnp.float16, jnp.bfloat16)


def _concrete(*arrays) -> bool:
    """Whether value checks can run: no argument is a tracer (inside jit/grad/vmap they are)."""
    return not any(isinstance(a, jax.core.Tracer) for a in arrays)


def _host(a: jax.Array) -> np.ndarray:
    """The values of a concrete array, for a check. In NumPy, because jnp ops on a concrete array
    still give tracers when called inside a trace (an array closed over by a jitted function)."""
    return np.asarray(a)


def _reduction_of(size_average, reduce, reduction: str) -> str:
    """torch's ``legacy_get_enum`` / ``get_enum``: the validated reduction name."""
    return _reduction.get_enum(_reduction.resolve(size_average, reduce, reduction))


def _hinge(z: jax.Array) -> jax.Array:
    """``max(z, 0)`` with torch's ``clamp_min`` gradient: 1 at ``z == 0`` (``jnp.maximum`` gives 0.5)."""
    return jnp.where(z >= 0, z, 0)


def _relu(z: jax.Array) -> jax.Array:
    """``max(z, 0)`` with gradient 0 at ``z == 0``, as torch's margin kernels (``z > 0``)."""
    return jnp.where(z > 0, z, 0)


def _warn_if_broadcast(input: jax.Array, target: jax.Array) -> None:
    if input.shape != target.shape:
        warn(
            f"Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size."
        )


def _check_broadcasts_into(shape: tuple[int, ...], into: tuple[int, ...]) -> None:
    """``shape`` must broadcast to ``into`` without growing it (torch applies it in place)."""
    result = _broadcast_shapes(into, shape)
    if result != tuple(into):
        raise RuntimeError(f"output with shape {list(into)} doesn't match the broadcast shape {list(result)}")


def _weighted_reduce(loss: jax.Array, weight, input_shape, reduction: str, divide_by_weight: bool) -> jax.Array:
    """The optional per-element ``weight`` of ``l1_loss`` / ``mse_loss`` / ``huber_loss``."""
    if weight is None:
        return _reduction.apply(loss, _reduction.get_enum(reduction))
    w = _unwrap(weight)
    if tuple(w.shape) != tuple(input_shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / w.sum() if divide_by_weight else loss.mean()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


# --------------------------------------------------------------------------- regression


def _regression_inputs(input, target) -> tuple[jax.Array, jax.Array]:
    x, y = _unwrap(input), _unwrap(target)
    _warn_if_broadcast(x, y)
    _broadcast_shapes(x.shape, y.shape)
    return x, y


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None) -> jax.Array:
    """Mean absolute error ``|x - y|`` (inputs broadcast, with torch's warning when the shapes differ).

    ``weight`` (shaped like ``input``) scales each element; its 'mean' divides by ``weight.sum()``.
    """
    x, y = _regression_inputs(input, target)
    reduction = _reduction.resolve(size_average, reduce, reduction)
    return _weighted_reduce(_abs(x - y), weight, x.shape, reduction, divide_by_weight=True)


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean", weight=None) -> jax.Array:
    """Mean squared error ``(x - y)²``; ``weight`` as in :func:`l1_loss`."""
    x, y = _regression_inputs(input, target)
    reduction = _reduction.resolve(size_average, reduce, reduction)
    diff = x - y
    return _weighted_reduce(diff * diff, weight, x.shape, reduction, divide_by_weight=True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> jax.Array:
    """``0.5 d² / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``beta == 0`` is the L1 loss)."""
    x, y = _regression_inputs(input, target)
    reduction = _reduction.get_enum(_reduction.resolve(size_average, reduce, reduction))
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    distance = _abs(x - y)
    if beta == 0:
        return _reduction.apply(distance, reduction)
    loss = jnp.where(distance < beta, 0.5 * distance * distance / beta, distance - 0.5 * beta)
    return _reduction.apply(loss, reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0, weight=None) -> jax.Array:
    """``0.5 d²`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; ``weight``'s 'mean' is a plain mean."""
    x, y = _regression_inputs(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    distance = _abs(x - y)
    loss = jnp.where(distance < delta, 0.5 * distance * distance, delta * (distance - 0.5 * delta))
    return _weighted_reduce(loss, weight, x.shape, reduction, divide_by_weight=False)


# --------------------------------------------------------------------------- binary classification


@jax.custom_vjp
def _bce(x: jax.Array, y: jax.Array) -> jax.Array:
    # torch clamps each log at -100, so a probability of exactly 0 or 1 gives a finite loss.
    return (y - 1) * jnp.maximum(jnp.log(1 - x), -100) - y * jnp.maximum(jnp.log(x), -100)


def _bce_fwd(x, y):
    return _bce(x, y), (x, y)


def _bce_bwd(residual, g):
    # torch's gradients, not the clamped forward's: (x - y) / max(x (1 - x), 1e-12) and -logit(x).
    x, y = residual
    return g * (x - y) / jnp.maximum((1 - x) * x, 1e-12), -g * jnp.log(x / (1 - x))


_bce.defvjp(_bce_fwd, _bce_bwd)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> jax.Array:
    """``-w (y log x + (1 - y) log(1 - x))`` for probabilities ``x``, each log clamped at -100 as in torch.

    ``target`` must have ``input``'s shape; ``weight`` broadcasts to it. Gradients are torch's:
    ``w (x - y) / max(x (1 - x), 1e-12)`` for ``input`` and ``-w logit(x)`` for ``target``.
    """
    reduction = _reduction_of(size_average, reduce, reduction)
    x, y = _unwrap(input), _unwrap(target)
    if x.shape != y.shape:
        raise ValueError(f"Using a target size ({tuple(y.shape)}) that is different to the input size "
                         f"({tuple(x.shape)}) is deprecated. Please ensure they have the same size.")
    for name, values in (("input", x), ("target", y)):
        if _concrete(values) and not ((_host(values) >= 0) & (_host(values) <= 1)).all():
            raise RuntimeError(f"all elements of {name} should be between 0 and 1")
    loss = _bce(x, y.astype(x.dtype))
    if weight is not None:
        w = _unwrap(weight)
        _check_broadcasts_into(w.shape, x.shape)
        loss = loss * w
    return _reduction.apply(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None) -> jax.Array:
    """``-w (p y log σ(x) + (1 - y) log σ(-x))`` for logits ``x``, computed as
    ``(1 - y) x - (1 + (p - 1) y) log σ(x)`` with a stable log-sigmoid (finite for any logit).

    ``pos_weight`` ``p`` broadcasts against ``target`` (e.g. ``(C,)`` for ``(N, C)``); ``weight`` against the loss.
    """
    reduction = _reduction_of(size_average, reduce, reduction)
    x, y = _unwrap(input), _unwrap(target)
    if x.shape != y.shape:
        raise ValueError(f"Target size ({tuple(y.shape)}) must be the same as input size ({tuple(x.shape)})")
    log_sigmoid = jax.nn.log_sigmoid(x)
    if pos_weight is None:
        loss = (1 - y) * x - log_sigmoid
    else:
        p = _unwrap(pos_weight)
        _check_broadcasts_into(_broadcast_shapes(p.shape, y.shape), x.shape)
        loss = (1 - y) * x - (1 + (p - 1) * y) * log_sigmoid
    if weight is not None:
        w = _unwrap(weight)
        _check_broadcasts_into(w.shape, x.shape)
        loss = loss * w
    return _reduction.apply(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> jax.Array:
    """``log(1 + exp(-y x))``, as a stable softplus: finite where torch's ``log1p(exp(·))`` overflows to inf."""
    reduction = _reduction_of(size_average, reduce, reduction)
    x, y = _unwrap(input), _unwrap(target)
    _broadcast_shapes(x.shape, y.shape)
    return _reduction.apply(jax.nn.softplus(-y * x), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean") -> jax.Array:
    """``-mean_c w_c (y_c log σ(x_c) + (1 - y_c) log σ(-x_c))`` over the last (class) dimension."""
    reduction = _reduction.resolve(size_average, reduce, reduction)
    x, y = _unwrap(input), _unwrap(target)
    loss = -(y * jax.nn.log_sigmoid(x) + (1 - y) * jax.nn.log_sigmoid(-x))
    if weight is not None:
        loss = loss * _unwrap(weight)
    class_dim = x.ndim - 1
    loss = loss.sum(axis=class_dim) / x.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _reduction.apply(loss, reduction)


# --------------------------------------------------------------------------- class indices


def _check_class_target(input: jax.Array, target: jax.Array, ignore_index: int, name: str,
                        out_of_range: type[Exception] = IndexError) -> None:
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
    if _concrete(target):
        classes = input.shape[1] if batched else input.shape[0]
        values = _host(target)
        bad = ((values < 0) | (values >= classes)) & (values != ignore_index)
        if bad.any():
            value = values[bad].flat[0]
            if out_of_range is IndexError:
                raise IndexError(f"Target {value} is out of bounds.")
            raise out_of_range(f"index {value} is out of bounds for dimension 1 with size {classes}")


def _check_weight_dtype(weight, dtype) -> None:
    """Class weights of the index losses must have the input's dtype: torch's kernels do not promote."""
    if weight is not None and jnp.dtype(_unwrap(weight).dtype) != jnp.dtype(dtype):
        raise RuntimeError(f"expected scalar type {scalar_type_name(dtype)} but found "
                           f"{scalar_type_name(_unwrap(weight).dtype)}")


def _class_weight(weight, classes: int, dtype) -> jax.Array | None:
    if weight is None:
        return None
    w = jnp.asarray(_unwrap(weight), dtype)
    if w.shape != (classes,):
        raise RuntimeError(f"weight tensor should be defined either for all {classes} classes or no classes but "
                           f"got weight tensor of shape: {list(w.shape)}")
    return w


def _pick(values: jax.Array, target: jax.Array, weight: jax.Array | None, ignore_index: int, class_axis: int):
    """``values`` at each target class, and each target's weight (0 where ignored)."""
    keep = target != ignore_index
    safe = jnp.where(keep, target, 0)
    picked = jnp.take_along_axis(values, jnp.expand_dims(safe, class_axis), axis=class_axis).squeeze(class_axis)
    target_weight = jnp.where(keep, 1 if weight is None else weight[safe], 0).astype(values.dtype)
    return picked, keep, target_weight


def _logsumexp(x: jax.Array, axis: int) -> jax.Array:
    """``log(sum(exp(x)))`` along ``axis``, stable. Callers read ``x`` itself afterwards, not ``x - max``:
    a gather from that fused intermediate would materialise it (twice the memory traffic at 50k classes)."""
    top = lax.stop_gradient(x.max(axis=axis, keepdims=True))
    return jnp.log(jnp.exp(x - top).sum(axis=axis)) + top.squeeze(axis)


def _reduce_nll(losses: jax.Array, target_weight: jax.Array, reduction: str) -> jax.Array:
    if reduction == "mean":
        # torch's weighted mean: 0/0 = nan when everything is ignored, yet its backward writes nothing at
        # the ignored targets (zero gradients), where autodiff of x/0 would give 0 * inf = nan.
        total = target_weight.sum()
        empty = total == 0
        return jnp.where(empty, lax.stop_gradient(losses.sum() / total), losses.sum() / jnp.where(empty, 1, total))
    return _reduction.apply(losses, reduction)


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> jax.Array:
    """Negative log-likelihood of class indices ``target`` under log-probabilities ``input``.

    Shapes: input ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``; target ``(N)``, ``()`` or ``(N, d1, ...)``.
    ``mean`` divides by the summed weights of the non-ignored targets, as torch.
    """
    reduction = _reduction_of(size_average, reduce, reduction)
    logp, t = _unwrap(input), _unwrap(target)
    _check_class_target(logp, t, ignore_index, "nll_loss")
    _check_weight_dtype(weight, logp.dtype)
    class_axis = 1 if logp.ndim >= 2 else 0
    w = _class_weight(weight, logp.shape[class_axis], logp.dtype)
    picked, _, target_weight = _pick(logp, t, w, ignore_index, class_axis)
    return _reduce_nll(-picked * target_weight, target_weight, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> jax.Array:
    """Cross entropy between logits ``input`` and class indices or class probabilities ``target``.

    Class indices: ``nll_loss(log_softmax(input), target)``, with label smoothing mixing in the
    uniform distribution exactly as torch does (weights and ignore_index included).
    Probabilities (``target`` shaped like ``input``): ``-sum_c w_c p_c log q_c``, mean over the
    batch (and spatial) positions.

    ``log q_c = x_c - logsumexp(x)`` is never materialised for all classes: the loss needs the target
    class (or a weighted sum over the classes), so a large vocabulary costs one pass for the
    log-sum-exp and one gather. Half-precision logits are accumulated in float32, as torch does.
    """
    reduction = _reduction_of(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    x, t = _unwrap(input), _unwrap(target)
    probabilities = t.shape == x.shape and jnp.issubdtype(t.dtype, jnp.floating)
    if probabilities and ignore_index != -100:
        raise RuntimeError("ignore_index is not supported for floating point target")
    if not probabilities:
        _check_class_target(x, t, ignore_index, "cross_entropy")
        _check_weight_dtype(weight, x.dtype)
    out_dtype = x.dtype
    x = x.astype(jnp.float32) if x.dtype in _LOW_PRECISION else x
    class_axis = 1 if x.ndim >= 2 else 0
    classes = x.shape[class_axis]
    w = _class_weight(weight, classes, x.dtype)
    w_b = None if w is None else w.reshape((classes,) + (1,) * (x.ndim - class_axis - 1))
    lse = _logsumexp(x, class_axis)  # log q_c = x_c - lse

    def weighted_log_q_sum(coefficients):  # sum_c coefficients_c log q_c
        return (x * coefficients).sum(axis=class_axis) - lse * coefficients.sum(axis=class_axis)

    if probabilities:
        if label_smoothing > 0:
            t = t * (1 - label_smoothing) + label_smoothing / classes
        losses = -weighted_log_q_sum(t if w_b is None else t * w_b)
        if reduction == "mean":
            return (losses.sum() / (x.size // classes) if x.ndim > 1 else losses).astype(out_dtype)
        return _reduction.apply(losses, reduction).astype(out_dtype)
    picked, keep, target_weight = _pick(x, t, w, ignore_index, class_axis)
    nll = _reduce_nll(-(picked - lse) * target_weight, target_weight, reduction)
    if label_smoothing == 0:
        return nll.astype(out_dtype)
    if w is None:
        smooth = -(x.sum(axis=class_axis) - classes * lse)
    else:
        smooth = -weighted_log_q_sum(jnp.broadcast_to(w_b, x.shape))
    smooth = jnp.where(keep, smooth, 0)
    if reduction == "mean":
        smooth = smooth.sum() / (keep.sum() if w is None else target_weight.sum())
    else:
        smooth = _reduction.apply(smooth, reduction)
    return ((1 - label_smoothing) * nll + smooth * (label_smoothing / classes)).astype(out_dtype)


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction: str = "mean",
                         ignore_index: int | None = None, label_smoothing: float = 0.0, options=None) -> jax.Array:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`` in one call.

    Shapes: input ``(N, in_features)`` or ``(in_features,)``; linear_weight ``(C, in_features)`` or
    ``(C, d1, ..., dK, in_features)`` (K-dimensional loss, batched input only); target as for
    :func:`cross_entropy` on the logits ``(N, C, d1, ..., dK)``. ``ignore_index`` defaults to -100 for
    class indices and must stay None for probabilities.

    ``options`` (a :class:`torchjax.nn.LinearCrossEntropyOptions`) selects the chunked path for class-index
    targets without label smoothing: the batch goes through in chunks whose logits are recomputed in the
    backward pass (``jax.checkpoint``), so the full ``(N, C)`` logits never exist at once. Values and
    gradients are the reference path's; ``acc_policy`` has no effect (half inputs accumulate in float32).
    """
    x, w = _unwrap(input), _unwrap(linear_weight)
    t = _unwrap(target)
    if x.ndim < 1 or x.ndim > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {x.ndim}")
    if w.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {w.ndim}")
    batches, in_features = x.shape[:-1], x.shape[-1]
    if in_features != w.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions (in_features), got "
                           f"{in_features} and {w.shape[-1]}, respectively")
    classes, out_features = w.shape[0], tuple(w.shape[1:-1])
    b = None if linear_bias is None else _unwrap(linear_bias)
    if b is not None and tuple(b.shape) != (classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(classes, *out_features)}, got {tuple(b.shape)}")
    if out_features and not batches:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape {tuple(w.shape)} requires batched "
                           f"input, (N, {in_features}), got unbatched input with shape {tuple(x.shape)}")
    logits_shape = (*batches, classes, *out_features)
    if tuple(t.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    if options is not None:
        chunkable = (not out_features and reduction in ("mean", "sum", "none") and label_smoothing == 0.0
                     and jnp.issubdtype(t.dtype, jnp.integer))
        if chunkable:
            return _linear_cross_entropy_chunked(x, w, t, b, weight, reduction, ignore_index, options)
        warn(
            "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in {'mean','sum','none'}, "
            f"label_smoothing == 0, an integer target, out_features == (). Got reduction={reduction!r}, "
            f"label_smoothing={label_smoothing}, target.dtype={t.dtype}, out_features={out_features}."
        )
    flat_w = w.reshape(-1, in_features)
    flat_b = None if b is None else b.reshape(-1)
    logits = linear(x, flat_w, flat_b).reshape(logits_shape)
    return cross_entropy(logits, t, weight=weight, reduction=reduction, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)


def _linear_cross_entropy_chunked(x, w, t, b, weight, reduction: str, ignore_index: int, options) -> jax.Array:
    batched = x.ndim == 2
    x, t = (x, t) if batched else (x[None], t[None])
    rows = x.shape[0]
    _check_class_target(jax.ShapeDtypeStruct((rows, w.shape[0]), x.dtype), t, ignore_index, "linear_cross_entropy",
                        out_of_range=RuntimeError)  # torch's chunked kernel raises RuntimeError here
    _check_weight_dtype(weight, x.dtype)
    chunk = options._batch_chunk_size(rows, x.shape[1], w.shape[0], x.dtype)
    class_weight = _class_weight(weight, w.shape[0], jnp.float32 if x.dtype in _LOW_PRECISION else x.dtype)
    padded = -(-rows // chunk) * chunk
    x_chunks = jnp.pad(x, ((0, padded - rows), (0, 0))).reshape(padded // chunk, chunk, x.shape[1])
    t_chunks = jnp.pad(t, (0, padded - rows), constant_values=ignore_index).reshape(padded // chunk, chunk)

    @jax.checkpoint  # the backward pass recomputes each chunk's logits instead of keeping them all
    def chunk_losses(x_chunk, t_chunk):
        logits = linear(x_chunk, w, b)
        logits = logits.astype(jnp.float32) if logits.dtype in _LOW_PRECISION else logits
        picked, _, target_weight = _pick(logits, t_chunk, class_weight, ignore_index, 1)
        return -(picked - _logsumexp(logits, 1)) * target_weight, target_weight

    losses, target_weight = lax.map(lambda pair: chunk_losses(*pair), (x_chunks, t_chunks))
    losses, target_weight = losses.reshape(-1)[:rows], target_weight.reshape(-1)[:rows]
    out = _reduce_nll(losses, target_weight, reduction).astype(x.dtype)
    return out if batched or reduction != "none" else out[0]


def _check_margin_input(x: jax.Array, y: jax.Array) -> tuple[int, int]:
    """The ``(C,)`` / ``(N, C)`` input of the multi-class margin losses; returns (frames, classes)."""
    if not ((x.ndim <= 1 and x.size != 0) or (x.ndim == 2 and x.shape[1] != 0)):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(x.shape)}")
    if not jnp.issubdtype(y.dtype, jnp.integer):
        raise RuntimeError(f"expected scalar type Long but found {scalar_type_name(y.dtype)}")
    return (1, x.size) if x.ndim <= 1 else x.shape


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None, size_average=None,
                      reduce=None, reduction: str = "mean") -> jax.Array:
    """Multi-class hinge loss: ``sum_{i != y} w_y max(0, margin - x_y + x_i)^p / C`` per sample.

    Shapes: input ``(N, C)`` or ``(C,)``; target ``(N)`` (or ``()`` / ``(1,)`` for one sample).
    """
    reduction = _reduction_of(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and _unwrap(weight).ndim != 1:
        raise ValueError("weight must be one-dimensional")
    x, y = _unwrap(input), _unwrap(target)
    frames, classes = _check_margin_input(x, y)
    if y.ndim > 1 or y.size != frames:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{frames}], but got {list(y.shape)}. "
                           f"Input has shape {list(x.shape)}.")
    if weight is not None and _unwrap(weight).shape != (classes,):
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got {list(_unwrap(weight).shape)}")
    _check_weight_dtype(weight, x.dtype)
    if _concrete(y) and ((_host(y) < 0) | (_host(y) >= classes)).any():
        raise RuntimeError("target out of range")
    rows, labels = x.reshape(frames, classes), y.reshape(frames)
    picked = jnp.take_along_axis(rows, labels[:, None], axis=1)
    terms = _relu(margin - picked + rows)
    terms = terms * terms if p == 2 else terms
    if weight is not None:
        terms = terms * _unwrap(weight)[labels][:, None]
    terms = jnp.where(jnp.arange(classes) == labels[:, None], 0, terms)
    loss = (terms.sum(axis=1) / classes).reshape(y.shape)
    return _reduction.apply(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> jax.Array:
    """Multi-label hinge loss: ``sum_{j, i} max(0, 1 - (x[y_j] - x_i)) / C`` over the target classes
    ``y_j`` (the entries of ``target`` before the first -1) and the non-target classes ``i``.

    Shapes: input ``(N, C)`` or ``(C,)``; target of the same shape, integer.
    """
    reduction = _reduction_of(size_average, reduce, reduction)
    x, y = _unwrap(input), _unwrap(target)
    frames, classes = _check_margin_input(x, y)
    if y.shape != x.shape:
        raise RuntimeError(f"inconsistent target size: {list(y.shape)} for input of size: {list(x.shape)}")
    if _concrete(y) and ((_host(y) < -1) | (_host(y) >= classes)).any():
        raise RuntimeError("argument #2 'target' is out of range")
    rows, labels = x.reshape(frames, classes), y.reshape(frames, classes)
    listed = jnp.cumprod(labels != -1, axis=1).astype(bool)  # the targets are the entries before the first -1
    safe = jnp.where(listed, labels, 0)
    is_target = jnp.zeros((frames, classes), jnp.int32).at[jnp.arange(frames)[:, None], safe].max(listed) > 0
    picked = jnp.take_along_axis(rows, safe, axis=1)  # (frames, j)
    terms = _relu(1 - picked[:, :, None] + rows[:, None, :])  # (frames, j, i)
    terms = jnp.where(listed[:, :, None] & ~is_target[:, None, :], terms, 0)
    loss = terms.sum(axis=(1, 2)) / classes
    return _reduction.apply(loss.reshape(x.shape[:-1]), reduction)


# --------------------------------------------------------------------------- embeddings and ranking


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> jax.Array:
    """``x`` where ``y == 1``, ``max(0, margin - x)`` where ``y == -1`` (torch adds both for other ``y``)."""
    reduction = _reduction_of(size_average, reduce, reduction)
    x, y = _unwrap(input), _unwrap(target)
    _broadcast_shapes(x.shape, y.shape)
    loss = jnp.where(y != 1, _hinge(margin - x), 0) + jnp.where(y != -1, x, 0)
    return _reduction.apply(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin: float = 0, size_average=None, reduce=None,
                          reduction: str = "mean") -> jax.Array:
    """``1 - cos(x1, x2)`` where ``y == 1``, ``max(0, cos(x1, x2) - margin)`` where ``y == -1``.

    Shapes: inputs ``(N, D)`` with target ``(N)``, or ``(D,)`` with target ``()``.
    """
    reduction = _reduction_of(size_average, reduce, reduction)
    a, b, y = _unwrap(input1), _unwrap(input2), _unwrap(target)
    if y.ndim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if a.ndim != y.ndim + 1 or b.ndim != y.ndim + 1:
        raise RuntimeError(f"{y.ndim}D target tensor expects {y.ndim + 1}D input tensors, but found inputs with "
                           f"sizes {list(a.shape)} and {list(b.shape)}.")
    _broadcast_shapes(a.shape, b.shape)
    axis = y.ndim
    epsilon = 1e-12
    cos = (a * b).sum(axis) / jnp.sqrt(((a * a).sum(axis) + epsilon) * ((b * b).sum(axis) + epsilon))
    _broadcast_shapes(cos.shape, y.shape)
    loss = jnp.where(y == 1, 1 - cos, 0) + jnp.where(y == -1, _hinge(cos - margin), 0)
    return _reduction.apply(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin: float = 0, size_average=None, reduce=None,
                        reduction: str = "mean") -> jax.Array:
    """``max(0, -y (x1 - x2) + margin)``; the three inputs must have the same number of dimensions."""
    reduction = _reduction_of(size_average, reduce, reduction)
    a, b, y = _unwrap(input1), _unwrap(input2), _unwrap(target)
    if a.ndim != b.ndim or a.ndim != y.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {tuple(a.shape)}, input2: {tuple(b.shape)}, target: {tuple(y.shape)} ")
    _broadcast_shapes(_broadcast_shapes(a.shape, b.shape), y.shape)
    return _reduction.apply(_hinge(-y * (a - b) + margin), reduction)


def _check_triplet_dims(anchor, positive, negative) -> None:
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None, reduction: str = "mean") -> jax.Array:
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` the ``p``-norm :func:`pairwise_distance`.

    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance.
    """
    reduction = _reduction_of(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, pos, neg = _unwrap(anchor), _unwrap(positive), _unwrap(negative)
    _check_triplet_dims(a, pos, neg)
    return _triplet(a, pos, neg, lambda u, v: pairwise_distance(u, v, p, eps), margin, swap, reduction)


def _triplet(anchor, positive, negative, distance: Callable, margin: float, swap: bool, reduction: str):
    dist_pos = distance(anchor, positive)
    dist_neg = distance(anchor, negative)
    if swap:
        dist_neg = jnp.minimum(dist_neg, distance(positive, negative))
    return _reduction.apply(_hinge(margin + dist_pos - dist_neg), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function: Callable | None = None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> jax.Array:
    """:func:`triplet_margin_loss` with any ``distance_function(x1, x2)`` (default :func:`pairwise_distance`)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, pos, neg = _unwrap(anchor), _unwrap(positive), _unwrap(negative)
    _check_triplet_dims(a, pos, neg)
    return _triplet(a, pos, neg, distance_function or pairwise_distance, margin, swap, reduction)


# --------------------------------------------------------------------------- distributions


@jax.custom_jvp
def _xlogx(y: jax.Array) -> jax.Array:
    """torch's ``xlogy(y, y)``: 0 at 0, NaN where ``y`` is negative or NaN (bad targets show, not hide)."""
    return jnp.where(y == 0, 0, y * jnp.log(y))


@_xlogx.defjvp
def _xlogx_jvp(primals, tangents):
    # torch's xlogy backward, both arguments being y: xlogy(y != 0, y) + y / y, so NaN at 0 as well.
    (y,), (dy,) = primals, tangents
    return _xlogx(y), (jnp.log(y) + y / y) * dy


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> jax.Array:
    """Pointwise KL divergence ``y (log y - x)`` for log-probabilities ``x`` (``exp(y) (y - x)`` when
    ``log_target``). 'batchmean' divides the sum by the batch size, the true KL divergence; 'mean'
    divides by every element and warns, as torch."""
    if size_average is not None or reduce is not None:
        reduction_name = _reduction.get_enum(_reduction.legacy_get_string(size_average, reduce))
    else:
        if reduction == "mean":
            warn(
                "reduction: 'mean' divides the total loss by both the batch size and the support size."
                "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                "'mean' will be changed to behave the same as 'batchmean' in the next major release."
            )
        reduction_name = "sum" if reduction == "batchmean" else _reduction.get_enum(reduction)
    x, y = _unwrap(input), _unwrap(target)
    if log_target:
        loss = jnp.exp(y) * (y - x)
    else:
        loss = _xlogx(y) - y * x
    reduced = _reduction.apply(loss, reduction_name)
    if reduction == "batchmean" and x.ndim != 0:
        reduced = reduced / x.shape[0]
    return reduced


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean") -> jax.Array:
    """Poisson negative log-likelihood: ``exp(x) - y x`` (``log_input``) or ``x - y log(x + eps)``;
    ``full`` adds the Stirling term ``y log y - y + 0.5 log(2 pi y)`` where ``y > 1``."""
    reduction = _reduction.resolve(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    x, y = _unwrap(input), _unwrap(target)
    _broadcast_shapes(x.shape, y.shape)
    loss = jnp.exp(x) - y * x if log_input else x - y * jnp.log(x + eps)
    if full:
        stirling = y * jnp.log(y) - y + 0.5 * jnp.log(2 * math.pi * y)
        loss = loss + jnp.where(y <= 1, 0, stirling)
    return _reduction.apply(loss, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> jax.Array:
    """Gaussian negative log-likelihood ``0.5 (log v + (x - y)² / v)`` (+ ``0.5 log 2 pi`` when ``full``).

    ``var`` is a positive float (or a 0-d array, which torch refuses: ``torchjax.compile`` traces
    Python floats into 0-d arrays), an array shaped like ``input``, shaped like ``input`` without its last
    dimension, or shaped like ``input`` with one dimension of size 1 (homoscedastic along it). It is
    clamped at ``eps`` for the value only; the gradient passes through the clamp, as in torch.
    """
    x, y = _unwrap(input), _unwrap(target)
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        v = jnp.full(x.shape, var, x.dtype)
    elif isinstance(var, (int, bool)):
        raise TypeError(f"var must be a float or an array, got {type(var).__name__}")
    else:
        v = _unwrap(var)
        if _concrete(v) and (_host(v) < 0).any():
            raise ValueError("var has negative entry/entries")
        if v.ndim == 0:  # a float that torchjax.compile traced into a 0-d array
            v = jnp.broadcast_to(v, x.shape)
    if v.shape != x.shape:
        if x.shape[:-1] == v.shape:
            v = v[..., None]
        elif not (x.ndim == v.ndim and sum(b for a, b in zip(x.shape, v.shape, strict=True) if a != b) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    v = _straight_through(v, jnp.maximum(v, eps))
    loss = 0.5 * (jnp.log(v) + (x - y) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduction.apply(loss, reduction)


# --------------------------------------------------------------------------- CTC


def _ctc_lengths(lengths, name: str) -> jax.Array:
    if isinstance(lengths, (list, tuple)):
        # ints, or traced ints when the tuple is an argument of a compiled function
        if not all(isinstance(v, (int, np.integer)) or (isinstance(v, jax.Array) and v.ndim == 0
                   and jnp.issubdtype(v.dtype, jnp.integer)) for v in lengths):
            raise TypeError(f"ctc_loss(): {name} must be an integer array or a tuple of ints")
        return jnp.asarray(lengths, jnp.int32).reshape(-1)
    if not isinstance(lengths, (jax.Array, np.ndarray)):
        raise TypeError(f"ctc_loss(): {name} must be an integer array or a tuple of ints, "
                        f"got {type(lengths).__name__}")
    lengths = jnp.asarray(lengths)
    if not jnp.issubdtype(lengths.dtype, jnp.integer):
        raise RuntimeError(f"{name} must be integral")
    if lengths.ndim > 1:
        raise TypeError(f"ctc_loss(): {name} must be 0-d or 1-d, got shape {tuple(lengths.shape)}")
    return lengths.reshape(-1)


def _logsumexp3(a: jax.Array, b: jax.Array, c: jax.Array) -> jax.Array:
    """Elementwise ``log(e^a + e^b + e^c)``; -inf (not NaN) when all three are -inf."""
    top = jnp.maximum(jnp.maximum(a, b), c)
    top = jnp.where(jnp.isneginf(top), 0, top)
    return top + jnp.log(jnp.exp(a - top) + jnp.exp(b - top) + jnp.exp(c - top))


def _shift_right(a: jax.Array, k: int, fill) -> jax.Array:
    """``a[:, s - k]`` along the last axis, ``fill`` where ``s < k``."""
    return jnp.pad(a, ((0, 0), (k, 0)), constant_values=fill)[:, : a.shape[1]]


def _shift_left(a: jax.Array, k: int, fill) -> jax.Array:
    """``a[:, s + k]`` along the last axis, ``fill`` past the end."""
    return jnp.pad(a, ((0, 0), (0, k)), constant_values=fill)[:, k:]


def _ctc_lattice(log_probs, labels, input_lengths, target_lengths, blank):
    """The extended label sequence ``blank, l1, blank, l2, ..., blank`` and its per-step log-probabilities.

    Returns ``extended`` (N, L), ``emit`` (T, N, L) = log_probs at each extended label, ``skip`` (N, L)
    (state s may be entered from s - 2: a label different from the previous label) and the two final
    states' mask ``last`` (N, L).
    """
    steps, batch, classes = log_probs.shape
    states = 2 * labels.shape[1] + 1
    s = jnp.arange(states)
    label_at = jnp.clip((s - 1) // 2, 0, max(labels.shape[1] - 1, 0))
    labels = jnp.clip(labels, 0, classes - 1)  # padding past a target's length is never read
    if labels.shape[1]:
        extended = jnp.where((s % 2 == 1) & (s < 2 * target_lengths[:, None] + 1), labels[:, label_at], blank)
    else:
        extended = jnp.full((batch, states), blank)
    emit = jnp.take_along_axis(log_probs, jnp.broadcast_to(extended[None], (steps, batch, states)), axis=2)
    skip = (s % 2 == 1) & (s >= 2) & (extended != _shift_right(extended, 2, -1))
    end = 2 * target_lengths[:, None]
    last = (s == end) | ((s == end - 1) & (target_lengths[:, None] > 0))
    return extended, emit, skip, last


def _ctc_alpha(emit, skip, input_lengths, target_lengths):
    """Forward variables ``log alpha`` (T, N, L), frozen after each sequence's last frame."""
    neg_inf = jnp.asarray(-jnp.inf, emit.dtype)
    s = jnp.arange(emit.shape[2])
    first = jnp.where((s == 0) | ((s == 1) & (target_lengths[:, None] > 0)), emit[0], neg_inf)

    def step(alpha, inputs):
        t, emit_t = inputs
        stay, advance = alpha, _shift_right(alpha, 1, neg_inf)
        jump = jnp.where(skip, _shift_right(alpha, 2, neg_inf), neg_inf)
        new = emit_t + _logsumexp3(stay, advance, jump)
        new = jnp.where((t < input_lengths)[:, None], new, alpha)
        return new, new

    times = jnp.arange(1, emit.shape[0])
    _, rest = lax.scan(step, first, (times, emit[1:]))
    return jnp.concatenate([first[None], rest])


def _ctc_beta(emit, skip, last, input_lengths):
    """Backward variables ``log beta`` (T, N, L), -inf past each sequence's last frame (beta includes
    the emission at t, as torch's)."""
    neg_inf = jnp.asarray(-jnp.inf, emit.dtype)
    skip_from = _shift_left(skip, 2, False)  # state s may jump to s + 2

    def step(beta_next, inputs):
        t, emit_t = inputs
        stay, advance = beta_next, _shift_left(beta_next, 1, neg_inf)
        jump = jnp.where(skip_from, _shift_left(beta_next, 2, neg_inf), neg_inf)
        new = emit_t + _logsumexp3(stay, advance, jump)
        final = (t == input_lengths - 1)[:, None]
        new = jnp.where(final, jnp.where(last, emit_t, neg_inf), new)
        new = jnp.where((t >= input_lengths)[:, None], neg_inf, new)
        return new, new

    times = jnp.arange(emit.shape[0])
    _, betas = lax.scan(step, jnp.full(emit.shape[1:], neg_inf), (times, emit), reverse=True)
    return betas


def _ctc_forward(log_probs, labels, input_lengths, target_lengths, blank):
    extended, emit, skip, last = _ctc_lattice(log_probs, labels, input_lengths, target_lengths, blank)
    alphas = _ctc_alpha(emit, skip, input_lengths, target_lengths)
    final = jnp.where(last, alphas[-1], -jnp.inf)
    top = jnp.max(final, axis=1)
    top = jnp.where(jnp.isneginf(top), 0, top)
    nll = -(top + jnp.log(jnp.exp(final - top[:, None]).sum(axis=1)))
    # No frame: the empty target is certain, any other impossible.
    nll = jnp.where(input_lengths == 0, jnp.where(target_lengths == 0, 0, jnp.inf), nll)
    return nll, (extended, emit, skip, last, alphas)


def _ctc_nll(log_probs, labels, input_lengths, target_lengths, blank: int, zero_infinity: bool):
    return _ctc_forward(log_probs, labels, input_lengths, target_lengths, blank)[0]


_ctc_nll = jax.custom_vjp(_ctc_nll, nondiff_argnums=(4, 5))


def _ctc_nll_fwd(log_probs, labels, input_lengths, target_lengths, blank, zero_infinity):
    nll, (extended, emit, skip, last, alphas) = _ctc_forward(log_probs, labels, input_lengths, target_lengths, blank)
    return nll, (log_probs, extended, emit, skip, last, alphas, input_lengths, nll)


def _ctc_nll_bwd(blank, zero_infinity, residual, g):
    # torch's gradient: exp(log_probs) - sum over the states s of label c of alpha*beta/(p * y): the
    # gradient with respect to the logits of a log_softmax (both agree once chained through it).
    log_probs, extended, emit, skip, last, alphas, input_lengths, nll = residual
    betas = _ctc_beta(emit, skip, last, input_lengths)
    occupancy = jnp.exp(alphas + betas - emit + nll[None, :, None])  # (T, N, L)
    steps, batch, _ = log_probs.shape
    per_class = jnp.zeros_like(log_probs).at[:, jnp.arange(batch)[:, None], extended].add(occupancy)
    grad = (jnp.exp(log_probs) - per_class) * g[None, :, None]
    impossible = jnp.isinf(nll)[None, :, None]
    grad = jnp.where(impossible, jnp.nan, grad)  # torch's inf - inf, for every class
    active = jnp.arange(steps)[:, None] < input_lengths[None, :]
    if zero_infinity:
        active = active & ~jnp.isinf(nll)[None, :]
    return jnp.where(active[:, :, None], grad, 0), None, None, None


_ctc_nll.defvjp(_ctc_nll_fwd, _ctc_nll_bwd)
# One XLA program per shape even when called eagerly (op-by-op dispatch of the lattice set-up and the
# two scans costs far more); inside a trace the jit is inlined.
_ctc_nll_jit = jax.jit(_ctc_nll, static_argnums=(4, 5))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> jax.Array:
    """Connectionist Temporal Classification loss: ``-log`` of the total probability of every alignment
    of each target to its input, summed in log space by a ``lax.scan`` over time.

    Arguments:
        log_probs: ``(T, N, C)`` or ``(T, C)`` log-probabilities (e.g. ``log_softmax`` output).
        targets: padded ``(N, S)`` or concatenated ``(sum(target_lengths),)`` class indices (never ``blank``).
        input_lengths, target_lengths: ``(N)`` (``()`` unbatched) integer arrays, or tuples of ints.
        blank: the blank label. zero_infinity: impossible alignments give 0 loss and 0 gradient.
        reduction: 'mean' divides each loss by its target length, then averages over the batch.

    The gradient is torch's (``exp(log_probs) - posterior``, zero past each input length): correct once
    chained through ``log_softmax``; on its own it is torch's gradient with respect to the logits.
    """
    reduction = _reduction.get_enum(reduction)
    if isinstance(input_lengths, (list, tuple)) != isinstance(target_lengths, (list, tuple)):
        raise TypeError("ctc_loss(): input_lengths and target_lengths must both be arrays or both tuples of ints")
    lp, tg = _unwrap(log_probs), _unwrap(targets)
    il, tl = _ctc_lengths(input_lengths, "input_lengths"), _ctc_lengths(target_lengths, "target_lengths")
    if lp.ndim not in (2, 3):
        raise RuntimeError(f"Expected 3-dimensional tensor, but got {lp.ndim}-dimensional tensor for argument "
                           "#1 'log_probs'")
    batched = lp.ndim == 3
    if not batched:
        lp = lp[:, None]
    steps, batch, classes = lp.shape
    if lp.size == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    if il.shape != (batch,):
        raise RuntimeError("input_lengths must be of size batch_size")
    if tl.shape != (batch,):
        raise RuntimeError("target_lengths must be of size batch_size")
    if tg.ndim not in (1, 2):
        raise RuntimeError(f"Expected 1 to 2 dimensions, but got {tg.ndim}-dimensional tensor for argument "
                           "#2 'targets'")
    if tg.ndim == 2 and tg.shape[0] != batch:
        raise RuntimeError(f"Expected tensor to have size {batch} at dimension 0, but got size {tg.shape[0]} "
                           "for argument #2 'targets'")
    tg = tg.astype(jnp.int32)
    if _concrete(il, tl):
        _check_ctc_lengths(_host(il), _host(tl), tg, steps)
    if tg.ndim == 1:  # concatenated targets -> padded (N, S); S is static: the longest target, or all of them
        width = int(np.max(_host(tl), initial=0)) if _concrete(tl) else tg.shape[0]
        starts = jnp.cumsum(tl) - tl
        index = jnp.clip(starts[:, None] + jnp.arange(width)[None], 0, max(tg.shape[0] - 1, 0))
        tg = tg[index] if tg.shape[0] else jnp.zeros((batch, width), jnp.int32)
    compute = jnp.float32 if lp.dtype in _LOW_PRECISION else lp.dtype
    nll = _ctc_nll_jit(lp.astype(compute), tg, il, tl, blank, zero_infinity).astype(lp.dtype)
    if zero_infinity:
        nll = jnp.where(jnp.isinf(nll), 0, nll)
    if reduction == "mean":
        return (nll / jnp.maximum(tl, 1).astype(nll.dtype)).mean()
    if reduction == "sum":
        return nll.sum()
    return nll if batched else nll[0]


def _check_ctc_lengths(il: np.ndarray, tl: np.ndarray, targets: jax.Array, steps: int) -> None:
    for name, lengths in (("input_lengths", il), ("target_lengths", tl)):
        if lengths.size and lengths.min() < 0:
            raise RuntimeError(f"Expected {name} to have value at least 0, but got value {lengths.min()}")
    if il.size and il.max() > steps:
        raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got value {il.max()}")
    if targets.ndim == 2 and tl.size and tl.max() > targets.shape[1]:
        raise RuntimeError(f"Expected tensor to have size at least {tl.max()} at dimension 1, but got size "
                           f"{targets.shape[1]} for argument #2 'targets'")
    if targets.ndim == 1 and targets.shape[0] != tl.sum():
        raise RuntimeError(f"Expected tensor to have size {tl.sum()} at dimension 0, but got size "
                           f"{targets.shape[0]} for argument #2 'targets'")

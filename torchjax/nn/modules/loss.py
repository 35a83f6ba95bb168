"""Loss modules: thin holders of the options of the ``F`` losses (torch's names, signatures, defaults).

Class weights (``weight``, ``pos_weight``) are buffers, so ``to()``, ``state_dict`` and
``torchjax.compile`` see them. Every ``forward`` is one call into :mod:`torchjax.nn.functional`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp

from .. import _reduction
from .. import functional as F
from ..parameter import _unwrap
from .distance import PairwiseDistance
from .linear import Linear
from .module import Module

__all__ = [
    "BCELoss", "BCEWithLogitsLoss", "CTCLoss", "CosineEmbeddingLoss", "CrossEntropyLoss", "GaussianNLLLoss",
    "HingeEmbeddingLoss", "HuberLoss", "KLDivLoss", "L1Loss", "LinearCrossEntropyLoss", "LinearCrossEntropyOptions",
    "MSELoss", "MarginRankingLoss", "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss", "MultiMarginLoss", "NLLLoss", "NLLLoss2d", "PoissonNLLLoss", "SmoothL1Loss",
    "SoftMarginLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss",
]


class _Loss(Module):
    reduction: str

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _reduction.resolve(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


# --------------------------------------------------------------------------- regression


class L1Loss(_Loss):
    """Mean absolute error ``|x - y|``; see :func:`F.l1_loss`.

    Arguments:
        reduction: 'none' | 'mean' | 'sum'; size_average / reduce are torch's deprecated forms.

    Shape: input and target ``(*)``, the same shape (broadcasting warns); output scalar, or ``(*)`` for 'none'.
    """

    __constants__ = ["reduction"]

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error ``(x - y)²``; see :func:`F.mse_loss`. Shapes as :class:`L1Loss`."""

    __constants__ = ["reduction"]

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``0.5 d² / beta`` for ``|d| < beta``, else ``|d| - 0.5 beta``; see :func:`F.smooth_l1_loss`.

    Arguments:
        beta: where the loss turns from quadratic to linear (>= 0; 0 gives the L1 loss).
    """

    __constants__ = ["reduction"]

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``0.5 d²`` for ``|d| < delta``, else ``delta (|d| - 0.5 delta)``; see :func:`F.huber_loss`.

    Arguments:
        delta: where the loss turns from quadratic to linear (> 0).
    """

    __constants__ = ["reduction", "delta"]

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        if not isinstance(delta, (float, int)):
            raise TypeError(f"delta must be a float or int, got: {type(delta)}")
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


# --------------------------------------------------------------------------- classification


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices under log-probabilities; see :func:`F.nll_loss`.

    Arguments:
        weight: per-class rescaling ``(C,)`` (a buffer, so ``to()`` and ``state_dict`` see it).
        ignore_index: target value that contributes nothing (and no weight to the mean).
        reduction: 'none' | 'mean' | 'sum'; size_average / reduce are torch's deprecated forms.

    Shape: input ``(N, C)``, ``(C)`` or ``(N, C, d1, ..., dK)``; target ``(N)``, ``()`` or ``(N, d1, ..., dK)``.
    """

    __constants__ = ["ignore_index", "reduction"]

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class NLLLoss2d(NLLLoss):
    """Deprecated alias of :class:`NLLLoss` (warns ``FutureWarning`` when constructed, as torch)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        warnings.warn(
            "`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
            "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy of logits against class indices or class probabilities; see :func:`F.cross_entropy`.

    Arguments:
        weight: per-class rescaling ``(C,)``.
        ignore_index: class-index target value that contributes nothing.
        reduction: 'none' | 'mean' | 'sum'.
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution.

    Shape: input ``(N, C)``, ``(C)`` or ``(N, C, d1, ..., dK)``; target class indices shaped like the
    input without ``C``, or probabilities shaped like the input.
    """

    __constants__ = ["ignore_index", "reduction", "label_smoothing"]

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


_ACC_DTYPES = {jnp.dtype(d) for d in (jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64)}


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """Configuration of the chunked :func:`F.linear_cross_entropy` (torch's fields and checks).

    The batch is processed in chunks of ``batch_chunk_size`` rows (or a size from ``chunking_method``:
    'aspect_ratio' sizes a chunk's logits like the input, 'aspect_ratio:N' N times smaller, 'auto' picks
    one), each chunk's logits recomputed in the backward pass, so the ``(N, C)`` logits never exist at
    once. ``allow_retain_graph``, ``acc_policy`` and ``acc_dtype`` tune torch's in-place backward and
    precision; they are validated and kept for porting, with no effect on JAX's functional gradients.
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "balanced", "compact", "auto"] = "auto"
    acc_dtype: object | None = None

    def __post_init__(self) -> None:
        if self.acc_policy not in {"auto", "accurate", "balanced", "compact"}:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            factor = factor if sep else "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None or (isinstance(self.batch_chunk_size, int)
                                                  and self.batch_chunk_size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {self.batch_chunk_size!r}")
        try:
            supported = self.acc_dtype is None or jnp.dtype(self.acc_dtype) in _ACC_DTYPES
        except TypeError:
            supported = False
        if not supported:
            raise ValueError(f"acc_dtype must be one of {{None, float16, bfloat16, float32, float64}}, got "
                             f"{self.acc_dtype!r}. Pass acc_dtype=None to let the op pick automatically.")

    def _batch_chunk_size(self, rows: int, in_features: int, classes: int, dtype) -> int:
        """Rows per chunk for this call, resolved as torch's ``_adjust`` does (CPU defaults for 'auto')."""
        method = self.chunking_method
        if method == "auto":
            half = jnp.dtype(dtype) in (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))
            method = None if self.batch_chunk_size is not None else "aspect_ratio" if half else "aspect_ratio:2"
        size = rows if self.batch_chunk_size is None else min(self.batch_chunk_size, rows)
        if method is not None:
            factor = int(method.split(":", 1)[1]) if ":" in method else 1
            target = -(-rows // -(-classes // in_features))
            computed = min((1 << (target - 1).bit_length()) // factor, rows)
            if self.batch_chunk_size is not None and self.batch_chunk_size != computed:
                raise ValueError(f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method ('{method}') "
                                 f"give different chunk sizes ({self.batch_chunk_size} vs {computed}); pass only one.")
            size = computed
        return max(1, size)


class LinearCrossEntropyLoss(_WeightedLoss):
    """A linear layer to ``num_classes`` (times ``out_features``) logits and the cross entropy, in one
    module; see :func:`F.linear_cross_entropy`.

    Arguments:
        in_features: size of each input sample. num_classes: C.
        out_features: extra logit dimensions ``(d1, ..., dK)`` for a K-dimensional loss.
        bias: whether the linear layer has a bias. device, dtype: of the linear layer's parameters.
        reduction, weight, ignore_index, label_smoothing: as :class:`CrossEntropyLoss` (``ignore_index``
            None means -100 for class indices).
        options: a :class:`LinearCrossEntropyOptions` for the chunked, memory-saving path.

    The linear layer is ``self.linear`` with a 2-d weight ``(C * prod(out_features), in_features)``, as torch.
    """

    __constants__ = ["num_classes", "out_features", "reduction", "ignore_index", "label_smoothing"]

    def __init__(self, in_features: int, num_classes: int, *, out_features: tuple[int, ...] = (), bias: bool = False,
                 device=None, dtype=None, reduction: str = "mean", weight=None, ignore_index: int | None = None,
                 label_smoothing: float = 0.0, options: LinearCrossEntropyOptions | None = None) -> None:
        if weight is not None and tuple(_unwrap(weight).shape) != (num_classes,):
            raise RuntimeError(f"expected weight shape to be {(num_classes,)}, got {tuple(_unwrap(weight).shape)}")
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise RuntimeError(f"expected label_smoothing to be in range [0, 1], got {label_smoothing}")
        super().__init__(weight=weight, size_average=None, reduce=None, reduction=reduction)
        self.num_classes = num_classes
        self.out_features = out_features
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.linear = Linear(in_features, math.prod(out_features, start=num_classes), bias=bias, device=device,
                             dtype=dtype)
        self.options = options

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        linear_weight = self.linear.weight.reshape((self.num_classes, *self.out_features, self.linear.in_features))
        linear_bias = (None if self.linear.bias is None
                       else self.linear.bias.reshape((self.num_classes, *self.out_features)))
        return F.linear_cross_entropy(input, linear_weight, target, linear_bias=linear_bias, weight=self.weight,
                                      reduction=self.reduction, ignore_index=self.ignore_index,
                                      label_smoothing=self.label_smoothing, options=self.options)

    def extra_repr(self) -> str:
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
                f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, options={self.options}")


class BCELoss(_WeightedLoss):
    """Binary cross entropy of probabilities (logs clamped at -100); see :func:`F.binary_cross_entropy`.

    Arguments:
        weight: rescaling that broadcasts to the input's shape.

    Shape: input and target ``(*)``, the same shape, with values in [0, 1].
    """

    __constants__ = ["reduction"]

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross entropy in one stable step; see :func:`F.binary_cross_entropy_with_logits`.

    Arguments:
        weight: rescaling that broadcasts to the input's shape.
        pos_weight: weight of the positive class, broadcast against the target (``(C,)`` for ``(N, C)``).
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean",
                 pos_weight=None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """Two-class logistic loss ``log(1 + exp(-y x))``; see :func:`F.soft_margin_loss`."""

    __constants__ = ["reduction"]

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Multi-label one-versus-all logistic loss; see :func:`F.multilabel_soft_margin_loss`.

    Shape: input and target ``(N, C)`` or ``(C)``; output ``(N)`` / ``()`` for 'none'.
    """

    __constants__ = ["reduction"]

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss over the target classes listed before the first -1;
    see :func:`F.multilabel_margin_loss`. Shape: input and integer target ``(N, C)`` or ``(C)``."""

    __constants__ = ["reduction"]

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss; see :func:`F.multi_margin_loss`.

    Arguments:
        p: 1 or 2, the power of each hinge term.
        margin: the margin (default 1).
        weight: per-class rescaling ``(C,)``, one-dimensional.
    """

    __constants__ = ["p", "margin", "reduction"]

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and _unwrap(weight).ndim != 1:
            raise ValueError(f"MultiMarginLoss: expected weight to be None or 1D tensor, got "
                             f"{_unwrap(weight).ndim}D instead")
        self.p = p
        self.margin = margin

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight,
                                   reduction=self.reduction)


# --------------------------------------------------------------------------- embeddings and ranking


class HingeEmbeddingLoss(_Loss):
    """``x`` for ``y = 1``, ``max(0, margin - x)`` for ``y = -1``; see :func:`F.hinge_embedding_loss`."""

    __constants__ = ["margin", "reduction"]

    def __init__(self, margin: float = 1.0, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """``1 - cos`` for ``y = 1``, ``max(0, cos - margin)`` for ``y = -1``; see :func:`F.cosine_embedding_loss`.

    Shape: inputs ``(N, D)`` and target ``(N)``, or ``(D)`` and ``()``.
    """

    __constants__ = ["margin", "reduction"]

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: jax.Array, input2: jax.Array, target: jax.Array) -> jax.Array:
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """``max(0, -y (x1 - x2) + margin)``; see :func:`F.margin_ranking_loss`."""

    __constants__ = ["margin", "reduction"]

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: jax.Array, input2: jax.Array, target: jax.Array) -> jax.Array:
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """``max(0, margin + d(a, p) - d(a, n))`` with the ``p``-norm distance; see :func:`F.triplet_margin_loss`.

    Arguments:
        margin: > 0. p: the norm's degree. eps: added to the differences. swap: use ``min(d(a, n), d(p, n))``.

    Shape: anchor, positive, negative ``(N, D)`` or ``(D)``.
    """

    __constants__ = ["margin", "p", "eps", "swap", "reduction"]

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor: jax.Array, positive: jax.Array, negative: jax.Array) -> jax.Array:
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p, eps=self.eps,
                                     swap=self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """:class:`TripletMarginLoss` with any ``distance_function(x1, x2)``; the default is a
    :class:`PairwiseDistance` submodule, as in torch. See :func:`F.triplet_margin_with_distance_loss`."""

    __constants__ = ["margin", "swap", "reduction"]

    def __init__(self, *, distance_function: Callable | None = None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(size_average=None, reduce=None, reduction=reduction)
        if margin <= 0:
            raise ValueError(
                f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} instead"
            )
        self.distance_function = distance_function if distance_function is not None else PairwiseDistance()
        self.margin = margin
        self.swap = swap

    def forward(self, anchor: jax.Array, positive: jax.Array, negative: jax.Array) -> jax.Array:
        return F.triplet_margin_with_distance_loss(anchor, positive, negative,
                                                   distance_function=self.distance_function, margin=self.margin,
                                                   swap=self.swap, reduction=self.reduction)


# --------------------------------------------------------------------------- distributions


class KLDivLoss(_Loss):
    """Pointwise KL divergence of log-probabilities; see :func:`F.kl_div`.

    Arguments:
        reduction: 'none' | 'batchmean' (the true KL divergence) | 'sum' | 'mean' (warns, as torch).
        log_target: whether the target is given as log-probabilities.
    """

    __constants__ = ["reduction"]

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: jax.Array, target: jax.Array) -> jax.Array:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood; see :func:`F.poisson_nll_loss`.

    Arguments:
        log_input: the input is the log of the rate. full: add the Stirling term.
        eps: keeps ``log(x + eps)`` finite when ``log_input`` is False.
    """

    __constants__ = ["log_input", "full", "eps", "reduction"]

    def __init__(self, log_input: bool = True, full: bool = False, size_average=None, eps: float = 1e-8,
                 reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input: jax.Array, target: jax.Array) -> jax.Array:
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full, eps=self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood with predicted variances; see :func:`F.gaussian_nll_loss`.

    Arguments:
        full: include the constant ``0.5 log 2 pi``. eps: the variances' lower clamp (value only).

    Shape: input and target ``(N, *)`` or ``(*)``; var like the input, or with one dimension of size 1,
    or without the last dimension, or a float.
    """

    __constants__ = ["full", "eps", "reduction"]

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input: jax.Array, target: jax.Array, var) -> jax.Array:
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)


# --------------------------------------------------------------------------- sequences


class CTCLoss(_Loss):
    """Connectionist Temporal Classification loss; see :func:`F.ctc_loss`.

    Arguments:
        blank: the blank label. reduction: 'mean' divides each loss by its target length first.
        zero_infinity: impossible alignments (input too short) give 0 loss and 0 gradient.

    Shape: log_probs ``(T, N, C)`` or ``(T, C)``; targets ``(N, S)`` or ``(sum(target_lengths))``;
    input_lengths and target_lengths ``(N)`` or ``()``, arrays or tuples of ints.
    """

    __constants__ = ["blank", "reduction"]

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs: jax.Array, targets: jax.Array, input_lengths, target_lengths) -> jax.Array:
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                          self.zero_infinity)

"""The ``torch.nn.functional`` ops torch also exposes at top level (``torch.conv2d``, ``torch.layer_norm``,
``torch.dropout``, ``torch.lstm``, ...), with the signatures of those top-level (ATen) spellings, which are
not always F's: ``torch.batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
cudnn_enabled)``, ``torch.embedding(weight, indices)``, ``torch.dropout(input, p, train)`` with every argument
required, losses taking ``reduction`` as torch's enum (0 none, 1 mean, 2 sum), ``torch.native_*`` returning
the saved statistics too.

Each is a thin call into the array implementation in ``torchjax.nn.functional`` (one implementation of the
math), so this family sits above ``torchjax.nn`` (``torchjax/__init__`` imports it after ``nn``); none
promotes (F checks and casts as torch's kernels do).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp

from . import _promotion, _random
from ._tensor import OPS, Tensor, canonical_dim, op, unwrap, wrap
from .nn import functional as F
from .nn.functional import normalization as _norm
from .nn.functional import sparse as _sparse
from .nn.functional.dropout import _dropout
from .nn.modules import rnn as _rnn_module

# torch's reduction enum. Its top-level Python bindings default to 0 (none) where F defaults to 'mean'.
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _f(name: str) -> Callable:
    """The array implementation of ``torchjax.nn.functional.<name>``."""
    return getattr(F, name).__wrapped_array_fn__


def _reduction(value) -> str:
    # torch's kernels take any other integer as 'none' (apply_loss_reduction).
    return _REDUCTIONS.get(value, "none") if isinstance(value, int) else value


def _tensor_function(fn: Callable) -> Callable:
    """Register a function of Tensors (it writes into some of them) as ``torchjax.<name>``."""
    OPS[fn.__name__] = fn
    return fn


def _inplace_of(name: str, compute: Callable) -> None:
    """``torchjax.<name>_``: ``compute`` (a Tensor function) written into its first argument, which is returned."""
    def inplace(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}_(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        input._write(unwrap(compute(input, *args, **kwargs)), f"{name}_")
        return input

    inplace.__name__ = inplace.__qualname__ = f"{name}_"
    inplace.__doc__ = f"``torch.{name}_``: :func:`{name}` written into ``input``, which is returned."
    OPS[inplace.__name__] = inplace


# --- convolution and pooling ----------------------------------------------------------------------
@op(method=False)
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``F.conv1d``."""
    return _f("conv1d")(input, weight, bias, stride, padding, dilation, groups)


@op(method=False)
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``F.conv2d``."""
    return _f("conv2d")(input, weight, bias, stride, padding, dilation, groups)


@op(method=False)
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``F.conv3d``."""
    return _f("conv3d")(input, weight, bias, stride, padding, dilation, groups)


@op(method=False)
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``F.conv_transpose1d``."""
    return _f("conv_transpose1d")(input, weight, bias, stride, padding, output_padding, groups, dilation)


@op(method=False)
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``F.conv_transpose2d``."""
    return _f("conv_transpose2d")(input, weight, bias, stride, padding, output_padding, groups, dilation)


@op(method=False)
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """``F.conv_transpose3d``."""
    return _f("conv_transpose3d")(input, weight, bias, stride, padding, output_padding, groups, dilation)


@op(method=False)
def convolution(input, weight, bias, stride, padding, dilation, transposed: bool, output_padding, groups: int):
    """The N-d convolution (``transposed``: its transpose) of ``input`` ``(N, C, *spatial)``, N from the weight."""
    spatial = weight.ndim - 2
    if spatial not in (1, 2, 3):
        raise RuntimeError(f"Expected 3D, 4D or 5D weight for convolution, but got weight of size {list(weight.shape)}")
    if transposed:
        return _f(f"conv_transpose{spatial}d")(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return _f(f"conv{spatial}d")(input, weight, bias, stride, padding, dilation, groups)


@op(method=False)
def conv_tbc(input, weight, bias, pad: int = 0):
    """``F.conv_tbc``: a 1-d convolution of time-batch-channel input."""
    return _f("conv_tbc")(input, weight, bias, pad)


def _stride(stride):
    # ATen's ``stride=[]`` means the kernel size.
    return None if stride is None or (isinstance(stride, list | tuple) and not stride) else stride


@op(method=False)
def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
    """``F.avg_pool1d``."""
    return _f("avg_pool1d")(input, kernel_size, _stride(stride), padding, ceil_mode, count_include_pad)


def _max_pool(n: int, with_indices: bool = False):
    name = f"max_pool{n}d" + ("_with_indices" if with_indices else "")

    def array_fn(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):
        return _f(f"max_pool{n}d")(input, kernel_size, _stride(stride), padding, dilation, ceil_mode,
                                  return_indices=with_indices)

    array_fn.__name__ = name
    array_fn.__doc__ = f"``F.max_pool{n}d``" + (" with ``return_indices=True``." if with_indices else ".")
    return op(name, method=False)(array_fn)


max_pool1d = _max_pool(1)
max_pool2d = _max_pool(2)
max_pool3d = _max_pool(3)
max_pool1d_with_indices = _max_pool(1, with_indices=True)


@op(method=False)
def adaptive_avg_pool1d(input, output_size):
    """``F.adaptive_avg_pool1d``."""
    return _f("adaptive_avg_pool1d")(input, output_size)


@op(method=False)
def adaptive_max_pool1d(input, output_size):
    """``F.adaptive_max_pool1d`` with its indices: ``(output, indices)``, as torch's top-level spelling returns."""
    return _f("adaptive_max_pool1d")(input, output_size, return_indices=True)


@op(method=False)
def constant_pad_nd(input, pad, value=0):
    """``F.pad(input, pad, 'constant', value)`` (negative pads crop)."""
    return _f("pad")(input, pad, "constant", value)


@op(method=False)
def pixel_shuffle(input, upscale_factor: int):
    """``F.pixel_shuffle``."""
    return _f("pixel_shuffle")(input, upscale_factor)


@op(method=False)
def pixel_unshuffle(input, downscale_factor: int):
    """``F.pixel_unshuffle``."""
    return _f("pixel_unshuffle")(input, downscale_factor)


@op(method=False)
def channel_shuffle(input, groups: int):
    """``F.channel_shuffle``."""
    return _f("channel_shuffle")(input, groups)


@op(method=False)
def native_channel_shuffle(input, groups: int):
    """``F.native_channel_shuffle``."""
    return _f("native_channel_shuffle")(input, groups)


@op(method=False)
def affine_grid_generator(theta, size, align_corners: bool):
    """``F.affine_grid`` (``align_corners`` required)."""
    return _f("affine_grid")(theta, list(size), align_corners)


_INTERPOLATION = ("bilinear", "nearest", "bicubic")
_PADDING = ("zeros", "border", "reflection")


def _grid_sampler(name: str, ndim: int | None):
    def array_fn(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool):
        if ndim is not None and input.ndim != ndim:
            raise RuntimeError(f"{name}(): expected {ndim}D input and grid with same number of dimensions, but got "
                               f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
        return _f("grid_sample")(input, grid, _INTERPOLATION[interpolation_mode], _PADDING[padding_mode],
                                 align_corners)

    array_fn.__name__ = name
    array_fn.__doc__ = ("``F.grid_sample`` with torch's enums: interpolation 0 bilinear, 1 nearest, 2 bicubic; "
                        "padding 0 zeros, 1 border, 2 reflection.")
    return op(name, method=False)(array_fn)


grid_sampler = _grid_sampler("grid_sampler", None)
grid_sampler_2d = _grid_sampler("grid_sampler_2d", 4)
grid_sampler_3d = _grid_sampler("grid_sampler_3d", 5)


# --- linear, activations, distances ----------------------------------------------------------------
@op(method=False)
def bilinear(input1, input2, weight, bias=None):
    """``F.bilinear``."""
    return _f("bilinear")(input1, input2, weight, bias)


@op(method=True)
def prelu(input, weight):
    """``F.prelu``."""
    return _f("prelu")(input, weight)


@op(method=True)
def hardshrink(input, lambd=0.5):
    """``F.hardshrink``."""
    return _f("hardshrink")(input, lambd)


@op(method=False)
def selu(input):
    """``F.selu``."""
    return _f("selu")(input)


@op(method=False)
def celu(input, alpha=1.0):
    """``F.celu``."""
    return _f("celu")(input, alpha)


@op(method=False)
def threshold(input, threshold, value):
    """``F.threshold``: ``value`` where ``input <= threshold``."""
    return _f("threshold")(input, threshold, value)


@op(method=False)
def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training: bool = False, generator=None):
    """``F.rrelu`` (``training`` defaults to False, as in torch)."""
    return _f("rrelu")(input, lower, upper, training, generator=generator)


@op(method=False)
def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    """``F.cosine_similarity``."""
    return _f("cosine_similarity")(x1, x2, dim, eps)


@op(method=False)
def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    """``F.pairwise_distance``."""
    return _f("pairwise_distance")(x1, x2, p, eps, keepdim)


@op(method=False)
def pdist(input, p: float = 2.0):
    """``F.pdist``."""
    return _f("pdist")(input, p)


# --- dropout ---------------------------------------------------------------------------------------
def _dropout_op(name: str, *, feature: bool, alpha: bool):
    def array_fn(input, p: float, train: bool):
        if p < 0 or p > 1:
            raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
        return _dropout(input, p, train, feature=feature, alpha=alpha, generator=None)

    array_fn.__name__ = name
    kind = ("whole channels (dim 1) of each sample" if feature else "elements") + (
        ", alpha dropout (SELU's statistics kept)" if alpha else "")
    array_fn.__doc__ = f"``torch.{name}(input, p, train)``: dropout of {kind}; ``input`` itself when not ``train``."
    public = op(name, method=False)(array_fn)
    _inplace_of(name, public)
    return public


dropout = _dropout_op("dropout", feature=False, alpha=False)
feature_dropout = _dropout_op("feature_dropout", feature=True, alpha=False)
alpha_dropout = _dropout_op("alpha_dropout", feature=False, alpha=True)
feature_alpha_dropout = _dropout_op("feature_alpha_dropout", feature=True, alpha=True)


@op(method=False)
def native_dropout(input, p: float, train):
    """``(output, mask)``: dropout's output and its boolean keep mask (``train`` False or None: ``input`` unchanged
    and an all-True mask; None counts as training, as in torch)."""
    if train is False or p == 0:
        return jnp.array(input, copy=True), jnp.ones(input.shape, bool)
    keep = jax.random.bernoulli(_random.next_key(None), 1.0 - p, input.shape)
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return (input * keep.astype(input.dtype) * jnp.asarray(scale, input.dtype)).astype(input.dtype), keep


# --- normalization ---------------------------------------------------------------------------------
@_tensor_function
def batch_norm(input, weight, bias, running_mean, running_var, training: bool, momentum: float, eps: float,
               cudnn_enabled: bool = True) -> Tensor:
    """``F.batch_norm`` with ATen's argument order (the running statistics are updated in place in training)."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


@_tensor_function
def native_batch_norm(input, weight, bias, running_mean, running_var, training: bool, momentum: float,
                      eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(output, save_mean, save_invstd)``: :func:`batch_norm` and, in training, the batch mean and
    ``1 / sqrt(var + eps)`` per channel (empty tensors in evaluation, as torch returns)."""
    out = batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)
    x = unwrap(input)
    if not training:
        empty = jnp.zeros((0,), x.dtype)
        return out, wrap(empty), wrap(empty)
    axes = (0, *range(2, x.ndim))
    acc = _norm._opmath(x.dtype)
    mean = jnp.mean(x.astype(acc), axis=axes)
    var = jnp.var(x.astype(acc), axis=axes)
    return out, wrap(mean.astype(acc)), wrap(jax.lax.rsqrt(var + eps).astype(acc))


@_tensor_function
def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats: bool, momentum: float,
                  eps: float, cudnn_enabled: bool = True) -> Tensor:
    """``F.instance_norm`` with ATen's argument order (with ``use_input_stats`` the running statistics are updated
    in place)."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


# --- SyncBatchNorm's kernels: per-device statistics, their combination, the elementwise forward and backward ---
# torch implements these for CUDA only (its CPU build raises NotImplementedError, except batch_norm_update_stats);
# here they run on every backend.
def _channel_axes(x) -> tuple:
    return (0, *range(2, x.ndim))


def _channels(vector, x):
    return vector.reshape((1, -1) + (1,) * (x.ndim - 2))


@op(method=False)
def batch_norm_stats(input, eps: float):
    """``(mean, invstd)`` per channel (dim 1): the batch mean and ``1 / sqrt(biased var + eps)``."""
    mean, invstd = _statistics(input, _channel_axes(input), eps)
    return mean.reshape(-1), invstd.reshape(-1)


def _update_running(running_mean, running_var, mean, unbiased_var, momentum) -> None:
    for running, value in ((running_mean, mean), (running_var, unbiased_var)):
        if isinstance(running, Tensor):
            old = unwrap(running)
            running._write((1 - momentum) * old + momentum * value.astype(old.dtype), "batch_norm")


def _gather(input, mean, invstd, running_mean, running_var, momentum, eps, counts):
    counts = jnp.asarray(unwrap(counts), unwrap(mean).dtype)
    mean, invstd = unwrap(mean), unwrap(invstd)
    total = jnp.sum(counts)
    global_mean = jnp.sum(counts[:, None] * mean, axis=0) / total
    var = jnp.sum(counts[:, None] * (1 / invstd**2 - eps + (mean - global_mean) ** 2), axis=0) / total
    _update_running(running_mean, running_var, global_mean, var * total / (total - 1), momentum)
    return wrap(global_mean), wrap(jax.lax.rsqrt(var + eps))


@_tensor_function
def batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var, momentum: float, eps: float,
                                        counts) -> tuple:
    """The global ``(mean, invstd)`` from per-device ``mean`` and ``invstd`` ``(devices, C)`` over ``counts``
    elements each; the running statistics (Tensors) are updated in place with the unbiased variance."""
    return _gather(input, mean, invstd, running_mean, running_var, momentum, eps, counts)


@_tensor_function
def batch_norm_gather_stats(input, mean, invstd, running_mean, running_var, momentum: float, eps: float,
                            count: int) -> tuple:
    """:func:`batch_norm_gather_stats_with_counts` with ``count`` elements on every device."""
    return _gather(input, mean, invstd, running_mean, running_var, momentum, eps,
                   jnp.full(unwrap(mean).shape[:1], count))


@_tensor_function
def batch_norm_update_stats(input, running_mean, running_var, momentum: float) -> tuple:
    """``(mean, var)``: the batch's per-channel mean and biased variance; the running statistics (Tensors) are
    updated in place with the unbiased variance."""
    x = unwrap(input)
    acc = _norm._opmath(x.dtype)
    axes = _channel_axes(x)
    mean, var = jnp.mean(x.astype(acc), axis=axes), jnp.var(x.astype(acc), axis=axes)
    count = x.size // x.shape[1]
    _update_running(running_mean, running_var, mean, var * count / (count - 1), momentum)
    return wrap(mean), wrap(var)


@op(method=False)
def batch_norm_elemt(input, weight, bias, mean, invstd, eps: float):
    """``(input - mean) * invstd * weight + bias`` per channel."""
    out = (input - _channels(mean, input)) * _channels(invstd, input)
    if weight is not None:
        out = out * _channels(weight, input)
    if bias is not None:
        out = out + _channels(bias, input)
    return out.astype(input.dtype)


@op(method=False)
def batch_norm_backward_reduce(grad_out, input, mean, invstd, weight, input_g: bool, weight_g: bool, bias_g: bool):
    """``(sum_dy, sum_dy_xmu, grad_weight, grad_bias)`` per channel (each None unless requested: the first two by
    ``input_g``)."""
    axes = _channel_axes(input)
    sum_dy = jnp.sum(grad_out, axis=axes)
    sum_dy_xmu = jnp.sum(grad_out * (input - _channels(mean, input)), axis=axes)
    return (sum_dy if input_g else None, sum_dy_xmu if input_g else None,
            sum_dy_xmu * invstd if weight_g else None, sum_dy if bias_g else None)


@op(method=False)
def batch_norm_backward_elemt(grad_out, input, mean, invstd, weight, sum_dy, sum_dy_xmu, count):
    """The input gradient of batch norm from the globally reduced ``sum_dy`` and ``sum_dy_xmu`` over ``count``
    (elements per device) values."""
    total = jnp.sum(count).astype(input.dtype)
    mean_dy, mean_dy_xmu = _channels(sum_dy / total, input), _channels(sum_dy_xmu / total, input)
    inv = _channels(invstd, input)
    scale = inv if weight is None else inv * _channels(weight, input)
    centered = input - _channels(mean, input)
    return ((grad_out - mean_dy - centered * inv**2 * mean_dy_xmu) * scale).astype(input.dtype)


@op(method=False)
def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5, cudnn_enable: bool = True):
    """``F.layer_norm``."""
    return _f("layer_norm")(input, normalized_shape, weight, bias, eps)


def _statistics(x, axes: tuple, eps: float):
    acc = _norm._opmath(x.dtype)
    xs = x.astype(acc)
    return jnp.mean(xs, axis=axes, keepdims=True), jax.lax.rsqrt(jnp.var(xs, axis=axes, keepdims=True) + eps)


@op(method=False)
def native_layer_norm(input, normalized_shape, weight, bias, eps: float):
    """``(output, mean, rstd)``: :func:`layer_norm` and the statistics over the normalized dimensions (kept as
    size-1 dimensions)."""
    out = _f("layer_norm")(input, normalized_shape, weight, bias, eps)
    axes = tuple(range(input.ndim - len(tuple(normalized_shape)), input.ndim))
    mean, rstd = _statistics(input, axes, eps)
    return out, mean, rstd


@op(method=False)
def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5, cudnn_enabled: bool = True):
    """``F.group_norm``."""
    return _f("group_norm")(input, num_groups, weight, bias, eps)


@op(method=False)
def native_group_norm(input, weight, bias, N: int, C: int, HxW: int, group: int, eps: float):  # noqa: N803 - ATen's
    """``(output, mean, rstd)``: :func:`group_norm` of ``input`` ``(N, C, *)`` (``HxW`` its spatial size) and the
    per-(sample, group) statistics ``(N, group)``."""
    if input.size != N * C * HxW:
        raise RuntimeError(f"Expected input to have {N * C * HxW} elements, got {input.size}")
    out = _f("group_norm")(input, group, weight, bias, eps)
    mean, rstd = _statistics(input.reshape(N, group, -1), (2,), eps)
    return out, mean[..., 0], rstd[..., 0]


@op(method=False)
def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``F.rms_norm``."""
    return _f("rms_norm")(input, normalized_shape, weight, eps)


# --- embeddings ------------------------------------------------------------------------------------
@_tensor_function
def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """``F.embedding(indices, weight)`` with ATen's order; a negative ``padding_idx`` means none (ATen's
    convention: ``F.embedding`` passes ``-1`` for None)."""
    padding = None if padding_idx is None or padding_idx < 0 else padding_idx
    return F.embedding(indices, weight, padding, None, 2.0, scale_grad_by_freq, sparse)


@_tensor_function
def embedding_renorm_(input, indices, max_norm: float, norm_type: float) -> Tensor:
    """Scale the rows of ``input`` that ``indices`` references down to norm ``max_norm`` where longer, in place."""
    table = unwrap(input)
    referenced = jnp.zeros(table.shape[0], bool).at[unwrap(indices).reshape(-1)].set(True)
    renormed = _sparse._renormed(table, max_norm, norm_type)
    input._write(jnp.where(referenced[:, None], renormed, table), "embedding_renorm_")
    return input


_BAG_MODES = ("sum", "mean", "max")


@_tensor_function
def embedding_bag(weight, indices, offsets, scale_grad_by_freq: bool = False, mode: int = 0, sparse: bool = False,
                  per_sample_weights=None, include_last_offset: bool = False, padding_idx=None) -> tuple:
    """``(output, offset2bag, bag_size, max_indices)``: ``F.embedding_bag(indices, weight, offsets, mode=...)`` with
    ATen's argument order and ``mode`` enum (0 sum, 1 mean, 2 max), and the auxiliary outputs torch's CPU kernel
    returns: each index's bag (empty in sum mode without ``padding_idx``), each bag's count of non-padding indices
    (zeros in sum mode), and in max mode each feature's selected row (mean mode: the counts; sum mode: zeros)."""
    output = F.embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq, _BAG_MODES[mode], sparse,
                             per_sample_weights, include_last_offset, padding_idx)
    idx, starts = jnp.asarray(unwrap(indices)).reshape(-1), jnp.asarray(unwrap(offsets))
    table = unwrap(weight)
    long = _promotion.long_dtype()
    bags = starts.shape[0] - 1 if include_last_offset else starts.shape[0]
    bag_of = (jnp.searchsorted(starts, jnp.arange(idx.shape[0]), side="right") - 1).astype(long)
    kept = jnp.ones(idx.shape, bool) if padding_idx is None else idx != padding_idx % table.shape[0]
    if mode == 0:
        zeros = jnp.zeros(starts.shape, long)
        offset2bag = jnp.zeros((0,), long) if padding_idx is None else bag_of
        return output, wrap(offset2bag), wrap(zeros), wrap(zeros)
    bag_size = jnp.zeros(bags, long).at[bag_of].add(kept.astype(long), mode="drop")
    if mode == 1:
        return output, wrap(bag_of), wrap(bag_size), wrap(bag_size)
    rows = jnp.where(kept[:, None], table[idx], -jnp.inf)
    best = jnp.full((bags, table.shape[1]), -jnp.inf, rows.dtype).at[bag_of].max(rows, mode="drop")
    hit = (rows == best[jnp.clip(bag_of, 0, bags - 1)]) & kept[:, None]
    chosen = jnp.full((bags, table.shape[1]), idx.shape[0], long).at[bag_of].min(
        jnp.where(hit, jnp.arange(idx.shape[0])[:, None], idx.shape[0]), mode="drop")
    max_indices = jnp.where(chosen < idx.shape[0], idx[jnp.minimum(chosen, idx.shape[0] - 1)], 0).astype(long)
    return output, wrap(bag_of), wrap(bag_size), wrap(max_indices)


# --- losses ----------------------------------------------------------------------------------------
@op(method=False)
def kl_div(input, target, reduction=0, *, log_target: bool = False):
    """``F.kl_div`` with torch's reduction enum (0 none, the default here; 1 mean; 2 sum). 'mean' does not warn
    here: the warning about 'batchmean' is F's, not this ATen op's."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "reduction: 'mean' divides the total loss", UserWarning)
        return _f("kl_div")(input, target, reduction=_reduction(reduction), log_target=log_target)


@op(method=False)
def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    """``F.binary_cross_entropy_with_logits`` with torch's reduction enum."""
    return _f("binary_cross_entropy_with_logits")(input, target, weight, reduction=_reduction(reduction),
                                                  pos_weight=pos_weight)


@op(method=False)
def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction=0):
    """``F.cosine_embedding_loss`` with torch's reduction enum."""
    return _f("cosine_embedding_loss")(input1, input2, target, margin, reduction=_reduction(reduction))


@op(method=False)
def hinge_embedding_loss(input, target, margin: float = 1.0, reduction=0):
    """``F.hinge_embedding_loss`` with torch's reduction enum."""
    return _f("hinge_embedding_loss")(input, target, margin, reduction=_reduction(reduction))


@op(method=False)
def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction=0):
    """``F.margin_ranking_loss`` with torch's reduction enum."""
    return _f("margin_ranking_loss")(input1, input2, target, margin, reduction=_reduction(reduction))


@op(method=False)
def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction):
    """``F.poisson_nll_loss`` with every argument required and torch's reduction enum."""
    return _f("poisson_nll_loss")(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


@op(method=False)
def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, reduction=0):
    """``F.triplet_margin_loss`` with torch's reduction enum."""
    return _f("triplet_margin_loss")(anchor, positive, negative, margin, p, eps, swap,
                                     reduction=_reduction(reduction))


@op(method=False)
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction=0,
             zero_infinity: bool = False):
    """``F.ctc_loss`` with torch's reduction enum (lengths as tensors or lists)."""
    return _f("ctc_loss")(log_probs, targets, jnp.asarray(input_lengths), jnp.asarray(target_lengths), blank,
                          _reduction(reduction), zero_infinity)


# --- recurrent layers and cells ---------------------------------------------------------------------
def _cell(mode: str, input, states: list, w_ih, w_hh, b_ih, b_hh):
    xi, hh = _rnn_module._matmul_t(input, w_ih), _rnn_module._matmul_t(states[0], w_hh)
    if b_ih is not None:
        xi = xi + b_ih
    if b_hh is not None:
        hh = hh + b_hh
    return _rnn_module._gates(mode, xi, hh, states[0], states[1] if len(states) > 1 else None)


@op(method=False)
def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman step ``tanh(input W_ih^T + b_ih + hx W_hh^T + b_hh)``."""
    return _cell("RNN_TANH", input, [hx], w_ih, w_hh, b_ih, b_hh)[0]


@op(method=False)
def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman step with ReLU."""
    return _cell("RNN_RELU", input, [hx], w_ih, w_hh, b_ih, b_hh)[0]


@op(method=False)
def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step (gates ``r, z, n`` in torch's order)."""
    return _cell("GRU", input, [hx], w_ih, w_hh, b_ih, b_hh)[0]


@op(method=False)
def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step: ``hx`` is ``[h, c]``; returns ``(h', c')``."""
    if len(hx) != 2:
        raise RuntimeError(f"lstm_cell expects two hidden states, got {len(hx)}")
    return _cell("LSTM", input, list(hx), w_ih, w_hh, b_ih, b_hh)


def _layer_weights(params: list, has_biases: bool, num_layers: int, directions: int) -> list:
    """torch's flat ``params`` (per layer and direction: ``w_ih, w_hh[, b_ih, b_hh][, w_hr]``) as the
    per-layer lists of per-direction dicts ``_run_stack`` takes."""
    per = len(params) // (num_layers * directions)
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if has_biases else [])
    if per == len(names) + 1:
        names.append("weight_hr")
    if per != len(names):
        raise RuntimeError(f"expected {len(names) * num_layers * directions} parameters, got {len(params)}")
    groups = [dict(zip(names, params[i * per:(i + 1) * per], strict=True)) for i in range(num_layers * directions)]
    return [groups[layer * directions:(layer + 1) * directions] for layer in range(num_layers)]


def _rnn(mode: str, input, hx, cx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    directions = 2 if bidirectional else 1
    weights = _layer_weights(list(params), has_biases, num_layers, directions)
    canonical_dim(2, input.ndim)  # ATen takes batched input only (torch's IndexError otherwise)
    x = jnp.swapaxes(input, 0, 1) if batch_first else input
    for state in (hx, cx):
        if state is not None and state.shape[1] != x.shape[1]:
            raise RuntimeError(f"The size of tensor a ({state.shape[1]}) must match the size of tensor b "
                               f"({x.shape[1]}) at non-singleton dimension 0")
    keys = [_random.next_key(None) for _ in range(num_layers - 1)] if dropout and train else []
    output, h_n, c_n = _rnn_module._run_stack(mode, x, hx, cx, weights, None, float(dropout), keys)
    return (jnp.swapaxes(output, 0, 1) if batch_first else output), h_n, c_n


def _rnn_op(name: str, mode: str):
    def array_fn(input, hx, params, has_biases: bool, num_layers: int, dropout: float, train: bool,
                 bidirectional: bool, batch_first: bool):
        output, h_n, _ = _rnn(mode, input, hx, None, params, has_biases, num_layers, dropout, train, bidirectional,
                              batch_first)
        return output, h_n

    array_fn.__name__ = name
    array_fn.__doc__ = (f"``torch.{name}(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, "
                        "batch_first)``: the stacked layers of ``nn." + ("GRU" if mode == "GRU" else "RNN")
                        + "`` from torch's flat parameter list; ``(output, h_n)``.")
    return op(name, method=False)(array_fn)


rnn_tanh = _rnn_op("rnn_tanh", "RNN_TANH")
rnn_relu = _rnn_op("rnn_relu", "RNN_RELU")
gru = _rnn_op("gru", "GRU")


@op(method=False)
def lstm(input, hx, params, has_biases: bool, num_layers: int, dropout: float, train: bool, bidirectional: bool,
         batch_first: bool):
    """The stacked layers of ``nn.LSTM`` from torch's flat parameter list (``w_hr`` after the biases for a
    projection); ``hx`` is ``[h_0, c_0]``; returns ``(output, h_n, c_n)``."""
    return _rnn("LSTM", input, hx[0], hx[1], params, has_biases, num_layers, dropout, train, bidirectional,
                batch_first)


# --- in-place spellings of activations -----------------------------------------------------------
_inplace_of("celu", celu)
_inplace_of("selu", selu)
_inplace_of("threshold", threshold)
_inplace_of("rrelu", rrelu)

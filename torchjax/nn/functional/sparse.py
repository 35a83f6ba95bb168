"""Embedding lookups as functions of arrays: ``F.embedding``, ``F.embedding_bag``, ``F.one_hot``.

Lookups are gathers; bags are segment reductions over a bag id per index, so nothing loops over
bags or sequence positions. Index and offset checks need concrete values: they run eagerly (with
torch's exception types); inside a trace (``torchjax.compile``, ``jax.jit``) nothing can raise, so an
index ``>= num_embeddings`` gives a NaN row and a negative one counts from the end.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ..._device import legacy_type_name
from ..._tensor import Tensor, unwrap
from ..._warnings import warn
from ..parameter import _unwrap
from ._utils import index_dtype

__all__ = ["embedding", "embedding_bag", "one_hot"]

_INDEX_DTYPES = (jnp.int32, jnp.int64)


def _concrete(*arrays) -> bool:
    return not any(isinstance(a, jax.core.Tracer) for a in arrays)


def _host(x: jax.Array) -> np.ndarray | None:
    """A NumPy copy of a concrete array for eager checks, None for a tracer (inside a trace, even
    jnp ops on concrete arrays give tracers, so the checks run in NumPy)."""
    return None if isinstance(x, jax.core.Tracer) else np.asarray(x)


def _indices(input, fn: str) -> jax.Array:
    idx = jnp.asarray(_unwrap(input))
    if idx.dtype not in _INDEX_DTYPES:
        raise RuntimeError(
            f"Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {idx.dtype} instead (while checking arguments for {fn})"
        )
    return idx


@jax.custom_jvp
def _reroute(value: jax.Array, source: jax.Array, scale: jax.Array) -> jax.Array:
    """``value`` forward; the derivative is ``source``'s, times ``scale``: how torch's in-place
    renormalisation (no gradient), ``padding_idx`` (zero gradient) and ``scale_grad_by_freq``
    shape the gradient of a lookup. A custom JVP, so forward and reverse mode both work."""
    return value


@_reroute.defjvp
def _reroute_jvp(primals, tangents):
    value, _, scale = primals
    _, source_dot, _ = tangents
    return value, source_dot * scale


def _padding_index(padding_idx: int | None, num_embeddings: int, message: str) -> int | None:
    if padding_idx is None:
        return None
    if padding_idx >= num_embeddings or padding_idx < -num_embeddings:
        raise AssertionError(message)
    return padding_idx % num_embeddings


def _renormed(rows: jax.Array, max_norm: float, norm_type: float) -> jax.Array:
    """Rows scaled down to norm ``max_norm`` where longer (torch's ``embedding_renorm_``)."""
    norms = jnp.linalg.vector_norm(rows.astype(jnp.float32), ord=norm_type, axis=-1, keepdims=True)
    scale = jnp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    return (rows * scale.astype(rows.dtype)).astype(rows.dtype)


def _renorm_stored(weight, idx: jax.Array, max_norm: float, norm_type: float) -> None:
    """Renormalise the stored rows that ``idx`` references in place, as torch does; only for a Tensor
    holding a concrete array (under tracing the update would leak a tracer)."""
    if not isinstance(weight, Tensor) or not _concrete(unwrap(weight), idx):
        return
    table = unwrap(weight)
    referenced = jnp.zeros(table.shape[0], bool).at[idx.reshape(-1)].set(True)
    renormed = jnp.where(referenced[:, None], _renormed(table, max_norm, norm_type), table)
    if _concrete(renormed):  # not when called inside a trace on concrete values
        weight._write(renormed, "embedding_renorm_")


def _lookup(weight: jax.Array, idx: jax.Array, keep: jax.Array | None, max_norm: float | None, norm_type: float,
            scale_grad_by_freq: bool) -> jax.Array:
    """``weight[idx]`` with torch's gradient rules: no gradient where ``keep`` is False, gradients
    divided by each index's count when ``scale_grad_by_freq``, the renormalisation not differentiated."""
    rows = jnp.take(weight, idx, axis=0, mode="fill", fill_value=jnp.nan)
    value = rows if max_norm is None else _renormed(rows, max_norm, norm_type)
    scale = None
    if scale_grad_by_freq:
        counts = jnp.zeros(weight.shape[0], weight.dtype).at[idx.reshape(-1)].add(1)
        scale = 1 / jnp.take(counts, idx, mode="fill", fill_value=1)
    if keep is not None:
        scale = keep.astype(weight.dtype) if scale is None else scale * keep
    if scale is None and max_norm is None:
        return rows
    return _reroute(value, rows, jnp.ones((), weight.dtype) if scale is None else scale[..., None])


def embedding(input, weight, padding_idx: int | None = None, max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> jax.Array:
    """Rows of ``weight`` at the integer indices ``input``: output ``(*input.shape, embedding_dim)``.

    Arguments:
        input: int32/int64 indices of any shape.
        weight: ``(num_embeddings, embedding_dim)``.
        padding_idx: that row gets no gradient (its value is returned as stored).
        max_norm: rows referenced by ``input`` whose ``norm_type``-norm exceeds it are scaled to
            norm ``max_norm``. As in torch the stored rows change too (in place) when ``weight`` is a
            Tensor and the call is eager; under tracing only the output is renormalised. The
            renormalisation is not differentiated.
        scale_grad_by_freq: divide each row's gradient by how often its index occurs in ``input``.
        sparse: accepted for porting; gradients are dense arrays.
    """
    idx = _indices(input, "embedding")
    w = jnp.asarray(_unwrap(weight))
    if w.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    padding_idx = _padding_index(padding_idx, w.shape[0], "Padding_idx must be within num_embeddings")
    host = _host(idx)
    if host is not None and host.size and (host.min() < 0 or host.max() >= w.shape[0]):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _renorm_stored(weight, idx, max_norm, norm_type)
    return _embedding(w, idx, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                      scale_grad_by_freq=bool(scale_grad_by_freq))


embedding.tensor_args = ("weight",)  # renormalised in place (max_norm)


@functools.partial(jax.jit, static_argnames=("padding_idx", "max_norm", "norm_type", "scale_grad_by_freq"))
def _embedding(weight, idx, *, padding_idx, max_norm, norm_type, scale_grad_by_freq) -> jax.Array:
    """The validated lookup as one jitted function (one program per eager call; inlined when traced)."""
    keep = None if padding_idx is None else idx != padding_idx
    return _lookup(weight, idx, keep, max_norm, norm_type, scale_grad_by_freq)


def _bag_ids(offsets: jax.Array, length: int, include_last_offset: bool) -> tuple[jax.Array, int]:
    """The bag of every input position (``num_bags`` for positions past the last bag) and the
    number of bags, from CSR-style start offsets."""
    num_bags = offsets.shape[0] - 1 if include_last_offset else offsets.shape[0]
    num_bags = max(num_bags, 0)
    positions = jnp.arange(length)
    bag = jnp.searchsorted(offsets[:num_bags], positions, side="right") - 1
    if include_last_offset and offsets.shape[0]:
        bag = jnp.where(positions < offsets[num_bags], bag, num_bags)
    return bag, num_bags


def _check_offsets(offsets: jax.Array, length: int) -> None:
    host = _host(offsets)
    if host is None or host.size == 0:
        return
    if host[0] != 0:
        raise RuntimeError(
            "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from position 0. "
            f"However, got {host[0]}"
        )
    if host[-1] > length:
        raise RuntimeError(
            f"offsets[-1] can not be greater than input's length {length} but got offsets[-1] of {host[-1]}"
        )
    if np.any(host[1:] < host[:-1]):
        raise RuntimeError("offsets must be non-decreasing (each bag starts at or after the previous one)")


def embedding_bag(input, weight, offsets=None, max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights=None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> jax.Array:
    """Sums, means or maxima of bags of embeddings, without materialising a per-bag loop.

    Arguments:
        input: ``(B, N)`` (B bags of N indices) or ``(N,)`` indices cut into bags by ``offsets``.
        weight: ``(num_embeddings, embedding_dim)``.
        offsets: for 1-D input, the start of each bag (``(B,)``, or ``(B + 1,)`` with
            ``include_last_offset``, whose last entry ends the last bag: CSR format. torch
            documents that entry as ``len(input)``; entries past it belong to no bag here, while
            torch 2.13's CPU kernel counts them in some modes and not in others).
        max_norm, norm_type: renormalise the referenced rows, as :func:`embedding`.
        scale_grad_by_freq: divide each row's gradient by its index's frequency in the input
            ('sum'/'mean'), as documented and as torch's CUDA kernel does (torch 2.13's CPU kernel
            divides some rows by another index's count: pytorch#190063).
        mode: ``'sum'``, ``'mean'`` or ``'max'``; empty bags give zeros.
        sparse: accepted for porting; gradients are dense.
        per_sample_weights: like ``input``; weights of a weighted sum (``mode='sum'`` only).
        padding_idx: entries equal to it are left out of the reduction (and of the mean's count).

    Returns ``(B, embedding_dim)``.
    """
    weight_array, input_array = jnp.asarray(_unwrap(weight)), jnp.asarray(_unwrap(input))
    if weight_array.dtype in _INDEX_DTYPES and jnp.issubdtype(input_array.dtype, jnp.floating):
        warn(
            "Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, input, ...)` "
            "is deprecated, and should now be `embedding_bag(input, weight, ...)`."
        )
        weight, input = input, weight
        weight_array, input_array = input_array, weight_array
    psw = None if per_sample_weights is None else jnp.asarray(_unwrap(per_sample_weights))
    if psw is not None and psw.shape != input_array.shape:
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({_size(psw.shape)}) is not None, then it must have the same "
            f"shape as the input ({_size(input_array.shape)})"
        )
    if weight_array.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight_array.ndim}")
    if input_array.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed length "
                f"sequences. However, found offsets of type {type(offsets)}"
            )
    elif input_array.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if jnp.ndim(_unwrap(offsets)) != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input_array.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    idx = _indices(input_array, "embedding_bag")
    num_embeddings = weight_array.shape[0]
    host = _host(idx)
    if host is not None and host.size:
        bad = ((host < 0) | (host >= num_embeddings)).reshape(-1)
        if bad.any():
            position = int(np.argmax(bad))
            raise RuntimeError(
                f"Index {position} of input takes value {host.reshape(-1)[position]} which is not in the valid "
                f"range [0, {num_embeddings})"
            )
    if max_norm is not None:
        _renorm_stored(weight, idx, max_norm, norm_type)
    if psw is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for mode='sum' "
            f"(got mode='{mode}'). Please open a feature request on GitHub."
        )
    if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
        raise RuntimeError(
            f"padding_idx must be within the number of embeddings, {-num_embeddings} through {num_embeddings - 1}, "
            f"but got {padding_idx}"
        )
    if psw is not None and psw.dtype != weight_array.dtype:  # torch's kernel does not promote them
        raise RuntimeError(f"Expected tensor for argument #1 'weight' to have the same type as tensor for argument "
                           f"#1 'per_sample_weights'; but type {legacy_type_name(weight_array.dtype)} does not equal "
                           f"{legacy_type_name(psw.dtype)} (while checking arguments for embedding_bag)")

    if idx.ndim == 1:
        offsets = jnp.asarray(_unwrap(offsets))
        _check_offsets(offsets, idx.shape[0])
    return _embedding_bag(weight_array, idx, offsets, psw, mode=mode,
                          padding_idx=None if padding_idx is None else padding_idx % num_embeddings,
                          max_norm=max_norm, norm_type=norm_type, scale_grad_by_freq=bool(scale_grad_by_freq),
                          include_last_offset=bool(include_last_offset))


@functools.partial(jax.jit, static_argnames=("mode", "padding_idx", "max_norm", "norm_type", "scale_grad_by_freq",
                                             "include_last_offset"))
def _embedding_bag(weight, idx, offsets, psw, *, mode, padding_idx, max_norm, norm_type, scale_grad_by_freq,
                   include_last_offset) -> jax.Array:
    """The validated bag reduction as one jitted function."""
    keep = None if padding_idx is None else idx != padding_idx
    rows = _lookup(weight, idx, None, max_norm, norm_type, scale_grad_by_freq)
    if idx.ndim == 2:
        return _reduce_fixed_bags(rows, keep, psw, mode)
    bag, num_bags = _bag_ids(offsets, idx.shape[0], include_last_offset)
    return _reduce_segments(rows, bag, num_bags, keep, psw, mode)


def _reduce_fixed_bags(rows: jax.Array, keep, psw, mode: str) -> jax.Array:
    """Reduce ``(B, N, D)`` rows over N."""
    count = rows.shape[1] if keep is None else jnp.sum(keep, axis=1, keepdims=True)
    if mode == "max":
        values = rows if keep is None else jnp.where(keep[..., None], rows, -jnp.inf)
        if rows.shape[1] == 0:
            return jnp.zeros((rows.shape[0], rows.shape[2]), rows.dtype)
        # Gather the first maximum: its one position gets the gradient, as in torch.
        best = jax.lax.stop_gradient(jnp.argmax(values, axis=1))
        out = jnp.take_along_axis(rows, best[:, None, :], axis=1)[:, 0]
        return out if keep is None else jnp.where(count > 0, out, 0)
    weights = None if psw is None else psw.astype(rows.dtype)
    if keep is not None:
        weights = keep.astype(rows.dtype) if weights is None else weights * keep
    total = jnp.sum(rows if weights is None else rows * weights[..., None], axis=1)
    if mode == "sum":
        return total
    return total / jnp.maximum(count, 1).astype(rows.dtype)


def _reduce_segments(rows: jax.Array, bag: jax.Array, num_bags: int, keep, psw, mode: str) -> jax.Array:
    """Reduce ``(N, D)`` rows into ``num_bags`` bags given each row's (sorted) bag id."""
    segment = dict(segment_ids=bag, num_segments=num_bags, indices_are_sorted=True)
    present = jnp.ones(bag.shape, rows.dtype) if keep is None else keep.astype(rows.dtype)
    count = jax.ops.segment_sum(present, **segment)[:, None]
    if mode == "max":
        if rows.shape[0] == 0:
            return jnp.zeros((num_bags, rows.shape[1]), rows.dtype)
        values = rows if keep is None else jnp.where(keep[:, None], rows, -jnp.inf)
        values = jax.lax.stop_gradient(values)
        best = jax.ops.segment_max(values, **segment)
        bag_best = jnp.take(best, bag, axis=0, mode="fill", fill_value=jnp.inf)
        positions = jnp.arange(rows.shape[0])[:, None]
        first = jax.ops.segment_min(jnp.where(values == bag_best, positions, rows.shape[0]), **segment)
        out = jnp.take_along_axis(rows, jnp.minimum(first, rows.shape[0] - 1), axis=0)
        return jnp.where(count > 0, out, 0)
    weights = present if psw is None else psw.astype(rows.dtype) * present
    total = jax.ops.segment_sum(rows * weights[:, None], **segment)
    if mode == "sum":
        return total
    return total / jnp.maximum(count, 1)


embedding_bag.tensor_args = ("weight",)


def one_hot(tensor, num_classes: int = -1) -> jax.Array:
    """``(*, num_classes)`` integer array with a 1 at each value's position.

    ``num_classes=-1`` infers ``max + 1``, which needs concrete values (pass ``num_classes``
    under tracing). int32 input is accepted (it is JAX's default integer; torch wants int64).
    Range errors are raised eagerly; under tracing an out-of-range value gives an all-zero row.
    """
    x = jnp.asarray(_unwrap(tensor))
    if x.dtype not in _INDEX_DTYPES:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    host = _host(x)
    if num_classes == -1:
        if x.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        if host is None:
            raise RuntimeError("one_hot: num_classes=-1 needs concrete values; pass num_classes under tracing")
        num_classes = int(host.max()) + 1
    if host is not None and host.size:
        if host.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if host.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    return (x[..., None] == jnp.arange(num_classes, dtype=x.dtype)).astype(index_dtype())


def _size(shape: tuple) -> str:
    return f"torch.Size({list(shape)})"

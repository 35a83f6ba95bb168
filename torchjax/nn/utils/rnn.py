"""Variable-length sequences for the recurrent layers: ``torch.nn.utils.rnn`` on Tensors.

A :class:`PackedSequence` holds the time steps of a batch of sequences sorted by decreasing length,
packed one step after the other (``data``), and ``batch_sizes[t]``, how many sequences are still
running at step ``t``. ``batch_sizes`` fixes the shapes of everything computed from the packed data,
so it is a **NumPy int64 array on the host** (torch: an int64 CPU tensor), never a traced value: a
PackedSequence passed into ``torchjax.compile`` or a ``torchjax.func`` transform keeps it static
(it is pytree metadata; ``data`` and the two permutations are the Tensor leaves), and the program is
specialised to it, as to a shape. Everything else these functions return is a Tensor, as in torch
(the lengths from :func:`pad_packed_sequence` on the CPU, as torch's).

For the same reason the lengths given to :func:`pack_padded_sequence` and :func:`unpad_sequence` must
be concrete (a list, NumPy array or concrete jax array): packing happens on the host from them. Inside
a compiled function pass them as Python values or NumPy arrays closed over or given as static
arguments, not as traced arrays; a traced length raises a ``TypeError`` that says so.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._device import check_dtype_supported
from ..._ops import canonical_dim
from ..._tensor import Tensor, unwrap, wrap

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: np.ndarray
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def _is_traced(value: Any) -> bool:
    if isinstance(unwrap(value), jax.core.Tracer):
        return True
    if isinstance(value, list | tuple):
        return any(_is_traced(v) for v in value)
    return False


def _host_ints(value: Any, what: str, fn: str) -> np.ndarray:
    """``value`` (a list, NumPy or concrete jax array) as a NumPy int64 array on the host."""
    value = unwrap(value)
    if _is_traced(value):
        raise TypeError(
            f"{fn}: {what} must be concrete host values (a list, a NumPy array or a concrete jax array), but got a "
            "traced array. They fix the shapes of the packed data, so they cannot be traced inside torchjax.compile "
            "or a torchjax.func / jax transform: pack outside the compiled function and pass the PackedSequence in, "
            "or pass the lengths as a Python list or NumPy array (not as a traced argument)."
        )
    return np.asarray(value).astype(np.int64)


def _bind(optional, fn):
    return None if optional is None else fn(optional)


def _as_tensor(value) -> Tensor | None:
    """A Tensor (kept as given), a jax or NumPy array as one, or None."""
    if value is None or isinstance(value, Tensor):
        return value
    return wrap(jnp.asarray(value))


def _on_cpu(values: np.ndarray) -> Tensor:
    """``values`` as a Tensor on the CPU, where torch keeps sequence lengths (JAX's default device when
    JAX runs without a CPU backend)."""
    try:
        device = jax.devices("cpu")[0]
    except RuntimeError:
        device = None
    return wrap(jax.device_put(values, device))


class PackedSequence(PackedSequence_):
    r"""The data and :attr:`batch_sizes` of a packed batch of sequences (what RNN layers accept).

    Made by :func:`pack_padded_sequence` and :func:`pack_sequence`, not by hand. Sequences ``abc`` and
    ``x`` pack into ``data = axbc`` with ``batch_sizes = [2, 1, 1]``.

    Attributes:
        data: the packed steps, ``(sum(batch_sizes), *)``, a Tensor.
        batch_sizes: NumPy int64 array (on the host, static under transforms; torch: a CPU int64
            tensor): how many sequences are still running at each step.
        sorted_indices: the order (an int Tensor) in which the original sequences were packed, or None.
        unsorted_indices: its inverse, which restores the original order, or None.

    A pytree whose leaves are ``data`` and the two permutations; ``batch_sizes`` is static metadata.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        sorted_indices, unsorted_indices = _as_tensor(sorted_indices), _as_tensor(unsorted_indices)
        if batch_sizes is not None:
            batch_sizes = _host_ints(batch_sizes, "batch_sizes", "PackedSequence")
            return super().__new__(cls, _as_tensor(data), batch_sizes, sorted_indices, unsorted_indices)
        if not (isinstance(data, list | tuple) and len(data) == 2):
            raise AssertionError("Expected data to be a list or tuple of length 2")
        return super().__new__(cls, _as_tensor(data[0]), _host_ints(data[1], "batch_sizes", "PackedSequence"),
                               sorted_indices, unsorted_indices)

    def pin_memory(self) -> PackedSequence:
        """Returns ``self``: JAX has no pinned host memory to opt into."""
        return self

    def is_pinned(self) -> bool:
        return False

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """Convert ``data`` (dtype and/or device, as ``Module.to`` parses them); the permutations follow
        ``data``'s device, ``batch_sizes`` stays on the host. Returns ``self`` when nothing changes."""
        from ..modules.module import _parse_to

        placement, dtype = _parse_to(*args, **kwargs)
        data = original = unwrap(self.data)
        if dtype is not None and data.dtype != dtype:
            check_dtype_supported(dtype, "PackedSequence.to")
            data = data.astype(dtype)
        if placement is not None and not _placed(data, placement):
            data = jax.device_put(data, placement)
        if data is original:
            return self

        def follow(t):
            return jax.device_put(unwrap(t), placement) if placement is not None else t

        return type(self)(data, self.batch_sizes, _bind(self.sorted_indices, follow),
                          _bind(self.unsorted_indices, follow))

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self.to("cuda", *args, **kwargs)

    def cpu(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self.to("cpu", *args, **kwargs)

    def double(self) -> PackedSequence:
        return self.to(dtype=jnp.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=jnp.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=jnp.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=jnp.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=jnp.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=jnp.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=jnp.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=jnp.uint8)

    @property
    def is_cuda(self) -> bool:
        """Whether ``data`` lives on a GPU."""
        data = self.data
        return not _is_traced(data) and any(d.platform == "gpu" for d in data.devices())


def _placed(data: jax.Array, placement) -> bool:
    """Whether ``data`` already lives where ``placement`` (a device or a sharding) puts it."""
    if _is_traced(data):
        return False
    if isinstance(placement, jax.Device):
        return data.devices() == {placement}
    return data.sharding == placement


def _flatten_packed(p: PackedSequence):
    return (p.data, p.sorted_indices, p.unsorted_indices), tuple(int(b) for b in p.batch_sizes)


def _unflatten_packed(batch_sizes: tuple, children) -> PackedSequence:
    data, sorted_indices, unsorted_indices = children
    # No checks and no conversions: transforms rebuild trees with placeholders as leaves.
    return tuple.__new__(PackedSequence, (data, np.asarray(batch_sizes, np.int64), sorted_indices,
                                          unsorted_indices))


jax.tree_util.register_pytree_node(PackedSequence, _flatten_packed, _unflatten_packed)


def invert_permutation(permutation) -> Tensor | None:
    """The inverse of ``permutation`` (a 1-D integer Tensor or array) as a Tensor, or None for None."""
    if permutation is None:
        return None
    if isinstance(permutation, np.ndarray):  # on the host: no device program per length
        output = np.empty_like(permutation)
        output[permutation] = np.arange(permutation.size, dtype=permutation.dtype)
        return wrap(jnp.asarray(output))
    permutation = jnp.asarray(unwrap(permutation))
    return wrap(jnp.zeros_like(permutation).at[permutation].set(jnp.arange(permutation.size, dtype=permutation.dtype)))


@functools.lru_cache(maxsize=256)
def _layout(batch_sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For packed steps with these batch sizes: ``valid`` ``(T, B)`` (step t of sequence b exists),
    ``index`` ``(T, B)`` (its row in ``data``, or ``N`` = the number of rows where it does not), and
    the ``(t, b)`` coordinates of the rows of ``data`` in order."""
    sizes = np.asarray(batch_sizes, np.int64)
    batch = int(sizes[0]) if sizes.size else 0
    columns = np.arange(batch)
    valid = columns[None, :] < sizes[:, None]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    index = np.where(valid, offsets[:, None] + columns[None, :], int(sizes.sum()))
    t_index, b_index = np.nonzero(valid)
    for a in (valid, index, t_index, b_index):
        a.flags.writeable = False
    return valid, index, t_index, b_index


def packed_to_padded(data: jax.Array, batch_sizes: np.ndarray, padding_value: Any = 0.0,
                     total_length: int | None = None) -> jax.Array:
    """``(T, B, *)`` time-major padded array of packed ``data`` (in the packed, sorted batch order)."""
    _, index, _, _ = _layout(tuple(int(b) for b in batch_sizes))
    if total_length is not None and total_length > index.shape[0]:
        extra = np.full((total_length - index.shape[0], index.shape[1]), int(np.sum(batch_sizes)))
        index = np.concatenate([index, extra])
    pad = jnp.full((1, *data.shape[1:]), padding_value, data.dtype)
    return jnp.concatenate([data, pad])[index]


def padded_to_packed(padded: jax.Array, batch_sizes: np.ndarray) -> jax.Array:
    """The packed rows of a ``(T, B, *)`` time-major padded array (sorted batch order)."""
    _, _, t_index, b_index = _layout(tuple(int(b) for b in batch_sizes))
    return padded[t_index, b_index]


def packed_mask(batch_sizes: np.ndarray) -> np.ndarray:
    """``(T, B)`` bool NumPy array: whether step t of (sorted) sequence b exists."""
    return _layout(tuple(int(b) for b in batch_sizes))[0]


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True) -> PackedSequence:
    r"""Pack a padded batch of variable-length sequences.

    Arguments:
        input: ``(T, B, *)`` (or ``(B, T, *)`` with ``batch_first``) padded sequences.
        lengths: the length of each sequence: concrete host values (a list, NumPy array or concrete jax
            array), never traced; see the module notes.
        batch_first: the layout of ``input``.
        enforce_sorted: require lengths in decreasing order (torch's errors otherwise); with False the
            batch is sorted here and the permutation recorded in ``sorted_indices``.

    Steps past a sequence's length are dropped. Returns a :class:`PackedSequence`.
    """
    lengths = _host_ints(lengths, "lengths", "pack_padded_sequence")
    x = jnp.asarray(unwrap(input))
    batch_dim = 0 if batch_first else 1
    sorted_indices = None
    if not enforce_sorted:
        if lengths.ndim != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.ndim}D cpu Long "
                               "tensor")
        order = np.argsort(-lengths, kind="stable")  # torch's sort keeps ties in their order
        lengths = lengths[order]
        canonical_dim(batch_dim, x.ndim)
        x = jnp.take(x, jnp.asarray(order), axis=batch_dim)
        sorted_indices = jnp.asarray(order)
    if batch_first:
        canonical_dim(1, x.ndim)
        x = jnp.swapaxes(x, 0, 1)
    batch = x.shape[canonical_dim(1, x.ndim)]
    if lengths.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {lengths.ndim}D cpu Long "
                           "tensor")
    if x.size == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if lengths.shape[0] != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.shape[0]} (batch_size={batch})")
    if lengths[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0")
    if np.any(lengths[:-1] < lengths[1:]):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
            "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement if you "
            "do not need ONNX exportability.")
    if lengths[0] > x.shape[0]:  # torch reads past the end of the input here
        raise RuntimeError(
            f"pack_padded_sequence: a length ({int(lengths[0])}) is larger than the padded sequence length "
            f"({x.shape[0]})")
    batch_sizes = (np.arange(int(lengths[0]))[:, None] < lengths[None, :]).sum(1).astype(np.int64)
    return PackedSequence(padded_to_packed(x, batch_sizes), batch_sizes, sorted_indices, None)


def _lengths_of(sequence: PackedSequence) -> np.ndarray | jax.Array:
    """Sequence lengths in the original batch order: NumPy when the permutation is concrete."""
    sizes = np.asarray(sequence.batch_sizes, np.int64)
    batch = int(sizes[0]) if sizes.size else 0
    lengths = (np.arange(batch)[None, :] < sizes[:, None]).sum(0).astype(np.int64)
    unsorted = unwrap(sequence.unsorted_indices)
    if unsorted is None:
        return lengths
    if _is_traced(unsorted):
        return jnp.asarray(lengths)[unsorted]
    return lengths[np.asarray(unsorted)]


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    r"""Unpack a :class:`PackedSequence` into a padded array (the inverse of :func:`pack_padded_sequence`).

    Arguments:
        sequence: the packed batch.
        batch_first: return ``(B, T, *)`` instead of ``(T, B, *)``.
        padding_value: value of the steps past each sequence's end.
        total_length: pad to this many steps (ValueError when shorter than the longest sequence).

    Returns ``(padded, lengths)``, in the batch order given to the packing function. ``lengths`` is an
    int Tensor on the CPU, as torch's (int32 without ``jax_enable_x64``; traced only when the
    PackedSequence's permutation is itself traced: a PackedSequence passed into a compiled function).
    """
    max_seq_length = len(sequence.batch_sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in input, but got "
                f"total_length={total_length} and max sequence length being {max_seq_length}")
    data = jnp.asarray(unwrap(sequence.data))
    padded = packed_to_padded(data, sequence.batch_sizes, padding_value, total_length)
    if batch_first:
        padded = jnp.swapaxes(padded, 0, 1)
    lengths = _lengths_of(sequence)
    if sequence.unsorted_indices is not None:
        padded = jnp.take(padded, jnp.asarray(unwrap(sequence.unsorted_indices)), axis=0 if batch_first else 1)
    return wrap(padded), wrap(lengths) if _is_traced(lengths) else _on_cpu(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    r"""Stack variable-length sequences ``(L_i, *)`` into one padded array.

    Arguments:
        sequences: a list (any iterable) of arrays with equal trailing dimensions; an array is
            iterated over its first dimension.
        batch_first: ``(B, T, *)`` instead of ``(T, B, *)``.
        padding_value: value of the padding.
        padding_side: ``'right'`` (pad after each sequence) or ``'left'``.

    The result has the first sequence's dtype (the others are cast to it), as in torch.
    """
    if not isinstance(sequences, Iterable) and not isinstance(sequences, jax.Array | Tensor):
        raise RuntimeError(
            f"pad_sequence: Expected iterable for input sequences, but got arg of type: {type(sequences)}")
    sequences = [jnp.asarray(unwrap(s)) for s in sequences]
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    first = sequences[0]
    trailing = first.shape[1:]
    for s in sequences[1:]:
        if s.ndim == 0 or s.shape[1:] != trailing:
            for dim, (a, b) in enumerate(zip(s.shape[1:], trailing, strict=False), start=1):
                if a != b:
                    raise RuntimeError(f"The size of tensor a ({b}) must match the size of tensor b ({a}) at "
                                       f"non-singleton dimension {dim}")
            raise RuntimeError(f"pad_sequence: every sequence must have the trailing dimensions {tuple(trailing)}, "
                               f"got {tuple(s.shape[1:])}")
    max_len = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = [(0, 0)] * (s.ndim - 1)
        width = (0, max_len - s.shape[0]) if padding_side == "right" else (max_len - s.shape[0], 0)
        padded.append(jnp.pad(s.astype(first.dtype), [width, *extra], constant_values=padding_value))
    return wrap(jnp.stack(padded, axis=0 if batch_first else 1))


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False) -> list[Tensor]:
    r"""Split a padded array into the list of its sequences (the inverse of :func:`pad_sequence`).

    ``lengths`` must be concrete host values (they give each output its shape). Unlike torch, the
    padded array is not transposed in place when ``batch_first`` is False (arrays are immutable).
    """
    lengths = _host_ints(lengths, "lengths", "unpad_sequence")
    padded = jnp.asarray(unwrap(padded_sequences))
    if not batch_first:
        padded = jnp.swapaxes(padded, 0, 1)
    if len(lengths) != padded.shape[0]:
        raise ValueError(f"zip() argument 2 is {'longer' if len(lengths) > padded.shape[0] else 'shorter'} than "
                         "argument 1")
    return [wrap(seq[:int(length)]) for seq, length in zip(padded, lengths, strict=True)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    r"""Pack a list of variable-length sequences ``(L_i, *)``: :func:`pad_sequence` then
    :func:`pack_padded_sequence` (``enforce_sorted`` as there)."""
    lengths = [jnp.shape(unwrap(v))[0] for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    r"""The list of sequences in a :class:`PackedSequence`, in their original order.

    Needs the PackedSequence's permutation to be concrete (it gives each output its shape)."""
    if _is_traced(packed_sequences.unsorted_indices):
        raise TypeError(
            "unpack_sequence: the PackedSequence's unsorted_indices are traced, so the length of each output "
            "sequence is unknown while tracing. Unpack outside the compiled function, or use pad_packed_sequence.")
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)

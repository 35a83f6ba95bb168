"""Embedding layers: ``Embedding`` and ``EmbeddingBag``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ... import _ops
from .. import functional as F
from .. import init
from ..functional.sparse import _padding_index
from ..parameter import Parameter, _unwrap
from .module import Module

__all__ = ["Embedding", "EmbeddingBag"]


class _EmbeddingTable(Module):
    """The weight table shared by both layers: creation (or adoption of ``_weight``), init and
    the zeroed padding row."""

    num_embeddings: int
    embedding_dim: int
    padding_idx: int | None
    weight: Parameter

    def _create_weight(self, _weight, requires_grad: bool, device, dtype) -> None:
        if _weight is None:
            self.weight = Parameter(_ops.empty((self.num_embeddings, self.embedding_dim), device=device, dtype=dtype),
                                    requires_grad=requires_grad)
            self.reset_parameters()
        else:
            if list(jnp.shape(_unwrap(_weight))) != [self.num_embeddings, self.embedding_dim]:
                raise AssertionError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_unwrap(_weight), requires_grad=requires_grad)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            self.weight._data = self.weight._data.at[self.padding_idx].set(0)


class Embedding(_EmbeddingTable):
    r"""A lookup table: row ``i`` of ``weight`` for each index ``i`` of the input.

    Arguments:
        num_embeddings: size of the dictionary.
        embedding_dim: size of each embedding vector.
        padding_idx: this row gets no gradient and starts as zeros.
        max_norm: rows looked up whose ``norm_type``-norm exceeds it are rescaled to ``max_norm``;
            eagerly the stored weight is updated as in torch, under tracing only the output
            (see :func:`F.embedding`).
        norm_type: the p of the p-norm for ``max_norm``.
        scale_grad_by_freq: divide gradients by the index frequencies in the mini-batch.
        sparse: accepted for porting; gradients are dense arrays.
        device, dtype: where and in which dtype to create the weight.

    Shape:
        - Input: ``(*)`` int32/int64 indices; output ``(*, embedding_dim)``.

    Attributes:
        weight: ``(num_embeddings, embedding_dim)``, initialised from :math:`\mathcal{N}(0, 1)`.
    """

    __constants__ = ["num_embeddings", "embedding_dim", "padding_idx", "max_norm", "norm_type",
                     "scale_grad_by_freq", "sparse"]

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings, "Padding_idx must be within num_embeddings")
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self._create_weight(_weight, not _freeze, device, dtype)
        self.sparse = sparse

    def forward(self, input: jax.Array) -> jax.Array:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding holding ``embeddings`` ``(num_embeddings, embedding_dim)`` as its weight,
        frozen (``requires_grad=False``) unless ``freeze=False``."""
        if jnp.ndim(_unwrap(embeddings)) != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = jnp.shape(_unwrap(embeddings))
        return cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings, _freeze=freeze,
                   padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


class EmbeddingBag(_EmbeddingTable):
    r"""Sums, means or maxima of bags of embeddings, computed without the per-index embeddings
    being returned.

    Arguments:
        num_embeddings, embedding_dim: the table's shape.
        max_norm, norm_type, scale_grad_by_freq, sparse: as :class:`Embedding` (no
            ``scale_grad_by_freq``/``sparse`` with ``mode='max'``).
        mode: ``'sum'``, ``'mean'`` (default) or ``'max'``.
        include_last_offset: ``offsets`` has one extra entry, the end of the last bag (CSR style).
        padding_idx: entries equal to it are left out of the reduction; that row starts as zeros
            and gets no gradient.
        device, dtype: where and in which dtype to create the weight.

    Shape:
        - ``input`` ``(B, N)`` with ``offsets`` None, or ``(N,)`` with ``offsets`` ``(B,)`` /
          ``(B + 1,)``; ``per_sample_weights`` like ``input`` (``mode='sum'`` only).
        - Output ``(B, embedding_dim)``; empty bags give zeros.
    """

    __constants__ = ["num_embeddings", "embedding_dim", "max_norm", "norm_type", "scale_grad_by_freq", "mode",
                     "sparse", "include_last_offset", "padding_idx"]

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight=None, include_last_offset: bool = False,
                 padding_idx: int | None = None, device=None, dtype=None) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = _padding_index(padding_idx, num_embeddings, "padding_idx must be within num_embeddings")
        self._create_weight(_weight, True, device, dtype)
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def forward(self, input: jax.Array, offsets: jax.Array | None = None,
                per_sample_weights: jax.Array | None = None) -> jax.Array:
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                               self.mode, self.sparse, per_sample_weights, self.include_last_offset,
                               self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings!r}, {self.embedding_dim!r}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm!r}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type!r}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx!r}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """An EmbeddingBag holding ``embeddings`` as its weight, frozen unless ``freeze=False``."""
        if jnp.ndim(_unwrap(embeddings)) != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = jnp.shape(_unwrap(embeddings))
        bag = cls(num_embeddings=rows, embedding_dim=cols, _weight=embeddings, max_norm=max_norm,
                  norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse,
                  include_last_offset=include_last_offset, padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

"""The Transformer family: ``Transformer``, ``TransformerEncoder``, ``TransformerDecoder``,
``TransformerEncoderLayer``, ``TransformerDecoderLayer``.

Parameter names, init and the math are torch's, so a torch ``state_dict`` loads unchanged and gives
torch's outputs. torch's inference fast path (nested tensors, fused encoder kernels) is not
reproduced: every call computes what torch's general path computes. The one visible difference:
torch's fast path (eval mode, no gradients, batch_first, a key padding mask) returns zeros at
padded positions, the general path (and torchjax) returns their computed values.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._device import as_dtype, check_dtype_supported, get_default_dtype, to_jax_device
from ..._tensor import Tensor, wrap
from .. import functional as F
from .. import init
from ..functional import attention as FA
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerEncoderLayer"]


def _generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """``(sz, sz)`` float mask: ``-inf`` above the diagonal (future positions), 0 elsewhere."""
    dtype = get_default_dtype() if dtype is None else check_dtype_supported(as_dtype(dtype),
                                                                            "generate_square_subsequent_mask")
    mask = jnp.triu(jnp.full((sz, sz), -jnp.inf, dtype=dtype), k=1)
    return wrap(mask if device is None else jax.device_put(mask, to_jax_device(device)))


def _get_seq_len(src: jax.Array, batch_first: bool) -> int:
    shape = jnp.shape(src)
    return shape[0] if len(shape) == 2 else shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask: jax.Array | None, is_causal: bool | None = None, size: int | None = None) -> bool:
    """``is_causal`` when given; otherwise whether ``mask`` equals the causal mask. The comparison
    needs concrete values: under tracing an undeclared mask counts as not causal, which changes
    nothing numerically (the mask is then applied as it is)."""
    if is_causal is not None:
        return is_causal is True
    if mask is None or isinstance(mask, jax.core.Tracer):
        return False
    sz = size if size is not None else mask.shape[-2]
    # In NumPy: inside a trace even jnp ops on concrete values give tracers.
    return mask.shape == (sz, sz) and bool(np.array_equal(np.asarray(mask), np.triu(np.full((sz, sz), -np.inf), 1)))


def _get_activation_fn(activation: str) -> Callable[[jax.Array], jax.Array]:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _get_clones(module: Module, n: int) -> ModuleList:
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _canonical_masks(padding_mask, mask, padding_name: str, mask_name: str, dtype) -> tuple[Any, Any]:
    padding_mask = FA._canonical_mask(padding_mask, padding_name, FA._none_or_dtype(mask), mask_name, dtype)
    mask = FA._canonical_mask(mask, mask_name, None, "", dtype, check_other=False)
    return padding_mask, mask


class Transformer(Module):
    r"""The encoder-decoder Transformer of "Attention Is All You Need".

    Arguments:
        d_model: feature size of the encoder and decoder inputs.
        nhead: attention heads.
        num_encoder_layers, num_decoder_layers: depth of each stack.
        dim_feedforward: hidden size of the feed-forward blocks.
        dropout: dropout probability throughout.
        activation: ``"relu"``, ``"gelu"`` or a unary callable (a function or a Module).
        custom_encoder, custom_decoder: used instead of the default stacks.
        layer_norm_eps: LayerNorm epsilon.
        batch_first: ``(N, S, E)`` instead of ``(S, N, E)``.
        norm_first: LayerNorm before (pre-norm) rather than after each block.
        bias: whether Linear and LayerNorm layers learn biases.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        src ``(S, E)`` / ``(S, N, E)`` / ``(N, S, E)``; tgt ``(T, ·)`` alike; output like tgt.
        Masks: ``src_mask`` ``(S, S)`` or ``(N·nhead, S, S)``, ``tgt_mask`` ``(T, T)`` ...,
        ``memory_mask`` ``(T, S)``; key padding masks ``(N, S)`` / ``(N, T)``. Bool ``True``
        masks a position out; a float mask is added to the attention logits.

    Every weight matrix (dim > 1) is re-initialised with ``xavier_uniform_``, as in torch.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[jax.Array], jax.Array] = F.relu, custom_encoder: Any | None = None,
                 custom_decoder: Any | None = None, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None) -> None:
        factory = dict(device=device, dtype=dtype)
        super().__init__()
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                                    layer_norm_eps, batch_first, norm_first, bias, **factory)
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
            self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation,
                                                    layer_norm_eps, batch_first, norm_first, bias, **factory)
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
            self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, decoder_norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src: jax.Array, tgt: jax.Array, src_mask: jax.Array | None = None,
                tgt_mask: jax.Array | None = None, memory_mask: jax.Array | None = None,
                src_key_padding_mask: jax.Array | None = None, tgt_key_padding_mask: jax.Array | None = None,
                memory_key_padding_mask: jax.Array | None = None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> jax.Array:
        """Encode ``src``, decode ``tgt`` against the encoding. ``*_is_causal`` declare that the
        matching mask is the causal mask (None: detected by comparing values, eagerly)."""
        src_shape, tgt_shape = jnp.shape(src), jnp.shape(tgt)
        is_batched = len(src_shape) == 3
        batch_axis = 0 if self.batch_first else 1
        if is_batched and src_shape[batch_axis] != tgt_shape[batch_axis]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src_shape[-1] != self.d_model or tgt_shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """``(sz, sz)`` causal mask: ``-inf`` above the diagonal, 0 on and below it."""
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (deep copies: all start equal, as in
    torch), then ``norm`` if given.

    Arguments:
        encoder_layer: a :class:`TransformerEncoderLayer` (or any module with its call signature).
        num_layers: number of copies.
        norm: final layer normalisation, or None.
        enable_nested_tensor, mask_check: accepted and stored as torch does (with torch's warning
            when the nested-tensor path could not apply); torchjax has no nested tensors and always
            computes torch's padded (general) path.
    """

    __constants__ = ["norm"]

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why_not = _why_not_sparsity_fast_path(encoder_layer)
        if enable_nested_tensor and why_not:
            warnings.warn(
                f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why_not}",
                stacklevel=2,
            )
            self.use_nested_tensor = False

    def forward(self, src: jax.Array, mask: jax.Array | None = None, src_key_padding_mask: jax.Array | None = None,
                is_causal: bool | None = None) -> jax.Array:
        """Run ``src`` through the layers; ``mask`` / ``src_key_padding_mask`` as in
        :class:`Transformer`; ``is_causal`` declares ``mask`` causal (None: detected eagerly)."""
        src_key_padding_mask, mask = _canonical_masks(src_key_padding_mask, mask, "src_key_padding_mask", "mask",
                                                      FA._array(src).dtype)
        batch_first = self.layers[0].self_attn.batch_first
        is_causal = _detect_is_causal_mask(mask, is_causal, _get_seq_len(src, batch_first))
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


def _why_not_sparsity_fast_path(layer: Module) -> str:
    """torch's reason for not using its nested-tensor path (kept for the same warning)."""
    name = "encoder_layer"
    if not isinstance(layer, TransformerEncoderLayer):
        return f"{name} was not TransformerEncoderLayer"
    if layer.norm_first:
        return f"{name}.norm_first was True"
    if not layer.self_attn.batch_first:
        return f"{name}.self_attn.batch_first was not True(use batch_first for better inference performance)"
    if not layer.self_attn._qkv_same_embed_dim:
        return f"{name}.self_attn._qkv_same_embed_dim was not True"
    if layer.self_attn.in_proj_bias is None:
        return f"{name}.self_attn was passed bias=False"
    if not layer.activation_relu_or_gelu:
        return f"{name}.activation_relu_or_gelu was not True"
    if layer.norm1.eps != layer.norm2.eps:
        return f"{name}.norm1.eps was not equal to {name}.norm2.eps"
    if layer.self_attn.num_heads % 2 == 1:
        return f"{name}.self_attn.num_heads is odd"
    return ""


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer``, then ``norm`` if given."""

    __constants__ = ["norm"]

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: jax.Array, memory: jax.Array, tgt_mask: jax.Array | None = None,
                memory_mask: jax.Array | None = None, tgt_key_padding_mask: jax.Array | None = None,
                memory_key_padding_mask: jax.Array | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> jax.Array:
        """Decode ``tgt`` against ``memory`` through every layer; masks as in :class:`Transformer`."""
        seq_len = _get_seq_len(tgt, self.layers[0].self_attn.batch_first)
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                           memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


def _set_activation(layer: Module, activation: str | Callable) -> None:
    if isinstance(activation, str):
        activation = _get_activation_fn(activation)
    if activation is F.relu or isinstance(activation, ReLU):
        layer.activation_relu_or_gelu = 1
    elif activation is F.gelu or isinstance(activation, GELU):
        layer.activation_relu_or_gelu = 2
    else:
        layer.activation_relu_or_gelu = 0
    layer.activation = activation


class TransformerEncoderLayer(Module):
    r"""Self-attention then a feed-forward block, each with dropout, a residual connection and
    LayerNorm (after each block, or before it with ``norm_first``).

    Arguments:
        d_model: input feature size; nhead: attention heads.
        dim_feedforward: hidden size of the feed-forward block.
        dropout: dropout probability (attention weights, after each block, inside the feed-forward).
        activation: ``"relu"``, ``"gelu"`` or a unary callable.
        layer_norm_eps: LayerNorm epsilon.
        batch_first: ``(N, S, E)`` instead of ``(S, N, E)``.
        norm_first: pre-norm instead of post-norm.
        bias: whether Linear and LayerNorm layers learn biases.
        device, dtype: where and in which dtype to create the parameters.
    """

    __constants__ = ["norm_first"]

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[jax.Array], jax.Array] = F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, device=None,
                 dtype=None) -> None:
        factory = dict(device=device, dtype=dtype)
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        _set_activation(self, activation)

    def forward(self, src: jax.Array, src_mask: jax.Array | None = None,
                src_key_padding_mask: jax.Array | None = None, is_causal: bool = False) -> jax.Array:
        """``src`` through the layer; masks as in :class:`Transformer`; ``is_causal`` declares
        ``src_mask`` to be the causal mask (a mask is still required)."""
        src_key_padding_mask, src_mask = _canonical_masks(src_key_padding_mask, src_mask, "src_key_padding_mask",
                                                          "src_mask", FA._array(src).dtype)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal=is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal=is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: jax.Array, attn_mask, key_padding_mask, is_causal: bool = False) -> jax.Array:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: jax.Array) -> jax.Array:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(Module):
    r"""Self-attention, attention over the encoder output (``memory``), then a feed-forward block,
    each with dropout, a residual connection and LayerNorm (post- or pre-norm).

    Arguments: as :class:`TransformerEncoderLayer`.
    """

    __constants__ = ["norm_first"]

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[jax.Array], jax.Array] = F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, device=None,
                 dtype=None) -> None:
        factory = dict(device=device, dtype=dtype)
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                            **factory)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first,
                                                 bias=bias, **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _get_activation_fn(activation) if isinstance(activation, str) else activation

    def forward(self, tgt: jax.Array, memory: jax.Array, tgt_mask: jax.Array | None = None,
                memory_mask: jax.Array | None = None, tgt_key_padding_mask: jax.Array | None = None,
                memory_key_padding_mask: jax.Array | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> jax.Array:
        """``tgt`` through the layer, attending to ``memory``; masks as in :class:`Transformer`."""
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x: jax.Array, attn_mask, key_padding_mask, is_causal: bool = False) -> jax.Array:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                           need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x: jax.Array, mem: jax.Array, attn_mask, key_padding_mask,
                   is_causal: bool = False) -> jax.Array:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x: jax.Array) -> jax.Array:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)

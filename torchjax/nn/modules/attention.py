"""``MultiheadAttention`` (in torch it lives in ``activation.py``; here it has its own family file)."""

from __future__ import annotations

import jax

from ... import _ops
from .. import init
from ..functional import attention as FA
from ..parameter import Parameter
from .linear import NonDynamicallyQuantizableLinear  # torch keeps it in linear.py; importable here too
from .module import Module

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    r"""Multi-head attention: :math:`\text{Concat}(\text{head}_1, \dots, \text{head}_h) W^O` with
    :math:`\text{head}_i = \text{Attention}(Q W_i^Q, K W_i^K, V W_i^V)`.

    Arguments:
        embed_dim: model dimension ``E`` (split across the heads).
        num_heads: parallel heads; ``E`` must be divisible by it.
        dropout: dropout on the attention weights in training mode.
        bias: learn input and output projection biases.
        add_bias_kv: learn biases ``bias_k``, ``bias_v`` appended to the key/value sequences.
        add_zero_attn: append a zero key/value position.
        kdim, vdim: key and value feature sizes (default ``embed_dim``). When either differs,
            the projections are separate parameters ``q_proj_weight``, ``k_proj_weight``,
            ``v_proj_weight``; otherwise one packed ``in_proj_weight`` ``(3E, E)``.
        batch_first: inputs and outputs are ``(N, L, E)`` instead of ``(L, N, E)``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - query ``(L, E)``, ``(L, N, E)`` or ``(N, L, E)`` (batch_first); key ``(S, kdim)`` ...;
          value ``(S, vdim)`` ...
        - output ``(L, E)`` / ``(L, N, E)`` / ``(N, L, E)``; weights ``(L, S)`` / ``(N, L, S)``
          (averaged) or ``(num_heads, L, S)`` / ``(N, num_heads, L, S)``.

    Init (as torch): ``xavier_uniform_`` on the input projections, zero biases, ``xavier_normal_``
    on ``bias_k``/``bias_v``; ``out_proj.weight`` keeps ``Linear``'s default. torch's inference
    fast path (nested tensors) does not exist here; every call computes what torch's general path
    computes.
    """

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                f"num_heads={num_heads} instead"
            )
        factory = dict(device=device, dtype=dtype)
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(_ops.empty((embed_dim, embed_dim), **factory))
            self.k_proj_weight = Parameter(_ops.empty((embed_dim, self.kdim), **factory))
            self.v_proj_weight = Parameter(_ops.empty((embed_dim, self.vdim), **factory))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(_ops.empty((3 * embed_dim, embed_dim), **factory))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(_ops.empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **factory)
        if add_bias_kv:
            self.bias_k = Parameter(_ops.empty((1, 1, embed_dim), **factory))
            self.bias_v = Parameter(_ops.empty((1, 1, embed_dim), **factory))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(self, query: jax.Array, key: jax.Array, value: jax.Array, key_padding_mask: jax.Array | None = None,
                need_weights: bool = True, attn_mask: jax.Array | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[jax.Array, jax.Array | None]:
        """Attend from ``query`` to ``key``/``value``; see :func:`F.multi_head_attention_forward`.

        ``key_padding_mask`` ``(N, S)`` / ``(S,)`` and ``attn_mask`` ``(L, S)`` /
        ``(N·num_heads, L, S)``: bool ``True`` = may not attend, or float added to the logits.
        ``need_weights=False`` skips computing the weights (and uses the fused kernel).
        """
        is_batched = getattr(query, "ndim", 0) == 3
        key_padding_mask = FA._canonical_mask(key_padding_mask, "key_padding_mask", FA._none_or_dtype(attn_mask),
                                              "attn_mask", FA._array(query).dtype)
        attn_mask = FA._canonical_mask(attn_mask, "attn_mask", None, "", FA._array(query).dtype, check_other=False)
        if self.batch_first and is_batched:
            # Transpose once per distinct array, so self-attention stays recognisable (query is key).
            if key is value:
                if query is key:
                    query = key = value = FA._array(query).swapaxes(0, 1)
                else:
                    query, key = (FA._array(x).swapaxes(0, 1) for x in (query, key))
                    value = key
            else:
                query, key, value = (FA._array(x).swapaxes(0, 1) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        attn_output, attn_weights = FA.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=separate,
            q_proj_weight=self.q_proj_weight if separate else None,
            k_proj_weight=self.k_proj_weight if separate else None,
            v_proj_weight=self.v_proj_weight if separate else None,
            average_attn_weights=average_attn_weights, is_causal=is_causal,
        )
        if self.batch_first and is_batched:
            attn_output = attn_output.swapaxes(0, 1)
        return attn_output, attn_weights

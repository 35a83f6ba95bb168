"""Attention as functions of arrays: ``F.scaled_dot_product_attention`` and
``F.multi_head_attention_forward`` (the math behind ``nn.MultiheadAttention``)."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from ... import _random
from ..._warnings import warn
from .. import attention as _attention_backends
from ..parameter import _unwrap
from .linear import linear

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]

_LOW_PRECISION = (jnp.float16, jnp.bfloat16)

# On a GPU, half-precision attention without a mask tries cuDNN's fused kernel first (and falls
# back to XLA when cuDNN refuses the shapes). Set to "xla" to always use XLA's own lowering; it is
# read when a shape is first traced, so set it before the first call.
_GPU_IMPLEMENTATION = "cudnn"


def _array(x) -> jax.Array:
    return jnp.asarray(_unwrap(x))


def _is_bool(x) -> bool:
    return x.dtype == jnp.bool_


def _check_dropout(dropout_p: float) -> None:
    if dropout_p > 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


def _safe_softmax(logits: jax.Array) -> jax.Array:
    """Softmax over the last axis that gives 0 (not NaN) on rows that are entirely ``-inf``,
    as torch's attention kernels do."""
    row_max = jnp.max(logits, axis=-1, keepdims=True, initial=-jnp.inf)
    shifted = jnp.exp(logits - jax.lax.stop_gradient(jnp.where(jnp.isfinite(row_max), row_max, 0)))
    total = jnp.sum(shifted, axis=-1, keepdims=True)
    return shifted / jnp.where(total == 0, 1, total)


def _dropout_weights(weights: jax.Array, p: float, rng_key) -> jax.Array:
    """F.dropout's rule with a key drawn by the caller (outside any jit, from the generator)."""
    if p <= 0.0:
        return weights
    if p >= 1.0:
        return jnp.zeros_like(weights)
    keep = jax.random.bernoulli(rng_key, 1.0 - p, weights.shape)
    return jnp.where(keep, weights / (1.0 - p), 0).astype(weights.dtype)


def _causal(target_len: int, source_len: int) -> jax.Array:
    """``True`` where query ``i`` may attend key ``j``: ``j <= i`` (upper-left aligned, as torch)."""
    return jnp.tril(jnp.ones((target_len, source_len), dtype=bool))


def _broadcast_heads(q, k, v, enable_gqa: bool):
    """Broadcast the batch dimensions of ``(..., H, L, E)`` arrays; returns them with one flat
    batch axis, ``(B, H, L, E)``, plus the output's leading shape. Key/value heads are left at a
    divisor of the query heads (grouped-query attention) where that is legal."""
    rank = max(q.ndim, k.ndim, v.ndim, 3)
    q, k, v = (x.reshape((1,) * (rank - x.ndim) + x.shape) for x in (q, k, v))
    try:
        lead = jnp.broadcast_shapes(q.shape[:-3], k.shape[:-3], v.shape[:-3])
    except ValueError as e:
        raise RuntimeError(f"scaled_dot_product_attention: batch dimensions do not broadcast: {e}") from None
    heads_q, heads_k, heads_v = q.shape[-3], k.shape[-3], v.shape[-3]
    if enable_gqa:
        if heads_q % heads_k or heads_q % heads_v:
            raise RuntimeError(
                "Number of heads in key and value must divide the number of heads in query "
                f"(query has {heads_q}, key {heads_k}, value {heads_v})"
            )
        heads = heads_q
        if heads_k != heads_v:  # the fused kernel wants key and value alike: expand both fully
            k, v = jnp.repeat(k, heads // heads_k, axis=-3), jnp.repeat(v, heads // heads_v, axis=-3)
    else:
        try:
            heads = jnp.broadcast_shapes((heads_q,), (heads_k,), (heads_v,))[0]
        except ValueError:
            raise RuntimeError(
                f"scaled_dot_product_attention: query has {heads_q} heads, key {heads_k} and value {heads_v}; "
                "they must match (or be 1) unless enable_gqa=True"
            ) from None
        kv_heads = heads_k if heads_k == heads_v else heads
        if kv_heads not in (1, heads):
            kv_heads = heads
        k = jnp.broadcast_to(k, k.shape[:-3] + (kv_heads,) + k.shape[-2:])
        v = jnp.broadcast_to(v, v.shape[:-3] + (kv_heads,) + v.shape[-2:])
    batch = math.prod(lead)
    q = jnp.broadcast_to(q, lead + (heads,) + q.shape[-2:]).reshape((batch, heads) + q.shape[-2:])
    k = jnp.broadcast_to(k, lead + k.shape[-3:]).reshape((batch,) + k.shape[-3:])
    v = jnp.broadcast_to(v, lead + v.shape[-3:]).reshape((batch,) + v.shape[-3:])
    return q, k, v, lead, heads


def _mask_4d(mask: jax.Array, lead: tuple, heads: int, target_len: int, source_len: int) -> jax.Array:
    """``mask`` as ``(B or 1, H or 1, L or 1, S or 1)``, without materialising broadcast dimensions
    where the flat batch axis allows it."""
    full = lead + (heads, target_len, source_len)
    try:
        shape = jnp.broadcast_shapes(mask.shape, full)
    except ValueError:
        shape = None
    if shape != full:
        raise RuntimeError(
            f"scaled_dot_product_attention: attn_mask of shape {list(mask.shape)} does not broadcast to the "
            f"attention weights' shape {list(full)}"
        )
    mask = mask.reshape((1,) * (len(full) - mask.ndim) + mask.shape)
    if all(d == 1 for d in mask.shape[:-3]):
        return mask.reshape((1,) + mask.shape[-3:])
    return jnp.broadcast_to(mask, lead + mask.shape[-3:]).reshape((-1,) + mask.shape[-3:])


def _attention_math(q, k, v, bias, keep, scale: float, dropout_p: float, rng_key) -> jax.Array:
    """Explicit attention on ``(B, H, L, E)`` arrays: the path for dropout and for shapes the
    fused kernel does not take. ``bias`` is added to the scaled logits, ``keep`` (bool) masks."""
    if k.shape[1] != q.shape[1]:  # grouped keys/values: repeat each head for its query group
        k, v = jnp.repeat(k, q.shape[1] // k.shape[1], axis=1), jnp.repeat(v, q.shape[1] // v.shape[1], axis=1)
    accumulate = jnp.float32 if q.dtype in _LOW_PRECISION else q.dtype
    logits = jnp.einsum("bhle,bhse->bhls", q, k, preferred_element_type=accumulate) * jnp.asarray(scale, accumulate)
    if bias is not None:
        logits = logits + bias.astype(accumulate)
    if keep is not None:
        logits = jnp.where(keep, logits, -jnp.inf)
    weights = _dropout_weights(_safe_softmax(logits), dropout_p, rng_key)
    return jnp.einsum("bhls,bhsv->bhlv", weights.astype(v.dtype), v, preferred_element_type=accumulate).astype(q.dtype)


def _attention_fused(q, k, v, bias, keep, is_causal: bool, scale: float, cudnn: bool = True) -> jax.Array:
    """``jax.nn.dot_product_attention`` on ``(B, H, L, E)`` arrays (it wants ``(B, L, H, E)``)."""
    q, k, v = (jnp.swapaxes(x, 1, 2) for x in (q, k, v))
    kwargs = dict(bias=bias, mask=keep, scale=scale, is_causal=is_causal)
    out = None
    if (cudnn and _GPU_IMPLEMENTATION == "cudnn" and jax.default_backend() == "gpu" and bias is None and keep is None
            and q.dtype in _LOW_PRECISION and (not is_causal or q.shape[1] == k.shape[1])):
        try:
            out = jax.nn.dot_product_attention(q, k, v, implementation="cudnn", **kwargs)
        except (NotImplementedError, ValueError, RuntimeError):
            out = None  # shapes or hardware cuDNN does not support
    if out is None:
        out = jax.nn.dot_product_attention(q, k, v, **kwargs)
    return jnp.swapaxes(out, 1, 2)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, enable_gqa: bool = False) -> jax.Array:
    r"""``softmax(Q Kᵀ · scale + mask) V`` over the last two dimensions.

    Arguments:
        query: ``(N, ..., Hq, L, E)``.
        key: ``(N, ..., H, S, E)``; batch dimensions broadcast against the query's.
        value: ``(N, ..., H, S, Ev)``.
        attn_mask: broadcastable to ``(N, ..., Hq, L, S)``. A bool mask is ``True`` where a query
            may attend (the opposite of ``nn.MultiheadAttention``'s masks); a float mask of the
            query's dtype is added to the scaled logits.
        dropout_p: dropout on the attention weights, always applied when > 0 (pass 0 in eval);
            the mask comes from the torchjax default generator.
        is_causal: query ``i`` attends keys ``j <= i`` (upper-left aligned when ``L != S``).
        scale: logit scale; ``1/sqrt(E)`` when None.
        enable_gqa: grouped-query attention: ``H`` divides ``Hq`` and each key/value head serves
            ``Hq / H`` consecutive query heads.

    Returns ``(N, ..., Hq, L, Ev)``. A query row that may attend nothing gives zeros, as torch's
    kernels do.

    Implementation: ``jax.nn.dot_product_attention`` (fused cuDNN attention on GPUs for half
    precision without a mask) whenever dropout is off and ``Ev == E``; dropout, ``Ev != E`` and
    float64 (whose softmax that function would compute in float32) take an explicit softmax path.
    torch 2.13's CPU kernels accept ``attn_mask`` together with ``is_causal`` (both apply), and so
    does torchjax; its math backend refuses that combination.
    """
    q, k, v = _array(query), _array(key), _array(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
            f"{q.ndim} key.dim: {k.ndim} and value.dim: {v.ndim} instead."
        )
    if not (q.dtype == k.dtype == v.dtype):
        raise RuntimeError(
            f"Expected query, key, and value to have the same dtype, but got query.dtype: {q.dtype} key.dtype: "
            f"{k.dtype} and value.dtype: {v.dtype} instead."
        )
    if not jnp.issubdtype(q.dtype, jnp.floating):
        raise RuntimeError(f"scaled_dot_product_attention: expected a floating point query, got {q.dtype}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: query {list(q.shape)}, key {list(k.shape)} and value {list(v.shape)} "
            "must agree: query and key in the last dimension, key and value in the sequence dimension"
        )
    _check_dropout(dropout_p)
    mask = None
    if attn_mask is not None:
        mask = _array(attn_mask)
        if not _is_bool(mask) and mask.dtype != q.dtype:
            raise RuntimeError(
                f"Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: "
                f"{mask.dtype} and  query.dtype: {q.dtype} instead."
            )
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    dropout_p = max(float(dropout_p), 0.0)
    math_ok, fused_ok, cudnn_ok = _attention_backends._paths()
    needs_math = (dropout_p > 0.0 or v.shape[-1] != q.shape[-1] or q.shape[-2] == 0 or k.shape[-2] == 0
                  or q.dtype == jnp.float64)
    if not (math_ok or (fused_ok and not needs_math)):
        raise RuntimeError("No available kernel. Aborting execution. (scaled_dot_product_attention: the kernels "
                           f"enabled by sdpa_kernel, {list(_attention_backends._enabled)}, cannot run this call"
                           + (": it needs the MATH backend)" if needs_math and fused_ok else ")"))
    rng_key = _random.next_key() if 0.0 < dropout_p < 1.0 else None
    return _sdpa(q, k, v, mask, rng_key, dropout_p=dropout_p, is_causal=bool(is_causal), scale=scale,
                 enable_gqa=bool(enable_gqa), fused=fused_ok, cudnn=cudnn_ok)


@functools.partial(jax.jit, static_argnames=("dropout_p", "is_causal", "scale", "enable_gqa", "fused", "cudnn"))
def _sdpa(q, k, v, mask, rng_key, *, dropout_p: float, is_causal: bool, scale: float, enable_gqa: bool,
          fused: bool = True, cudnn: bool = True) -> jax.Array:
    """The validated attention as one jitted function: eager calls run one program instead of
    dozens of separately dispatched operations (inside a trace it is inlined)."""
    target_len, source_len, value_dim = q.shape[-2], k.shape[-2], v.shape[-1]
    out_rank = max(q.ndim, k.ndim, v.ndim)
    q, k, v, lead, heads = _broadcast_heads(q, k, v, enable_gqa)
    bias = keep = None
    if mask is not None:
        mask = _mask_4d(mask, lead, heads, target_len, source_len)
        if _is_bool(mask):
            keep = mask
        else:
            bias = mask
    if is_causal:
        causal = _causal(target_len, source_len)
        keep_all = causal if keep is None else keep & causal
    else:
        keep_all = keep

    # Rows that may attend nothing give zeros: find them, keep their logits finite (no NaN in
    # the gradients either), zero their output.
    alive = None
    if bias is not None:
        dead_logits = bias == -jnp.inf if keep_all is None else (bias == -jnp.inf) | ~keep_all
        dead = jnp.all(dead_logits, axis=-1, keepdims=True)
        bias = jnp.where(dead, jnp.zeros((), bias.dtype), bias)
        alive = ~dead
    elif keep is not None:
        alive = jnp.any(keep_all, axis=-1, keepdims=True)

    # jax.nn.dot_product_attention's softmax is float32 whatever the input: float64 goes explicit.
    # `fused=False`: the sdpa_kernel setting allows only the math path.
    if (not fused or dropout_p > 0.0 or value_dim != q.shape[-1] or target_len == 0 or source_len == 0
            or q.dtype == jnp.float64):
        out = _attention_math(q, k, v, bias, keep_all, scale, dropout_p, rng_key)
    else:
        out = _attention_fused(q, k, v, bias, keep, is_causal, scale, cudnn)
    if alive is not None:
        out = jnp.where(alive, out, jnp.zeros((), out.dtype))
    return out.reshape((lead + (heads, target_len, value_dim))[-out_rank:])


# --- multi-head attention --------------------------------------------------------------------------


def _canonical_mask(mask, mask_name: str, other_type, other_name: str, target_type, check_other: bool = True):
    """A bool mask (``True`` = masked out) as an additive float mask of ``target_type``; a float
    mask unchanged; anything else refused. Warns when two masks' dtypes differ, as torch."""
    if mask is None:
        return None
    mask = _array(mask)
    is_float = jnp.issubdtype(mask.dtype, jnp.floating)
    if not _is_bool(mask) and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warn(
            f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type for both instead."
        )
    if not is_float:
        mask = jnp.where(mask, jnp.asarray(-jnp.inf, target_type), jnp.asarray(0, target_type))
    return mask


def _none_or_dtype(mask):
    return None if mask is None else _array(mask).dtype


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    """Whether the inputs are batched; AssertionError with torch's message when shapes disagree."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D"
                f" but found {key.ndim}-D and {value.ndim}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D"
                f" but found {key_padding_mask.ndim}-D tensor instead"
            )
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D"
                f" but found {attn_mask.ndim}-D tensor instead"
            )
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D"
                f" but found {key.ndim}-D and {value.ndim}-D tensors respectively"
            )
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D"
                f" but found {key_padding_mask.ndim}-D tensor instead"
            )
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D"
                    f" but found {attn_mask.ndim}-D tensor instead"
                )
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.ndim == 3 and attn_mask.shape != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got {attn_mask.shape}")
        return False
    raise AssertionError(
        f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query tensor"
    )


def _in_projection_packed(q, k, v, w, b=None) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Project with the packed ``(3E, E)`` weight; one matmul for self-attention (``q is k is v``),
    two for encoder-decoder attention (``k is v``)."""
    embed = q.shape[-1]
    if k is v:
        if q is k:
            proj = linear(q, w, b)
            return proj[..., :embed], proj[..., embed:2 * embed], proj[..., 2 * embed:]
        b_q, b_kv = (None, None) if b is None else (b[:embed], b[embed:])
        kv = linear(k, w[embed:], b_kv)
        return linear(q, w[:embed], b_q), kv[..., :embed], kv[..., embed:]
    b_q, b_k, b_v = (None,) * 3 if b is None else jnp.split(b, 3)
    w_q, w_k, w_v = jnp.split(w, 3)
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    """Project with separate weights ``(E, E)``, ``(E, kdim)``, ``(E, vdim)``."""
    eq, ek, ev = q.shape[-1], k.shape[-1], v.shape[-1]
    for name, w, shape in (("query", w_q, (eq, eq)), ("key", w_k, (eq, ek)), ("value", w_v, (eq, ev))):
        if w.shape != shape:
            raise AssertionError(f"expecting {name} weights shape of {shape}, but got {w.shape}")
    for name, b in (("query", b_q), ("key", b_k), ("value", b_v)):
        if b is not None and b.shape != (eq,):
            raise AssertionError(f"expecting {name} bias shape of {(eq,)}, but got {b.shape}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def multi_head_attention_forward(
    query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight, in_proj_bias, bias_k, bias_v,
    add_zero_attn: bool, dropout_p: float, out_proj_weight, out_proj_bias, training: bool = True,
    key_padding_mask=None, need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
    q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None, static_v=None,
    average_attn_weights: bool = True, is_causal: bool = False,
) -> tuple[jax.Array, jax.Array | None]:
    r"""The forward of :class:`nn.MultiheadAttention` on sequence-first arrays.

    Arguments:
        query: ``(L, N, E)`` or unbatched ``(L, E)``.
        key, value: ``(S, N, kdim)``, ``(S, N, vdim)`` (or unbatched ``(S, ·)``).
        embed_dim_to_check: ``E``; num_heads: heads (``E`` divisible by it).
        in_proj_weight, in_proj_bias: packed ``(3E, E)`` / ``(3E,)`` projections (bias may be None).
        bias_k, bias_v: ``(1, 1, E)`` biases appended to the key/value sequences, or None.
        add_zero_attn: append a zero key/value position.
        dropout_p: dropout on the attention weights when ``training``.
        out_proj_weight, out_proj_bias: output projection ``(E, E)`` / ``(E,)``.
        key_padding_mask: ``(N, S)`` (or ``(S,)``): bool ``True`` = ignore that key, or float added.
        need_weights: also return the attention weights (computed explicitly); otherwise
            ``scaled_dot_product_attention`` does the work.
        attn_mask: ``(L, S)`` or ``(N·num_heads, L, S)``: bool ``True`` = may not attend, or float added.
        use_separate_proj_weight: use ``q/k/v_proj_weight`` instead of ``in_proj_weight``.
        static_k, static_v: ``(N·num_heads, S, E/num_heads)`` keys/values used as given.
        average_attn_weights: average the returned weights over heads.
        is_causal: hint that ``attn_mask`` is the causal mask (an ``attn_mask`` is still required);
            without padding mask and weights, causal attention is used and ``attn_mask`` ignored.

    Returns ``(attn_output (L, N, E), attn_weights (N, L, S) / (N, num_heads, L, S) or None)``.
    """
    # Self-attention (query is key is value) projects with one matmul: keep the identities.
    same_qk, same_kv = query is key, key is value
    query = _array(query)
    key = query if same_qk else _array(key)
    value = key if same_kv else _array(value)
    key_padding_mask = None if key_padding_mask is None else _array(key_padding_mask)
    attn_mask = None if attn_mask is None else _array(attn_mask)
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
            "`generate_square_subsequent_mask` to create this mask."
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the hint stands for the mask: scaled_dot_product_attention applies it
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal

    def optional(x):
        return None if x is None else _array(x)

    dropout_p = float(dropout_p) if training else 0.0
    rng_key = _random.next_key() if 0.0 < dropout_p < 1.0 else None
    return _mha(
        query, None if same_qk else key, None if same_kv else value, key_padding_mask, attn_mask,
        optional(in_proj_weight), optional(in_proj_bias), optional(bias_k), optional(bias_v), optional(out_proj_weight),
        optional(out_proj_bias), optional(q_proj_weight), optional(k_proj_weight), optional(v_proj_weight),
        optional(static_k), optional(static_v), rng_key, embed_dim_to_check=embed_dim_to_check, num_heads=num_heads,
        add_zero_attn=bool(add_zero_attn), dropout_p=dropout_p, need_weights=bool(need_weights),
        use_separate_proj_weight=bool(use_separate_proj_weight), average_attn_weights=bool(average_attn_weights),
        is_causal=bool(is_causal), is_batched=is_batched,
    )


_MHA_STATIC = ("embed_dim_to_check", "num_heads", "add_zero_attn", "dropout_p", "need_weights",
               "use_separate_proj_weight", "average_attn_weights", "is_causal", "is_batched")


@functools.partial(jax.jit, static_argnames=_MHA_STATIC)
def _mha(query, key, value, key_padding_mask, attn_mask, in_proj_weight, in_proj_bias, bias_k, bias_v,
         out_proj_weight, out_proj_bias, q_proj_weight, k_proj_weight, v_proj_weight, static_k, static_v, rng_key, *,
         embed_dim_to_check: int, num_heads: int, add_zero_attn: bool, dropout_p: float, need_weights: bool,
         use_separate_proj_weight: bool, average_attn_weights: bool, is_causal: bool, is_batched: bool):
    """The validated multi-head attention as one jitted function (one program per eager call,
    inlined inside a trace). ``key``/``value`` None stand for "the same array as the previous one"."""
    if not is_batched:
        query, key, value = (None if x is None else x[:, None] for x in (query, key, value))
        key_padding_mask = None if key_padding_mask is None else key_padding_mask[None]
    key = query if key is None else key
    value = key if value is None else value
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"key's sequence and batch dims {key.shape[:2]} do not match value's {value.shape[:2]}"
            )
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        biases = (None,) * 3 if in_proj_bias is None else jnp.split(in_proj_bias, 3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, *biases)

    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if attn_mask.shape != (tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {_size(attn_mask.shape)}, but should be {(tgt_len, src_len)}."
                )
            attn_mask = attn_mask[None]
        elif attn_mask.ndim == 3:
            if attn_mask.shape != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {_size(attn_mask.shape)}, but should be "
                    f"{(bsz * num_heads, tgt_len, src_len)}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = jnp.concatenate([k, jnp.broadcast_to(bias_k, (1, bsz, bias_k.shape[-1]))])
        v = jnp.concatenate([v, jnp.broadcast_to(bias_v, (1, bsz, bias_v.shape[-1]))])
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    # (seq, batch, heads * head_dim) -> (batch * heads, seq, head_dim)
    q = jnp.swapaxes(q.reshape(tgt_len, bsz * num_heads, head_dim), 0, 1)
    if static_k is None:
        k = jnp.swapaxes(k.reshape(k.shape[0], bsz * num_heads, head_dim), 0, 1)
    else:
        k = _check_static(static_k, "static_k", bsz * num_heads, head_dim)
    if static_v is None:
        v = jnp.swapaxes(v.reshape(v.shape[0], bsz * num_heads, head_dim), 0, 1)
    else:
        v = _check_static(static_v, "static_v", bsz * num_heads, head_dim)

    if add_zero_attn:
        k = jnp.concatenate([k, jnp.zeros((bsz * num_heads, 1, head_dim), k.dtype)], axis=1)
        v = jnp.concatenate([v, jnp.zeros((bsz * num_heads, 1, head_dim), v.dtype)], axis=1)
        attn_mask = None if attn_mask is None else _pad_last(attn_mask)
        key_padding_mask = None if key_padding_mask is None else _pad_last(key_padding_mask)
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(
                f"Expected key_padded_mask.shape[1] to be {src_len}, but got {key_padding_mask.shape[1]}"
            )
        key_padding_mask = jnp.broadcast_to(key_padding_mask[:, None, None, :], (bsz, num_heads, 1, src_len))
        key_padding_mask = key_padding_mask.reshape(bsz * num_heads, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask

    if need_weights:
        accumulate = jnp.float32 if q.dtype in _LOW_PRECISION else q.dtype
        q_scaled = q * math.sqrt(1.0 / float(head_dim))
        weights = jnp.einsum("ble,bse->bls", q_scaled, k, preferred_element_type=accumulate)
        if attn_mask is not None:
            weights = weights + attn_mask
        weights = _dropout_weights(jax.nn.softmax(weights, axis=-1).astype(q.dtype), dropout_p, rng_key)
        out = jnp.einsum("bls,bse->ble", weights, v)
        out = linear(jnp.swapaxes(out, 0, 1).reshape(tgt_len * bsz, embed_dim), out_proj_weight, out_proj_bias)
        out = out.reshape(tgt_len, bsz, out.shape[-1])
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(axis=1)
        if not is_batched:
            out, weights = out[:, 0], weights[0]
        return out, weights

    if attn_mask is not None:
        attn_mask = attn_mask[None] if attn_mask.shape[0] == 1 else attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = _sdpa(q, k, v, attn_mask, rng_key, dropout_p=dropout_p, is_causal=is_causal,
                scale=1.0 / math.sqrt(head_dim), enable_gqa=False)
    out = linear(jnp.transpose(out, (2, 0, 1, 3)).reshape(bsz * tgt_len, embed_dim), out_proj_weight, out_proj_bias)
    out = out.reshape(tgt_len, bsz, out.shape[-1])
    return (out if is_batched else out[:, 0]), None


def _size(shape: tuple) -> str:
    return f"torch.Size({list(shape)})"


def _pad_last(mask: jax.Array) -> jax.Array:
    """Append one zero column (an unmasked position) to the last dimension."""
    return jnp.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, 1)])


def _check_static(static: jax.Array, name: str, batch_heads: int, head_dim: int) -> jax.Array:
    if static.shape[0] != batch_heads:
        raise AssertionError(f"expecting {name}.size(0) of {batch_heads}, but got {static.shape[0]}")
    if static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.shape[2]}")
    return static

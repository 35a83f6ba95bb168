"""F.scaled_dot_product_attention, F.multi_head_attention_forward and nn.MultiheadAttention against
torch: outputs and gradients (eager and compiled) over seeded random configurations and every mask
form, init, repr, dropout, transforms and errors."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, assert_no_tracers, check_call_parity, load_torch_state, raises_same, to_numpy

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

RNG = np.random.default_rng(0)


def _normal(*shape) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# --- scaled_dot_product_attention ------------------------------------------------------------------


def _bool_mask(shape, rng) -> np.ndarray:
    mask = rng.random(shape) > 0.4
    mask.reshape(-1, shape[-1])[0] = False  # one query row that may attend nothing
    return mask


def _float_mask(shape, rng) -> np.ndarray:
    mask = rng.standard_normal(shape).astype(np.float32)
    mask[rng.random(shape) > 0.6] = -np.inf
    mask.reshape(-1, shape[-1])[0] = -np.inf
    return mask


def _sdpa_configs(count: int, seed: int = 1) -> list:
    """Seeded random mask forms and options (GQA, Ev != E, causal, scale) on a few fixed shapes
    (every new shape costs XLA compilations), plus hand-picked shapes: 2-D, 3-D and 5-D inputs,
    broadcast batch dimensions, multi-query attention, empty keys."""
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(count):
        heads, gqa, value_dim = int(rng.choice([2, 4])), bool(rng.integers(2)), int(rng.choice([3, 5]))
        kv_heads = heads // 2 if gqa else heads
        q, k, v = (2, heads, 4, 3), (2, kv_heads, 5, 3), (2, kv_heads, 5, value_dim)
        kind = str(rng.choice(["none", "bool", "float", "bool-broadcast", "float-broadcast"]))
        mask = None
        if kind.startswith("bool"):
            mask = _bool_mask((4, 5) if kind.endswith("broadcast") else (2, heads, 4, 5), rng)
        elif kind.startswith("float"):
            mask = _float_mask((1, 4, 5) if kind.endswith("broadcast") else (2, heads, 4, 5), rng)
        # torch's CPU kernel applies a mask and is_causal together for 2-D/4-D masks without GQA; its
        # math fallback refuses the combination.
        kwargs = dict(is_causal=bool(rng.integers(2)) and (mask is None or (mask.ndim in (2, 4) and not gqa)),
                      enable_gqa=gqa)
        if rng.integers(3) == 0:
            kwargs["scale"] = float(rng.uniform(0.1, 1.0))
        configs.append((q, k, v, mask, kwargs))
    configs += [
        ((4, 3), (5, 3), (5, 3), _float_mask((4, 5), rng), {}),
        ((2, 1, 2, 4, 3), (2, 1, 2, 5, 3), (2, 1, 2, 5, 3), _bool_mask((2, 1, 1, 4, 5), rng), {}),
        ((2, 2, 4, 3), (2, 5, 3), (2, 5, 3), None, dict(is_causal=True)),
        ((2, 4, 4, 3), (2, 1, 5, 3), (2, 1, 5, 3), _bool_mask((4, 5), rng), {}),
        ((2, 4, 5, 3), (2, 2, 4, 3), (2, 1, 4, 3), None, dict(enable_gqa=True, is_causal=True)),
        ((2, 4, 3), (2, 0, 3), (2, 0, 3), None, {}),
    ]
    return configs


SDPA_CONFIGS = _sdpa_configs(9)


def _sdpa_torch(q, k, v, mask, kwargs):
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kwargs)


@pytest.mark.parametrize("q_shape,k_shape,v_shape,mask,kwargs", SDPA_CONFIGS,
                         ids=[f"sdpa-{i}" for i in range(len(SDPA_CONFIGS))])
def test_sdpa_matches_torch(q_shape, k_shape, v_shape, mask, kwargs):
    q, k, v = _normal(*q_shape), _normal(*k_shape), _normal(*v_shape)
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out_t = _sdpa_torch(qt, kt, vt, None if mask is None else torch.tensor(mask), kwargs)
    cotangent = _normal(*out_t.shape)
    (out_t * torch.tensor(cotangent)).sum().backward()
    jmask = None if mask is None else jnp.asarray(mask)

    def loss(q, k, v):
        return (F.scaled_dot_product_attention(q, k, v, attn_mask=jmask, **kwargs) * cotangent).sum().jax()

    fwd = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=jmask, **kwargs)  # noqa: E731
    grads = jax.grad(loss, argnums=(0, 1, 2))
    args = (jnp.asarray(q), jnp.asarray(k), jnp.asarray(v))
    for out, gs in ((fwd(*args), grads(*args)), torchjax.compile(lambda *a: (fwd(*a), grads(*a)))(*args)):
        assert_close(out, out_t, atol=2e-5)
        for g, t in zip(gs, (qt, kt, vt), strict=True):
            assert_close(g, t.grad, atol=2e-5)
            assert np.isfinite(to_numpy(g)).all()


def test_sdpa_fully_masked_rows_are_zero_with_finite_gradients():
    q, k, v = _normal(1, 2, 3, 4), _normal(1, 2, 5, 4), _normal(1, 2, 5, 4)
    mask = np.ones((3, 5), bool)
    mask[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=jnp.asarray(mask))
    assert not np.any(to_numpy(out)[:, :, 1])
    grads = jax.grad(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, jnp.asarray(mask)).sum().jax(),
                     argnums=(0, 1, 2))(jnp.asarray(q), jnp.asarray(k), jnp.asarray(v))
    assert all(np.isfinite(to_numpy(g)).all() for g in grads)


def test_sdpa_dropout_draws_from_the_generator():
    """Dropout zeroes attention weights (not outputs) with the default generator's key: the
    result equals the explicit formula with the mask F.dropout draws after the same seed."""
    q, k, v = (jnp.asarray(_normal(2, 2, 4, 3)) for _ in range(3))
    p = 0.4
    torchjax.manual_seed(7)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
    torchjax.manual_seed(7)
    weights = jax.nn.softmax(q @ jnp.swapaxes(k, -1, -2) / math.sqrt(3), axis=-1)
    expected = F.dropout(weights, p) @ v
    np.testing.assert_allclose(to_numpy(out), to_numpy(expected), atol=1e-6)
    assert not np.allclose(to_numpy(out), to_numpy(F.scaled_dot_product_attention(q, k, v, dropout_p=p)))
    step = torchjax.compile(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=p))
    first, second = step(q, k, v), step(q, k, v)
    assert not np.allclose(to_numpy(first), to_numpy(second)), "a compiled step draws a new mask every call"
    assert not np.any(to_numpy(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)))


def test_sdpa_half_precision_and_vmap():
    q, k, v = (_normal(2, 2, 4, 8) for _ in range(3))
    full = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    low = F.scaled_dot_product_attention(*(jnp.asarray(a, jnp.bfloat16) for a in (q, k, v)), is_causal=True)
    assert low.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(low, np.float32), to_numpy(full), atol=0.05)
    mapped = jax.vmap(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True))(q, k, v)
    assert_close(mapped, full, atol=1e-6)


SDPA_ERRORS = {
    "dtype": ((2, 3, 4), (2, 3, 4), (2, 3, 4), None, {}, np.float16),
    "1-d": ((4,), (4,), (4,), None, {}, None),
    "head-dim": ((2, 3, 4), (2, 3, 5), (2, 3, 5), None, {}, None),
    "seq-len": ((2, 3, 4), (2, 3, 4), (2, 5, 4), None, {}, None),
    "heads": ((1, 4, 3, 4), (1, 3, 3, 4), (1, 3, 3, 4), None, {}, None),
    "gqa-heads": ((1, 4, 3, 4), (1, 3, 3, 4), (1, 3, 3, 4), None, dict(enable_gqa=True), None),
    "batch": ((2, 4, 3, 4), (3, 4, 3, 4), (3, 4, 3, 4), None, {}, None),
    "mask-shape": ((2, 3, 4), (2, 3, 4), (2, 3, 4), np.ones((4, 3), bool), {}, None),
    "mask-rank": ((2, 3, 4), (2, 3, 4), (2, 3, 4), np.ones((5, 2, 3, 3), bool), {}, None),
    "mask-int": ((2, 3, 4), (2, 3, 4), (2, 3, 4), np.ones((3, 3), np.int32), {}, None),
    "mask-half": ((2, 3, 4), (2, 3, 4), (2, 3, 4), np.ones((3, 3), np.float16), {}, None),
    "dropout": ((2, 3, 4), (2, 3, 4), (2, 3, 4), None, dict(dropout_p=1.5), None),
}


@pytest.mark.parametrize("name", sorted(SDPA_ERRORS))
def test_sdpa_errors_match_torch(name):
    q_shape, k_shape, v_shape, mask, kwargs, key_dtype = SDPA_ERRORS[name]
    q, k, v = np.zeros(q_shape, np.float32), np.zeros(k_shape, key_dtype or np.float32), np.zeros(v_shape, np.float32)
    jax_mask = None if mask is None else jnp.asarray(mask)
    raises_same(lambda: _sdpa_torch(torch.tensor(q), torch.tensor(k), torch.tensor(v),
                                    None if mask is None else torch.tensor(mask), kwargs),
                lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=jax_mask, **kwargs))


# --- MultiheadAttention ----------------------------------------------------------------------------


def _mha_configs(count: int, seed: int = 2) -> list:
    """(constructor kwargs, forward kwargs builder inputs) covering every option and mask form."""
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(count):
        heads = int(rng.choice([1, 2, 4]))
        ctor = dict(embed_dim=8, num_heads=heads, bias=bool(rng.integers(4) > 0),
                    add_bias_kv=bool(rng.integers(3) == 0), add_zero_attn=bool(rng.integers(3) == 0),
                    batch_first=bool(rng.integers(2)))
        if rng.integers(3) == 0:
            ctor.update(kdim=3, vdim=int(rng.choice([3, 5])))
        forward = dict(need_weights=bool(rng.integers(2)), average_attn_weights=bool(rng.integers(2)),
                       attn_mask=str(rng.choice(["none", "bool2", "float2", "bool3", "float3", "causal"])),
                       key_padding_mask=str(rng.choice(["none", "bool", "float"])),
                       batched=bool(rng.integers(4) > 0), self_attention=bool(rng.integers(2)))
        configs.append((ctor, forward))
    hand_picked = [  # the causal-hint path into scaled_dot_product_attention, 3-D masks, kdim/vdim unbatched
        (dict(embed_dim=8, num_heads=2, batch_first=True),
         dict(need_weights=False, average_attn_weights=True, attn_mask="causal", key_padding_mask="none",
              batched=True, self_attention=True)),
        (dict(embed_dim=8, num_heads=2),
         dict(need_weights=False, average_attn_weights=True, attn_mask="bool3", key_padding_mask="bool",
              batched=True, self_attention=True)),
        (dict(embed_dim=8, num_heads=4, kdim=3, vdim=5, add_zero_attn=True),
         dict(need_weights=False, average_attn_weights=True, attn_mask="float3", key_padding_mask="float",
              batched=False, self_attention=False)),
    ]
    return configs + hand_picked


def _mha_inputs(ctor: dict, forward: dict, rng) -> tuple[tuple, dict]:
    E, heads = ctor["embed_dim"], ctor["num_heads"]
    kdim, vdim = ctor.get("kdim", E), ctor.get("vdim", E)
    N, L = 2, 4
    self_attention = forward["self_attention"] and kdim == vdim == E
    S = L if self_attention or forward["attn_mask"] == "causal" else 5
    batched = forward["batched"]

    def seq(length, dim):
        shape = ((N, length, dim) if ctor.get("batch_first") else (length, N, dim)) if batched else (length, dim)
        return rng.standard_normal(shape).astype(np.float32)

    query = seq(L, E)
    if self_attention:
        args = (query, query, query)
    else:
        key = seq(S, kdim)
        shared_kv = vdim == kdim and bool(rng.integers(2))  # encoder-decoder attention (key is value) or not
        args = (query, key, key if shared_kv else seq(S, vdim))
    kwargs = dict(need_weights=forward["need_weights"], average_attn_weights=forward["average_attn_weights"])
    kind = forward["attn_mask"]
    # One mask dtype per call (torch warns on a mix); key 0 always visible, so no query row is
    # empty (torch's attention weights are NaN there).
    mask_float = forward["key_padding_mask"] == "float" or kind.startswith("float")
    if kind == "causal":
        kwargs["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
        kwargs["is_causal"] = True
    elif kind != "none":
        shape = (L, S) if kind.endswith("2") else (N * heads, L, S) if batched else (heads, L, S)
        kwargs["attn_mask"] = _bool_mask(shape, rng)
        kwargs["attn_mask"][..., 0] = False
    if "attn_mask" in kwargs and mask_float:
        finite = 0.0 if kind == "causal" else rng.standard_normal((L, S))
        kwargs["attn_mask"] = np.where(kwargs["attn_mask"], -np.inf, finite).astype(np.float32)
    if forward["key_padding_mask"] != "none":
        pad = rng.random((N, S) if batched else (S,)) > 0.7
        pad[..., 0] = False
        kwargs["key_padding_mask"] = np.where(pad, -np.inf, 0).astype(np.float32) if mask_float else pad
    return args, kwargs


MHA_CONFIGS = _mha_configs(8)


@pytest.mark.parametrize("ctor,forward", MHA_CONFIGS, ids=[f"mha-{i}" for i in range(len(MHA_CONFIGS))])
def test_mha_matches_torch(ctor, forward):
    torch.manual_seed(0)
    theirs, ours = torch.nn.MultiheadAttention(**ctor), tnn.MultiheadAttention(**ctor)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    load_torch_state(ours, theirs)
    args, kwargs = _mha_inputs(ctor, forward, np.random.default_rng(len(repr(ctor))))
    check_call_parity(theirs, ours, args, kwargs, atol=2e-5)


def test_mha_training_mode_without_dropout_matches_torch():
    torch.manual_seed(0)
    theirs, ours = torch.nn.MultiheadAttention(8, 2), tnn.MultiheadAttention(8, 2)
    load_torch_state(ours, theirs)
    x = _normal(4, 2, 8)
    mask = np.triu(np.ones((4, 4), bool), 1)
    check_call_parity(theirs.train(), ours.train(), (x, x, x), dict(attn_mask=mask, need_weights=False),
                      compiled=False)


def test_mha_dropout_is_reproducible_and_differs_per_compiled_step():
    torchjax.manual_seed(0)
    mha = tnn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = jnp.asarray(_normal(2, 4, 8))
    torchjax.manual_seed(1)
    first, weights = mha(x, x, x, average_attn_weights=False)
    torchjax.manual_seed(1)
    again, _ = mha(x, x, x, average_attn_weights=False)
    assert_close(first, again, atol=0)
    assert np.any(to_numpy(weights) == 0), "the returned weights are the dropped-out ones, as torch's"
    step = torchjax.compile(lambda m, x: m(x, x, x, need_weights=False)[0])
    assert not np.allclose(to_numpy(step(mha, x)), to_numpy(step(mha, x)))
    mha.eval()
    assert_close(step(mha, x), step(mha, x), atol=0)
    assert_no_tracers(mha, torchjax.default_generator)


def test_mha_under_vmap_and_jax_grad():
    torchjax.manual_seed(0)
    mha = tnn.MultiheadAttention(8, 2, batch_first=True)
    x = jnp.asarray(_normal(3, 2, 4, 8))
    mapped = torchjax.func.vmap(lambda m, x: m(x, x, x)[0], in_dims=(None, 0))(mha, x)
    assert_close(mapped, jnp.stack([mha(xi, xi, xi)[0] for xi in x]), atol=1e-6)
    grad = jax.grad(lambda x: mha(x, x, x, need_weights=False)[0].sum().jax())(x[0])
    assert grad.shape == x[0].shape and np.isfinite(to_numpy(grad)).all()
    assert_no_tracers(mha)


def test_mha_default_init_matches_torch():
    torchjax.manual_seed(0)
    ours = tnn.MultiheadAttention(64, 4, add_bias_kv=True, kdim=32, vdim=48)
    theirs = torch.nn.MultiheadAttention(64, 4, add_bias_kv=True, kdim=32, vdim=48)
    for name, p in theirs.named_parameters():
        o, t = to_numpy(ours.get_parameter(name)), to_numpy(p)
        assert o.shape == t.shape
        if name.endswith("proj_weight"):  # xavier_uniform_: U(-b, b), b = sqrt(6 / (fan_in + fan_out))
            bound = math.sqrt(6 / sum(o.shape))
            assert np.abs(o).max() <= bound and np.abs(o).max() > 0.9 * bound
        elif "bias" in name and name not in ("bias_k", "bias_v"):
            assert not o.any() and not t.any()
        elif name in ("bias_k", "bias_v"):  # xavier_normal_ on (1, 1, E): std sqrt(2 / (E + E))
            assert abs(o.std() - math.sqrt(2 / 128)) < 0.5 * math.sqrt(2 / 128)
    assert ours.out_proj.bias is not None and not to_numpy(ours.out_proj.bias).any()


def test_mha_factory_kwargs_and_state_dict_keys():
    m = tnn.MultiheadAttention(8, 2, kdim=4, dtype=torchjax.bfloat16, device="cpu")
    assert all(p.dtype == jnp.bfloat16 for p in m.parameters())
    theirs = torch.nn.MultiheadAttention(8, 2, kdim=4, bias=False, add_bias_kv=True)
    ours = tnn.MultiheadAttention(8, 2, kdim=4, bias=False, add_bias_kv=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.in_proj_weight is None and ours.in_proj_bias is None and ours.head_dim == 4
    assert not ours._qkv_same_embed_dim


def test_functional_mha_with_static_kv_matches_torch():
    E, heads, L, S, N = 8, 2, 3, 4, 2
    q = _normal(L, N, E)
    w_in, b_in, w_out, b_out = _normal(3 * E, E), _normal(3 * E), _normal(E, E), _normal(E)
    static_k, static_v = _normal(N * heads, S, E // heads), _normal(N * heads, S, E // heads)
    args = (E, heads, w_in, b_in, None, None, False, 0.0, w_out, b_out)
    t = torch.tensor
    out_t, w_t = torch.nn.functional.multi_head_attention_forward(
        t(q), t(q), t(q), *(t(a) if isinstance(a, np.ndarray) else a for a in args), training=False,
        static_k=t(static_k), static_v=t(static_v))
    out, w = F.multi_head_attention_forward(q, q, q, *args, training=False, static_k=static_k, static_v=static_v)
    assert_close(out, out_t)
    assert_close(w, w_t)


def _mha_pair(*args, **kwargs):
    return torch.nn.MultiheadAttention(*args, **kwargs), tnn.MultiheadAttention(*args, **kwargs)


@pytest.mark.parametrize("args,kwargs", [
    ((8, 3), {}),
    ((0, 2), {}),
    ((8, -1), {}),
])
def test_mha_invalid_constructor_arguments(args, kwargs):
    raises_same(lambda: torch.nn.MultiheadAttention(*args, **kwargs), lambda: tnn.MultiheadAttention(*args, **kwargs))


MHA_FORWARD_ERRORS = {
    "query-4d": ((1, 4, 2, 8), (1, 4, 2, 8), {}),
    "key-2d": ((4, 2, 8), (4, 8), {}),
    "attn-mask-2d-shape": ((4, 2, 8), (4, 2, 8), dict(attn_mask=np.zeros((3, 4), bool))),
    "attn-mask-3d-shape": ((4, 2, 8), (4, 2, 8), dict(attn_mask=np.zeros((2, 4, 4), bool))),
    "attn-mask-4d": ((4, 2, 8), (4, 2, 8), dict(attn_mask=np.zeros((1, 2, 4, 4), bool))),
    "attn-mask-int": ((4, 2, 8), (4, 2, 8), dict(attn_mask=np.zeros((4, 4), np.int32))),
    "padding-mask-shape": ((4, 2, 8), (4, 2, 8), dict(key_padding_mask=np.zeros((2, 3), bool))),
    "padding-mask-3d": ((4, 2, 8), (4, 2, 8), dict(key_padding_mask=np.zeros((2, 4, 1), bool))),
    "causal-without-mask": ((4, 2, 8), (4, 2, 8), dict(is_causal=True)),
    "embed-dim": ((4, 2, 6), (4, 2, 6), {}),
    "unbatched-3d-mask": ((4, 8), (4, 8), dict(attn_mask=np.zeros((3, 4, 4), bool))),
}


@pytest.mark.parametrize("name", sorted(MHA_FORWARD_ERRORS))
def test_mha_forward_errors_match_torch(name):
    q_shape, k_shape, kwargs = MHA_FORWARD_ERRORS[name]
    theirs, ours = _mha_pair(8, 2)
    q, k = np.zeros(q_shape, np.float32), np.zeros(k_shape, np.float32)
    raises_same(lambda: theirs(torch.tensor(q), torch.tensor(k), torch.tensor(k),
                               **{n: torch.tensor(v) for n, v in kwargs.items() if isinstance(v, np.ndarray)},
                               **{n: v for n, v in kwargs.items() if not isinstance(v, np.ndarray)}),
                lambda: ours(jnp.asarray(q), jnp.asarray(k), jnp.asarray(k),
                             **{n: jnp.asarray(v) if isinstance(v, np.ndarray) else v for n, v in kwargs.items()}))


def test_mismatched_mask_types_warn_like_torch():
    theirs, ours = _mha_pair(8, 2)
    x = np.zeros((4, 2, 8), np.float32)
    masks = dict(attn_mask=np.zeros((4, 4), np.float32), key_padding_mask=np.zeros((2, 4), bool))
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        theirs(*(torch.tensor(x),) * 3, **{k: torch.tensor(v) for k, v in masks.items()})
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        ours(*(jnp.asarray(x),) * 3, **{k: jnp.asarray(v) for k, v in masks.items()})


def test_sdpa_kernel_restricts_the_path_and_restores_it(monkeypatch):
    from torchjax.nn.attention import SDPBackend, sdpa_kernel
    from torchjax.nn.functional import attention as attention_module

    assert {k: int(v) for k, v in SDPBackend.__members__.items()} == {
        k: int(v) for k, v in torch.nn.attention.SDPBackend.__members__.items()}
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 2, 5, 4)).astype(np.float32) for _ in range(3))
    expected = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), is_causal=True)
    fused_calls = []
    original = attention_module._attention_fused
    monkeypatch.setattr(attention_module, "_attention_fused", lambda *a: fused_calls.append(1) or original(*a))
    attention_module._sdpa.clear_cache()  # the fused path is traced again, through the spy
    with sdpa_kernel(SDPBackend.MATH):
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert fused_calls == []
    np.testing.assert_allclose(np.asarray(out), expected.numpy(), atol=1e-5)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.FLASH_ATTENTION]):
        np.testing.assert_allclose(np.asarray(F.scaled_dot_product_attention(q, k, v, is_causal=True)),
                                   expected.numpy(), atol=1e-5)
        assert fused_calls == [1]
        with pytest.raises(RuntimeError, match="No available kernel"):  # dropout needs the math path
            F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    with pytest.raises(ValueError), sdpa_kernel(SDPBackend.OVERRIDEABLE):
        with pytest.raises(RuntimeError, match="No available kernel"):
            F.scaled_dot_product_attention(q, k, v)
        raise ValueError("leaving by an exception restores the setting")
    assert F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).shape == (2, 2, 5, 4)
    raises_same(lambda: torch.nn.attention.sdpa_kernel("MATH").__enter__(),
                lambda: torchjax.nn.attention.sdpa_kernel("MATH").__enter__())

"""The Transformer family against torch: layers and stacks over seeded random configurations and
mask combinations (outputs and gradients, eager and compiled), a torch nn.Transformer state_dict
loaded unchanged, the notes' examples, dropout under compile, transforms, repr and errors."""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, assert_no_tracers, check_call_parity, load_torch_state, raises_same, to_numpy

import torchjax
import torchjax.nn as tnn

D_MODEL, HEADS, FF = 8, 2, 12


def _activation(name: str, lib_nn):
    """The same activation for either framework: a string, F.relu/F.gelu, or a Module."""
    if name == "module":
        return lib_nn.GELU(approximate="tanh")
    if name == "function":
        return lib_nn.functional.gelu
    return name


# Structural options picked so six layers cover them all (each config costs an XLA compilation);
# mask values and inputs are seeded random. Masks: "causal" (float, -inf above the diagonal),
# "causal-declared" (bool, with is_causal=True), "bool" (2-D), "float3" ((N*heads, L, L)).
LAYER_CONFIGS = [
    ("encoder", dict(norm_first=False, batch_first=False, bias=True, layer_norm_eps=1e-5),
     dict(activation="relu", mask="causal", padding="float", batched=True, memory_mask=False)),
    ("encoder", dict(norm_first=True, batch_first=True, bias=False, layer_norm_eps=1e-5),
     dict(activation="gelu", mask="bool", padding="bool", batched=True, memory_mask=False)),
    ("encoder", dict(norm_first=False, batch_first=True, bias=True, layer_norm_eps=1e-3),
     dict(activation="module", mask="float3", padding="float", batched=False, memory_mask=False)),
    ("decoder", dict(norm_first=False, batch_first=True, bias=True, layer_norm_eps=1e-5),
     dict(activation="function", mask="causal-declared", padding="none", batched=True, memory_mask=True)),
    ("decoder", dict(norm_first=True, batch_first=False, bias=True, layer_norm_eps=1e-3),
     dict(activation="relu", mask="float3", padding="float", batched=True, memory_mask=True)),
    ("decoder", dict(norm_first=True, batch_first=False, bias=False, layer_norm_eps=1e-5),
     dict(activation="gelu", mask="none", padding="none", batched=False, memory_mask=False)),
]


def _sequence(length: int, batch_first: bool, batched: bool, rng) -> np.ndarray:
    shape = ((2, length, D_MODEL) if batch_first else (length, 2, D_MODEL)) if batched else (length, D_MODEL)
    return rng.standard_normal(shape).astype(np.float32)


def _self_mask(kind: str, length: int, batched: bool, float_masks: bool, rng) -> tuple[dict, bool | None]:
    """(mask kwargs for the self-attention mask, is_causal to declare)."""
    if kind == "none":
        return {}, None
    if kind.startswith("causal"):
        mask = np.triu(np.full((length, length), -np.inf, np.float32), 1)
        if not float_masks:
            mask = np.isinf(mask)
        return {"mask": mask}, (True if kind == "causal-declared" else None)
    shape = ((2 if batched else 1) * HEADS, length, length) if kind == "float3" else (length, length)
    mask = rng.random(shape) > 0.7
    mask[..., 0] = False  # every query keeps a key
    if float_masks or kind == "float3":
        mask = np.where(mask, -np.inf, rng.standard_normal(shape)).astype(np.float32)
    return {"mask": mask}, None


def _padding(kind: str, length: int, batched: bool, float_masks: bool, rng) -> np.ndarray | None:
    if kind == "none":
        return None
    pad = rng.random((2, length) if batched else (length,)) > 0.7
    pad[..., 0] = False
    return np.where(pad, -np.inf, 0).astype(np.float32) if float_masks else pad


@pytest.mark.parametrize("kind,ctor,forward", LAYER_CONFIGS, ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYER_CONFIGS)])
def test_layer_matches_torch(kind, ctor, forward):
    rng = np.random.default_rng(len(repr(ctor)) + len(repr(forward)))
    cls = "TransformerEncoderLayer" if kind == "encoder" else "TransformerDecoderLayer"
    torch.manual_seed(0)
    theirs = getattr(torch.nn, cls)(D_MODEL, HEADS, FF, 0.0, _activation(forward["activation"], torch.nn), **ctor)
    ours = getattr(tnn, cls)(D_MODEL, HEADS, FF, 0.0, _activation(forward["activation"], tnn), **ctor)
    assert repr(ours) == repr(theirs)
    load_torch_state(ours, theirs)
    batched, batch_first = forward["batched"], ctor["batch_first"]
    float_masks = forward["padding"] == "float" or forward["mask"] == "float3"
    L, S = 5, 4
    masks, is_causal = _self_mask(forward["mask"], L, batched, float_masks, rng)
    padding = _padding(forward["padding"], L, batched, float_masks, rng)
    x = _sequence(L, batch_first, batched, rng)
    if kind == "encoder":
        kwargs = {"src_mask": masks.get("mask"), "src_key_padding_mask": padding, "is_causal": bool(is_causal)}
        args = (x,)
    else:
        kwargs = {"tgt_mask": masks.get("mask"), "tgt_key_padding_mask": padding, "tgt_is_causal": bool(is_causal)}
        if forward["memory_mask"]:
            memory_mask = rng.random((L, S)) > 0.7
            memory_mask[:, 0] = False
            kwargs["memory_mask"] = np.where(memory_mask, -np.inf, 0).astype(np.float32) if float_masks else memory_mask
            kwargs["memory_key_padding_mask"] = _padding("bool" if not float_masks else "float", S, batched,
                                                         float_masks, rng)
        args = (x, _sequence(S, batch_first, batched, rng))
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    check_call_parity(theirs.train(), ours.train(), args, kwargs, atol=3e-5)


@pytest.mark.parametrize("stack,norm_first,batch_first,mask", [
    ("encoder", False, True, "causal"),
    ("decoder", True, False, "padding"),
])
def test_stack_matches_torch(stack, norm_first, batch_first, mask):
    """Encoder/decoder stacks (eval mode, final norm): causal masks are detected from their values."""
    torch.manual_seed(0)
    rng = np.random.default_rng(4)
    layers, models = {}, {}
    for lib in (torch.nn, tnn):
        layer_cls = lib.TransformerEncoderLayer if stack == "encoder" else lib.TransformerDecoderLayer
        layers[lib] = layer_cls(D_MODEL, HEADS, FF, 0.1, "gelu", batch_first=batch_first, norm_first=norm_first)
        norm = lib.LayerNorm(D_MODEL)
        if stack == "encoder":
            models[lib] = lib.TransformerEncoder(layers[lib], 2, norm, enable_nested_tensor=False)
        else:
            models[lib] = lib.TransformerDecoder(layers[lib], 2, norm)
    theirs, ours = models[torch.nn].eval(), models[tnn].eval()
    assert repr(ours) == repr(theirs)
    load_torch_state(ours, theirs)
    x = _sequence(5, batch_first, True, rng)
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    padding = _padding("bool", 5, True, False, rng)
    if stack == "encoder":
        kwargs = {"mask": causal} if mask == "causal" else {"src_key_padding_mask": padding}
        args = (x,)
    else:
        kwargs = {"tgt_mask": causal} if mask == "causal" else {"memory_key_padding_mask": padding,
                                                                 "tgt_key_padding_mask": padding}
        args = (x, _sequence(5, batch_first, True, rng))
    check_call_parity(theirs, ours, args, kwargs, atol=3e-5)


def _transformer_pair(**kwargs):
    torch.manual_seed(0)
    theirs = torch.nn.Transformer(**kwargs)
    ours = tnn.Transformer(**kwargs)
    return theirs, ours


def test_torch_transformer_state_dict_loads_unchanged_and_matches():
    """A torch nn.Transformer's own state_dict (torch tensors, torch's keys) loads strictly into ours
    and gives torch's outputs and gradients, with every mask kind at once."""
    kwargs = dict(d_model=D_MODEL, nhead=HEADS, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF,
                  dropout=0.1, batch_first=True)
    with pytest.warns(UserWarning, match="enable_nested_tensor"):
        theirs, ours = _transformer_pair(**dict(kwargs, norm_first=True))
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    assert all(tuple(ours.state_dict()[k].shape) == tuple(v.shape) for k, v in state.items())
    result = ours.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    theirs.eval(), ours.eval()
    rng = np.random.default_rng(5)
    src, tgt = rng.standard_normal((2, 6, D_MODEL)).astype(np.float32), rng.standard_normal((2, 4, D_MODEL))
    tgt = tgt.astype(np.float32)
    src_padding = np.zeros((2, 6), np.float32)
    src_padding[1, 4:] = -np.inf
    tgt_padding = np.zeros((2, 4), np.float32)
    tgt_padding[1, 3] = -np.inf
    masks = dict(tgt_mask=to_numpy(tnn.Transformer.generate_square_subsequent_mask(4)),
                 src_key_padding_mask=src_padding, memory_key_padding_mask=src_padding,
                 tgt_key_padding_mask=tgt_padding)
    check_call_parity(theirs, ours, (src, tgt), masks, atol=3e-5)


def test_default_transformer_init_and_repr_match_torch():
    """Default sizes (d_model=512, 6 + 6 layers): names, shapes, xavier init bounds, repr."""
    with pytest.warns(UserWarning):
        theirs, ours = _transformer_pair(num_encoder_layers=1, num_decoder_layers=1)
    assert repr(ours) == repr(theirs)
    named = dict(ours.named_parameters())
    assert [(n, tuple(p.shape)) for n, p in theirs.named_parameters()] == [(n, p.shape) for n, p in named.items()]
    w = to_numpy(named["encoder.layers.0.linear1.weight"])
    bound = np.sqrt(6 / sum(w.shape))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert not to_numpy(named["encoder.layers.0.self_attn.in_proj_bias"]).any()
    assert np.all(to_numpy(named["decoder.norm.weight"]) == 1)


def test_generate_square_subsequent_mask_matches_torch():
    for size in (1, 4):
        ours = tnn.Transformer.generate_square_subsequent_mask(size)
        assert_close(ours, torch.nn.Transformer.generate_square_subsequent_mask(size), atol=0)
        assert isinstance(ours, torchjax.Tensor) and ours.dtype == jnp.float32
    assert tnn.Transformer.generate_square_subsequent_mask(3, dtype=torchjax.bfloat16).dtype == jnp.bfloat16


def test_notes_examples():
    """The examples of seed/nn-module-notes.zh.md (Transformer section), torch -> torchjax."""
    rand = getattr(torchjax, "rand", lambda *shape: jax.random.uniform(jax.random.key(0), shape))
    nn = tnn
    decoder_layer = nn.TransformerDecoderLayer(d_model=512, nhead=8, batch_first=True)
    memory = rand(32, 10, 512)
    tgt = rand(32, 20, 512)
    out = decoder_layer(tgt, memory)
    assert out.shape == (32, 20, 512)

    decoder_layer = nn.TransformerDecoderLayer(d_model=512, nhead=8)
    transformer_decoder = nn.TransformerDecoder(decoder_layer, num_layers=6)
    memory = rand(10, 32, 512)
    tgt = rand(20, 32, 512)
    out = transformer_decoder(tgt, memory)
    assert out.shape == (20, 32, 512) and np.isfinite(to_numpy(out)).all()


def test_dropout_training_step_and_vmap():
    """Dropout draws from the generator (reproducible eagerly, new masks per compiled step); a
    compiled SGD step trains an encoder; vmap over a batch of sequences; no tracer left behind."""
    torchjax.manual_seed(0)
    encoder = tnn.TransformerEncoder(tnn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.3, batch_first=True),
                                     2, enable_nested_tensor=False)
    x = jnp.asarray(np.random.default_rng(7).standard_normal((2, 5, D_MODEL)).astype(np.float32))
    mask = tnn.Transformer.generate_square_subsequent_mask(5)
    torchjax.manual_seed(3)
    eager = encoder(x, mask=mask)
    torchjax.manual_seed(3)
    assert_close(encoder(x, mask=mask), eager, atol=0)
    opt = torchjax.optim.SGD(encoder.parameters(), lr=0.1)

    @torchjax.compile
    def step(model, opt, x):
        opt.zero_grad()
        loss = torchjax.backward(lambda m: (m(x, mask=mask, is_causal=True) ** 2).mean(), model)
        opt.step()
        return loss

    losses = [float(step(encoder, opt, x)) for _ in range(6)]
    assert len(set(losses)) == len(losses) and losses[-1] < losses[0]
    assert_no_tracers(encoder, torchjax.default_generator)
    encoder.eval()
    mapped = torchjax.func.vmap(lambda m, x: m(x[None], mask=mask)[0], in_dims=(None, 0))(encoder, x)
    assert_close(mapped, encoder(x, mask=mask), atol=1e-5)


@pytest.mark.parametrize("name", ["batch", "d_model", "activation", "causal-without-mask"])
def test_errors_match_torch(name):
    def scenario(lib, array):
        with pytest.warns(UserWarning) if name != "activation" else contextlib.nullcontext():
            model = lib.nn.Transformer(d_model=D_MODEL, nhead=HEADS, num_encoder_layers=1, num_decoder_layers=1,
                                       dim_feedforward=FF, activation="tanh" if name == "activation" else "relu")
        src, tgt = np.zeros((5, 2, D_MODEL), np.float32), np.zeros((4, 2, D_MODEL), np.float32)
        if name == "batch":
            tgt = np.zeros((4, 3, D_MODEL), np.float32)
        if name == "d_model":
            src = np.zeros((5, 2, D_MODEL + 1), np.float32)
        if name == "causal-without-mask":
            return model.encoder.layers[0](array(src), is_causal=True)
        return model(array(src), array(tgt))

    raises_same(lambda: scenario(torch, torch.tensor), lambda: scenario(torchjax, jnp.asarray))


def test_float64_matches_torch_to_double_precision():
    """With 64-bit JAX, a decoder layer (self-, cross-attention, masks) matches torch's float64."""
    rng = np.random.default_rng(8)
    with jax.enable_x64(True):
        torch.manual_seed(0)
        theirs = torch.nn.TransformerDecoderLayer(D_MODEL, HEADS, FF, 0.0, "gelu").double()
        ours = tnn.TransformerDecoderLayer(D_MODEL, HEADS, FF, 0.0, "gelu").double()
        load_torch_state(ours, theirs)
        x, memory = rng.standard_normal((5, 2, D_MODEL)), rng.standard_normal((4, 2, D_MODEL))
        padding = _padding("bool", 4, True, False, rng)
        kwargs = dict(tgt_mask=np.triu(np.full((5, 5), -np.inf), 1), memory_key_padding_mask=padding)
        check_call_parity(theirs, ours, (x, memory), kwargs, atol=1e-12, rtol=1e-12, compiled=False)


@pytest.mark.parametrize("path", [
    "MultiheadAttention.__init__", "MultiheadAttention.forward", "Transformer.__init__", "Transformer.forward",
    "Transformer.generate_square_subsequent_mask", "TransformerEncoder.__init__", "TransformerEncoder.forward",
    "TransformerDecoder.__init__", "TransformerDecoder.forward", "TransformerEncoderLayer.__init__",
    "TransformerEncoderLayer.forward", "TransformerDecoderLayer.__init__", "TransformerDecoderLayer.forward",
    "Embedding.__init__", "Embedding.forward", "Embedding.from_pretrained", "EmbeddingBag.__init__",
    "EmbeddingBag.forward", "EmbeddingBag.from_pretrained", "functional.scaled_dot_product_attention",
    "functional.multi_head_attention_forward", "functional.embedding", "functional.embedding_bag",
    "functional.one_hot",
])
def test_signatures_match_torch(path):
    """Parameter names, kinds and defaults as torch's (a default that is a function, like
    ``activation=F.relu``, must be the same-named torchjax function)."""
    import inspect

    def resolve(root):
        obj = root
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    try:
        theirs = inspect.signature(resolve(torch.nn))
    except ValueError:  # a C builtin (one_hot, scaled_dot_product_attention): its documented signature
        doc = resolve(torch.nn).__doc__.split("->")[0]
        expected = {"functional.one_hot": ["tensor", "num_classes"],
                    "functional.scaled_dot_product_attention": ["query", "key", "value", "attn_mask", "dropout_p",
                                                                "is_causal", "scale", "enable_gqa"]}[path]
        assert all(name in doc for name in expected)
        assert list(inspect.signature(resolve(tnn)).parameters) == expected
        return
    ours = inspect.signature(resolve(tnn))
    assert list(ours.parameters) == list(theirs.parameters)
    for name, p in theirs.parameters.items():
        q = ours.parameters[name]
        assert q.kind == p.kind, name
        if callable(p.default) and p.default is not inspect.Parameter.empty:
            assert q.default.__name__ == p.default.__name__, name
        else:
            assert q.default == p.default, name

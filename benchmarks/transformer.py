"""A GPT-2-style training step: torchjax against hand-written JAX, torch eager and torch.compile.

The model is nanoGPT's GPT-2 (token + position embeddings, pre-norm blocks of causal self-attention
through ``F.scaled_dot_product_attention`` and a GELU(tanh) MLP, a final LayerNorm, a head tied to
the token embedding), written once against an ``nn`` / ``F`` namespace, so torchjax and torch run
the same code; the hand-written JAX version is the same math on a dict of arrays with
``jax.nn.dot_product_attention``. One step: forward, cross-entropy (in float32), backward, AdamW,
all candidates from the same weights and batch (their first losses are checked to agree):
  - torchjax: ``@torchjax.compile`` around ``opt.zero_grad(); torchjax.backward(...); opt.step()``;
  - hand-written ``jax.jit`` of ``jax.value_and_grad`` + ``optax.adamw``, state donated (the floor);
  - torch eager and ``torch.compile`` (skip the latter with ``--no-torch-compile``).
"bfloat16" means every parameter, activation and optimizer state in bfloat16 for all candidates
(no mixed precision); LayerNorm and softmax accumulate in float32 inside.

Presets: ``cpu-small`` (default: 4 layers, d=128, T=128, batch 8, float32), ``gpt2-small`` (12
layers, d=768, 12 heads, T=1024, batch 8, vocabulary 50304) and ``tiny`` (a quick correctness run
of the script). ``benchmarks/gpu.sh`` runs ``gpt2-small`` in bfloat16 on an NVIDIA GPU.

Run: ``.venv/bin/python benchmarks/transformer.py`` (after ``.venv/bin/pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import os
import platform
from types import SimpleNamespace

# isort: off
from _harness import block_jax, measure, median_ratio, print_table  # first: sets OMP_WAIT_POLICY before torch loads
# isort: on
import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as TF
from torchjax.nn.functional import attention as _attention

PRESETS = {
    "tiny": dict(vocab=64, block=16, d_model=32, heads=2, layers=2, batch=2),
    "cpu-small": dict(vocab=512, block=128, d_model=128, heads=4, layers=4, batch=8),
    "gpt2-small": dict(vocab=50304, block=1024, d_model=768, heads=12, layers=12, batch=8),
}
LR, BETAS, EPS, WEIGHT_DECAY, GOAL = 3e-4, (0.9, 0.95), 1e-8, 0.1, 1.05
TORCH = SimpleNamespace(nn=torch.nn, F=torch.nn.functional, arange=torch.arange, f32=lambda x: x.float())
TORCHJAX = SimpleNamespace(nn=tnn, F=TF, arange=jnp.arange, f32=lambda x: x.astype(jnp.float32))


def build_gpt(lib, cfg: dict):
    """nanoGPT's GPT-2 on ``lib`` (torch or torchjax): the same source for both frameworks."""
    nn, F = lib.nn, lib.F
    d, heads = cfg["d_model"], cfg["heads"]

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)

        def forward(self, x):
            B, T, C = x.shape
            qkv = self.c_attn(x)
            q, k, v = (qkv[..., i * C:(i + 1) * C].reshape(B, T, heads, C // heads).swapaxes(1, 2) for i in range(3))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.swapaxes(1, 2).reshape(B, T, C))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"), nn.Linear(4 * d, d))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(cfg["vocab"], d)
            self.wpe = nn.Embedding(cfg["block"], d)
            self.h = nn.ModuleList(Block() for _ in range(cfg["layers"]))
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, cfg["vocab"], bias=False)
            self.lm_head.weight = self.wte.weight  # tied, as GPT-2
            for name, p in self.named_parameters():  # GPT-2's init: N(0, 0.02) matrices, zero biases
                if p.ndim >= 2:
                    nn.init.normal_(p, 0.0, 0.02)
                elif name.endswith("bias"):
                    nn.init.zeros_(p)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(lib.arange(idx.shape[1]))
            for block in self.h:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    return GPT()


def gpt_loss(lib, model, idx, targets):
    logits = model(idx)
    return lib.F.cross_entropy(lib.f32(logits.reshape(-1, logits.shape[-1])), targets.reshape(-1))


# --- hand-written JAX -------------------------------------------------------------------------------


def _layer_norm(x, w, b, eps=1e-5):
    x32 = x.astype(jnp.float32)
    mean = x32.mean(-1, keepdims=True)
    var = ((x32 - mean) ** 2).mean(-1, keepdims=True)
    return ((x32 - mean) * jax.lax.rsqrt(var + eps)).astype(x.dtype) * w + b


def _dense(x, w, b=None):
    y = jnp.einsum("...i,oi->...o", x, w)
    return y if b is None else y + b


def _attention_kernel(q, k, v):
    """``jax.nn.dot_product_attention`` on (B, T, H, hd), cuDNN's fused kernel for half precision
    on a GPU when it takes the shapes (the same choice torchjax's SDPA makes)."""
    if jax.default_backend() == "gpu" and q.dtype in (jnp.bfloat16, jnp.float16):
        try:
            return jax.nn.dot_product_attention(q, k, v, is_causal=True, implementation="cudnn")
        except (NotImplementedError, ValueError, RuntimeError):
            pass
    return jax.nn.dot_product_attention(q, k, v, is_causal=True)


def hand_forward(params: dict, idx, cfg: dict):
    B, T = idx.shape
    d, heads = cfg["d_model"], cfg["heads"]
    x = params["wte.weight"][idx] + params["wpe.weight"][:T]
    for i in range(cfg["layers"]):
        p = {k[len(f"h.{i}."):]: v for k, v in params.items() if k.startswith(f"h.{i}.")}
        qkv = _dense(_layer_norm(x, p["ln_1.weight"], p["ln_1.bias"]), p["attn.c_attn.weight"],
                     p["attn.c_attn.bias"]).reshape(B, T, 3, heads, d // heads)
        y = _attention_kernel(qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]).reshape(B, T, d)
        x = x + _dense(y, p["attn.c_proj.weight"], p["attn.c_proj.bias"])
        h = _dense(_layer_norm(x, p["ln_2.weight"], p["ln_2.bias"]), p["mlp.0.weight"], p["mlp.0.bias"])
        x = x + _dense(jax.nn.gelu(h, approximate=True), p["mlp.2.weight"], p["mlp.2.bias"])
    return _dense(_layer_norm(x, params["ln_f.weight"], params["ln_f.bias"]), params["wte.weight"])


def hand_written_step(cfg: dict):
    optimizer = optax.adamw(LR, b1=BETAS[0], b2=BETAS[1], eps=EPS, weight_decay=WEIGHT_DECAY)

    def loss_fn(params, idx, targets):
        logits = hand_forward(params, idx, cfg).astype(jnp.float32)
        return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()

    def step(params, opt_state, idx, targets):
        loss, grads = jax.value_and_grad(loss_fn)(params, idx, targets)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return loss, optax.apply_updates(params, updates), opt_state

    return optimizer, jax.jit(step, donate_argnums=(0, 1))


# --- candidates -------------------------------------------------------------------------------------


def torchjax_candidate(model):
    opt = torchjax.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)

    @torchjax.compile
    def step(model, opt, idx, targets):
        opt.zero_grad()
        loss = torchjax.backward(lambda m: gpt_loss(TORCHJAX, m, idx, targets), model)
        opt.step()
        return loss

    return step, opt


def torch_candidate(cfg: dict, state: dict, dtype: torch.dtype, device: str, compiled: bool):
    model = build_gpt(TORCH, cfg)
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    model.to(device=device, dtype=dtype)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)

    def step(idx, targets):
        opt.zero_grad()
        loss = gpt_loss(TORCH, model, idx, targets)
        loss.backward()
        opt.step()
        return loss.detach()

    return torch.compile(step) if compiled else step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu-small")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu",
                        help="torch's device; JAX uses its default backend")
    parser.add_argument("--repeats", "-R", type=int, default=5, help="repetitions; the median is reported")
    parser.add_argument("--iterations", "-N", type=int, default=20, help="steps per repetition")
    parser.add_argument("--no-torch-compile", action="store_true", help="skip torch.compile (slow to compile)")
    parser.add_argument("--no-torch", action="store_true", help="skip both torch candidates")
    args = parser.parse_args()
    cfg = PRESETS[args.preset]
    dtype_name = args.dtype
    tokens = cfg["batch"] * cfg["block"]
    print(f"jax {jax.__version__} on {jax.devices()[0].device_kind} ({jax.default_backend()}), torch "
          f"{torch.__version__} on {args.device}, python {platform.python_version()}; preset {args.preset} "
          f"({cfg}), {dtype_name}; median of R={args.repeats} repetitions x N={args.iterations} steps")

    torchjax.manual_seed(0)
    model = build_gpt(TORCHJAX, cfg).to(getattr(torchjax, dtype_name))
    state = {k: np.asarray(v, np.float32) for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    idx_np = rng.integers(0, cfg["vocab"], (cfg["batch"], cfg["block"])).astype(np.int32)
    targets_np = np.roll(idx_np, -1, axis=1)
    idx, targets = jnp.asarray(idx_np), jnp.asarray(targets_np)

    step, opt = torchjax_candidate(model)
    optimizer, hand = hand_written_step(cfg)
    hand_state = {"params": {k: jnp.asarray(v, dtype_name) for k, v in state.items() if k != "lm_head.weight"}}
    hand_state["opt"] = optimizer.init(hand_state["params"])

    def hand_call():
        loss, hand_state["params"], hand_state["opt"] = hand(hand_state["params"], hand_state["opt"], idx, targets)
        return loss

    candidates = {
        "torchjax.compile": (lambda: step(model, opt, idx, targets), block_jax),
        "hand-written jax.jit (floor)": (hand_call, block_jax),
    }
    if not args.no_torch:
        torch_dtype = getattr(torch, dtype_name)
        idx_t = torch.tensor(idx_np, dtype=torch.long, device=args.device)
        targets_t = torch.tensor(targets_np, dtype=torch.long, device=args.device)

        def block_torch(_):
            if args.device == "cuda":
                torch.cuda.synchronize()

        eager = torch_candidate(cfg, state, torch_dtype, args.device, compiled=False)
        candidates["torch eager"] = (lambda: eager(idx_t, targets_t), block_torch)
        if not args.no_torch_compile:
            compiled = torch_candidate(cfg, state, torch_dtype, args.device, compiled=True)
            candidates["torch.compile"] = (lambda: compiled(idx_t, targets_t), block_torch)

    losses = {name: float(call()) for name, (call, _) in candidates.items()}  # the first call compiles
    tolerance = 1e-4 if dtype_name == "float32" else 3e-2
    floor = losses["hand-written jax.jit (floor)"]
    assert all(abs(loss - floor) <= tolerance * max(1.0, abs(floor)) for loss in losses.values()), (
        f"first-step losses differ: {losses}")
    print("first-step losses: " + ", ".join(f"{name} {loss:.5f}" for name, loss in losses.items()))

    samples = measure(candidates, args.repeats, args.iterations)
    print(f"\ntrain step, GPT-2-style, {cfg['layers']} layers, d={cfg['d_model']}, T={cfg['block']}, "
          f"batch {cfg['batch']}, {dtype_name}, AdamW")
    print_table(samples, "hand-written jax.jit (floor)", "step")
    for name in candidates:
        seconds = sorted(s[name] for s in samples)[len(samples) // 2]
        print(f"{name:34s} {tokens / seconds:11.0f} tokens/s")
    for name in candidates:
        if name != "hand-written jax.jit (floor)":
            print(f"{name} / hand-written = {median_ratio(samples, name, 'hand-written jax.jit (floor)'):.3f}")
    ratio = median_ratio(samples, "torchjax.compile", "hand-written jax.jit (floor)")
    print(f"torchjax / hand-written = {ratio:.3f} (goal <= {GOAL:.2f}: {'met' if ratio <= GOAL else 'NOT met'}); "
          f"attention implementation on GPU: {_attention._GPU_IMPLEMENTATION} "
          f"(XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r})")


if __name__ == "__main__":
    main()

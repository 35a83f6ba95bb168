"""Train a small character-level Transformer language model on bundled Shakespeare, then sample.

A GPT-style model written as in PyTorch: token and position ``nn.Embedding``s, an
``nn.TransformerEncoder`` of pre-norm GELU layers run with the causal mask, a final ``LayerNorm``
and a linear head; ``AdamW``; one ``torchjax.compile``d training step (forward, backward and
optimizer update in one XLA program); a tqdm progress bar; then text sampled from the model.

    python examples/char_transformer.py                     # about a minute on a 2-core CPU
    python examples/char_transformer.py --steps 3000        # longer, better samples
    python examples/char_transformer.py --prompt "To be"    # sample from another prompt
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import torchjax
import torchjax.nn as nn
import torchjax.nn.functional as F

TEXT = Path(__file__).resolve().parent / "data" / "shakespeare.txt"


class CharTransformer(nn.Module):
    """Next-character logits for every position of a ``(batch, time)`` array of character ids."""

    def __init__(self, vocab_size: int, block_size: int, d_model: int = 64, nhead: int = 4, num_layers: int = 2,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.token = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(block_size, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.head = nn.Linear(d_model, vocab_size)
        self.register_buffer("causal_mask", nn.Transformer.generate_square_subsequent_mask(block_size),
                             persistent=False)

    def forward(self, ids: jax.Array) -> jax.Array:
        length = ids.shape[1]
        x = self.token(ids) + self.position(jnp.arange(length))
        x = self.blocks(x, mask=self.causal_mask[:length, :length], is_causal=True)
        return self.head(x)


def load_text(path: Path = TEXT) -> tuple[np.ndarray, list[str]]:
    text = path.read_text(encoding="utf-8")
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    return np.array([lookup[c] for c in text], dtype=np.int32), chars


def batches(data: np.ndarray, block_size: int, batch_size: int, rng: np.random.Generator):
    """Endless random windows: inputs ``(batch, block)`` and the same shifted by one as targets."""
    offsets = np.arange(block_size + 1)
    while True:
        starts = rng.integers(0, len(data) - block_size - 1, batch_size)
        windows = data[starts[:, None] + offsets]
        yield jnp.asarray(windows[:, :-1]), jnp.asarray(windows[:, 1:])


def sequence_loss(model: nn.Module, ids: jax.Array, targets: jax.Array) -> jax.Array:
    logits = model(ids)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@torchjax.compile
def train_step(model, optimizer, ids, targets):
    optimizer.zero_grad()
    loss = torchjax.backward(lambda m: sequence_loss(m, ids, targets), model)
    optimizer.step()
    return loss


@torchjax.compile
def evaluate_loss(model, ids, targets):
    return sequence_loss(model, ids, targets)


@torchjax.compile
def next_logits(model, window, position):
    """Logits for the character after ``window[0, position]``: the causal mask makes whatever
    follows ``position`` in the fixed-size window irrelevant, so one compiled program serves
    every prompt length."""
    return jax.lax.dynamic_index_in_dim(model(window)[0], position, keepdims=False)


def sample(model: CharTransformer, prompt: str, chars: list[str], block_size: int, length: int,
           temperature: float, rng: np.random.Generator) -> str:
    lookup = {c: i for i, c in enumerate(chars)}
    ids = [lookup[c] for c in prompt if c in lookup] or [lookup["\n"]]
    model.eval()
    for _ in range(length):
        context = ids[-block_size:]
        window = np.zeros((1, block_size), np.int32)
        window[0, :len(context)] = context
        logits = np.asarray(next_logits(model, jnp.asarray(window), len(context) - 1), np.float64) / temperature
        probs = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(chars), p=probs / probs.sum())))
    model.train()
    return "".join(chars[i] for i in ids)


def train(steps: int = 1000, batch_size: int = 32, block_size: int = 64, lr: float = 3e-3, seed: int = 0,
          progress: bool = True) -> dict:
    from tqdm import tqdm

    data, chars = load_text()
    split = int(0.9 * len(data))
    train_data, val_data = data[:split], data[split:]
    torchjax.manual_seed(seed)
    model = CharTransformer(len(chars), block_size)
    optimizer = torchjax.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    scheduler = torchjax.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=lr / 10)
    rng = np.random.default_rng(seed)
    stream = batches(train_data, block_size, batch_size, rng)
    started = time.perf_counter()
    bar = tqdm(range(steps), desc="training", disable=not progress)
    losses = []
    for step in bar:
        ids, targets = next(stream)
        losses.append(train_step(model, optimizer, ids, targets))
        scheduler.step()
        if step % 20 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{float(losses[-1]):.3f}")
    model.eval()
    val_ids, val_targets = next(batches(val_data, block_size, 64, np.random.default_rng(seed + 1)))
    val_loss = float(evaluate_loss(model, val_ids, val_targets))
    model.train()
    train_loss = float(jnp.mean(jnp.stack(losses[-20:])))
    return {"model": model, "chars": chars, "train_loss": train_loss, "val_loss": val_loss,
            "seconds": time.perf_counter() - started, "block_size": block_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompt", default="Shall I ")
    parser.add_argument("--sample-chars", type=int, default=300)
    parser.add_argument("--temperature", type=float, default=0.8)
    args = parser.parse_args()
    result = train(args.steps, args.batch_size, args.block_size, args.lr, args.seed)
    print(f"trained {args.steps} steps in {result['seconds']:.1f} s: train loss {result['train_loss']:.3f} "
          f"(last 20 steps), validation loss {result['val_loss']:.3f} (nats per character)")
    text = sample(result["model"], args.prompt, result["chars"], result["block_size"], args.sample_chars,
                  args.temperature, np.random.default_rng(args.seed))
    print("--- sample ---")
    print(text)


if __name__ == "__main__":
    main()

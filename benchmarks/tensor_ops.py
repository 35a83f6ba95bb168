"""What torchjax.Tensor costs on eager ops: the same work through Tensor against ``jnp`` on raw arrays.

Each op is written twice, side by side in one process, on the same values:
  - torchjax: torch's spelling on ``torchjax.Tensor`` (methods, operators, ``F``, ``__setitem__``);
  - raw: the ``jnp`` / ``jax.nn`` calls that compute the same thing on ``jax.Array`` (the floor: JAX's own
    eager dispatch, one cached executable per primitive).
Ops (float32, the sizes below are element counts of the main operand):
  - ``view_transpose``: ``x.view(B, T, nh, hs).transpose(1, 2)`` (attention's head split);
  - ``masked_softmax``: ``F.softmax(att.masked_fill(mask == 0, float('-inf')), dim=-1)``;
  - ``indexed_write``: ``pe[:, 0::2] = v`` (a positional table filled by slice assignment);
  - ``add_mul``: ``x * 2 + y`` (two operators, Python scalar promotion);
  - ``sum_keepdim``: ``x.sum(-1, keepdim=True)``.
Goal: torchjax / raw <= 1.15 for ops of 1k to 1M elements. torch eager is printed as a peer.

Run: ``.venv/bin/python benchmarks/tensor_ops.py`` (``-R``/``-N``: repetitions / calls per repetition).
"""

from __future__ import annotations

# isort: off
from _harness import block_jax, measure, median_micros, median_ratio, no_block
# isort: on  (_harness first: it sets the OpenMP policy before torch loads)

import argparse
import platform

import jax
import jax.numpy as jnp
import numpy as np
import torch

import torchjax
import torchjax.nn.functional as F

GOAL = 1.15
SIZES = (1024, 32768, 1048576)  # elements: 1k, 32k, 1M


def _shape(numel: int) -> tuple[int, int, int, int]:
    """(B, T, nh, hs) with B*T*nh*hs == numel and hs == 16."""
    hs, nh = 16, 4
    rows = numel // (hs * nh)
    batch = 2 if rows >= 2 else 1
    return batch, rows // batch, nh, hs


def cases(numel: int):
    """{op: (torchjax call, raw call, torch call)}, each a no-argument function over fixed inputs."""
    rng = np.random.default_rng(0)
    B, T, nh, hs = _shape(numel)
    C = nh * hs
    x_np = rng.standard_normal((B, T, C)).astype(np.float32)
    y_np = rng.standard_normal((B, T, C)).astype(np.float32)
    x, y = torchjax.tensor(x_np), torchjax.tensor(y_np)
    xa, ya = jnp.asarray(x_np), jnp.asarray(y_np)
    xt, yt = torch.tensor(x_np), torch.tensor(y_np)

    # Attention scores of about numel elements: (B, nh, S, S).
    S = max(int((numel // (B * nh)) ** 0.5), 2)
    att_np = rng.standard_normal((B, nh, S, S)).astype(np.float32)
    mask_np = np.tril(np.ones((S, S), np.float32))[None, None]
    att, mask = torchjax.tensor(att_np), torchjax.tensor(mask_np)
    atta, maska = jnp.asarray(att_np), jnp.asarray(mask_np)
    attt, maskt = torch.tensor(att_np), torch.tensor(mask_np)

    # A (rows, 2 * half) table whose even columns are written.
    rows = max(numel // 64, 1)
    pe_np = np.zeros((rows, 64), np.float32)
    v_np = rng.standard_normal((rows, 32)).astype(np.float32)
    pe, v = torchjax.tensor(pe_np), torchjax.tensor(v_np)
    pea, va = jnp.asarray(pe_np), jnp.asarray(v_np)
    pet, vt = torch.tensor(pe_np), torch.tensor(v_np)

    def write_ours():
        pe[:, 0::2] = v
        return pe

    def write_raw():
        nonlocal pea
        pea = pea.at[:, 0::2].set(va)
        return pea

    def write_torch():
        pet[:, 0::2] = vt
        return pet

    return {
        "view_transpose": (lambda: x.view(B, T, nh, hs).transpose(1, 2),
                           lambda: jnp.swapaxes(xa.reshape(B, T, nh, hs), 1, 2),
                           lambda: xt.view(B, T, nh, hs).transpose(1, 2)),
        "masked_softmax": (lambda: F.softmax(att.masked_fill(mask == 0, float("-inf")), dim=-1),
                           lambda: jax.nn.softmax(jnp.where(maska == 0, -jnp.inf, atta), axis=-1),
                           lambda: torch.nn.functional.softmax(attt.masked_fill(maskt == 0, float("-inf")), dim=-1)),
        "indexed_write": (write_ours, write_raw, write_torch),
        "add_mul": (lambda: x * 2 + y, lambda: xa * 2 + ya, lambda: xt * 2 + yt),
        "sum_keepdim": (lambda: x.sum(-1, keepdim=True), lambda: xa.sum(-1, keepdims=True),
                        lambda: xt.sum(-1, keepdim=True)),
    }


def _block_tensor(result) -> None:
    block_jax(result.jax())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-R", "--repeats", type=int, default=7)
    parser.add_argument("-N", "--iterations", type=int, default=200)
    parser.add_argument("--no-torch", action="store_true", help="leave torch eager out")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}; medians of {args.repeats} x {args.iterations} calls")
    print(f"{'op':16s} {'elements':>9s} {'torchjax µs':>12s} {'raw µs':>8s} {'torch µs':>9s} "
          f"{'torchjax/raw':>13s}  goal <= {GOAL}")
    worst = 0.0
    for numel in SIZES:
        # Fewer calls at 1M elements: each takes milliseconds.
        iterations = max(args.iterations // (8 if numel >= 1 << 20 else 1), 10)
        for name, (ours, raw, theirs) in cases(numel).items():
            candidates = {"torchjax": (ours, _block_tensor), "raw": (raw, block_jax)}
            if not args.no_torch:
                candidates["torch"] = (theirs, no_block)
            samples = measure(candidates, args.repeats, iterations)
            micros = median_micros(samples)
            ratio = median_ratio(samples, "torchjax", "raw")
            worst = max(worst, ratio)
            torch_us = f"{micros['torch']:9.1f}" if "torch" in micros else f"{'-':>9s}"
            print(f"{name:16s} {numel:9d} {micros['torchjax']:12.1f} {micros['raw']:8.1f} {torch_us} "
                  f"{ratio:13.3f}  {'ok' if ratio <= GOAL else 'OVER'}")
    print(f"worst torchjax/raw: {worst:.3f} (goal <= {GOAL})")


if __name__ == "__main__":
    main()

"""What torchjax's Module machinery costs on an eager forward.

An 8-layer MLP (Linear(64, 64) + tanh per layer, batch 32, float32) run eagerly three ways in one
process, from the same weights:
  - torchjax: ``nn.Module`` holding an ``nn.Sequential`` of ``nn.Linear``;
  - hand-written: the same jax calls (``F.linear`` then ``jnp.tanh``) on a flat list of arrays, so
    the only difference from the line above is the Module machinery;
  - peers: torch eager (under ``torch.no_grad()``) and, when flax is installed, Flax NNX eager.

Each timing is the median over R repetitions of N forwards, blocking on every output. Within a
repetition the candidates take turns in blocks of N/10 forwards, so load from other processes hits
all of them alike; the ratio is the median of the per-repetition ratios. Compare numbers only within
one run. Goal: torchjax / hand-written <= 1.10.

Run: ``.venv/bin/python benchmarks/module_overhead.py`` (after ``.venv/bin/pip install -e '.[bench]'``).
"""

from __future__ import annotations

# isort: off
from _harness import (
    block_jax,
    measure,
    median_ratio,
    no_block,
    print_table,
)
# isort: on  (_harness first: it sets the OpenMP policy before torch loads)

import argparse
import platform
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import torch

import torchjax as tj
import torchjax.nn as nn
import torchjax.nn.functional as F

WIDTH, DEPTH, BATCH = 64, 8, 32
GOAL = 1.10


class MLP(nn.Module):
    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(*(nn.Linear(width, width) for _ in range(depth)))

    def forward(self, x: jax.Array) -> jax.Array:
        for layer in self.layers:
            x = jnp.tanh(layer(x))
        return x


def hand_written(weights: list[tuple[jax.Array, jax.Array]]) -> Callable[[jax.Array], jax.Array]:
    def forward(x: jax.Array) -> jax.Array:
        for weight, bias in weights:
            x = jnp.tanh(F.linear(x, weight, bias))
        return x

    return forward


def torch_mlp(weights: list[tuple[np.ndarray, np.ndarray]]) -> Callable[[torch.Tensor], torch.Tensor]:
    layers = []
    for weight, bias in weights:
        linear = torch.nn.Linear(WIDTH, WIDTH)
        linear.load_state_dict({"weight": torch.tensor(weight), "bias": torch.tensor(bias)})
        layers += [linear, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers)

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return model(x)

    return forward


def flax_mlp(weights: list[tuple[np.ndarray, np.ndarray]]) -> Callable[[jax.Array], jax.Array] | None:
    try:
        from flax import nnx
    except ImportError:
        return None
    layers = []
    for weight, bias in weights:
        linear = nnx.Linear(WIDTH, WIDTH, rngs=nnx.Rngs(0))
        linear.kernel.value = jnp.asarray(weight.T)  # flax stores (in, out)
        linear.bias.value = jnp.asarray(bias)
        layers += [linear, jnp.tanh]
    return nnx.Sequential(*layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", "-R", type=int, default=7, help="repetitions; the median is reported")
    parser.add_argument("--iterations", "-N", type=int, default=300, help="forwards per repetition")
    args = parser.parse_args()

    tj.manual_seed(0)
    model = MLP(WIDTH, DEPTH)
    weights = [(layer.weight.data, layer.bias.data) for layer in model.layers]
    numpy_weights = [(np.asarray(w), np.asarray(b)) for w, b in weights]
    x = jax.random.normal(jax.random.key(0), (BATCH, WIDTH), jnp.float32)
    x_torch = torch.tensor(np.asarray(x))

    candidates = {
        "torchjax nn.Module": (model, x, block_jax),
        "hand-written jax": (hand_written(weights), x, block_jax),
        "torch eager (no_grad)": (torch_mlp(numpy_weights), x_torch, no_block),
    }
    flax_forward = flax_mlp(numpy_weights)
    if flax_forward is not None:
        candidates["flax nnx eager"] = (flax_forward, x, block_jax)

    reference = np.asarray(model(x))
    for name, (forward, inputs, _) in candidates.items():
        np.testing.assert_allclose(np.asarray(forward(inputs)), reference, rtol=1e-5, atol=1e-5, err_msg=name)

    calls = {name: ((lambda f=forward, a=inputs: f(a)), block) for name, (forward, inputs, block) in candidates.items()}
    samples = measure(calls, args.repeats, args.iterations)
    ratio = median_ratio(samples, "torchjax nn.Module", "hand-written jax")

    print(f"eager forward, {DEPTH} x (Linear({WIDTH}, {WIDTH}) + tanh), batch {BATCH}, float32")
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, torch {torch.__version__}, "
        f"python {platform.python_version()}, {torch.get_num_threads()} torch threads"
    )
    print(f"median of R={args.repeats} repetitions x N={args.iterations} forwards\n")
    print_table(samples, "hand-written jax", "forward")
    if flax_forward is None:
        print("\n(flax not installed: pip install -e '.[bench]' adds the Flax NNX peer)")
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"\ntorchjax / hand-written = {ratio:.3f}, median of per-repetition ratios (goal <= {GOAL:.2f}: {verdict})")


if __name__ == "__main__":
    main()

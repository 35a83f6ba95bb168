"""What a compiled training step costs per call: torchjax.compile against hand-written jax.jit.

The step: an MLP of DEPTH x (Linear(WIDTH, WIDTH) + tanh), batch 32, MSE loss, SGD(lr=0.01),
float32, all competitors from the same weights, side by side in one process:
  - hand-written ``jax.jit`` over a flat list of arrays with donation (our floor), and the same
    step also returning its grads as one concatenated array (the floor for torch's order, which
    keeps ``.grad`` after ``opt.step()``);
  - torchjax: ``@torchjax.compile`` around ``opt.zero_grad(); torchjax.backward(...); opt.step()``;
  - peers: Flax NNX ``nnx.jit``, Equinox ``filter_jit`` (both with optax.sgd), torch eager and
    ``torch.compile`` of the whole step and of the model alone (torch only at depth 8 unless
    --deep-peers: torch.compile of 64
    layers compiles for minutes on this CPU).
Goals: torchjax <= 1.10 x hand-written, at depth 8 and 64 alike (the per-call work is a flat
list, not a walk of the model). Also reports each jitted step's memory (XLA's memory analysis:
arguments + outputs - aliased + temporaries) to show that donation works.

Run: ``.venv/bin/python benchmarks/dispatch.py`` (after ``.venv/bin/pip install -e '.[bench]'``).
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

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch

import torchjax
import torchjax.nn as nn

BATCH, LR, GOAL = 32, 0.01, 1.10


class MLP(nn.Module):
    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))

    def forward(self, x):
        for layer in self.layers:
            x = jnp.tanh(layer(x))
        return x


def mse(prediction, target):
    return ((prediction - target) ** 2).mean()


def torchjax_step(model: MLP, release_grads: bool = False):
    """The torch loop, compiled. With ``release_grads`` it ends with ``opt.zero_grad()`` (torch's
    other common order): the step then does not keep ``.grad`` arrays, which are outputs otherwise."""
    opt = torchjax.optim.SGD(model.parameters(), lr=LR)

    @torchjax.compile
    def step(model, opt, x, y):
        opt.zero_grad()
        loss = torchjax.backward(lambda m: mse(m(x), y), model)
        opt.step()
        if release_grads:
            opt.zero_grad()
        return loss

    return step, opt


def hand_written_step(keep_grads: bool = False):
    """The floor. With ``keep_grads`` it also returns the grads, concatenated into one array (the
    cheapest way to keep them): what a torch-order step must produce, since torch keeps ``.grad``."""

    def loss_fn(params, x, y):
        for w, b in params:
            x = jnp.tanh(x @ w.T + b)
        return mse(x, y)

    def step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        new = jax.tree.map(lambda p, g: p - LR * g, params, grads)
        if keep_grads:
            return loss, new, jnp.concatenate([g.ravel() for g in jax.tree.leaves(grads)])
        return loss, new

    return jax.jit(step, donate_argnums=0)


def flax_step(weights, width):
    from flax import nnx

    class FlaxMLP(nnx.Module):
        def __init__(self):
            self.layers = nnx.List([nnx.Linear(width, width, rngs=nnx.Rngs(0)) for _ in weights])
            for layer, (w, b) in zip(self.layers, weights, strict=True):
                layer.kernel.value = jnp.asarray(w.T)
                layer.bias.value = jnp.asarray(b)

        def __call__(self, x):
            for layer in self.layers:
                x = jnp.tanh(layer(x))
            return x

    model = FlaxMLP()
    optimizer = nnx.Optimizer(model, optax.sgd(LR), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x, y):
        loss, grads = nnx.value_and_grad(lambda m: mse(m(x), y))(model)
        optimizer.update(model, grads)
        return loss

    return lambda x, y: step(model, optimizer, x, y)


def equinox_step(weights, width):
    import equinox as eqx

    layers = []
    for w, b in weights:
        layer = eqx.nn.Linear(width, width, key=jax.random.key(0))
        layers.append(eqx.tree_at(lambda lin: (lin.weight, lin.bias), layer, (jnp.asarray(w), jnp.asarray(b))))
    optimizer = optax.sgd(LR)
    state = {"model": layers, "opt": optimizer.init(eqx.filter(layers, eqx.is_array))}

    def forward(model, x):
        for layer in model:
            x = jnp.tanh(jax.vmap(layer)(x))
        return x

    @eqx.filter_jit(donate="all")
    def step(model, opt_state, x, y):
        loss, grads = eqx.filter_value_and_grad(lambda m: mse(forward(m, x), y))(model)
        updates, opt_state = optimizer.update(grads, opt_state)
        return loss, eqx.apply_updates(model, updates), opt_state

    def call(x, y):
        loss, state["model"], state["opt"] = step(state["model"], state["opt"], x, y)
        return loss

    return call


def torch_steps(weights, width, compiled: str | None):
    """torch's loop, eager (``compiled=None``), with the whole step under ``torch.compile``
    (``"step"``: dynamo breaks the graph at zero_grad, backward and the optimizer) or with only the
    model compiled (``"model"``, the usual ``model = torch.compile(model)``)."""
    layers = []
    for w, b in weights:
        linear = torch.nn.Linear(width, width)
        linear.load_state_dict({"weight": torch.tensor(w), "bias": torch.tensor(b)})
        layers += [linear, torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    forward = torch.compile(model) if compiled == "model" else model

    def step(x, y):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(forward(x), y)
        loss.backward()
        opt.step()
        return loss

    return torch.compile(step) if compiled == "step" else step


def memory_bytes(lowered) -> int:
    analysis = lowered.compile().memory_analysis()
    return (analysis.argument_size_in_bytes + analysis.output_size_in_bytes - analysis.alias_size_in_bytes
            + analysis.temp_size_in_bytes)


def run_depth(depth: int, width: int, args) -> None:
    torchjax.manual_seed(depth)
    model = MLP(width, depth)
    weights = [(np.asarray(layer.weight.data), np.asarray(layer.bias.data)) for layer in model.layers]
    x = jax.random.normal(jax.random.key(1), (BATCH, width))
    y = jax.random.normal(jax.random.key(2), (BATCH, width))
    x_t, y_t = torch.tensor(np.asarray(x)), torch.tensor(np.asarray(y))

    step, opt = torchjax_step(model)
    twin = MLP(width, depth)
    twin.load_state_dict(model.state_dict())
    released_step, released_opt = torchjax_step(twin, release_grads=True)
    hand = hand_written_step()
    hand_state = {"params": [(jnp.asarray(w), jnp.asarray(b)) for w, b in weights]}

    def hand_call():
        loss, hand_state["params"] = hand(hand_state["params"], x, y)
        return loss

    hand_kept = hand_written_step(keep_grads=True)
    kept_state = {"params": [(jnp.asarray(w), jnp.asarray(b)) for w, b in weights], "grads": None}

    def hand_kept_call():
        loss, kept_state["params"], kept_state["grads"] = hand_kept(kept_state["params"], x, y)
        return loss

    candidates = {
        "torchjax.compile": (lambda: step(model, opt, x, y), block_jax),
        "torchjax.compile, zero_grad last": (lambda: released_step(twin, released_opt, x, y), block_jax),
        "hand-written jax.jit (floor)": (hand_call, block_jax),
        "hand-written, grads kept": (hand_kept_call, block_jax),
        "flax nnx.jit": ((lambda f=flax_step(weights, width): f(x, y)), block_jax),
        "equinox filter_jit": ((lambda f=equinox_step(weights, width): f(x, y)), block_jax),
    }
    if depth <= 8 or args.deep_peers:
        candidates["torch eager"] = ((lambda f=torch_steps(weights, width, None): f(x_t, y_t)), no_block)
        if not args.no_torch_compile:
            candidates["torch.compile(step)"] = ((lambda f=torch_steps(weights, width, "step"): f(x_t, y_t)), no_block)
            candidates["torch.compile(model)"] = ((lambda f=torch_steps(weights, width, "model"): f(x_t, y_t)),
                                                  no_block)

    losses = {name: float(call()) for name, (call, _) in candidates.items()}  # first call compiles
    for name, loss in losses.items():
        assert abs(loss - losses["hand-written jax.jit (floor)"]) < 1e-4 * max(1.0, abs(loss)), (name, losses)

    samples = measure(candidates, args.repeats, args.iterations)
    print(f"\ntrain step, {depth} x (Linear({width}, {width}) + tanh), batch {BATCH}, SGD, float32")
    print_table(samples, "hand-written jax.jit (floor)", "step")
    for name in ("torchjax.compile", "torchjax.compile, zero_grad last"):
        ratio = median_ratio(samples, name, "hand-written jax.jit (floor)")
        verdict = "met" if ratio <= GOAL else "NOT met"
        print(f"{name} / hand-written = {ratio:.3f} (goal <= {GOAL:.2f}: {verdict})")
    kept = median_ratio(samples, "torchjax.compile", "hand-written, grads kept")
    floor_kept = median_ratio(samples, "hand-written, grads kept", "hand-written jax.jit (floor)")
    print(f"torchjax.compile / hand-written with grads kept = {kept:.3f} (keeping the grads costs the hand-written "
          f"step {floor_kept:.3f}x)")

    floor = memory_bytes(hand.lower(hand_state["params"], x, y))
    kept = memory_bytes(next(iter(step._programs.values())).lower([x, y]))
    released = memory_bytes(next(iter(released_step._programs.values())).lower([x, y]))
    floor_kept = memory_bytes(hand_kept.lower(kept_state["params"], x, y))
    print(f"compiled step memory (arguments + outputs - donated + temporaries): hand-written {floor / 1e6:.3f} MB, "
          f"hand-written with grads kept {floor_kept / 1e6:.3f} MB; torchjax {kept / 1e6:.3f} MB (ratio "
          f"{kept / floor:.3f}, {kept / floor_kept:.3f} of the grads-kept floor), zero_grad last "
          f"{released / 1e6:.3f} MB (ratio {released / floor:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", "-R", type=int, default=7, help="repetitions; the median is reported")
    parser.add_argument("--iterations", "-N", type=int, default=200, help="steps per repetition")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depths", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--deep-peers", action="store_true", help="also run torch at depth > 8")
    parser.add_argument("--no-torch-compile", action="store_true", help="skip torch.compile (slow to compile)")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, torch {torch.__version__}, "
          f"python {platform.python_version()}, {torch.get_num_threads()} torch threads; "
          f"median of R={args.repeats} repetitions x N={args.iterations} steps")
    for depth in args.depths:
        run_depth(depth, args.width, args)


if __name__ == "__main__":
    main()

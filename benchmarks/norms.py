"""LayerNorm and BatchNorm2d, forward + backward, at realistic sizes: torchjax compiled against
torch eager and ``torch.compile``, with hand-written ``jax.jit`` as the floor.

One unit of work is a training-mode forward and the gradients of ``<output, cotangent>`` with respect
to the parameters and the input (BatchNorm also updates its running statistics):
  - torchjax: ``torchjax.compile`` around ``torchjax.func.grad(loss, argnums=(0, 1))(module, x)``;
  - hand-written: the same math on plain arrays under ``jax.jit(jax.grad(...))`` (the floor: what
    torchjax's Module and state machinery may add on top of XLA);
  - torch eager, and ``torch.compile`` of the same step (skip with --no-torch-compile).

Default sizes: LayerNorm(768) over (64, 128, 768) and BatchNorm2d(64) over (32, 64, 56, 56), float32
(``--scale`` divides the batch for a quicker run). Every candidate starts from the same weights; the
first call's outputs are checked against torch before timing.

Run: ``.venv/bin/python benchmarks/norms.py`` (after ``.venv/bin/pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import platform

# isort: off
from _harness import block_jax, measure, median_ratio, no_block, print_table  # before torch: sets OpenMP policy
# isort: on
import jax
import jax.numpy as jnp
import numpy as np
import torch

import torchjax
import torchjax.nn as nn

EPS, MOMENTUM = 1e-5, 0.1


def layer_norm_floor(cotangent):
    def loss(x, weight, bias):
        mean = x.mean(-1, keepdims=True)
        var = jnp.square(x - mean).mean(-1, keepdims=True)
        return (((x - mean) * jax.lax.rsqrt(var + EPS) * weight + bias) * cotangent).sum()

    return jax.jit(jax.grad(loss, argnums=(0, 1, 2)))


def batch_norm_floor(cotangent):
    def loss(weight, bias, x, running_mean, running_var):
        axes, shape = (0, 2, 3), (1, -1, 1, 1)
        mean = x.mean(axes)
        var = jnp.square(x - mean.reshape(shape)).mean(axes)
        scale = weight * jax.lax.rsqrt(var + EPS)
        out = x * scale.reshape(shape) + (bias - mean * scale).reshape(shape)
        count = x.size // x.shape[1]
        stats = (jax.lax.stop_gradient((1 - MOMENTUM) * running_mean + MOMENTUM * mean),
                 jax.lax.stop_gradient((1 - MOMENTUM) * running_var + MOMENTUM * var * count / (count - 1)))
        return (out * cotangent).sum(), stats

    @jax.jit
    def step(weight, bias, x, running_mean, running_var):
        grads, stats = jax.grad(loss, argnums=(0, 1, 2), has_aux=True)(weight, bias, x, running_mean, running_var)
        return grads, stats

    return step


def torch_step(module: torch.nn.Module, x: torch.Tensor, cotangent: torch.Tensor, compiled: bool):
    def step():
        x.grad = None
        module.zero_grad(set_to_none=True)
        (module(x) * cotangent).sum().backward()
        return x.grad

    return torch.compile(step) if compiled else step


def torchjax_step(cotangent):
    def loss(module, x):
        return (module(x) * cotangent).sum()

    grad = torchjax.func.grad(loss, argnums=(0, 1))
    return torchjax.compile(lambda module, x: grad(module, x))


def run(name: str, ours: nn.Module, theirs: torch.nn.Module, shape: tuple[int, ...], floor, args) -> None:
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(shape).astype(np.float32)
    cot_np = rng.standard_normal(shape).astype(np.float32)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x, cotangent = jnp.asarray(x_np), jnp.asarray(cot_np)
    x_t, cot_t = torch.tensor(x_np, requires_grad=True), torch.tensor(cot_np)

    step = torchjax_step(cotangent)
    candidates = {
        "torchjax.compile": (lambda: step(ours, x), block_jax),
        "hand-written jax.jit (floor)": (floor, block_jax),
        "torch eager": (torch_step(theirs, x_t, cot_t, compiled=False), no_block),
    }
    if not args.no_torch_compile:
        candidates["torch.compile"] = (torch_step(theirs, x_t, cot_t, compiled=True), no_block)

    expected = candidates["torch eager"][0]().numpy()
    _, x_grad = step(ours, x)  # the first call compiles
    np.testing.assert_allclose(np.asarray(x_grad), expected, rtol=1e-3, atol=1e-3)
    for candidate, _ in candidates.values():
        candidate()  # compile everything before timing

    samples = measure(candidates, args.repeats, args.iterations)
    print(f"\n{name}, input {shape}, forward + backward (parameters and input), float32")
    print_table(samples, "torch eager", "step")
    for other in ("torch eager", "torch.compile", "hand-written jax.jit (floor)"):
        if other in samples[0]:
            print(f"torchjax / {other} = {median_ratio(samples, 'torchjax.compile', other):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", "-R", type=int, default=5, help="repetitions; the median is reported")
    parser.add_argument("--iterations", "-N", type=int, default=20, help="steps per repetition")
    parser.add_argument("--scale", type=int, default=1, help="divide the batch sizes by this")
    parser.add_argument("--no-torch-compile", action="store_true", help="skip torch.compile (slow to compile)")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, torch {torch.__version__}, "
          f"python {platform.python_version()}, {torch.get_num_threads()} torch threads; "
          f"median of R={args.repeats} repetitions x N={args.iterations} steps")

    torch.manual_seed(0)
    shape = (64 // args.scale, 128, 768)
    theirs = torch.nn.LayerNorm(768)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-0.5, 0.5)
    weight, bias = jnp.asarray(theirs.weight.detach().numpy()), jnp.asarray(theirs.bias.detach().numpy())
    x = jnp.asarray(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    cotangent = jnp.asarray(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    layer_norm_step = layer_norm_floor(cotangent)
    run("LayerNorm(768)", nn.LayerNorm(768), theirs, shape, lambda: layer_norm_step(x, weight, bias), args)

    shape = (32 // args.scale, 64, 56, 56)
    theirs = torch.nn.BatchNorm2d(64)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.uniform_(-0.5, 0.5)
    weight, bias = jnp.asarray(theirs.weight.detach().numpy()), jnp.asarray(theirs.bias.detach().numpy())
    x = jnp.asarray(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    cotangent = jnp.asarray(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    floor_step = batch_norm_floor(cotangent)
    stats = {"mean": jnp.zeros(64), "var": jnp.ones(64)}

    def floor():
        grads, (stats["mean"], stats["var"]) = floor_step(weight, bias, x, stats["mean"], stats["var"])
        return grads

    run("BatchNorm2d(64), training", nn.BatchNorm2d(64), theirs, shape, floor, args)


if __name__ == "__main__":
    main()

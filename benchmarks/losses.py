"""Loss forward + backward: torchjax compiled against torch eager (and a hand-written JAX floor).

Two workloads, each timed as "loss and its gradient with respect to the logits":
  - cross entropy over a large vocabulary: logits (BATCH, VOCAB) = (256, 50_000), class-index targets;
    torchjax ``torchjax.compile`` of ``nn.CrossEntropyLoss`` + ``jax.value_and_grad``, against torch
    eager ``F.cross_entropy(...).backward()`` and ``optax.softmax_cross_entropy_with_integer_labels``
    under ``jax.jit`` (the floor for our overhead);
  - CTC at speech-like sizes: T=200 frames, N=16 utterances, C=32 symbols, S=50 target labels (random
    lengths), ``log_softmax`` of the logits then ``ctc_loss(reduction='sum')``; against torch eager and
    ``optax.ctc_loss`` under ``jax.jit`` (a different formulation, the JAX peer).
Every candidate starts from the same arrays; the losses are checked to agree before timing.

Run: ``.venv/bin/python benchmarks/losses.py`` (``--vocab``, ``--batch``, ``-R``, ``-N`` to resize).
"""

from __future__ import annotations  # noqa: I001 - _harness must be imported before torch

import argparse
import platform

from _harness import block_jax, measure, median_ratio, no_block, print_table  # first: sets OpenMP's policy
import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch

import torchjax
import torchjax.nn as nn
import torchjax.nn.functional as F


def cross_entropy_candidates(batch: int, vocab: int):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((batch, vocab)).astype(np.float32)
    target = rng.integers(0, vocab, batch)
    x, t = jnp.asarray(logits), jnp.asarray(target)
    criterion = nn.CrossEntropyLoss()

    @torchjax.compile
    def ours(module, x, t):
        return jax.value_and_grad(lambda x: module(x, t))(x)

    @jax.jit
    def floor(x, t):
        return jax.value_and_grad(lambda x: optax.softmax_cross_entropy_with_integer_labels(x, t).mean())(x)

    x_t, t_t = torch.tensor(logits, requires_grad=True), torch.tensor(target)

    def torch_eager():
        x_t.grad = None
        loss = torch.nn.functional.cross_entropy(x_t, t_t)
        loss.backward()
        return loss, x_t.grad

    candidates = {
        "torchjax.compile": (lambda: ours(criterion, x, t), block_jax),
        "optax + jax.jit (floor)": (lambda: floor(x, t), block_jax),
        "torch eager": (torch_eager, no_block),
    }
    return candidates, f"cross entropy, logits ({batch}, {vocab}), forward + backward, float32"


def ctc_candidates(steps: int, batch: int, classes: int, labels: int):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((steps, batch, classes)).astype(np.float32)
    input_lengths = rng.integers(steps * 3 // 4, steps + 1, batch)
    target_lengths = rng.integers(labels // 2, labels + 1, batch)
    targets = rng.integers(1, classes, (batch, labels))
    lp_args = [jnp.asarray(a) for a in (logits, targets, input_lengths, target_lengths)]
    criterion = nn.CTCLoss(reduction="sum")

    @torchjax.compile
    def ours(module, logits, targets, il, tl):
        return jax.value_and_grad(lambda z: module(F.log_softmax(z, dim=2), targets, il, tl))(logits)

    frames = np.arange(steps)
    logit_paddings = jnp.asarray((frames[None, :] >= input_lengths[:, None]).astype(np.float32))
    label_paddings = jnp.asarray((np.arange(labels)[None, :] >= target_lengths[:, None]).astype(np.float32))

    @jax.jit
    def peer(logits, targets):
        def loss(z):
            return optax.ctc_loss(jnp.transpose(z, (1, 0, 2)), logit_paddings, targets, label_paddings).sum()

        return jax.value_and_grad(loss)(logits)

    z_t = torch.tensor(logits, requires_grad=True)
    torch_args = [torch.tensor(a) for a in (targets, input_lengths, target_lengths)]

    def torch_eager():
        z_t.grad = None
        loss = torch.nn.functional.ctc_loss(z_t.log_softmax(2), *torch_args, reduction="sum")
        loss.backward()
        return loss, z_t.grad

    candidates = {
        "torchjax.compile": (lambda: ours(criterion, *lp_args), block_jax),
        "optax.ctc_loss + jax.jit (peer)": (lambda: peer(lp_args[0], lp_args[1]), block_jax),
        "torch eager": (torch_eager, no_block),
    }
    return candidates, (f"CTC, T={steps} N={batch} C={classes} S={labels}, log_softmax + ctc_loss(sum), "
                        "forward + backward, float32")


def check_agreement(candidates) -> None:
    results = {name: call() for name, (call, _) in candidates.items()}  # the first calls compile
    losses = {name: float(r[0].detach() if isinstance(r[0], torch.Tensor) else r[0]) for name, r in results.items()}
    grads = {name: np.asarray(r[1].detach() if isinstance(r[1], torch.Tensor) else r[1]) for name, r in results.items()}
    reference = grads["torch eager"]
    for name, loss in losses.items():
        assert abs(loss - losses["torch eager"]) <= 1e-3 * max(1.0, abs(loss)), losses
        assert np.abs(grads[name] - reference).max() <= 1e-3 * max(1.0, np.abs(reference).max()), name


def run(candidates, title: str, args) -> None:
    check_agreement(candidates)
    samples = measure(candidates, args.repeats, args.iterations)
    print(f"\n{title}")
    print_table(samples, "torch eager", "call")
    ratio = median_ratio(samples, "torchjax.compile", "torch eager")
    floor = next(name for name in candidates if name not in ("torchjax.compile", "torch eager"))
    print(f"torchjax / torch eager = {ratio:.3f}; torchjax / {floor} = "
          f"{median_ratio(samples, 'torchjax.compile', floor):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", "-R", type=int, default=5, help="repetitions; the median is reported")
    parser.add_argument("--iterations", "-N", type=int, default=20, help="calls per repetition")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=50_000)
    parser.add_argument("--ctc", type=int, nargs=4, default=[200, 16, 32, 50], metavar=("T", "N", "C", "S"))
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, torch {torch.__version__}, "
          f"python {platform.python_version()}, {torch.get_num_threads()} torch threads; "
          f"median of R={args.repeats} repetitions x N={args.iterations} calls")
    run(*cross_entropy_candidates(args.batch, args.vocab), args)
    run(*ctc_candidates(*args.ctc), args)


if __name__ == "__main__":
    main()

"""Side-by-side timing shared by the benchmarks: candidates take turns, medians and ratios.

A candidate is ``(call, block)``: ``call()`` does one unit of work (a forward, a training step)
and ``block(result)`` waits for it. Within a repetition the candidates run in turns of blocks,
rotating who goes first, so load from other processes on this shared machine hits all of them
alike; timings are the median over repetitions and a ratio is the median of per-repetition ratios.
"""

from __future__ import annotations

import os

# torch's OpenMP threads otherwise spin for a while after each torch call, stealing this 2-core
# machine from whichever candidate runs next. Set before torch is imported (benchmarks import
# this module first).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import statistics  # noqa: E402
import time
from collections.abc import Callable
from typing import Any

Candidate = tuple[Callable[[], Any], Callable[[Any], None]]


def block_jax(result: Any) -> None:
    import jax

    jax.block_until_ready(result)


def no_block(result: Any) -> None:
    """For torch on the CPU: the call has finished when it returns."""


def _run(call: Callable[[], Any], block: Callable[[Any], None], iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        block(call())
    return time.perf_counter() - start


def repetition(candidates: dict[str, Candidate], iterations: int, turns: int = 10) -> dict[str, float]:
    """Seconds per call of each candidate, the candidates taking turns in ``turns`` blocks."""
    per_turn = max(iterations // turns, 1)
    elapsed = dict.fromkeys(candidates, 0.0)
    names = list(candidates)
    for turn in range(turns):
        # Rotate who goes first: the first block after another library's block runs on colder caches.
        for name in names[turn % len(names):] + names[: turn % len(names)]:
            call, block = candidates[name]
            elapsed[name] += _run(call, block, per_turn)
    return {name: seconds / (per_turn * turns) for name, seconds in elapsed.items()}


def measure(candidates: dict[str, Candidate], repeats: int, iterations: int) -> list[dict[str, float]]:
    """Warm up, then ``repeats`` repetitions: a list of {name: seconds per call}."""
    repetition(candidates, max(iterations // 5, 10))
    return [repetition(candidates, iterations) for _ in range(repeats)]


def median_micros(samples: list[dict[str, float]]) -> dict[str, float]:
    return {name: statistics.median(s[name] for s in samples) * 1e6 for name in samples[0]}


def median_ratio(samples: list[dict[str, float]], numerator: str, denominator: str) -> float:
    return statistics.median(s[numerator] / s[denominator] for s in samples)


def print_table(samples: list[dict[str, float]], baseline: str, unit: str) -> None:
    medians = median_micros(samples)
    print(f"{'':34s} {'µs/' + unit:>11s} {'vs ' + baseline:>28s}")
    for name, micros in medians.items():
        print(f"{name:34s} {micros:11.1f} {micros / medians[baseline]:27.2f}x")

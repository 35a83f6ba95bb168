"""A ResNet-18 training step on CIFAR-sized inputs: torchjax against hand-written JAX, torch eager and
torch.compile, with a per-op breakdown of where the time goes.

The model is the CIFAR variant of ResNet-18 (a 3x3 stem convolution, BatchNorm2d and ReLU, four stages
of two BasicBlocks with 64/128/256/512 channels and strides 1/2/2/2, 1x1 convolution + BatchNorm
shortcuts where the shape changes, AdaptiveAvgPool2d(1), Flatten, Linear(512, 10)), written once
against an ``nn`` namespace, so torch and torchjax run the same source; torch's initial weights are
copied into torchjax and the hand-written versions. One step, in training mode: forward,
cross-entropy on random labels, backward, SGD(lr=0.1, momentum=0.9) (the first losses are checked
to agree):
  - torchjax: ``@torchjax.compile`` around ``opt.zero_grad(); torchjax.backward(...); opt.step()``;
  - hand-written ``jax.jit``: the same network on a dict of arrays with ``lax.conv_general_dilated``
    and a functional BatchNorm, ``optax.sgd`` with momentum, state donated (the floor), in torch's
    NCHW layout as torchjax runs it, and (informational, ``--no-nhwc`` skips it) in NHWC/HWIO;
  - torch eager and ``torch.compile`` of the whole step (skip the latter with ``--no-torch-compile``).
Goal: torchjax at least as fast as torch eager on this CPU.

``--breakdown`` then times the network's convolutions (each distinct shape, forward and forward +
backward: torchjax's ``F.conv2d`` under ``jax.jit`` in NCHW, the same convolution in NHWC, torch's
``F.conv2d`` eager) and its BatchNorm2d layers, and sums them with their counts in the network
against the measured steps: where XLA's CPU convolution and torch's oneDNN convolution differ. It
checks those isolated timings against profiles of the steps themselves: torch's profiler per
convolution shape, and a ``jax.profiler`` trace of the hand-written steps (NCHW, the program torchjax
compiles to, and NHWC) split into convolutions, layout changes (transposes, copies) and the rest.

Sizes: ``--width`` scales the channels (1.0: 64 base channels), ``--batch`` (32) images of 32x32;
``--tiny`` (width 0.125, batch 4) checks the script in well under a minute. A full-size step takes
about a second on a 2-core CPU, so repetitions are few (``-R 3 -N 3``: N steps per candidate per
repetition, the candidates taking turns step by step).

Run: ``.venv/bin/python benchmarks/convnet.py [--breakdown]`` (after ``.venv/bin/pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import platform
import re
import statistics
import tempfile
import time
from types import SimpleNamespace

# isort: off
from _harness import block_jax, measure, median_ratio, no_block, print_table, repetition  # first: OpenMP policy
# isort: on
import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch
from jax import lax

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as TF

LR, MOMENTUM, BN_MOMENTUM, EPS, CLASSES, SIZE = 0.1, 0.9, 0.1, 1e-5, 10, 32
STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))  # (channels at width 1, stride of the first block)
TORCH = SimpleNamespace(nn=torch.nn, F=torch.nn.functional)
TORCHJAX = SimpleNamespace(nn=tnn, F=TF)
HAND = "hand-written jax.jit (floor)"
HAND_NHWC = "hand-written jax.jit, NHWC"


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) + f" ({os.cpu_count()} cores)"


def channels(width: float) -> list[int]:
    return [max(1, round(c * width)) for c, _ in STAGES]


def build_resnet18(lib, width: float = 1.0):
    """CIFAR ResNet-18 on ``lib`` (torch or torchjax): the same source for both frameworks."""
    nn = lib.nn

    class BasicBlock(nn.Module):
        def __init__(self, c_in: int, c_out: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.relu = nn.ReLU()
            self.downsample = None
            if stride != 1 or c_in != c_out:
                self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            widths = channels(width)
            self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU()
            c_in = widths[0]
            for i, (c_out, (_, stride)) in enumerate(zip(widths, STAGES, strict=True), start=1):
                setattr(self, f"layer{i}", nn.Sequential(BasicBlock(c_in, c_out, stride), BasicBlock(c_out, c_out, 1)))
                c_in = c_out
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(c_in, CLASSES)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.flatten(self.avgpool(x)))

    return ResNet18()


# --- hand-written JAX -------------------------------------------------------------------------------

LAYOUTS = {  # dimension numbers (input, kernel, output) and the channel axis of activations
    "NCHW": (("NCHW", "OIHW", "NCHW"), 1),
    "NHWC": (("NHWC", "HWIO", "NHWC"), 3),
}
RUNNING = ("running_mean", "running_var", "num_batches_tracked")


def hand_forward(params: dict, stats: dict, x, layout: str):
    """ResNet-18 on a dict of arrays named as the Module's state_dict; returns logits and new stats."""
    dims, axis = LAYOUTS[layout]
    reduce = tuple(a for a in range(4) if a != axis)
    shape = [1, 1, 1, 1]
    shape[axis] = -1
    new_stats = {}

    def conv(name, x, stride):
        w = params[name + ".weight"]
        pad = (w.shape[2] if layout == "NCHW" else w.shape[0]) // 2
        return lax.conv_general_dilated(x, w, (stride, stride), ((pad, pad), (pad, pad)), dimension_numbers=dims)

    def bn(name, x):  # training mode: batch statistics, running statistics updated as torch does
        mean = x.mean(reduce)
        var = jnp.square(x - mean.reshape(shape)).mean(reduce)
        scale = params[name + ".weight"] * lax.rsqrt(var + EPS)
        count = x.size // x.shape[axis]
        new_stats[name + ".running_mean"] = (1 - BN_MOMENTUM) * stats[name + ".running_mean"] + BN_MOMENTUM * mean
        new_stats[name + ".running_var"] = ((1 - BN_MOMENTUM) * stats[name + ".running_var"]
                                            + BN_MOMENTUM * var * count / (count - 1))
        new_stats[name + ".num_batches_tracked"] = stats[name + ".num_batches_tracked"] + 1
        return x * scale.reshape(shape) + (params[name + ".bias"] - mean * scale).reshape(shape)

    x = jax.nn.relu(bn("bn1", conv("conv1", x, 1)))
    for i, (_, stride) in enumerate(STAGES, start=1):
        for j in range(2):
            p, s = f"layer{i}.{j}.", stride if j == 0 else 1
            out = jax.nn.relu(bn(p + "bn1", conv(p + "conv1", x, s)))
            out = bn(p + "bn2", conv(p + "conv2", out, 1))
            if p + "downsample.0.weight" in params:
                x = bn(p + "downsample.1", conv(p + "downsample.0", x, s))
            x = jax.nn.relu(out + x)
    x = x.mean(reduce[1:])
    return x @ params["fc.weight"].T + params["fc.bias"], jax.lax.stop_gradient(new_stats)


def hand_written_step(layout: str):
    optimizer = optax.sgd(LR, momentum=MOMENTUM)

    def loss_fn(params, stats, x, y):
        logits, new_stats = hand_forward(params, stats, x, layout)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), new_stats

    def step(params, opt_state, stats, x, y):
        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, stats, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return loss, optax.apply_updates(params, updates), opt_state, stats

    return optimizer, jax.jit(step, donate_argnums=(0, 1, 2))


def hand_candidate(state: dict, x_np: np.ndarray, y, layout: str):
    optimizer, step = hand_written_step(layout)
    arrays = {k: jnp.asarray(v) for k, v in state.items()}
    x = jnp.asarray(x_np)
    if layout == "NHWC":  # weights OIHW -> HWIO, images NCHW -> NHWC, once, outside the step
        arrays = {k: v.transpose(2, 3, 1, 0) if v.ndim == 4 else v for k, v in arrays.items()}
        x = x.transpose(0, 2, 3, 1)
    params = {k: v for k, v in arrays.items() if not k.endswith(RUNNING)}
    held = {"params": params, "opt": optimizer.init(params),
            "stats": {k: v for k, v in arrays.items() if k.endswith(RUNNING)}}

    def call():
        loss, held["params"], held["opt"], held["stats"] = step(held["params"], held["opt"], held["stats"], x, y)
        return loss

    call.hlo = lambda: step.lower(held["params"], held["opt"], held["stats"], x, y).compile().as_text()
    return call


# --- candidates -------------------------------------------------------------------------------------


def torchjax_candidate(state: dict, x, y, width: float):
    model = build_resnet18(TORCHJAX, width)
    model.load_state_dict(state)
    model.train()
    opt = torchjax.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    @torchjax.compile
    def step(model, opt, x, y):
        opt.zero_grad()
        loss = torchjax.backward(lambda m: TF.cross_entropy(m(x), y), model)
        opt.step()
        return loss

    return lambda: step(model, opt, x, y)


def torch_candidate(state: dict, x, y, width: float, compiled: bool):
    model = build_resnet18(TORCH, width)
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step(x, y):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    step = torch.compile(step) if compiled else step
    return lambda: step(x, y)


def measure_steps(candidates: dict, repeats: int, iterations: int) -> list[dict[str, float]]:
    """``_harness.measure`` for slow steps: ``iterations`` steps per candidate and repetition, the
    candidates taking turns step by step (``measure`` would run at least 10 steps per repetition
    and 10 more to warm up)."""
    repetition(candidates, 1, turns=1)
    return [repetition(candidates, iterations, turns=iterations) for _ in range(repeats)]


# --- per-op breakdown -------------------------------------------------------------------------------


def conv_specs(width: float, batch: int) -> list[tuple[str, int, int, int, int, int, int]]:
    """Every distinct convolution of the network: (name, c_in, c_out, input size, kernel, stride, count)."""
    widths = channels(width)
    specs = [("stem 3x3", 3, widths[0], SIZE, 3, 1, 1)]
    c_in, size = widths[0], SIZE
    for i, (c_out, (_, stride)) in enumerate(zip(widths, STAGES, strict=True), start=1):
        if stride != 1 or c_in != c_out:
            specs.append((f"layer{i} 3x3 /{stride}", c_in, c_out, size, 3, stride, 1))
            specs.append((f"layer{i} 1x1 /{stride} shortcut", c_in, c_out, size, 1, stride, 1))
            size //= stride
            specs.append((f"layer{i} 3x3", c_out, c_out, size, 3, 1, 3))
        else:
            specs.append((f"layer{i} 3x3", c_in, c_out, size, 3, 1, 4))
        c_in = c_out
    return specs


def bn_specs(width: float) -> list[tuple[str, int, int, int]]:
    """Every distinct BatchNorm2d of the network: (name, channels, size, count); five per stage."""
    size, specs = SIZE, []
    for i, (c, (_, stride)) in enumerate(zip(channels(width), STAGES, strict=True), start=1):
        size //= stride
        specs.append((f"layer{i} BN({c}) @{size}x{size}" + (" (+stem)" if i == 1 else ""), c, size, 5))
    return specs


def conv_candidates(batch, c_in, c_out, size, kernel, stride, input_grad: bool) -> dict[str, dict]:
    """Forward and forward + backward (weight, and input unless the stem) of one convolution:
    torchjax's F.conv2d under jax.jit (NCHW), the NHWC form under jax.jit, torch eager."""
    rng = np.random.default_rng(0)
    pad = kernel // 2
    out = (size + 2 * pad - kernel) // stride + 1
    x_np = rng.standard_normal((batch, c_in, size, size)).astype(np.float32)
    w_np = (rng.standard_normal((c_out, c_in, kernel, kernel)) / np.sqrt(c_in * kernel * kernel)).astype(np.float32)
    cot_np = rng.standard_normal((batch, c_out, out, out)).astype(np.float32)
    x, w, cot = jnp.asarray(x_np), jnp.asarray(w_np), jnp.asarray(cot_np)
    xh, wh, coth = x.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), cot.transpose(0, 2, 3, 1)
    argnums = (0, 1) if input_grad else (1,)

    def nchw(x, w):
        return TF.conv2d(x, w, stride=stride, padding=pad)

    def nhwc(x, w):
        return lax.conv_general_dilated(x, w, (stride, stride), ((pad, pad), (pad, pad)),
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))

    nchw_f, nhwc_f = jax.jit(nchw), jax.jit(nhwc)
    nchw_b = jax.jit(jax.grad(lambda x, w, c: (nchw(x, w) * c).sum(), argnums=argnums))
    nhwc_b = jax.jit(jax.grad(lambda x, w, c: (nhwc(x, w) * c).sum(), argnums=argnums))
    x_t, w_t, cot_t = torch.tensor(x_np, requires_grad=input_grad), torch.tensor(w_np, requires_grad=True), \
        torch.tensor(cot_np)

    def torch_forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(x_t, w_t, stride=stride, padding=pad)

    def torch_backward():
        x_t.grad = w_t.grad = None
        torch.nn.functional.conv2d(x_t, w_t, stride=stride, padding=pad).backward(cot_t)
        return w_t.grad

    np.testing.assert_allclose(np.asarray(nchw_f(x, w)), torch_forward().numpy(), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(np.asarray(nhwc_f(xh, wh)).transpose(0, 3, 1, 2), torch_forward().numpy(),
                               rtol=2e-3, atol=2e-3)
    return {
        "forward": {"torchjax NCHW": (lambda: nchw_f(x, w), block_jax),
                    "jax NHWC": (lambda: nhwc_f(xh, wh), block_jax),
                    "torch eager": (torch_forward, no_block)},
        "fwd+bwd": {"torchjax NCHW": (lambda: nchw_b(x, w, cot), block_jax),
                    "jax NHWC": (lambda: nhwc_b(xh, wh, coth), block_jax),
                    "torch eager": (torch_backward, no_block)},
    }


def bn_candidates(batch, c, size) -> dict[str, dict]:
    """Training-mode BatchNorm2d forward and forward + backward (input, weight, bias): torchjax's
    F.batch_norm under jax.jit against torch eager (no NHWC row: elementwise and reductions)."""
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((batch, c, size, size)).astype(np.float32)
    cot_np = rng.standard_normal(x_np.shape).astype(np.float32)
    x, cot, weight, bias = jnp.asarray(x_np), jnp.asarray(cot_np), jnp.ones(c), jnp.zeros(c)

    def forward(x, weight, bias):
        return TF.batch_norm(x, None, None, weight, bias, training=True, eps=EPS)

    forward_j = jax.jit(forward)
    backward_j = jax.jit(jax.grad(lambda x, w, b, c: (forward(x, w, b) * c).sum(), argnums=(0, 1, 2)))
    x_t, cot_t = torch.tensor(x_np, requires_grad=True), torch.tensor(cot_np)
    w_t, b_t = torch.ones(c, requires_grad=True), torch.zeros(c, requires_grad=True)

    def torch_forward():
        with torch.no_grad():
            return torch.nn.functional.batch_norm(x_t, None, None, w_t, b_t, training=True, eps=EPS)

    def torch_backward():
        x_t.grad = w_t.grad = b_t.grad = None
        torch.nn.functional.batch_norm(x_t, None, None, w_t, b_t, training=True, eps=EPS).backward(cot_t)
        return x_t.grad

    return {
        "forward": {"torchjax NCHW": (lambda: forward_j(x, weight, bias), block_jax),
                    "torch eager": (torch_forward, no_block)},
        "fwd+bwd": {"torchjax NCHW": (lambda: backward_j(x, weight, bias, cot), block_jax),
                    "torch eager": (torch_backward, no_block)},
    }


def torch_in_step(step, steps: int = 2) -> dict[tuple, float]:
    """ms per step that torch eager's own training step spends in each convolution and BatchNorm
    (forward + backward, summed over the layers of that shape), from torch's profiler: the isolated
    timings below run torch's kernels out of their context (cold caches, another library's threads in
    between), so they are checked against this."""
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    totals: dict[tuple, float] = {}
    for event in prof.key_averages(group_by_input_shape=True):
        totals["all"] = totals.get("all", 0.0) + event.self_cpu_time_total / 1e3 / steps
        shapes = [tuple(shape) for shape in event.input_shapes[:3]]
        if event.key in ("aten::mkldnn_convolution", "aten::convolution_backward"):
            x, w = (shapes[0], shapes[1]) if event.key == "aten::mkldnn_convolution" else (shapes[1], shapes[2])
            key = ("conv", x, w)
        elif event.key in ("aten::native_batch_norm", "aten::native_batch_norm_backward"):
            key = ("bn", shapes[0])
        else:
            continue
        totals[key] = totals.get(key, 0.0) + event.self_cpu_time_total / 1e3 / steps
    return totals


def _hlo_kinds(hlo: str) -> dict[str, str]:
    """Each instruction of a compiled HLO module: "conv" (a convolution, or a fusion holding one),
    "layout" (a transpose or copy, alone or fused with elementwise work) or "other"."""
    computations: dict[str, list[tuple[str, str, list[str]]]] = {}
    current = None
    for line in hlo.splitlines():
        header = re.match(r"^(?:ENTRY )?%(\S+) .*\{$", line)
        if header:
            current = computations.setdefault(header.group(1), [])
            continue
        inst = re.match(r"^\s+(?:ROOT )?%(\S+) = .*?\s([a-z][\w-]*)\(", line)
        if inst and current is not None:
            current.append((inst.group(1), inst.group(2), re.findall(r"(?:calls|to_apply)=%([\w.-]+)", line)))

    def opcodes(name: str, seen: frozenset = frozenset()) -> set[str]:
        found = set()
        for _, opcode, calls in computations.get(name, []):
            found.add(opcode)
            for callee in calls:
                if callee not in seen:
                    found |= opcodes(callee, seen | {name})
        return found

    kinds = {}
    for instructions in computations.values():
        for name, opcode, calls in instructions:
            inner = {opcode} | set().union(*(opcodes(c) for c in calls)) if opcode == "fusion" else {opcode}
            inner.discard("fusion")
            kinds[name] = "conv" if "convolution" in inner else "layout" if inner & {"transpose", "copy"} else "other"
    return kinds


def xla_in_step(call, steps: int = 2) -> dict[str, float]:
    """ms per step that a compiled JAX step spends in XLA's convolutions, in layout changes (copies and
    transposes, alone or fused with elementwise work such as BatchNorm's) and in everything else, summed
    over XLA's CPU thunks from a ``jax.profiler`` trace (thunks may overlap on the two threads: shares
    of the sum, not of the wall time); "wall (profiled)": the steps' own time."""
    kinds = _hlo_kinds(call.hlo())
    block_jax(call())
    with tempfile.TemporaryDirectory() as directory:
        with jax.profiler.trace(directory, create_perfetto_trace=True):
            start = time.perf_counter()
            for _ in range(steps):
                block_jax(call())
            wall = (time.perf_counter() - start) / steps * 1e3
        events = []
        for path in glob.glob(os.path.join(directory, "**", "*.json.gz"), recursive=True):
            with gzip.open(path) as file:
                trace = json.load(file)
            trace = trace["traceEvents"] if isinstance(trace, dict) else trace
            ops = [e for e in trace if e.get("ph") == "X" and "hlo_op" in (e.get("args") or {})]
            events = ops if len(ops) > len(events) else events
    totals = {"conv": 0.0, "layout": 0.0, "other": 0.0}
    for event in events:
        totals[kinds.get(event["args"]["hlo_op"], "other")] += event.get("dur", 0) / 1e3 / steps
    return {**totals, "wall (profiled)": wall}


def breakdown(args, step_ms: dict[str, float], steps: dict) -> None:
    in_step = torch_in_step(steps["torch eager"])
    xla = {name: xla_in_step(steps[name]) for name in (HAND, HAND_NHWC) if name in steps}
    columns = ("torchjax NCHW", "jax NHWC", "torch eager")
    short = {"torchjax NCHW": "tj", "jax NHWC": "nhwc", "torch eager": "torch"}
    print(f"\nper-op breakdown, batch {args.batch}, ms per call (median of R={args.repeats} x "
          f"N={args.breakdown_iterations}): tj = torchjax's F.conv2d / F.batch_norm under jax.jit (NCHW), nhwc = "
          f"the convolution in NHWC/HWIO under jax.jit, torch = torch eager alone, 'torch in step' = torch's own "
          f"step (profiler); 'x n': occurrences in the network")
    header = "".join(f"{short[c] + ' ' + p:>11s}" for p in ("fwd", "f+b") for c in columns)
    print(f"{'op':32s}{header}{'torch in step':>15s}{'tj/torch':>10s}{'tj/in step':>11s}")
    totals = {kind: dict.fromkeys((*columns, "in step"), 0.0) for kind in ("conv", "bn")}
    rows = []
    for i, (name, c_in, c_out, size, k, stride, count) in enumerate(conv_specs(args.width, args.batch)):
        key = ("conv", (args.batch, c_in, size, size), (c_out, c_in, k, k))
        rows.append(("conv", name, count, key, conv_candidates(args.batch, c_in, c_out, size, k, stride, i > 0)))
    for name, c, size, count in bn_specs(args.width):
        rows.append(("bn", name, count, ("bn", (args.batch, c, size, size)), bn_candidates(args.batch, c, size)))
    for kind, name, count, key, candidates in rows:
        medians = {}
        for part, group in candidates.items():
            for candidate, _ in group.values():
                candidate()  # compile
            samples = measure(group, args.repeats, args.breakdown_iterations)
            medians[part] = {n: statistics.median(s[n] for s in samples) * 1e3 for n in group}
        for column in columns:
            if column in medians["fwd+bwd"]:
                totals[kind][column] += count * medians["fwd+bwd"][column]
        in_step_ms = in_step.get(key, float("nan")) / count
        totals[kind]["in step"] += count * in_step_ms
        cells = "".join(f"{medians[p][c]:11.2f}" if c in medians[p] else f"{'-':>11s}"
                        for p in ("forward", "fwd+bwd") for c in columns)
        ours = medians["fwd+bwd"]["torchjax NCHW"]
        print(f"{name + f' x {count}':32s}{cells}{in_step_ms:15.2f}{ours / medians['fwd+bwd']['torch eager']:9.2f}x"
              f"{ours / in_step_ms:10.2f}x")

    print("\nsum over the network of count x fwd+bwd, against the measured step (ms; BN of 'jax NHWC': torchjax's;"
          " 'torch in its step': against the profiled step):")
    steps = {"torchjax NCHW": step_ms.get("torchjax.compile"), "jax NHWC": step_ms.get(HAND_NHWC),
             "torch eager": step_ms.get("torch eager"), "in step": in_step["all"]}  # the profiled step's own time
    for column in (*columns, "in step"):
        conv, step = totals["conv"][column], steps[column]
        bn = totals["bn"][column] if column != "jax NHWC" else totals["bn"]["torchjax NCHW"]
        share = f"; step {step:.1f}: conv {conv / step:.0%}, BN {bn / step:.0%}, rest {1 - (conv + bn) / step:.0%}" \
            if step else ""
        label = "torch in its step" if column == "in step" else column
        print(f"  {label:18s} conv {conv:8.1f}  BN {bn:7.1f}{share}")
    print("\nXLA's step profiled (hand-written, whose program torchjax's matches: the ratio above; ms per step summed "
          "over XLA's CPU thunks; 'layout': copies and transposes, alone or fused with elementwise work):")
    for name, totals in xla.items():
        busy = sum(v for k, v in totals.items() if k != "wall (profiled)")
        print(f"  {name:30s} " + "  ".join(f"{k} {v:7.1f} ({v / busy:.0%})" for k, v in totals.items()
                                          if k != "wall (profiled)") + f"; wall {totals['wall (profiled)']:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=float, default=1.0, help="channel multiplier (1.0: 64 base channels)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--tiny", action="store_true", help="width 0.125, batch 4: a quick check of the script")
    parser.add_argument("--repeats", "-R", type=int, default=3, help="repetitions; the median is reported")
    parser.add_argument("--iterations", "-N", type=int, default=3, help="steps per candidate per repetition")
    parser.add_argument("--no-torch-compile", action="store_true", help="skip torch.compile (slow to compile)")
    parser.add_argument("--no-nhwc", action="store_true", help="skip the hand-written NHWC step")
    parser.add_argument("--breakdown", action="store_true", help="then time each convolution and BatchNorm")
    parser.add_argument("--breakdown-iterations", type=int, default=10, help="calls per op per repetition")
    args = parser.parse_args()
    if args.tiny:
        args.width, args.batch = 0.125, 4
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), python {platform.python_version()}; ResNet-18 (CIFAR), width "
          f"{args.width} (channels {channels(args.width)}), batch {args.batch}, {SIZE}x{SIZE}, float32; median of "
          f"R={args.repeats} repetitions x N={args.iterations} steps; load average {load()}")

    torch.manual_seed(0)
    state = {k: v.numpy() for k, v in build_resnet18(TORCH, args.width).state_dict().items()}
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((args.batch, 3, SIZE, SIZE)).astype(np.float32)
    y_np = rng.integers(0, CLASSES, args.batch)
    x, y = jnp.asarray(x_np), jnp.asarray(y_np, jnp.int32)
    x_t, y_t = torch.tensor(x_np), torch.tensor(y_np, dtype=torch.long)

    candidates = {
        "torchjax.compile": (torchjax_candidate(state, x, y, args.width), block_jax),
        HAND: (hand_candidate(state, x_np, y, "NCHW"), block_jax),
    }
    if not args.no_nhwc:
        candidates[HAND_NHWC] = (hand_candidate(state, x_np, y, "NHWC"), block_jax)
    candidates["torch eager"] = (torch_candidate(state, x_t, y_t, args.width, compiled=False), no_block)
    if not args.no_torch_compile:
        candidates["torch.compile"] = (torch_candidate(state, x_t, y_t, args.width, compiled=True), no_block)

    losses = {name: float(call()) for name, (call, _) in candidates.items()}  # the first call compiles
    reference = losses["torch eager"]
    assert all(abs(loss - reference) <= 1e-4 * max(1.0, abs(reference)) for loss in losses.values()), (
        f"first-step losses differ: {losses}")
    print("first-step losses: " + ", ".join(f"{name} {loss:.5f}" for name, loss in losses.items()))

    samples = measure_steps(candidates, args.repeats, args.iterations)
    print(f"\ntrain step (forward, cross-entropy, backward, SGD momentum), ResNet-18 width {args.width}, "
          f"batch {args.batch}")
    print_table(samples, "torch eager", "step")
    for name in candidates:
        seconds = statistics.median(s[name] for s in samples)
        print(f"{name:34s} {args.batch / seconds:11.1f} images/s")
    for name in candidates:
        for other in ("torch eager", HAND):
            if name != other:
                print(f"{name} / {other} = {median_ratio(samples, name, other):.3f}")
    ratio = median_ratio(samples, "torchjax.compile", "torch eager")
    print(f"load average {load()}")
    print(f"goal (torchjax <= torch eager): {'met' if ratio <= 1.0 else 'NOT met'} ({ratio:.3f})")

    if args.breakdown:
        step_ms = {name: statistics.median(s[name] for s in samples) * 1e3 for name in candidates}
        breakdown(args, step_ms, {name: call for name, (call, _) in candidates.items()})
        print(f"load average {load()}")


if __name__ == "__main__":
    main()

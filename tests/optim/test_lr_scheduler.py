"""torchjax.optim.lr_scheduler against torch.optim.lr_scheduler as the oracle.

Every scenario is written once as ``build(lib, optimizer)`` and run on a torch optimizer with torch's
scheduler and on torchjax's optimizer of the same kind with ours, started from the same param groups; the learning
rates, cycled momenta and state_dicts must agree after every step.
"""

from __future__ import annotations

import copy
import math
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as torch_lib

import torchjax.nn as tnn
import torchjax.optim as our_optim
from torchjax.optim import lr_scheduler as our_lib

STEPS = 35
RTOL = 1e-12
SEEDS = range(3)


def new_parameter(lib, size: int = 2):
    """A zero parameter of the library whose optimizer (``torch.optim`` or ``torchjax.optim``) is ``lib``."""
    return torch.nn.Parameter(torch.zeros(size)) if lib is torch.optim else tnn.Parameter(jnp.zeros(size))


def make_optimizers(kind: str = "sgd", lrs: tuple[float, ...] = (0.1,)) -> tuple[torch.optim.Optimizer,
                                                                                    our_optim.Optimizer]:
    """A torch optimizer and ours of the same kind, with one parameter group per learning rate."""
    optimizers = []
    for lib in (torch.optim, our_optim):
        groups = [{"params": [new_parameter(lib)], "lr": lr} for lr in lrs]
        if kind == "sgd":
            optimizers.append(lib.SGD(groups, lr=lrs[0], momentum=0.9))
        elif kind == "adam":
            optimizers.append(lib.Adam(groups, lr=lrs[0], betas=(0.9, 0.99)))
        else:
            optimizers.append(lib.Adagrad(groups, lr=lrs[0]))
    return optimizers[0], optimizers[1]


def sched(name: str, *args, **kwargs) -> Callable:
    """A builder of the scheduler ``name`` of either library, with fixed arguments."""
    return lambda lib, opt, **extra: getattr(lib, name)(opt, *args, **kwargs, **extra)


class Warmup:
    """A callable-object lr_lambda: its attributes are saved in the scheduler's state_dict."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def __call__(self, epoch: int) -> float:
        return min(1.0, (epoch + 1) / self.steps)


def scenario_builders(r: random.Random, n_groups: int) -> dict[str, Callable]:
    """Each scheduler with arguments drawn from ``r`` (drawn here, once, so both libraries get the same)."""
    per_group = lambda low, high: [r.uniform(low, high) for _ in range(n_groups)]  # noqa: E731
    decay, power, warmup = r.uniform(0.9, 0.99), r.uniform(0.5, 3.0), r.randint(2, 8)
    seq_args = dict(start=r.uniform(0.1, 0.9), iters=r.randint(2, 6), gamma=r.uniform(0.8, 0.95),
                    t_max=r.randint(3, 9), milestones=sorted(r.sample(range(2, 25), 2)))
    chain_args = dict(factor=r.uniform(0.2, 0.9), iters=r.randint(1, 10), gamma=r.uniform(0.8, 0.99),
                      step=r.randint(2, 7))
    return {
        "StepLR": sched("StepLR", r.randint(1, 7), gamma=r.uniform(0.2, 0.95)),
        "MultiStepLR": sched("MultiStepLR", [*r.sample(range(1, 30), 4), r.randint(1, 30)],
                             gamma=r.uniform(0.2, 0.95)),
        "ExponentialLR": sched("ExponentialLR", r.uniform(0.8, 0.99)),
        "CosineAnnealingLR": sched("CosineAnnealingLR", r.randint(3, 12), eta_min=r.choice([0.0, 1e-3])),
        "CosineAnnealingWarmRestarts": sched("CosineAnnealingWarmRestarts", r.randint(2, 6),
                                             T_mult=r.choice([1, 2, 3]), eta_min=r.choice([0.0, 1e-3])),
        "LambdaLR": sched("LambdaLR", [lambda e, k=k: decay**e * (1 + k) for k in range(n_groups)]),
        "LambdaLR-object": sched("LambdaLR", Warmup(warmup)),
        "MultiplicativeLR": sched("MultiplicativeLR", lambda e: decay if e % 3 else 1.0 / decay),
        "LinearLR": sched("LinearLR", start_factor=r.uniform(0.1, 1.0), end_factor=r.uniform(0.0, 1.0),
                          total_iters=r.randint(1, 20)),
        "ConstantLR": sched("ConstantLR", factor=r.uniform(0.1, 1.0), total_iters=r.randint(1, 20)),
        "PolynomialLR": sched("PolynomialLR", total_iters=r.randint(1, 25), power=power),
        "OneCycleLR": sched("OneCycleLR", per_group(0.5, 2.0), total_steps=r.randint(STEPS + 10, STEPS + 25),
                            pct_start=r.uniform(0.1, 0.45), anneal_strategy=r.choice(["cos", "linear"]),
                            base_momentum=r.uniform(0.7, 0.85), max_momentum=per_group(0.9, 0.98),
                            div_factor=r.uniform(5.0, 30.0), final_div_factor=r.choice([1e2, 1e4]),
                            three_phase=r.choice([False, True])),
        "OneCycleLR-epochs": sched("OneCycleLR", r.uniform(0.5, 2.0), epochs=r.randint(5, 8),
                                   steps_per_epoch=STEPS // 4, cycle_momentum=r.choice([False, True])),
        "CyclicLR": sched("CyclicLR", per_group(0.001, 0.01), per_group(0.05, 0.5), step_size_up=r.randint(2, 6),
                          step_size_down=r.choice([None, r.randint(2, 9)]),
                          mode=r.choice(["triangular", "triangular2", "exp_range"]), gamma=r.uniform(0.9, 0.99),
                          base_momentum=per_group(0.7, 0.85), max_momentum=r.uniform(0.88, 0.95)),
        "CyclicLR-scale_fn": sched("CyclicLR", 0.01, 0.2, step_size_up=r.randint(2, 6),
                                   scale_fn=lambda x: 1.0 / (1.0 + 0.1 * x),
                                   scale_mode=r.choice(["cycle", "iterations"]),
                                   cycle_momentum=r.choice([False, True])),
        "SequentialLR": lambda lib, opt: lib.SequentialLR(opt, [
            lib.LinearLR(opt, start_factor=seq_args["start"], total_iters=seq_args["iters"]),
            lib.ExponentialLR(opt, seq_args["gamma"]),
            lib.CosineAnnealingLR(opt, seq_args["t_max"])], milestones=seq_args["milestones"]),
        "SequentialLR-nested": lambda lib, opt: lib.SequentialLR(opt, [
            lib.ChainedScheduler([lib.ConstantLR(opt, factor=chain_args["factor"]),
                                  lib.ExponentialLR(opt, chain_args["gamma"])]),
            lib.StepLR(opt, chain_args["step"])], milestones=seq_args["milestones"][:1]),
        "ChainedScheduler": lambda lib, opt: lib.ChainedScheduler([
            lib.ConstantLR(opt, factor=chain_args["factor"], total_iters=chain_args["iters"]),
            lib.ExponentialLR(opt, chain_args["gamma"]),
            lib.StepLR(opt, chain_args["step"], gamma=0.5)]),
        "ReduceLROnPlateau": sched("ReduceLROnPlateau", mode=r.choice(["min", "max"]), factor=r.uniform(0.1, 0.9),
                                   patience=r.randint(0, 3), threshold=r.choice([1e-4, 1e-2]),
                                   threshold_mode=r.choice(["rel", "abs"]), cooldown=r.randint(0, 3),
                                   min_lr=r.choice([1e-3, per_group(1e-4, 1e-2)]), eps=r.choice([1e-8, 1e-3])),
    }


SCENARIOS = list(scenario_builders(random.Random(0), 1))


@dataclass
class Case:
    build: Callable
    kind: str
    lrs: tuple[float, ...]
    metrics: list[float] | None

    def step(self, scheduler, i: int) -> None:
        scheduler.step() if self.metrics is None else scheduler.step(self.metrics[i])


def make_case(name: str, seed: int, kind: str) -> Case:
    r = random.Random(f"{name}/{seed}/{kind}")
    n_groups = r.randint(1, 3)
    lrs = tuple(r.uniform(0.01, 1.0) for _ in range(n_groups))
    build = scenario_builders(r, n_groups)[name]
    metrics = None
    if name == "ReduceLROnPlateau":
        # A loss that improves now and then and otherwise plateaus with small noise.
        level, metrics = 10.0, []
        for _ in range(2 * STEPS):
            level *= 0.8 if r.random() < 0.25 else 1.0
            metrics.append(level * (1 + 1e-3 * r.random()))
    return Case(build, kind, lrs, metrics)


def assert_close(ours, theirs) -> None:
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float), rtol=RTOL, atol=0)


def hyperparameters(group: dict) -> dict:
    return {key: value for key, value in group.items() if key != "params"}


def copy_hyperparameters(target, source) -> None:
    """What ``Optimizer.load_state_dict`` restores of the param groups (lr, initial_lr, momenta...)."""
    for group, saved in zip(target.param_groups, source.param_groups, strict=True):
        group.update(hyperparameters(saved))


def assert_same_groups(ours: our_optim.Optimizer, theirs: torch.optim.Optimizer) -> None:
    """Every hyper-parameter (lr, initial_lr, momentum or betas, the cycle's keys) equal; lrs are floats."""
    assert len(ours.param_groups) == len(theirs.param_groups)
    for i, (group, torch_group) in enumerate(zip(ours.param_groups, theirs.param_groups, strict=True)):
        assert type(group["lr"]) is float
        assert_same_state(hyperparameters(group), hyperparameters(torch_group), f"param_groups[{i}]")


def assert_same_state(ours, theirs, path: str = "state_dict") -> None:
    """Equal structure, keys and values (floats to RTOL)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), f"{path}: {sorted(ours)} != {sorted(theirs)}"
        for key in theirs:
            assert_same_state(ours[key], theirs[key], f"{path}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), f"{path}: {ours} != {theirs}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same_state(a, b, f"{path}[{i}]")
    elif isinstance(theirs, float) and math.isfinite(theirs):
        assert math.isclose(ours, theirs, rel_tol=RTOL, abs_tol=0), f"{path}: {ours} != {theirs}"
    else:
        assert ours == theirs and type(ours) is type(theirs), f"{path}: {ours!r} != {theirs!r}"


def assert_same(ours: tuple, theirs: tuple) -> None:
    (our_opt, our_sched), (torch_opt, torch_sched) = ours, theirs
    assert_close(our_sched.get_last_lr(), torch_sched.get_last_lr())
    assert_same_groups(our_opt, torch_opt)


def start(case: Case) -> tuple[tuple, tuple]:
    torch_opt, our_opt = make_optimizers(case.kind, case.lrs)
    return (our_opt, case.build(our_lib, our_opt)), (torch_opt, case.build(torch_lib, torch_opt))


def advance(case: Case, pairs: list[tuple], steps: range) -> None:
    """Step every (optimizer, scheduler) pair in lockstep, checking each against the first after every step."""
    for i in steps:
        for opt, scheduler in pairs:
            opt.step()
            case.step(scheduler, i)
        for pair in pairs[1:]:
            assert_same(pair, pairs[0])


# SequentialLR re-runs a nested ChainedScheduler's first step before any optimizer.step(): torch warns, so do we.
@pytest.mark.filterwarnings("ignore:Detected call of")
@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", SCENARIOS)
def test_matches_torch(name: str, seed: int, kind: str) -> None:
    case = make_case(name, seed, kind)
    ours, theirs = start(case)
    assert_same(ours, theirs)
    assert_same_state(ours[1].state_dict(), theirs[1].state_dict())
    advance(case, [theirs, ours], range(STEPS))
    assert_same_state(ours[1].state_dict(), theirs[1].state_dict())


@pytest.mark.filterwarnings("ignore:Detected call of")
@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name", SCENARIOS)
def test_state_dict_round_trip(name: str, kind: str) -> None:
    """Torch's state loaded into ours, and ours into torch's, both continue torch's sequence."""
    case = make_case(name, 0, kind)
    ours, theirs = start(case)
    advance(case, [theirs, ours], range(5))
    ours_loaded, torch_loaded = start(case)
    for (opt, scheduler), (source_opt, source_scheduler) in ((ours_loaded, theirs), (torch_loaded, ours)):
        copy_hyperparameters(opt, source_opt)  # the optimizer's state is loaded after building the scheduler
        scheduler.load_state_dict(copy.deepcopy(source_scheduler.state_dict()))
    advance(case, [theirs, ours_loaded, torch_loaded], range(5, STEPS - 5))


RESUMABLE = ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LambdaLR",
             "MultiplicativeLR", "LinearLR", "ConstantLR", "PolynomialLR", "OneCycleLR", "CyclicLR"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", RESUMABLE)
def test_resume_with_last_epoch(name: str, seed: int) -> None:
    """Constructing with ``last_epoch >= 0`` on groups that carry ``initial_lr`` (and the cycle's keys)."""
    case = make_case(name, seed, ["sgd", "adam"][seed % 2])
    _, (warm_opt, warm_sched) = start(case)
    advance(case, [(warm_opt, warm_sched)], range(7))
    torch_opt, our_opt = make_optimizers(case.kind, case.lrs)
    copy_hyperparameters(torch_opt, warm_opt)
    copy_hyperparameters(our_opt, torch_opt)
    theirs = torch_opt, case.build(torch_lib, torch_opt, last_epoch=7)
    ours = our_opt, case.build(our_lib, our_opt, last_epoch=7)
    assert_same(ours, theirs)
    advance(case, [theirs, ours], range(STEPS - 10))


def run_both(scenario: Callable, kind: str = "sgd", lrs: tuple[float, ...] = (0.1, 0.3)) -> list[tuple[type, str]]:
    """Run ``scenario(lib, optimizer)`` with both libraries: they must warn alike, return the same values
    and leave the same param groups. Returns torch's warnings."""
    runs = []
    for lib, opt in zip((torch_lib, our_lib), make_optimizers(kind, lrs), strict=True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = scenario(lib, opt)
        runs.append((result, [(w.category, str(w.message)) for w in caught], opt))
    (theirs, torch_warnings, torch_opt), (ours, our_warnings, our_opt) = runs
    assert our_warnings == torch_warnings
    assert_same_state(ours, theirs, "result")
    assert_same_groups(our_opt, torch_opt)
    return torch_warnings


def step_n(scheduler, n: int) -> list[list[float]]:
    """Step optimizer then scheduler ``n`` times; the learning rates after each step."""
    lrs = []
    for _ in range(n):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    return lrs


def test_step_before_optimizer_step_warns() -> None:
    def scheduler_first(lib, opt):
        scheduler = lib.StepLR(opt, 2)
        for _ in range(3):
            scheduler.step()
            opt.step()

    [(category, message)] = run_both(scheduler_first)
    assert category is UserWarning and message.startswith("Detected call of `lr_scheduler.step()` before")


def test_correct_order_does_not_warn() -> None:
    def optimizer_first(lib, opt):
        schedulers = [lib.StepLR(opt, 2), lib.ExponentialLR(opt, 0.9)]  # the second must not re-wrap step
        for _ in range(3):
            opt.step()
            for scheduler in schedulers:
                scheduler.step()

    assert run_both(optimizer_first) == []


def test_overridden_optimizer_step_warns() -> None:
    def overridden(lib, opt):
        scheduler = lib.ExponentialLR(opt, 0.5)
        opt.step = lambda: None
        opt.step()
        scheduler.step()

    [(_, message)] = run_both(overridden)
    assert message.startswith("Seems like `optimizer.step()` has been overridden")


def test_get_lr_outside_step_warns() -> None:
    [(_, message)] = run_both(lambda lib, opt: lib.StepLR(opt, 2).get_lr())
    assert "get_last_lr()" in message


# CosineAnnealingWarmRestarts' step(epoch) is not deprecated: see test_warm_restarts_fractional_epochs.
@pytest.mark.parametrize("name", [name for name in RESUMABLE if name != "CosineAnnealingWarmRestarts"])
def test_step_with_epoch(name: str) -> None:
    """The deprecated ``step(epoch)``: closed forms where torch has them, with the deprecation warning."""
    case = make_case(name, 0, "sgd")
    epochs = [3, 4, 9, 1, 0, 20, 7]

    def jump(lib, opt):
        scheduler = case.build(lib, opt)
        lrs = []
        for epoch in epochs:
            opt.step()
            scheduler.step(epoch)
            lrs.append(scheduler.get_last_lr())
        return lrs

    assert [category for category, _ in run_both(jump, lrs=case.lrs)] == [UserWarning] * len(epochs)


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_fractional_epochs(T_mult: int) -> None:
    """``step(epoch)`` is CosineAnnealingWarmRestarts' documented use (restarts within an epoch): no warning."""
    def fractional(lib, opt):
        scheduler = lib.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=T_mult, eta_min=0.01)
        states = []
        for epoch in [0.5, 1.25, 3.0, 4.5, 9.75, 2.0, 30.1, None, None]:
            opt.step()
            scheduler.step(epoch)
            states.append((scheduler.T_cur, scheduler.T_i, scheduler.last_epoch, scheduler.get_last_lr()))
        return states

    assert run_both(fractional) == []


def test_reduce_on_plateau_new_param_group() -> None:
    """A group added later gets the scalar ``min_lr``; a per-group ``min_lr`` list no longer fits."""
    def add_group(lib, opt, min_lr):
        scheduler = lib.ReduceLROnPlateau(opt, patience=0, min_lr=min_lr)
        opt.add_param_group({"params": [new_parameter(torch.optim if lib is torch_lib else our_optim, 1)], "lr": 0.2})
        for metric in [1.0, 2.0, 3.0]:
            scheduler.step(metric)
        return scheduler.get_last_lr()

    run_both(lambda lib, opt: add_group(lib, opt, 1e-3))
    assert_raises_same(lambda lib, opt: add_group(lib, opt, [1e-3, 1e-3]))


def assert_raises_same(scenario: Callable, kind: str = "sgd", same_message: bool = True) -> None:
    errors = []
    for lib, opt in zip((torch_lib, our_lib), make_optimizers(kind, (0.1, 0.3)), strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception) as info:  # noqa: PT011 - compared with torch's below
                scenario(lib, opt)
        errors.append(info.value)
    theirs, ours = errors
    assert type(ours) is type(theirs), (ours, theirs)
    if same_message:
        assert str(ours) == str(theirs)


INVALID = {
    "not an optimizer": lambda lib, opt: lib.StepLR(object(), 3),
    "resume without initial_lr": lambda lib, opt: lib.StepLR(opt, 3, last_epoch=4),
    "ConstantLR factor > 1": lambda lib, opt: lib.ConstantLR(opt, factor=1.5),
    "ConstantLR factor < 0": lambda lib, opt: lib.ConstantLR(opt, factor=-0.1),
    "LinearLR start_factor 0": lambda lib, opt: lib.LinearLR(opt, start_factor=0),
    "LinearLR start_factor > 1": lambda lib, opt: lib.LinearLR(opt, start_factor=1.2),
    "LinearLR end_factor > 1": lambda lib, opt: lib.LinearLR(opt, end_factor=1.5),
    "LambdaLR lambda count": lambda lib, opt: lib.LambdaLR(opt, [lambda e: 1.0]),
    "MultiplicativeLR not callable": lambda lib, opt: lib.MultiplicativeLR(opt, 0.5),
    "MultiplicativeLR lambda count": lambda lib, opt: lib.MultiplicativeLR(opt, (lambda e: 1.0,) * 3),
    "T_0 zero": lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, T_0=0),
    "T_0 float": lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, T_0=2.5),
    "T_mult zero": lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, 3, T_mult=0),
    "T_mult float": lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, 3, T_mult=1.5),
    "eta_min string": lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, 3, eta_min="0"),
    "negative epoch": lambda lib, opt: lib.CosineAnnealingWarmRestarts(opt, 3).step(-1),
    "total_steps zero": lambda lib, opt: lib.OneCycleLR(opt, 1.0, total_steps=0),
    "total_steps float": lambda lib, opt: lib.OneCycleLR(opt, 1.0, total_steps=10.0),
    "no total_steps": lambda lib, opt: lib.OneCycleLR(opt, 1.0, epochs=3),
    "epochs zero": lambda lib, opt: lib.OneCycleLR(opt, 1.0, epochs=0, steps_per_epoch=3),
    "steps_per_epoch negative": lambda lib, opt: lib.OneCycleLR(opt, 1.0, epochs=2, steps_per_epoch=-1),
    "pct_start int": lambda lib, opt: lib.OneCycleLR(opt, 1.0, total_steps=10, pct_start=1),
    "pct_start > 1": lambda lib, opt: lib.OneCycleLR(opt, 1.0, total_steps=10, pct_start=1.5),
    "anneal_strategy": lambda lib, opt: lib.OneCycleLR(opt, 1.0, total_steps=10, anneal_strategy="quad"),
    "max_lr length": lambda lib, opt: lib.OneCycleLR(opt, [1.0] * 3, total_steps=10),
    "OneCycleLR past total_steps": lambda lib, opt: step_n(lib.OneCycleLR(opt, 1.0, total_steps=4), 5),
    "OneCycleLR without momentum": lambda lib, opt: lib.OneCycleLR(opt, 1.0, total_steps=10),
    "CyclicLR mode": lambda lib, opt: lib.CyclicLR(opt, 0.01, 0.1, mode="sawtooth"),
    "CyclicLR base_lr length": lambda lib, opt: lib.CyclicLR(opt, [0.01], 0.1),
    "CyclicLR momentum length": lambda lib, opt: lib.CyclicLR(opt, 0.01, 0.1, max_momentum=[0.9] * 3),
    "CyclicLR without momentum": lambda lib, opt: lib.CyclicLR(opt, 0.01, 0.1),
    "ReduceLROnPlateau factor": lambda lib, opt: lib.ReduceLROnPlateau(opt, factor=1.0),
    "ReduceLROnPlateau mode": lambda lib, opt: lib.ReduceLROnPlateau(opt, mode="lowest"),
    "ReduceLROnPlateau threshold_mode": lambda lib, opt: lib.ReduceLROnPlateau(opt, threshold_mode="pct"),
    "ReduceLROnPlateau min_lr length": lambda lib, opt: lib.ReduceLROnPlateau(opt, min_lr=[0.1]),
    "SequentialLR milestones": lambda lib, opt: lib.SequentialLR(opt, [lib.StepLR(opt, 2)] * 2, milestones=[2, 4]),
    "SequentialLR empty": lambda lib, opt: lib.SequentialLR(opt, [], milestones=[]),
    "SequentialLR plateau": lambda lib, opt: lib.SequentialLR(opt, [lib.ReduceLROnPlateau(opt)], milestones=[]),
    "SequentialLR not a scheduler": lambda lib, opt: lib.SequentialLR(opt, [3], milestones=[]),
    "ChainedScheduler empty": lambda lib, opt: lib.ChainedScheduler([]),
    "ChainedScheduler plateau": lambda lib, opt: lib.ChainedScheduler([lib.StepLR(opt, 2), lib.ReduceLROnPlateau(opt)]),
}
WITHOUT_MOMENTUM = {"OneCycleLR without momentum", "CyclicLR without momentum"}


@pytest.mark.parametrize("name", INVALID)
def test_invalid_arguments_raise_like_torch(name: str) -> None:
    assert_raises_same(INVALID[name], kind="adagrad" if name in WITHOUT_MOMENTUM else "sgd")


def test_composition_with_another_optimizer_raises() -> None:
    # torch's message prints the other optimizer's repr, which differs between the libraries.
    def mismatched(lib, opt):
        other = make_optimizers()[0 if lib is torch_lib else 1]
        lib.SequentialLR(opt, [lib.StepLR(opt, 2), lib.StepLR(other, 2)], milestones=[3])

    assert_raises_same(mismatched, same_message=False)


def test_custom_subclass_and_legacy_name() -> None:
    def halving(lib, opt):
        class Halving(lib._LRScheduler):
            def get_lr(self):
                return [base_lr * 0.5**self.last_epoch for base_lr in self.base_lrs]

        return step_n(Halving(opt), 4)

    assert run_both(halving) == []
    assert our_lib._LRScheduler.__name__ == "_LRScheduler" and issubclass(our_lib._LRScheduler, our_lib.LRScheduler)
    assert set(our_lib.__all__) == set(torch_lib.__all__)

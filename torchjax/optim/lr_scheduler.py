r"""Learning-rate schedulers: ``torch.optim.lr_scheduler`` for torchjax optimizers.

Same classes, signatures, defaults, learning-rate sequences, warnings, errors and ``state_dict``
keys as torch 2.13, so a torch scheduler's ``state_dict`` loads here and the other way round
(functions such as ``lr_lambda`` are never saved, by either library).

A scheduler only needs an optimizer with ``param_groups`` (a list of dicts holding ``"lr"`` and,
for momentum cycling, ``"momentum"`` or ``"betas"``), a ``defaults`` dict and a ``step`` method.

torchjax difference: learning rates and momenta are Python floats. A compiled training step
reads them as dynamic inputs, so schedulers write ``float`` values into ``param_groups`` and
never arrays; torch's tensor-valued ``lr`` is not supported.
"""

from __future__ import annotations

import contextlib
import math
import types
import warnings
import weakref
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import wraps
from typing import Any, Literal, Protocol, SupportsFloat

__all__ = [
    "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
    "SequentialLR", "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau", "CyclicLR",
    "CosineAnnealingWarmRestarts", "OneCycleLR", "PolynomialLR", "LRScheduler",
]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being "
    "deprecated where possible. Please use `scheduler.step()` to step the "
    "scheduler. During the deprecation, if epoch is different from None, the "
    "closed form is used instead of the new chainable form, where available. "
    "Please open an issue if you are unable to replicate your use case: "
    "https://github.com/pytorch/pytorch/issues/new/choose."
)
_HOW_TO = "See more details at https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"


class _Optimizer(Protocol):
    """What a scheduler uses of an optimizer."""

    param_groups: list[dict[str, Any]]
    defaults: dict[str, Any]

    def step(self, *args: Any, **kwargs: Any) -> Any: ...


def _check_optimizer(optimizer: Any) -> None:
    if not hasattr(optimizer, "param_groups"):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _per_group(name: str, optimizer: _Optimizer, value: Any) -> list[Any]:
    """``value`` once per param group; a list or tuple is taken as the per-group values."""
    if not isinstance(value, (list, tuple)):
        return [value] * len(optimizer.param_groups)
    if len(value) != len(optimizer.param_groups):
        raise ValueError(
            f"{name} must have the same length as optimizer.param_groups. "
            f"{name} has {len(value)} values, param_groups has {len(optimizer.param_groups)}."
        )
    return list(value)


def _group_values(optimizer: _Optimizer, key: str) -> list[Any]:
    return [group[key] for group in optimizer.param_groups]


def _set_momentum(group: dict[str, Any], momentum: float, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (float(momentum), *group["betas"][1:])
    else:
        group["momentum"] = float(momentum)


def _init_momentum(optimizer: _Optimizer, base_momentum: Any, max_momentum: Any,
                   last_epoch: int) -> tuple[bool, list[float], list[float]]:
    """Validate momentum cycling; on a fresh start put the max momentum in each group.

    Returns ``(use_beta1, base_momentums, max_momentums)``: Adam-style optimizers cycle ``betas[0]``.
    """
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    use_beta1 = "betas" in optimizer.defaults
    base_momentums = _per_group("base_momentum", optimizer, base_momentum)
    max_momentums = _per_group("max_momentum", optimizer, max_momentum)
    if last_epoch == -1:
        for group, base, peak in zip(optimizer.param_groups, base_momentums, max_momentums, strict=True):
            _set_momentum(group, peak, use_beta1)
            group["max_momentum"] = peak
            group["base_momentum"] = base
    return use_beta1, base_momentums, max_momentums


def _callable_state(fn: Callable | None) -> dict[str, Any] | None:
    """What a ``state_dict`` keeps of a user function: the attributes of a callable object, else None."""
    return None if fn is None or isinstance(fn, types.FunctionType) else fn.__dict__.copy()


@contextlib.contextmanager
def _flag(scheduler: LRScheduler, name: str) -> Iterator[None]:
    setattr(scheduler, name, True)
    try:
        yield
    finally:
        setattr(scheduler, name, False)


def _track_step_calls(optimizer: _Optimizer) -> None:
    """Wrap ``optimizer.step`` so it records ``optimizer._opt_called``, for the step-order warning."""
    if hasattr(optimizer.step, "_wrapped_by_lr_sched"):
        return
    # The wrapper lives on the optimizer, so it holds it weakly and re-binds the plain function: no cycle.
    optimizer_ref = weakref.ref(optimizer)
    step = optimizer.step.__func__

    @wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opt = optimizer_ref()
        opt._opt_called = True
        return step.__get__(opt, type(opt))(*args, **kwargs)

    wrapper._wrapped_by_lr_sched = True
    optimizer.step = wrapper


class LRScheduler:
    r"""Base class of the schedulers: sets each param group's ``lr`` once per :meth:`step`.

    Subclasses compute the new learning rates in :meth:`get_lr` (the built-in ones in ``_compute_lr``,
    in the chainable form that multiplies the current ``lr``, so schedulers compose) and may add
    ``_get_closed_form_lr`` (a function of ``last_epoch`` only, used by the deprecated ``step(epoch)``).

    Arguments:
        optimizer: the optimizer whose ``param_groups[i]["lr"]`` are set. On a fresh start each
            group's ``lr`` is also saved as its ``"initial_lr"``.
        last_epoch: index of the last epoch seen; ``-1`` starts fresh, ``>= 0`` resumes a checkpoint
            (the groups must then hold ``"initial_lr"``).

    Constructing a scheduler performs its first step, which sets the epoch-0 learning rates.
    torchjax: the learning rates it writes are Python floats, never arrays.
    """

    _get_lr_called_within_step: bool = False
    _is_initial: bool = False

    def __init__(self, optimizer: _Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming scheduler "
                        "with last_epoch >= 0.\n"
                        "This typically happens when:\n"
                        "1. You're trying to resume training from a checkpoint but haven't properly loaded "
                        "the optimizer state\n"
                        "2. You're using last_epoch >= 0 for a fresh training run (not recommended)"
                    )
        self.base_lrs: list[float] = _group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        _track_step_calls(optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        with _flag(self, "_is_initial"):
            self.step()

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state: every attribute except the optimizer."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state returned by :meth:`state_dict` (ours or torch's)."""
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list[float]:
        """The learning rates the last :meth:`step` set, one per param group."""
        return self._last_lr

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch``; use :meth:`get_last_lr` to read the current ones."""
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=2)
        return self._compute_lr()

    def _compute_lr(self) -> list[float]:
        raise NotImplementedError

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch and set the new learning rates; call it after ``optimizer.step()``.

        Arguments:
            epoch: deprecated; jumps to this epoch, through the closed form where the scheduler has one.
        """
        if self._step_count == 1:
            if not hasattr(self.optimizer.step, "_wrapped_by_lr_sched"):
                warnings.warn(
                    "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
                    "initialization. Please, make sure to call `optimizer.step()` before "
                    f"`lr_scheduler.step()`. {_HOW_TO}", UserWarning, stacklevel=2)
            elif not getattr(self.optimizer, "_opt_called", False):
                warnings.warn(
                    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                    "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
                    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
                    "will result in PyTorch skipping the first value of the learning rate schedule. "
                    f"{_HOW_TO}", UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        with _flag(self, "_get_lr_called_within_step"):
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        self._set_lrs(values)

    def _set_lrs(self, values: Iterable[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = float(lr)
        self._last_lr = _group_values(self.optimizer, "lr")

    def _current_lrs(self) -> list[float]:
        return _group_values(self.optimizer, "lr")

    def _scaled_lrs(self, factor: float) -> list[float]:
        return [group["lr"] * factor for group in self.optimizer.param_groups]


class _LRScheduler(LRScheduler):
    """Old name of :class:`LRScheduler`, kept (as a subclass, so its ``__name__`` stays) like torch."""


class _LambdaScheduler(LRScheduler):
    """Shared by :class:`LambdaLR` and :class:`MultiplicativeLR`: one function of the epoch per group."""

    def __init__(self, optimizer: _Optimizer, lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f"Expected {len(optimizer.param_groups)} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state; of each ``lr_lambda`` only a callable object's attributes are kept."""
        return {**super().state_dict(), "lr_lambdas": [_callable_state(fn) for fn in self.lr_lambdas]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        for fn, fn_state in zip(self.lr_lambdas, state.pop("lr_lambdas"), strict=True):
            if fn_state is not None:
                fn.__dict__.update(fn_state)
        super().load_state_dict(state)


class LambdaLR(_LambdaScheduler):
    r"""Learning rate = initial lr times a function of the epoch: :math:`\eta_t = \eta_0 \cdot f(t)`.

    Arguments:
        optimizer: wrapped optimizer.
        lr_lambda: ``f``, the factor as a function of the epoch, or a list with one per param group.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def _compute_lr(self) -> list[float]:
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)]


class MultiplicativeLR(_LambdaScheduler):
    r"""Multiply the learning rate by a function of the epoch at each step: :math:`\eta_t = \eta_{t-1} f(t)`.

    Arguments:
        optimizer: wrapped optimizer.
        lr_lambda: ``f``, the factor as a function of the epoch, or a list with one per param group.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def _compute_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * fn(self.last_epoch)
                for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups, strict=True)]


class StepLR(LRScheduler):
    r"""Decay the learning rate by ``gamma`` every ``step_size`` epochs.

    :math:`\eta_t = \eta_0 \gamma^{\lfloor t / s \rfloor}`.

    Arguments:
        optimizer: wrapped optimizer.
        step_size: ``s``, the period of the decay, in epochs.
        gamma: multiplicative factor of the decay.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return self._scaled_lrs(self.gamma)

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Decay the learning rate by ``gamma`` at each milestone: :math:`\eta_t = \eta_0 \gamma^{\#\{m \le t\}}`.

    Arguments:
        optimizer: wrapped optimizer.
        milestones: epochs at which to decay; a repeated milestone decays once per occurrence.
        gamma: multiplicative factor of the decay.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return self._scaled_lrs(self.gamma ** self.milestones[self.last_epoch])

    def _get_closed_form_lr(self) -> list[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base_lr * self.gamma**passed for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    r"""Scale the learning rate by ``factor`` for the first ``total_iters`` epochs, then restore it.

    :math:`\eta_t = \eta_0 \cdot \text{factor}` for :math:`t < T`, else :math:`\eta_0`.

    Arguments:
        optimizer: wrapped optimizer.
        factor: the scale, in [0, 1].
        total_iters: ``T``, the number of epochs the scale lasts.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._scaled_lrs(self.factor)
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return self._scaled_lrs(1.0 / self.factor)

    def _get_closed_form_lr(self) -> list[float]:
        scale = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [base_lr * scale for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Ramp the learning-rate factor linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs.

    :math:`\eta_t = \eta_0 \left(s + (e - s) \frac{\min(t, T)}{T}\right)`.

    Arguments:
        optimizer: wrapped optimizer.
        start_factor: ``s``, the factor at epoch 0, in (0, 1].
        end_factor: ``e``, the factor from epoch ``T`` on, in [0, 1].
        total_iters: ``T``, the length of the ramp in epochs.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return self._scaled_lrs(self.start_factor)
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        slope = self.end_factor - self.start_factor
        # Ratio of consecutive factors: s + slope * t / T over s + slope * (t - 1) / T.
        return self._scaled_lrs(1.0 + slope / (self.total_iters * self.start_factor + (self.last_epoch - 1) * slope))

    def _get_closed_form_lr(self) -> list[float]:
        progress = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Decay the learning rate by ``gamma`` every epoch: :math:`\eta_t = \eta_0 \gamma^t`.

    Arguments:
        optimizer: wrapped optimizer.
        gamma: multiplicative factor of the decay.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list[float]:
        # Resuming from a checkpoint must not decay once more in the constructor's step.
        if self._is_initial:
            return self._current_lrs()
        return self._scaled_lrs(self.gamma)

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Decay the learning rate polynomially to 0 over ``total_iters`` epochs.

    :math:`\eta_t = \eta_0 \left(1 - \frac{\min(t, T)}{T}\right)^p`.

    Arguments:
        optimizer: wrapped optimizer.
        total_iters: ``T``, the epoch at which the learning rate reaches 0.
        power: ``p``, the power of the polynomial.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        remaining, previous = 1.0 - self.last_epoch / self.total_iters, 1.0 - (self.last_epoch - 1) / self.total_iters
        return self._scaled_lrs((remaining / previous) ** self.power)

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate along a cosine from its initial value to ``eta_min`` over ``T_max`` epochs.

    :math:`\eta_t = \eta_{min} + \frac{1}{2}(\eta_0 - \eta_{min})\left(1 + \cos\frac{t\pi}{T_{max}}\right)`,
    applied recursively (each step rescales the current ``lr``) so other schedulers' changes carry on;
    past ``T_max`` the cosine keeps going, back up to ``eta_0`` at ``2 T_max``.

    Arguments:
        optimizer: wrapped optimizer.
        T_max: half-period of the cosine, in epochs.
        eta_min: the minimum learning rate.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and self.last_epoch > 0:
            return self._get_closed_form_lr()
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            # At the trough the ratio below is 0/0; step up by the cosine's first increment instead.
            return [group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups, strict=True)]
        ratio = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / (
            1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
        return [ratio * (group["lr"] - self.eta_min) + self.eta_min for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing from the initial lr to ``eta_min`` with warm restarts (SGDR).

    :math:`\eta_t = \eta_{min} + \frac{1}{2}(\eta_0 - \eta_{min})\left(1 + \cos\frac{T_{cur}\pi}{T_i}\right)`,
    where :math:`T_{cur}` counts epochs since the last restart and the period :math:`T_i` starts at
    ``T_0`` and is multiplied by ``T_mult`` at every restart. ``step(epoch)`` takes fractional epochs
    (without a deprecation warning) to restart within an epoch.

    Arguments:
        optimizer: wrapped optimizer.
        T_0: number of epochs before the first restart.
        T_mult: growth factor of the period after each restart.
        eta_min: the minimum learning rate.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def _compute_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to ``epoch`` (which may be fractional), and set the learning rates."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        elif epoch < self.T_0:
            self.T_i = self.T_0
            self.T_cur = epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            # Restarts so far: the largest n with T_0 (T_mult^n - 1) / (T_mult - 1) <= epoch.
            n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult**n
        self.last_epoch = math.floor(epoch)
        with _flag(self, "_get_lr_called_within_step"):
            values = self.get_lr()
        self._set_lrs(values)


class _ComposedScheduler(LRScheduler):
    """Shared by :class:`SequentialLR` and :class:`ChainedScheduler`: checks and saves the inner schedulers."""

    _schedulers: Sequence[LRScheduler]

    def _check_schedulers(self, optimizer: _Optimizer, schedulers: Sequence[LRScheduler]) -> None:
        name = type(self).__name__
        for idx, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(f"{name} at index {idx} should have `optimizer` as its attribute.")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    f"{name} does not support `ReduceLROnPlateau` scheduler as it requires additional kwargs "
                    f"to be specified when calling `step`, but got one at index {idx} in the given schedulers "
                    "sequence.")
            if optimizer != scheduler.optimizer:
                raise ValueError(
                    f"{name} expects all schedulers to belong to the same optimizer, but got scheduler "
                    f"{type(scheduler).__name__} at index {idx} has {scheduler.optimizer}, which is different "
                    f"from {type(optimizer).__name__}.")

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state, with each inner scheduler's ``state_dict`` under ``"_schedulers"``."""
        return {**super().state_dict(), "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        for scheduler, scheduler_state in zip(self._schedulers, state.pop("_schedulers"), strict=True):
            scheduler.load_state_dict(scheduler_state)
        super().load_state_dict(state)


class SequentialLR(_ComposedScheduler):
    r"""Run ``schedulers`` one after another, switching at each milestone epoch.

    Scheduler ``i`` drives epochs ``[milestones[i-1], milestones[i])``; at its milestone it starts
    from its own epoch 0 (closed form), continuing from the learning rates the previous one left.

    Arguments:
        optimizer: wrapped optimizer, shared by all ``schedulers``.
        schedulers: the schedulers, in order.
        milestones: the switching epochs, one fewer than ``schedulers``.
        last_epoch: index of the last epoch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, schedulers: list[LRScheduler], milestones: list[int],
                 last_epoch: int = -1) -> None:
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} expects at least one scheduler, but got no scheduler.")
        self._check_schedulers(optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than the number of "
                f"milestone points, but got number of schedulers {len(schedulers)} and the number of milestones "
                f"to be equal to {len(milestones)}")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # The inner schedulers' constructors already stepped: rewind them, then start only the first one.
        for group in optimizer.param_groups:
            group["lr"] = float(group["initial_lr"])
        self.recursive_undo()
        idx = bisect_right(milestones, 0)
        schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def recursive_undo(self, sched: LRScheduler | None = None) -> None:
        """Take one epoch back from every (nested) inner scheduler."""
        sched = self if sched is None else sched
        if hasattr(sched, "_schedulers"):
            for inner in sched._schedulers:
                self.recursive_undo(inner)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Advance one epoch with the scheduler whose span holds it."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_ComposedScheduler):
    r"""Step every scheduler in ``schedulers`` at each :meth:`step`, so their (chainable) changes compose.

    Arguments:
        schedulers: the schedulers, stepped in order.
        optimizer: wrapped optimizer; defaults to the first scheduler's.
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: _Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                f"{type(self).__name__} expects at least one scheduler to be chained, but got no scheduler.")
        optimizer = optimizer or schedulers[0].optimizer
        self._check_schedulers(optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _group_values(schedulers[-1].optimizer, "lr")

    def step(self) -> None:  # type: ignore[override]
        """Step every scheduler once."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")


class ReduceLROnPlateau(LRScheduler):
    r"""Multiply the learning rate by ``factor`` when a metric has stopped improving for ``patience`` epochs.

    A metric improves when it beats the best so far by the threshold: in ``"min"`` mode
    ``metric < best * (1 - threshold)`` (``"rel"``) or ``metric < best - threshold`` (``"abs"``);
    ``"max"`` mode mirrors it. After a reduction, ``cooldown`` epochs pass before bad epochs count again.

    Arguments:
        optimizer: wrapped optimizer.
        mode: ``"min"`` when lower metrics are better, ``"max"`` when higher are.
        factor: the multiplier of a reduction, below 1.
        patience: number of epochs without improvement tolerated before reducing.
        threshold: the margin a metric must beat the best by to count as an improvement.
        threshold_mode: ``"rel"`` (relative margin) or ``"abs"`` (absolute margin).
        cooldown: epochs to wait after a reduction before counting bad epochs again.
        min_lr: lower bound of the learning rate, or a list with one per param group.
        eps: reductions smaller than this are skipped.
    """

    def __init__(self, optimizer: _Optimizer, mode: Literal["min", "max"] = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: Literal["rel", "abs"] = "rel",
                 cooldown: int = 0, min_lr: list[float] | float = 0, eps: float = 1e-8) -> None:
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        self.factor = factor
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _group_values(optimizer, "lr")
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: SupportsFloat, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number or 0-d array) and reduce the learning rates if it has plateaued.

        Arguments:
            metrics: the monitored quantity.
            epoch: deprecated; the index of this epoch.
        """
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr(epoch)
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = _group_values(self.optimizer, "lr")

    def _reduce_lr(self, epoch: int) -> None:
        if len(self.optimizer.param_groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the `optimizer` ({len(self.optimizer.param_groups)}) differs "
                    f"from when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), usually due to a new "
                    "param group being added to the optimizer. Please modify the `min_lrs` field to match the "
                    "length of the `optimizer` param groups.")
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = float(new_lr)

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < best * (1.0 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (self.threshold + 1.0) if self.threshold_mode == "rel" else a > best + self.threshold

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in {"min", "max"}:
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._init_is_better(mode=self.mode, threshold=self.threshold, threshold_mode=self.threshold_mode)


class CyclicLR(LRScheduler):
    r"""Cycle the learning rate between ``base_lr`` and ``max_lr`` along a triangle (cyclical learning rates).

    With cycle :math:`c = \lfloor 1 + t / (u + d) \rfloor` and position :math:`x = 1 + t / (u + d) - c`
    in it, the height :math:`h` rises linearly from 0 to 1 over the first :math:`r = u / (u + d)` of the
    cycle and falls back over the rest, and :math:`\eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, h\,
    \text{scale}(c \text{ or } t)`. Momentum, when cycled, moves the opposite way, from ``max_momentum``
    down to ``base_momentum``. Step it after every batch.

    Arguments:
        optimizer: wrapped optimizer; on a fresh start its ``lr`` is set to ``base_lr``.
        base_lr: the lower learning-rate bound, or a list with one per param group.
        max_lr: the upper learning-rate bound, or a list with one per param group.
        step_size_up: ``u``, iterations in the rising half of a cycle.
        step_size_down: ``d``, iterations in the falling half; defaults to ``step_size_up``.
        mode: ``"triangular"`` (scale 1), ``"triangular2"`` (halved every cycle) or ``"exp_range"``
            (``gamma ** t``); ignored when ``scale_fn`` is given.
        gamma: the base of ``"exp_range"``'s scale.
        scale_fn: a custom scale, a function of the cycle or iteration number with values in [0, 1].
        scale_mode: whether ``scale_fn`` takes the cycle (``"cycle"``) or the iteration (``"iterations"``).
        cycle_momentum: whether to cycle ``momentum`` (or Adam's ``betas[0]``) inversely to the lr.
        base_momentum: the lower momentum bound, or a list with one per param group.
        max_momentum: the upper momentum bound, or a list with one per param group.
        last_epoch: index of the last batch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, base_lr: float | list[float], max_lr: float | list[float],
                 step_size_up: int = 2000, step_size_down: int | None = None,
                 mode: Literal["triangular", "triangular2", "exp_range"] = "triangular", gamma: float = 1.0,
                 scale_fn: Callable[[float], float] | None = None,
                 scale_mode: Literal["cycle", "iterations"] = "cycle", cycle_momentum: bool = True,
                 base_momentum: float = 0.8, max_momentum: float = 0.9, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                group["lr"] = float(lr)
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        if mode not in ["triangular", "triangular2", "exp_range"] and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        # The built-in modes fix what their scale is a function of.
        self.scale_mode = scale_mode if scale_fn is not None else "iterations" if mode == "exp_range" else "cycle"
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _init_momentum(
                optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at cycle or iteration ``x``: ``scale_fn`` if given, else the mode's."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        if self.mode == "exp_range":
            return self.gamma**x
        return 1.0

    def _compute_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        height = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base_lr + (max_lr - base_lr) * height * scale
               for base_lr, max_lr in zip(self.base_lrs, self.max_lrs, strict=True)]
        if self.cycle_momentum:
            for group, base, peak in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums,
                                         strict=True):
                _set_momentum(group, peak - (peak - base) * height * scale, self.use_beta1)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state; of ``scale_fn`` only a callable object's attributes are kept."""
        return {**super().state_dict(), "_scale_fn_custom": _callable_state(self._scale_fn_custom)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        fn_state = state.pop("_scale_fn_custom")
        super().load_state_dict(state)
        if fn_state is not None:
            self._scale_fn_custom.__dict__.update(fn_state)


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy: warm the learning rate up to ``max_lr``, then anneal it far below its start.

    The lr starts at ``max_lr / div_factor``, rises to ``max_lr`` over the first ``pct_start`` of
    ``total_steps``, then anneals to ``max_lr / div_factor / final_div_factor``. With ``three_phase``
    it first comes back down symmetrically to the start value and only then anneals to the minimum.
    Momentum, when cycled, moves inversely between ``max_momentum`` and ``base_momentum``. Step it
    after every batch, ``total_steps`` times at most.

    Arguments:
        optimizer: wrapped optimizer.
        max_lr: the peak learning rate, or a list with one per param group.
        total_steps: number of steps in the cycle; else ``epochs * steps_per_epoch``.
        epochs: number of epochs, used with ``steps_per_epoch`` when ``total_steps`` is None.
        steps_per_epoch: number of steps per epoch.
        pct_start: fraction of the cycle spent increasing the learning rate (a float in [0, 1]).
        anneal_strategy: ``"cos"`` (cosine annealing) or ``"linear"``.
        cycle_momentum: whether to cycle ``momentum`` (or Adam's ``betas[0]``) inversely to the lr.
        base_momentum: the momentum at the peak learning rate, or a list with one per param group.
        max_momentum: the momentum at the start and end, or a list with one per param group.
        div_factor: initial lr = ``max_lr / div_factor``.
        final_div_factor: minimum lr = initial lr ``/ final_div_factor``.
        three_phase: use the three-phase schedule described above.
        last_epoch: index of the last batch; ``-1`` starts fresh.
    """

    def __init__(self, optimizer: _Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: Literal["cos", "linear"] = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        # Each phase anneals between two param-group keys, up to its (inclusive) end step.
        warmup_end = float(pct_start * self.total_steps) - 1
        last = self.total_steps - 1
        if three_phase:
            phases = [(warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                       "max_momentum"),
                      (last, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            phases = [(warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (last, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")
        self._schedule_phases = [dict(zip(keys, phase, strict=True)) for phase in phases]
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, peak in zip(optimizer.param_groups, max_lrs, strict=True):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _init_momentum(optimizer, base_momentum, max_momentum, last_epoch)[0]
        super().__init__(optimizer, last_epoch)

    def _anneal_func(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _compute_lr(self) -> list[float]:
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(f"Tried to step {step_num} times. The specified number of total steps is "
                             f"{self.total_steps}")
        start_step = 0.0
        for phase in self._schedule_phases:
            if step_num <= phase["end_step"] or phase is self._schedule_phases[-1]:
                break
            start_step = phase["end_step"]
        pct = (step_num - start_step) / (phase["end_step"] - start_step)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal_func(group[phase["start_lr"]], group[phase["end_lr"]], pct))
            if self.cycle_momentum:
                momentum = self._anneal_func(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                _set_momentum(group, momentum, self.use_beta1)
        return lrs

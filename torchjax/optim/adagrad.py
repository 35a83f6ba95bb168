"""``Adagrad``: per-coordinate learning rates from the running sum of squared gradients.

optax: not used, because ``optax.scale_by_rss`` adds eps inside the square root (and masks zero
sums) where torch divides by ``sqrt(sum) + eps``, and it has no ``lr_decay``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp

from ._functional import check_nonnegative, direction_and_decay, fill_missing, zero_step
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, torch's formulation.

    .. math::
        s_t = s_{t-1} + g_t^2, \quad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1 + (t-1)\eta} \frac{g_t}{\sqrt{s_t} + \epsilon}

    Arguments:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma`.
        lr_decay: learning-rate decay :math:`\eta`.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        initial_accumulator_value: the starting value of the sums :math:`s_0` (torch takes it from
            the constructor's defaults for every group, and so does this class).
        eps: term added to the denominator :math:`\epsilon`.
        maximize: ascend the objective instead.
        foreach, differentiable, fused: accepted for compatibility.

    State per parameter, created for every parameter at construction as in torch: ``step`` and ``sum``.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        check_nonnegative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                          initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._new_state(group, p)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        fill_missing(self, foreach=None, maximize=False, differentiable=False, fused=None)

    def _init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        return {"step": zero_step(),
                "sum": jnp.full_like(param._data, self.defaults["initial_accumulator_value"])}

    @staticmethod
    def _update(hp: dict[str, Any], param: jax.Array, grad: jax.Array, state: dict[str, Any]):
        param, grad = direction_and_decay(hp, param, grad)
        step = state["step"] + 1
        clr = hp["lr"] / (1 + (step - 1) * hp["lr_decay"])
        total = state["sum"] + grad * grad
        return param - clr * (grad / (jnp.sqrt(total) + hp["eps"])), {"step": step, "sum": total}

"""``Adadelta``: steps scaled by the ratio of running RMS of past updates to that of gradients.

optax: used for the update (``optax.scale_by_adadelta`` has torch's formula, eps inside both roots).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from ._functional import check_nonnegative, direction_and_decay, fill_missing, zero_step
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta, torch's formulation.

    .. math::
        v_t = \rho v_{t-1} + (1-\rho) g_t^2, \quad
        \Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}} g_t, \quad
        u_t = \rho u_{t-1} + (1-\rho) \Delta_t^2, \quad \theta_t = \theta_{t-1} - \gamma \Delta_t

    Arguments:
        params: parameters or parameter groups.
        lr: coefficient :math:`\gamma` scaling the delta.
        rho: running-average coefficient :math:`\rho`.
        eps: term added inside the square roots :math:`\epsilon`.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        maximize: ascend the objective instead.
        foreach, capturable, differentiable: accepted for compatibility.

    State per parameter: ``step``, ``square_avg`` (:math:`v`) and ``acc_delta`` (:math:`u`).
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_nonnegative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_nonnegative(eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, capturable=capturable,
                        foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        fill_missing(self, foreach=None, maximize=False, differentiable=False, capturable=False)

    def _init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        value = param._data
        return {"step": zero_step(), "square_avg": jnp.zeros_like(value), "acc_delta": jnp.zeros_like(value)}

    @staticmethod
    def _update(hp: dict[str, Any], param: jax.Array, grad: jax.Array, state: dict[str, Any]):
        param, grad = direction_and_decay(hp, param, grad)
        averages = optax.ScaleByAdaDeltaState(e_g=state["square_avg"], e_x=state["acc_delta"])
        delta, averages = optax.scale_by_adadelta(hp["rho"], hp["eps"]).update(grad, averages)
        return param - hp["lr"] * delta, {"step": state["step"] + 1, "square_avg": averages.e_g,
                                          "acc_delta": averages.e_x}

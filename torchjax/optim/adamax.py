"""``Adamax``: Adam with the infinity norm in place of the second moment.

optax: used for the update (``optax.scale_by_adamax`` has torch's formula:
``u = max(beta2 * u, |g| + eps)``, step ``lr / (1 - beta1^t) * m / u``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from ._functional import check_betas, check_nonnegative, direction_and_decay, fill_missing, zero_step
from .optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax, torch's formulation.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon), \quad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1-\beta_1^t} \frac{m_t}{u_t}

    Arguments:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma`.
        betas: decay rates :math:`(\beta_1, \beta_2)` of the first moment and the infinity norm.
        eps: term added to the gradient's magnitude :math:`\epsilon`.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        maximize: ascend the objective instead.
        foreach, differentiable, capturable: accepted for compatibility.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`) and ``exp_inf`` (:math:`u`).
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_nonnegative(lr=lr, eps=eps)
        check_betas(betas)
        check_nonnegative(weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        fill_missing(self, foreach=None, maximize=False, differentiable=False, capturable=False)

    def _init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        return {"step": zero_step(), "exp_avg": jnp.zeros_like(param._data), "exp_inf": jnp.zeros_like(param._data)}

    @staticmethod
    def _update(hp: dict[str, Any], param: jax.Array, grad: jax.Array, state: dict[str, Any]):
        param, grad = direction_and_decay(hp, param, grad)
        moments = optax.ScaleByAdamState(count=state["step"].astype(jnp.int32), mu=state["exp_avg"],
                                         nu=state["exp_inf"])
        update, moments = optax.scale_by_adamax(*hp["betas"], hp["eps"]).update(grad, moments)
        return param - hp["lr"] * update, {"step": state["step"] + 1, "exp_avg": moments.mu, "exp_inf": moments.nu}

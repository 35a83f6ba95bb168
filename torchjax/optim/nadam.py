r"""``NAdam``: Adam with Nesterov momentum and Dozat's momentum-decay schedule.

optax: not used, because ``optax.nadam`` (``scale_by_adam(nesterov=True)``) has no momentum-decay
schedule: torch's step uses :math:`\mu_t = \beta_1 (1 - 0.5 \cdot 0.96^{t\psi})` and the running
product of the :math:`\mu_t`, kept in the state as ``mu_product``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp

from ._functional import (
    bias_correction,
    check_betas,
    check_nonnegative,
    direction_and_decay,
    fill_missing,
    zero_step,
)
from .optimizer import Optimizer

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam, torch's formulation.

    .. math::
        \mu_t = \beta_1 \big(1 - \tfrac12 0.96^{t\psi}\big), \quad
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \
        \theta_t = \theta_{t-1} - \gamma \Big(\frac{1-\mu_t}{1-\prod_{i\le t}\mu_i} g_t
            + \frac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i} m_t\Big) \Big/ \Big(\sqrt{v_t/(1-\beta_2^t)} + \epsilon\Big)

    Arguments:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma`.
        betas: decay rates :math:`(\beta_1, \beta_2)` of the first and second moments.
        eps: term added to the denominator :math:`\epsilon`.
        weight_decay: weight decay :math:`\lambda` (an L2 term in the gradient, or decoupled).
        momentum_decay: :math:`\psi`.
        decoupled_weight_decay: shrink the parameter by :math:`\gamma\lambda` instead (NAdamW).
        maximize: ascend the objective instead.
        foreach, capturable, differentiable: accepted for compatibility.

    State per parameter: ``step``, ``mu_product`` (float32 scalars), ``exp_avg`` and ``exp_avg_sq``.
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_nonnegative(lr=lr, eps=eps)
        check_betas(betas)
        check_nonnegative(weight_decay=weight_decay, momentum_decay=momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        fill_missing(self, ("step", "mu_product"), maximize=False, foreach=None, capturable=False,
                     differentiable=False, decoupled_weight_decay=False)

    def _init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        return {"step": zero_step(), "mu_product": jnp.ones((), jnp.float32), "exp_avg": jnp.zeros_like(param._data),
                "exp_avg_sq": jnp.zeros_like(param._data)}

    @staticmethod
    def _update(hp: dict[str, Any], param: jax.Array, grad: jax.Array, state: dict[str, Any]):
        param, grad = direction_and_decay(hp, param, grad)
        beta1, beta2 = hp["betas"]
        step = state["step"] + 1
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * hp["momentum_decay"]))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * hp["momentum_decay"]))
        mu_product = state["mu_product"] * mu
        exp_avg = state["exp_avg"] + (1 - beta1) * (grad - state["exp_avg"])
        exp_avg_sq = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
        denom = jnp.sqrt(exp_avg_sq / bias_correction(beta2, step)) + hp["eps"]
        param = param - hp["lr"] * (1 - mu) / (1 - mu_product) * (grad / denom)
        param = param - hp["lr"] * mu_next / (1 - mu_product * mu_next) * (exp_avg / denom)
        return param, {"step": step, "mu_product": mu_product, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}

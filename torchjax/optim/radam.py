"""``RAdam``: Adam with the variance of the adaptive learning rate rectified.

optax: not used, because ``optax.scale_by_radam`` adds eps to the bias-corrected root (torch adds it
to the uncorrected one) and rectifies when the SMA length reaches the threshold (torch: exceeds 5).
The SMA length is computed here from its series in ``log(beta2)`` for early steps, since the textbook
formula loses three digits to cancellation in float32 where torch computes it in float64.
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

__all__ = ["RAdam"]


def _sma_length(beta2: Any, step: jax.Array) -> jax.Array:
    r""":math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)` with :math:`\rho_\infty = 2/(1-\beta_2) - 1`.

    With :math:`u = -\log\beta_2` it equals :math:`t - (t^2-1)u/6 + (t^4-1)u^3/360 - (t^6-1)u^5/15120 + \dots`
    (from the Bernoulli series of :math:`z/(e^z-1)`), accurate while :math:`tu < 1`, exactly where the
    direct formula subtracts two nearly equal numbers of size :math:`2/u`.
    """
    u = -jnp.log1p(-(1 - beta2))
    series = step - (step**2 - 1) * u / 6 + (step**4 - 1) * u**3 / 360 - (step**6 - 1) * u**5 / 15120
    direct = 2 / (1 - beta2) - 1 - 2 * step * jnp.exp(-step * u) / -jnp.expm1(-step * u)
    return jnp.where(step * u < 1, series, direct)


class RAdam(Optimizer):
    r"""RAdam, torch's formulation.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        \hat m_t = m_t / (1-\beta_1^t), \\
        \theta_t = \theta_{t-1} - \gamma \hat m_t \, r_t \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon}
        \text{ if } \rho_t > 5 \text{, else } \theta_{t-1} - \gamma \hat m_t, \quad
        r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

    Arguments:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma`.
        betas: decay rates :math:`(\beta_1, \beta_2)` of the first and second moments.
        eps: term added to the denominator :math:`\epsilon`.
        weight_decay: weight decay :math:`\lambda` (an L2 term in the gradient, or decoupled).
        decoupled_weight_decay: shrink the parameter by :math:`\gamma\lambda` instead (RAdamW).
        maximize: ascend the objective instead.
        foreach, capturable, differentiable: accepted for compatibility.

    State per parameter: ``step``, ``exp_avg`` and ``exp_avg_sq``.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_nonnegative(lr=lr, eps=eps)
        check_betas(betas)
        check_nonnegative(weight_decay=weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        fill_missing(self, foreach=None, maximize=False, differentiable=False, decoupled_weight_decay=False,
                     capturable=False)

    def _init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        return {"step": zero_step(), "exp_avg": jnp.zeros_like(param._data), "exp_avg_sq": jnp.zeros_like(param._data)}

    @staticmethod
    def _update(hp: dict[str, Any], param: jax.Array, grad: jax.Array, state: dict[str, Any]):
        param, grad = direction_and_decay(hp, param, grad)
        beta1, beta2 = hp["betas"]
        step = state["step"] + 1
        exp_avg = state["exp_avg"] + (1 - beta1) * (grad - state["exp_avg"])
        exp_avg_sq = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
        corrected = exp_avg / bias_correction(beta1, step)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = _sma_length(beta2, step)
        rect = jnp.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        adaptive_lr = jnp.sqrt(bias_correction(beta2, step)) / (jnp.sqrt(exp_avg_sq) + hp["eps"])
        update = jnp.where(rho_t > 5.0, corrected * hp["lr"] * adaptive_lr * rect, corrected * hp["lr"])
        return param - update, {"step": step, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}

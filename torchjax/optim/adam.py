"""``Adam``: adaptive moment estimation, with AMSGrad, L2 or decoupled weight decay and maximize.

optax: used for the moments and the bias-corrected update (``optax.scale_by_adam`` has torch's
formula); not used for AMSGrad, because ``optax.scale_by_amsgrad`` keeps the maximum of the
bias-corrected second moment where torch keeps the maximum of the uncorrected one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from ._functional import check_betas, check_nonnegative, direction_and_decay, fill_missing, zero_step
from .optimizer import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    r"""Adam, torch's formulation.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        \theta_t = \theta_{t-1} - \gamma \frac{m_t / (1-\beta_1^t)}{\sqrt{\hat v_t / (1-\beta_2^t)} + \epsilon}

    with :math:`\hat v_t = v_t`, or :math:`\max(\hat v_{t-1}, v_t)` with AMSGrad.

    Arguments:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma`.
        betas: decay rates :math:`(\beta_1, \beta_2)` of the first and second moments.
        eps: term added to the denominator :math:`\epsilon`.
        weight_decay: weight decay :math:`\lambda`: an L2 term :math:`\lambda\theta` added to the
            gradient, or with ``decoupled_weight_decay`` the parameter shrinking by :math:`\gamma\lambda`
            before the step (AdamW).
        amsgrad: normalise by the running maximum of the second moment (AMSGrad).
        maximize: ascend the objective instead.
        decoupled_weight_decay: AdamW's weight decay.
        foreach, capturable, differentiable, fused: accepted for compatibility; every step here is
            one fused XLA computation per parameter group.

    State per parameter: ``step`` (float32 scalar), ``exp_avg``, ``exp_avg_sq`` and, with
    AMSGrad, ``max_exp_avg_sq``.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        check_nonnegative(lr=lr, eps=eps)
        check_betas(betas)
        check_nonnegative(weight_decay=weight_decay)
        if not (all(isinstance(beta, float) for beta in betas) or all(isinstance(beta, jax.Array) for beta in betas)):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = dict(lr=lr, betas=tuple(float(beta) for beta in betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        fill_missing(self, amsgrad=False, maximize=False, foreach=None, capturable=False, differentiable=False,
                     decoupled_weight_decay=False, fused=None)

    def _init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        state = {"step": zero_step(), "exp_avg": jnp.zeros_like(param._data), "exp_avg_sq": jnp.zeros_like(param._data)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = jnp.zeros_like(param._data)
        return state

    @staticmethod
    def _update(hp: dict[str, Any], param: jax.Array, grad: jax.Array, state: dict[str, Any]):
        param, grad = direction_and_decay(hp, param, grad)
        beta1, beta2 = hp["betas"]
        moments = optax.ScaleByAdamState(count=state["step"].astype(jnp.int32), mu=state["exp_avg"],
                                         nu=state["exp_avg_sq"])
        update, moments = optax.scale_by_adam(beta1, beta2, hp["eps"]).update(grad, moments)
        step = state["step"] + 1
        new_state = {"step": step, "exp_avg": moments.mu, "exp_avg_sq": moments.nu}
        if hp["amsgrad"]:
            max_exp_avg_sq = jnp.maximum(state["max_exp_avg_sq"], moments.nu)
            denom = jnp.sqrt(max_exp_avg_sq) / jnp.sqrt(1 - beta2**step) + hp["eps"]
            update = moments.mu / (1 - beta1**step) / denom
            new_state["max_exp_avg_sq"] = max_exp_avg_sq
        return param - hp["lr"] * update, new_state

"""``RMSprop``: gradients scaled by a running root mean square, optionally centered, with momentum.

optax: used for the scaling (``optax.scale_by_rms``, or ``optax.scale_by_stddev`` when centered,
both with ``eps_in_sqrt=False``: torch adds eps outside the square root) and for the momentum
(``optax.trace``, torch's ``buf = momentum * buf + scaled_grad``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from ._functional import check_nonnegative, direction_and_decay, fill_missing, zero_step
from .optimizer import Optimizer, nonzero

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, torch's formulation.

    .. math::
        v_t = \alpha v_{t-1} + (1-\alpha) g_t^2, \quad
        \tilde v_t = v_t - \bar g_t^2 \text{ if centered } (\bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t), \quad
        b_t = \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon), \quad \theta_t = \theta_{t-1} - \gamma b_t

    (without momentum, :math:`b_t = g_t / (\sqrt{\tilde v_t} + \epsilon)`).

    Arguments:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma`.
        alpha: smoothing constant :math:`\alpha`.
        eps: term added to the denominator :math:`\epsilon`.
        weight_decay: L2 penalty :math:`\lambda` added to the gradient.
        momentum: momentum factor :math:`\mu`.
        centered: normalise by an estimate of the gradient's variance instead of its second moment.
        maximize: ascend the objective instead.
        capturable, foreach, differentiable: accepted for compatibility.

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (with momentum) and
    ``grad_avg`` (when centered).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        check_nonnegative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        fill_missing(self, momentum=0, centered=False, foreach=None, maximize=False, differentiable=False,
                     capturable=False)

    def _init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        state = {"step": zero_step(), "square_avg": jnp.zeros_like(param._data)}
        if nonzero(group["momentum"]):
            state["momentum_buffer"] = jnp.zeros_like(param._data)
        if group["centered"]:
            state["grad_avg"] = jnp.zeros_like(param._data)
        return state

    @staticmethod
    def _update(hp: dict[str, Any], param: jax.Array, grad: jax.Array, state: dict[str, Any]):
        param, grad = direction_and_decay(hp, param, grad)
        new_state = {"step": state["step"] + 1}
        if hp["centered"]:
            scale = optax.scale_by_stddev(hp["alpha"], hp["eps"], eps_in_sqrt=False)
            update, averages = scale.update(grad, optax.ScaleByRStdDevState(mu=state["grad_avg"],
                                                                           nu=state["square_avg"]))
            new_state.update(square_avg=averages.nu, grad_avg=averages.mu)
        else:
            scale = optax.scale_by_rms(hp["alpha"], hp["eps"], eps_in_sqrt=False)
            update, averages = scale.update(grad, optax.ScaleByRmsState(nu=state["square_avg"]))
            new_state["square_avg"] = averages.nu
        if nonzero(hp["momentum"]):
            buffer = optax.TraceState(trace=state["momentum_buffer"])
            update, buffer = optax.trace(hp["momentum"]).update(update, buffer)
            new_state["momentum_buffer"] = buffer.trace
        return param - hp["lr"] * update, new_state

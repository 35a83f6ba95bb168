"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax

from .optimizer import Optimizer, nonzero

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, torch's formulation.

    .. math::
        g \leftarrow \nabla + \lambda\theta, \quad
        b \leftarrow \mu b + (1-\tau) g \;(b_1 = g), \quad
        \theta \leftarrow \theta - \gamma\,(g + \mu b \text{ if nesterov else } b)

    Arguments:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma`.
        momentum: momentum factor :math:`\mu`.
        dampening: dampening :math:`\tau` of the momentum.
        weight_decay: L2 penalty :math:`\lambda`.
        nesterov: Nesterov momentum (needs momentum > 0 and no dampening).
        maximize: ascend the objective instead.
        foreach, differentiable, fused: accepted for compatibility; every step here is one
            fused XLA computation per parameter group.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)

    def _init_state(self, group: dict[str, Any], param) -> dict[str, Any]:
        # torch keeps no state without momentum, and creates the buffer at the first step.
        return {"momentum_buffer": None} if nonzero(group["momentum"]) else {}

    @staticmethod
    def _update(hp: dict[str, Any], param: jax.Array, grad: jax.Array, state: dict[str, Any]):
        grad = -grad if hp["maximize"] else grad
        if nonzero(hp["weight_decay"]):
            grad = grad + hp["weight_decay"] * param
        if nonzero(hp["momentum"]):
            buf = state["momentum_buffer"]
            buf = grad if buf is None else hp["momentum"] * buf + (1 - hp["dampening"]) * grad
            state = {**state, "momentum_buffer": buf}
            grad = grad + hp["momentum"] * buf if hp["nesterov"] else buf
        return param - hp["lr"] * grad, state

"""``AdamW``: Adam with decoupled weight decay (``Adam(..., decoupled_weight_decay=True)``, as in torch).

optax: as :class:`~torchjax.optim.Adam` (``optax.scale_by_adam`` for the update; AMSGrad written
directly because optax maxes the bias-corrected second moment where torch maxes the uncorrected one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW: the parameter shrinks by :math:`\gamma\lambda` before each Adam step, instead of
    :math:`\lambda\theta` being added to the gradient.

    Arguments are :class:`~torchjax.optim.Adam`'s, with ``weight_decay`` defaulting to 1e-2 and
    ``decoupled_weight_decay`` always True (it stays True when a state_dict is loaded, as in torch).
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

"""Gradient clipping: torch.nn.utils' ``clip_grad_norm_``, ``clip_grad_value_``, ``get_total_norm`` and
``clip_grads_with_norm_``.

Branch-free, so the same code runs eagerly and inside ``torchjax.compile``: every gradient is
multiplied by torch's ``min(max_norm / (total_norm + 1e-6), 1)``, never tested against a threshold.
``max_norm`` and ``clip_value`` may be traced (a compiled step's argument); ``norm_type`` is a
constant. ``foreach`` is accepted for compatibility: each call is a handful of fused XLA ops.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._tensor import Tensor, unwrap, wrap

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]

_ArrayOrArrays = Tensor | jax.Array | Iterable[Tensor | jax.Array]


def _as_list(tensors: _ArrayOrArrays) -> list:
    return [tensors] if isinstance(tensors, Tensor | jax.Array | np.ndarray) else list(tensors)


def _number(value: Any) -> Any:
    """``float(value)`` as torch does, except that a traced number stays traced."""
    value = unwrap(value)
    return value if isinstance(value, jax.core.Tracer) else float(value)


def _nonfinite_error(norm_type: float) -> RuntimeError:
    return RuntimeError(
        f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
        "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
        "`error_if_nonfinite=False`"
    )


def get_total_norm(tensors: _ArrayOrArrays, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    r"""The ``norm_type``-norm of the norms of ``tensors``: their norm as if concatenated into one vector
    (for ``norm_type`` 0, the number of tensors with a nonzero entry, as in torch).

    Arguments:
        tensors: arrays (usually gradients), or one array.
        norm_type: the order :math:`p` (``float('inf')`` or ``'inf'`` for the largest magnitude).
        error_if_nonfinite: raise a RuntimeError if the norm is nan or infinite. Inside a compiled
            step the check runs when the step executes, and the error surfaces from that call.

    Returns a 0-d Tensor (``0.0`` for no tensors).
    """
    tensors = [unwrap(t) for t in _as_list(tensors)]
    norm_type = float(norm_type)
    if not tensors:
        return wrap(jnp.asarray(0.0, jnp.float32))
    norms = jnp.stack([jnp.linalg.vector_norm(t, ord=norm_type) for t in tensors])
    total_norm = jnp.linalg.vector_norm(norms, ord=norm_type)
    if error_if_nonfinite:
        if isinstance(total_norm, jax.core.Tracer):
            jax.debug.callback(_raise_if_nonfinite, total_norm, norm_type)
        else:
            _raise_if_nonfinite(total_norm, norm_type)
    return wrap(total_norm)


def _raise_if_nonfinite(total_norm: jax.Array, norm_type: float) -> None:
    if not bool(jnp.isfinite(total_norm)):
        raise _nonfinite_error(norm_type)


def clip_grads_with_norm_(parameters: _ArrayOrArrays, max_norm: float, total_norm: Tensor | jax.Array,
                          foreach: bool | None = None) -> None:
    r"""Scale every gradient by :math:`\min(\text{max\_norm} / (\text{total\_norm} + 10^{-6}), 1)`, in place.

    Arguments:
        parameters: Parameters whose ``grad`` is scaled (those without one are skipped), or one Parameter.
        max_norm: the largest norm the gradients may keep.
        total_norm: their norm, from :func:`get_total_norm`.
    """
    params = [p for p in _as_list(parameters) if p.grad is not None]
    if not params:
        return
    clip_coef = jnp.minimum(_number(max_norm) / (unwrap(total_norm) + 1e-6), 1.0)
    for p in params:
        grad = p.grad
        grad._write(grad.jax() * clip_coef, "clip_grads_with_norm_")  # in place, cast to the grad's dtype


def clip_grad_norm_(parameters: _ArrayOrArrays, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    r"""Scale the gradients so that their total norm is at most ``max_norm``; return the norm before.

    :func:`get_total_norm` of the gradients followed by :func:`clip_grads_with_norm_`.

    Arguments:
        parameters: Parameters (those without ``grad`` are skipped), or one Parameter.
        max_norm: the largest total norm the gradients may keep.
        norm_type: the order of the norm (``float('inf')`` or ``'inf'`` for the largest magnitude).
        error_if_nonfinite: raise a RuntimeError if the total norm is nan or infinite, instead of
            scaling the gradients by it.

    Returns the total norm of the gradients (a 0-d Tensor; 0.0 when none has a gradient).
    """
    if isinstance(parameters, types.GeneratorType):
        parameters = list(parameters)
        if not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2)
    parameters = _as_list(parameters)
    total_norm = get_total_norm([p.grad.jax() for p in parameters if p.grad is not None], norm_type, error_if_nonfinite,
                                foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters: _ArrayOrArrays, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`clip_grad_norm_` (with torch's FutureWarning)."""
    warnings.warn("`torchjax.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torchjax.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: _ArrayOrArrays, clip_value: float, foreach: bool | None = None) -> None:
    r"""Clamp every gradient elementwise to :math:`[-\text{clip\_value}, \text{clip\_value}]`, in place.

    Arguments:
        parameters: Parameters (those without ``grad`` are skipped), or one Parameter.
        clip_value: the largest magnitude a gradient entry may keep.
    """
    clip_value = _number(clip_value)
    for p in _as_list(parameters):
        grad = p.grad
        if grad is not None:
            grad._write(jnp.clip(grad.jax(), -clip_value, clip_value), "clip_grad_value_")

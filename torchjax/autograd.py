"""``torchjax.backward``: torch's ``loss = fn(...); loss.backward()`` in one call, plus the
grad-mode context managers kept for porting.

JAX has no tape: gradients come from differentiating a function. ``backward(fn, *args)`` runs
``fn(*args)`` to a scalar loss, differentiates it with respect to the trainable parameters of
every Module (and every Parameter) found in the arguments, and accumulates into
``Parameter.grad`` exactly as ``loss.backward()`` does (None -> set, else add). It works eagerly
and inside ``torchjax.compile``, where it becomes part of the one compiled program.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import jax
from jax.custom_derivatives import SymbolicZero

from . import _state
from ._tensor import Tensor, _new, unwrap, wrap

__all__ = ["backward", "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled", "inference_mode"]

_grad_mode = threading.local()


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``: ``backward`` then refuses to run, as torch's would fail."""
    return getattr(_grad_mode, "enabled", True)


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager / decorator setting grad mode.

    Here grad mode has one effect: ``torchjax.backward`` raises inside a disabled region (torch
    would raise because the loss has no ``grad_fn``). Forward computations are unaffected: JAX
    records nothing while they run, so ``no_grad`` costs and saves nothing.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = is_grad_enabled()
        _grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _grad_mode.enabled = self.prev

    def clone(self) -> set_grad_enabled:
        return self.__class__(self.mode)


class _GradMode(contextlib.ContextDecorator):
    mode = True

    def __init__(self) -> None:
        self.prev = True

    def __enter__(self) -> None:
        self.prev = is_grad_enabled()
        _grad_mode.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        _grad_mode.enabled = self.prev

    def __call__(self, func: Callable) -> Callable:
        if isinstance(func, type):
            raise TypeError("no_grad/enable_grad decorate functions, not classes")
        return super().__call__(func)


class no_grad(_GradMode):
    """Disable grad mode (see :class:`set_grad_enabled`); usable as ``@no_grad()`` or ``with no_grad():``."""

    mode = False


class enable_grad(_GradMode):
    """Enable grad mode inside a ``no_grad`` region."""

    mode = True


class inference_mode(_GradMode):
    """Like ``no_grad`` (JAX has no inference-only tensors to create); ``is_inference_mode_enabled()`` reports it."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__()
        self.mode = not mode
        self.inference = bool(mode)

    def __enter__(self) -> None:
        super().__enter__()
        self.prev_inference = is_inference_mode_enabled()
        _grad_mode.inference = self.inference

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        _grad_mode.inference = self.prev_inference


def is_inference_mode_enabled() -> bool:
    """``torch.is_inference_mode_enabled``: True inside ``inference_mode()`` (and not in an inner
    ``inference_mode(False)``)."""
    return getattr(_grad_mode, "inference", False)


def backward(fn: Callable, *args: Any, has_aux: bool = False, **kwargs: Any):
    """Run ``fn(*args, **kwargs)`` to a scalar loss and accumulate gradients into ``.grad``.

    Arguments:
        fn: returns a scalar loss (or ``(loss, aux)`` with ``has_aux``).
        args, kwargs: passed to ``fn``; every Module and Parameter among them (nested in
            tuples, lists and dicts too) contributes its trainable parameters.
        has_aux: whether ``fn`` returns ``(loss, aux)``.

    Returns the loss (``(loss, aux)`` with ``has_aux``). Tied parameters get one gradient (the
    sum over their uses); frozen ones (``requires_grad=False``) get none; buffers the forward
    changed are written back; backward hooks of the modules fire.
    """
    if not is_grad_enabled():
        raise RuntimeError(
            "torchjax.backward called with grad mode disabled (inside no_grad()): no gradient can be "
            "computed there; call it outside the no_grad region"
        )
    layout = _state.collect((args, kwargs))
    trainable = [p for p in layout.params if p.requires_grad]
    used = [False] * len(trainable)

    def pure(values):
        with layout.installed(), _state.guarding_buffers(layout, "torchjax.backward"):
            for i, (p, value) in enumerate(zip(trainable, values, strict=True)):
                p._data = _usage_marker(used, i)(value)
            out = fn(*args, **kwargs)
            loss, aux = out if has_aux else (out, None)
            loss = unwrap(loss)
            if not (hasattr(loss, "shape") and loss.shape == ()):
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (got shape {getattr(loss, 'shape', None)})"
                )
            new_state = ([unwrap(d[k]) for d, k in layout.buffers], [g._key for g in layout.generators])
        return loss, (aux, new_state)

    (loss, (aux, (buffers, keys))), grads = jax.value_and_grad(pure, has_aux=True)([p._data for p in trainable])
    for (d, k), value in zip(layout.buffers, buffers, strict=True):
        d[k]._rebind(value)
    for g, value in zip(layout.generators, keys, strict=True):
        g._key = value
    for p, g, is_used in zip(trainable, grads, used, strict=True):
        if is_used:  # as in torch, a parameter the loss does not depend on keeps its grad (None)
            p.grad = _new(Tensor, g) if p.grad is None else _new(Tensor, unwrap(p.grad) + g)
    loss = _new(Tensor, loss)
    return (loss, wrap(aux)) if has_aux else loss


def _usage_marker(used: list[bool], index: int) -> Callable:
    """Identity whose backward records whether any gradient reached the value (a non-zero
    cotangent), so parameters outside the loss's graph keep ``grad=None`` as torch leaves them."""

    @jax.custom_vjp
    def mark(x):
        return x

    def fwd(x):
        return x.value, None

    def bwd(_, cotangent):
        if not isinstance(cotangent, SymbolicZero):
            used[index] = True
        return (cotangent,)

    mark.defvjp(fwd, bwd, symbolic_zeros=True)
    return mark


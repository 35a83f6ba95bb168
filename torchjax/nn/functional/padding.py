"""``F.pad``: constant, reflect, replicate and circular padding (torch's ``pad`` op and its kernels).

``pad`` lists ``(left, right)`` pairs from the last dimension backwards. Constant padding pads any
number of trailing dims (a negative width crops); the other modes pad the last 1, 2 or 3 dims of a
batched or unbatched input, exactly where torch has kernels. Every mode is one jitted
``lax.pad``/``jnp.pad`` plus slicing with the widths static, so eagerly a call is one dispatch, and
gradients (reflected and replicated borders accumulate into the elements they copy) come from
autodiff.

Negative widths in the non-constant modes follow torch's kernels: reflect and replicate index the
input as if padded by the positive widths and then cropped; circular crops first and wraps the
cropped input.
"""

from __future__ import annotations

import math
import operator
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..parameter import _unwrap

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")
_JNP_MODES = {"reflect": "reflect", "replicate": "edge"}
# Argument number of each padded dim's widths in torch's messages (W, H, D).
_ARG_NUMBERS = (4, 6, 8)


def _type_name(value) -> str:
    t = type(value)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__.split('.')[0]}.{t.__name__}"


def _parse_pad(pad) -> tuple[int, ...]:
    """torch's ``int[]`` argument: a tuple or list (``torch.Size`` included) of ints."""
    if not isinstance(pad, tuple | list):
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, not {_type_name(pad)}")
    widths = []
    for i, w in enumerate(pad):
        integral = isinstance(w, int | np.integer) or (
            isinstance(w, jax.Array | np.ndarray) and w.ndim == 0 and jnp.issubdtype(w.dtype, jnp.integer)
        )
        if not integral or isinstance(w, bool | np.bool_):
            raise TypeError(
                f"pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type "
                f"{_type_name(w)} at pos {i}"
            )
        widths.append(operator.index(w))
    return tuple(widths)


def _parse_value(value):
    """torch's ``float?`` argument: None, a real number, or a 0-d real array (kept when traced)."""
    if value is None or isinstance(value, jax.core.Tracer):
        return value
    if isinstance(value, int | float | np.integer | np.floating | np.bool_):
        return float(value)
    if isinstance(value, jax.Array | np.ndarray) and value.ndim == 0 and not jnp.iscomplexobj(value):
        return float(value)
    raise TypeError(f"pad(): argument 'value' (position 4) must be float, not {_type_name(value)}")


def _fill(value, dtype) -> jax.Array | np.ndarray:
    """The constant as a scalar of ``dtype``; torch refuses a finite value the dtype cannot hold."""
    if isinstance(value, jax.core.Tracer):  # a constant, as torch's float: no gradient flows to it
        return lax.stop_gradient(jnp.asarray(value).astype(dtype))
    dtype = np.dtype(dtype)
    if dtype != np.bool_:
        if jnp.issubdtype(dtype, jnp.integer):
            info = jnp.iinfo(dtype)
            overflows = not math.isfinite(value) or value < info.min or value > info.max
        elif jnp.issubdtype(dtype, jnp.floating):
            info = jnp.finfo(dtype)
            overflows = math.isfinite(value) and (value < float(info.min) or value > float(info.max))
        else:
            overflows = False
        if overflows:
            raise RuntimeError(f"value cannot be converted to type {dtype} without overflow")
    return np.asarray(value).astype(dtype)


def _constant_widths(shape, pad) -> tuple[tuple[int, int], ...]:
    """torch's ``constant_pad_nd`` checks: it narrows by the negative widths (outermost padded dim
    first, left before right), so cropping more than the dim holds is narrow's error."""
    n = len(pad) // 2
    widths = [(0, 0)] * (len(shape) - n)
    for i, size in enumerate(shape[len(shape) - n:]):
        lo, hi = pad[2 * (n - 1 - i)], pad[2 * (n - 1 - i) + 1]
        for w in (lo, hi):
            if w < 0:
                size += w
                if size < 0:
                    raise RuntimeError("narrow(): length must be non-negative.")
        widths.append((lo, hi))
    return tuple(widths)


def _check_nonempty(x, n: int) -> None:
    """torch's ``check_valid_input``: only the batch dimension may be empty."""
    dims = x.shape[1:] if x.ndim == n + 2 else x.shape
    if 0 in dims:
        raise RuntimeError(
            f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with possibly 0 batch size and other non-zero "
            f"dimensions for input, but got: {list(x.shape)}"
        )


def _check_output(x, pairs, mode: str) -> None:
    """reflection/replication_pad{n}d: some padded output dim must be positive, none negative."""
    n = len(pairs)
    sizes = x.shape[-n:][::-1]  # W, H, D
    outs = [s + lo + hi for s, (lo, hi) in zip(sizes, pairs, strict=True)]
    if all(o < 1 for o in outs):
        w, h, d = (*sizes, None, None)[:3]
        ow, oh, od = (*outs, None, None)[:3]
        given = {1: f"W: {w}", 2: f"H: {h}, W: {w}" + (" " if mode == "replicate" else ""),
                 3: f"D: {d} H: {h}, W: {w}"}[n]
        calculated = {1: f"W: {ow}", 2: f"H: {oh} W: {ow}", 3: f"D: {od} H: {oh} W: {ow}"}[n]
        raise RuntimeError(f"input ({given}) is too small. Calculated output {calculated}")
    if any(o < 0 for o in outs):
        shape = list(x.shape[:-n]) + outs[::-1]
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(outs)}: {shape}")


def _check_reflect(x, pairs) -> None:
    for i, (lo, hi) in enumerate(pairs):
        axis = x.ndim - 1 - i
        size = x.shape[axis]
        if lo >= size or hi >= size:
            raise RuntimeError(
                f"Argument #{_ARG_NUMBERS[i]}: Padding size should be less than the corresponding input dimension, "
                f"but got: padding ({lo}, {hi}) at dimension {axis} of input {list(x.shape)}"
            )


def _check_circular(x, pairs) -> None:
    n = len(pairs)
    for i in reversed(range(n)):  # outermost padded dim first, as torch checks
        lo, hi = pairs[i]
        size = x.shape[x.ndim - 1 - i]
        if lo > size or hi > size:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if size + lo + hi < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
    for i, (lo, hi) in enumerate(pairs):
        # torch copies the wrapped borders out of the cropped input; a border longer than that
        # overlaps its own destination (torch's kernel refuses it or reads uninitialised memory).
        cropped = x.shape[x.ndim - 1 - i] + min(lo, 0) + min(hi, 0)
        if lo > cropped or hi > cropped:
            raise RuntimeError(
                "Padding value causes wrapping around more than once (around the input cropped by the negative "
                "padding)."
            )


def _crop(x, widths):
    """Drop ``-w`` elements at each negative width."""
    if all(lo >= 0 and hi >= 0 for lo, hi in widths):
        return x
    start = [max(-lo, 0) for lo, _ in widths]
    limit = [size - max(-hi, 0) for size, (_, hi) in zip(x.shape, widths, strict=True)]
    return lax.slice(x, start, limit)


@partial(jax.jit, static_argnames=("widths", "mode"))
def _pad_kernel(x, fill, *, widths, mode):
    if mode == "constant":  # lax.pad crops at negative widths
        return lax.pad(x, fill, [(lo, hi, 0) for lo, hi in widths])
    grow = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode == "circular":
        return jnp.pad(_crop(x, widths), grow, mode="wrap")
    return _crop(jnp.pad(x, grow, mode=_JNP_MODES[mode]), widths)


def pad(input, pad, mode: str = "constant", value: float | None = None) -> jax.Array:
    r"""Pad the trailing dimensions of ``input`` (torch's ``F.pad``).

    Arguments:
        input: an array of any rank (non-constant modes: see ``mode``).
        pad: ``(left, right)`` widths for the last dimension, then for the one before it, and so on
            (an even-length tuple or list of ints, at most twice ``input.ndim`` long). In
            ``'constant'`` mode a negative width crops; in the others it crops too, as torch's
            kernels do.
        mode: ``'constant'`` (fill with ``value``, any number of dims), ``'reflect'`` (mirror
            without repeating the edge; widths below the dim's size), ``'replicate'`` (repeat the
            edge) or ``'circular'`` (wrap around; widths at most the dim's size). The last three
            pad the last 1, 2 or 3 dims of an input with 1 or 2 more dims (unbatched or batched).
        value: the fill of ``'constant'`` padding (default 0); the other modes refuse a non-zero one.

    Output: ``input`` with dim ``-k`` of size ``size + pad[2k-2] + pad[2k-1]``, same dtype.
    """
    x = _unwrap(input)
    if isinstance(x, np.ndarray):
        x = jnp.asarray(x)
    if not isinstance(x, jax.Array):
        raise TypeError(f"pad(): argument 'input' (position 1) must be Tensor, not {_type_name(input)}")
    pad = _parse_pad(pad)
    if not isinstance(mode, str):
        raise TypeError(f"pad(): argument 'mode' (position 3) must be str, not {_type_name(mode)}")
    value = _parse_value(value)
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * x.ndim:
        raise RuntimeError(
            f"Padding length should be less than or equal to two times the input dimension but got padding length "
            f"{len(pad)} and input of dimension {x.ndim}"
        )
    if mode == "constant":
        widths = _constant_widths(x.shape, pad)
        if all(lo <= 0 and hi <= 0 for lo, hi in widths):  # a pure crop never reads the value
            fill = np.zeros((), x.dtype)
        else:
            fill = _fill(0.0 if value is None else value, x.dtype)
        return _pad_kernel(x, fill, widths=widths, mode=mode)
    if value is not None and (isinstance(value, jax.core.Tracer) or value != 0):
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    n = len(pad) // 2
    if n not in (1, 2, 3) or x.ndim not in (n + 1, n + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {x.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    pairs = tuple((pad[2 * i], pad[2 * i + 1]) for i in range(n))  # W first
    if mode == "circular":
        _check_circular(x, pairs)
    else:
        _check_nonempty(x, n)
        if mode == "reflect":
            _check_reflect(x, pairs)
        _check_output(x, pairs, mode)
        if x.dtype == jnp.bool_:
            kernel = "reflection" if mode == "reflect" else "replication"
            raise NotImplementedError(f"\"{kernel}_pad{n}d\" not implemented for 'Bool'")
    widths = ((0, 0),) * (x.ndim - n) + pairs[::-1]
    return _pad_kernel(x, None, widths=widths, mode=mode)

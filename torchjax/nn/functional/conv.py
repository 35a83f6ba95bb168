"""Convolutions: ``F.conv1d/2d/3d``, ``F.conv_transpose1d/2d/3d`` and ``F.conv_tbc``.

One N-d implementation of each, lowered to ``lax.conv_general_dilated`` in torch's channels-first
layouts (``(N, C, *spatial)`` input, ``(out, in/groups, *kernel)`` weight). A transposed
convolution is the gradient of a convolution with respect to its input: a stride-1 convolution of
the input dilated by ``stride`` (``lhs_dilation``) with the spatially flipped kernel whose in/out
channels are swapped within each group. XLA (and cuDNN) recognise that form as a backward-data
convolution.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from ..._device import cpp_type_name, legacy_type_name, scalar_type_name
from ..parameter import _unwrap
from ._utils import check_spatial_input, expand

__all__ = ["conv1d", "conv2d", "conv3d", "conv_tbc", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]

def _dimension_numbers(n: int) -> lax.ConvDimensionNumbers:
    spec = tuple(range(n + 2))  # N, C, *spatial for the input and output; O, I, *kernel for the weight
    return lax.ConvDimensionNumbers(spec, spec, spec)


def _sizes(values) -> str:
    return " x ".join(map(str, values))


def _check_operands(x, w, b, n: int, fn: str, groups: int, transposed: bool) -> bool:
    """torch's checks of input, weight and bias shapes and dtypes; returns whether ``x`` is batched."""
    batched = check_spatial_input(x, n, fn)
    if w.ndim != n + 2:
        raise RuntimeError(f"{fn}(): expected a {n + 2}-dimensional weight, but got weight of size {list(w.shape)}")
    if not isinstance(groups, int) or groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if w.shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight "
            f"of size {list(w.shape)} instead"
        )
    channels = x.shape[1 if batched else 0]
    expected = w.shape[0] if transposed else w.shape[1] * groups
    if channels != expected:
        given = "transposed=1" if transposed else f"groups={groups}"
        raise RuntimeError(
            f"Given {given}, weight of size {list(w.shape)}, expected input{list(x.shape)} to have {expected} "
            f"channels, but got {channels} channels instead"
        )
    out_channels = w.shape[1] * groups if transposed else w.shape[0]
    if b is not None and (b.ndim != 1 or b.shape[0] != out_channels):
        raise RuntimeError(
            f"Given {'transposed=1, ' if transposed else ''}weight of size {list(w.shape)}, expected bias to be "
            f"1-dimensional with {out_channels} elements, but got bias of size {list(b.shape)} instead"
        )
    if x.dtype != w.dtype:  # torch's words depend on which side is float32
        if x.dtype == jnp.float32:
            raise RuntimeError(f"expected scalar type Float but found {scalar_type_name(w.dtype)}")
        raise RuntimeError(f"Input type ({legacy_type_name(x.dtype)}) and weight type ({legacy_type_name(w.dtype)}) "
                           "should be the same")
    if b is not None and b.dtype != x.dtype:
        raise RuntimeError(f"Input type ({cpp_type_name(x.dtype)}) and bias type ({cpp_type_name(b.dtype)}) should be "
                           "the same")
    return batched


def _check_geometry(stride, padding, dilation) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")


# The array math of each function is one jitted kernel over validated operands, with the geometry
# static: called eagerly that is one dispatch per call (and one per gradient) instead of one per
# primitive; inside an outer jit or transform it is simply inlined.
@partial(jax.jit, static_argnames=("stride", "padding", "dilation", "groups", "batched", "lhs_dilation"))
def _convolve(x, w, b, *, stride, padding, dilation, groups, batched, lhs_dilation=None):
    n = w.ndim - 2
    y = lax.conv_general_dilated(
        x if batched else x[None], w, stride, padding, lhs_dilation=lhs_dilation, rhs_dilation=dilation,
        dimension_numbers=_dimension_numbers(n), feature_group_count=groups,
    )
    y = y if b is None else y + b.reshape((-1,) + (1,) * n)
    return y if batched else y[0]


@partial(jax.jit, static_argnames=("stride", "padding", "output_padding", "dilation", "groups", "batched"))
def _convolve_transpose(x, w, b, *, stride, padding, output_padding, dilation, groups, batched):
    in_channels, out_per_group, *kernel = w.shape
    n = len(kernel)
    # (in, out/g, *k) -> (out, in/g, *k) within each group, flipped in space.
    w = w.reshape(groups, in_channels // groups, out_per_group, *kernel).swapaxes(1, 2)
    w = jnp.flip(w.reshape(groups * out_per_group, in_channels // groups, *kernel), axis=tuple(range(2, n + 2)))
    # Negative padding crops: torch's `padding` removes that much from both ends of the full output.
    pads = [(d * (k - 1) - p, d * (k - 1) - p + op)
            for k, p, d, op in zip(kernel, padding, dilation, output_padding, strict=True)]
    return _convolve(x, w, b, stride=(1,) * n, padding=tuple(pads), dilation=dilation, groups=groups,
                     batched=batched, lhs_dilation=stride)


def _conv(input, weight, bias, stride, padding, dilation, groups, n: int) -> jax.Array:
    fn = f"conv{n}d"
    x, w, b = _unwrap(input), _unwrap(weight), _unwrap(bias)
    batched = _check_operands(x, w, b, n, fn, groups, transposed=False)
    stride, dilation = expand(stride, n, "stride", fn), expand(dilation, n, "dilation", fn)
    kernel = w.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            # torch pads d*(k-1) in total, the odd element on the right.
            totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
            pads = tuple((total // 2, total - total // 2) for total in totals)
        else:
            raise RuntimeError(f"Invalid padding string: {padding!r}")
    else:
        pads = tuple((p, p) for p in expand(padding, n, "padding", fn))
    _check_geometry(stride, [lo for lo, _ in pads], dilation)
    padded = [size + lo + hi for size, (lo, hi) in zip(x.shape[-n:], pads, strict=True)]
    effective = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    if any(p < e for p, e in zip(padded, effective, strict=True)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({_sizes(padded)}). Kernel size: ({_sizes(effective)}). "
            f"Kernel size can't be greater than actual input size"
        )
    return _convolve(x, w, b, stride=stride, padding=pads, dilation=dilation, groups=groups, batched=batched)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, n: int) -> jax.Array:
    fn = f"conv_transpose{n}d"
    if isinstance(padding, str):
        raise TypeError(f"{fn}(): argument 'padding' must be tuple of ints, not str")
    x, w, b = _unwrap(input), _unwrap(weight), _unwrap(bias)
    batched = _check_operands(x, w, b, n, fn, groups, transposed=True)
    stride, padding = expand(stride, n, "stride", fn), expand(padding, n, "padding", fn)
    output_padding, dilation = expand(output_padding, n, "output_padding", fn), expand(dilation, n, "dilation", fn)
    _check_geometry(stride, padding, dilation)
    if any(op < 0 for op in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation, strict=True)):
        raise RuntimeError(
            f"output padding must be smaller than either stride or dilation, but got "
            f"output_padding={list(output_padding)}, stride={list(stride)}, dilation={list(dilation)}"
        )
    kernel = w.shape[2:]
    spatial = x.shape[-n:]
    out = [(i - 1) * s - 2 * p + d * (k - 1) + op + 1
           for i, s, p, d, k, op in zip(spatial, stride, padding, dilation, kernel, output_padding, strict=True)]
    if any(o <= 0 for o in out):
        raise RuntimeError(
            f"Given input size per channel: ({_sizes(spatial)}). Calculated output size per channel: "
            f"({_sizes(out)}). Output size is too small"
        )
    return _convolve_transpose(x, w, b, stride=stride, padding=padding, output_padding=output_padding,
                               dilation=dilation, groups=groups, batched=batched)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> jax.Array:
    r"""1-D convolution (cross-correlation) over ``(N, C_in, L)`` or ``(C_in, L)``.

    Arguments:
        input: ``(N, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_out, C_in / groups, kL)``.
        bias: ``(C_out,)`` or None.
        stride, dilation: an int or a 1-sequence.
        padding: an int, a 1-sequence, ``'valid'`` (none) or ``'same'`` (output as long as the input;
            stride 1 only, the odd element of the total padding on the right).
        groups: split the channels into this many independent convolutions.

    Output: ``(N, C_out, L_out)`` with
    :math:`L_{out} = \lfloor (L + 2p - d (kL - 1) - 1) / s \rfloor + 1`.
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> jax.Array:
    """2-D convolution over ``(N, C_in, H, W)`` or ``(C_in, H, W)``; weight ``(C_out, C_in/groups, kH, kW)``.

    Arguments as :func:`conv1d`, with ints or 2-sequences.
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> jax.Array:
    """3-D convolution over ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``; weight ``(C_out, C_in/groups, kD, kH, kW)``.

    Arguments as :func:`conv1d`, with ints or 3-sequences.
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> jax.Array:
    r"""1-D transposed convolution (the gradient of :func:`conv1d` w.r.t. its input).

    Arguments:
        input: ``(N, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_in, C_out / groups, kL)``.
        bias: ``(C_out,)`` or None.
        stride, padding, dilation: those of the convolution this transposes; ``padding`` removes
            that many elements from both ends of the full output.
        output_padding: extra size added on one side of the output (smaller than stride or dilation).
        groups: independent channel groups.

    Output: ``(N, C_out, L_out)`` with
    :math:`L_{out} = (L - 1) s - 2p + d (kL - 1) + \text{output\_padding} + 1`.
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> jax.Array:
    """2-D transposed convolution; weight ``(C_in, C_out/groups, kH, kW)``. Arguments as :func:`conv_transpose1d`."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> jax.Array:
    """3-D transposed convolution; weight ``(C_in, C_out/groups, kD, kH, kW)``.

    Arguments as :func:`conv_transpose1d`.
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3)


def _conv_tbc_int(value, name: str, position: int) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"conv_tbc(): argument '{name}' (position {position}) must be int, not {type(value).__name__}")
    return value.__index__()


def conv_tbc(input, weight, bias, pad=0) -> jax.Array:
    r"""1-D convolution (cross-correlation) of a time-major sequence, torch's ``conv_tbc``.

    Arguments:
        input: ``(T, B, C_in)`` (time, batch, channels).
        weight: ``(kW, C_in, C_out)``.
        bias: ``(C_out,)`` (required; cast to the input's dtype).
        pad: time steps of zero padding on both ends; a negative ``pad`` crops that many instead.

    Output: ``(T + 2 pad - kW + 1, B, C_out)`` with
    ``out[t] = bias + sum_k input[t + k - pad] @ weight[k]``. Computed as :func:`conv1d` on the
    ``(B, C_in, T)`` view.
    """
    if bias is None:
        raise TypeError("conv_tbc(): argument 'bias' (position 3) must be Tensor, not NoneType")
    pad = _conv_tbc_int(pad, "pad", 4)
    x, w, b = jnp.asarray(_unwrap(input)), jnp.asarray(_unwrap(weight)), jnp.asarray(_unwrap(bias))
    if x.ndim != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if w.ndim != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, out_channels.")
    if b.ndim != 1:
        raise RuntimeError("Bias must be 1-D")
    if x.shape[2] != w.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if w.shape[2] != b.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    length, batch, _ = x.shape
    kernel, _, out_channels = w.shape
    out_length = length - kernel + 1 + 2 * pad
    if out_length < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {out_length}: "
                           f"[{out_length}, {batch}, {out_channels}]")
    b = b.astype(x.dtype)  # torch copies the bias into an output of the input's dtype
    if out_length == 0 or kernel == 0:
        return jnp.broadcast_to(b, (out_length, batch, out_channels))
    if x.dtype != w.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {scalar_type_name(x.dtype)} "
                           f"and {scalar_type_name(w.dtype)}")
    x = x.transpose(1, 2, 0)  # (B, C_in, T)
    if pad < 0:
        x = x[..., -pad:length + pad]
    y = conv1d(x, w.transpose(2, 1, 0), b, padding=max(pad, 0))
    return y.transpose(2, 0, 1)

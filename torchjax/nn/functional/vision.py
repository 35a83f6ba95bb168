"""Rearranging layers: ``F.pixel_shuffle``, ``F.pixel_unshuffle``, ``F.channel_shuffle`` (and
``F.native_channel_shuffle``), and ``F.unfold`` / ``F.fold`` (torch's ``im2col`` / ``col2im``).

The shuffles are one reshape, one transpose and one reshape each, so any dtype works and the
gradient is the inverse rearrangement.

``unfold`` takes one strided slice of the padded input per kernel position (``kh * kw`` of them,
set by the kernel, never by the input size) and stacks them; ``fold`` is its exact transpose: each
kernel position's block is put back with ``lax.pad`` (interior padding ``stride - 1`` spreads it
over the output) and the blocks are summed in torch's order (kernel row, then column), then the
padding is cropped. Both are exact copies / sums for every dtype (no one-hot convolution, so an
``inf`` stays where it is and no TF32 rounding happens on a GPU), and the backward passes are the
same slices and pads, with no scatter (deterministic on GPUs). Non-overlapping patches
(``stride == kernel_size``, ``dilation == 1``, the patch-embedding case) are a single reshape.

Argument checks follow torch's C++ ones, in torch's order and with its exception types; each
computation is then one jitted function with the configuration static, so an eager call is one
dispatch of a cached program.
"""

from __future__ import annotations

import operator
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from ..._device import scalar_type_name
from ..parameter import _unwrap
from ._utils import _pair

__all__ = ["channel_shuffle", "fold", "native_channel_shuffle", "pixel_shuffle", "pixel_unshuffle", "unfold"]



def _array(value) -> jax.Array:
    return jnp.asarray(_unwrap(value))


def _int_arg(value, fn: str, name: str, position: int) -> int:
    """An int argument as torch's argument parser takes it (an int or integer scalar, never a bool)."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be int, not {type(value).__name__}")


def _int_list(value, fn: str, name: str, position: int) -> tuple:
    """``_pair(value)`` as torch passes it to ``im2col`` / ``col2im``: a tuple of ints (any length)."""
    values = _pair(value)
    for i, v in enumerate(values):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be tuple of ints, but found "
                            f"element of type {type(v).__name__} at pos {i}")
    return tuple(operator.index(v) for v in values)


def _size(x: jax.Array, dim: int) -> int:
    """``x.size(dim)`` with torch's IndexError for a dim that does not exist."""
    if x.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-x.ndim}, {x.ndim - 1}], but got "
                         f"{dim})")
    return x.shape[dim]


# --- pixel and channel shuffles -----------------------------------------------------------------
def pixel_shuffle(input, upscale_factor: int) -> jax.Array:
    r"""Rearrange ``(*, C r^2, H, W)`` into ``(*, C, H r, W r)`` (``r = upscale_factor``): the
    sub-pixel convolution of Shi et al. (2016). Any number of leading batch dims, any dtype."""
    x = _array(input)
    r = _int_arg(upscale_factor, "pixel_shuffle", "upscale_factor", 2)
    if x.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with {x.ndim} "
                           f"dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *batch, c, h, w = x.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    return _pixel_shuffle(x, r)


@partial(jax.jit, static_argnums=1)
def _pixel_shuffle(x: jax.Array, r: int) -> jax.Array:
    *batch, c, h, w = x.shape
    b = len(batch)
    y = x.reshape(*batch, c // (r * r), r, r, h, w)
    y = y.transpose(*range(b), b, b + 3, b + 1, b + 4, b + 2)  # (*, C, H, r, W, r)
    return y.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor: int) -> jax.Array:
    r"""Reverse :func:`pixel_shuffle`: ``(*, C, H r, W r)`` into ``(*, C r^2, H, W)``."""
    x = _array(input)
    r = _int_arg(downscale_factor, "pixel_unshuffle", "downscale_factor", 2)
    if x.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{x.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *batch, c, h, w = x.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but "
                           f"input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but "
                           f"input.size(-1)={w} is not divisible by {r}")
    return _pixel_unshuffle(x, r)


@partial(jax.jit, static_argnums=1)
def _pixel_unshuffle(x: jax.Array, r: int) -> jax.Array:
    *batch, c, h, w = x.shape
    b = len(batch)
    y = x.reshape(*batch, c, h // r, r, w // r, r)
    y = y.transpose(*range(b), b, b + 2, b + 4, b + 1, b + 3)  # (*, C, r, r, H, W)
    return y.reshape(*batch, c * r * r, h // r, w // r)


def _channel_shuffle(input, groups: int, fn: str) -> jax.Array:
    x = _array(input)
    g = _int_arg(groups, fn, "groups", 2)
    if x.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(x.shape)}")
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{g}")
    n, c, *rest = x.shape
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {g} groups.")
    return _shuffle_channels(x, g)


@partial(jax.jit, static_argnums=1)
def _shuffle_channels(x: jax.Array, g: int) -> jax.Array:
    n, c, *rest = x.shape
    return x.reshape(n, g, c // g, *rest).swapaxes(1, 2).reshape(x.shape)


def channel_shuffle(input, groups: int) -> jax.Array:
    r"""Split the ``C`` channels of ``(N, C, *)`` into ``groups`` groups and interleave them:
    ``(N, g, C/g, *)`` transposed to ``(N, C/g, g, *)``, then flattened back to ``(N, C, *)``."""
    return _channel_shuffle(input, groups, "channel_shuffle")


def native_channel_shuffle(input, groups: int) -> jax.Array:
    """torch's "native kernel" form of :func:`channel_shuffle`: the same result and checks."""
    return _channel_shuffle(input, groups, "native_channel_shuffle")


# --- unfold (im2col) and fold (col2im) ----------------------------------------------------------
def _check_lengths(**args) -> None:
    for name, value in args.items():
        if len(value) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(value)}")


def _check_window(kernel, dilation, padding, stride, order: str) -> None:
    """torch's positivity checks; ``im2col`` and ``col2im`` run them in different orders."""
    checks = {
        "k": (kernel[0] > 0 and kernel[1] > 0,
              f"kernel size should be greater than zero, but got kernel_height: {kernel[0]} kernel_width: "
              f"{kernel[1]}"),
        "d": (dilation[0] > 0 and dilation[1] > 0,
              f"dilation should be greater than zero, but got dilation_height: {dilation[0]} dilation_width: "
              f"{dilation[1]}"),
        "p": (padding[0] >= 0 and padding[1] >= 0,
              f"padding should be non-negative, but got pad_height: {padding[0]} pad_width: {padding[1]}"),
        "s": (stride[0] > 0 and stride[1] > 0,
              f"stride should be greater than zero, but got stride_height: {stride[0]} stride_width: {stride[1]}"),
    }
    for key in order:
        ok, message = checks[key]
        if not ok:
            raise RuntimeError(message)


def _check_dtype(x: jax.Array, fn: str) -> None:
    if jnp.issubdtype(x.dtype, jnp.integer):
        raise NotImplementedError(f'"{fn}" not implemented for \'{scalar_type_name(x.dtype)}\'')


def _blocks(size: int, kernel: int, dilation: int, padding: int, stride: int) -> int:
    """Sliding blocks along one dim (floor division, as torch's ``div_rtn``)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _is_tiling(kernel, dilation, stride) -> bool:
    return dilation == (1, 1) and stride == kernel


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> jax.Array:
    r"""Extract sliding local blocks (``im2col``): ``(N, C, H, W)`` -> ``(N, C \prod k, L)``, or
    unbatched ``(C, H, W)`` -> ``(C \prod k, L)``.

    Row ``c * kh * kw + i * kw + j`` holds kernel position ``(i, j)`` of channel ``c``; column
    ``l = oh_i * ow + ow_j`` is block ``(oh_i, ow_j)``, with
    :math:`o_d = \lfloor (size_d + 2 p_d - d_d (k_d - 1) - 1) / s_d \rfloor + 1` blocks per dim.
    Each argument is an int or a pair. Floating, complex and bool inputs (integers: torch has no
    kernel, NotImplementedError).
    """
    x = _array(input)
    k = _int_list(kernel_size, "im2col", "kernel_size", 2)
    d = _int_list(dilation, "im2col", "dilation", 3)
    p = _int_list(padding, "im2col", "padding", 4)
    s = _int_list(stride, "im2col", "stride", 5)
    _check_lengths(kernel_size=k, dilation=d, padding=p, stride=s)
    _check_window(k, d, p, s, "kdps")
    valid = _size(x, 1) != 0 and _size(x, 2) != 0
    if not ((x.ndim == 3 and x.shape[0] != 0 and valid) or (x.ndim == 4 and valid and x.shape[3] != 0)):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(x.shape)}")
    h, w = x.shape[-2:]
    oh, ow = (_blocks(size, *args) for size, *args in zip((h, w), k, d, p, s, strict=True))
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size=({k[0]}, {k[1]}), dilation=({d[0]}, "
                           f"{d[1]}), padding=({p[0]}, {p[1]}), calculated shape of the array of sliding blocks as "
                           f"({oh}, {ow}), but its components must be at least one.")
    _check_dtype(x, "im2col")
    y = _unfold(x if x.ndim == 4 else x[None], k, d, p, s, (oh, ow))
    return y if x.ndim == 4 else y[0]


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _unfold(x: jax.Array, k, d, p, s, blocks) -> jax.Array:
    """``im2col`` of a checked ``(N, C, H, W)`` input; one program per configuration, also eagerly."""
    (n, c), (oh, ow) = x.shape[:2], blocks
    zero = jnp.zeros((), x.dtype)
    xp = lax.pad(x, zero, ((0, 0, 0), (0, 0, 0), (p[0], p[0], 0), (p[1], p[1], 0)))
    if _is_tiling(k, d, s):  # non-overlapping patches: crop, reshape, transpose
        y = xp[:, :, :oh * k[0], :ow * k[1]].reshape(n, c, oh, k[0], ow, k[1]).transpose(0, 1, 3, 5, 2, 4)
    else:  # one strided slice per kernel position
        y = jnp.stack([
            lax.slice(xp, (0, 0, i * d[0], j * d[1]), (n, c, i * d[0] + (oh - 1) * s[0] + 1,
                                                       j * d[1] + (ow - 1) * s[1] + 1), (1, 1, *s))
            for i in range(k[0]) for j in range(k[1])
        ], axis=2)
    return y.reshape(n, c * k[0] * k[1], oh * ow)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> jax.Array:
    r"""Combine sliding local blocks into a containing array (``col2im``), summing overlaps:
    ``(N, C \prod k, L)`` -> ``(N, C, *output_size)``, or unbatched ``(C \prod k, L)`` ->
    ``(C, *output_size)``. The transpose of :func:`unfold` with the same arguments, which must give
    exactly ``L`` blocks for ``output_size``. Bool blocks combine with "or".
    """
    x = _array(input)
    size = _int_list(output_size, "col2im", "output_size", 2)
    k = _int_list(kernel_size, "col2im", "kernel_size", 3)
    d = _int_list(dilation, "col2im", "dilation", 4)
    p = _int_list(padding, "col2im", "padding", 5)
    s = _int_list(stride, "col2im", "stride", 6)
    _check_lengths(output_size=size, kernel_size=k, dilation=d, padding=p, stride=s)
    _check_window(k, d, p, s, "ksdp")
    if not ((x.ndim == 2 and x.shape[0] != 0 and x.shape[1] != 0)
            or (x.ndim == 3 and x.shape[1] != 0 and x.shape[2] != 0)):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(x.shape)}")
    planes, length = x.shape[-2:]
    if planes % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={planes} and kernel_size=({k[0]}, {k[1]}).")
    oh, ow = (_blocks(*args) for args in zip(size, k, d, p, s, strict=True))
    described = (f"Given output_size=({size[0]}, {size[1]}), kernel_size=({k[0]}, {k[1]}), dilation=({d[0]}, "
                 f"{d[1]}), padding=({p[0]}, {p[1]}), stride=({s[0]}, {s[1]}), ")
    if length != oh * ow:
        raise RuntimeError(f"{described}expected size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {oh} * {ow} = {oh * ow}, but got input.size(2)={length}.")
    if oh < 1 or ow < 1:
        raise RuntimeError(f"{described}calculated shape of the array of sliding blocks as ({oh}, {ow}), which is "
                           f"too small (non-positive)")
    if size[0] < 1 or size[1] < 1:
        raise RuntimeError(f"Expected output spatial size to be positive, but got: output_size=({size[0]}, "
                           f"{size[1]}).")
    _check_dtype(x, "col2im")
    y = _fold(x if x.ndim == 3 else x[None], size, k, d, p, s, (oh, ow))
    return y if x.ndim == 3 else y[0]


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5, 6))
def _fold(x: jax.Array, size, k, d, p, s, blocks) -> jax.Array:
    """``col2im`` of a checked ``(N, C kh kw, L)`` input: the transpose of :func:`_unfold`."""
    n, c, (oh, ow) = x.shape[0], x.shape[1] // (k[0] * k[1]), blocks
    hp, wp = size[0] + 2 * p[0], size[1] + 2 * p[1]
    cols = x.reshape(n, c, k[0], k[1], oh, ow)
    zero = jnp.zeros((), x.dtype)
    if _is_tiling(k, d, s):  # non-overlapping patches: transpose, reshape, pad the remainder
        y = cols.transpose(0, 1, 4, 2, 5, 3).reshape(n, c, oh * k[0], ow * k[1])
        y = lax.pad(y, zero, ((0, 0, 0), (0, 0, 0), (0, hp - oh * k[0], 0), (0, wp - ow * k[1], 0)))
    else:  # each kernel position's block spread back with interior padding, summed in torch's order
        y = None
        for i in range(k[0]):
            for j in range(k[1]):
                top, left = i * d[0], j * d[1]
                block = lax.pad(cols[:, :, i, j], zero, (
                    (0, 0, 0), (0, 0, 0),
                    (top, hp - top - (oh - 1) * s[0] - 1, s[0] - 1),
                    (left, wp - left - (ow - 1) * s[1] - 1, s[1] - 1),
                ))
                y = block if y is None else (y | block if y.dtype == jnp.bool_ else y + block)
    return y[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]

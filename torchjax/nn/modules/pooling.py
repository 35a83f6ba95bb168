"""Pooling layers: max, average, power-average, adaptive and fractional max pooling and max-unpooling, 1d to 3d.

Each family has one base class holding torch's hyper-parameters and ``extra_repr``; the 1d/2d/3d
classes only pick the ``F`` function. Hyper-parameters are stored exactly as torch stores them
(as given, or as tuples where torch converts them), so ``repr`` matches torch's.
"""

from __future__ import annotations

import jax

from .. import functional as F
from ..functional._utils import _pair, _single, _triple
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "FractionalMaxPool2d", "FractionalMaxPool3d",
    "LPPool1d", "LPPool2d", "LPPool3d",
    "MaxPool1d", "MaxPool2d", "MaxPool3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
]

_INDICES_NOTE = "Indices are int32 unless ``jax_enable_x64`` is on (torch: int64)."


# --- max pooling -------------------------------------------------------------------------------
class _MaxPoolNd(Module):
    __constants__ = ["kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"]
    return_indices: bool
    ceil_mode: bool
    _pool = None  # F.max_pool1d / 2d / 3d

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: jax.Array):
        return self._pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


_MAX_POOL_DOC = r"""{n}-D max pooling over ``(N, C, {dims})`` or ``(C, {dims})``.

    Arguments:
        kernel_size: window size (an int or a {n}-tuple).
        stride: window step; default ``kernel_size``.
        padding: implicit ``-inf`` padding on both sides, at most half the kernel size.
        dilation: spacing between window elements.
        return_indices: also return each maximum's flat index in its input plane (the first
            maximum on ties), for ``MaxUnpool{n}d``.
        ceil_mode: round the output size up; a last partial window must start inside the input
            or the left padding.

    Shape: output size per dim :math:`\lfloor (L + 2p - d(k - 1) - 1) / s \rfloor + 1`
    (rounded up with ``ceil_mode``). {note}
    """


class MaxPool1d(_MaxPoolNd):
    __doc__ = _MAX_POOL_DOC.format(n=1, dims="L", note=_INDICES_NOTE)
    _pool = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    __doc__ = _MAX_POOL_DOC.format(n=2, dims="H, W", note=_INDICES_NOTE)
    _pool = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    __doc__ = _MAX_POOL_DOC.format(n=3, dims="D, H, W", note=_INDICES_NOTE)
    _pool = staticmethod(F.max_pool3d)


# --- max unpooling -----------------------------------------------------------------------------
class _MaxUnpoolNd(Module):
    _unpool = None  # F.max_unpool1d / 2d / 3d
    _tuple = None  # _single / _pair / _triple

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = self._tuple(kernel_size)
        self.stride = self._tuple(stride if stride is not None else kernel_size)
        self.padding = self._tuple(padding)

    def forward(self, input: jax.Array, indices: jax.Array, output_size: list[int] | None = None) -> jax.Array:
        return self._unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


_MAX_UNPOOL_DOC = r"""Partial inverse of ``MaxPool{n}d``: each value goes to its index, everything else is zero.

    Arguments:
        kernel_size, stride (default ``kernel_size``), padding: those of the pooling.

    ``forward(input, indices, output_size=None)``: ``indices`` as ``MaxPool{n}d(return_indices=True)``
    gave them; ``output_size`` picks among the input sizes that pool to this size (default
    :math:`(L - 1) s + k - 2p` per dim). Differs from torch: an out-of-range index raises eagerly but
    is dropped inside ``jit``.
    """


class MaxUnpool1d(_MaxUnpoolNd):
    __doc__ = _MAX_UNPOOL_DOC.format(n=1)
    _unpool = staticmethod(F.max_unpool1d)
    _tuple = staticmethod(_single)


class MaxUnpool2d(_MaxUnpoolNd):
    __doc__ = _MAX_UNPOOL_DOC.format(n=2)
    _unpool = staticmethod(F.max_unpool2d)
    _tuple = staticmethod(_pair)


class MaxUnpool3d(_MaxUnpoolNd):
    __doc__ = _MAX_UNPOOL_DOC.format(n=3)
    _unpool = staticmethod(F.max_unpool3d)
    _tuple = staticmethod(_triple)


# --- average pooling ---------------------------------------------------------------------------
class _AvgPoolNd(Module):
    __constants__ = ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"]

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    r"""1-D average pooling over ``(N, C, L)`` or ``(C, L)``.

    Arguments:
        kernel_size, stride (default ``kernel_size``), padding (zeros on both sides, at most half
            the kernel): ints or 1-tuples, stored as 1-tuples as torch does.
        ceil_mode: round the output size up (a last partial window must start inside the input or
            the left padding).
        count_include_pad: divide by the window size including the zero padding; otherwise by the
            number of input elements in the window.

    Shape: :math:`L_{out} = \lfloor (L + 2p - k) / s \rfloor + 1` (rounded up with ``ceil_mode``).
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: jax.Array) -> jax.Array:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


class _AvgPoolWithDivisor(_AvgPoolNd):
    __constants__ = ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"]
    _pool = None  # F.avg_pool2d / 3d

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: jax.Array) -> jax.Array:
        return self._pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


_AVG_POOL_DOC = r"""{n}-D average pooling over ``(N, C, {dims})`` or ``(C, {dims})``.

    Arguments as ``AvgPool1d`` (ints or {n}-tuples, stored as given), and
        divisor_override: divide every window's sum by this instead of its size.
    """


class AvgPool2d(_AvgPoolWithDivisor):
    __doc__ = _AVG_POOL_DOC.format(n=2, dims="H, W")
    _pool = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolWithDivisor):
    __doc__ = _AVG_POOL_DOC.format(n=3, dims="D, H, W")
    _pool = staticmethod(F.avg_pool3d)


# --- power-average pooling ---------------------------------------------------------------------
class _LPPoolNd(Module):
    __constants__ = ["norm_type", "kernel_size", "stride", "ceil_mode"]
    norm_type: float
    ceil_mode: bool
    _pool = None  # F.lp_pool1d / 2d / 3d

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: jax.Array) -> jax.Array:
        return self._pool(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


_LP_POOL_DOC = r"""{n}-D power-average pooling over ``(N, C, {dims})`` or ``(C, {dims})``:
    :math:`f(X) = \sqrt[p]{{\sum_{{x \in X}} x^p}}` per window (``p = inf`` is max pooling of ``|x|``).

    Arguments:
        norm_type: the power ``p``.
        kernel_size, stride (default ``kernel_size``): ints or {n}-tuples.
        ceil_mode: round the output size up.
    """


class LPPool1d(_LPPoolNd):
    __doc__ = _LP_POOL_DOC.format(n=1, dims="L")
    _pool = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    __doc__ = _LP_POOL_DOC.format(n=2, dims="H, W")
    _pool = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    __doc__ = _LP_POOL_DOC.format(n=3, dims="D, H, W")
    _pool = staticmethod(F.lp_pool3d)


# --- adaptive pooling --------------------------------------------------------------------------
class _AdaptiveMaxPoolNd(Module):
    __constants__ = ["output_size", "return_indices"]
    return_indices: bool
    _pool = None  # F.adaptive_max_pool1d / 2d / 3d

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: jax.Array):
        return self._pool(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


_ADAPTIVE_DOC = r"""{n}-D adaptive {kind} pooling of ``(N, C, {dims})`` or ``(C, {dims})`` to ``output_size``.

    Output ``i`` along a dim of size ``L`` covers
    :math:`[\lfloor i L / L_{{out}} \rfloor, \lceil (i + 1) L / L_{{out}} \rceil)`.

    Arguments:
        output_size: an int or {n}-tuple{none}.{indices}
    """
_RETURN_INDICES = ("\n        return_indices: also return each maximum's flat index in its input plane. "
                   + _INDICES_NOTE)
_NONE_KEEPS = "; None keeps that input size"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(n=1, kind="max", dims="L", none="", indices=_RETURN_INDICES)
    _pool = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(n=2, kind="max", dims="H, W", none=_NONE_KEEPS, indices=_RETURN_INDICES)
    _pool = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(n=3, kind="max", dims="D, H, W", none=_NONE_KEEPS, indices=_RETURN_INDICES)
    _pool = staticmethod(F.adaptive_max_pool3d)


class _AdaptiveAvgPoolNd(Module):
    __constants__ = ["output_size"]
    _pool = None  # F.adaptive_avg_pool1d / 2d / 3d

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: jax.Array) -> jax.Array:
        return self._pool(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(n=1, kind="average", dims="L", none="", indices="")
    _pool = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(n=2, kind="average", dims="H, W", none=_NONE_KEEPS, indices="")
    _pool = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    __doc__ = _ADAPTIVE_DOC.format(n=3, kind="average", dims="D, H, W", none=_NONE_KEEPS, indices="")
    _pool = staticmethod(F.adaptive_avg_pool3d)


# --- fractional max pooling --------------------------------------------------------------------
class _FractionalMaxPoolNd(Module):
    __constants__ = ["kernel_size", "return_indices", "output_size", "output_ratio"]
    return_indices: bool
    _n = 0
    _pool = None  # F.fractional_max_pool2d / 3d
    _tuple = None  # _pair / _triple

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                 _random_samples=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = self._tuple(kernel_size)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = self._tuple(output_size) if output_size is not None else None
        self.output_ratio = self._tuple(output_ratio) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < self.output_ratio[d] < 1 for d in range(self._n)):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: jax.Array):
        return self._pool(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                          _random_samples=self._random_samples)


_FRACTIONAL_DOC = r"""{n}-D fractional max pooling (Graham, 2014) over ``(N, C, {dims})`` or ``(C, {dims})``.

    Max pooling in ``kernel_size`` windows whose pseudo-random starts spread the input evenly over
    ``output_size`` outputs per dim (see ``F.fractional_max_pool{n}d``).

    Arguments:
        kernel_size: window size (an int or a {n}-tuple).
        output_size: the output's spatial size (an int or a {n}-tuple); or
        output_ratio: the output size as a fraction in (0, 1) of the input size (a number or
            {n}-tuple). Exactly one of the two must be given.
        return_indices: also return each maximum's flat index in its input plane, for
            ``MaxUnpool{n}d``.
        _random_samples: fixed ``(N, C, {n})`` samples in ``[0, 1)`` (a buffer, as in torch); when
            None each call draws new ones from the torchjax default generator.

    {note} The samples come from torchjax's generator (torch's distribution, not its stream).
    """


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    __doc__ = _FRACTIONAL_DOC.format(n=2, dims="H, W", note=_INDICES_NOTE)
    _n = 2
    _pool = staticmethod(F.fractional_max_pool2d)
    _tuple = staticmethod(_pair)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    __doc__ = _FRACTIONAL_DOC.format(n=3, dims="T, H, W", note=_INDICES_NOTE)
    _n = 3
    _pool = staticmethod(F.fractional_max_pool3d)
    _tuple = staticmethod(_triple)

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                 _random_samples=None) -> None:
        if (isinstance(kernel_size, int) and kernel_size <= 0) or (
                isinstance(kernel_size, tuple | list) and not all(k > 0 for k in kernel_size)):
            raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        super().__init__(kernel_size, output_size, output_ratio, return_indices, _random_samples)

"""Convolution layers: ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d`` on one ``_ConvNd`` base, and their
lazy forms ``LazyConv*`` / ``LazyConvTranspose*`` (``in_channels`` inferred from the first input)."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from ... import _ops
from .. import functional as F
from ..functional._utils import _pair, _reverse_repeat_tuple, _single, _triple
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .linear import reset_fan_in_uniform
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]

_PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]


class _ConvNd(Module):
    """Shared state and behaviour of the convolutions (torch's ``_ConvNd``, same signature).

    Subclasses fix the number of spatial dims (``_conv`` is the matching ``F.conv*d`` or
    ``F.conv_transpose*d``) and normalise the arguments to tuples.
    """

    __constants__ = ["stride", "padding", "dilation", "groups", "padding_mode", "output_padding", "in_channels",
                     "out_channels", "kernel_size"]
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: str | tuple[int, ...]
    dilation: tuple[int, ...]
    transposed: bool
    output_padding: tuple[int, ...]
    groups: int
    padding_mode: str
    _reversed_padding_repeated_twice: list[int]
    weight: Parameter
    bias: Parameter | None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, ...], stride: tuple[int, ...],
                 padding: str | tuple[int, ...], dilation: tuple[int, ...], transposed: bool,
                 output_padding: tuple[int, ...], groups: int, bias: bool, padding_mode: _PaddingMode,
                 device=None, dtype=None) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        valid_padding_strings = {"same", "valid"}
        if isinstance(padding, str):
            if padding not in valid_padding_strings:
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {valid_padding_strings}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        valid_padding_modes = {"zeros", "reflect", "replicate", "circular"}
        if padding_mode not in valid_padding_modes:
            raise ValueError(
                f"padding_mode must be one of {valid_padding_modes}, but got padding_mode='{padding_mode}'"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        # The padding for F.pad-style order (last dim first) when padding_mode is not 'zeros'.
        if isinstance(padding, str):
            self._reversed_padding_repeated_twice = [0, 0] * len(kernel_size)
            if padding == "same":
                for d, k, i in zip(dilation, kernel_size, range(len(kernel_size) - 1, -1, -1), strict=True):
                    total_padding = d * (k - 1)
                    left_pad = total_padding // 2
                    self._reversed_padding_repeated_twice[2 * i] = left_pad
                    self._reversed_padding_repeated_twice[2 * i + 1] = total_padding - left_pad
        else:
            self._reversed_padding_repeated_twice = list(_reverse_repeat_tuple(padding, 2))
        if transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = Parameter(_ops.empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(_ops.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # fan_in is read from the weight's dims 1 and 2: (in/groups) * prod(kernel), or
        # (out/groups) * prod(kernel) when transposed, as torch reads it.
        reset_fan_in_uniform(self.weight, self.bias)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    """The forward of ``Conv1d/2d/3d``: ``padding_mode`` padding, then ``F.conv*d``."""

    _conv = None  # F.conv1d / conv2d / conv3d

    def _conv_forward(self, input: jax.Array, weight, bias) -> jax.Array:
        try:
            if self.padding_mode != "zeros":
                input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
                return self._conv(input, weight, bias, self.stride, 0, self.dilation, self.groups)
            return self._conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)
        except RuntimeError as e:  # name the module in shape/dtype errors; free when nothing fails
            raise RuntimeError(f"{self!r}: {e}") from None

    def forward(self, input: jax.Array) -> jax.Array:
        return self._conv_forward(input, self.weight, self.bias)


_CONV_DOC = r"""{n}-D convolution (cross-correlation) over ``(N, C_in, {dims})`` or unbatched ``(C_in, {dims})``.

    :math:`\text{{out}}(N_i, C_{{out_j}}) = \text{{bias}}(C_{{out_j}}) + \sum_{{k=0}}^{{C_{{in}}/\text{{groups}} - 1}}
    \text{{weight}}(C_{{out_j}}, k) \star \text{{input}}(N_i, k + g_j C_{{in}}/\text{{groups}})`, where
    :math:`g_j` is the group of output channel :math:`j`.

    Arguments:
        in_channels, out_channels: channels of the input and output (both divisible by ``groups``).
        kernel_size: window size (an int or a {n}-tuple).
        stride: window step.
        padding: an int or {n}-tuple added on both sides, or ``'valid'`` (none) or ``'same'``
            (output as large as the input; stride 1 only; the odd element goes on the right).
        dilation: spacing between kernel elements.
        groups: independent channel groups; each sees ``in_channels / groups`` inputs.
        bias: whether to learn an additive bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - Input ``(N, C_in, {dims})`` or ``(C_in, {dims})``; output ``(N, C_out, {dims_out})`` with
          :math:`L_{{out}} = \lfloor (L + 2p - d (k - 1) - 1) / s \rfloor + 1` per dim.

    Attributes:
        weight: ``(out_channels, in_channels / groups, *kernel_size)``; bias: ``(out_channels,)``;
            both from :math:`\mathcal{{U}}(-\sqrt{{k}}, \sqrt{{k}})`,
            :math:`k = \text{{groups}} / (C_{{in}} \prod \text{{kernel\_size}})`.
    """


class Conv1d(_Conv):
    __doc__ = _CONV_DOC.format(n=1, dims="L", dims_out="L_out")
    _conv = staticmethod(F.conv1d)

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: _PaddingMode = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, _single(kernel_size), _single(stride),
                         padding if isinstance(padding, str) else _single(padding), _single(dilation), False,
                         _single(0), groups, bias, padding_mode, device=device, dtype=dtype)


class Conv2d(_Conv):
    __doc__ = _CONV_DOC.format(n=2, dims="H, W", dims_out="H_out, W_out")
    _conv = staticmethod(F.conv2d)

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: _PaddingMode = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, _pair(kernel_size), _pair(stride),
                         padding if isinstance(padding, str) else _pair(padding), _pair(dilation), False,
                         _pair(0), groups, bias, padding_mode, device=device, dtype=dtype)


class Conv3d(_Conv):
    __doc__ = _CONV_DOC.format(n=3, dims="D, H, W", dims_out="D_out, H_out, W_out")
    _conv = staticmethod(F.conv3d)

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: _PaddingMode = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, _triple(kernel_size), _triple(stride),
                         padding if isinstance(padding, str) else _triple(padding), _triple(dilation), False,
                         _triple(0), groups, bias, padding_mode, device=device, dtype=dtype)


class _ConvTransposeNd(_ConvNd):
    """Shared behaviour of the transposed convolutions: ``forward(input, output_size=None)``."""

    _conv = None  # F.conv_transpose1d / 2d / 3d

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                 output_padding, groups, bias, padding_mode, device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {self.__class__.__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, transposed,
                         output_padding, groups, bias, padding_mode, device=device, dtype=dtype)

    def _output_padding(self, input: jax.Array, output_size, stride, padding, kernel_size, num_spatial_dims: int,
                        dilation=None) -> list[int]:
        """The ``output_padding`` that gives ``output_size`` (torch's rule); the module's own without one."""
        if output_size is None:
            return list(_single(self.output_padding))
        has_batch_dim = input.ndim == num_spatial_dims + 2
        num_non_spatial_dims = 2 if has_batch_dim else 1
        output_size = list(output_size)
        if len(output_size) == num_non_spatial_dims + num_spatial_dims:
            output_size = output_size[num_non_spatial_dims:]
        if len(output_size) != num_spatial_dims:
            raise ValueError(
                f"ConvTranspose{num_spatial_dims}D: for {input.ndim}D input, output_size must have "
                f"{num_spatial_dims} or {num_non_spatial_dims + num_spatial_dims} elements (got {len(output_size)})"
            )
        spatial = input.shape[num_non_spatial_dims:]
        min_sizes = [(spatial[d] - 1) * stride[d] - 2 * padding[d]
                     + (dilation[d] if dilation is not None else 1) * (kernel_size[d] - 1) + 1
                     for d in range(num_spatial_dims)]
        max_sizes = [min_sizes[d] + stride[d] - 1 for d in range(num_spatial_dims)]
        for size, min_size, max_size in zip(output_size, min_sizes, max_sizes, strict=True):
            if size < min_size or size > max_size:
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range from {min_sizes} to "
                    f"{max_sizes} (for an input of {tuple(input.shape[2:])})"
                )
        return [output_size[d] - min_sizes[d] for d in range(num_spatial_dims)]

    def forward(self, input: jax.Array, output_size: list[int] | None = None) -> jax.Array:
        n = len(self.kernel_size)
        output_padding = self._output_padding(input, output_size, self.stride, self.padding, self.kernel_size, n,
                                              self.dilation)
        try:
            return self._conv(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                              self.groups, self.dilation)
        except RuntimeError as e:  # name the module in shape/dtype errors; free when nothing fails
            raise RuntimeError(f"{self!r}: {e}") from None


_CONV_TRANSPOSE_DOC = r"""{n}-D transposed convolution: the gradient of ``Conv{n}d`` with respect to its input.

    Arguments:
        in_channels, out_channels, kernel_size, stride, dilation, groups, bias: as for ``Conv{n}d``.
        padding: ``dilation * (kernel_size - 1) - padding`` zeros are added to both sides of the
            input, so it is the padding of the convolution this transposes.
        output_padding: extra size on one side of the output (smaller than stride or dilation);
            ``forward(input, output_size)`` computes it from a wanted output size instead.
        padding_mode: only ``'zeros'``.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - Input ``(N, C_in, {dims})`` or ``(C_in, {dims})``; output ``(N, C_out, {dims_out})`` with
          :math:`L_{{out}} = (L - 1) s - 2p + d (k - 1) + \text{{output\_padding}} + 1` per dim.

    Attributes:
        weight: ``(in_channels, out_channels / groups, *kernel_size)``; bias: ``(out_channels,)``;
            both from :math:`\mathcal{{U}}(-\sqrt{{k}}, \sqrt{{k}})`,
            :math:`k = \text{{groups}} / (C_{{out}} \prod \text{{kernel\_size}})`.
    """


class ConvTranspose1d(_ConvTransposeNd):
    __doc__ = _CONV_TRANSPOSE_DOC.format(n=1, dims="L", dims_out="L_out")
    _conv = staticmethod(F.conv_transpose1d)

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: _PaddingMode = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, _single(kernel_size), _single(stride), _single(padding),
                         _single(dilation), True, _single(output_padding), groups, bias, padding_mode,
                         device=device, dtype=dtype)


class ConvTranspose2d(_ConvTransposeNd):
    __doc__ = _CONV_TRANSPOSE_DOC.format(n=2, dims="H, W", dims_out="H_out, W_out")
    _conv = staticmethod(F.conv_transpose2d)

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: _PaddingMode = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, _pair(kernel_size), _pair(stride), _pair(padding),
                         _pair(dilation), True, _pair(output_padding), groups, bias, padding_mode,
                         device=device, dtype=dtype)


class ConvTranspose3d(_ConvTransposeNd):
    __doc__ = _CONV_TRANSPOSE_DOC.format(n=3, dims="D, H, W", dims_out="D_out, H_out, W_out")
    _conv = staticmethod(F.conv_transpose3d)

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: _PaddingMode = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, _triple(kernel_size), _triple(stride), _triple(padding),
                         _triple(dilation), True, _triple(output_padding), groups, bias, padding_mode,
                         device=device, dtype=dtype)


class _LazyConvXdMixin(LazyModuleMixin):
    """Lazy convolutions: ``in_channels`` comes from the first input, ``input.shape[1]`` when batched
    and ``input.shape[0]`` when unbatched (torch's ``_get_in_channels``)."""

    groups: int
    transposed: bool
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    weight: UninitializedParameter
    bias: UninitializedParameter
    _num_spatial_dims = 0

    def _lazy_init(self, out_channels: int, bias: bool, device, dtype) -> None:
        """After ``ConvNd.__init__(0, 0, ..., bias=False)``: placeholders for the real parameters."""
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            if self.transposed:
                self.weight.materialize((self.in_channels, self.out_channels // self.groups, *self.kernel_size))
            else:
                self.weight.materialize((self.out_channels, self.in_channels // self.groups, *self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()

    def _get_in_channels(self, input) -> int:
        num_dims_no_batch = self._get_num_spatial_dims() + 1
        shape = jnp.shape(input)
        if len(shape) not in (num_dims_no_batch, num_dims_no_batch + 1):
            raise RuntimeError(
                f"Expected {num_dims_no_batch}D (unbatched) or {num_dims_no_batch + 1}D (batched) input to "
                f"{self.__class__.__name__}, but got input of size: {list(shape)}"
            )
        return shape[1] if len(shape) == num_dims_no_batch + 1 else shape[0]

    def _get_num_spatial_dims(self) -> int:
        return self._num_spatial_dims


_LAZY_DOC = """A :class:`{base}` whose ``in_channels`` is inferred from the first input (``input.shape[1]``,
    or ``input.shape[0]`` when unbatched).

    ``weight`` and ``bias`` start as :class:`~torchjax.nn.UninitializedParameter`; the first (eager)
    forward materializes them with ``{base}``'s shapes and initialisation and the module becomes a
    ``{base}``. Loading a state_dict materializes them to the checkpoint's shapes. The arguments
    are ``{base}``'s without ``in_channels``.
    """


class LazyConv1d(_LazyConvXdMixin, Conv1d):
    __doc__ = _LAZY_DOC.format(base="Conv1d")
    cls_to_become = Conv1d
    _num_spatial_dims = 1

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
                 bias: bool = True, padding_mode: _PaddingMode = "zeros", device=None, dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device=device,
                         dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class LazyConv2d(_LazyConvXdMixin, Conv2d):
    __doc__ = _LAZY_DOC.format(base="Conv2d")
    cls_to_become = Conv2d
    _num_spatial_dims = 2

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
                 bias: bool = True, padding_mode: _PaddingMode = "zeros", device=None, dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device=device,
                         dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class LazyConv3d(_LazyConvXdMixin, Conv3d):
    __doc__ = _LAZY_DOC.format(base="Conv3d")
    cls_to_become = Conv3d
    _num_spatial_dims = 3

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
                 bias: bool = True, padding_mode: _PaddingMode = "zeros", device=None, dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device=device,
                         dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class LazyConvTranspose1d(_LazyConvXdMixin, ConvTranspose1d):
    __doc__ = _LAZY_DOC.format(base="ConvTranspose1d")
    cls_to_become = ConvTranspose1d
    _num_spatial_dims = 1

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0, groups: int = 1,
                 bias: bool = True, dilation=1, padding_mode: _PaddingMode = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode,
                         device=device, dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class LazyConvTranspose2d(_LazyConvXdMixin, ConvTranspose2d):
    __doc__ = _LAZY_DOC.format(base="ConvTranspose2d")
    cls_to_become = ConvTranspose2d
    _num_spatial_dims = 2

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0, groups: int = 1,
                 bias: bool = True, dilation=1, padding_mode: _PaddingMode = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode,
                         device=device, dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class LazyConvTranspose3d(_LazyConvXdMixin, ConvTranspose3d):
    __doc__ = _LAZY_DOC.format(base="ConvTranspose3d")
    cls_to_become = ConvTranspose3d
    _num_spatial_dims = 3

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0, groups: int = 1,
                 bias: bool = True, dilation=1, padding_mode: _PaddingMode = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode,
                         device=device, dtype=dtype)
        self._lazy_init(out_channels, bias, device, dtype)

"""Linear layers: ``Identity``, ``Linear``, ``Bilinear`` and ``LazyLinear``."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from ... import _ops
from .. import functional as F
from .. import init
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Bilinear", "Identity", "LazyLinear", "Linear"]


def reset_fan_in_uniform(weight: Parameter, bias: Parameter | None) -> None:
    """torch's default for Linear and Conv: ``kaiming_uniform_(a=sqrt(5))`` on the weight, i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


class Identity(Module):
    """Returns its input unchanged; constructor arguments are accepted and ignored (as in torch)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Linear(Module):
    r"""Affine map of the last dimension: :math:`y = x A^T + b`.

    Arguments:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - Input: ``(*, in_features)``; output ``(*, out_features)``.

    Attributes:
        weight: ``(out_features, in_features)``, initialised from
            :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})` with :math:`k = 1/\text{in\_features}`.
        bias: ``(out_features,)``, same distribution.
    """

    __constants__ = ["in_features", "out_features"]
    in_features: int
    out_features: int
    weight: Parameter

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(_ops.empty((out_features, in_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(_ops.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_fan_in_uniform(self.weight, self.bias)

    def forward(self, input: jax.Array) -> jax.Array:
        try:
            return F.linear(input, self.weight, self.bias)
        except RuntimeError as e:  # name the module in shape/dtype errors; free when nothing fails
            raise RuntimeError(f"{self!r}: {e}") from None

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class NonDynamicallyQuantizableLinear(Linear):
    """torch's name for ``MultiheadAttention.out_proj``: a plain ``Linear`` (the name shows in
    ``repr``; torch uses the class to keep dynamic quantization away from it)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)


class Bilinear(Module):
    r"""Bilinear map of two inputs: :math:`y = x_1^T A x_2 + b`.

    Arguments:
        in1_features: size of each first input sample (must be > 0).
        in2_features: size of each second input sample.
        out_features: size of each output sample.
        bias: whether to learn an additive bias.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        - input1 ``(*, in1_features)``, input2 ``(*, in2_features)`` with the same leading dims;
          output ``(*, out_features)``.

    Attributes:
        weight: ``(out_features, in1_features, in2_features)``, initialised from
            :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})` with :math:`k = 1/\text{in1\_features}`.
        bias: ``(out_features,)``, same distribution.
    """

    __constants__ = ["in1_features", "in2_features", "out_features"]
    in1_features: int
    in2_features: int
    out_features: int
    weight: Parameter

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(_ops.empty((out_features, in1_features, in2_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(_ops.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features={self.in1_features})")
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: jax.Array, input2: jax.Array) -> jax.Array:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`Linear` whose ``in_features`` is inferred from the first input's last dim.

    ``weight`` and ``bias`` start as :class:`~torchjax.nn.UninitializedParameter`; the first
    (eager) forward materializes them with ``Linear``'s shapes and initialisation and the module
    becomes a ``Linear``. Loading a state_dict materializes them to the checkpoint's shapes.

    Arguments:
        out_features: size of each output sample.
        bias: whether to learn an additive bias.
        device, dtype: where and in which dtype to create the parameters.
    """

    cls_to_become = Linear
    weight: UninitializedParameter
    bias: UninitializedParameter

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        # bias=False: no placeholder-sized bias is created only to be replaced.
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        if self.has_uninitialized_params():
            self.in_features = jnp.shape(input)[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
        if self.in_features == 0:  # materialized by load_state_dict: take in_features from the weight
            if jnp.shape(input)[-1] != self.weight.shape[-1]:
                raise AssertionError(
                    f"The in_features inferred from input: {jnp.shape(input)[-1]} is not equal to in_features from "
                    f"self.weight: {self.weight.shape[-1]}"
                )
            self.in_features = jnp.shape(input)[-1]

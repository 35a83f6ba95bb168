"""``AdaptiveLogSoftmaxWithLoss``: the efficient softmax of Grave et al. for large vocabularies."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .. import functional as F
from ..parameter import _unwrap
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Log-softmax over ``n_classes`` split into a frequent head and rarer tail clusters.

    The head scores the ``cutoffs[0]`` most frequent classes and one entry per cluster; cluster ``i``
    (classes ``cutoffs[i]`` to ``cutoffs[i + 1]``) is scored through a projection of size
    ``in_features // div_value ** (i + 1)``.

    Arguments:
        in_features: size of each input sample.
        n_classes: number of classes.
        cutoffs: increasing cluster boundaries, each in ``[1, n_classes - 1]``.
        div_value: how fast the tail projections shrink.
        head_bias: whether the head has a bias.
        device, dtype: where and in which dtype to create the parameters.

    Parameters are named as torch's (``head.weight``, ``tail.0.0.weight``, ``tail.0.1.weight`` ...),
    so a torch ``state_dict`` loads unchanged.

    Shape: input ``(N, in_features)`` or ``(in_features)``; target ``(N)`` or ``()``.
    ``forward`` returns ``(output, loss)``: the target's log-probability per sample and the mean NLL.

    torchjax computes every cluster for every row (static shapes, so it compiles and vmaps) where torch
    runs each cluster only on the rows that need it; values and gradients are the same.
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int], div_value: float = 4.0,
                 head_bias: bool = False, device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > (n_classes - 1)
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(self.in_features, self.head_size, bias=self.head_bias, **factory_kwargs)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(self.in_features // (self.div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(self.in_features, hidden, bias=False, **factory_kwargs),
                                        Linear(hidden, size, bias=False, **factory_kwargs)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for projection in self.tail:
            for linear in projection:
                linear.reset_parameters()

    def forward(self, input_: jax.Array, target_: jax.Array) -> _ASMoutput:
        x, target = _unwrap(input_), _unwrap(target_)
        if target.ndim == 1:
            if x.shape[0] != target.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if x.ndim != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size "
                                   f"{tuple(x.shape)}")
        elif target.ndim == 0:
            if x.ndim != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size "
                                   f"{tuple(x.shape)}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target.ndim > 0
        if not batched:
            x, target = x[None], target[None]
        if not isinstance(target, jax.core.Tracer):  # eager only; NumPy, as jnp would trace under jit
            values = np.asarray(target)
            if ((values < 0) | (values >= self.n_classes)).any():
                raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                                   f"[{values.min()}, {values.max()}] were found. ")
        output = jnp.zeros(target.shape, x.dtype)
        head_index = target
        for i, projection in enumerate(self.tail):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            in_cluster = (target >= low) & (target < high)
            cluster_logprob = F.log_softmax(projection(x), dim=1)
            relative = jnp.clip(target - low, 0, high - low - 1)
            local = jnp.take_along_axis(cluster_logprob, relative[:, None], axis=1)[:, 0]
            output = jnp.where(in_cluster, local, output)
            head_index = jnp.where(in_cluster, self.shortlist_size + i, head_index)
        head_logprob = F.log_softmax(self.head(x), dim=1)
        output = output + jnp.take_along_axis(head_logprob, head_index[:, None], axis=1)[:, 0]
        loss = (-output).mean()
        return _ASMoutput(output if batched else output[0], loss)

    def _get_full_log_prob(self, input: jax.Array, head_output: jax.Array) -> jax.Array:
        """Log-probabilities of all ``n_classes`` from the input and the head's output."""
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, : self.shortlist_size]]
        for i, projection in enumerate(self.tail):
            cluster_logprob = F.log_softmax(projection(input), dim=1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i, None])
        return jnp.concatenate(parts, axis=1)

    def log_prob(self, input: jax.Array) -> jax.Array:
        """Log-probabilities of every class: ``(N, in_features)`` -> ``(N, n_classes)``."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: jax.Array) -> jax.Array:
        """The most likely class of each row, ``(N, in_features)`` -> ``(N)``: the head's argmax when it
        is a shortlist class, else the argmax of the full distribution (same as ``log_prob(x).argmax(1)``)."""
        head_output = self.head(input)
        output = jnp.argmax(head_output, axis=1)
        in_shortlist = output < self.shortlist_size
        full = jnp.argmax(self._get_full_log_prob(input, head_output), axis=1)
        return jnp.where(in_shortlist, output, full)

"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and the single-step cells ``RNNCell``, ``LSTMCell``,
``GRUCell``.

Parameter names and order, shapes, init (every parameter from U(-1/sqrt(hidden), 1/sqrt(hidden))),
gate layouts (LSTM ``i, f, g, o``; GRU ``r, z, n``) and the math are torch's, so a torch
``state_dict`` loads unchanged and gives torch's outputs.

Each layer runs as one ``jax.lax.scan`` over time, both directions of a bidirectional layer in the
same scan (the reverse one on the time-reversed sequence): the input projection ``x W_ih^T + b_ih``
of every step is one matmul before the scan, and only the hidden projection is inside it. The whole
stack is one jitted function, so eager calls reuse its compiled program.

A :class:`~torchjax.nn.utils.rnn.PackedSequence` is unpacked to a padded, time-major array (its
``batch_sizes`` are static, so this is a gather with constant indices), run with a mask inside the
scan (a step past a sequence's end keeps its state and outputs zeros; the reverse direction thus
starts each sequence at its own last step) and packed again.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Callable
from typing import overload

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ... import _ops, _random
from .. import init
from ..parameter import Parameter, _unwrap
from ..utils.rnn import PackedSequence, packed_mask, packed_to_padded, padded_to_packed
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _apply_permutation(tensor: jax.Array, permutation, dim: int = 1) -> jax.Array:
    return jnp.take(tensor, jnp.asarray(permutation), axis=dim)


def _array(value) -> jax.Array:
    return jnp.asarray(_unwrap(value))


def _matmul_t(x: jax.Array, w: jax.Array) -> jax.Array:
    """``x @ w.T`` over the last dimension of ``x``."""
    return lax.dot_general(x, w, (((x.ndim - 1,), (1,)), ((), ())))


def _check_same_dtype(a: jax.Array, w: jax.Array, what: str) -> None:
    if a.dtype != w.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {a.dtype} ({what}) and {w.dtype} "
                           "(weight)")


def _gates(mode: str, xi: jax.Array, hh: jax.Array, h: jax.Array,
           c: jax.Array | None) -> tuple[jax.Array, jax.Array | None]:
    """One step of a cell from its input projection ``xi = x W_ih^T + b_ih`` and hidden projection
    ``hh = h W_hh^T + b_hh``: ``(h', c')`` (an LSTM's ``h'`` before its projection).

    The gates are torch's, in torch's order of operations (``aten/src/ATen/native/RNN.cpp``).
    """
    if mode == "LSTM":
        i, f, g, o = jnp.split(hh + xi, 4, axis=-1)
        c_new = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        return jax.nn.sigmoid(o) * jnp.tanh(c_new), c_new
    if mode == "GRU":
        x_r, x_z, x_n = jnp.split(xi, 3, axis=-1)
        h_r, h_z, h_n = jnp.split(hh, 3, axis=-1)
        r = jax.nn.sigmoid(h_r + x_r)
        z = jax.nn.sigmoid(h_z + x_z)
        n = jnp.tanh(x_n + h_n * r)
        return (h - n) * z + n, None
    pre = hh + xi
    return (jnp.tanh(pre) if mode == "RNN_TANH" else jax.nn.relu(pre)), None


def _flip_reverse(a: jax.Array) -> jax.Array:
    """Time-reverse the second direction of ``(D, T, ...)``: the reverse direction then runs forward."""
    return a if a.shape[0] == 1 else jnp.stack([a[0], a[1, ::-1]])


def _run_layer(mode: str, x: jax.Array, h0: jax.Array, c0: jax.Array | None, w: dict,
               mask: jax.Array | None) -> tuple[jax.Array, jax.Array, jax.Array | None]:
    """Every direction of one layer over time-major ``x`` ``(T, B, I)`` in one ``lax.scan``.

    ``w`` holds the parameters stacked over directions (``(D, ...)``); ``h0``/``c0`` are ``(D, B, .)``.
    The reverse direction scans the time-reversed sequence. With ``mask`` ``(T, B)`` a masked step
    keeps the state and outputs zeros, so each reversed sequence starts at its own last step.
    Returns ``(output (T, B, D * H_out), h_T (D, B, H_out), c_T)``.
    """
    xi = jnp.einsum("tbi,dgi->dtbg", x, w["weight_ih"])  # all steps at once, outside the scan
    if "bias_ih" in w:
        xi = xi + w["bias_ih"][:, None, None, :]
    xs = jnp.swapaxes(_flip_reverse(xi), 0, 1)  # (T, D, B, G)
    w_hh, b_hh, w_hr = w["weight_hh"], w.get("bias_hh"), w.get("weight_hr")

    def cell(carry, xi_t):
        h, c = carry
        hh = jnp.einsum("dbh,dgh->dbg", h, w_hh)
        if b_hh is not None:
            hh = hh + b_hh[:, None, :]
        h_new, c_new = _gates(mode, xi_t, hh, h, c)
        if w_hr is not None:
            h_new = jnp.einsum("dbh,dph->dbp", h_new, w_hr)
        return h_new, c_new

    if mask is None:
        def step(carry, xi_t):
            h, c = cell(carry, xi_t)
            return (h, c), h

        (h, c), ys = lax.scan(step, (h0, c0), xs)
    else:
        masks = jnp.broadcast_to(mask[None], (h0.shape[0], *mask.shape))
        masks = jnp.swapaxes(_flip_reverse(masks), 0, 1)[..., None]  # (T, D, B, 1)

        def masked_step(carry, inputs):
            xi_t, m_t = inputs
            h, c = cell(carry, xi_t)
            kept = (jnp.where(m_t, h, carry[0]), None if c is None else jnp.where(m_t, c, carry[1]))
            return kept, jnp.where(m_t, h, jnp.zeros((), h.dtype))

        (h, c), ys = lax.scan(masked_step, (h0, c0), (xs, masks))
    ys = _flip_reverse(jnp.swapaxes(ys, 0, 1))  # (D, T, B, H_out), every direction in time order
    return jnp.concatenate(list(ys), axis=-1), h, c


def _dropout(x: jax.Array, p: float, key: jax.Array) -> jax.Array:
    """``F.dropout(x, p, training=True)`` with an explicit key (the same draw for the same key)."""
    if p == 1:
        return x * jnp.zeros((), x.dtype)
    keep = jax.random.bernoulli(key, 1.0 - p, x.shape).astype(x.dtype)
    return x * (keep * (1.0 / (1.0 - p)))


@functools.partial(jax.jit, static_argnames=("mode", "dropout"))
def _run_stack(mode: str, x: jax.Array, hx: jax.Array, cx: jax.Array | None, weights: list, mask: jax.Array | None,
               dropout: float, keys: list) -> tuple[jax.Array, jax.Array, jax.Array | None]:
    """The stacked layers over time-major ``x``: ``(output, h_n, c_n)``.

    ``weights[layer]`` is one dict of parameters per direction; ``keys`` one dropout key per layer but
    the last (empty when there is no dropout). Jitted as a whole, so an eager call reuses one compiled
    program (inside a trace it is inlined)."""
    directions = len(weights[0])
    h_n, c_n = [], []
    layer_input = x
    for layer, layer_weights in enumerate(weights):
        w = {name: jnp.stack([d[name] for d in layer_weights]) for name in layer_weights[0]}
        rows = slice(layer * directions, (layer + 1) * directions)
        layer_input, h, c = _run_layer(mode, layer_input, hx[rows], None if cx is None else cx[rows], w, mask)
        h_n.append(h)
        c_n.append(c)
        if keys and layer < len(weights) - 1:
            layer_input = _dropout(layer_input, dropout, keys[layer])
    return layer_input, jnp.concatenate(h_n), (None if cx is None else jnp.concatenate(c_n))


class RNNBase(Module):
    r"""Base class of :class:`RNN`, :class:`LSTM` and :class:`GRU`: parameters, init, checks.

    Arguments:
        mode: ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``.
        input_size, hidden_size: feature sizes of the input and of the hidden state.
        num_layers: stacked recurrent layers.
        bias: whether to learn ``bias_ih`` / ``bias_hh``.
        batch_first: ``(N, L, H_in)`` inputs and outputs instead of ``(L, N, H_in)`` (not the states).
        dropout: dropout on the outputs of every layer but the last (training only), drawn from the
            torchjax generator.
        bidirectional: add a reverse direction (``*_reverse`` parameters).
        proj_size: LSTM only: project the hidden state to this size (``weight_hr_l{k}``).
        device, dtype: where and in which dtype to create the parameters.

    The forward is not defined here (as in torch). ``flatten_parameters()`` is a no-op: there is no
    cuDNN weight buffer to compact.
    """

    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
                     "bidirectional", "proj_size"]
    __jit_unused_properties__ = ["all_weights"]

    mode: str
    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    dropout: float
    bidirectional: bool
    proj_size: int

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")

        if mode == "LSTM":
            gate_size = 4 * hidden_size
        elif mode == "GRU":
            gate_size = 3 * hidden_size
        elif mode in ("RNN_TANH", "RNN_RELU"):
            gate_size = hidden_size
        else:
            raise ValueError("Unrecognized RNN mode: " + mode)

        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                shapes = [(gate_size, layer_input_size), (gate_size, real_hidden_size)]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    shapes += [(gate_size,), (gate_size,)]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    shapes += [(proj_size, hidden_size)]
                    names += ["weight_hr_l{}{}"]
                suffix = "_reverse" if direction == 1 else ""
                names = [x.format(layer, suffix) for x in names]
                for name, shape in zip(names, shapes, strict=True):
                    setattr(self, name, Parameter(_ops.empty(shape, **factory_kwargs)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)

        self._init_flat_weights()
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list[Parameter | None]:
        """The parameters in ``_flat_weights_names`` order, read afresh (always current)."""
        return [getattr(self, wn) if hasattr(self, wn) else None for wn in self._flat_weights_names]

    def _init_flat_weights(self) -> None:
        self.flatten_parameters()

    def flatten_parameters(self) -> None:
        """No-op: torch compacts the weights into one cuDNN buffer here; JAX needs none."""

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters, one list per layer and direction."""
        return [[getattr(self, weight) for weight in weights] for weights in self._all_weights]

    # --- torch's checks ---------------------------------------------------------------------------
    def check_input(self, input: jax.Array, batch_sizes: np.ndarray | None) -> None:
        weight_dtype = self._flat_weights[0].dtype
        if input.dtype != weight_dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight_dtype}). Convert input: "
                f"input.to({weight_dtype}), or convert model: model.to({input.dtype})")
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.ndim != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got {input.ndim}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {input.shape[-1]}")

    def get_expected_hidden_size(self, input: jax.Array, batch_sizes: np.ndarray | None) -> tuple[int, int, int]:
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.shape[0] if self.batch_first else input.shape[1]
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    def check_hidden_size(self, hx: jax.Array, expected_hidden_size: tuple[int, int, int],
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.shape) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.shape)))

    def check_forward_args(self, input: jax.Array, hidden: jax.Array, batch_sizes: np.ndarray | None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: jax.Array, permutation) -> jax.Array:
        if permutation is None:
            return hx
        return _apply_permutation(hx, permutation)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # --- the computation -------------------------------------------------------------------------
    def _layer_weights(self, index: int) -> dict[str, jax.Array]:
        """``{'weight_ih': ..., 'weight_hh': ..., 'bias_ih': ..., ...}`` of one layer and direction."""
        return {name.rsplit("_l", 1)[0]: _unwrap(getattr(self, name)) for name in self._all_weights[index]}

    def _run(self, input: jax.Array, hx: jax.Array, cx: jax.Array | None,
             batch_sizes: np.ndarray | None) -> tuple[jax.Array, jax.Array, jax.Array | None]:
        """The stacked layers on checked, batched inputs (packed data when ``batch_sizes``):
        ``(output, h_n, c_n)``, the output in the input's layout."""
        mask = None
        if batch_sizes is not None:
            x = packed_to_padded(input, batch_sizes)
            mask = packed_mask(batch_sizes)
            mask = None if mask.all() else mask
        else:
            x = jnp.swapaxes(input, 0, 1) if self.batch_first else input
        if x.shape[0] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        _check_same_dtype(hx, x, "hx")
        if cx is not None:
            _check_same_dtype(cx, x, "cx")
        directions = 2 if self.bidirectional else 1
        weights = [[self._layer_weights(layer * directions + d) for d in range(directions)]
                   for layer in range(self.num_layers)]
        keys = []
        if self.dropout != 0 and self.training:  # one draw per layer but the last, as F.dropout draws
            keys = [_random.next_key() for _ in range(self.num_layers - 1)]
        output, h_n, c_n = _run_stack(self.mode, x, hx, cx, weights, mask, self.dropout, keys)
        if batch_sizes is not None:
            output = padded_to_packed(output, batch_sizes)
        elif self.batch_first:
            output = jnp.swapaxes(output, 0, 1)
        return output, h_n, c_n

    def _forward_one_state(self, input, hx, name: str, tensor_word: str):
        """RNN's and GRU's forward (one state array)."""
        num_directions = 2 if self.bidirectional else 1
        orig_input = input
        if isinstance(orig_input, PackedSequence):
            input, batch_sizes, sorted_indices, unsorted_indices = input
            input = _array(input)
            max_batch_size = int(batch_sizes[0])
            if hx is None:
                hx = jnp.zeros((self.num_layers * num_directions, max_batch_size, self.hidden_size), input.dtype)
            else:
                hx = self.permute_hidden(_array(hx), sorted_indices)
        else:
            input = _array(input)
            batch_sizes = None
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D{tensor_word} instead")
            is_batched = input.ndim == 3
            batch_dim = 0 if self.batch_first else 1
            if hx is not None:
                hx = _array(hx)
            if not is_batched:
                input = jnp.expand_dims(input, batch_dim)
                if hx is not None:
                    if hx.ndim != 2:
                        raise RuntimeError(
                            f"For unbatched 2-D input, hx should also be 2-D but got {hx.ndim}-D tensor")
                    hx = jnp.expand_dims(hx, 1)
            elif hx is not None and hx.ndim != 3:
                raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.ndim}-D tensor")
            max_batch_size = input.shape[0] if self.batch_first else input.shape[1]
            sorted_indices = unsorted_indices = None
            if hx is None:
                hx = jnp.zeros((self.num_layers * num_directions, max_batch_size, self.hidden_size), input.dtype)
        self.check_forward_args(input, hx, batch_sizes)
        output, hidden, _ = self._run(input, hx, None, batch_sizes)
        if isinstance(orig_input, PackedSequence):
            return PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices), self.permute_hidden(
                hidden, unsorted_indices)
        if not is_batched:
            output = jnp.squeeze(output, batch_dim)
            hidden = jnp.squeeze(hidden, 1)
        return output, self.permute_hidden(hidden, unsorted_indices)


class RNN(RNNBase):
    r"""Multi-layer Elman RNN: :math:`h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})`
    (ReLU instead of tanh with ``nonlinearity='relu'``).

    Arguments (positional order as torch's): ``input_size, hidden_size, num_layers=1,
    nonlinearity='tanh', bias=True, batch_first=False, dropout=0.0, bidirectional=False,
    device=None, dtype=None``; see :class:`RNNBase`.

    Inputs ``input, hx``: ``input`` ``(L, H_in)`` unbatched, ``(L, N, H_in)``, ``(N, L, H_in)`` with
    ``batch_first``, or a :class:`~torchjax.nn.utils.rnn.PackedSequence`; ``hx``
    ``(D * num_layers, [N,] H_out)``, zeros when None.

    Outputs ``output, h_n``: ``output`` ``(L, [N,] D * H_out)`` (a PackedSequence for packed input),
    ``h_n`` ``(D * num_layers, [N,] H_out)``, the state after each sequence's last step.
    """

    @overload
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None: ...

    @overload
    def __init__(self, *args, **kwargs) -> None: ...

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        """``(output, h_n)``; see the class docstring for shapes."""
        if self.mode not in ("RNN_TANH", "RNN_RELU"):
            raise AssertionError(f"mode must be RNN_TANH or RNN_RELU, got {self.mode}")
        return self._forward_one_state(input, hx, "RNN", " tensor")


class GRU(RNNBase):
    r"""Multi-layer gated recurrent unit. For each step, with gates in torch's ``r, z, n`` order:

    .. math::
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \quad
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}), \\
        n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})), \quad
        h' = (1 - z) \odot n + z \odot h

    Arguments, inputs and outputs: as :class:`RNN`, without ``nonlinearity``.
    """

    @overload
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None: ...

    @overload
    def __init__(self, *args, **kwargs) -> None: ...

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        """``(output, h_n)``; see :class:`RNN` for shapes."""
        return self._forward_one_state(input, hx, "GRU", "")


class LSTM(RNNBase):
    r"""Multi-layer long short-term memory. For each step, with gates in torch's ``i, f, g, o`` order:

    .. math::
        i = \sigma(W_{ii} x + b_{ii} + W_{hi} h + b_{hi}), \quad f = \sigma(\dots), \quad
        g = \tanh(\dots), \quad o = \sigma(\dots), \\
        c' = f \odot c + i \odot g, \quad h' = o \odot \tanh(c')

    and, with ``proj_size > 0``, :math:`h' \leftarrow h' W_{hr}^T` (``h`` then has ``proj_size`` features).

    Arguments: as :class:`RNN`, without ``nonlinearity``, plus ``proj_size=0``.

    Inputs ``input, (h_0, c_0)`` (zeros when None); outputs ``output, (h_n, c_n)``, with ``h``
    of ``proj_size`` (or ``hidden_size``) features and ``c`` of ``hidden_size``.
    """

    @overload
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None: ...

    @overload
    def __init__(self, *args, **kwargs) -> None: ...

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: jax.Array, batch_sizes: np.ndarray | None) -> tuple[int, int, int]:
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.shape[0] if self.batch_first else input.shape[1]
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input: jax.Array, hidden: tuple[jax.Array, jax.Array],
                           batch_sizes: np.ndarray | None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx: tuple[jax.Array, jax.Array], permutation) -> tuple[jax.Array, jax.Array]:
        if permutation is None:
            return hx
        return _apply_permutation(hx[0], permutation), _apply_permutation(hx[1], permutation)

    def forward(self, input, hx=None):
        """``(output, (h_n, c_n))``; see the class docstring for shapes."""
        orig_input = input
        batch_sizes = None
        real_hidden_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        if isinstance(orig_input, PackedSequence):
            input, batch_sizes, sorted_indices, unsorted_indices = input
            input = _array(input)
            max_batch_size = int(batch_sizes[0])
            if hx is None:
                hx = self._zero_state(max_batch_size, real_hidden_size, input.dtype)
            else:
                hx = self.permute_hidden((_array(hx[0]), _array(hx[1])), sorted_indices)
        else:
            input = _array(input)
            if input.ndim not in (2, 3):
                raise ValueError(f"LSTM: Expected input to be 2D or 3D, got {input.ndim}D instead")
            is_batched = input.ndim == 3
            batch_dim = 0 if self.batch_first else 1
            if not is_batched:
                input = jnp.expand_dims(input, batch_dim)
            max_batch_size = input.shape[0] if self.batch_first else input.shape[1]
            sorted_indices = unsorted_indices = None
            if hx is None:
                hx = self._zero_state(max_batch_size, real_hidden_size, input.dtype)
                self.check_forward_args(input, hx, batch_sizes)
            else:
                hx = (_array(hx[0]), _array(hx[1]))
                if is_batched:
                    if hx[0].ndim != 3 or hx[1].ndim != 3:
                        raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but got "
                                           f"({hx[0].ndim}-D, {hx[1].ndim}-D) tensors")
                else:
                    if hx[0].ndim != 2 or hx[1].ndim != 2:
                        raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D but got "
                                           f"({hx[0].ndim}-D, {hx[1].ndim}-D) tensors")
                    hx = (jnp.expand_dims(hx[0], 1), jnp.expand_dims(hx[1], 1))
                self.check_forward_args(input, hx, batch_sizes)
                hx = self.permute_hidden(hx, sorted_indices)
        if batch_sizes is not None:
            self.check_forward_args(input, hx, batch_sizes)
        output, h_n, c_n = self._run(input, hx[0], hx[1], batch_sizes)
        hidden = (h_n, c_n)
        if isinstance(orig_input, PackedSequence):
            return PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices), self.permute_hidden(
                hidden, unsorted_indices)
        if not is_batched:
            output = jnp.squeeze(output, batch_dim)
            hidden = (jnp.squeeze(hidden[0], 1), jnp.squeeze(hidden[1], 1))
        return output, self.permute_hidden(hidden, unsorted_indices)

    def _zero_state(self, batch: int, real_hidden_size: int, dtype) -> tuple[jax.Array, jax.Array]:
        layers = self.num_layers * (2 if self.bidirectional else 1)
        return jnp.zeros((layers, batch, real_hidden_size), dtype), jnp.zeros((layers, batch, self.hidden_size), dtype)


class RNNCellBase(Module):
    """Base class of the cells: ``weight_ih`` ``(num_chunks * hidden_size, input_size)``,
    ``weight_hh`` ``(num_chunks * hidden_size, hidden_size)``, ``bias_ih``/``bias_hh`` (or None),
    all from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    __constants__ = ["input_size", "hidden_size", "bias"]

    input_size: int
    hidden_size: int
    bias: bool
    weight_ih: Parameter
    weight_hh: Parameter

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None,
                 dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_ops.empty((num_chunks * hidden_size, input_size), **factory_kwargs))
        self.weight_hh = Parameter(_ops.empty((num_chunks * hidden_size, hidden_size), **factory_kwargs))
        if bias:
            self.bias_ih = Parameter(_ops.empty(num_chunks * hidden_size, **factory_kwargs))
            self.bias_hh = Parameter(_ops.empty(num_chunks * hidden_size, **factory_kwargs))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @staticmethod
    def _check_input_dims(input, name: str) -> tuple[jax.Array, bool]:
        """``(input as an array, is_batched)``; torch's ValueError for other ranks than 1 and 2."""
        input = _array(input)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        return input, input.ndim == 2

    def _one_state_forward(self, name: str, input, hx, mode: Callable[[], str | None]) -> jax.Array:
        """RNNCell's and GRUCell's forward: checks, unbatched handling, zero state, one step.
        ``mode()`` is asked after the checks (torch reports a bad nonlinearity last)."""
        input, is_batched = self._check_input_dims(input, name)
        if hx is not None:
            hx = _array(hx)
            if hx.ndim not in (1, 2):
                raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {hx.ndim}D instead")
        if not is_batched:
            input = input[None]
        if hx is None:
            hx = jnp.zeros((input.shape[0], self.hidden_size), input.dtype)
        elif not is_batched:
            hx = hx[None]
        step_mode = mode()
        if step_mode is None:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        ret, _ = self._step(step_mode, input, [hx])
        return ret if is_batched else ret[0]

    def _step(self, mode: str, input: jax.Array, states: list[jax.Array]) -> tuple[jax.Array, jax.Array | None]:
        """torch's ``_VF.*_cell`` checks, then one step on batched ``input`` and states."""
        w_ih, w_hh = _unwrap(self.weight_ih), _unwrap(self.weight_hh)
        if input.shape[1] != w_ih.shape[1]:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected {w_ih.shape[1]}")
        for label, state in enumerate(states):
            if input.shape[0] != state.shape[0]:
                raise RuntimeError(
                    f"Input batch size {input.shape[0]} doesn't match hidden{label} batch size {state.shape[0]}")
            if state.ndim < 2:
                raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
            if state.shape[1] != w_hh.shape[1]:
                raise RuntimeError(
                    f"hidden{label} has inconsistent hidden_size: got {state.shape[1]}, expected {w_hh.shape[1]}")
        _check_same_dtype(input, w_ih, "input")
        for state in states:
            _check_same_dtype(state, w_hh, "hx")
        b_ih = None if self.bias_ih is None else _unwrap(self.bias_ih)
        b_hh = None if self.bias_hh is None else _unwrap(self.bias_hh)
        xi, hh = _matmul_t(input, w_ih), _matmul_t(states[0], w_hh)
        if b_ih is not None:
            xi, hh = xi + b_ih, hh + b_hh
        return _gates(mode, xi, hh, states[0], states[1] if len(states) > 1 else None)


class RNNCell(RNNCellBase):
    r"""One Elman RNN step: :math:`h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})` (or ReLU).

    Arguments: ``input_size, hidden_size, bias=True, nonlinearity='tanh', device=None, dtype=None``.

    Inputs ``input`` ``(N, H_in)`` or ``(H_in)``, ``hx`` ``(N, H_out)`` or ``(H_out)`` (zeros when
    None); output ``h'`` of ``hx``'s shape.
    """

    __constants__ = ["input_size", "hidden_size", "bias", "nonlinearity"]
    nonlinearity: str

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(input_size, hidden_size, bias, num_chunks=1, **factory_kwargs)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None) -> jax.Array:
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        return self._one_state_forward("RNNCell", input, hx, lambda: modes.get(self.nonlinearity))


class LSTMCell(RNNCellBase):
    r"""One LSTM step (gates ``i, f, g, o`` as in :class:`LSTM`).

    Arguments: ``input_size, hidden_size, bias=True, device=None, dtype=None``.

    Inputs ``input`` ``(N, H_in)`` or ``(H_in)``, ``(h_0, c_0)`` each ``(N, H)`` or ``(H)`` (zeros
    when None); outputs ``(h_1, c_1)``.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(input_size, hidden_size, bias, num_chunks=4, **factory_kwargs)

    def forward(self, input, hx=None) -> tuple[jax.Array, jax.Array]:
        input, is_batched = self._check_input_dims(input, "LSTMCell")
        if hx is not None:
            hx = tuple(_array(v) for v in hx)
            for idx, value in enumerate(hx):
                if value.ndim not in (1, 2):
                    raise ValueError(f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got {value.ndim}D instead")
        if not is_batched:
            input = input[None]
        if hx is None:
            zeros = jnp.zeros((input.shape[0], self.hidden_size), input.dtype)
            hx = (zeros, zeros)
        elif not is_batched:
            hx = (hx[0][None], hx[1][None])
        h, c = self._step("LSTM", input, [hx[0], hx[1]])
        return (h, c) if is_batched else (h[0], c[0])


class GRUCell(RNNCellBase):
    r"""One GRU step (gates ``r, z, n`` as in :class:`GRU`).

    Arguments: ``input_size, hidden_size, bias=True, device=None, dtype=None``.

    Inputs ``input`` ``(N, H_in)`` or ``(H_in)``, ``hx`` ``(N, H)`` or ``(H)`` (zeros when None);
    output ``h'``.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(input_size, hidden_size, bias, num_chunks=3, **factory_kwargs)

    def forward(self, input, hx=None) -> jax.Array:
        return self._one_state_forward("GRUCell", input, hx, lambda: "GRU")

"""Recurrent layers and ``nn.utils.rnn`` against torch: RNN (tanh, relu), LSTM (with and without
projections) and GRU over a covering set of structural options (outputs, final states and the
gradients with respect to the input, the initial states and every parameter, eager and compiled),
packed sequences with unsorted lengths, the cells, the packing utilities, dropout between layers,
state_dict keys, reprs, init, signatures and errors."""

from __future__ import annotations

import inspect
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, assert_no_tracers, load_torch_state, raises_same, to_numpy
from torch.nn.utils import rnn as TR

import torchjax
import torchjax.nn as tnn
from torchjax.nn.utils import rnn as JR

INPUT, HIDDEN, PROJ, T, BATCH = 3, 4, 2, 4, 3

MODES = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("LSTM", {"proj_size": PROJ}), ("GRU", {})]
MODE_IDS = ["rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru"]

# A two-level orthogonal array (L8) over the six options: each mode gets one half of it, so every
# mode sees both values of every option, and consecutive modes together see every pair of values.
_L8 = ["000000", "000111", "011001", "011110", "101010", "101101", "110011", "110100"]
_HALVES = ([0, 3, 5, 6], [1, 2, 4, 7])
_OPTIONS = ("two_layers", "bidirectional", "batch_first", "bias", "hx", "unbatched")
CONFIGS = [
    (MODE_IDS[m], MODES[m][0], MODES[m][1], dict(zip(_OPTIONS, map(bool, map(int, _L8[row])), strict=True)))
    for m in range(len(MODES)) for row in _HALVES[m % 2]
]


def _pair(cls: str, kwargs: dict, **options):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, cls)(INPUT, HIDDEN, **kwargs, **options)
    ours = getattr(tnn, cls)(INPUT, HIDDEN, **kwargs, **options)
    assert repr(ours) == repr(theirs)
    load_torch_state(ours, theirs)
    return theirs, ours


def _state_shapes(cls: str, kwargs: dict, layers: int, directions: int, batch: int | None):
    """Shapes of the initial state(s): one for RNN/GRU, (h, c) for LSTM."""
    lead = (layers * directions,) + (() if batch is None else (batch,))
    h = lead + (kwargs.get("proj_size") or HIDDEN,)
    return [h, lead + (HIDDEN,)] if cls == "LSTM" else [h]


def _flat(value) -> list:
    """The arrays of an output: a PackedSequence counts as its data, tuples are flattened."""
    if isinstance(value, TR.PackedSequence | JR.PackedSequence):
        return [value.data]
    if isinstance(value, tuple | list):
        return [a for v in value for a in _flat(v)]
    return [value]


def check_parity(theirs, ours, x: np.ndarray, hx, *, pack: tuple | None = None, eager: bool = True,
                 compiled: bool = True, atol: float = 2e-5, seed: int = 0) -> None:
    """Every output array (a PackedSequence's data, states) and the gradients of
    ``sum_i <output_i, cotangent_i>`` with respect to the input, the initial state(s) (None, an
    array or a tuple of arrays) and every parameter equal torch's, eagerly and compiled.

    ``pack=(lengths, batch_first)`` packs ``x`` (unsorted lengths, ``enforce_sorted=False``) on both
    sides before the call, so gradients flow through the packing too."""
    rng = np.random.default_rng(seed)
    theirs.zero_grad()
    x_t = torch.tensor(x, requires_grad=True)
    hx_t = None if hx is None else (torch.tensor(hx, requires_grad=True) if isinstance(hx, np.ndarray)
                                    else tuple(torch.tensor(h, requires_grad=True) for h in hx))

    def torch_input(value):
        return value if pack is None else TR.pack_padded_sequence(value, pack[0], pack[1], enforce_sorted=False)

    outs_t = _flat(theirs(torch_input(x_t), hx_t))
    cotangents = [rng.standard_normal(tuple(o.shape)).astype(x.dtype) for o in outs_t]
    sum((o * torch.tensor(c)).sum() for o, c in zip(outs_t, cotangents, strict=True)).backward()
    hx_grads_t = [] if hx is None else [h.grad for h in ((hx_t,) if isinstance(hx, np.ndarray) else hx_t)]
    param_grads_t = {name: p.grad for name, p in theirs.named_parameters()}
    cotangents_j = [jnp.asarray(c) for c in cotangents]

    def loss(module, value, *state):
        inp = value if pack is None else JR.pack_padded_sequence(value, pack[0], pack[1], enforce_sorted=False)
        outs = _flat(module(inp, state[0] if state else None))
        return sum((o * c).sum() for o, c in zip(outs, cotangents_j, strict=True)), outs

    state = () if hx is None else ((jnp.asarray(hx),) if isinstance(hx, np.ndarray)
                                   else (tuple(jnp.asarray(h) for h in hx),))
    grad = torchjax.func.grad(loss, argnums=tuple(range(2 + len(state))), has_aux=True)

    def check(grads, outs):
        assert len(outs) == len(outs_t)
        for o, o_t in zip(outs, outs_t, strict=True):
            assert_close(o, o_t, atol=atol, rtol=atol)
        param_grads, x_grad, *state_grads = grads
        assert_close(x_grad, x_t.grad, atol=atol, rtol=atol)
        for g, g_t in zip(_flat(state_grads), hx_grads_t, strict=True):
            assert_close(g, g_t, atol=atol, rtol=atol)
        assert list(param_grads) == list(param_grads_t)
        for name, g in param_grads.items():
            assert_close(g, param_grads_t[name], atol=atol, rtol=atol)

    x_j = jnp.asarray(x)
    if eager:
        check(*grad(ours, x_j, *state))
    if compiled:
        check(*torchjax.compile(grad)(ours, x_j, *state))
    assert_no_tracers(ours)


@pytest.mark.parametrize("mode_id,cls,kwargs,opts", CONFIGS,
                         ids=[f"{c[0]}-" + "".join(str(int(v)) for v in c[3].values()) for c in CONFIGS])
def test_rnn_matches_torch(mode_id, cls, kwargs, opts):
    rng = np.random.default_rng(len(CONFIGS) + sum(map(ord, mode_id)) + sum(opts.values()))
    layers, directions = (2 if opts["two_layers"] else 1), (2 if opts["bidirectional"] else 1)
    theirs, ours = _pair(cls, kwargs, num_layers=layers, bidirectional=opts["bidirectional"],
                         batch_first=opts["batch_first"], bias=opts["bias"])
    if opts["unbatched"]:
        shape, batch = (T, INPUT), None
    else:
        shape, batch = ((BATCH, T, INPUT) if opts["batch_first"] else (T, BATCH, INPUT)), BATCH
    x = rng.standard_normal(shape).astype(np.float32)
    hx = None
    if opts["hx"]:
        states = [rng.standard_normal(s).astype(np.float32) for s in _state_shapes(cls, kwargs, layers, directions,
                                                                                    batch)]
        hx = tuple(states) if cls == "LSTM" else states[0]
    # Eager gradients on one configuration per mode: each eager transform compiles its own programs.
    check_parity(theirs, ours, x, hx, eager=opts["two_layers"] and opts["bidirectional"])


@pytest.mark.parametrize("mode_id,cls,kwargs", [(i, *m) for i, m in zip(MODE_IDS, MODES, strict=True)], ids=MODE_IDS)
def test_packed_sequence_matches_torch(mode_id, cls, kwargs):
    """Unsorted lengths (enforce_sorted=False), two bidirectional layers and an initial state in the
    caller's batch order: packed output, h_n at each sequence's own last step, gradients."""
    rng = np.random.default_rng(sum(map(ord, mode_id)))
    batch_first = mode_id in ("rnn_relu", "lstm_proj")
    theirs, ours = _pair(cls, kwargs, num_layers=2, bidirectional=True, batch_first=batch_first)
    lengths = [2, T, 1]
    x = rng.standard_normal((BATCH, T, INPUT) if batch_first else (T, BATCH, INPUT)).astype(np.float32)
    states = [rng.standard_normal(s).astype(np.float32) for s in _state_shapes(cls, kwargs, 2, 2, BATCH)]
    hx = tuple(states) if cls == "LSTM" else states[0]
    check_parity(theirs, ours, x, hx, pack=(lengths, batch_first), eager=mode_id == "lstm")


def test_packed_sequence_passed_into_compile():
    """A PackedSequence built outside and passed in: batch_sizes stay static (pytree metadata), data and
    the permutations are traced; one program per batch_sizes; pad_packed_sequence works inside."""
    rng = np.random.default_rng(1)
    theirs, ours = _pair("GRU", {}, bidirectional=True)
    x = rng.standard_normal((T, BATCH, INPUT)).astype(np.float32)
    packed_t = TR.pack_padded_sequence(torch.tensor(x), [3, T, 2], enforce_sorted=False)
    packed = JR.pack_padded_sequence(jnp.asarray(x), [3, T, 2], enforce_sorted=False)
    leaves, treedef = jax.tree_util.tree_flatten(packed)
    assert len(leaves) == 3 and leaves[0] is packed.data.jax()  # the Tensors' arrays
    assert isinstance(jax.tree_util.tree_unflatten(treedef, leaves), JR.PackedSequence)

    traced = []

    @torchjax.compile
    def run(model, seq):
        traced.append(type(seq.data) is torchjax.Tensor and isinstance(seq.data.jax(), jax.core.Tracer))
        assert isinstance(seq.batch_sizes, np.ndarray)
        out, h = model(seq)
        padded, lengths = JR.pad_packed_sequence(out, batch_first=True)
        return out, h, padded, lengths

    out, h, padded, lengths = run(ours, packed)
    out_t, h_t = theirs(packed_t)
    padded_t, lengths_t = TR.pad_packed_sequence(out_t, batch_first=True)
    assert isinstance(out, JR.PackedSequence) and traced == [True]
    assert isinstance(out.batch_sizes, np.ndarray) and out.batch_sizes.dtype == np.int64
    np.testing.assert_array_equal(out.batch_sizes, to_numpy(out_t.batch_sizes))
    np.testing.assert_array_equal(to_numpy(out.sorted_indices), to_numpy(out_t.sorted_indices))
    np.testing.assert_array_equal(to_numpy(out.unsorted_indices), to_numpy(out_t.unsorted_indices))
    assert_close(out.data, out_t.data, atol=2e-5)
    assert_close(h, h_t, atol=2e-5)
    assert_close(padded, padded_t, atol=2e-5)
    np.testing.assert_array_equal(to_numpy(lengths), to_numpy(lengths_t))
    # Same lengths in another order: same batch_sizes, the compiled program is reused.
    other = JR.pack_padded_sequence(jnp.asarray(x[:, ::-1]), [2, T, 3], enforce_sorted=False)
    run(ours, other)
    assert traced == [True]
    run(ours, JR.pack_padded_sequence(jnp.asarray(x), [1, 2, 3], enforce_sorted=False))
    assert len(traced) == 2  # new batch_sizes: a new program


def test_traced_lengths_raise_a_clear_error():
    x = jnp.zeros((T, 2, INPUT))

    def pack(value, lengths):
        return JR.pack_padded_sequence(value, lengths, enforce_sorted=False).data

    with pytest.raises(TypeError, match="lengths must be concrete host values"):
        torchjax.compile(pack)(x, jnp.array([3, 2]))
    with pytest.raises(TypeError, match="lengths must be concrete"):
        jax.jit(lambda v, n: JR.unpad_sequence(v, n))(x, jnp.array([3, 2]))
    # Concrete lengths inside compile are fine (closed over / Python values).
    assert torchjax.compile(lambda v: pack(v, [3, 2]))(x).shape == (5, INPUT)


CELL_CASES = [
    ("RNNCell", {}, "batched-hx"),
    ("RNNCell", {"nonlinearity": "relu", "bias": False}, "unbatched-hx"),
    ("LSTMCell", {}, "unbatched"),
    ("LSTMCell", {"bias": False}, "batched-hx"),
    ("GRUCell", {}, "batched"),
    ("GRUCell", {"bias": False}, "unbatched-hx"),
]


@pytest.mark.parametrize("cls,kwargs,case", CELL_CASES, ids=[f"{c[0]}-{c[2]}" for c in CELL_CASES])
def test_cell_matches_torch(cls, kwargs, case):
    rng = np.random.default_rng(sum(map(ord, cls + case)))
    torch.manual_seed(0)
    theirs = getattr(torch.nn, cls)(INPUT, HIDDEN, **kwargs)
    ours = getattr(tnn, cls)(INPUT, HIDDEN, **kwargs)
    assert repr(ours) == repr(theirs)
    load_torch_state(ours, theirs)
    batch = () if case.startswith("unbatched") else (BATCH,)
    x = rng.standard_normal(batch + (INPUT,)).astype(np.float32)
    hx = None
    if case.endswith("hx"):
        states = [rng.standard_normal(batch + (HIDDEN,)).astype(np.float32) for _ in range(2 if cls == "LSTMCell"
                                                                                            else 1)]
        hx = tuple(states) if cls == "LSTMCell" else states[0]
    check_parity(theirs, ours, x, hx, compiled=case == "batched-hx")


def test_cell_under_vmap_and_as_a_scan_body():
    """A cell vmapped over a batch of unbatched inputs equals the batched call; a cell stepped in a
    Python loop equals the corresponding one-layer module (same weights)."""
    torchjax.manual_seed(0)
    cell = tnn.LSTMCell(INPUT, HIDDEN)
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.standard_normal((T, BATCH, INPUT)).astype(np.float32))
    h0 = jnp.asarray(rng.standard_normal((BATCH, HIDDEN)).astype(np.float32))
    c0 = jnp.asarray(rng.standard_normal((BATCH, HIDDEN)).astype(np.float32))
    batched = cell(x[0], (h0, c0))
    mapped = jax.vmap(lambda xi, h, c: cell(xi, (h, c)))(x[0], h0, c0)
    mapped_tj = torchjax.func.vmap(lambda m, xi, h, c: m(xi, (h, c)), in_dims=(None, 0, 0, 0))(cell, x[0], h0, c0)
    for a, b in zip((*mapped, *mapped_tj), (*batched, *batched), strict=True):
        assert_close(a, b, atol=1e-6)
    gru_cell = tnn.GRUCell(INPUT, HIDDEN)
    assert_close(jax.vmap(gru_cell)(x[0]), gru_cell(x[0]), atol=1e-6)

    lstm = tnn.LSTM(INPUT, HIDDEN)
    lstm.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    h, c = h0, c0
    outs = []
    for t in range(T):
        h, c = cell(x[t], (h, c))
        outs.append(h)
    out, (h_n, c_n) = lstm(x, (h0[None], c0[None]))
    assert_close(out, jnp.stack(outs), atol=1e-6)
    assert_close(h_n[0], h, atol=1e-6)
    assert_close(c_n[0], c, atol=1e-6)


# --- nn.utils.rnn -------------------------------------------------------------------------------------


def _both(fn):
    """fn(R, array) for torch and torchjax."""
    return fn(TR, lambda a: torch.tensor(np.asarray(a))), fn(JR, lambda a: jnp.asarray(np.asarray(a)))


def _assert_packed_equal(ours, theirs):
    assert isinstance(ours, JR.PackedSequence)
    assert_close(ours.data, theirs.data, atol=0)
    np.testing.assert_array_equal(ours.batch_sizes, to_numpy(theirs.batch_sizes))
    for a, b in ((ours.sorted_indices, theirs.sorted_indices), (ours.unsorted_indices, theirs.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


def test_utils_functions_match_torch():
    rng = np.random.default_rng(3)
    seqs = [rng.standard_normal((n, 2)).astype(np.float32) for n in (2, 4, 1, 4)]  # ties keep their order
    for batch_first in (False, True):
        for side in ("right", "left"):
            theirs, ours = _both(lambda R, arr, bf=batch_first, side=side: R.pad_sequence([arr(s) for s in seqs], bf,
                                                                                       -1.5, side))
            assert_close(ours, theirs, atol=0)
    # An array is a sequence of its rows; the first sequence's dtype wins.
    theirs, ours = _both(lambda R, arr: R.pad_sequence(arr(seqs[1])))
    assert_close(ours, theirs, atol=0)
    assert JR.pad_sequence([jnp.ones(2, jnp.int32), jnp.ones(3)]).dtype == jnp.int32

    padded = TR.pad_sequence([torch.tensor(s) for s in seqs]).numpy()
    lengths = [len(s) for s in seqs]
    for batch_first in (False, True):
        data = padded.transpose(1, 0, 2) if batch_first else padded
        theirs, ours = _both(lambda R, arr, data=data, bf=batch_first: R.pack_padded_sequence(
            arr(data), lengths, bf, enforce_sorted=False))
        _assert_packed_equal(ours, theirs)
        for total_length, value in ((None, 0.0), (6, -2.0)):
            (p_t, l_t), (p_o, l_o) = (R.pad_packed_sequence(s, batch_first, value, total_length)
                                      for R, s in ((TR, theirs), (JR, ours)))
            assert_close(p_o, p_t, atol=0)
            # torch: an int64 CPU tensor (int32 here without x64)
            assert type(l_o) is torchjax.Tensor and l_o.dtype == jax.dtypes.canonicalize_dtype(np.int64)
            assert l_o.jax().devices() == {jax.devices("cpu")[0]}
            np.testing.assert_array_equal(l_o, to_numpy(l_t))
        for a, b in zip(JR.unpad_sequence(jnp.asarray(data), np.array(lengths), batch_first),
                        TR.unpad_sequence(torch.tensor(data), torch.tensor(lengths), batch_first), strict=True):
            assert_close(a, b, atol=0)
    # Sorted lengths, enforce_sorted=True: no permutation.
    order = [1, 3, 0, 2]
    theirs, ours = _both(lambda R, arr: R.pack_sequence([arr(seqs[i]) for i in order]))
    _assert_packed_equal(ours, theirs)
    assert ours.sorted_indices is None and ours.unsorted_indices is None
    theirs, ours = _both(lambda R, arr: R.pack_sequence([arr(s) for s in seqs], enforce_sorted=False))
    _assert_packed_equal(ours, theirs)
    for a, b in zip(JR.unpack_sequence(ours), TR.unpack_sequence(theirs), strict=True):
        assert_close(a, b, atol=0)
    perm = np.array([2, 0, 3, 1])
    np.testing.assert_array_equal(to_numpy(JR.invert_permutation(jnp.asarray(perm))),
                                  TR.invert_permutation(torch.tensor(perm)).numpy())
    np.testing.assert_array_equal(JR.invert_permutation(perm), TR.invert_permutation(torch.tensor(perm)).numpy())
    assert JR.invert_permutation(None) is None


def test_packed_sequence_class():
    data = jnp.arange(3.0)
    p = JR.PackedSequence(data, [2, 1])
    assert isinstance(p, tuple) and p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert type(p.data) is torchjax.Tensor
    assert p.batch_sizes.dtype == np.int64 and p.sorted_indices is None and p.unsorted_indices is None
    q = JR.PackedSequence((data, np.array([2, 1])), sorted_indices=jnp.array([1, 0]))
    np.testing.assert_array_equal(to_numpy(q.unsorted_indices), [1, 0])
    assert type(q.sorted_indices) is type(q.unsorted_indices) is torchjax.Tensor
    data_, batch_sizes, sorted_indices, unsorted_indices = q  # unpacks like torch's
    assert q.to(jnp.float32) is q and q.cpu() is q and q.pin_memory() is q and not q.is_pinned() and not q.is_cuda
    assert q.int().data.dtype == jnp.int32 and q.half().data.dtype == jnp.float16
    assert jax.tree_util.tree_map(lambda a: a * 2, q).batch_sizes.tolist() == [2, 1]
    raises_same(lambda: TR.PackedSequence(torch.zeros(3)), lambda: JR.PackedSequence(data))


@pytest.mark.parametrize("name", ["unsorted-enforced", "zero-length", "zero-length-unsorted", "lengths-count",
                                  "lengths-2d", "total-length", "empty-list", "padding-side", "trailing-dims",
                                  "not-iterable", "empty-pack", "one-dim-input"])
def test_utils_errors_match_torch(name):
    def scenario(R, arr):
        x = arr(np.zeros((4, 3, 2), np.float32))
        if name == "unsorted-enforced":
            return R.pack_padded_sequence(x, [2, 3, 1])
        if name == "zero-length":
            return R.pack_padded_sequence(x, [3, 2, 0])
        if name == "zero-length-unsorted":
            return R.pack_padded_sequence(x, [0, 2, 3], enforce_sorted=False)
        if name == "lengths-count":
            return R.pack_padded_sequence(x, [3, 2])
        if name == "lengths-2d":
            return R.pack_padded_sequence(x, arr(np.array([[3, 2, 1]])))
        if name == "total-length":
            return R.pad_packed_sequence(R.pack_padded_sequence(x, [3, 2, 1]), total_length=2)
        if name == "empty-list":
            return R.pad_sequence([])
        if name == "padding-side":
            return R.pad_sequence([x[0]], padding_side="middle")
        if name == "trailing-dims":
            return R.pad_sequence([arr(np.zeros((2, 3), np.float32)), arr(np.zeros((3, 2), np.float32))])
        if name == "not-iterable":
            return R.pad_sequence(5)
        if name == "empty-pack":
            return R.pack_sequence([arr(np.zeros((0, 1), np.float32))])
        return R.pack_padded_sequence(arr(np.zeros(3, np.float32)), [3])

    theirs, ours = raises_same(lambda: scenario(TR, lambda a: torch.tensor(np.asarray(a))),
                               lambda: scenario(JR, lambda a: jnp.asarray(np.asarray(a))))
    assert str(ours) == str(theirs) or name in ("trailing-dims",)


# --- dropout between layers -------------------------------------------------------------------------


def test_dropout_between_layers_only_and_only_in_training():
    """A two-layer LSTM in training mode equals layer 0, F.dropout (the same generator draw), then
    layer 1: the mask is applied between the layers and not after the last. Eval is deterministic
    and dropout-free; a compiled step draws a new mask on every call."""
    rng = np.random.default_rng(4)
    x = jnp.asarray(rng.standard_normal((T, BATCH, INPUT)).astype(np.float32))
    torchjax.manual_seed(0)
    lstm = tnn.LSTM(INPUT, HIDDEN, num_layers=2, dropout=0.5)
    first, second = tnn.LSTM(INPUT, HIDDEN), tnn.LSTM(HIDDEN, HIDDEN)
    state = lstm.state_dict()
    first.load_state_dict({k: v for k, v in state.items() if k.endswith("_l0")})
    second.load_state_dict({k.replace("_l1", "_l0"): v for k, v in state.items() if k.endswith("_l1")})

    torchjax.manual_seed(7)
    out, (h, c) = lstm(x)
    torchjax.manual_seed(7)
    y0, (h0, c0) = first(x)
    dropped = tnn.functional.dropout(y0, 0.5, True)
    y1, (h1, c1) = second(dropped)
    assert_close(out, y1, atol=1e-6)
    assert_close(h, jnp.concatenate([h0, h1]), atol=1e-6)
    assert_close(c, jnp.concatenate([c0, c1]), atol=1e-6)
    kept = to_numpy(dropped) != 0
    assert 0.2 < kept.mean() < 0.8
    np.testing.assert_allclose(to_numpy(dropped)[kept], 2 * to_numpy(y0)[kept], rtol=1e-6)

    lstm.eval()
    eval_out = lstm(x)[0]
    assert_close(lstm(x)[0], eval_out, atol=0)
    assert_close(eval_out, second(first(x)[0])[0], atol=1e-6)
    assert not np.allclose(to_numpy(eval_out), to_numpy(out))

    # One layer: torch's warning, and nothing to drop (no dropout after the last layer).
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        single = tnn.GRU(INPUT, HIDDEN, dropout=0.5)
    assert_close(single(x)[0], single.eval()(x)[0], atol=0)

    lstm.train()
    step = torchjax.compile(lambda m, v: m(v)[0])
    a, b = step(lstm, x), step(lstm, x)
    assert not np.allclose(to_numpy(a), to_numpy(b))
    assert_no_tracers(lstm, torchjax.default_generator)


# --- structure: state_dict, repr, init, signatures ------------------------------------------------------


@pytest.mark.parametrize("cls,kwargs", [
    ("RNN", dict(num_layers=2, bidirectional=True, nonlinearity="relu")),
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=PROJ)),
    ("LSTM", dict(num_layers=2, bias=False, proj_size=PROJ)),
    ("GRU", dict(num_layers=3, bias=False, bidirectional=True)),
])
def test_state_dict_and_weight_lists_match_torch(cls, kwargs):
    theirs = getattr(torch.nn, cls)(INPUT, HIDDEN, **kwargs)
    ours = getattr(tnn, cls)(INPUT, HIDDEN, **kwargs)
    assert [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in ours.state_dict().items()]
    assert ours._flat_weights_names == theirs._flat_weights_names
    assert ours._all_weights == theirs._all_weights
    assert [[tuple(p.shape) for p in ws] for ws in ours.all_weights] == [
        [tuple(p.shape) for p in ws] for ws in theirs.all_weights]
    assert all(a is b for a, b in zip(ours._flat_weights, ours.parameters(), strict=True))
    ours.flatten_parameters()
    new = tnn.Parameter(jnp.zeros_like(ours.weight_ih_l0.data))
    ours.weight_ih_l0 = new
    assert ours._flat_weights[0] is new and ours.all_weights[0][0] is new
    assert load_torch_state(ours, theirs) is None


def test_reprs_match_torch():
    cases = [
        ("RNN", (3, 4, 2, "relu", False, True, 0.5, True), {}),
        ("RNN", (3, 4), dict(dropout=1)),
        ("LSTM", (3, 4), dict(proj_size=2, num_layers=2, bias=False, batch_first=True, dropout=0.25,
                              bidirectional=True)),
        ("GRU", (3, 4, 1), dict(bidirectional=True)),
        ("RNNBase", ("LSTM", 3, 4), {}),
        ("RNNCell", (3, 4), dict(bias=False, nonlinearity="relu")),
        ("LSTMCell", (3, 4), dict(bias=False)),
        ("GRUCell", (3, 4), {}),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cls, args, kwargs in cases:
            theirs, ours = getattr(torch.nn, cls)(*args, **kwargs), getattr(tnn, cls)(*args, **kwargs)
            assert repr(ours) == repr(theirs)
    assert tnn.RNN(3, 4, 2, "relu").nonlinearity == "relu" and tnn.RNN(3, 4).mode == "RNN_TANH"


def test_init_statistics():
    """Every parameter (biases and projections too) from U(-1/sqrt(hidden), 1/sqrt(hidden))."""
    torchjax.manual_seed(0)
    hidden = 16
    bound = 1 / np.sqrt(hidden)
    for model in (tnn.LSTM(8, hidden, proj_size=4, bidirectional=True), tnn.GRUCell(8, hidden)):
        values = np.concatenate([to_numpy(p).ravel() for p in model.parameters()])
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.98 * bound
        assert abs(values.mean()) < 0.05 * bound and abs(values.std() - bound / np.sqrt(3)) < 0.05 * bound
        firsts = [to_numpy(p).ravel()[0] for p in model.parameters()]
        assert len(set(firsts)) == len(firsts)  # independent draws
    torchjax.manual_seed(3)
    a = to_numpy(tnn.GRU(3, 4).weight_hh_l0)
    torchjax.manual_seed(3)
    assert_close(tnn.GRU(3, 4).weight_hh_l0, a, atol=0)
    assert tnn.LSTM(3, 4, dtype=torchjax.bfloat16).weight_ih_l0.dtype == jnp.bfloat16


@pytest.mark.parametrize("path", [
    "RNNBase.__init__", "RNN.__init__", "LSTM.__init__", "GRU.__init__", "RNN.forward", "LSTM.forward",
    "GRU.forward", "RNNCellBase.__init__", "RNNCell.__init__", "LSTMCell.__init__", "GRUCell.__init__",
    "RNNCell.forward", "LSTMCell.forward", "GRUCell.forward", "RNNBase.flatten_parameters",
    "RNNBase.check_forward_args", "RNNBase.check_hidden_size", "RNNBase.permute_hidden",
    "utils.rnn.pack_padded_sequence", "utils.rnn.pad_packed_sequence", "utils.rnn.pad_sequence",
    "utils.rnn.unpad_sequence", "utils.rnn.pack_sequence", "utils.rnn.unpack_sequence",
    "utils.rnn.invert_permutation", "utils.rnn.PackedSequence.__new__",
])
def test_signatures_match_torch(path):
    def resolve(root):
        obj = root
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    theirs, ours = inspect.signature(resolve(torch.nn)), inspect.signature(resolve(tnn))
    assert list(ours.parameters) == list(theirs.parameters)
    for name, p in theirs.parameters.items():
        assert ours.parameters[name].kind == p.kind, name
        assert ours.parameters[name].default == p.default, name


def test_public_names_match_torch():
    import torch.nn.modules.rnn as torch_rnn

    import torchjax.nn.modules.rnn as tj_rnn

    assert sorted(tj_rnn.__all__) == sorted(torch_rnn.__all__)
    assert sorted(JR.__all__) == sorted(TR.__all__)
    assert all(hasattr(tnn, name) for name in torch_rnn.__all__)
    assert tnn.utils.rnn is JR


# --- errors -------------------------------------------------------------------------------------------

ERRORS = {
    # construction
    "dropout-range": lambda nn, a: nn.RNN(3, 4, dropout=1.5),
    "dropout-bool": lambda nn, a: nn.RNN(3, 4, dropout=True),
    "dropout-str": lambda nn, a: nn.RNN(3, 4, dropout="a"),
    "bias-type": lambda nn, a: nn.GRU(3, 4, bias=1),
    "batch-first-type": lambda nn, a: nn.LSTM(3, 4, batch_first=1),
    "input-size-type": lambda nn, a: nn.RNN(3.0, 4),
    "input-size-zero": lambda nn, a: nn.RNN(0, 4),
    "hidden-size-type": lambda nn, a: nn.RNN(3, 4.0),
    "hidden-size-zero": lambda nn, a: nn.GRU(3, 0),
    "num-layers-zero": lambda nn, a: nn.LSTM(3, 4, num_layers=0),
    "proj-too-big": lambda nn, a: nn.LSTM(3, 4, proj_size=4),
    "proj-negative": lambda nn, a: nn.LSTM(3, 4, proj_size=-1),
    "proj-gru": lambda nn, a: nn.GRU(3, 4, proj_size=2),
    "proj-rnn": lambda nn, a: nn.RNN(3, 4, proj_size=2),
    "nonlinearity": lambda nn, a: nn.RNN(3, 4, 2, "gelu"),
    "mode": lambda nn, a: nn.RNNBase("FOO", 3, 4),
    "unknown-kwarg": lambda nn, a: nn.RNN(3, 4, foo=1),
    # forward
    "input-size": lambda nn, a: nn.RNN(3, 4)(a((2, 3, 4))),
    "hidden-size": lambda nn, a: nn.RNN(3, 4)(a((2, 3, 3)), a((1, 3, 5))),
    "hidden-batch": lambda nn, a: nn.GRU(3, 4)(a((2, 3, 3)), a((1, 2, 4))),
    "unbatched-hx-3d": lambda nn, a: nn.RNN(3, 4)(a((2, 3)), a((1, 1, 4))),
    "batched-hx-2d": lambda nn, a: nn.GRU(3, 4)(a((2, 2, 3)), a((1, 4))),
    "input-4d": lambda nn, a: nn.RNN(3, 4)(a((2, 3, 3, 1))),
    "input-1d": lambda nn, a: nn.GRU(3, 4)(a((3,))),
    "lstm-input-4d": lambda nn, a: nn.LSTM(3, 4)(a((2, 3, 3, 1))),
    "input-dtype": lambda nn, a: nn.RNN(3, 4)(a((2, 3, 3), np.float16)),
    "hx-dtype": lambda nn, a: nn.RNN(3, 4)(a((2, 3, 3)), a((1, 3, 4), np.float16)),
    "lstm-batched-cx-2d": lambda nn, a: nn.LSTM(3, 4)(a((2, 3, 3)), (a((1, 3, 4)), a((1, 3))),),
    "lstm-unbatched-hx-3d": lambda nn, a: nn.LSTM(3, 4)(a((2, 3)), (a((1, 1, 4)), a((1, 1, 4)))),
    "lstm-h-size": lambda nn, a: nn.LSTM(3, 4)(a((2, 3, 3)), (a((1, 3, 5)), a((1, 3, 4)))),
    "lstm-c-size": lambda nn, a: nn.LSTM(3, 4)(a((2, 3, 3)), (a((1, 3, 4)), a((1, 3, 5)))),
    "lstm-proj-h-size": lambda nn, a: nn.LSTM(3, 4, proj_size=2)(a((2, 3, 3)), (a((1, 3, 4)), a((1, 3, 4)))),
    "empty-sequence": lambda nn, a: nn.RNN(3, 4)(a((0, 3, 3))),
    # cells
    "cell-input-size": lambda nn, a: nn.RNNCell(3, 4)(a((2, 5))),
    "cell-hidden-size": lambda nn, a: nn.RNNCell(3, 4)(a((2, 3)), a((2, 5))),
    "cell-hidden-batch": lambda nn, a: nn.GRUCell(3, 4)(a((2, 3)), a((3, 4))),
    "cell-unbatched-hx-2d": lambda nn, a: nn.RNNCell(3, 4)(a((3,)), a((2, 4))),
    "cell-batched-hx-1d": lambda nn, a: nn.RNNCell(3, 4)(a((2, 3)), a((4,))),
    "cell-input-3d": lambda nn, a: nn.RNNCell(3, 4)(a((1, 2, 3))),
    "cell-hx-3d": lambda nn, a: nn.GRUCell(3, 4)(a((2, 3)), a((1, 2, 4))),
    "lstm-cell-c-size": lambda nn, a: nn.LSTMCell(3, 4)(a((2, 3)), (a((2, 4)), a((2, 5)))),
    "lstm-cell-c-batch": lambda nn, a: nn.LSTMCell(3, 4)(a((2, 3)), (a((2, 4)), a((3, 4)))),
    "lstm-cell-hx-3d": lambda nn, a: nn.LSTMCell(3, 4)(a((2, 3)), (a((2, 4)), a((1, 2, 4)))),
    "cell-nonlinearity": lambda nn, a: nn.RNNCell(3, 4, nonlinearity="gelu")(a((3,))),
    "cell-dtype": lambda nn, a: nn.LSTMCell(3, 4)(a((2, 3), np.float16)),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    def scenario(nn, array):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ERRORS[name](nn, lambda shape, dtype=np.float32: array(np.zeros(shape, dtype)))

    theirs, ours = raises_same(lambda: scenario(torch.nn, torch.tensor), lambda: scenario(tnn, jnp.asarray))
    if not any(key in name for key in ("dtype", "unknown-kwarg")):
        assert str(ours) == str(theirs)


def test_float64_matches_torch_to_double_precision():
    """With 64-bit JAX, a bidirectional LSTM with projections matches torch's float64 closely."""
    rng = np.random.default_rng(5)
    with jax.enable_x64(True):
        torch.manual_seed(0)
        theirs = torch.nn.LSTM(INPUT, HIDDEN, proj_size=PROJ, bidirectional=True).double()
        ours = tnn.LSTM(INPUT, HIDDEN, proj_size=PROJ, bidirectional=True).double()
        load_torch_state(ours, theirs)
        x = rng.standard_normal((T, BATCH, INPUT))
        check_parity(theirs, ours, x, None, compiled=False, atol=1e-12)


def test_whole_rnns_under_vmap_equal_a_loop():
    """jax.vmap over an extra leading axis of inputs (and initial states) equals calling per slice."""
    rng = np.random.default_rng(7)
    xs = jnp.asarray(rng.standard_normal((3, 2, 4, 3)), jnp.float32)
    lstm = tnn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, proj_size=2)
    gru = tnn.GRU(3, 4)
    h0 = jnp.asarray(rng.standard_normal((3, 1, 4, 4)), jnp.float32)
    mapped = jax.vmap(lambda x: lstm(x)[0])(xs)
    assert_close(mapped, jnp.stack([lstm(x)[0] for x in xs]), atol=1e-6)
    mapped_h = jax.vmap(lambda x, h: gru(x, h)[1])(xs, h0)
    assert_close(mapped_h, jnp.stack([gru(x, h)[1] for x, h in zip(xs, h0, strict=True)]), atol=1e-6)

"""Everything torchjax returns is a Tensor, and every entry point takes Tensors, jax and NumPy arrays.

A sweep of the public callables of ``torchjax``, ``torchjax.nn.functional``, ``torchjax.linalg`` and
``torchjax.fft`` (each name its own test), of ``torchjax.nn.utils`` (and ``.rnn``), ``torchjax.func``, the
optimizers' state, ``torchjax.data`` and ``torchjax.serialization.load``. Each call runs in torch and in
torchjax with the same small valid inputs, given to torchjax as Tensors, as jax arrays and as NumPy
arrays; the rule checked is: a torch tensor in torch's result <=> a ``torchjax.Tensor`` in ours at the
same place, and no raw jax or NumPy array anywhere in ours.

The inputs come from torch's own OpInfo samples (``op_db``, by name, alias or in-place variant), else
from a short list of generic calls (the first one both libraries accept), else from ``TABLE``; names
with nothing to return (settings, seeding) are listed in ``NOT_CALLED`` with the reason.
"""

from __future__ import annotations

import inspect
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import torchjax
import torchjax.fft
import torchjax.func
import torchjax.linalg
import torchjax.nn.functional as F
import torchjax.nn.utils
import torchjax.nn.utils.rnn
import torchjax.optim
from torchjax import data as jdata

pytest.importorskip("expecttest")  # torch.testing._internal.common_utils needs it
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from torch.testing._internal.common_methods_invocations import op_db

KINDS = ("tensor", "jax", "numpy")


# --- the rule -------------------------------------------------------------------------------------
def _is_raw_array(value) -> bool:
    return isinstance(value, jax.Array | np.ndarray) and not isinstance(value, torchjax.Tensor)


def assert_kinds(ours, theirs, where: str = "result") -> None:
    """torch's tensor <=> our Tensor, recursively; nothing in ours is a raw jax or NumPy array."""
    if isinstance(theirs, torch.Tensor):
        assert type(ours) is torchjax.Tensor or isinstance(ours, torchjax.nn.Parameter), (
            f"{where}: torch gives a tensor, torchjax a {type(ours).__module__}.{type(ours).__name__}")
    elif isinstance(ours, torchjax.Tensor) or _is_raw_array(ours):
        raise AssertionError(f"{where}: torch gives {type(theirs).__name__}, torchjax a {type(ours).__name__}")
    elif isinstance(theirs, tuple | list) and isinstance(ours, tuple | list):
        assert len(ours) == len(theirs), f"{where}: {len(ours)} items, torch {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_kinds(a, b, f"{where}[{i}]")
    elif isinstance(theirs, dict) and isinstance(ours, dict):
        for key in theirs.keys() & ours.keys():
            assert_kinds(ours[key], theirs[key], f"{where}[{key!r}]")
    else:
        assert_tensors_only(ours, where)


def assert_tensors_only(ours, where: str = "result") -> None:
    """No raw jax or NumPy array anywhere in ``ours`` (for calls without a torch counterpart)."""
    if _is_raw_array(ours):
        raise AssertionError(f"{where}: a raw {type(ours).__name__}, not a Tensor")
    if isinstance(ours, tuple | list):
        for i, value in enumerate(ours):
            assert_tensors_only(value, f"{where}[{i}]")
    elif isinstance(ours, dict):
        for key, value in ours.items():
            assert_tensors_only(value, f"{where}[{key!r}]")


# --- inputs ---------------------------------------------------------------------------------------
class _Unconvertible(Exception):
    """A sample argument with no torchjax counterpart (a torch Generator, a torch module, ...)."""


def convert(value, kind: str):
    """A torch sample argument as torchjax takes it: tensors as ``kind`` (Tensor, jax or NumPy array)."""
    if isinstance(value, torch.Tensor):
        array = value.detach().resolve_conj().resolve_neg().cpu().numpy()
        if kind == "numpy":
            return array
        if kind == "jax":
            return jnp.asarray(array)
        return torchjax.tensor(array)
    if isinstance(value, torch.dtype):
        return getattr(torchjax, str(value).removeprefix("torch."))
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        raise _Unconvertible(type(value).__name__)
    if isinstance(value, list | tuple):
        return type(value)(convert(v, kind) for v in value)
    if isinstance(value, dict):
        return {k: convert(v, kind) for k, v in value.items()}
    if isinstance(value, torch.Generator | torch.nn.Module | torch.memory_format | torch.layout) or (
            callable(value) and not isinstance(value, type)):
        raise _Unconvertible(type(value).__name__)
    return value


def _torch_input(array: np.ndarray) -> torch.Tensor:
    return torch.tensor(array)


RNG = np.random.default_rng(0)
X, Y, Z = (RNG.uniform(0.1, 0.9, (3, 4)).astype(np.float32) for _ in range(3))
SQUARE = (RNG.standard_normal((3, 3)) + 3 * np.eye(3)).astype(np.float32)
X3, W3 = RNG.standard_normal((2, 3, 8)).astype(np.float32), RNG.standard_normal((4, 3, 3)).astype(np.float32)
X4, W4 = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32), RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)

# Generic calls for names without an OpInfo, tried in order: the first both libraries accept is used. ``T``
# makes an input from a NumPy array, ``L`` is the library (for its dtypes).
PROBES = [
    lambda T, L: (),
    lambda T, L: (T(X),),
    lambda T, L: (T(X), T(Y)),
    lambda T, L: (T(X), 1),
    lambda T, L: (T(X), T(Y), T(Z)),
    lambda T, L: ([T(X), T(Y)],),
    lambda T, L: (T(SQUARE),),
    lambda T, L: (T(SQUARE), T(SQUARE)),
    lambda T, L: (T(X3),),
    lambda T, L: (T(X4),),
    lambda T, L: (T(X3), T(W3)),
    lambda T, L: (T(X4), T(W4)),
    lambda T, L: (T(X), 0.5, True),
    lambda T, L: (T(X3), 0.5, True),
    lambda T, L: (T(X), [0]),
    lambda T, L: (T(X3), 2),
    lambda T, L: (T(X4), 2),
    lambda T, L: (T(X4), 3),
    lambda T, L: (T(X3), 2, 2),
    lambda T, L: (T(X4), 2, 2),
    lambda T, L: (T(X4), 1, 2),
    lambda T, L: ("ij->ji", T(X)),
    lambda T, L: (T(X[0, :1]),),
    lambda T, L: (1, T(X)),
    lambda T, L: (L.float32, L.int32),
    lambda T, L: ("cpu",),
    lambda T, L: (3, 4),
    lambda T, L: (5,),
]

# Names not called: they change process-wide settings (called here they would leak into other tests) and
# return None or a plain Python value in torch too.
NOT_CALLED = {
    "manual_seed": "seeds the default generator", "seed": "reseeds the default generator",
    "set_rng_state": "replaces the default generator's state",
    "compile": "returns a compiled callable (its results are swept in tests/test_compile.py)",
}
NOT_CALLED_PREFIXES = ("set_", "use_", "init_")

# torch removed these (they raise, in torch and here): name -> how many matrices they take.
REMOVED_FROM_TORCH = {"eig": 1, "symeig": 1, "solve": 2, "lstsq": 2, "matrix_rank": 1}

IDX = np.array([0, 2, 1])
T_, B_, I_, H_ = 2, 3, 4, 5  # recurrences: steps, batch, input and hidden sizes
RNN_IN, H0, C0 = (RNG.standard_normal(s).astype(np.float32) for s in ((T_, B_, I_), (1, B_, H_), (1, B_, H_)))
CELL_IN, CELL_H = RNN_IN[0], H0[0]


def _rnn_weights(T, gates: int) -> list:
    shapes = ((gates * H_, I_), (gates * H_, H_), (gates * H_,), (gates * H_,))
    return [T(RNG.standard_normal(shape).astype(np.float32)) for shape in shapes]


def _aten_recurrence(L, name: str, T, gates: int):
    hx = [T(H0), T(C0)] if name == "lstm" else T(H0)
    return getattr(L, name)(T(RNN_IN), hx, _rnn_weights(T, gates), True, 1, 0.0, False, False, False)


def _aten_cell(L, name: str, T, gates: int):
    hx = (T(CELL_H), T(CELL_H)) if name == "lstm_cell" else T(CELL_H)
    return getattr(L, name)(T(CELL_IN), hx, *_rnn_weights(T, gates))


def _saved_and_loaded(L, T, tmp: str):
    path = f"{tmp}/{L.__name__}.pt"
    L.save({"x": T(X), "nested": [T(Y), 3]}, path)
    return L.load(path)


def _both(call):
    """A TABLE row calling the same spelling in both libraries: ``call(L, T)``."""
    return (lambda T: call(torch, T), lambda T: call(torchjax, T))


def _both_f(call):
    return (lambda T: call(torch.nn.functional, T), lambda T: call(F, T))


_TMP = __import__("tempfile").mkdtemp(prefix="torchjax-return-types-")
THETA = np.array([[[1.0, 0.1, 0.0], [0.0, 1.0, 0.2]]], np.float32)
GRID = RNG.uniform(-1, 1, (1, 2, 2, 2)).astype(np.float32)
LOG_PROBS = np.log(RNG.dirichlet(np.ones(4), (6, 2)).astype(np.float32))
A16 = RNG.standard_normal((2, 16, 16)).astype(np.float32)
X_TBC, W_TBC = np.ascontiguousarray(X3.transpose(2, 0, 1)), np.ascontiguousarray(W3.transpose(2, 1, 0))
_STATS = (RNG.uniform(0, 1, 3).astype(np.float32), RNG.uniform(1, 2, 3).astype(np.float32))  # mean, invstd / var


def _stats(T):
    return [T(a) for a in _STATS]

# Calls the OpInfo samples and generic probes cannot build (ATen-level signatures, callables, files, ...):
# name -> (torch call, torchjax call[, input kinds]), each taking the input converter T. A torch call of None
# checks torchjax alone (no raw arrays).
TABLE = {
    "torchjax.tensor": _both(lambda L, T: L.tensor([1.0, 2.0])),
    "torchjax.as_tensor": _both(lambda L, T: L.as_tensor(T(X))),
    "torchjax.asarray": _both(lambda L, T: L.asarray(T(X))),
    "torchjax.from_numpy": _both(lambda L, T: L.from_numpy(X)),
    "torchjax.from_dlpack": (lambda T: torch.from_dlpack(torch.tensor(X)),
                             lambda T: torchjax.from_dlpack(jnp.asarray(X))),
    "torchjax.frombuffer": _both(lambda L, T: L.frombuffer(bytearray(16), dtype=L.float32)),
    "torchjax.backward": (None, lambda T: torchjax.backward(lambda m: m(T(X)).sum(), torchjax.nn.Linear(4, 2))),
    "torchjax.vmap": _both(lambda L, T: L.vmap(L.sin)(T(X))),
    "torchjax.cond": _both(lambda L, T: L.cond(T(np.array(True)), lambda a: a + 1, lambda a: a - 1, (T(X),))),
    "torchjax.while_loop": _both(lambda L, T: L.while_loop(lambda i: i < 3, lambda i: (i + 1,), (T(np.array(0)),))),
    "torchjax.get_rng_state": _both(lambda L, T: L.get_rng_state()),
    "torchjax.save": _both(lambda L, T: L.save(T(X), f"{_TMP}/{L.__name__}-one.pt")),
    "torchjax.load": _both(lambda L, T: _saved_and_loaded(L, T, _TMP)),
    "torchjax.unfold": (lambda T: T(X).unfold(1, 2, 1), lambda T: torchjax.unfold(T(X), 1, 2, 1)),
    "torchjax.embedding": _both(lambda L, T: L.embedding(T(Y), T(IDX))),
    "torchjax.embedding_renorm_": (*_both(lambda L, T: L.embedding_renorm_(T(Y), T(IDX), 0.5, 2.0)), ("tensor",)),
    "torchjax.segment_reduce": _both(lambda L, T: L.segment_reduce(T(X[0, :3]), "sum", lengths=T(np.array([1, 2])))),
    "torchjax.batch_norm": _both(lambda L, T: L.batch_norm(T(X3), T(np.ones(3, np.float32)), T(np.zeros(3, np.float32)),
                                                       T(np.zeros(3, np.float32)), T(np.ones(3, np.float32)), True,
                                                       0.1, 1e-5, False)),
    "torchjax.instance_norm": _both(lambda L, T: L.instance_norm(T(X3), None, None, None, None, True, 0.1, 1e-5,
                                                              False)),
    "torchjax.convolution": _both(lambda L, T: L.convolution(T(X4), T(W4), None, [1, 1], [0, 0], [1, 1], False, [0, 0],
                                                            1)),
    "torchjax.conv_tbc": _both(lambda L, T: L.conv_tbc(T(X_TBC), T(W_TBC), T(np.zeros(4, np.float32)), 1)),
    "F.conv_tbc": _both_f(lambda L, T: L.conv_tbc(T(X_TBC), T(W_TBC), T(np.zeros(4, np.float32)), 1)),
    "torchjax.embedding_bag": _both(lambda L, T: L.embedding_bag(T(Y), T(np.array([0, 2, 1, 1])), T(np.array([0, 2])),
                                                                False, 0, False, None, False, -1)),
    "torchjax.batch_norm_update_stats": _both(lambda L, T: L.batch_norm_update_stats(T(X3), *_stats(T), 0.1)),
    # torch runs these only on CUDA: torchjax alone
    "torchjax.batch_norm_stats": (None, lambda T: torchjax.batch_norm_stats(T(X3), 1e-5)),
    "torchjax.batch_norm_elemt": (None, lambda T: torchjax.batch_norm_elemt(T(X3), *_stats(T), *_stats(T), 1e-5)),
    "torchjax.batch_norm_gather_stats": (None, lambda T: torchjax.batch_norm_gather_stats(
        T(X3), *(T(a[None]) for a in _STATS), *_stats(T), 0.1, 1e-5, 8)),
    "torchjax.batch_norm_gather_stats_with_counts": (None, lambda T: torchjax.batch_norm_gather_stats_with_counts(
        T(X3), *(T(a[None]) for a in _STATS), *_stats(T), 0.1, 1e-5, T(np.array([8.0], np.float32)))),
    "torchjax.batch_norm_backward_reduce": (None, lambda T: torchjax.batch_norm_backward_reduce(
        T(X3), T(X3), *_stats(T), T(_STATS[1]), True, True, True)),
    "torchjax.batch_norm_backward_elemt": (None, lambda T: torchjax.batch_norm_backward_elemt(
        T(X3), T(X3), *_stats(T), T(_STATS[1]), *_stats(T), T(np.array([8], np.int32)))),
    "torchjax.cosine_embedding_loss": _both(lambda L, T: L.cosine_embedding_loss(T(X), T(Y), T(np.array([1, -1, 1])),
                                                                                0.0, 1)),
    "torchjax.poisson_nll_loss": _both(lambda L, T: L.poisson_nll_loss(T(X), T(Y), True, False, 1e-8, 1)),
    "torchjax.ctc_loss": _both(lambda L, T: L.ctc_loss(T(LOG_PROBS), T(np.array([[1, 2], [3, 1]])), [6, 6], [2, 2], 0,
                                                      1, False)),
    "torchjax.grid_sampler": _both(lambda L, T: L.grid_sampler(T(X4[:1]), T(GRID), 0, 0, False)),
    "torchjax.affine_grid_generator": _both(lambda L, T: L.affine_grid_generator(T(THETA), [1, 3, 4, 4], False)),
    "F.affine_grid": _both_f(lambda L, T: L.affine_grid(T(THETA), [1, 3, 4, 4], align_corners=False)),
    "F.fold": _both_f(lambda L, T: L.fold(T(RNG.standard_normal((1, 12, 9)).astype(np.float32)), (4, 4), 2)),
    "F.embedding": _both_f(lambda L, T: L.embedding(T(IDX), T(Y))),
    "F.grouped_mm": _both_f(lambda L, T: L.grouped_mm(T(A16), T(A16))),
    "F.scaled_mm": (None, lambda T: F.scaled_mm(
        jnp.asarray(A16[0], jnp.float8_e4m3fn), jnp.asarray(A16[1].T, jnp.float8_e4m3fn), T(np.float32(1.0)),
        F.ScalingType.TensorWise, T(np.float32(1.0)), F.ScalingType.TensorWise)),
    "torchjax.lstm": _both(lambda L, T: _aten_recurrence(L, "lstm", T, 4)),
    "torchjax.gru": _both(lambda L, T: _aten_recurrence(L, "gru", T, 3)),
    "torchjax.rnn_tanh": _both(lambda L, T: _aten_recurrence(L, "rnn_tanh", T, 1)),
    "torchjax.rnn_relu": _both(lambda L, T: _aten_recurrence(L, "rnn_relu", T, 1)),
    "torchjax.lstm_cell": _both(lambda L, T: _aten_cell(L, "lstm_cell", T, 4)),
    "torchjax.gru_cell": _both(lambda L, T: _aten_cell(L, "gru_cell", T, 3)),
    "torchjax.rnn_tanh_cell": _both(lambda L, T: _aten_cell(L, "rnn_tanh_cell", T, 1)),
    "torchjax.rnn_relu_cell": _both(lambda L, T: _aten_cell(L, "rnn_relu_cell", T, 1)),
}

# Known gaps of the rule: name -> why (each marked xfail, strict, so that fixing one shows here).
KNOWN_GAPS: dict[str, str] = {}


def _public_callables(module, prefix: str) -> list[str]:
    names = getattr(module, "__all__", None) or dir(module)
    return sorted(f"{prefix}.{n}" for n in set(names) if not n.startswith("_") and callable(getattr(module, n, None))
                  and not inspect.isclass(getattr(module, n)) and not inspect.ismodule(getattr(module, n)))


NAMESPACES = {  # our prefix -> (our module, torch's module, op_db's prefix)
    "torchjax": (torchjax, torch, ""),
    "F": (F, torch.nn.functional, "nn.functional."),
    "linalg": (torchjax.linalg, torch.linalg, "linalg."),
    "fft": (torchjax.fft, torch.fft, "fft."),
}
SWEPT = [name for prefix, (module, _, _) in NAMESPACES.items() for name in _public_callables(module, prefix)]


def _op_infos() -> dict[str, list]:
    """op_db's OpInfos by full name, also under their aliases."""
    infos: dict[str, list] = {}
    for info in op_db:
        for name in (info.name, *(alias.name for alias in info.aliases or ())):
            infos.setdefault(name, []).append(info)
    return infos


OP_INFOS = _op_infos()
SAMPLE_DTYPES = (torch.float32, torch.int64, torch.bool, torch.complex64)


def _split(name: str):
    prefix, short = name.split(".", 1)
    ours_module, torch_module, op_prefix = NAMESPACES[prefix]
    return getattr(ours_module, short), getattr(torch_module, short, None), op_prefix + short, short


def _samples(infos):
    for dtype in SAMPLE_DTYPES:
        for info in infos:
            if dtype not in info.dtypes:
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    samples = list(info.sample_inputs("cpu", dtype))[:4]
            except Exception:  # noqa: BLE001 - a sample generator torch itself cannot run here
                continue
            yield from samples


def _is_inplace(short: str) -> bool:
    return short.endswith("_") and not short.endswith("__")


def _op_db_names(op_name: str, short: str) -> list[str]:
    """Where op_db may have samples for a name: itself, its out-of-place base, the spelling without
    ``_copy`` / ``_with_indices`` / ``unsafe_`` / ``native_``, and for a top-level name F's."""
    base = op_name[:-1] if _is_inplace(short) else op_name
    names = [base]
    for suffix in ("_copy", "_with_indices"):
        names += [base.removesuffix(suffix)] if base.endswith(suffix) else []
    for prefix in ("unsafe_", "native_"):
        names += [base.replace(prefix, "", 1)] if prefix in base else []
    if "." not in base:
        names += [f"nn.functional.{n}" for n in names]
    return names


def _calls_from_op_db(op_name: str, short: str, torch_fn):
    """(torch call, torchjax call builder) pairs from the OpInfo samples, in-place names from the base op's."""
    inplace = _is_inplace(short)
    infos = [info for name in _op_db_names(op_name, short) for info in OP_INFOS.get(name, [])]
    for sample in _samples(infos):
        args = [sample.input, *sample.args]

        def torch_call(args=args, kwargs=sample.kwargs):
            call_args = [a.clone() if inplace and isinstance(a, torch.Tensor) and i == 0 else a
                         for i, a in enumerate(args)]
            return torch_fn(*call_args, **kwargs)

        def ours_call(fn, kind, args=args, kwargs=sample.kwargs):
            return fn(*convert(args, kind), **convert(dict(kwargs), kind))

        yield torch_call, ours_call, inplace


def _calls_from_probes(short: str, torch_fn):
    for probe in PROBES:
        yield (lambda probe=probe: torch_fn(*probe(_torch_input, torch)),
               lambda fn, kind, probe=probe: fn(*probe(lambda a: convert(_torch_input(a), kind), torchjax)),
               _is_inplace(short))


def _run(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


def _swept(name: str):
    return pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_GAPS[name], strict=True)) if name in KNOWN_GAPS \
        else name


@pytest.mark.parametrize("name", [_swept(name) for name in SWEPT])
def test_public_callables_return_tensors(name):
    fn, torch_fn, op_name, short = _split(name)
    if short in NOT_CALLED or short.startswith(NOT_CALLED_PREFIXES):
        return
    if short in REMOVED_FROM_TORCH and name.startswith("torchjax."):
        for lib, lib_fn in ((torch, torch_fn), (torchjax, fn)):
            with pytest.raises(RuntimeError, match="removed"):
                lib_fn(*[lib.eye(3)] * REMOVED_FROM_TORCH[short])
        return
    if name in TABLE:
        torch_call, ours_call, *kinds = TABLE[name]
        for kind in kinds[0] if kinds else KINDS:
            ours = _run(lambda kind=kind: ours_call(lambda a, kind=kind: convert(_torch_input(a), kind)))
            if torch_call is None:
                assert_tensors_only(ours, f"{name}({kind} inputs)")
            else:
                assert_kinds(ours, _run(lambda: torch_call(_torch_input)), f"{name}({kind} inputs)")
        return
    if torch_fn is None:
        pytest.fail(f"{name}: torch has no {short}; add a row to TABLE (a torchjax-only call is checked alone)")
    calls = [*_calls_from_op_db(op_name, short, torch_fn), *_calls_from_probes(short, torch_fn)]
    for torch_call, ours_call, inplace in calls:
        try:
            theirs = _run(torch_call)
        except (_Unconvertible, Exception):  # noqa: BLE001 - a call torch refuses: try the next one
            continue
        try:
            ours = _run(lambda ours_call=ours_call: ours_call(fn, "tensor"))
        except Exception:  # noqa: BLE001 - a sample torchjax refuses (its parity tests say whether it should)
            continue
        assert_kinds(ours, theirs, f"{name}(Tensor inputs)")
        for kind in () if inplace else KINDS[1:]:  # an in-place op needs a Tensor to write into
            try:
                ours = _run(lambda ours_call=ours_call, kind=kind: ours_call(fn, kind))
            except _Unconvertible:
                continue
            assert_kinds(ours, theirs, f"{name}({kind} inputs)")
        return
    pytest.fail(f"{name}: no sample or generic call that both torch and torchjax accept; add a row to TABLE")


# --- torchjax.nn.utils, .rnn --------------------------------------------------------------------------
def _params_with_grads(lib):
    """Two parameters with gradients (the same values in both libraries)."""
    params = [lib.nn.Parameter(lib.tensor(X)), lib.nn.Parameter(lib.tensor(Y[0]))]
    for p, grad in zip(params, (Z, Z[0]), strict=True):
        p.grad = lib.tensor(grad * 10)
    return params


def _packed(lib, T):
    return lib.nn.utils.rnn.pack_padded_sequence(T(RNN_IN), [2, 1, 2], enforce_sorted=False)


UTILS = {
    "clip_grad_norm_": lambda lib, T: lib.nn.utils.clip_grad_norm_(_params_with_grads(lib), 1.0),
    "clip_grad_norm": lambda lib, T: lib.nn.utils.clip_grad_norm(_params_with_grads(lib), 1.0),
    "clip_grad_value_": lambda lib, T: lib.nn.utils.clip_grad_value_(_params_with_grads(lib), 0.1),
    "clip_grads_with_norm_": lambda lib, T: lib.nn.utils.clip_grads_with_norm_(_params_with_grads(lib), 1.0,
                                                                               T(np.float32(5.0))),
    "get_total_norm": lambda lib, T: lib.nn.utils.get_total_norm([T(X), T(Y)]),
    "parameters_to_vector": lambda lib, T: lib.nn.utils.parameters_to_vector([T(X), T(Y)]),
    "vector_to_parameters": lambda lib, T: lib.nn.utils.vector_to_parameters(T(np.zeros(12, np.float32)),
                                                                             _params_with_grads(lib)[:1]),
    "rnn.pack_padded_sequence": lambda lib, T: tuple(_packed(lib, T)),
    "rnn.pack_sequence": lambda lib, T: tuple(lib.nn.utils.rnn.pack_sequence([T(X), T(Y[:2])])),
    "rnn.pad_packed_sequence": lambda lib, T: lib.nn.utils.rnn.pad_packed_sequence(_packed(lib, T)),
    "rnn.pad_sequence": lambda lib, T: lib.nn.utils.rnn.pad_sequence([T(X), T(Y[:2])]),
    "rnn.unpad_sequence": lambda lib, T: lib.nn.utils.rnn.unpad_sequence(T(RNN_IN), T(np.array([2, 1, 2]))),
    "rnn.unpack_sequence": lambda lib, T: lib.nn.utils.rnn.unpack_sequence(_packed(lib, T)),
    "rnn.invert_permutation": lambda lib, T: lib.nn.utils.rnn.invert_permutation(T(np.array([2, 0, 1]))),
}
# PackedSequence.batch_sizes stays a NumPy int64 array on the host (torch: an int64 CPU tensor): it fixes the
# shapes of everything computed from the packed data, so it is static pytree metadata under transforms.
_BATCH_SIZES = 1


def _without_batch_sizes(result):
    if isinstance(result, tuple) and len(result) == 4 and isinstance(result[_BATCH_SIZES], np.ndarray | torch.Tensor):
        return result[:_BATCH_SIZES] + result[_BATCH_SIZES + 1:]
    return result


def test_every_nn_utils_function_is_swept():
    ours = {*_public_callables(torchjax.nn.utils, "x"), *_public_callables(torchjax.nn.utils.rnn, "x.rnn")}
    assert {name.removeprefix("x.") for name in ours} == set(UTILS)


@pytest.mark.parametrize("name", UTILS)
@pytest.mark.parametrize("kind", KINDS)
def test_nn_utils_return_tensors(name, kind):
    call = UTILS[name]
    theirs = _run(lambda: call(torch, _torch_input))
    ours = _run(lambda: call(torchjax, lambda a: convert(_torch_input(a), kind)))
    assert_kinds(_without_batch_sizes(ours), _without_batch_sizes(theirs), name)
    if name in ("rnn.pack_padded_sequence", "rnn.pack_sequence"):
        assert isinstance(ours[_BATCH_SIZES], np.ndarray)


# --- torchjax.func --------------------------------------------------------------------------------------
def _func_calls(lib, T):
    # Spelled with the library's functions: torchjax hands a transformed function its inputs' own types (a
    # jax array stays one, for JAX code), torch always tensors.
    fn = lambda x: (lib.sin(x) * 2).sum()  # noqa: E731
    vec = lambda x: lib.sin(x)  # noqa: E731
    func = lib.func
    lib.manual_seed(0)
    model = lib.nn.Linear(4, 2)
    params = {k: T(v.detach().numpy() if isinstance(v, torch.Tensor) else np.asarray(v))
              for k, v in model.named_parameters()}
    return {
        "grad": func.grad(fn)(T(X)),
        "grad_and_value": func.grad_and_value(fn)(T(X)),
        "vjp": (lambda out, pullback: (out, pullback(T(np.ones((3, 4), np.float32)))))(*func.vjp(vec, T(X))),
        "jvp": func.jvp(vec, (T(X),), (T(Y),)),
        "vmap": func.vmap(vec)(T(X)),
        "jacrev": func.jacrev(vec)(T(X[0])),
        "jacfwd": func.jacfwd(vec)(T(X[0])),
        "hessian": func.hessian(fn)(T(X[0])),
        "functional_call": func.functional_call(model, params, (T(X),)),
    }


def test_every_func_transform_is_swept():
    assert {name.removeprefix("func.") for name in _public_callables(torchjax.func, "func")} == set(
        _func_calls(torchjax, lambda a: torchjax.tensor(a)))


@pytest.mark.parametrize("kind", KINDS)
def test_func_transforms_return_tensors(kind):
    theirs = _run(lambda: _func_calls(torch, _torch_input))
    ours = _run(lambda: _func_calls(torchjax, lambda a: convert(_torch_input(a), kind)))
    for name in theirs:
        assert_kinds(ours[name], theirs[name], f"func.{name}")


# --- optimizers: state and state_dict ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"])
def test_optimizer_state_is_tensors(name):
    results = []
    for lib in (torch, torchjax):
        params = _params_with_grads(lib)
        options = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
        opt = getattr(lib.optim, name)(params, lr=0.01, **options)
        opt.step()
        results.append(({i: opt.state[p] for i, p in enumerate(params)}, opt.state_dict()))
    (state, state_dict), (their_state, their_state_dict) = results[1], results[0]
    assert_kinds(state, their_state, f"{name}.state")
    assert_kinds(state_dict, their_state_dict, f"{name}.state_dict()")


# --- torchjax.data ----------------------------------------------------------------------------------
SAMPLES = [(X[0], 1), (X[1], 2)]


@pytest.mark.parametrize("kind", KINDS)
def test_data_returns_tensors(kind):
    def sample_kind(a):
        return convert(_torch_input(a), kind)

    samples_t = [(torch.tensor(x), y) for x, y in SAMPLES]
    samples = [(sample_kind(x), y) for x, y in SAMPLES]
    assert_kinds(jdata.default_collate(samples), torch.utils.data.default_collate(samples_t), "default_collate")
    assert_kinds(jdata.default_convert(samples[0]), torch.utils.data.default_convert(samples_t[0]), "default_convert")
    dataset_t = torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(IDX))
    dataset = jdata.TensorDataset(sample_kind(X), sample_kind(IDX))
    for batch_size in (2, None):
        batches = list(jdata.DataLoader(dataset, batch_size=batch_size))
        their_batches = list(torch.utils.data.DataLoader(dataset_t, batch_size=batch_size))
        assert_kinds(batches, their_batches, f"DataLoader(batch_size={batch_size})")
    if kind != "numpy":  # a NumPy-backed dataset's samples stay NumPy on the host (batches are Tensors)
        assert_kinds(dataset[0], dataset_t[0], "TensorDataset[0]")
        assert_kinds(dataset.tensors, dataset_t.tensors, "TensorDataset.tensors")


# --- torchjax.serialization.load ----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["torch", "safetensors"])
def test_load_returns_tensors(fmt, tmp_path):
    model_t = torch.nn.Linear(4, 2)
    opt_t = torch.optim.Adam(model_t.parameters())
    model_t(torch.tensor(X)).sum().backward()
    opt_t.step()
    checkpoint_t = {"model": model_t.state_dict(), "optimizer": opt_t.state_dict(), "epoch": 3}
    torch.save(checkpoint_t, tmp_path / "t.pt")
    assert_kinds(torchjax.load(tmp_path / "t.pt"), checkpoint_t, "load(torch file)")
    model = torchjax.nn.Linear(4, 2)
    opt = torchjax.optim.Adam(model.parameters())
    torchjax.backward(lambda m: m(X).sum(), model)
    opt.step()
    if fmt == "safetensors":
        torchjax.save(model.state_dict(), tmp_path / "m.safetensors")
        assert_kinds(torchjax.load(tmp_path / "m.safetensors"), model_t.state_dict(), "load(safetensors)")
    else:
        torchjax.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, tmp_path / "m.pt")
        assert_kinds(torchjax.load(tmp_path / "m.pt"), checkpoint_t, "load(our torch-format file)")

"""Shared helpers for tests that compare torchjax against torch (the oracle)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import torch

import torchjax
import torchjax.nn as tnn

# The two frameworks behind one interface, so a scenario is written once as ``build(lib)``.
TORCH = SimpleNamespace(
    name="torch",
    nn=torch.nn,
    module_hooks=torch.nn.modules.module,
    tensor=lambda a, dtype=np.float32: torch.tensor(np.asarray(a, dtype=dtype)),
    zeros=lambda *shape: torch.zeros(*shape),
    manual_seed=torch.manual_seed,
    tanh=torch.tanh,
)
TJ = SimpleNamespace(
    name="torchjax",
    nn=tnn,
    module_hooks=tnn.modules.module,
    tensor=lambda a, dtype=np.float32: jnp.asarray(np.asarray(a, dtype=dtype)),
    zeros=lambda *shape: torchjax.empty(*shape),
    manual_seed=torchjax.manual_seed,
    tanh=jnp.tanh,
)
LIBS = (TORCH, TJ)


def to_numpy(x) -> np.ndarray:
    """A NumPy copy of a torch tensor, jax array or Parameter (either framework)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, torchjax.Tensor):
        x = x.jax()
    return np.asarray(x)


def assert_close(ours, theirs, *, atol: float = 1e-5, rtol: float = 1e-5) -> None:
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape, f"shape {a.shape} != torch's {b.shape}"
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol)


def load_torch_state(ours: tnn.Module, theirs: torch.nn.Module) -> None:
    """Copy a torch module's state_dict into ours (strict), so outputs can be compared."""
    ours.load_state_dict({k: to_numpy(v) for k, v in theirs.state_dict().items()})


def raises_same(torch_fn: Callable, ours_fn: Callable) -> tuple[BaseException, BaseException]:
    """Run both; both must raise, with the same exception type. Returns (torch's, ours)."""
    errors = []
    for fn in (torch_fn, ours_fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - comparing whatever each side raises
            errors.append(e)
        else:
            errors.append(None)
    theirs, ours = errors
    assert theirs is not None, "torch did not raise (scenario is wrong)"
    assert ours is not None, f"torchjax did not raise; torch raised {type(theirs).__name__}: {theirs}"
    assert type(ours) is type(theirs), (
        f"torchjax raised {type(ours).__name__}: {ours}\n torch raised {type(theirs).__name__}: {theirs}"
    )
    return theirs, ours


@contextlib.contextmanager
def global_hooks_removed():
    """Snapshot both frameworks' global hook dicts and restore them, so tests cannot leak hooks."""
    names = [n for n in vars(TORCH.module_hooks) if n.startswith("_global_") and n.endswith(("hooks", "called",
                                                                                               "kwargs"))]
    saved = [(lib.module_hooks, n, dict(getattr(lib.module_hooks, n))) for lib in LIBS for n in names
             if hasattr(lib.module_hooks, n)]
    # Which kind of global backward hook (full or legacy) was registered first sticks for the process.
    flags = [(lib.module_hooks, lib.module_hooks._global_is_full_backward_hook) for lib in LIBS]
    try:
        yield
    finally:
        for mod, n, content in saved:
            d = getattr(mod, n)
            d.clear()
            d.update(content)
        for mod, flag in flags:
            mod._global_is_full_backward_hook = flag


def assert_no_tracers(*objects) -> None:
    """Every parameter's data and grad, every buffer of these Modules (and every Generator's key)
    is a concrete array: no transform left a tracer behind."""
    import jax

    for obj in objects:
        if isinstance(obj, torchjax.Generator):
            assert not isinstance(obj._key, jax.core.Tracer), "tracer left in a Generator's key"
            continue
        for name, p in obj.named_parameters(remove_duplicate=False):
            assert isinstance(p.jax(), jax.Array) and not isinstance(p.jax(), jax.core.Tracer), f"{name}.data"
            assert p.grad is None or not isinstance(p.grad.jax(), jax.core.Tracer), f"{name}.grad"
        for name, b in obj.named_buffers(remove_duplicate=False):
            assert isinstance(b, torchjax.Tensor), f"buffer {name} is a {type(b).__name__}, not a Tensor"
            assert isinstance(b.jax(), jax.Array) and not isinstance(b.jax(), jax.core.Tracer), f"buffer {name}"


def check_forward_and_gradients(theirs: torch.nn.Module, ours: tnn.Module, x: np.ndarray, *, atol: float = 1e-5,
                                rtol: float = 1e-5, seed: int = 0, eager: bool = True) -> None:
    """Output, input gradient and parameter gradients of ``<module(x), cotangent>`` equal torch's:
    eagerly (a forward, then ``torchjax.func.grad``; skipped with ``eager=False``, as op-by-op
    execution compiles every primitive and dominates test time) and inside one ``torchjax.compile``
    program."""
    rng = np.random.default_rng(seed)
    theirs.zero_grad()
    x_t = torch.tensor(x, requires_grad=True)
    out_t = theirs(x_t)
    cotangent = rng.standard_normal(tuple(out_t.shape)).astype(np.float32)
    (out_t * torch.tensor(cotangent)).sum().backward()
    param_grads_t = {name: p.grad for name, p in theirs.named_parameters()}
    x, cotangent = jnp.asarray(x), jnp.asarray(cotangent)

    def loss(module, value):
        return (module(value) * cotangent).sum()

    grad = torchjax.func.grad(loss, argnums=(0, 1))

    def check(out, grads):
        param_grads, x_grad = grads
        assert_close(out, out_t, atol=atol, rtol=rtol)
        assert_close(x_grad, x_t.grad, atol=atol, rtol=rtol)
        assert param_grads.keys() == param_grads_t.keys()
        for name, g in param_grads.items():
            assert_close(g, param_grads_t[name], atol=atol, rtol=rtol)

    if eager:
        check(ours(x), grad(ours, x))
    check(*torchjax.compile(lambda m, v: (m(v), grad(m, v)))(ours, x))


def check_call_parity(theirs: torch.nn.Module, ours: tnn.Module, args: tuple, kwargs: dict | None = None, *,
                      atol: float = 1e-5, rtol: float = 1e-5, seed: int = 0, compiled: bool = True) -> None:
    """``module(*args, **kwargs)`` against torch: every output (a tensor or a tuple; None entries
    must match) and the gradients of ``sum_i <output_i, cotangent_i>`` with respect to the
    parameters and to every floating NumPy array in ``args``, eagerly and in one compiled program.

    NumPy arrays become tensors / jax arrays; one object passed at several positions (self-attention's
    ``query is key is value``) stays one object on both sides and gets one, summed, gradient.
    Arrays in ``kwargs`` (masks) are passed but not differentiated.
    """
    kwargs = kwargs or {}
    rng = np.random.default_rng(seed)
    position: dict[int, int] = {}
    arrays: list[np.ndarray] = []
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f" and id(a) not in position:
            position[id(a)] = len(arrays)
            arrays.append(a)

    def rebuild(values, convert):
        return [values[position[id(a)]] if id(a) in position else convert(a) for a in args]

    def torch_value(v):
        return torch.tensor(v) if isinstance(v, np.ndarray) else v

    def jax_value(v):
        return jnp.asarray(v) if isinstance(v, np.ndarray) else v

    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_t = theirs(*rebuild(tensors, torch_value), **{k: torch_value(v) for k, v in kwargs.items()})
    outs_t = out_t if isinstance(out_t, tuple) else (out_t,)
    cotangents = [None if o is None else rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in outs_t]
    sum((o * torch.tensor(c)).sum() for o, c in zip(outs_t, cotangents, strict=True) if o is not None).backward()
    param_grads_t = {name: p.grad for name, p in theirs.named_parameters()}
    kwargs_j = {k: jax_value(v) for k, v in kwargs.items()}
    cotangents_j = [None if c is None else jnp.asarray(c) for c in cotangents]

    def call(module, *values):
        return module(*rebuild(values, jax_value), **kwargs_j)

    def loss(module, *values):  # one forward gives the output (aux) and the gradients
        out = call(module, *values)
        outs = out if isinstance(out, tuple) else (out,)
        return sum((o * c).sum() for o, c in zip(outs, cotangents_j, strict=True) if o is not None), out

    grad = torchjax.func.grad(loss, argnums=tuple(range(len(arrays) + 1)), has_aux=True)

    def check(grads, out):
        outs = out if isinstance(out, tuple) else (out,)
        assert len(outs) == len(outs_t)
        for o, o_t in zip(outs, outs_t, strict=True):
            assert (o is None) == (o_t is None)
            if o is not None:
                assert_close(o, o_t, atol=atol, rtol=rtol)
        param_grads, *input_grads = grads
        for g, t in zip(input_grads, tensors, strict=True):
            assert_close(g, t.grad, atol=atol, rtol=rtol)
        assert list(param_grads) == list(param_grads_t)
        for name, g in param_grads.items():
            if param_grads_t[name] is None:
                assert not np.any(to_numpy(g)), f"{name}: torch has no gradient, ours is nonzero"
            else:
                assert_close(g, param_grads_t[name], atol=atol, rtol=rtol)

    values = [jnp.asarray(a) for a in arrays]
    grads, _ = grad(ours, *values)
    check(grads, call(ours, *values))  # the plain eager call (after the gradient, which warmed its ops)
    if compiled:
        check(*torchjax.compile(grad)(ours, *values))


# --- op parity (tests/tensor): ``fn(lib, *tensors)`` run with lib=torch and lib=torchjax ------------------------
_X64_NAMES = {"int64": "int32", "float64": "float32", "complex128": "complex64", "uint64": "uint32"}


def dtype_name(dtype) -> str:
    """A dtype's name modulo JAX's 32-bit mode (torch's int64 is int32 here)."""
    name = str(dtype).split(".")[-1]
    return _X64_NAMES.get(name, name)


def _as_compared(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach().resolve_conj()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    data = t.jax()
    return np.asarray(data.astype(jnp.float32) if data.dtype == jnp.bfloat16 else data)


def assert_same_result(ours, theirs, tol: float = 1e-5) -> None:
    """Same structure (tuple, list, named tuple), tensors with the same dtype (modulo x64), shape and values,
    other results equal."""
    if isinstance(theirs, tuple | list):
        assert isinstance(ours, tuple | list) and len(ours) == len(theirs), (type(ours), ours, theirs)
        if hasattr(theirs, "_fields") or hasattr(theirs, "n_fields"):
            assert type(ours).__name__ == type(theirs).__name__, (type(ours), type(theirs))
        for o, t in zip(ours, theirs, strict=True):
            assert_same_result(o, t, tol)
        return
    if not isinstance(theirs, torch.Tensor):
        assert type(ours) is type(theirs), (type(ours), type(theirs), ours, theirs)
        if isinstance(theirs, float):
            np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
        else:
            assert ours == theirs, (ours, theirs)
        return
    assert isinstance(ours, torchjax.Tensor), type(ours)
    assert dtype_name(ours.dtype) == dtype_name(theirs.dtype), f"dtype {ours.dtype} != torch's {theirs.dtype}"
    a, b = _as_compared(ours), _as_compared(theirs)
    assert a.shape == b.shape, f"shape {a.shape} != torch's {b.shape}"
    tol = {"float16": max(tol, 2e-3), "bfloat16": max(tol, 1.6e-2)}.get(dtype_name(theirs.dtype), tol)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def as_lib_tensor(lib, value):
    """A NumPy array as a tensor of ``lib`` (torch or torchjax); anything else unchanged."""
    return lib.tensor(value) if isinstance(value, np.ndarray) else value


def check_op(fn, *args, compiled: bool = False, eager: bool = True, tol: float = 1e-5) -> None:
    """``fn(torch, *args)`` against ``fn(torchjax, *args)`` (NumPy arrays in ``args`` become each library's
    tensors): where torch raises, torchjax must raise the same exception type (eagerly); otherwise the results
    match, eagerly and, with ``compiled``, inside one ``torchjax.compile`` program (the tensors as its arguments).
    ``eager=False`` checks a result in the compiled program only (one XLA compilation instead of one per
    primitive: for thin aliases of functions whose eager path is tested elsewhere)."""
    def call(lib):
        return fn(lib, *(as_lib_tensor(lib, a) for a in args))

    try:
        theirs = call(torch)
    except Exception:  # noqa: BLE001 - then ours must raise the same type
        raises_same(lambda: call(torch), lambda: call(torchjax))
        return
    if eager:
        assert_same_result(call(torchjax), theirs, tol)
    if compiled or not eager:
        positions = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

        def run(*tensors):
            values = list(args)
            for i, t in zip(positions, tensors, strict=True):
                values[i] = t
            return fn(torchjax, *values)

        assert_same_result(torchjax.compile(run)(*(torchjax.tensor(args[i]) for i in positions)), theirs, tol)


def check_op_gradients(cases, *, rtol: float = 2e-4, atol: float = 2e-5) -> None:
    """Gradients of ``sum(fn(lib, *tensors))`` for each ``(label, fn, float32 arrays)``: torch's autograd against
    ``jax.grad`` of torchjax's, all cases in one jitted program."""
    import jax

    def ours(inputs):
        return [jax.grad(lambda values, fn=fn: jnp.sum(fn(torchjax, *(torchjax.as_tensor(v) for v in values)).jax()))(
            arrays) for (_, fn, _), arrays in zip(cases, inputs, strict=True)]

    for (label, fn, arrays), grads in zip(cases, jax.jit(ours)([c[2] for c in cases]), strict=True):
        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        fn(torch, *tensors).sum().backward()
        for got, t in zip(grads, tensors, strict=True):
            expected = np.zeros(t.shape, np.float32) if t.grad is None else t.grad.numpy(force=True)
            np.testing.assert_allclose(np.asarray(got), expected, rtol=rtol, atol=atol, err_msg=label)

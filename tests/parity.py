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
    if isinstance(x, tnn.Parameter):
        x = x.data
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
            assert isinstance(p.data, jax.Array) and not isinstance(p.data, jax.core.Tracer), f"{name}.data"
            assert p.grad is None or not isinstance(p.grad, jax.core.Tracer), f"{name}.grad"
        for name, b in obj.named_buffers(remove_duplicate=False):
            assert isinstance(b, jax.Array) and not isinstance(b, jax.core.Tracer), f"buffer {name}"

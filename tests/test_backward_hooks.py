"""Module backward hooks against torch: which hooks fire, in which order, how often, what they
see, what their return values change, and their errors.

torch runs ``loss.backward()``; torchjax runs ``torchjax.backward(lambda m: loss_fn(m, x), model)``
eagerly and inside ``torchjax.compile``. Compiled, hooks run once, while tracing, and see tracers:
there we compare the order and count of the calls at the first call and the effects (``.grad``
values, buffers), not the values the hooks saw.
"""

from __future__ import annotations

import contextlib
import warnings
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import (
    LIBS,
    TJ,
    TORCH,
    assert_close,
    assert_no_tracers,
    global_hooks_removed,
    load_torch_state,
    raises_same,
    to_numpy,
)

import torchjax

MODES = ("eager", "compiled")
X = np.random.RandomState(0).randn(5, 3).astype(np.float32)
NO_INPUT_WARNING = "Full backward hook is firing when gradients are computed with respect to module outputs"

# --- scenarios, written once for both frameworks ---------------------------------------------------


def tanh_module(lib):
    class Tanh(lib.nn.Module):
        def forward(self, x):
            return lib.tanh(x)

    return Tanh()


def net(lib):
    """l0 -> block(Linear, Tanh) -> l2. l0 (and the root) get the data, which does not require
    grad; block's and l2's inputs come from l0, so they are "perturbed"."""
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.l0 = nn.Linear(3, 4)
            self.block = nn.Sequential(nn.Linear(4, 4), tanh_module(lib))
            self.l2 = nn.Linear(4, 2)

        def forward(self, x):
            return self.l2(self.block(self.l0(x)))

    return Net()


def mix_net(lib):
    """A module with several positional inputs (arrays, a float, None), a kwarg and two outputs."""
    nn = lib.nn

    class Mix(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x, y, scale, nothing, *, offset):
            return self.lin(x) * y * scale + offset, y - x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = nn.Linear(3, 3)
            self.mix = Mix()

        def forward(self, x):
            h = self.pre(x)
            return self.mix(h, h * 2, 0.5, None, offset=h)

    return Net()


def counting_net(lib):
    """A module that updates buffers in its forward (a counter, a running mean) in training mode."""
    nn = lib.nn

    class Counting(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)
            self.register_buffer("count", lib.tensor(np.zeros(1)))
            self.register_buffer("running", lib.tensor(np.zeros(3)))

        def forward(self, x):
            if self.training:
                self.count = self.count + 1
                self.running = 0.9 * self.running + 0.1 * x.mean(0)
            return self.lin(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = nn.Linear(3, 3)
            self.counting = Counting()

        def forward(self, x):
            return self.counting(self.pre(x))

    return Net()


def pair(build):
    """(torch model, torchjax model) with the same state."""
    torch.manual_seed(0)
    theirs = build(TORCH)
    ours = build(TJ)
    load_torch_state(ours, theirs)
    return theirs, ours


def square_loss(model, x):
    return (model(x) ** 2).sum()


def mix_loss_both(model, x):
    a, b = model(x)
    return (a**2).sum() + (b * 3).sum()


def mix_loss_first(model, x):
    a, _ = model(x)
    return (a**2).sum()


def torch_backward(model, loss=square_loss, x=X):
    loss(model, torch.tensor(x)).backward()


def make_step(mode, loss=square_loss):
    """torchjax's ``loss.backward()`` as a callable ``step(model, x)``, eager or compiled."""

    def step(model, x):
        return torchjax.backward(lambda m: loss(m, x), model)

    return step if mode == "eager" else torchjax.compile(step)


def our_backward(model, mode, loss=square_loss, x=X):
    return make_step(mode, loss)(model, jnp.asarray(x))


def run(lib, model, mode, loss=square_loss, x=X):
    if lib is TORCH:
        torch_backward(model, loss, x)
    else:
        our_backward(model, mode, loss, x)


def shapes(grads):
    return tuple(None if g is None else tuple(g.shape) for g in grads)


def assert_grads_match(ours, theirs, atol=1e-5):
    ours_named, theirs_named = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert list(ours_named) == list(theirs_named)
    for name, p in theirs_named.items():
        q = ours_named[name]
        assert (q.grad is None) == (p.grad is None), name
        if p.grad is not None:
            assert_close(q.grad, p.grad, atol=atol, rtol=1e-5)


def hook_everything(model, log):
    """A recording pre-hook and full hook on every module, tagged with its name."""
    for name, m in model.named_modules():
        tag = name or "root"
        m.register_full_backward_pre_hook(lambda mod, go, tag=tag: log.append((tag, "pre", shapes(go))))
        m.register_full_backward_hook(
            lambda mod, gi, go, tag=tag: log.append((tag, "full", shapes(gi), shapes(go))))


@contextlib.contextmanager
def quiet():
    """Silence the no-input-requires-grad warning where a test is not about it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=NO_INPUT_WARNING)
        yield


# --- which hooks fire, in which order, seeing what --------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_order_counts_and_shapes_match_torch(mode):
    logs = []
    with global_hooks_removed(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib, model in zip(LIBS, pair(net), strict=True):
            log = []
            hooks = lib.module_hooks
            hooks.register_module_full_backward_pre_hook(
                lambda m, go, log=log: log.append(("global", type(m).__name__, "pre", shapes(go))))
            hooks.register_module_full_backward_hook(
                lambda m, gi, go, log=log: log.append(("global", type(m).__name__, "full", shapes(gi), shapes(go))))
            hook_everything(model, log)
            model.l2.register_full_backward_hook(
                lambda m, gi, go, log=log: log.append(("l2 prepended", "full")), prepend=True)
            model.l2.register_full_backward_pre_hook(
                lambda m, go, log=log: log.append(("l2 prepended", "pre")), prepend=True)
            if lib is TORCH:
                torch_backward(model)
            else:
                step = make_step(mode)
                step(model, jnp.asarray(X))
                first = list(log)
                model.zero_grad()  # grads None again: the compiled program is reused
                step(model, jnp.asarray(X))
                if mode == "compiled":  # hooks ran while tracing, once per compilation
                    assert log == first
                else:
                    assert log == first + first
                    del log[len(first):]
            logs.append(log)
    theirs, ours = logs
    assert len(theirs) == 2 * 6 * 2 + 2  # (global + local) x 6 modules x (pre, full) + 2 prepended
    assert ours == theirs


@pytest.mark.parametrize("mode", MODES)
def test_hooks_see_torchs_gradients_eagerly(mode):
    """The values (eager) and shapes (compiled) of grad_input and grad_output of every module."""
    seen = []
    for lib, model in zip(LIBS, pair(net), strict=True):
        log = []
        for m in model.modules():
            m.register_full_backward_hook(lambda mod, gi, go, log=log: log.append((gi, go)))
        with quiet():
            run(lib, model, mode)
        seen.append(log)
    theirs, ours = seen
    assert len(ours) == len(theirs) == 6
    for (gi, go), (tgi, tgo) in zip(ours, theirs, strict=True):
        assert shapes(gi) == shapes(tgi) and shapes(go) == shapes(tgo)
        if mode == "eager":
            for a, b in zip(gi + go, tgi + tgo, strict=True):
                if b is not None:
                    assert_close(a, b)


@pytest.mark.parametrize("mode", MODES)
def test_input_requiring_grad_gets_grad_input(mode):
    """x requires grad in torch; here x is a differentiated argument of func.grad. The root and l0
    now get a grad_input, and their full hooks fire after their submodules' (torch's order)."""
    log_t, log_o = [], []
    theirs, ours = pair(net)
    hook_everything(theirs, log_t)
    hook_everything(ours, log_o)
    x = torch.tensor(X, requires_grad=True)
    square_loss(theirs, x).backward()

    def grads(m, x):
        return torchjax.func.grad(square_loss, argnums=(0, 1))(m, x)

    if mode == "compiled":
        grads = torchjax.compile(grads)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every module has an input that requires grad: no warning
        param_grads, x_grad = grads(ours, jnp.asarray(X))
    assert log_o == log_t
    assert log_t[:2] == [("root", "pre", ((5, 2),)), ("l2", "pre", ((5, 2),))]
    assert log_t[-1] == ("root", "full", ((5, 3),), ((5, 2),))
    names = [n for n, _ in theirs.named_parameters()]
    assert list(param_grads) == names  # compiled outputs keep their dicts' key order too
    for name, p in theirs.named_parameters():
        assert_close(param_grads[name], p.grad)
    assert_close(x_grad, x.grad)
    assert_no_tracers(ours)


# --- what the hooks' return values change -----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_pre_hook_replacing_grad_output_changes_own_and_upstream_grads(mode):
    theirs, ours = pair(net)
    plain_t, _ = pair(net)
    torch_backward(plain_t)
    seen = []
    for lib, model in zip(LIBS, (theirs, ours), strict=True):
        log = []
        model.block.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
        model.block.register_full_backward_pre_hook(lambda m, go: (go[0] * 1.5,))  # sees the 2x
        model.block.register_full_backward_pre_hook(lambda m, go: None)  # keeps the replacement
        model.block.register_full_backward_hook(lambda m, gi, go, log=log: log.append(go[0]))
        with quiet():
            run(lib, model, mode)
        seen.append(log)
    assert_grads_match(ours, theirs)
    # block's own parameters and everything upstream (l0) got 3x; l2, downstream, did not
    for name, p in theirs.named_parameters():
        factor = 1.0 if name.startswith("l2") else 3.0
        assert_close(p.grad, plain_t.get_parameter(name).grad * factor)
    # the full hook sees the replaced grad_output (its values: eagerly)
    assert len(seen[0]) == len(seen[1]) == 1
    if mode == "eager":
        assert_close(seen[1][0], seen[0][0])


@pytest.mark.parametrize("mode", MODES)
def test_full_hook_replacing_grad_input_changes_only_upstream_grads(mode):
    theirs, ours = pair(net)
    plain_t, _ = pair(net)
    torch_backward(plain_t)
    seen = []
    for lib, model in zip(LIBS, (theirs, ours), strict=True):
        log = []
        model.block.register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
        model.block.register_full_backward_hook(lambda m, gi, go, log=log: log.append(gi[0]))  # sees 3x
        model.block.register_full_backward_hook(lambda m, gi, go: None)  # keeps the replacement
        with quiet():
            run(lib, model, mode)
        seen.append(log)
    assert_grads_match(ours, theirs)
    for name, p in theirs.named_parameters():
        factor = 3.0 if name.startswith("l0") else 1.0
        assert_close(p.grad, plain_t.get_parameter(name).grad * factor)
    if mode == "eager":
        assert_close(seen[1][0], seen[0][0])


@pytest.mark.parametrize("mode", MODES)
def test_grads_accumulate_across_hooked_backwards(mode):
    theirs, ours = pair(net)
    for model in (theirs, ours):
        model.block.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    with quiet():
        torch_backward(theirs)
        torch_backward(theirs)
        step = make_step(mode)
        step(ours, jnp.asarray(X))
        step(ours, jnp.asarray(X))
    assert_grads_match(ours, theirs)


@pytest.mark.parametrize("mode", MODES)
def test_full_hook_returning_none_grad_input_cuts_the_upstream_graph(mode):
    """Upstream parameters then get no gradient at all: .grad stays None, as in torch."""
    theirs, ours = pair(net)
    for lib, model in zip(LIBS, (theirs, ours), strict=True):
        model.block.register_full_backward_hook(lambda m, gi, go: (None,))
        with quiet():
            run(lib, model, mode)
    assert theirs.l0.weight.grad is None
    assert_grads_match(ours, theirs)


def twice_net(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.shared = nn.Linear(3, 3)

        def forward(self, x):
            return self.shared(self.shared(self.a(x)) * 2)

    return Net()


@pytest.mark.parametrize("mode", MODES)
def test_module_called_twice_fires_its_hooks_per_call(mode):
    seen = []
    for lib, model in zip(LIBS, pair(twice_net), strict=True):
        log = []
        model.shared.register_full_backward_pre_hook(lambda m, go, log=log: log.append(("pre", go[0])))
        model.shared.register_full_backward_hook(lambda m, gi, go, log=log: log.append(("full", gi[0])))
        model.shared.register_full_backward_hook(lambda m, gi, go: (gi[0] * 2,))
        run(lib, model, mode)
        seen.append((log, model))
    (log_t, theirs), (log_o, ours) = seen
    assert [k for k, _ in log_o] == [k for k, _ in log_t] == ["pre", "full", "pre", "full"]
    if mode == "eager":  # the second call's backward comes first
        for (_, a), (_, b) in zip(log_o, log_t, strict=True):
            assert_close(a, b)
    assert_grads_match(ours, theirs)


@pytest.mark.parametrize("mode", MODES)
def test_module_whose_output_needs_no_grad_fires_nothing(mode):
    """A frozen first layer fed the data: its output needs no gradient, so torch runs no hook."""
    seen = []
    for lib, model in zip(LIBS, pair(net), strict=True):
        log = []
        model.l0.requires_grad_(False)
        model.l0.register_full_backward_pre_hook(lambda m, go, log=log: log.append("pre"))
        model.l0.register_full_backward_hook(lambda m, gi, go, log=log: log.append("full"))
        run(lib, model, mode)
        seen.append((log, model))
    (log_t, theirs), (log_o, ours) = seen
    assert log_o == log_t == []
    assert_grads_match(ours, theirs)


# --- errors and removal -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["pre", "full"])
def test_wrong_number_of_returned_grads_raises(mode, kind):
    theirs, ours = pair(net)
    for model in (theirs, ours):
        if kind == "pre":
            model.l2.register_full_backward_pre_hook(lambda m, go: (go[0], go[0]))
        else:
            model.l2.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    before = {n: to_numpy(p) for n, p in ours.named_parameters()}
    with quiet():
        err_t, err_o = raises_same(lambda: torch_backward(theirs), lambda: our_backward(ours, mode))
    what = "grad_output" if kind == "pre" else "grad_input"
    assert f"returned an invalid number of {what}, got 2, but expected 1" in str(err_t)
    assert f"returned an invalid number of {what}, got 2, but expected 1" in str(err_o)
    assert_no_tracers(ours, torchjax.default_generator)
    for name, p in ours.named_parameters():
        assert p.grad is None
        np.testing.assert_array_equal(to_numpy(p), before[name])


def test_mixing_full_and_legacy_hooks_raises():
    for first, second in (("register_full_backward_hook", "register_backward_hook"),
                          ("register_backward_hook", "register_full_backward_hook")):
        theirs, ours = pair(net)
        getattr(theirs.l2, first)(lambda *a: None)
        getattr(ours.l2, first)(lambda *a: None)
        err_t, err_o = raises_same(partial(getattr(theirs.l2, second), lambda *a: None),
                                   partial(getattr(ours.l2, second), lambda *a: None))
        assert str(err_o).startswith("Cannot use both regular backward hooks and full backward hooks on a single")
        assert str(err_t).startswith("Cannot use both regular backward hooks and full backward hooks on a single")
        # the other module of the tree is unaffected
        getattr(ours.l0, second)(lambda *a: None)
    for first, second in (("register_module_full_backward_hook", "register_module_backward_hook"),
                          ("register_module_backward_hook", "register_module_full_backward_hook")):
        with global_hooks_removed():
            for lib in LIBS:
                lib.module_hooks._global_is_full_backward_hook = None
            for lib in LIBS:
                getattr(lib.module_hooks, first)(lambda *a: None).remove()
            # torch keeps the global kind even after the hook is removed
            err_t, err_o = raises_same(partial(getattr(TORCH.module_hooks, second), lambda *a: None),
                                       partial(getattr(TJ.module_hooks, second), lambda *a: None))
            assert str(err_o).startswith("Cannot use both regular backward hooks and full backward hooks as a global")


@pytest.mark.parametrize("mode", MODES)
def test_removed_hooks_do_not_fire(mode):
    logs = []
    with global_hooks_removed():
        for lib, model in zip(LIBS, pair(net), strict=True):
            log = []
            handles = [
                lib.module_hooks.register_module_full_backward_pre_hook(lambda m, go, log=log: log.append("gpre")),
                lib.module_hooks.register_module_full_backward_hook(lambda m, gi, go, log=log: log.append("gfull")),
                model.l2.register_full_backward_pre_hook(lambda m, go, log=log: log.append("pre")),
                model.l2.register_full_backward_hook(lambda m, gi, go: (gi[0] * 100,)),
                model.l0.register_backward_hook(lambda m, gi, go, log=log: log.append("legacy")),
            ]
            model.l2.register_full_backward_hook(lambda m, gi, go, log=log: log.append("kept"))
            for handle in handles:
                handle.remove()
            handles[0].remove()  # removing twice is fine
            with quiet():
                run(lib, model, mode)
            logs.append((log, model))
    (log_t, theirs), (log_o, ours) = logs
    assert log_o == log_t == ["kept"]
    assert_grads_match(ours, theirs)


# --- no input requires grad ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_no_input_requiring_grad_fires_with_none_grad_input_and_warns(mode):
    seen = []
    for lib, model in zip(LIBS, pair(net), strict=True):
        log = []
        model.l0.register_full_backward_hook(lambda m, gi, go, log=log: log.append(("l0", shapes(gi), shapes(go))))
        model.l0.register_full_backward_hook(lambda m, gi, go: (None,))  # allowed: all None
        model.l0.register_full_backward_hook(lambda m, gi, go: None)
        model.l2.register_full_backward_hook(lambda m, gi, go, log=log: log.append(("l2", shapes(gi), shapes(go))))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run(lib, model, mode)
        messages = [str(w.message) for w in caught if NO_INPUT_WARNING in str(w.message)]
        seen.append((log, messages, model))
    (log_t, msgs_t, theirs), (log_o, msgs_o, ours) = seen
    assert log_o == log_t == [("l2", ((5, 4),), ((5, 2),)), ("l0", (None,), ((5, 4),))]
    assert len(msgs_o) == len(msgs_t) == 1
    assert msgs_t[0].startswith(msgs_o[0])
    assert_grads_match(ours, theirs)


@pytest.mark.parametrize("mode", MODES)
def test_no_input_requiring_grad_hook_must_return_none(mode):
    theirs, ours = pair(net)
    for model in (theirs, ours):
        model.l0.register_full_backward_hook(lambda m, gi, go: (go[0],))
    with quiet():
        err_t, err_o = raises_same(lambda: torch_backward(theirs), lambda: our_backward(ours, mode))
    assert str(err_o) == str(err_t)
    assert_no_tracers(ours)


# --- several inputs and outputs ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("loss", [mix_loss_both, mix_loss_first], ids=["both_outputs", "first_output"])
def test_multiple_inputs_and_outputs(mode, loss):
    """grad_input has one entry per positional argument (None for the float and the None), the
    kwarg is not in it and its gradient is not touched by the hooks; an unused output's
    grad_output is None."""
    seen = []
    for lib, model in zip(LIBS, pair(mix_net), strict=True):
        log = []
        mix = model.mix
        mix.register_full_backward_pre_hook(lambda m, go, log=log: log.append(("pre", shapes(go))))
        mix.register_full_backward_pre_hook(lambda m, go: (go[0] * 2, go[1]))
        mix.register_full_backward_hook(lambda m, gi, go, log=log: log.append(("full", shapes(gi), shapes(go))))
        mix.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.5, gi[1] * 3, None, None))
        run(lib, model, mode, loss=loss)
        seen.append((log, model))
    (log_t, theirs), (log_o, ours) = seen
    expected_go = ((5, 3), (5, 3)) if loss is mix_loss_both else ((5, 3), None)
    assert log_t == [("pre", expected_go), ("full", ((5, 3), (5, 3), None, None), expected_go)]
    assert log_o == log_t
    assert_grads_match(ours, theirs)


# --- buffers updated in forward -------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_buffer_updates_in_a_hooked_module_are_written_back(mode):
    theirs, ours = pair(counting_net)
    calls = []
    for model in (theirs, ours):
        model.counting.register_full_backward_hook(lambda m, gi, go: calls.append(m))
        model.counting.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    step = make_step(mode)
    for _ in range(2):
        torch_backward(theirs)
        step(ours, jnp.asarray(X))
    for name, buf in theirs.named_buffers():
        assert_close(ours.get_buffer(name), buf)
    assert_close(ours.counting.count, np.array([2.0]))
    assert_grads_match(ours, theirs)
    assert_no_tracers(ours)


# --- legacy register_backward_hook ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_legacy_backward_hook_has_full_hook_semantics(mode):
    """torch's legacy hook reports the last autograd node's gradients (for Linear: bias, input and
    weight grads); torchjax documents it as the full hook. It fires once per backward and its
    replacement of grad_input acts like the full hook's."""
    full_seen = []
    theirs, ours = pair(net)
    theirs.l2.register_full_backward_hook(lambda m, gi, go: full_seen.append((shapes(gi), shapes(go))))
    theirs.l2.register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
    legacy_seen = []
    ours.l2.register_backward_hook(lambda m, gi, go: legacy_seen.append((shapes(gi), shapes(go))))
    ours.l2.register_backward_hook(lambda m, gi, go: (gi[0] * 3,))
    with quiet():
        torch_backward(theirs)
        our_backward(ours, mode)
    assert legacy_seen == full_seen == [(((5, 4),), ((5, 2),))]
    assert_grads_match(ours, theirs)


@pytest.mark.parametrize("mode", MODES)
def test_global_legacy_backward_hook_fires_like_a_full_hook(mode):
    with global_hooks_removed():
        TJ.module_hooks._global_is_full_backward_hook = None
        legacy, full = [], []
        _, ours = pair(net)
        TJ.module_hooks.register_module_backward_hook(lambda m, gi, go: legacy.append((type(m).__name__, shapes(gi))))
        with quiet():
            our_backward(ours, mode)
        TJ.module_hooks._global_is_full_backward_hook = None
        TJ.module_hooks._global_backward_hooks.clear()
        _, ours = pair(net)
        TJ.module_hooks.register_module_full_backward_hook(
            lambda m, gi, go: full.append((type(m).__name__, shapes(gi))))
        with quiet():
            our_backward(ours, mode)
    assert len(legacy) == 6
    assert legacy == full


# --- a hook that raises leaves no tracer behind ---------------------------------------------------


@pytest.mark.parametrize("how", ["eager", "compiled", "func.grad"])
@pytest.mark.parametrize("kind", ["pre", "full"])
def test_hook_raising_in_backward_leaves_state_untouched(how, kind):
    _, ours = pair(counting_net)
    ours.pre.weight.grad = jnp.ones((3, 3))

    def fail(*args):
        raise ValueError("hook failed")

    if kind == "pre":
        ours.counting.register_full_backward_pre_hook(fail)
    else:
        ours.counting.register_full_backward_hook(fail)
    before = jax.tree_util.tree_map(np.asarray, ours.state_dict())
    key = np.asarray(torchjax.default_generator._key)
    x = jnp.asarray(X)
    with pytest.raises(ValueError, match="hook failed"):
        if how == "func.grad":
            torchjax.func.grad(square_loss)(ours, x)
        else:
            our_backward(ours, how)
    assert_no_tracers(ours, torchjax.default_generator)
    after = ours.state_dict()
    for name, value in before.items():
        np.testing.assert_array_equal(np.asarray(after[name]), value, err_msg=name)
    np.testing.assert_array_equal(np.asarray(torchjax.default_generator._key), key)
    assert [n for n, p in ours.named_parameters() if p.grad is not None] == ["pre.weight"]
    np.testing.assert_array_equal(np.asarray(ours.pre.weight.grad), np.ones((3, 3)))
    # and the module still works afterwards
    ours.counting._backward_hooks.clear()
    ours.counting._backward_pre_hooks.clear()
    our_backward(ours, "eager")
    assert_no_tracers(ours)

"""torchjax.func against torch.func: functional_call, grad, grad_and_value, vjp, jvp, jacrev,
jacfwd, hessian and vmap, with Modules as arguments; buffers and generator keys written back;
no tracer left behind, also when the function raises."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.func as tf
from nets import network, running_norm
from parity import TJ, TORCH, assert_close, assert_no_tracers, load_torch_state, raises_same, to_numpy

import torchjax
import torchjax.func as jf
import torchjax.nn as tnn
from torchjax import _random

# torch.func's own internals warn about torch.jit.script on first use
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

RNG = np.random.default_rng(0)
X3 = RNG.standard_normal((5, 3)).astype(np.float32)
Y2 = RNG.standard_normal((5, 2)).astype(np.float32)
X4 = RNG.standard_normal((5, 4)).astype(np.float32)
Y6 = RNG.standard_normal((5, 6)).astype(np.float32)

# --- models, written once for both frameworks --------------------------------------------------------


def tied_net(lib):
    """Two Linear(3, 3) sharing a weight, and a buffer used in the forward."""
    nn = lib.nn
    lib.manual_seed(0)

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.b = nn.Linear(3, 3)
            self.b.weight = self.a.weight
            self.register_buffer("shift", lib.tensor(np.arange(3) * 0.1))

        def forward(self, x):
            return self.b(self.a(x) + self.shift)

    return Tied()


def linear(lib):
    lib.manual_seed(0)
    return lib.nn.Linear(3, 2)


def pair(build):
    theirs, ours = build(TORCH), build(TJ)
    load_torch_state(ours, theirs)
    return theirs, ours


def t(a):
    return torch.tensor(np.asarray(a))


def j(a):
    return jnp.asarray(np.asarray(a))


def params_of(model):
    """torch.func's params dict (trainable parameters, detached)."""
    return {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}


def assert_tree_close(ours, theirs, atol=1e-5):
    """Nested dicts / tuples of arrays, compared by key (torch tensors on the torch side)."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), (list(ours), list(theirs))
        for k in theirs:
            assert_tree_close(ours[k], theirs[k], atol)
    elif isinstance(theirs, tuple | list):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert_tree_close(a, b, atol)
    else:
        assert_close(ours, theirs, atol=atol, rtol=1e-5)


def snapshot(model):
    """Every state array and grad of ``model`` and the default generator's key, as NumPy."""
    state = {k: to_numpy(v).copy() for k, v in model.state_dict(keep_vars=True).items()}
    grads = {n: None if p.grad is None else np.asarray(p.grad).copy() for n, p in model.named_parameters()}
    return state, grads, np.asarray(torchjax.default_generator._key).copy()


def assert_unchanged(model, before):
    assert_no_tracers(model, torchjax.default_generator)
    state, grads, key = snapshot(model)
    assert list(state) == list(before[0])
    for k in state:
        np.testing.assert_array_equal(state[k], before[0][k], err_msg=k)
    for k in grads:
        assert (grads[k] is None) == (before[1][k] is None), k
        if grads[k] is not None:
            np.testing.assert_array_equal(grads[k], before[1][k], err_msg=k)
    np.testing.assert_array_equal(key, before[2])


# --- functional_call -----------------------------------------------------------------------------------

W = np.linspace(-1, 1, 9).reshape(3, 3).astype(np.float32)
B = np.array([0.3, -0.2, 0.1], np.float32)
SHIFT = np.array([1.0, 2.0, 3.0], np.float32)


@pytest.mark.parametrize(
    "given, tie_weights",
    [
        (lambda c: {"a.weight": c(W)}, True),
        (lambda c: {"b.weight": c(W)}, True),
        (lambda c: {"a.weight": c(W)}, False),
        (lambda c: {"b.weight": c(W)}, False),
        (lambda c: {"a.weight": c(W), "b.weight": c(W) * 2}, False),
        (lambda c: {"shift": c(SHIFT), "a.bias": c(B)}, True),
        (lambda c: ({"b.bias": c(B)}, {"shift": c(SHIFT)}), True),
    ],
    ids=["one-tied-name", "other-tied-name", "untied-a", "untied-b", "untied-both", "buffer", "tuple-of-dicts"],
)
def test_functional_call_values_match_torch(given, tie_weights):
    theirs, ours = pair(tied_net)
    before = snapshot(ours)
    weight = ours.a.weight
    out_t = tf.functional_call(theirs, given(t), (t(X3),), tie_weights=tie_weights)
    out_o = jf.functional_call(ours, given(j), (j(X3),), tie_weights=tie_weights)
    assert_close(out_o, out_t)
    assert ours.a.weight is weight and ours.b.weight is weight  # the module is restored
    assert_unchanged(ours, before)


def test_functional_call_tied_names_both_given():
    theirs, ours = pair(tied_net)
    same_t, same_o = t(W), j(W)
    # the same object under both names is fine; different values are ambiguous
    assert_close(jf.functional_call(ours, {"a.weight": same_o, "b.weight": same_o}, j(X3)),
                 tf.functional_call(theirs, {"a.weight": same_t, "b.weight": same_t}, t(X3)))
    err_t, err_o = raises_same(
        lambda: tf.functional_call(theirs, {"a.weight": t(W), "b.weight": t(W)}, t(X3)),
        lambda: jf.functional_call(ours, {"a.weight": j(W), "b.weight": j(W)}, j(X3)))
    assert type(err_o) is ValueError and str(err_o) == str(err_t)


@pytest.mark.parametrize(
    "names, tie_weights",
    [
        (["a.weight"], True),  # missing biases and the buffer; b.weight is covered by the tie
        (["a.weight", "a.bias", "b.bias"], False),  # untied: b.weight is missing too
        (["a.weight", "a.bias", "b.bias", "shift", "extra"], True),  # unexpected
        (["a.weight", "extra"], True),  # both
    ],
)
def test_functional_call_strict_errors(names, tie_weights):
    theirs, ours = pair(tied_net)

    def values(model, c):
        state = {**dict(model.named_parameters(remove_duplicate=False)), **dict(model.named_buffers()),
                 "extra": np.ones(1, np.float32)}
        return {n: c(to_numpy(state[n])) for n in names}

    err_t, err_o = raises_same(
        lambda: tf.functional_call(theirs, values(theirs, t), t(X3), strict=True, tie_weights=tie_weights),
        lambda: jf.functional_call(ours, values(ours, j), j(X3), strict=True, tie_weights=tie_weights))
    assert type(err_o) is RuntimeError and str(err_o) == str(err_t)
    # every name once (a tied pair by one of its names) is complete
    complete = {**{n: p.data for n, p in ours.named_parameters()}, "shift": ours.shift}
    assert_close(jf.functional_call(ours, complete, j(X3), strict=True), theirs(t(X3)))


def test_functional_call_overlapping_dicts_raise():
    theirs, ours = pair(tied_net)
    err_t, err_o = raises_same(
        lambda: tf.functional_call(theirs, ({"a.bias": t(B)}, {"a.bias": t(B), "shift": t(SHIFT)}), t(X3)),
        lambda: jf.functional_call(ours, ({"a.bias": j(B)}, {"a.bias": j(B), "shift": j(SHIFT)}), j(X3)))
    assert type(err_o) is ValueError and str(err_o) == str(err_t)


def test_functional_call_kwargs_and_buffer_updates():
    """Kwargs reach the forward. A buffer the forward rebinds keeps its new value when it was not
    given (the module's own buffer is updated, as in torch); when it was given in a dict, the
    module's buffer is restored and the dict gets the new value (torch writes it back too)."""
    theirs, ours = pair(lambda lib: running_norm(lib)(3))
    x_t, x_o = t(X3), j(X3)
    new_w = np.full(3, 2.0, np.float32)
    out_t = tf.functional_call(theirs, {"weight": t(new_w)}, args=(), kwargs={"x": x_t})
    out_o = jf.functional_call(ours, {"weight": j(new_w)}, args=(), kwargs={"x": x_o})
    assert_close(out_o, out_t)
    for name, buf in theirs.named_buffers():
        assert_close(ours.get_buffer(name), buf, atol=1e-6)
    assert_close(ours.weight, theirs.weight)
    given_t = {"running_mean": t(SHIFT), "bias": t(B)}
    given_o = {"running_mean": j(SHIFT), "bias": j(B)}
    assert_close(jf.functional_call(ours, given_o, x_o), tf.functional_call(theirs, given_t, x_t))
    assert_close(given_o["running_mean"], given_t["running_mean"], atol=1e-6)
    assert_close(given_o["bias"], B)
    for name, buf in theirs.named_buffers():
        assert_close(ours.get_buffer(name), buf, atol=1e-6)
    assert int(ours.num_batches_tracked) == 2
    # inside jax.jit the given dict holds tracers and gets the traced update: the jitted function
    # can return it; a module buffer that was not given is not touched by a traced update
    new_mean = jax.jit(lambda g, x: (jf.functional_call(ours, g, x), g["running_mean"])[1])(
        {"running_mean": j(SHIFT)}, x_o)
    assert_close(new_mean, given_t["running_mean"], atol=1e-6)
    assert int(ours.num_batches_tracked) == 2
    assert_no_tracers(ours)


def test_functional_call_inside_jax_transforms():
    theirs, ours = pair(tied_net)
    before = snapshot(ours)
    params_t = params_of(theirs)
    params_o = {n: p.data for n, p in ours.named_parameters()}
    out = jax.jit(lambda p, x: jf.functional_call(ours, p, (x,)))(params_o, j(X3))
    assert_close(out, theirs(t(X3)))
    # Under raw jax.grad the loss must be an array: .jax() (docs/porting.md).
    g_o = jax.grad(lambda p: (jf.functional_call(ours, p, (j(X3),)) ** 2).sum().jax())(params_o)
    g_t = tf.grad(lambda p: (tf.functional_call(theirs, p, (t(X3),)) ** 2).sum())(params_t)
    assert_tree_close(g_o, g_t)
    assert_unchanged(ours, before)


# --- grad / grad_and_value with a Module ---------------------------------------------------------------


def mse(model, x, y):
    return ((model(x) - y) ** 2).mean()


def test_grad_of_a_module_matches_torch_backward():
    """The network has a shared block used twice, a tied weight, a frozen layer and running
    statistics: one key per trainable parameter, named_parameters() order, summed tied grads,
    frozen ones absent, buffers written back, .grad untouched."""
    theirs, ours = pair(network)
    loss_t = mse(theirs, t(X4), t(Y6))
    loss_t.backward()
    grads, value = jf.grad_and_value(mse)(ours, j(X4), j(Y6))
    assert list(grads) == [n for n, p in theirs.named_parameters() if p.requires_grad]
    assert "frozen.weight" not in grads and "out.weight" not in grads
    for name, g in grads.items():
        assert_close(g, theirs.get_parameter(name).grad)
    assert_close(value, loss_t.detach())
    for name, buf in theirs.named_buffers():
        assert_close(ours.get_buffer(name), buf, atol=1e-6)
    assert all(p.grad is None for p in ours.parameters())
    assert_no_tracers(ours, torchjax.default_generator)
    # grad is grad_and_value without the value
    theirs2, ours2 = pair(network)
    assert_tree_close(jf.grad(mse)(ours2, j(X4), j(Y6)), grads)


def test_grad_argnums_mixing_a_module_and_an_array_and_has_aux():
    theirs, ours = pair(linear)
    x_t = t(X3).requires_grad_()

    def loss_t(p, x):
        out = tf.functional_call(theirs, p, (x,))
        return (out**2).sum(), out

    (gp_t, gx_t), aux_t = tf.grad(loss_t, argnums=(0, 1), has_aux=True)(params_of(theirs), x_t.detach())

    def loss_o(m, x):
        out = m(x)
        return (out**2).sum(), out

    (gp_o, gx_o), aux_o = jf.grad(loss_o, argnums=(0, 1), has_aux=True)(ours, j(X3))
    assert_tree_close(gp_o, gp_t)
    assert_close(gx_o, gx_t)
    assert_close(aux_o, aux_t)
    # negative argnums, an array alone, and grad_and_value with has_aux
    gx_only = jf.grad(lambda m, x: loss_o(m, x)[0], argnums=-1)(ours, j(X3))
    assert_close(gx_only, gx_t)
    (gp2, gx2), (value, aux) = jf.grad_and_value(loss_o, argnums=(0, 1), has_aux=True)(ours, j(X3))
    assert_tree_close((gp2, gx2), (gp_t, gx_t))
    assert_close(value, (aux_t**2).sum())
    assert_no_tracers(ours)


def test_grad_errors_match_torch():
    theirs, ours = pair(linear)
    err_t, err_o = raises_same(lambda: tf.grad(lambda x: x * 2)(t(X3)), lambda: jf.grad(lambda x: x * 2)(j(X3)))
    assert type(err_o) is RuntimeError
    assert str(err_o).split(",")[0] == str(err_t).split(",")[0]
    raises_same(lambda: tf.grad(lambda p: tf.functional_call(theirs, p, t(X3)))(params_of(theirs)),
                lambda: jf.grad(lambda m: m(j(X3)))(ours))
    for bad in (3, ()):
        raises_same(partial(tf.grad(lambda x: x.sum(), argnums=bad), t(X3)),
                    partial(jf.grad(lambda x: x.sum(), argnums=bad), j(X3)))
    assert_no_tracers(ours)


# --- buffers updated inside a transform -----------------------------------------------------------------

NORM_TRANSFORMS = {
    "grad": lambda m, x: jf.grad(lambda m: (m(x) ** 2 * j(np.arange(3.0))).sum())(m),
    "grad_and_value": lambda m, x: jf.grad_and_value(lambda m, x: (m(x) ** 2).sum(), argnums=(0, 1))(m, x),
    "vjp": lambda m, x: jf.vjp(lambda m: m(x), m)[1](jnp.ones((5, 3))),
    "jvp": lambda m, x: jf.jvp(lambda m, x: m(x), (m, x), ({"weight": jnp.ones(3), "bias": jnp.ones(3)},
                                                           jnp.ones((5, 3)))),
    "jacrev": lambda m, x: jf.jacrev(lambda m, x: m(x))(m, x),
    "jacfwd": lambda m, x: jf.jacfwd(lambda m, x: m(x), argnums=1)(m, x),
    "hessian": lambda m, x: jf.hessian(lambda m: (m(x) ** 2).sum())(m),
}


@pytest.mark.parametrize("name", list(NORM_TRANSFORMS))
@pytest.mark.parametrize("training", [True, False])
def test_running_statistics_written_back_after_a_transform(name, training):
    theirs, ours = pair(lambda lib: running_norm(lib)(3))
    theirs.train(training)
    ours.train(training)
    theirs(t(X3))  # torch's buffers after the same forward
    NORM_TRANSFORMS[name](ours, j(X3))
    for buf_name, buf in theirs.named_buffers():
        assert_close(ours.get_buffer(buf_name), buf, atol=1e-6)
    assert int(ours.num_batches_tracked) == (1 if training else 0)
    assert_no_tracers(ours, torchjax.default_generator)


# --- vjp, jvp, jacrev, jacfwd, hessian on functions and on Linear models -------------------------------


def fn(lib):
    def f(x, y):
        return lib.tanh(x) * (y**2).sum() + x**3

    return f


XV = np.array([0.3, -0.7, 1.1], np.float32)
YV = np.array([0.5, -1.5], np.float32)


def test_vjp_and_jvp_of_functions_match_torch():
    ft, fo = fn(TORCH), fn(TJ)
    ct = np.array([1.0, -2.0, 0.5], np.float32)
    out_t, vjp_t = tf.vjp(ft, t(XV), t(YV))
    out_o, vjp_o = jf.vjp(fo, j(XV), j(YV))
    assert_close(out_o, out_t)
    assert_tree_close(vjp_o(j(ct)), vjp_t(t(ct)))
    (out_t, vjp_t, aux_t) = tf.vjp(lambda x, y: (ft(x, y), x * 2), t(XV), t(YV), has_aux=True)
    (out_o, vjp_o, aux_o) = jf.vjp(lambda x, y: (fo(x, y), x * 2), j(XV), j(YV), has_aux=True)
    assert_close(aux_o, aux_t)
    assert_tree_close(vjp_o(j(ct)), vjp_t(t(ct)))
    tangents = (np.array([1.0, 0.0, 2.0], np.float32), np.array([0.5, 1.0], np.float32))
    assert_tree_close(jf.jvp(fo, (j(XV), j(YV)), tuple(map(j, tangents))),
                      tf.jvp(ft, (t(XV), t(YV)), tuple(map(t, tangents))))
    assert_tree_close(jf.jvp(lambda x: (fo(x, j(YV)), x), (j(XV),), (j(tangents[0]),), has_aux=True),
                      tf.jvp(lambda x: (ft(x, t(YV)), x), (t(XV),), (t(tangents[0]),), has_aux=True))
    raises_same(lambda: tf.jvp(ft, (t(XV), t(YV)), (t(XV),)), lambda: jf.jvp(fo, (j(XV), j(YV)), (j(XV),)))


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian"])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_jacobians_of_functions_match_torch(transform, argnums):
    ft, fo = fn(TORCH), fn(TJ)
    if transform == "hessian":
        ft_, fo_ = (lambda x, y: ft(x, y).sum()), (lambda x, y: fo(x, y).sum())
    else:
        ft_, fo_ = ft, fo
    out_t = getattr(tf, transform)(ft_, argnums=argnums)(t(XV), t(YV))
    out_o = getattr(jf, transform)(fo_, argnums=argnums)(j(XV), j(YV))
    assert_tree_close(out_o, out_t)


def model_fn(lib, model):
    """The model as a function of (params-or-module, x): torch.func needs a params dict."""
    if lib is TORCH:
        return lambda p, x: tf.functional_call(model, p, (x,))
    return lambda m, x: m(x)


def test_module_vjp_and_jvp_match_torch():
    theirs, ours = pair(linear)
    f_t, f_o = model_fn(TORCH, theirs), model_fn(TJ, ours)
    ct = RNG.standard_normal((5, 2)).astype(np.float32)
    out_t, vjp_t = tf.vjp(lambda p: f_t(p, t(X3)), params_of(theirs))
    out_o, vjp_o = jf.vjp(lambda m: f_o(m, j(X3)), ours)
    assert_close(out_o, out_t)
    (g_o,), (g_t,) = vjp_o(j(ct)), vjp_t(t(ct))
    assert list(g_o) == list(g_t)
    assert_tree_close(g_o, g_t)
    tangent = {"weight": W[:2], "bias": B[:2]}
    out_t, jvp_t = tf.jvp(lambda p: f_t(p, t(X3)), (params_of(theirs),), ({k: t(v) for k, v in tangent.items()},))
    out_o, jvp_o = jf.jvp(lambda m: f_o(m, j(X3)), (ours,), ({k: j(v) for k, v in tangent.items()},))
    assert_close(out_o, out_t)
    assert_close(jvp_o, jvp_t)
    assert_no_tracers(ours)


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd", "hessian"])
def test_module_jacobians_match_torch(transform):
    theirs, ours = pair(linear)
    f_t, f_o = model_fn(TORCH, theirs), model_fn(TJ, ours)
    if transform == "hessian":
        g_t, g_o = (lambda p, x: (f_t(p, x) ** 2).sum()), (lambda m, x: (f_o(m, x) ** 2).sum())
    else:
        g_t, g_o = f_t, f_o
    out_t = getattr(tf, transform)(g_t, argnums=(0, 1))(params_of(theirs), t(X3))
    out_o = getattr(jf, transform)(g_o, argnums=(0, 1))(ours, j(X3))
    assert_tree_close(out_o, out_t)
    assert_no_tracers(ours)


def test_per_example_gradients_with_vmap():
    theirs, ours = pair(linear)

    def loss_t(p, x, y):
        return ((tf.functional_call(theirs, p, (x,)) - y) ** 2).sum()

    def loss_o(m, x, y):
        return ((m(x) - y) ** 2).sum()

    per_t = tf.vmap(tf.grad(loss_t), in_dims=(None, 0, 0))(params_of(theirs), t(X3), t(Y2))
    per_o = jf.vmap(jf.grad(loss_o), in_dims=(None, 0, 0))(ours, j(X3), j(Y2))
    assert {k: v.shape for k, v in per_o.items()} == {"weight": (5, 2, 3), "bias": (5, 2)}
    assert_tree_close(per_o, per_t)
    # plain vmap, in_dims as an int (the module is not mapped), out_dims
    out_o = jf.vmap(lambda m, x: m(x), out_dims=1)(ours, j(X3))
    out_t = tf.vmap(lambda x: theirs(x), out_dims=1)(t(X3))
    assert_close(out_o, out_t)
    err_t, err_o = raises_same(lambda: tf.vmap(loss_t, in_dims=(None, 0))(params_of(theirs), t(X3), t(Y2)),
                               lambda: jf.vmap(loss_o, in_dims=(None, 0))(ours, j(X3), j(Y2)))
    assert "in_dims is not compatible with the structure of `inputs`" in str(err_o)
    assert_no_tracers(ours)


# --- a function raising midway leaves no tracer and no change -------------------------------------------


class Stateful(tnn.Module):
    """Updates a buffer, draws from the default generator, and can raise after doing both."""

    def __init__(self):
        super().__init__()
        self.lin = tnn.Linear(3, 3)
        self.register_buffer("count", jnp.zeros(()))
        self.fail = False

    def forward(self, x, noise=True):
        self.count = self.count + 1
        out = self.lin(x)
        if noise:  # not under a bare jax.jit, which cannot thread the generator
            out = out + 0.01 * jax.random.normal(_random.next_key(), x.shape)
        if self.fail:
            raise ValueError("failed midway")
        return out


def scalar(m, x):
    return m(x).sum()


RAISING = {
    "functional_call": lambda m, x: jf.functional_call(m, {"lin.bias": jnp.zeros(3)}, (x,)),
    "functional_call-jit": lambda m, x: jax.jit(lambda p, x: jf.functional_call(m, p, (x, False)))(
        {"lin.weight": m.lin.weight.data}, x),
    "grad": lambda m, x: jf.grad(scalar)(m, x),
    "grad_and_value": lambda m, x: jf.grad_and_value(scalar, argnums=(0, 1))(m, x),
    "vjp": lambda m, x: jf.vjp(lambda m: m(x), m),
    "jvp": lambda m, x: jf.jvp(lambda m: m(x), (m,), ({"lin.weight": jnp.ones((3, 3)), "lin.bias": jnp.ones(3)},)),
    "jacrev": lambda m, x: jf.jacrev(lambda m: m(x))(m),
    "jacfwd": lambda m, x: jf.jacfwd(lambda m: m(x))(m),
    "hessian": lambda m, x: jf.hessian(scalar)(m, x),
    "vmap": lambda m, x: jf.vmap(lambda m, x: m(x), in_dims=(None, 0))(m, x),
    "vmap-grad": lambda m, x: jf.vmap(jf.grad(scalar), in_dims=(None, 0))(m, x),
    "backward": lambda m, x: torchjax.backward(scalar, m, x),
    "compile": lambda m, x: torchjax.compile(lambda m, x: torchjax.backward(scalar, m, x))(m, x),
}


@pytest.mark.parametrize("name", list(RAISING))
def test_a_raising_function_leaves_no_tracer_and_no_change(name):
    torchjax.manual_seed(0)
    model = Stateful()
    model.lin.weight.grad = jnp.ones((3, 3))
    x = j(X3)
    RAISING[name](model, x)  # works, and changes the buffer and the key
    assert_no_tracers(model, torchjax.default_generator)
    # under a bare jax.jit the traced buffer update cannot come out: the buffer keeps its value
    assert float(model.count) == (0.0 if name == "functional_call-jit" else 1.0)
    before = snapshot(model)
    model.fail = True
    with pytest.raises(ValueError, match="failed midway"):
        RAISING[name](model, x)
    if name == "functional_call":
        # eager: the forward's side effects before the raise stay, as in torch (the buffer is
        # the module's own: it was not among the given values); the given bias is restored
        assert float(model.count) == 2.0
        model.count = jnp.ones(())
        torchjax.set_rng_state(before[2])
    assert_unchanged(model, before)


def test_a_step_raising_after_the_forward_under_compile():
    _, ours = pair(network)
    before = snapshot(ours)

    @torchjax.compile
    def step(m, x, y):
        torchjax.backward(mse, m, x, y)
        raise ValueError("after the backward")

    with pytest.raises(ValueError, match="after the backward"):
        step(ours, j(X4), j(Y6))
    assert_unchanged(ours, before)


# --- randomness inside a transform -----------------------------------------------------------------------


def test_default_generator_advances_inside_grad():
    torchjax.manual_seed(7)
    model = Stateful()
    x = j(X3)

    def noisy(m, x):
        out = m(x)
        return out.sum(), out

    key0 = np.asarray(torchjax.get_rng_state()).copy()
    _, first = jf.grad(noisy, has_aux=True)(model, x)
    key1 = np.asarray(torchjax.default_generator._key).copy()
    _, second = jf.grad(noisy, has_aux=True)(model, x)
    assert not np.array_equal(key0, key1)
    assert not np.array_equal(np.asarray(first), np.asarray(second))
    assert_no_tracers(model, torchjax.default_generator)
    torchjax.set_rng_state(key0)
    _, again = jf.grad(noisy, has_aux=True)(model, x)
    np.testing.assert_array_equal(np.asarray(again), np.asarray(first))
    # the same under vjp and inside a compiled function
    out_vjp, _ = jf.vjp(lambda m: m(x), model)
    assert not np.array_equal(np.asarray(out_vjp), np.asarray(first))
    step = torchjax.compile(lambda m, x: jf.grad(noisy, has_aux=True)(m, x)[1])
    a, b = np.asarray(step(model, x)), np.asarray(step(model, x))
    assert not np.array_equal(a, b)
    assert_no_tracers(model, torchjax.default_generator)


def test_closure_module_buffer_update_is_discarded_with_a_warning_not_leaked():
    class Running(tnn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("running", jnp.zeros(3))

        def forward(self, x):
            self.running = 0.9 * self.running + 0.1 * x.mean(0)
            return x * 2

    m = Running()
    with pytest.warns(UserWarning, match="buffer 'running'.*discarded"):
        torchjax.func.jvp(lambda x: m(x).sum(), (jnp.ones((2, 3)),), (jnp.ones((2, 3)),))
    assert not isinstance(m.running, jax.core.Tracer) and float(m.running.sum()) == 0.0
    with pytest.warns(UserWarning, match="discarded"):
        torchjax.func.grad(lambda x: m(x).sum())(jnp.ones((2, 3)))
    assert not isinstance(m.running, jax.core.Tracer)
    torchjax.func.grad(lambda m, x: m(x).sum())(m, jnp.ones((2, 3)))  # as an argument: carried out
    np.testing.assert_allclose(np.asarray(m.running), 0.1)


def test_forward_mode_transforms_run_through_modules_with_backward_hooks():
    m = tnn.Linear(3, 2)
    fired = []
    m.register_full_backward_hook(lambda mod, gi, go: fired.append(1))
    x = jnp.ones((1, 3))
    out, tangent = torchjax.func.jvp(lambda x: m(x), (x,), (jnp.ones((1, 3)),))
    jac = torchjax.func.jacfwd(lambda x: m(x).sum())(x)
    np.testing.assert_allclose(np.asarray(tangent).ravel(), np.asarray(m.weight.data.sum(1)), rtol=1e-6)
    assert jac.shape == (1, 3) and fired == []
    with pytest.warns(UserWarning, match="no inputs require gradients"):  # x is data, as in torch
        torchjax.backward(lambda m: m(x).sum(), m)
    assert fired == [1]

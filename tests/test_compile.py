"""torchjax.compile: equality with eager and torch, recompilation rules, state write-back, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from nets import network
from parity import TJ, TORCH, to_numpy

import torchjax
import torchjax.nn as tnn
from torchjax import _random


def sgd(model, lr):
    for p in model.parameters():
        if p.grad is not None:
            p.data = p.data - lr * p.grad


def loss_fn(model, x, y):
    return ((model(x) - y) ** 2).mean()


def train_step(model, x, y, lr):
    model.zero_grad()
    loss = torchjax.backward(loss_fn, model, x, y)
    sgd(model, lr)
    return loss


def batches(n, seed=0, rows=5):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((rows, 4)).astype(np.float32), rng.standard_normal((rows, 6)).astype(np.float32))
            for _ in range(n)]


def assert_concrete(module):
    for name, value in [*module.named_parameters(), *module.named_buffers()]:
        data = value.data if isinstance(value, tnn.Parameter) else value
        assert not isinstance(data, jax.core.Tracer), name
        if isinstance(value, tnn.Parameter) and value.grad is not None:
            assert not isinstance(value.grad, jax.core.Tracer), name


def test_compiled_steps_equal_eager_steps_and_torch():
    theirs = network(TORCH)
    eager, compiled = network(TJ), network(TJ)
    state = {k: to_numpy(v) for k, v in theirs.state_dict().items()}
    eager.load_state_dict(state)
    compiled.load_state_dict(state)
    torch_opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    step = torchjax.compile(train_step)
    for x, y in batches(4):
        torch_opt.zero_grad()
        loss_t = ((theirs(torch.tensor(x)) - torch.tensor(y)) ** 2).mean()
        loss_t.backward()
        torch_opt.step()
        loss_e = train_step(eager, jnp.asarray(x), jnp.asarray(y), 0.1)
        loss_c = step(compiled, jnp.asarray(x), jnp.asarray(y), 0.1)
        np.testing.assert_allclose(float(loss_c), loss_t.item(), rtol=1e-5)
        np.testing.assert_allclose(float(loss_e), float(loss_c), rtol=1e-6)
    for (name, t), (_, c), (_, e) in zip(theirs.state_dict().items(), compiled.state_dict().items(),
                                         eager.state_dict().items(), strict=True):
        np.testing.assert_allclose(to_numpy(c), to_numpy(t), atol=2e-5, err_msg=name)
        np.testing.assert_allclose(to_numpy(c), to_numpy(e), atol=1e-6, err_msg=name)
    assert compiled.out.weight is compiled.block.weight
    assert_concrete(compiled)


def test_recompiles_only_when_the_rules_say():
    traces = []

    @torchjax.compile
    def step(model, x, y, lr, mode="sum"):
        traces.append(1)
        loss = torchjax.backward(loss_fn, model, x, y)
        sgd(model, lr)
        return loss

    model = network(TJ)
    (x, y), (x2, y2) = [(jnp.asarray(a), jnp.asarray(b)) for a, b in batches(2)]
    step(model, x, y, 0.1)  # grads None -> traced
    step(model, x, y, 0.1)  # grads now arrays: which grads are None changed -> traced
    n = len(traces)
    for lr in (0.1, 0.05, 0.01):  # a new learning rate value is a new input, not a new program
        step(model, x2, y2, lr)
    assert len(traces) == n == 2
    model.eval()
    step(model, x, y, 0.1)
    assert len(traces) == 3  # training flag
    model.train()
    step(model, x, y, 0.1)
    assert len(traces) == 3  # back to a program already built
    model.inp.requires_grad_(False)
    step(model, x, y, 0.1)
    assert len(traces) == 4  # requires_grad flag
    model.inp.requires_grad_(True)
    step(model, x, y, 0.1)
    assert len(traces) == 4
    step(model, x[:3], y[:3], 0.1)
    assert len(traces) == 5  # shapes
    step(model, x, y, 0.1, mode="mean")
    assert len(traces) == 6  # static argument
    tnn.Linear(2, 2)  # an unrelated structural change elsewhere re-validates but does not retrace
    step(model, x, y, 0.1)
    assert len(traces) == 6
    model.extra = tnn.Linear(1, 1)  # a structural change of this model does
    step(model, x, y, 0.1)
    assert len(traces) == 7
    handle = model.inp.register_forward_hook(lambda m, a, o: o)
    step(model, x, y, 0.1)
    assert len(traces) == 8  # hooks run while tracing
    handle.remove()
    step(model, x, y, 0.1)
    assert len(traces) == 8


def test_deep_models_compile_and_match_eager():
    torchjax.manual_seed(0)
    deep = tnn.Sequential(*[tnn.Linear(8, 8) for _ in range(64)])
    reference = tnn.Sequential(*[tnn.Linear(8, 8) for _ in range(64)])
    reference.load_state_dict(deep.state_dict())
    x = jnp.ones((2, 8))
    step = torchjax.compile(lambda m, x, lr: (torchjax.backward(lambda m: m(x).sum(), m), sgd(m, lr))[0])
    for _ in range(2):
        reference.zero_grad()
        deep.zero_grad()
        step(deep, x, 0.01)
        torchjax.backward(lambda m: m(x).sum(), reference)
        sgd(reference, 0.01)
    np.testing.assert_allclose(to_numpy(deep[0].weight), to_numpy(reference[0].weight), atol=1e-6)


def test_module_reached_through_a_closure_raises_and_leaves_no_tracer():
    model = tnn.Linear(3, 3)
    before = to_numpy(model.weight).copy()

    @torchjax.compile
    def uses_global(x):
        return model(x).sum()

    with pytest.raises(RuntimeError, match="not one of its arguments"):
        uses_global(jnp.ones((1, 3)))
    assert_concrete(model)
    np.testing.assert_array_equal(to_numpy(model.weight), before)

    @torchjax.compile
    def creates_its_own(x):
        return tnn.Identity()(x)  # modules created while tracing are fine

    np.testing.assert_array_equal(np.asarray(creates_its_own(jnp.ones(2))), np.ones(2))


def test_randomness_advances_and_reproduces():
    def noisy(model, x):
        return model(x) + jax.random.normal(_random.next_key(), x.shape)

    step = torchjax.compile(noisy)
    model = tnn.Identity()
    x = jnp.zeros(4)
    torchjax.manual_seed(3)
    first, second = np.asarray(step(model, x)), np.asarray(step(model, x))
    assert not np.array_equal(first, second)
    torchjax.manual_seed(3)
    np.testing.assert_array_equal(np.asarray(step(model, x)), first)
    assert not isinstance(torchjax.default_generator.get_state().jax(), jax.core.Tracer)
    gen = torchjax.Generator().manual_seed(5)
    draw = torchjax.compile(lambda g: jax.random.uniform(g.next_key(), (3,)))
    a, b = np.asarray(draw(gen)), np.asarray(draw(gen))
    assert not np.array_equal(a, b)
    with pytest.raises(RuntimeError, match="does not thread its state"):
        jax.jit(lambda v: v + jax.random.normal(_random.next_key(), v.shape))(x)
    assert not isinstance(torchjax.default_generator.get_state().jax(), jax.core.Tracer)


def test_compile_module_runs_forward_with_live_state_and_hooks():
    model = tnn.Sequential(tnn.Linear(3, 4), tnn.Flatten(0))
    calls = []
    model.register_forward_hook(lambda m, a, o: calls.append(o.shape))
    fast = torchjax.compile(model)
    x = jnp.ones((2, 3))
    np.testing.assert_allclose(np.asarray(fast(x)), np.asarray(model(x)), rtol=1e-6)
    fast(x)
    assert calls == [(8,), (8,), (8,)][:len(calls)] and 2 <= len(calls) <= 3  # eager call + one trace
    model[0].weight.fill_(0.0)
    np.testing.assert_allclose(np.asarray(fast(x)), np.tile(to_numpy(model[0].bias), 2), rtol=1e-6)
    assert fast.training is True and isinstance(fast._orig_mod[0], tnn.Linear)
    assert repr(fast).startswith("CompiledModule(Sequential(")


@pytest.mark.parametrize("donate", [True, False])
def test_donation_invalidates_old_state_only_when_asked(donate):
    model = tnn.Linear(4, 4)
    step = torchjax.compile(train_step, donate=donate)
    x, y = jnp.ones((2, 4)), jnp.zeros((2, 4))
    step(model, x, y, 0.1)
    old = model.weight.jax()
    step(model, x, y, 0.1)
    assert old.is_deleted() is donate
    assert not model.weight.jax().is_deleted()


def test_the_same_array_in_two_slots_is_donated_safely():
    model = tnn.Module()
    shared = jnp.ones(3)
    model.register_buffer("a", shared)
    model.register_buffer("b", shared)
    step = torchjax.compile(lambda m: m.a.sum() + m.b.sum())
    assert float(step(model)) == 6.0 and float(step(model)) == 6.0


def test_raising_or_restructuring_inside_restores_everything():
    model = network(TJ)
    before = {k: to_numpy(v).copy() for k, v in model.state_dict().items()}
    x, y = (jnp.asarray(a) for a in batches(1)[0])

    @torchjax.compile
    def raises(model, x, y):
        train_step(model, x, y, 0.1)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        raises(model, x, y)

    @torchjax.compile
    def restructures(model, x):
        model.register_buffer("late", x.sum())
        return model(x)

    with pytest.raises(RuntimeError, match="changed which parameters, buffers or submodules"):
        restructures(model, x)
    assert "late" not in model._buffers
    assert_concrete(model)
    after = {k: to_numpy(v) for k, v in model.state_dict().items()}
    assert list(after) == list(before) and all(np.array_equal(before[k], after[k]) for k in before)


def test_nested_arguments_static_argnums_and_bad_static_values():
    model = tnn.Linear(2, 2)

    @torchjax.compile
    def step(batch, models):
        return models["m"](batch[0]).sum() * batch[1]

    assert step((jnp.ones((1, 2)), 2.0), {"m": model}).shape == ()
    scale = torchjax.compile(lambda m, x, k: m(x) * k, static_argnums=2)
    assert scale(model, jnp.ones((1, 2)), 3).shape == (1, 2)
    with pytest.raises(TypeError, match="hashable"):
        torchjax.compile(lambda m, opts: m(jnp.ones((1, 2))))(model, [{"a": [1]}, object.__new__(Unhashable)])
    with pytest.raises(TypeError, match="function or a Module"):
        torchjax.compile(3)


class Unhashable:
    __hash__ = None


def test_output_dicts_keep_their_key_order():
    model = tnn.Sequential(tnn.Linear(2, 2), tnn.Linear(2, 1))
    grads = torchjax.compile(lambda m, x: torchjax.func.grad(lambda m: m(x).sum())(m))(model, jnp.ones((1, 2)))
    assert list(grads) == [name for name, _ in model.named_parameters()]
    out = torchjax.compile(lambda x: {"z": x, "a": [x, {"y": x, "b": x}]})(jnp.ones(1))
    assert list(out) == ["z", "a"] and list(out["a"][1]) == ["y", "b"]


def fresh_grad_step(traces: list):
    """A compiled step that zeroes the grads first, then accumulates one backward; counts traces."""

    @torchjax.compile
    def step(model, x, y):
        traces.append(1)
        model.zero_grad()
        return torchjax.backward(loss_fn, model, x, y)

    return step


def assert_grads_equal_one_eager_backward(model, x, y):
    reference = network(TJ)
    reference.load_state_dict(model.state_dict())
    torchjax.backward(loss_fn, reference, x, y)
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        assert (p.grad is None) == (q.grad is None)
        if p.grad is not None:
            np.testing.assert_allclose(to_numpy(p.grad), to_numpy(q.grad), atol=1e-6)


def test_grads_the_step_resets_first_are_not_inputs_and_compile_once():
    traces = []
    step = fresh_grad_step(traces)
    model = network(TJ)
    (x, y), = [(jnp.asarray(a), jnp.asarray(b)) for a, b in batches(1)]
    step(model, x, y)
    step(model, x, y)  # grads are arrays now, but dead on entry: the same program
    assert len(traces) == 1
    assert_grads_equal_one_eager_backward(model, x, y)

    @torchjax.compile
    def accumulate(model, x, y):  # reads the incoming grads: they stay inputs
        traces.append(1)
        return torchjax.backward(loss_fn, model, x, y)

    before = to_numpy(model.inp.weight.grad).copy()
    accumulate(model, x, y)
    np.testing.assert_allclose(to_numpy(model.inp.weight.grad), 2 * before, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("donate", [True, False])
def test_a_step_failing_while_it_runs_says_whether_the_state_survived(donate):
    model = tnn.Linear(2, 2)

    def fail(x):
        raise ValueError("at run time")

    def step(m, x):
        jax.debug.callback(fail, x)
        return m(x)

    with pytest.raises(RuntimeError) as info:
        jax.block_until_ready(torchjax.compile(step, donate=donate)(model, jnp.ones((1, 2))))
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert ("donated state" in notes) is donate
    assert model.weight.data.is_deleted() is donate
    assert tnn.Dropout()(jnp.ones(4)).shape == (4,)  # the default generator survives either way


def test_a_step_on_a_device_mesh_leaves_the_default_generator_usable_elsewhere():
    mesh = jax.sharding.Mesh(np.array(jax.devices("cpu")[:8]), ("b",))
    batch = jax.device_put(jnp.ones((8, 3)), jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("b")))
    sharded_model, model = tnn.Linear(3, 3), tnn.Linear(3, 3)
    key_before = torchjax.default_generator.get_state().jax()
    torchjax.compile(lambda m, x: m(x).sum())(sharded_model, batch)  # draws nothing
    assert torchjax.default_generator.get_state().jax() is key_before
    step = torchjax.compile(lambda m, x: tnn.functional.dropout(m(x), 0.5).sum())
    assert step(model, jnp.ones((2, 3))).shape == ()  # a single-device program that draws
    step(sharded_model, batch)  # drawing on the mesh leaves the key replicated on the mesh
    assert len(torchjax.default_generator.get_state().sharding.device_set) == 8
    device = jax.devices("cpu")[0]
    for p in model.parameters():  # committed to one device: the key must follow
        p.data = jax.device_put(p.data, device)
    masks = [step(model, jax.device_put(jnp.ones((2, 3)), device)) for _ in range(2)]
    assert torchjax.default_generator.get_state().sharding.device_set == {device}
    assert float(masks[0]) != float(masks[1])  # and it still advances
    assert step(sharded_model, batch).shape == ()  # and back on the mesh


def test_kept_grads_leave_the_program_packed_and_read_as_arrays():
    from torchjax.nn.parameter import GradView

    class Mixed(tnn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = tnn.Linear(4, 3), tnn.Linear(3, 2)
            self.c, self.d = tnn.Linear(2, 2).bfloat16(), tnn.Linear(2, 2).bfloat16()

        def forward(self, x):
            low = self.d(self.c(x[:, :2].astype(jnp.bfloat16))).astype(jnp.float32)
            return self.b(self.a(x)).sum() + low.sum()

    @torchjax.compile
    def step(model, x):
        model.zero_grad()
        return torchjax.backward(lambda m: m(x), model)

    model, x = Mixed(), jnp.ones((5, 4))
    reference = Mixed()
    reference.load_state_dict(model.state_dict())
    step(model, x)
    torchjax.backward(lambda m: m(x), reference)
    program, = step._programs.values()
    assert [len(indices) for indices, _ in program.grad_packs] == [4, 4]  # one flat output per dtype
    assert all(type(p._grad) is GradView for p in model.parameters())
    inside = jax.jit(lambda: model.a.weight.grad * 1)()  # first read under a trace: still concrete
    np.testing.assert_allclose(to_numpy(inside), to_numpy(reference.a.weight.grad), rtol=1e-6)
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype, name
        np.testing.assert_allclose(to_numpy(p.grad.astype(jnp.float32)), to_numpy(q.grad.astype(jnp.float32)),
                                   rtol=1e-2 if p.dtype == jnp.bfloat16 else 1e-6, err_msg=name)

    mesh = jax.sharding.Mesh(np.array(jax.devices("cpu")[:2]), ("b",))
    spec = jax.sharding.PartitionSpec
    for p in model.parameters():
        p.data = jax.device_put(p.data, jax.sharding.NamedSharding(mesh, spec()))
    step.clear_cache()
    step(model, x)  # replicated on two devices: each packs its own copy
    assert all(type(p._grad) is GradView for p in model.parameters())
    model.a.weight.data = jax.device_put(model.a.weight.data, jax.sharding.NamedSharding(mesh, spec(None, "b")))
    step.clear_cache()
    step(model, x)  # partitioned: concatenating would gather the shards, so every grad stays its own array
    assert not any(type(p._grad) is GradView for p in model.parameters())
    assert model.a.weight.grad.sharding.spec == spec(None, "b")


def test_large_kept_grads_are_not_packed(monkeypatch):
    import sys

    from torchjax.nn.parameter import GradView

    monkeypatch.setattr(sys.modules["torchjax.compile"], "_PACK_BYTES", 4 * (3 * 4 + 3))

    @torchjax.compile
    def step(model, x):
        model.zero_grad()
        return torchjax.backward(lambda m: m(x).sum(), model)

    small, large = tnn.Linear(4, 3), tnn.Linear(4, 4)  # 15 floats fit the limit, 20 do not
    step(small, jnp.ones((2, 4)))
    step(large, jnp.ones((2, 4)))
    assert all(type(p._grad) is GradView for p in small.parameters())
    assert not any(type(p._grad) is GradView for p in large.parameters())
    np.testing.assert_allclose(to_numpy(large.bias.grad), [2.0] * 4)


def test_the_repeat_call_fast_path_still_sees_other_objects_and_arguments():
    traces = []

    @torchjax.compile
    def step(model, opt, x, scale):
        traces.append(1)
        opt.zero_grad()
        scale = scale[0] if isinstance(scale, list) else scale
        loss = torchjax.backward(lambda m: (m(x) * scale).sum(), model)
        opt.step()
        return loss

    a, b = tnn.Linear(3, 2), tnn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = torchjax.optim.SGD(a.parameters(), lr=0.1), torchjax.optim.SGD(b.parameters(), lr=0.1)
    x = jnp.ones((4, 3))
    step(a, opt_a, x, 1.0)
    step(a, opt_a, x, 1.0)
    step(b, opt_b, x, 1.0)  # another model and optimizer: their own state, not a's
    np.testing.assert_allclose(to_numpy(b.bias.data), to_numpy(a.bias.data) + 0.4, rtol=1e-6)
    step(b, opt_b, x, [1.0])  # a list where a number was: flattened, another program
    opt_b.param_groups[0]["momentum"] = 0.5  # 0 -> nonzero changes the update: another program
    step(b, opt_b, x, 1.0)
    assert "momentum_buffer" in opt_b.state[b.weight]
    b.extra = tnn.Parameter(jnp.zeros(2))  # a new slot: the structure epoch moves
    step(b, opt_b, x, 1.0)
    # a, b, the list, the momentum and the new parameter: each its own program. The last three start
    # with grads already set, so each is traced once more to learn which grads it overwrites.
    assert len(step._programs) == 5
    assert len(traces) == 8


def test_a_first_call_with_grads_already_set_compiles_one_program():
    model = network(TJ)
    (x, y), = [(jnp.asarray(a), jnp.asarray(b)) for a, b in batches(1)]
    torchjax.backward(loss_fn, model, x, y)  # an eager step first: every grad is an array
    traces = []
    step = fresh_grad_step(traces)
    for _ in range(3):
        step(model, x, y)
    program, = step._programs.values()
    assert program.jitted._cache_size() == 1  # compiled once, for grads passed as None
    assert len(traces) == 2  # traced once to learn that, once for the program
    assert_grads_equal_one_eager_backward(model, x, y)


class _CachesTensors(tnn.Module):
    """Caches a Tensor in a plain attribute, as torch's word_language_model caches its causal mask;
    with ``count``, also changes a plain-attribute Tensor in place."""

    def __init__(self, count: bool = False):
        super().__init__()
        self.linear = tnn.Linear(3, 3)
        self.mask = None
        self.calls = torchjax.zeros(()) if count else None

    def forward(self, x):
        if self.mask is None:
            self.mask = torchjax.triu(torchjax.full((3, 3), float("-inf")), diagonal=1)
        if self.calls is not None:
            self.calls.add_(1)
        return (self.linear(x) + self.mask).softmax(-1)


def test_a_tensor_the_step_stores_in_a_plain_attribute_is_written_back():
    model = _CachesTensors()
    step = torchjax.compile(lambda m, x: m(x).sum())
    x = jnp.ones((3, 3))
    step(model, x)
    step(model, x)
    assert isinstance(model.mask, torchjax.Tensor) and not isinstance(model.mask.jax(), jax.core.Tracer)
    np.testing.assert_array_equal(to_numpy(model.mask), np.triu(np.full((3, 3), -np.inf), 1))
    mask = model.mask
    model(x)  # eagerly afterwards: the cached mask is a concrete Tensor
    assert model.mask is mask


def test_a_plain_attribute_tensor_changed_in_place_raises_and_is_restored():
    # The program would read it as a constant: later calls would start again from the traced value.
    model = _CachesTensors(count=True)
    calls = model.calls
    with pytest.raises(RuntimeError, match=r"_CachesTensors.calls in place.*register_buffer"):
        torchjax.compile(lambda m, x: m(x).sum())(model, jnp.ones((3, 3)))
    assert model.mask is None and model.calls is calls and float(calls) == 0
    assert not isinstance(calls.jax(), jax.core.Tracer)


@pytest.mark.parametrize("place", ["model_to_device", "eager_forward_on_placed_input"])
def test_state_partly_placed_on_a_device_compiles_once(place):
    # Some state committed to a device, some not (optimizer state made later, BatchNorm statistics
    # computed from a placed input): the program's outputs all come back committed, which must not
    # make the second call compile again.
    torchjax.manual_seed(0)
    model = tnn.Sequential(tnn.Linear(4, 3), tnn.BatchNorm1d(3))
    x = torchjax.randn(5, 4)
    if place == "model_to_device":
        model.to("cpu")
    else:
        model(torchjax.tensor(np.ones((5, 4), np.float32), device="cpu"))
    opt = torchjax.optim.AdamW(model.parameters(), lr=1e-2)

    @torchjax.compile
    def step(model, opt, x):
        opt.zero_grad()
        loss = torchjax.backward(lambda m: m(x).pow(2).mean(), model)
        opt.step()
        return loss

    for _ in range(3):
        step(model, opt, x)
    program, = step._programs.values()
    assert program.jitted._cache_size() == 1

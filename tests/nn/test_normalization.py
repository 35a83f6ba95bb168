"""Batch/instance/layer/group/RMS/local-response normalization (modules and F) against torch:
outputs and gradients eager and compiled, running statistics over compiled training steps, eval
outputs, lazy modules, old checkpoints, SyncBatchNorm on a sharded batch, low precision, errors."""

from __future__ import annotations

import warnings
from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from parity import assert_close, check_forward_and_gradients, load_torch_state, raises_same, to_numpy

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

RNG = np.random.default_rng(0)
# Input shapes by (spatial dims, batched); reused so that XLA compiles stay few.
SHAPES = {1: (4, 3, 5), 2: (2, 3, 4, 5), 3: (2, 3, 2, 3, 2)}
UNBATCHED = {n: shape[1:] for n, shape in SHAPES.items()}

HAND_PICKED = [
    ("BatchNorm1d", (3,), {}, (4, 3)),
    ("BatchNorm1d", (3,), dict(momentum=None, affine=False), SHAPES[1]),
    ("BatchNorm1d", (3,), dict(bias=False, eps=1e-3), SHAPES[1]),
    ("BatchNorm2d", (3,), {}, SHAPES[2]),
    ("BatchNorm2d", (3,), dict(track_running_stats=False), SHAPES[2]),
    ("BatchNorm3d", (3,), dict(momentum=0.3), SHAPES[3]),
    ("SyncBatchNorm", (3,), {}, SHAPES[2]),
    ("SyncBatchNorm", (3,), dict(momentum=None), SHAPES[1]),
    ("InstanceNorm1d", (3,), {}, SHAPES[1]),
    ("InstanceNorm1d", (3,), dict(affine=True, track_running_stats=True), UNBATCHED[1]),
    ("InstanceNorm2d", (3,), dict(affine=True), SHAPES[2]),
    ("InstanceNorm2d", (3,), dict(track_running_stats=True, momentum=0.5), UNBATCHED[2]),
    ("InstanceNorm3d", (3,), dict(affine=True, track_running_stats=True, bias=False), SHAPES[3]),
    ("LayerNorm", (5,), {}, SHAPES[1]),
    ("LayerNorm", ((3, 5),), dict(elementwise_affine=False, eps=1e-3), SHAPES[1]),
    ("LayerNorm", ([4, 5],), dict(bias=False), SHAPES[2]),
    ("GroupNorm", (3, 3), {}, SHAPES[1]),
    ("GroupNorm", (1, 3), dict(affine=False), SHAPES[2]),
    ("GroupNorm", (2, 6), dict(bias=False, eps=1e-3), (2, 6, 4, 5)),
    ("RMSNorm", (5,), {}, SHAPES[1]),
    ("RMSNorm", ((3, 5),), dict(eps=1e-3), SHAPES[1]),
    ("RMSNorm", ([5],), dict(elementwise_affine=False), SHAPES[2]),
    ("LocalResponseNorm", (2,), {}, SHAPES[1]),
    ("LocalResponseNorm", (3,), dict(alpha=0.1, beta=0.5, k=2.0), SHAPES[2]),
    ("LocalResponseNorm", (4,), dict(alpha=0.3), SHAPES[3]),
    ("CrossMapLRN2d", (3,), dict(alpha=0.1, k=2.0), SHAPES[2]),
    ("CrossMapLRN2d", (4, 0.3, 0.5, 1.5), {}, (2, 6, 4, 5)),
]


def _random_configs(count: int, seed: int = 1) -> list:
    """Seeded random hyper-parameters for every family, on the shapes above."""
    rng = np.random.default_rng(seed)

    def pick(*options):
        return options[rng.integers(len(options))]

    configs = []
    for _ in range(count):
        dims = int(rng.integers(1, 4))
        eps = pick(1e-5, 1e-3)
        configs.append((f"BatchNorm{dims}d", (3,), dict(eps=eps, momentum=pick(0.1, 0.3, None),
                                                       affine=pick(True, False), bias=pick(True, False),
                                                       track_running_stats=pick(True, False)), SHAPES[dims]))
        dims = int(rng.integers(1, 4))
        configs.append((f"InstanceNorm{dims}d", (3,), dict(eps=eps, momentum=pick(0.1, 0.7), affine=pick(True, False),
                                                           track_running_stats=pick(True, False)),
                        pick(SHAPES[dims], UNBATCHED[dims])))
        dims = int(rng.integers(1, 4))
        shape = SHAPES[dims]
        trailing = shape[-int(rng.integers(1, 3)):]
        configs.append(pick(
            ("LayerNorm", (trailing,), dict(eps=eps, elementwise_affine=pick(True, False), bias=pick(True, False)),
             shape),
            ("GroupNorm", (pick(1, 3), 3), dict(eps=eps, affine=pick(True, False)), shape),
            ("RMSNorm", (trailing,), dict(eps=pick(None, 1e-3), elementwise_affine=pick(True, False)), shape),
        ))
    return configs


CONFIGS = HAND_PICKED + _random_configs(4)
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)]
TRACKING = [c for c in CONFIGS if c[0].startswith(("BatchNorm", "SyncBatchNorm"))
            or (c[0].startswith("InstanceNorm") and c[2].get("track_running_stats"))]


def _build(name, args, kwargs):
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    ours = getattr(tnn, name)(*args, **kwargs)
    return theirs, ours


def _randomize(theirs: torch.nn.Module) -> None:
    """Non-trivial affine parameters and running statistics, so that every term is exercised."""
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(RNG.uniform(0.5, 1.5, tuple(p.shape)).astype(np.float32)))
        if getattr(theirs, "running_var", None) is not None:
            theirs.running_mean.copy_(torch.tensor(RNG.standard_normal(theirs.num_features).astype(np.float32)))
            theirs.running_var.copy_(torch.tensor(RNG.uniform(0.5, 2, theirs.num_features).astype(np.float32)))


@pytest.mark.parametrize("name,args,kwargs,shape", CONFIGS, ids=IDS)
def test_module_matches_torch(name, args, kwargs, shape):
    theirs, ours = _build(name, args, kwargs)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    int_dtype = str(jax.dtypes.canonicalize_dtype(jnp.int64))  # torch's int64 counter: int32 without x64
    assert [(n, tuple(b.shape), str(b.dtype)) for n, b in ours.named_buffers()] == [
        (n, tuple(b.shape), int_dtype if b.dtype == torch.int64 else str(b.dtype)[6:])
        for n, b in theirs.named_buffers()]
    for mine, theirs_value in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True):
        assert_close(mine, theirs_value, atol=0)
    _randomize(theirs)
    load_torch_state(ours, theirs)
    x = RNG.standard_normal(shape).astype(np.float32) * 2 + 0.5
    atol = 1e-4 if name.startswith("CrossMap") else 2e-5
    # Eagerly only for the hand-picked configurations: op-by-op execution dominates test time.
    eager = (name, args, kwargs, shape) in HAND_PICKED
    check_forward_and_gradients(theirs, ours, x, atol=atol, rtol=1e-4, eager=eager)
    theirs.eval()
    ours.eval()
    load_torch_state(ours, theirs)  # our training forwards above ran more often than torch's one
    check_forward_and_gradients(theirs, ours, x, atol=atol, rtol=1e-4, eager=False)


@pytest.mark.parametrize("name,args,kwargs,shape", TRACKING, ids=[f"{c[0]}-{i}" for i, c in enumerate(TRACKING)])
def test_running_statistics_over_compiled_training_steps(name, args, kwargs, shape):
    """Three SGD steps compiled into one program each: parameters, running statistics and
    num_batches_tracked follow torch; then eval outputs (which use them) match."""
    theirs, ours = _build(name, args, kwargs)
    _randomize(theirs)
    load_torch_state(ours, theirs)
    inputs = [RNG.standard_normal(shape).astype(np.float32) * (i + 1) + i for i in range(3)]
    cotangent = RNG.standard_normal(shape).astype(np.float32)
    torch_opt = torch.optim.SGD(theirs.parameters(), lr=0.1) if kwargs.get("affine", "Instance" not in name) else None
    opt = torchjax.optim.SGD(ours.parameters(), lr=0.1) if torch_opt is not None else None

    @torchjax.compile
    def step(model, opt, x, cot):
        if opt is not None:
            opt.zero_grad()
            loss = torchjax.backward(lambda m: (m(x) * cot).sum(), model)
            opt.step()
            return loss
        return (model(x) * cot).sum()

    for x in inputs:
        loss_t = (theirs(torch.tensor(x)) * torch.tensor(cotangent)).sum()
        if torch_opt is not None:
            torch_opt.zero_grad()
            loss_t.backward()
            torch_opt.step()
        loss = step(ours, opt, jnp.asarray(x), jnp.asarray(cotangent))
        assert_close(loss, loss_t.detach(), atol=1e-4, rtol=1e-4)
    for (n, mine), (tn, value) in zip(ours.state_dict().items(), theirs.state_dict().items(), strict=True):
        assert n == tn
        assert_close(mine, value, atol=1e-5, rtol=1e-5)
    theirs.eval()
    ours.eval()
    x = jnp.asarray(inputs[0])
    expected = theirs(torch.tensor(inputs[0]))
    assert_close(ours(x), expected, atol=1e-5, rtol=1e-4)
    assert_close(torchjax.compile(lambda m, v: m(v))(ours, x), expected, atol=1e-5, rtol=1e-4)


def test_eager_training_with_backward_updates_running_statistics():
    theirs, ours = _build("BatchNorm2d", (3,), dict(momentum=None))
    opt_t, opt = torch.optim.SGD(theirs.parameters(), lr=0.5), torchjax.optim.SGD(ours.parameters(), lr=0.5)
    for i in range(3):
        x = RNG.standard_normal(SHAPES[2]).astype(np.float32) + i
        opt_t.zero_grad()
        (theirs(torch.tensor(x)) ** 3).mean().backward()
        opt_t.step()
        opt.zero_grad()
        torchjax.backward(lambda m, v: (m(v) ** 3).mean(), ours, jnp.asarray(x))
        opt.step()
    for mine, value in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True):
        assert_close(mine, value, atol=1e-5, rtol=1e-5)
    assert ours.num_batches_tracked.dtype == jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.int64))


def test_reset_and_factory_kwargs():
    m = tnn.BatchNorm1d(4, dtype=torchjax.bfloat16, device="cpu")
    assert m.weight.dtype == m.running_mean.dtype == jnp.bfloat16 and m.num_batches_tracked.dtype == jnp.int32
    m(jnp.ones((3, 4), jnp.bfloat16) * jnp.asarray([0, 1, 4], jnp.bfloat16)[:, None])
    assert int(m.num_batches_tracked) == 1 and float(m.running_var[0]) != 1
    m.weight.fill_(3.0)
    m.reset_parameters()
    np.testing.assert_array_equal(np.asarray(m.running_var, np.float32), 1)
    assert int(m.num_batches_tracked) == 0 and float(m.weight[0]) == 1
    for cls, args in ((tnn.LayerNorm, ((2, 3),)), (tnn.GroupNorm, (1, 3)), (tnn.RMSNorm, (3,)), (tnn.PReLU, (3,))):
        assert all(p.dtype == jnp.float16 for p in cls(*args, dtype=torchjax.float16).parameters())


@pytest.mark.parametrize("build", [
    lambda nn: nn.GroupNorm(2, 3),
    lambda nn: nn.GroupNorm(0, 3),
    lambda nn: nn.BatchNorm1d(-1),
    lambda nn: nn.BatchNorm1d(2.0),
    lambda nn: nn.LayerNorm(-1),
])
def test_constructor_errors(build):
    raises_same(lambda: build(torch.nn), lambda: build(tnn))


def _t(a):
    return None if a is None else torch.tensor(np.asarray(a, np.float32))


def _j(a):
    return None if a is None else jnp.asarray(np.asarray(a, np.float32))


X3 = np.zeros((4, 3, 5), np.float32)


@pytest.mark.parametrize("call", [
    lambda F, a: F.batch_norm(a(X3), a(np.zeros(2)), a(np.ones(2)), training=True),
    lambda F, a: F.batch_norm(a(X3), a(np.zeros(3)), a(np.ones(3)), a(np.ones(2)), training=True),
    lambda F, a: F.batch_norm(a(X3), None, None, training=False),
    lambda F, a: F.batch_norm(a(np.zeros(4)), None, None, training=True),
    lambda F, a: F.batch_norm(a(X3), None, None, training=True, eps=0),
    lambda F, a: F.batch_norm(a(X3), a(np.zeros(3)), a(np.ones(3)), eps=-1.0),
    lambda F, a: F.batch_norm(a(np.zeros((1, 3))), None, None, training=True),
    lambda F, a: F.instance_norm(a(X3), None, None, use_input_stats=False),
    lambda F, a: F.instance_norm(a(np.zeros((2, 3, 1)))),
    lambda F, a: F.instance_norm(a(X3), a(np.zeros(2)), a(np.ones(2))),
    lambda F, a: F.instance_norm(a(X3), None, None, a(np.ones(2))),
    lambda F, a: F.layer_norm(a(X3), (4,)),
    lambda F, a: F.layer_norm(a(X3), (5,), a(np.ones(4))),
    lambda F, a: F.layer_norm(a(X3), (5,), a(np.ones(5)), a(np.ones(4))),
    lambda F, a: F.layer_norm(a(X3), (2, 4, 3, 5)),
    lambda F, a: F.layer_norm(a(X3), ()),
    lambda F, a: F.layer_norm(a(X3), 5),
    lambda F, a: F.rms_norm(a(X3), 5),
    lambda F, a: F.rms_norm(a(X3), (4,)),
    lambda F, a: F.rms_norm(a(X3), (5,), a(np.ones(4))),
    lambda F, a: F.group_norm(a(X3), 2),
    lambda F, a: F.group_norm(a(X3), 3, a(np.ones(2))),
    lambda F, a: F.group_norm(a(np.zeros(3)), 1),
    lambda F, a: F.group_norm(a(np.zeros((1, 3, 1))), 3),
    lambda F, a: F.local_response_norm(a(np.zeros((2, 3))), 2),
    lambda F, a: F.normalize(a(X3), dim=3),
], ids=lambda c: "")
def test_functional_errors(call):
    raises_same(lambda: call(torch.nn.functional, _t), lambda: call(F, _j))


@pytest.mark.parametrize("build,shape", [
    (lambda nn: nn.BatchNorm1d(3), (2, 3, 4, 5)),
    (lambda nn: nn.BatchNorm2d(3), (3, 4, 5)),
    (lambda nn: nn.BatchNorm3d(3), (2, 3, 4, 5)),
    (lambda nn: nn.BatchNorm1d(4), (4, 3, 5)),
    (lambda nn: nn.BatchNorm1d(3), (1, 3)),
    (lambda nn: nn.SyncBatchNorm(3), (3,)),
    (lambda nn: nn.SyncBatchNorm(3), (3, 0)),
    (lambda nn: nn.InstanceNorm1d(3), (2, 3, 4, 5)),
    (lambda nn: nn.InstanceNorm2d(4, affine=True), (2, 3, 4, 5)),
    (lambda nn: nn.InstanceNorm3d(3), (3, 1, 1, 1)),
    (lambda nn: nn.GroupNorm(1, 4), (4, 3, 5)),
    (lambda nn: nn.CrossMapLRN2d(3), (4, 3, 5)),
    (lambda nn: nn.LayerNorm(4), (4, 3, 5)),
])
def test_forward_errors(build, shape):
    x = np.zeros(shape, np.float32)
    raises_same(lambda: build(torch.nn)(torch.tensor(x)), lambda: build(tnn)(jnp.asarray(x)))


def test_instance_norm_warns_on_channel_mismatch_without_affine():
    x = RNG.standard_normal((4, 3, 5)).astype(np.float32)
    for lib, value in ((torch.nn, torch.tensor(x)), (tnn, jnp.asarray(x))):
        with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
            lib.InstanceNorm1d(4)(value)
        with pytest.warns(UserWarning, match="dim=0 does not match"):
            lib.InstanceNorm1d(4)(value[0])


FUNCTIONAL = [
    ("batch_norm", lambda F, a, x: F.batch_norm(x, a(np.zeros(3)), a(np.ones(3) * 2), a(np.arange(3) + 1.0),
                                                 a(np.arange(3) - 1.0), training=True, momentum=0.2)),
    ("batch_norm eval", lambda F, a, x: F.batch_norm(x, a(np.arange(3) * 0.1), a(np.arange(3) + 0.5),
                                                      a(np.arange(3) + 1.0), None, eps=1e-3)),
    ("batch_norm no stats", lambda F, a, x: F.batch_norm(x, None, None, training=True)),
    ("instance_norm", lambda F, a, x: F.instance_norm(x, a(np.zeros(3)), a(np.ones(3)), a(np.arange(3) + 1.0))),
    ("instance_norm running", lambda F, a, x: F.instance_norm(x, a(np.arange(3) * 0.1), a(np.arange(3) + 0.5),
                                                              use_input_stats=False)),
    ("layer_norm", lambda F, a, x: F.layer_norm(x, [4, 5], a(np.linspace(0.5, 2, 20).reshape(4, 5)))),
    ("layer_norm no weight", lambda F, a, x: F.layer_norm(x, (5,), None, a(np.arange(5.0)), eps=0.1)),
    ("rms_norm weight", lambda F, a, x: F.rms_norm(x, [5], a(np.arange(5.0)))),
    ("group_norm", lambda F, a, x: F.group_norm(x, 3, a(np.arange(3) + 1.0), a(np.arange(3.0)))),
    ("rms_norm", lambda F, a, x: F.rms_norm(x, (3, 4, 5), None, eps=1e-2)),
    ("local_response_norm", lambda F, a, x: F.local_response_norm(x, 5, alpha=0.5, beta=1.5, k=0.5)),
    ("normalize", lambda F, a, x: F.normalize(x)),
    ("normalize p1", lambda F, a, x: F.normalize(x, p=1, dim=-1)),
    ("normalize p3", lambda F, a, x: F.normalize(x, p=3.0, dim=0, eps=0.5)),
    ("normalize inf", lambda F, a, x: F.normalize(x, p=float("inf"), dim=2)),
]


@pytest.mark.parametrize("call", [c for _, c in FUNCTIONAL], ids=[n for n, _ in FUNCTIONAL])
def test_functional_matches_torch(call):
    x = RNG.standard_normal(SHAPES[2]).astype(np.float32)
    x[0, :, 0, 0] = 0  # a zero vector for normalize's gradient
    cotangent = RNG.standard_normal(x.shape).astype(np.float32)
    x_t = torch.tensor(x, requires_grad=True)
    out_t = call(torch.nn.functional, _t, x_t)
    (out_t * torch.tensor(cotangent)).sum().backward()
    out, grad = jax.value_and_grad(lambda v: (call(F, _j, v) * cotangent).sum().jax())(jnp.asarray(x))
    assert_close(call(F, _j, jnp.asarray(x)), out_t, atol=2e-5, rtol=1e-4)
    assert_close(grad, x_t.grad, atol=2e-5, rtol=1e-4)
    assert_close(jax.jit(lambda v: call(F, _j, v))(jnp.asarray(x)), out_t, atol=2e-5, rtol=1e-4)


def test_functional_forms_vmap():
    """Under jax.vmap each slice is normalized on its own, as a loop over the slices would do."""
    x = jnp.asarray(RNG.standard_normal((3, *SHAPES[1])).astype(np.float32))
    weight = jnp.arange(3.0) + 1
    fns = [
        lambda v: F.batch_norm(v, None, None, weight, None, training=True),
        lambda v: F.instance_norm(v),
        lambda v: F.group_norm(v, 3, weight),
        lambda v: F.layer_norm(v, (3, 5)),
        lambda v: F.rms_norm(v, (5,)),
        lambda v: F.local_response_norm(v, 2),
        lambda v: F.normalize(v, dim=2),
    ]
    batched = jax.jit(lambda v: [jax.vmap(fn)(v) for fn in fns])(x)
    single = jax.jit(lambda v: [fn(v) for fn in fns])
    sliced = [single(s) for s in x]
    for i, out in enumerate(batched):
        np.testing.assert_allclose(np.asarray(out), np.stack([np.asarray(s[i]) for s in sliced]), rtol=1e-5,
                                   atol=1e-6)
    model = tnn.BatchNorm1d(3).eval()
    out = torchjax.func.vmap(lambda m, v: m(v), in_dims=(None, 0))(model, x)
    np.testing.assert_allclose(np.asarray(out), np.asarray(x / np.sqrt(1 + 1e-5)), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_low_precision_accumulates_in_float32(dtype):
    """Half inputs: statistics in float32, output in the input's dtype. With an offset of 300,
    half-precision statistics would be off by tenths (torch's own bfloat16 BatchNorm and
    InstanceNorm are); ours stay within output rounding of the exact (float64) result."""
    x = (RNG.standard_normal(SHAPES[2]) + 300).astype(np.float32)
    x_j = jnp.asarray(x).astype(dtype)
    exact_input = torch.tensor(to_numpy(x_j.astype(jnp.float32)), dtype=torch.float64)
    cases = [
        ("BatchNorm2d", (3,)), ("InstanceNorm2d", (3,)), ("LayerNorm", ((4, 5),)), ("GroupNorm", (3, 3)),
        ("RMSNorm", ((4, 5),)), ("LocalResponseNorm", (2,)),
    ]
    for name, args in cases:
        exact_module, ours = _build(name, args, {})
        expected = exact_module.double()(exact_input)
        for module in (ours, _build(name, args, {})[1].to(getattr(torchjax, dtype))):  # float32 and half modules
            out = module(x_j)
            assert out.dtype == jnp.dtype(dtype), name
            assert_close(out.astype(jnp.float32), expected.float(), atol=2e-2, rtol=1e-2)
        if name == "BatchNorm2d":
            assert ours.running_mean.dtype == jnp.float32 and module.running_mean.dtype == jnp.dtype(dtype)
            assert_close(module.running_mean.astype(jnp.float32), exact_module.running_mean.float(), rtol=1e-2)
    out = F.normalize(x_j, dim=1)
    assert out.dtype == jnp.dtype(dtype)
    assert_close(out.astype(jnp.float32), torch.nn.functional.normalize(exact_input, dim=1).float(), atol=1e-2,
                 rtol=1e-2)


def test_rms_norm_default_eps_is_the_computation_dtypes():
    x = np.full((1, 4), 1e-2, np.float32)
    for dtype in ("float32", "float16", "bfloat16"):
        ours = F.rms_norm(jnp.asarray(x).astype(dtype), (4,))
        theirs = torch.nn.functional.rms_norm(torch.tensor(x).to(getattr(torch, dtype)), (4,))
        assert_close(ours.astype(jnp.float32), theirs.float(), atol=1e-3, rtol=1e-3)


def test_old_checkpoints_without_num_batches_tracked():
    theirs, ours = _build("BatchNorm1d", (3,), {})
    ours.num_batches_tracked = ours.num_batches_tracked + 5
    theirs.num_batches_tracked.add_(5)
    state = {k: to_numpy(v) for k, v in theirs.state_dict().items() if k != "num_batches_tracked"}
    state["running_mean"] = np.arange(3, dtype=np.float32)
    old = OrderedDict(state)
    old._metadata = OrderedDict({"": {"version": 1}})
    for module, sd in ((theirs, OrderedDict((k, torch.tensor(v)) for k, v in old.items())), (ours, old)):
        sd._metadata = old._metadata
        module.load_state_dict(sd)
        assert int(module.num_batches_tracked) == 5
        assert_close(module.running_mean, np.arange(3, dtype=np.float32), atol=0)
    # A plain dict (no metadata, so no version) is treated as old too; a version-2 one is not.
    fresh = tnn.BatchNorm1d(3)
    fresh.load_state_dict(dict(state))
    assert int(fresh.num_batches_tracked) == 0
    new = OrderedDict(state)
    new._metadata = OrderedDict({"": {"version": 2}})
    new_t = OrderedDict((k, torch.tensor(v)) for k, v in state.items())
    new_t._metadata = new._metadata
    _, err = raises_same(lambda: torch.nn.BatchNorm1d(3).load_state_dict(new_t),
                         lambda: tnn.BatchNorm1d(3).load_state_dict(new))
    assert "num_batches_tracked" in str(err)
    # Pre-0.4 InstanceNorm checkpoints carry running stats the default layer does not track.
    stale = {"running_mean": np.zeros(3, np.float32), "running_var": np.ones(3, np.float32)}
    stale_t = {k: torch.tensor(v) for k, v in stale.items()}
    _, err = raises_same(lambda: torch.nn.InstanceNorm1d(3).load_state_dict(stale_t),
                         lambda: tnn.InstanceNorm1d(3).load_state_dict(stale))
    assert "Unexpected running stats buffer(s)" in str(err)


@pytest.mark.parametrize("name,shape", [
    ("LazyBatchNorm1d", SHAPES[1]), ("LazyBatchNorm2d", SHAPES[2]), ("LazyBatchNorm3d", SHAPES[3]),
    ("LazyInstanceNorm1d", SHAPES[1]), ("LazyInstanceNorm2d", SHAPES[2]), ("LazyInstanceNorm3d", SHAPES[3]),
])
def test_lazy_modules_materialize_on_first_forward(name, shape):
    theirs, ours = _build(name, (), {})
    assert repr(ours) == repr(theirs)
    assert ours.has_uninitialized_params()
    assert [(k, repr(v) if tnn.parameter.is_lazy(v) else int(v)) for k, v in ours.state_dict().items()] == [
        (k, repr(v) if torch.nn.parameter.is_lazy(v) else int(v)) for k, v in theirs.state_dict().items()]
    x = RNG.standard_normal(shape).astype(np.float32)
    with pytest.raises(RuntimeError, match="uninitialized"):
        torchjax.compile(lambda m, v: m(v))(ours, jnp.asarray(x))
    assert ours.has_uninitialized_params() and type(ours).__name__ == name
    assert_close(ours(jnp.asarray(x)), theirs(torch.tensor(x)))
    assert type(ours).__name__ == type(theirs).__name__ == name[4:]
    assert repr(ours) == repr(theirs) and not any(tnn.parameter.is_lazy(v) for v in ours.state_dict().values())
    assert not ours._forward_pre_hooks and not ours._load_state_dict_pre_hooks
    for (k, mine), (tk, value) in zip(ours.state_dict().items(), theirs.state_dict().items(), strict=True):
        assert k == tk
        assert_close(mine, value)
    # After the first forward it is an ordinary module: compiled training works.
    check_forward_and_gradients(theirs, ours, x, eager=False)


def test_lazy_module_loads_a_checkpoint_and_other_configurations():
    ours, theirs = tnn.LazyBatchNorm2d(), torch.nn.LazyBatchNorm2d()
    source = torch.nn.BatchNorm2d(3)
    _randomize(source)
    theirs.load_state_dict(source.state_dict())
    load_torch_state(ours, source)
    assert not ours.has_uninitialized_params() and type(ours) is tnn.LazyBatchNorm2d
    assert repr(ours) == repr(theirs)  # torch keeps num_features=0 after loading
    assert_close(ours.running_var, source.running_var)
    x = RNG.standard_normal(SHAPES[2]).astype(np.float32)
    assert_close(ours.eval()(jnp.asarray(x)), theirs.eval()(torch.tensor(x)), atol=1e-5, rtol=1e-5)
    assert type(ours) is tnn.BatchNorm2d
    plain = tnn.LazyInstanceNorm1d(affine=False, track_running_stats=False)
    assert not plain.has_uninitialized_params()
    with pytest.warns(UserWarning, match="does not match num_features"):  # num_features stays 0, as in torch
        plain(jnp.asarray(RNG.standard_normal(SHAPES[1]).astype(np.float32)))
    assert type(plain) is tnn.InstanceNorm1d and list(plain.state_dict()) == list(
        torch.nn.LazyInstanceNorm1d(affine=False, track_running_stats=False).state_dict())
    bf16 = tnn.LazyBatchNorm1d(bias=False, dtype=torchjax.bfloat16)
    bf16(jnp.ones((2, 4), jnp.bfloat16))
    assert bf16.weight.dtype == bf16.running_var.dtype == jnp.bfloat16 and bf16.bias is None


def test_sync_batch_norm_on_a_sharded_batch_equals_batch_norm_on_the_whole_batch():
    devices = jax.devices()
    assert len(devices) == 8, "tests/conftest.py sets XLA_FLAGS for 8 CPU devices"
    sharding = NamedSharding(Mesh(np.array(devices), ("b",)), PartitionSpec("b"))

    def network(nn):  # a BatchNorm nested in a container, to exercise the recursive conversion
        return nn.Sequential(nn.Sequential(nn.BatchNorm2d(4, momentum=None)), nn.ReLU())

    reference = network(tnn)
    for p in reference.parameters():
        p.uniform_(0.5, 1.5)
    synced = tnn.SyncBatchNorm.convert_sync_batchnorm(network(tnn))
    assert isinstance(synced[0][0], tnn.SyncBatchNorm)
    assert repr(synced) == repr(torch.nn.SyncBatchNorm.convert_sync_batchnorm(network(torch.nn)))
    synced.load_state_dict({k: np.asarray(v) for k, v in reference.state_dict().items()})
    opt_ref = torchjax.optim.SGD(reference.parameters(), lr=0.1)
    opt_sync = torchjax.optim.SGD(synced.parameters(), lr=0.1)

    @torchjax.compile
    def step(model, opt, x):
        opt.zero_grad()
        loss = torchjax.backward(lambda m: (m(x) ** 3).mean(), model)
        opt.step()
        return loss

    for i in range(3):
        x = jnp.asarray(RNG.standard_normal((16, 4, 3, 3)).astype(np.float32) * (i + 1) + i)
        x_sharded = jax.device_put(x, sharding)
        assert len(x_sharded.addressable_shards) == 8 and x_sharded.addressable_shards[0].data.shape[0] == 2
        np.testing.assert_allclose(float(step(synced, opt_sync, x_sharded)), float(step(reference, opt_ref, x)),
                                   rtol=1e-5)
    for mine, value in zip(synced.state_dict().values(), reference.state_dict().values(), strict=True):
        assert_close(mine, value, atol=1e-5, rtol=1e-5)
    synced.eval(), reference.eval()
    x = jax.device_put(jnp.asarray(RNG.standard_normal((16, 4, 3, 3)).astype(np.float32)), sharding)
    out = torchjax.compile(lambda m, v: m(v))(synced, x)
    np.testing.assert_allclose(np.asarray(out), np.asarray(reference(jnp.asarray(np.asarray(x)))), rtol=1e-5,
                               atol=1e-5)
    # The shared parameters are the same objects, as in torch.
    plain = tnn.BatchNorm1d(3)
    converted = tnn.SyncBatchNorm.convert_sync_batchnorm(plain)
    assert converted.weight is plain.weight and converted.process_group is None


def test_cross_map_lrn_reproduces_torchs_hand_written_backward():
    """torch's CrossMapLRN2d backward is not the gradient of its forward; ours follows torch."""
    x = RNG.standard_normal((2, 6, 3, 3)).astype(np.float32)
    ours, theirs = tnn.CrossMapLRN2d(3, 0.5, 0.75, 1.0), torch.nn.CrossMapLRN2d(3, 0.5, 0.75, 1.0)
    x_t = torch.tensor(x, requires_grad=True)
    theirs(x_t).sum().backward()
    grad = jax.jit(jax.grad(lambda v: ours(v).sum().jax()))(jnp.asarray(x))
    assert_close(grad, x_t.grad, atol=1e-5)
    exact = jax.jit(jax.grad(lambda v: F.local_response_norm(v, 3, 0.5, 0.75, 1.0).sum().jax()))(jnp.asarray(x))
    assert not np.allclose(np.asarray(grad), np.asarray(exact), atol=1e-3)


def test_no_state_left_behind_when_a_traced_forward_fails():
    model = tnn.BatchNorm1d(3)
    before = {k: np.asarray(v) for k, v in model.state_dict().items()}

    def failing(m, v):
        m(v)
        raise KeyError("boom")

    with pytest.raises(KeyError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torchjax.compile(failing)(model, jnp.ones((4, 3)))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(v), before[k])


@pytest.mark.parametrize("name", ["batch_norm", "instance_norm"])
def test_functional_training_updates_running_statistics_in_place(name):
    """F.batch_norm / F.instance_norm in training write the running statistics Tensors passed in, as torch's kernels
    do (the same objects, new values); in evaluation they are left alone. torch's top-level spellings too."""
    x = np.random.default_rng(3).standard_normal((4, 3, 5)).astype(np.float32)
    stats = (np.linspace(-1, 1, 3).astype(np.float32), np.linspace(0.5, 2, 3).astype(np.float32))
    training = {"batch_norm": "training", "instance_norm": "use_input_stats"}[name]

    def run(lib, fn, flag):
        mean, var = (lib.tensor(s) for s in stats)
        getattr(fn, name)(lib.tensor(x), mean, var, momentum=0.3, **{training: flag})
        return mean, var

    for flag in (True, False):
        for theirs, ours in zip(run(torch, torch.nn.functional, flag), run(torchjax, F, flag), strict=True):
            assert_close(to_numpy(ours), theirs.numpy(), atol=1e-6)
    mean, var = (torchjax.tensor(s) for s in stats)
    args = (None, None, mean, var, True, 0.3, 1e-5)
    getattr(torchjax, name)(torchjax.tensor(x), *args)
    expected = run(torch, torch.nn.functional, True)
    assert_close(to_numpy(mean), expected[0].numpy(), atol=1e-6)
    assert_close(to_numpy(var), expected[1].numpy(), atol=1e-6)

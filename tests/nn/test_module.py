"""nn.Module core against torch: attribute routing, iteration, modes, conversions, repr, hooks."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import LIBS, TJ, TORCH, global_hooks_removed, raises_same, to_numpy

import torchjax
import torchjax.nn as tnn

# --- scenarios written once, run on both frameworks ------------------------------------------


def shared_tree(lib):
    """A tree with a submodule shared twice, a tied weight, buffers and a None parameter."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.register_buffer("count", lib.zeros(1))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)
            self.register_parameter("unused", None)

        def forward(self, x):
            return self.fc(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = Block()
            self.b = self.a  # shared submodule
            self.head = nn.Linear(3, 3)
            self.tail = nn.Linear(3, 3)
            self.tail.weight = self.head.weight  # tied parameter
            self.seq = nn.Sequential(nn.Linear(3, 2), nn.Identity(), nn.Flatten())
            self.scale = nn.Parameter(lib.zeros(1))

        def forward(self, x):
            return self.seq(self.tail(self.head(self.b(self.a(x))))) * self.scale

    return Net()


def names(pairs):
    return [name for name, _ in pairs]


@pytest.mark.parametrize("remove_duplicate", [True, False])
@pytest.mark.parametrize("prefix", ["", "model"])
def test_named_iteration_matches_torch(remove_duplicate, prefix):
    theirs, ours = shared_tree(TORCH), shared_tree(TJ)
    for method in ("named_parameters", "named_buffers", "named_modules"):
        kw = dict(prefix=prefix, remove_duplicate=remove_duplicate)
        assert names(getattr(ours, method)(**kw)) == names(getattr(theirs, method)(**kw)), method
    for recurse in (True, False):
        kw = dict(prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate)
        assert names(ours.named_parameters(**kw)) == names(theirs.named_parameters(**kw))
        assert names(ours.named_buffers(**kw)) == names(theirs.named_buffers(**kw))
    assert names(ours.named_children()) == names(theirs.named_children())
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.buffers())) == len(list(theirs.buffers()))
    assert len(list(ours.children())) == len(list(theirs.children()))
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert len(list(ours.modules(remove_duplicate=False))) == len(list(theirs.modules(remove_duplicate=False)))


def test_shared_objects_are_yielded_by_identity():
    ours = shared_tree(TJ)
    params = list(ours.parameters())
    assert ours.head.weight is ours.tail.weight
    assert sum(p is ours.head.weight for p in params) == 1
    # equal values are still distinct state: two zero buffers are both listed
    net = tnn.Module()
    zero = jnp.zeros(2)
    net.register_buffer("x", zero)
    net.register_buffer("y", jnp.zeros(2))
    net.register_buffer("z", zero)
    assert names(net.named_buffers()) == ["x", "y"]
    assert names(net.named_buffers(remove_duplicate=False)) == ["x", "y", "z"]


def test_state_dict_keys_and_metadata_match_torch():
    theirs, ours = shared_tree(TORCH), shared_tree(TJ)
    sd_t, sd_o = theirs.state_dict(), ours.state_dict()
    assert list(sd_o.keys()) == list(sd_t.keys())
    assert dict(sd_o._metadata) == dict(sd_t._metadata)
    for k in sd_t:
        assert tuple(sd_o[k].shape) == tuple(sd_t[k].shape), k
        assert isinstance(sd_o[k], torchjax.Tensor)
    kept = ours.state_dict(keep_vars=True)
    assert kept["head.weight"] is ours.head.weight
    prefixed_t, prefixed_o = theirs.state_dict(prefix="p."), ours.state_dict(prefix="p.")
    assert list(prefixed_o) == list(prefixed_t)
    assert dict(prefixed_o._metadata) == dict(prefixed_t._metadata)


def test_state_dict_destination_and_positional_args():
    theirs, ours = TORCH.nn.Linear(2, 2), TJ.nn.Linear(2, 2)
    for lib_module in (theirs, ours):
        dest = OrderedDict()
        out = lib_module.state_dict(destination=dest, prefix="x.")
        assert out is dest and list(dest) == ["x.weight", "x.bias"]
        with pytest.warns(FutureWarning):
            assert list(lib_module.state_dict(OrderedDict(), "y.")) == ["y.weight", "y.bias"]


# --- attribute routing and registration errors ----------------------------------------------


def _make_module(lib):
    m = lib.nn.Module()
    m.w = lib.nn.Parameter(lib.zeros(2))
    m.register_buffer("b", lib.zeros(2))
    m.sub = lib.nn.Linear(1, 1)
    m.plain = 3
    return m


ERROR_SCENARIOS = {
    "param_before_init": lambda lib: _param_before_init(lib),
    "module_before_init": lambda lib: _module_before_init(lib),
    "buffer_before_init": lambda lib: type("M", (lib.nn.Module,), {"__init__": lambda s: s.register_buffer(
        "x", lib.zeros(1))})(),
    "array_to_param_name": lambda lib: setattr(_make_module(lib), "w", lib.zeros(2)),
    "int_to_module_name": lambda lib: setattr(_make_module(lib), "sub", 3),
    "string_to_buffer_name": lambda lib: setattr(_make_module(lib), "b", "x"),
    "buffer_empty_name": lambda lib: _make_module(lib).register_buffer("", lib.zeros(1)),
    "buffer_dotted_name": lambda lib: _make_module(lib).register_buffer("a.b", lib.zeros(1)),
    "buffer_existing_attr": lambda lib: _make_module(lib).register_buffer("plain", lib.zeros(1)),
    "buffer_over_param": lambda lib: _make_module(lib).register_buffer("w", lib.zeros(1)),
    "buffer_name_not_str": lambda lib: _make_module(lib).register_buffer(1, lib.zeros(1)),
    "buffer_not_array": lambda lib: _make_module(lib).register_buffer("c", [1.0]),
    "param_empty_name": lambda lib: _make_module(lib).register_parameter("", None),
    "param_dotted_name": lambda lib: _make_module(lib).register_parameter("a.b", None),
    "param_existing_attr": lambda lib: _make_module(lib).register_parameter("plain", None),
    "param_not_parameter": lambda lib: _make_module(lib).register_parameter("p", lib.zeros(1)),
    "param_name_not_str": lambda lib: _make_module(lib).register_parameter(None, None),
    "add_module_not_module": lambda lib: _make_module(lib).add_module("x", 3),
    "add_module_name_not_str": lambda lib: _make_module(lib).add_module(3, lib.nn.Identity()),
    "add_module_existing_attr": lambda lib: _make_module(lib).add_module("plain", lib.nn.Identity()),
    "add_module_dotted": lambda lib: _make_module(lib).add_module("a.b", lib.nn.Identity()),
    "add_module_empty": lambda lib: _make_module(lib).add_module("", lib.nn.Identity()),
    "missing_attribute": lambda lib: _make_module(lib).nope,
    "delete_missing": lambda lib: delattr(_make_module(lib), "nope"),
    "init_kwargs": lambda lib: lib.nn.Module(foo=1),
    "init_args": lambda lib: lib.nn.Module(1),
    "no_forward": lambda lib: lib.nn.Module()(lib.zeros(1)),
    "train_not_bool": lambda lib: lib.nn.Linear(1, 1).train(1),
    "get_submodule_missing": lambda lib: _make_module(lib).get_submodule("sub.nope"),
    "get_submodule_not_module": lambda lib: _make_module(lib).get_submodule("sub.weight"),
    "get_parameter_missing": lambda lib: _make_module(lib).get_parameter("sub.nope"),
    "get_parameter_not_param": lambda lib: _make_module(lib).get_parameter("b"),
    "get_buffer_not_buffer": lambda lib: _make_module(lib).get_buffer("w"),
    "get_buffer_missing": lambda lib: _make_module(lib).get_buffer("nope"),
    "set_submodule_empty": lambda lib: _make_module(lib).set_submodule("", lib.nn.Identity()),
    "set_submodule_not_module": lambda lib: _make_module(lib).set_submodule("sub", 3),
    "set_submodule_strict_missing": lambda lib: _make_module(lib).set_submodule("x", lib.nn.Identity(), strict=True),
    "set_submodule_over_param": lambda lib: _make_module(lib).set_submodule("w", lib.nn.Identity()),
    "to_integer_dtype": lambda lib: lib.nn.Linear(1, 1).to(torch.int32 if lib is TORCH else torchjax.int32),
    "load_not_mapping": lambda lib: lib.nn.Linear(1, 1).load_state_dict([1, 2]),
    "extra_state_default": lambda lib: lib.nn.Linear(1, 1).get_extra_state(),
    "linear_negative_size": lambda lib: lib.nn.Linear(-1, 2),
    "unflatten_bad_sizes": lambda lib: lib.nn.Unflatten(1, 3),
    "unflatten_bad_elem": lambda lib: lib.nn.Unflatten(1, (2, 2.0)),
    "unflatten_bad_dim": lambda lib: lib.nn.Unflatten(1.0, (2, 2))(lib.zeros(2, 4)),
}


def _param_before_init(lib):
    class M(lib.nn.Module):
        def __init__(self):
            self.w = lib.nn.Parameter(lib.zeros(1))

    M()


def _module_before_init(lib):
    class M(lib.nn.Module):
        def __init__(self):
            self.sub = lib.nn.Identity()

    M()


@pytest.mark.parametrize("scenario", sorted(ERROR_SCENARIOS))
def test_errors_match_torch(scenario):
    theirs, ours = raises_same(lambda: ERROR_SCENARIOS[scenario](TORCH), lambda: ERROR_SCENARIOS[scenario](TJ))
    if isinstance(theirs, KeyError | AttributeError) and "torch" not in str(theirs):
        assert str(ours) == str(theirs)


def test_routing_moves_names_between_dicts_like_torch():
    for lib in LIBS:
        m = _make_module(lib)
        m.sub = lib.nn.Parameter(lib.zeros(1))  # module -> parameter
        assert "sub" in m._parameters and "sub" not in m._modules
        m.b = lib.nn.Identity()  # buffer -> module
        assert "b" in m._modules and "b" not in m._buffers
        m.plain = lib.nn.Identity()  # plain attribute -> module
        assert "plain" in m._modules and "plain" not in m.__dict__
        m.w = None  # parameter set to None stays registered
        assert "w" in m._parameters and m.w is None
        m.x = lib.nn.Buffer(lib.zeros(1), persistent=False)
        assert "x" in m._buffers and "x" in m._non_persistent_buffers_set
        m.x = lib.zeros(3)  # rebinding keeps non-persistence
        assert "x" in m._non_persistent_buffers_set and tuple(m.x.shape) == (3,)
        del m.x, m.sub, m.b
        assert "x" not in m._buffers and "x" not in m._non_persistent_buffers_set
        assert "sub" not in m._parameters and "b" not in m._modules


def test_core_attributes_exist():
    m = tnn.Module()
    for name in ("training", "_parameters", "_buffers", "_non_persistent_buffers_set", "_backward_hooks",
                 "_backward_pre_hooks", "_forward_hooks", "_forward_pre_hooks", "_state_dict_hooks",
                 "_state_dict_pre_hooks", "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks",
                 "_modules", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
                 "_forward_pre_hooks_with_kwargs"):
        assert name in vars(m), name
    assert isinstance(m._parameters, OrderedDict) and m.training is True


def test_dir_lists_registered_names():
    theirs, ours = _make_module(TORCH), _make_module(TJ)
    for name in ("w", "b", "sub", "plain", "forward", "state_dict"):
        assert name in dir(ours)
    assert {n for n in dir(theirs) if not n.startswith("_")} - {n for n in dir(ours)} <= {
        "compile", "ipu", "xpu", "mtia", "T_destination", "register_full_backward_hook",
        "register_full_backward_pre_hook", "register_backward_hook",
    }


def test_get_and_set_submodule_paths():
    for lib in LIBS:
        net = shared_tree(lib)
        assert net.get_submodule("") is net
        assert net.get_submodule("seq.0") is net.seq[0]
        assert net.get_parameter("seq.0.weight") is net.seq[0].weight
        assert net.get_buffer("a.count") is net.a.count
        new = lib.nn.Linear(3, 2)
        net.set_submodule("seq.0", new)
        assert net.seq[0] is new
        net.set_submodule("seq.extra", lib.nn.Identity())
        assert "extra" in net.seq._modules


# --- modes, gradients flags, apply, conversions ------------------------------------------------


def test_train_eval_requires_grad_zero_grad():
    theirs, ours = shared_tree(TORCH), shared_tree(TJ)
    for m in (theirs, ours):
        assert m.eval() is m
        assert [s.training for s in m.modules()] == [False] * len(list(m.modules()))
        m.train()
        assert all(s.training for s in m.modules())
        m.seq.train(False)
        assert m.requires_grad_(False) is m
        assert not any(p.requires_grad for p in m.parameters())
        m.head.requires_grad_()
    assert [s.training for s in ours.modules()] == [s.training for s in theirs.modules()]
    assert [p.requires_grad for p in ours.parameters()] == [p.requires_grad for p in theirs.parameters()]
    for p in ours.parameters():
        p.grad = jnp.ones(p.shape)
    ours.zero_grad(set_to_none=False)
    assert all(float(jnp.abs(p.grad).sum()) == 0 for p in ours.parameters())
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())


def test_apply_runs_children_first_and_init_weights_example_verbatim(capsys):
    nn = tnn
    seen = []

    def init_weights(m):  # the user's notes, verbatim (but for the decorator)
        print(m)
        if type(m) == nn.Linear:  # noqa: E721
            m.weight.fill_(1.0)
            print(m.weight)

    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    assert net.apply(init_weights) is net
    out = capsys.readouterr().out
    assert out.count("Linear(in_features=2, out_features=2, bias=True)") == 4
    assert out.count("Parameter containing:") == 2
    assert all(np.all(to_numpy(m.weight) == 1.0) for m in net if isinstance(m, nn.Linear))
    torch_order = []
    torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.Identity())).apply(
        lambda m: torch_order.append(type(m).__name__))
    net2 = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Identity()))
    net2.apply(lambda m: seen.append(type(m).__name__))
    assert seen == torch_order


def _mixed_dtypes_module(lib, int_dtype):
    m = lib.nn.Linear(2, 2)
    m.register_buffer("steps", lib.tensor([1, 2], dtype=int_dtype))
    m.register_buffer("stat", lib.zeros(2))
    return m


@pytest.mark.parametrize("method", ["half", "bfloat16", "float"])
def test_float_conversions_leave_integer_buffers_alone(method):
    theirs, ours = _mixed_dtypes_module(TORCH, np.int64), _mixed_dtypes_module(TJ, np.int32)
    getattr(theirs, method)()
    getattr(ours, method)()
    for (name, t), (_, o) in zip(theirs.state_dict().items(), ours.state_dict().items(), strict=True):
        expected = str(t.dtype).removeprefix("torch.")
        if expected == "int64":
            expected = "int32"  # jax_enable_x64 is off: integers are int32
        assert str(o.dtype) == expected, name


def test_to_dtype_device_and_array():
    m = _mixed_dtypes_module(TJ, np.int32)
    assert m.to(jnp.bfloat16) is m
    assert m.weight.dtype == jnp.bfloat16 and m.steps.dtype == jnp.int32
    m.to("cpu", torchjax.float32)
    assert m.weight.dtype == jnp.float32
    m.to(jnp.zeros(1, jnp.float16))
    assert m.stat.dtype == jnp.float16
    m.to(device=torchjax.device("cpu"), dtype="float32")
    assert m.weight.dtype == jnp.float32 and m.weight.data.committed
    m.weight.grad = jnp.zeros((2, 2))
    m.half()
    assert m.weight.grad.dtype == jnp.float16
    m.type(torchjax.float32)
    assert m.steps.dtype == jnp.float32  # type() casts integer state too, as in torch
    cpu1 = jax.devices("cpu")[1]
    m.to(cpu1)
    assert m.weight.data.devices() == {cpu1} and m.stat.devices() == {cpu1}
    m.cpu()
    assert m.weight.data.devices() == {jax.devices("cpu")[0]}


def test_to_sharding_places_state_on_a_mesh():
    mesh = jax.sharding.Mesh(np.array(jax.devices("cpu")[:2]), ("x",))
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    m = tnn.Linear(4, 4).to(replicated)
    assert m.weight.data.sharding == replicated and len(m.bias.data.devices()) == 2
    m.load_state_dict({"weight": np.ones((4, 4), np.float32), "bias": np.zeros(4, np.float32)})
    assert m.weight.data.sharding == replicated  # loading keeps the placement


def test_double_without_x64_and_cuda_without_gpu_raise_clear_errors():
    m = tnn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="jax_enable_x64"):
        m.double()
    with pytest.raises(RuntimeError, match="jax_enable_x64"):
        m.to(torchjax.float64)
    assert m.weight.dtype == jnp.float32
    if not any(d.platform == "gpu" for d in jax.devices()):
        with pytest.raises(RuntimeError, match=r"JAX sees cpu:0"):
            m.cuda()
        with pytest.raises(RuntimeError, match="not available"):
            m.to("cuda:1")


def test_device_parsing_matches_torch():
    for spec in ("cpu", "cuda", "cuda:1", "cpu:0"):
        assert repr(torchjax.device(spec)) == repr(torch.device(spec))
        assert str(torchjax.device(spec)) == str(torch.device(spec))
    assert torchjax.device("cuda", 2) == "cuda:2"
    assert repr(torchjax.device("cuda", 2)) == repr(torch.device("cuda", 2))
    raises_same(lambda: torch.device("nope"), lambda: torchjax.device("nope"))
    raises_same(lambda: torch.device("cuda:x"), lambda: torchjax.device("cuda:x"))


def test_pickle_and_deepcopy_give_independent_equal_modules():
    block = tnn.Linear(3, 3)
    net = tnn.Sequential(block, tnn.Linear(3, 3), block)
    net[1].weight = block.weight
    net.register_buffer("steps", jnp.arange(3))
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert list(clone.state_dict()) == list(net.state_dict())
        assert clone[0] is clone[2] and clone[1].weight is clone[0].weight
        np.testing.assert_array_equal(np.asarray(clone.steps), np.arange(3))
        clone[0].weight.fill_(3.0)
        assert not np.any(to_numpy(net[0].weight) == 3.0)


# --- repr ------------------------------------------------------------------------------------------


def repr_tree(lib):
    nn = lib.nn

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(4, 3, bias=False), nn.Flatten(0, -1), nn.Unflatten(1, (2, 2)))
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.Identity()])
            self.empty = nn.Module()

        def extra_repr(self):
            return "alpha=1\nbeta=2"

    return Custom()


def test_repr_strings_match_torch_exactly():
    assert repr(repr_tree(TJ)) == repr(repr_tree(TORCH))
    for build in (lambda nn: nn.Linear(3, 4), lambda nn: nn.Identity(54, unused="x"), lambda nn: nn.Flatten(),
                  lambda nn: nn.Unflatten(-1, [2, 3]), lambda nn: nn.Sequential()):
        assert repr(build(tnn)) == repr(build(torch.nn))


def test_incompatible_keys_repr():
    theirs = torch.nn.Linear(2, 2).load_state_dict(torch.nn.Linear(2, 2).state_dict())
    ours = tnn.Linear(2, 2).load_state_dict(tnn.Linear(2, 2).state_dict())
    assert repr(ours) == repr(theirs) == "<All keys matched successfully>"
    theirs = torch.nn.Linear(2, 2).load_state_dict({"weight": torch.zeros(2, 2), "x": torch.zeros(1)}, strict=False)
    ours = tnn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2), np.float32), "x": np.zeros(1)}, strict=False)
    assert repr(ours) == repr(theirs)
    assert ours.missing_keys == ["bias"] and ours.unexpected_keys == ["x"]


# --- forward hooks -----------------------------------------------------------------------------------


def hook_trace(lib):
    """Register every kind of forward hook (global and local, prepend, kwargs, replacements) and
    return the call log and the final output."""
    nn, log = lib.nn, []
    model = nn.Sequential(nn.Linear(2, 2), nn.Identity())
    lin = model[0]
    handles = [
        lib.module_hooks.register_module_forward_pre_hook(lambda m, a: log.append(("gpre", type(m).__name__))),
        lib.module_hooks.register_module_forward_hook(lambda m, a, o: log.append(("gpost", type(m).__name__))),
        lib.module_hooks.register_module_forward_hook(
            lambda m, a, k, o: log.append(("gpost_kw", type(m).__name__, sorted(k))), with_kwargs=True),
        lin.register_forward_pre_hook(lambda m, a: log.append("pre1")),
        lin.register_forward_pre_hook(lambda m, a: log.append("pre0"), prepend=True),
        lin.register_forward_pre_hook(lambda m, a: (a[0] * 2,)),  # replaces the input
        lin.register_forward_pre_hook(lambda m, a, k: log.append(("pre_kw", len(a), sorted(k))), with_kwargs=True),
        lin.register_forward_hook(lambda m, a, o: o + 1),  # replaces the output
        lin.register_forward_hook(lambda m, a, o: log.append(("post", to_numpy(o).round(4).tolist()))),
        lin.register_forward_hook(lambda m, a, k, o: log.append(("post_kw", sorted(k))), with_kwargs=True,
                                  prepend=True),
        model.register_forward_pre_hook(lambda m, a: a[0] + 1),  # non-tuple return is wrapped
    ]
    with torch.no_grad():
        model[0].weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
        model[0].bias.copy_(lib.tensor([0.5, -0.5]))
        out = model(lib.tensor([[1.0, -1.0]]))
    log.append(("out", to_numpy(out).round(4).tolist()))
    for h in handles[:3]:
        h.remove()
    with handles[3]:
        pass
    handles[4].remove()
    model(lib.tensor([[1.0, -1.0]]))
    return log


def test_forward_hooks_order_and_replacement_match_torch():
    with global_hooks_removed():
        theirs = hook_trace(TORCH)
    with global_hooks_removed():
        ours = hook_trace(TJ)
    assert ours == theirs


def test_forward_pre_hook_with_kwargs_replaces_args_and_kwargs():
    for lib in LIBS:
        m = lib.nn.Identity()
        m.register_forward_pre_hook(lambda mod, a, k: ((a[0] * 3,), {}), with_kwargs=True)
        assert to_numpy(m(lib.tensor([1.0]))).tolist() == [3.0]
    raises_same(lambda: _bad_pre_hook(TORCH), lambda: _bad_pre_hook(TJ))


def _bad_pre_hook(lib):
    m = lib.nn.Identity()
    m.register_forward_pre_hook(lambda mod, a, k: 5, with_kwargs=True)
    m(lib.tensor([1.0]))


def always_call_trace(lib):
    log = []

    class Boom(lib.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    gh = lib.module_hooks.register_module_forward_hook(lambda mod, a, o: log.append(("global", o)), always_call=True)
    m.register_forward_hook(lambda mod, a, o: log.append(("normal", o)))
    m.register_forward_hook(lambda mod, a, o: log.append(("always", o)), always_call=True)
    m.register_forward_hook(lambda mod, a, k, o: log.append(("always_kw", o)), always_call=True, with_kwargs=True)
    with pytest.raises(ValueError, match="boom"):
        m(lib.tensor([1.0]))
    gh.remove()
    return log


def test_always_call_hooks_run_when_forward_raises():
    with global_hooks_removed():
        assert always_call_trace(TJ) == always_call_trace(TORCH) == [
            ("global", None), ("always", None), ("always_kw", None)]


def registration_trace(lib):
    log = []
    h1 = lib.module_hooks.register_module_buffer_registration_hook(lambda m, n, b: log.append(("buffer", n)))
    h2 = lib.module_hooks.register_module_module_registration_hook(lambda m, n, s: log.append(("module", n)))
    h3 = lib.module_hooks.register_module_parameter_registration_hook(lambda m, n, p: log.append(("param", n)))
    replacement = lib.nn.Parameter(lib.zeros(5))
    h4 = lib.module_hooks.register_module_parameter_registration_hook(
        lambda m, n, p: replacement if n == "swap" else None)
    m = lib.nn.Module()
    m.lin = lib.nn.Linear(1, 1)
    m.register_buffer("b", lib.zeros(1))
    m.b = lib.zeros(2)
    m.add_module("x", lib.nn.Identity())
    m.x = None
    m.swap = lib.nn.Parameter(lib.zeros(1))
    log.append(("swapped", m.swap is replacement))
    for h in (h1, h2, h3, h4):
        h.remove()
    m.more = lib.nn.Identity()
    return log


def test_global_registration_hooks_match_torch():
    with global_hooks_removed():
        theirs = registration_trace(TORCH)
    with global_hooks_removed():
        assert registration_trace(TJ) == theirs


def test_fast_path_calls_forward_directly():
    m = tnn.Linear(2, 3)
    x = jnp.ones((4, 2))
    np.testing.assert_allclose(np.asarray(m(x)), np.asarray(m.forward(x)))


# --- Parameter, Buffer, uninitialized forms ------------------------------------------------------


def test_parameter_box_semantics():
    p = tnn.Parameter(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert isinstance(p.data, torchjax.Tensor) and p.requires_grad and p.grad is None
    assert p.shape == (2, 3) and p.size() == (2, 3) and p.size(1) == 3 and p.dim() == 2 and p.numel() == 6
    assert hash(p) == object.__hash__(p) and p in {p}
    assert np.asarray(p == p.data).all() and float((p + 1).sum()) == 21.0 and float((2 * p)[1, 2]) == 10.0
    assert float(jnp.sum(p)) == 15.0  # jnp takes a Parameter directly
    np.testing.assert_array_equal(np.asarray(p.T), np.arange(6).reshape(2, 3).T)
    same = p.mul_(2).add_(1, alpha=2).clamp_(max=9.0)
    assert same is p and to_numpy(p).tolist() == [[2, 4, 6], [8, 9, 9]]
    p.copy_(np.ones(3))  # broadcast
    assert to_numpy(p).tolist() == [[1, 1, 1], [1, 1, 1]] and p.dtype == jnp.float32
    with pytest.raises(RuntimeError, match="broadcast"):
        p.copy_(np.ones(4))
    leaves, treedef = jax.tree_util.tree_flatten({"w": p})
    assert leaves[0] is p.jax()
    rebuilt = jax.tree_util.tree_unflatten(treedef, [jnp.zeros((2, 3))])["w"]
    assert isinstance(rebuilt, tnn.Parameter) and rebuilt.requires_grad
    assert jax.jit(lambda q: q * 2)(p).shape == (2, 3)
    assert tnn.Parameter().shape == (0,)
    assert repr(p).startswith("Parameter containing:\n")
    assert copy.deepcopy(p) is not p and isinstance(copy.deepcopy(p), tnn.Parameter)


def test_uninitialized_parameter_and_buffer():
    for lib in LIBS:
        p = lib.nn.UninitializedParameter()
        assert repr(p) == "<UninitializedParameter>"
        raises_same(lambda: torch.nn.UninitializedParameter().shape, lambda: tnn.UninitializedParameter().shape)
    p = tnn.UninitializedParameter(dtype=torchjax.float16)
    m = tnn.Module()
    m.w = p
    p.materialize((2, 3))
    assert type(p) is tnn.Parameter and m.w.shape == (2, 3) and m.w.dtype == jnp.float16
    b = tnn.UninitializedBuffer()
    m.register_buffer("b", b)
    assert list(m.state_dict()) == ["w", "b"] and repr(b) == "<UninitializedBuffer>"
    with pytest.raises(ValueError, match="uninitialized"):
        jnp.add(b, 1)
    m.b = b.materialize((4,))
    assert m.b.shape == (4,)
    m.to(jnp.bfloat16)  # lazy state is skipped by conversions, materialized state converted
    assert m.w.dtype == jnp.bfloat16


# --- Linear, Flatten, Unflatten: forward and gradients vs torch on random configs --------------


RNG = np.random.default_rng(0)
LINEAR_CONFIGS = [(int(RNG.integers(1, 6)), int(RNG.integers(1, 6)), bool(RNG.integers(2)),
                   tuple(int(s) for s in RNG.integers(1, 4, size=RNG.integers(0, 3)))) for _ in range(5)]


@pytest.mark.parametrize("in_f,out_f,bias,batch", LINEAR_CONFIGS)
def test_linear_forward_and_gradients_match_torch(in_f, out_f, bias, batch):
    theirs = torch.nn.Linear(in_f, out_f, bias=bias)
    ours = tnn.Linear(in_f, out_f, bias=bias)
    ours.load_state_dict({k: to_numpy(v) for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal(batch + (in_f,)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    out_t = theirs(xt)
    (out_t * out_t).sum().backward()
    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(x))), to_numpy(out_t), atol=1e-5)
    np.testing.assert_allclose(np.asarray(jax.jit(ours)(jnp.asarray(x))), to_numpy(out_t), atol=1e-5)

    def loss(x, w, b):
        y = tnn.functional.linear(x, w, b)
        return (y * y).sum().jax()

    b = None if not bias else ours.bias.data
    gx, gw, gb = jax.grad(loss, argnums=(0, 1, 2))(jnp.asarray(x), ours.weight.data, b)
    np.testing.assert_allclose(np.asarray(gx), to_numpy(xt.grad), atol=1e-4)
    np.testing.assert_allclose(np.asarray(gw), to_numpy(theirs.weight.grad), atol=1e-4)
    if bias:
        np.testing.assert_allclose(np.asarray(gb), to_numpy(theirs.bias.grad), atol=1e-4)


def test_linear_shape_and_dtype_errors_name_the_module():
    m = tnn.Linear(3, 2)
    raises_same(lambda: torch.nn.Linear(3, 2)(torch.zeros(4, 5)), lambda: m(jnp.zeros((4, 5))))
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=3.*\(4, 5\).*in_features"):
        m(jnp.zeros((4, 5)))
    raises_same(lambda: torch.nn.Linear(3, 2)(torch.zeros(4, 3, dtype=torch.float16)),
                lambda: m(jnp.zeros((4, 3), jnp.float16)))


def test_linear_factory_kwargs():
    m = tnn.Linear(2, 3, dtype=torchjax.bfloat16, device="cpu")
    assert m.weight.dtype == jnp.bfloat16 and m.bias.dtype == jnp.bfloat16
    assert tnn.Linear(2, 3, bias=False).bias is None
    assert list(tnn.Linear(2, 3, bias=False).state_dict()) == ["weight"]


def test_linear_default_init_distribution_matches_torch():
    torch.manual_seed(0)
    torchjax.manual_seed(0)
    fan_in = 64
    theirs = torch.cat([torch.nn.Linear(fan_in, 64).weight.detach().flatten() for _ in range(8)]).numpy()
    ours = np.concatenate([to_numpy(tnn.Linear(fan_in, 64).weight).ravel() for _ in range(8)])
    bound = 1 / np.sqrt(fan_in)
    assert np.abs(ours).max() <= bound and np.abs(ours).max() > 0.99 * bound
    assert abs(ours.mean() - theirs.mean()) < 0.01 * bound * 10
    assert abs(ours.std() - theirs.std()) < 0.02 * theirs.std()


def test_manual_seed_reproduces_initialisation_and_generators_are_independent():
    torchjax.manual_seed(123)
    a = to_numpy(tnn.Linear(4, 4).weight)
    torchjax.manual_seed(123)
    b = to_numpy(tnn.Linear(4, 4).weight)
    c = to_numpy(tnn.Linear(4, 4).weight)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)
    g = torchjax.Generator().manual_seed(5)
    state = torchjax.get_rng_state()
    p = tnn.Parameter(jnp.zeros(4)).uniform_(generator=g)
    np.testing.assert_array_equal(np.asarray(torchjax.get_rng_state()), np.asarray(state))
    q = tnn.Parameter(jnp.zeros(4)).uniform_(generator=torchjax.Generator().manual_seed(5))
    np.testing.assert_array_equal(to_numpy(p), to_numpy(q))
    assert torchjax.manual_seed(7).initial_seed() == 7 == torchjax.initial_seed()
    assert torchjax.Generator().initial_seed() == torch.Generator().initial_seed()


FLATTEN_CONFIGS = [((2, 3, 4), 1, -1), ((2, 3, 4, 5), 0, 2), ((2, 3, 4, 5), -3, -2), ((5,), 0, 0), ((), 0, -1)]


@pytest.mark.parametrize("shape,start,end", FLATTEN_CONFIGS)
def test_flatten_matches_torch(shape, start, end):
    x = RNG.standard_normal(shape).astype(np.float32)
    out_t = torch.nn.Flatten(start, end)(torch.tensor(x))
    out_o = tnn.Flatten(start, end)(jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(out_o), to_numpy(out_t))
    np.testing.assert_array_equal(np.asarray(jax.jit(tnn.Flatten(start, end))(jnp.asarray(x))), to_numpy(out_t))


@pytest.mark.parametrize("shape,dim,sizes", [((2, 12), 1, (3, 4)), ((2, 12, 1), -2, (2, -1, 3)), ((6,), 0, [6])])
def test_unflatten_matches_torch(shape, dim, sizes):
    x = RNG.standard_normal(shape).astype(np.float32)
    out_t = torch.nn.Unflatten(dim, sizes)(torch.tensor(x))
    out_o = tnn.Unflatten(dim, sizes)(jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(out_o), to_numpy(out_t))
    grad = jax.grad(lambda v: (tnn.Unflatten(dim, sizes)(v) ** 2).sum().jax())(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(grad), 2 * x, rtol=1e-6)


@pytest.mark.parametrize("build,shape", [
    (lambda nn: nn.Flatten(2, 1), (2, 3, 4)),
    (lambda nn: nn.Flatten(0, 5), (2, 3)),
    (lambda nn: nn.Unflatten(1, (5, 2)), (2, 12)),
    (lambda nn: nn.Unflatten(3, (1, 2)), (2, 2)),
    (lambda nn: nn.Unflatten(1, (-1, -1)), (2, 4)),
])
def test_shape_layer_errors_match_torch(build, shape):
    raises_same(lambda: build(torch.nn)(torch.zeros(shape)), lambda: build(tnn)(jnp.zeros(shape)))


def test_deprecated_container_factory_kwargs_and_common_types():
    with pytest.warns(FutureWarning, match="deprecated"):
        ours = tnn.Container(a=tnn.Linear(1, 1))
    with pytest.warns(FutureWarning):
        theirs = torch.nn.Container(a=torch.nn.Linear(1, 1))
    assert repr(ours) == repr(theirs)
    for kwargs in ({"dtype": 1}, {"device": "cpu", "factory_kwargs": {"dtype": 2}}, None):
        assert tnn.factory_kwargs(kwargs) == torch.nn.factory_kwargs(kwargs)
    for bad in ({"foo": 1}, {"dtype": 1, "factory_kwargs": {"dtype": 2}}):
        raises_same(lambda b=bad: torch.nn.factory_kwargs(b), lambda b=bad: tnn.factory_kwargs(b))
    assert {n for n in dir(torch.nn.common_types) if n.startswith("_size")} <= set(dir(tnn.common_types))

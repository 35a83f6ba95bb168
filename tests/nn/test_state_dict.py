"""state_dict / load_state_dict against torch: keys, hooks, strictness, assign, extra state, atomicity."""

from __future__ import annotations

from collections import OrderedDict

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import LIBS, TJ, TORCH, raises_same, to_numpy

import torchjax.nn as tnn


def model(lib):
    nn = lib.nn
    net = nn.Sequential(OrderedDict(fc1=nn.Linear(3, 4), act=nn.Identity(), fc2=nn.Linear(4, 2)))
    net.fc1.register_buffer("steps", lib.tensor([7], dtype=np.int32))
    net.fc1.register_buffer("cache", lib.zeros(2), persistent=False)
    return net


def numpy_state(lib, scale: float = 1.0):
    """A full checkpoint for ``model`` with values distinct from any initialisation."""
    return OrderedDict(
        [("fc1.weight", np.full((4, 3), 1.5 * scale, np.float32)), ("fc1.bias", np.full(4, 2.0 * scale, np.float32)),
         ("fc1.steps", np.array([3], np.int32)), ("fc2.weight", np.full((2, 4), -1.0 * scale, np.float32)),
         ("fc2.bias", np.zeros(2, np.float32))])


def as_lib(lib, state):
    return OrderedDict((k, lib.tensor(v, dtype=v.dtype)) for k, v in state.items())


def snapshot(module):
    return {k: to_numpy(v).copy() for k, v in module.state_dict().items()}


def test_round_trip_and_value_types():
    ours = model(TJ)
    result = ours.load_state_dict(numpy_state(TJ))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert to_numpy(ours.fc1.weight).tolist() == [[1.5] * 3] * 4
    assert ours.fc1.steps.dtype == jnp.int32 and ours.fc1.weight.dtype == jnp.float32
    other = model(TJ)
    other.load_state_dict(ours.state_dict())  # jax arrays
    assert all(np.array_equal(a, b) for a, b in zip(snapshot(other).values(), snapshot(ours).values(), strict=True))
    weight = ours.fc1.weight
    ours.load_state_dict(as_lib(TORCH, numpy_state(TJ, 2.0)))  # torch tensors load without conversion by the user
    assert ours.fc1.weight is weight and float(weight[0, 0]) == 3.0
    # Not committed to a device, as the arrays they replace (and NumPy's) are not: a committed
    # parameter would make a compiled step compile again at its second call.
    assert not any(t.jax().committed for t in ours.state_dict().values())


def test_loading_a_torch_checkpoint_gives_torch_outputs():
    theirs = model(TORCH)
    ours = model(TJ)
    ours.load_state_dict({k: v for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(x))), to_numpy(theirs(torch.tensor(x))), atol=1e-6)


def test_dtype_is_cast_to_the_models_on_copy_and_kept_on_assign():
    ours = model(TJ)
    state = numpy_state(TJ)
    state["fc1.weight"] = state["fc1.weight"].astype(np.float16)
    ours.load_state_dict(state)
    assert ours.fc1.weight.dtype == jnp.float32
    ours.fc1.weight.requires_grad_(False)
    old = ours.fc1.weight
    ours.load_state_dict(state, assign=True)
    assert ours.fc1.weight is not old and ours.fc1.weight.dtype == jnp.float16
    assert ours.fc1.weight.requires_grad is False and isinstance(ours.fc1.weight, tnn.Parameter)


def test_assign_matches_torch_object_semantics():
    for lib in LIBS:
        m = lib.nn.Linear(2, 2)
        new = lib.nn.Parameter(lib.zeros(2, 2))
        m.load_state_dict({"weight": new, "bias": lib.zeros(2)}, assign=True)
        assert m.weight is new


@pytest.mark.parametrize("case", ["missing", "unexpected", "both", "size", "not_array", "extra_module_key"])
def test_strict_errors_match_torch(case):
    def state(lib):
        sd = as_lib(lib, numpy_state(lib))
        if case in ("missing", "both"):
            del sd["fc2.bias"]
        if case in ("unexpected", "both"):
            sd["fc2.nope"] = lib.zeros(1)
        if case == "size":
            sd["fc1.bias"] = lib.zeros(5)
        if case == "not_array":
            sd["fc1.bias"] = "x"
        if case == "extra_module_key":
            sd["zzz.weight"] = lib.zeros(1)
        return sd

    theirs, ours = raises_same(lambda: model(TORCH).load_state_dict(state(TORCH)),
                               lambda: model(TJ).load_state_dict(state(TJ)))
    first_lines = [str(e).split("\n\t")[0] for e in (theirs, ours)]
    assert first_lines[0] == first_lines[1]
    torch_reasons = [line.split(",")[0].split(":")[0] for line in str(theirs).split("\n\t")[1:]]
    our_reasons = [line.split(",")[0].split(":")[0] for line in str(ours).split("\n\t")[1:]]
    assert our_reasons == torch_reasons


@pytest.mark.parametrize("case", ["missing", "unexpected", "both", "size"])
def test_failed_load_leaves_module_unchanged_unlike_torch(case):
    state = numpy_state(TJ)
    if case in ("missing", "both"):
        del state["fc2.bias"]
    if case in ("unexpected", "both"):
        state["nope"] = np.zeros(1, np.float32)
    if case == "size":
        state["fc2.weight"] = np.zeros((3, 3), np.float32)
    ours = model(TJ)
    params = [ours.fc1.weight, ours.fc1.bias, ours.fc2.weight, ours.fc2.bias]
    before = snapshot(ours)
    with pytest.raises(RuntimeError, match="Error\\(s\\) in loading state_dict for Sequential"):
        ours.load_state_dict(state)
    after = snapshot(ours)
    assert list(after) == list(before) and all(np.array_equal(before[k], after[k]) for k in before)
    assert [ours.fc1.weight, ours.fc1.bias, ours.fc2.weight, ours.fc2.bias] == params  # same objects
    # torch, by contrast, half-loads: fc1 already holds the checkpoint's values
    theirs = model(TORCH)
    with pytest.raises(RuntimeError):
        theirs.load_state_dict(as_lib(TORCH, state))
    assert theirs.fc1.weight[0, 0].item() == 1.5


def test_failed_assign_load_and_failing_hook_restore_everything():
    ours = model(TJ)
    weight = ours.fc1.weight
    before = snapshot(ours)
    state = numpy_state(TJ)
    del state["fc2.bias"]
    with pytest.raises(RuntimeError):
        ours.load_state_dict(state, assign=True)
    assert ours.fc1.weight is weight and np.array_equal(snapshot(ours)["fc1.weight"], before["fc1.weight"])

    def broken_post_hook(module, keys):
        raise ValueError("post hook failed")

    ours.fc2.register_load_state_dict_post_hook(broken_post_hook)
    with pytest.raises(ValueError, match="post hook failed"):
        ours.load_state_dict(numpy_state(TJ))
    assert all(np.array_equal(a, b) for a, b in zip(snapshot(ours).values(), before.values(), strict=True))


def test_non_strict_reports_keys_like_torch():
    def run(lib):
        sd = as_lib(lib, numpy_state(lib))
        del sd["fc1.steps"]
        sd["fc3.weight"] = lib.zeros(1)
        sd["fc1.extra"] = lib.zeros(1)
        keys = model(lib).load_state_dict(sd, strict=False)
        return keys.missing_keys, keys.unexpected_keys

    assert run(TJ) == run(TORCH)


def test_none_parameter_key_is_unexpected_and_scalar_backward_compat():
    for lib in LIBS:
        m = lib.nn.Module()
        m.register_parameter("gone", None)
        m.scalar = lib.nn.Parameter(lib.tensor(0.0))
        keys = m.load_state_dict({"gone": lib.zeros(1), "scalar": lib.tensor([4.0])}, strict=False)
        assert keys.unexpected_keys == ["gone"] and float(to_numpy(m.scalar)) == 4.0


def extra_state_module(lib):
    class WithExtra(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(1, 1)
            self.config = {"step": 1}

        def get_extra_state(self):
            return dict(self.config)

        def set_extra_state(self, state):
            self.config = dict(state)

    return WithExtra()


def test_extra_state_round_trip_and_strictness():
    for lib in LIBS:
        m = extra_state_module(lib)
        sd = m.state_dict()
        assert list(sd) == ["_extra_state", "fc.weight", "fc.bias"]
        sd["_extra_state"] = {"step": 9}
        m.load_state_dict(sd)
        assert m.config == {"step": 9}
    raises_same(lambda: extra_state_module(TORCH).load_state_dict(TORCH.nn.Linear(1, 1).state_dict(), strict=True),
                lambda: extra_state_module(TJ).load_state_dict(TJ.nn.Linear(1, 1).state_dict(), strict=True))
    raises_same(lambda: TORCH.nn.Linear(1, 1).load_state_dict(extra_state_module(TORCH).fc.state_dict() | {
        "_extra_state": 1}), lambda: TJ.nn.Linear(1, 1).load_state_dict(extra_state_module(TJ).fc.state_dict() | {
            "_extra_state": 1}))
    m = extra_state_module(TJ)
    bad = m.state_dict()
    bad["_extra_state"] = {"step": 5}
    del bad["fc.bias"]
    with pytest.raises(RuntimeError):
        m.load_state_dict(bad)
    assert m.config == {"step": 1}  # extra state restored with the rest


def hooks_trace(lib):
    log = []
    net = model(lib)

    def sd_pre(module, prefix, keep_vars):
        log.append(("sd_pre", type(module).__name__, prefix, keep_vars))

    def sd_post(module, state_dict, prefix, local_metadata):
        log.append(("sd_post", prefix, sorted(state_dict)[:1], dict(local_metadata)))
        state_dict[prefix + "added"] = lib.zeros(1)

    def load_pre(module, state_dict, prefix, local_metadata, strict, missing, unexpected, error_msgs):
        log.append(("load_pre", type(module).__name__, prefix, sorted(state_dict)[:2], strict))
        state_dict.pop(prefix + "added", None)

    def load_post(module, incompatible):
        log.append(("load_post", type(module).__name__, list(incompatible.missing_keys),
                    list(incompatible.unexpected_keys)))
        incompatible.unexpected_keys.clear()  # in-place edits change what strict sees

    handles = [net.fc1.register_state_dict_pre_hook(sd_pre), net.register_state_dict_pre_hook(sd_pre),
               net.fc1.register_state_dict_post_hook(sd_post), net.register_load_state_dict_pre_hook(load_pre),
               net.fc1.register_load_state_dict_pre_hook(load_pre),
               net.fc2.register_load_state_dict_post_hook(load_post),
               net.register_load_state_dict_post_hook(load_post)]
    sd = net.state_dict(keep_vars=False)
    log.append(("keys", list(sd)))
    sd["unknown"] = lib.zeros(1)
    result = net.load_state_dict(sd)
    log.append(("result", list(result.missing_keys), list(result.unexpected_keys)))
    for h in handles:
        h.remove()
    log.append(("after_remove", list(net.state_dict())))
    return log


def test_state_dict_and_load_hooks_match_torch():
    assert hooks_trace(TJ) == hooks_trace(TORCH)


def test_private_state_dict_hook_may_replace_result_and_public_may_not():
    for lib in LIBS:
        m = lib.nn.Linear(1, 1)
        m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"replaced": 1})
        assert m.state_dict() == {"replaced": 1}
        m2 = lib.nn.Linear(1, 1)
        m2.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {"replaced": 1})
    raises_same(lambda: _public_returning(TORCH), lambda: _public_returning(TJ))


def _public_returning(lib):
    m = lib.nn.Linear(1, 1)
    m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {"replaced": 1})
    m.state_dict()


def test_load_state_dict_post_hook_must_return_none():
    def returning(lib):
        m = lib.nn.Linear(1, 1)
        m.register_load_state_dict_post_hook(lambda mod, keys: 1)
        m.load_state_dict(m.state_dict())

    raises_same(lambda: returning(TORCH), lambda: returning(TJ))


def test_overridden_load_from_state_dict_converts_old_layouts():
    class Renamed(tnn.Linear):
        def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
            if prefix + "w" in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
            super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    m = tnn.Sequential(Renamed(2, 1))
    m.load_state_dict({"0.w": np.ones((1, 2), np.float32), "0.bias": np.zeros(1, np.float32)})
    assert to_numpy(m[0].weight).tolist() == [[1.0, 1.0]]

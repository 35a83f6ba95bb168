"""torchjax.optim's optimizers against torch.optim as the oracle.

Every optimizer configuration (each option that changes the math, several param groups with
different options, a frozen parameter that never has a gradient) trains the same small network in
torch, in torchjax eagerly and in a ``torchjax.compile``d step; parameters must agree after every
step and the optimizers' ``state_dict``s at the end. State dicts also cross between the libraries
mid-training, learning-rate changes must not recompile, and constructors validate like torch's.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import TJ, TORCH, raises_same, to_numpy

import torchjax
import torchjax.optim as our_optim

STEPS = 20
RTOL = 1e-5  # relative to the largest magnitude of each parameter tensor (float32)
# State tensors: betas are traced float32 inputs, and 1 - float32(0.999) is 1.3e-5 away from torch's float64
# 1 - 0.999, a factor on every increment of exp_avg_sq. (The bias correction uses the same beta, so the
# updates, and the parameters above, agree to ~1e-6.)
STATE_RTOL = 3e-5
NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]
OPTIM = {TORCH.name: torch.optim, TJ.name: our_optim}

# Constructor options, each combination that changes the math; "groups" gives per-group options for three
# param groups (hidden layer, output layer, frozen layer), else all parameters form one group.
CONFIGS = {
    "SGD": {"lr": 0.1},
    "SGD-momentum": {"lr": 0.1, "momentum": 0.9},
    "SGD-dampening-wd": {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05},
    "SGD-nesterov-maximize": {"lr": 0.01, "momentum": 0.8, "nesterov": True, "maximize": True},
    "Adam": {"lr": 0.01},
    "Adam-decoupled": {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "betas": (0.8, 0.99)},
    "Adam-amsgrad-wd-maximize": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "maximize": True},
    "AdamW": {"lr": 0.01},
    "AdamW-amsgrad": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.3},
    "RMSprop": {"lr": 0.01},
    "RMSprop-momentum": {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1},
    "RMSprop-centered-momentum-maximize": {"lr": 0.005, "centered": True, "momentum": 0.5, "maximize": True},
    "Adagrad": {"lr": 0.1},
    "Adagrad-lr_decay-initial": {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.5},
    "Adagrad-wd-maximize": {"lr": 0.01, "weight_decay": 0.1, "maximize": True, "eps": 1e-6},
    "Adadelta": {},
    "Adadelta-wd-rho-maximize": {"lr": 0.5, "rho": 0.7, "weight_decay": 0.1, "maximize": True},
    "Adamax": {"lr": 0.01},
    "Adamax-wd-maximize": {"lr": 0.01, "weight_decay": 0.1, "maximize": True, "betas": (0.8, 0.9)},
    "NAdam": {"lr": 0.01},
    "NAdam-wd": {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01},
    "NAdam-decoupled-maximize": {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
    "RAdam": {"lr": 0.01},
    "RAdam-wd-betas": {"lr": 0.05, "weight_decay": 0.1, "betas": (0.9, 0.99)},
    "RAdam-decoupled-maximize": {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
}
GROUPS = {
    "SGD-groups": {"lr": 0.1, "groups": [{"momentum": 0.9, "nesterov": True}, {"lr": 0.05, "dampening": 0.5,
                                                                               "momentum": 0.5}, {}]},
    "Adam-groups": {"lr": 0.01, "groups": [{"amsgrad": True}, {"lr": 0.03, "weight_decay": 0.1, "maximize": True},
                                           {"betas": (0.5, 0.6)}]},
    "RMSprop-groups": {"lr": 0.01, "groups": [{"centered": True}, {"momentum": 0.5, "alpha": 0.9, "lr": 0.005}, {}]},
    # torch takes initial_accumulator_value from the constructor for every group; so must we.
    "Adagrad-groups": {"lr": 0.1, "initial_accumulator_value": 0.1,
                       "groups": [{"lr_decay": 0.1}, {"initial_accumulator_value": 2.0, "lr": 0.2}, {}]},
    "Adadelta-groups": {"groups": [{"rho": 0.5}, {"lr": 0.1, "weight_decay": 0.2}, {}]},
    "Adamax-groups": {"lr": 0.01, "groups": [{"betas": (0.5, 0.9)}, {"lr": 0.02, "weight_decay": 0.1}, {}]},
    "NAdam-groups": {"lr": 0.01, "groups": [{"decoupled_weight_decay": True, "weight_decay": 0.1},
                                            {"momentum_decay": 0.0}, {}]},
    "RAdam-groups": {"lr": 0.01, "groups": [{"decoupled_weight_decay": True, "weight_decay": 0.1},
                                            {"betas": (0.5, 0.7)}, {}]},
}
CONFIGS.update(GROUPS)
# Every state layout (optional buffers, per-group differences) crosses between the libraries.
STATE_LAYOUTS = ["SGD", "SGD-momentum", "Adam-amsgrad-wd-maximize", "AdamW", "RMSprop",
                 "RMSprop-centered-momentum-maximize", "Adagrad-lr_decay-initial", "Adadelta", "Adamax", "NAdam",
                 "RAdam-decoupled-maximize", *GROUPS]


def optimizer_name(config_id: str) -> str:
    return config_id.split("-")[0]


def network(lib):
    """Linear(4, 8) -> tanh -> Linear(8, 3) -> a frozen Linear(3, 3): two trained layers, one never trained."""
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(4, 8)
            self.out = nn.Linear(8, 3)
            self.frozen = nn.Linear(3, 3)
            self.frozen.requires_grad_(False)

        def forward(self, x):
            return self.frozen(self.out(lib.tanh(self.hidden(x))))

    lib.manual_seed(0)
    return Net()


RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((16, 4)).astype(np.float32), RNG.standard_normal((16, 3)).astype(np.float32)


def mse(model, x, y):
    return ((model(x) - y) ** 2).mean()


def torch_step(model, opt):
    opt.zero_grad()
    mse(model, torch.tensor(X), torch.tensor(Y)).backward()
    opt.step()


def our_step(model, opt, x, y):
    opt.zero_grad()
    loss = torchjax.backward(mse, model, x, y)
    opt.step()
    return loss


def param_groups(model, groups: list[dict] | None) -> list:
    params = list(model.parameters())
    if groups is None:
        return params
    return [{"params": params[2 * i:2 * i + 2], **options} for i, options in enumerate(groups)]


def copy_weights(ours, theirs) -> None:
    """Load a torch model's weights into ours from copies: torch updates its tensors in place afterwards."""
    ours.load_state_dict({k: to_numpy(v).copy() for k, v in theirs.state_dict().items()})


def make(lib, config_id: str, torch_model=None) -> tuple:
    """``lib``'s network and optimizer for a configuration (ours start from ``torch_model``'s weights)."""
    options = dict(CONFIGS[config_id])
    groups = options.pop("groups", None)
    model = network(lib)
    if torch_model is not None:
        copy_weights(model, torch_model)
    return model, getattr(OPTIM[lib.name], optimizer_name(config_id))(param_groups(model, groups), **options)


def relative_error(ours, theirs) -> float:
    a, b = to_numpy(ours).astype(np.float64), to_numpy(theirs).astype(np.float64)
    assert a.shape == b.shape
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)) if b.size else 0.0


def assert_same_params(ours, theirs, where: str = "") -> float:
    worst = 0.0
    for (name, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        error = relative_error(a, b)
        assert error <= RTOL, f"{where} {name}: relative error {error:.2e}"
        worst = max(worst, error)
    return worst


def assert_same_state_dict(ours: dict, theirs: dict, path: str = "state_dict") -> None:
    """Same structure, keys and types; arrays equal to RTOL (``step`` exactly); options equal."""
    if isinstance(theirs, torch.Tensor):
        assert type(ours) is torchjax.Tensor and not isinstance(ours.jax(), jax.core.Tracer), f"{path}: {type(ours)}"
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), path
        if path.endswith("['step']"):
            assert float(ours) == float(theirs), path
        else:
            error = relative_error(ours, theirs)
            assert error <= STATE_RTOL, f"{path}: relative error {error:.2e}"
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), f"{path}: {list(ours)} != {list(theirs)}"
        for key in theirs:
            assert_same_state_dict(ours[key], theirs[key], f"{path}[{key!r}]")
    elif isinstance(theirs, list | tuple):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), f"{path}: {ours} != {theirs}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same_state_dict(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs and type(ours) is type(theirs), f"{path}: {ours!r} != {theirs!r}"


def to_torch_state_dict(value):
    """Our state_dict with every array turned into a torch tensor (what a user would hand torch)."""
    if isinstance(value, torchjax.Tensor):
        return torch.tensor(value.numpy())
    if isinstance(value, dict):
        return {k: to_torch_state_dict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(map(to_torch_state_dict, value))
    return value


@pytest.mark.parametrize("config_id", CONFIGS)
def test_trajectory_matches_torch_eager_and_compiled(config_id: str) -> None:
    theirs, torch_opt = make(TORCH, config_id)
    eager, eager_opt = make(TJ, config_id, theirs)
    compiled, compiled_opt = make(TJ, config_id, theirs)
    step = torchjax.compile(our_step)
    x, y = jnp.asarray(X), jnp.asarray(Y)
    for i in range(STEPS):
        torch_step(theirs, torch_opt)
        our_step(eager, eager_opt, x, y)
        step(compiled, compiled_opt, x, y)
        assert_same_params(eager, theirs, f"eager step {i}")
        assert_same_params(compiled, theirs, f"compiled step {i}")
    assert_same_state_dict(eager_opt.state_dict(), torch_opt.state_dict())
    assert_same_state_dict(compiled_opt.state_dict(), torch_opt.state_dict())
    np.testing.assert_array_equal(to_numpy(compiled.frozen.weight), to_numpy(theirs.frozen.weight))


@pytest.mark.parametrize("config_id", STATE_LAYOUTS)
def test_state_dict_crosses_libraries_mid_training(config_id: str) -> None:
    """Torch's state after 3 steps loads into ours, ours into torch; all three continue alike."""
    theirs, torch_opt = make(TORCH, config_id)
    ours, our_opt = make(TJ, config_id, theirs)
    for _ in range(3):
        torch_step(theirs, torch_opt)
        our_step(ours, our_opt, jnp.asarray(X), jnp.asarray(Y))
    from_torch, from_torch_opt = make(TJ, config_id, theirs)
    from_torch_opt.load_state_dict(copy.deepcopy(torch_opt.state_dict()))
    to_torch, to_torch_opt = make(TORCH, config_id)
    to_torch.load_state_dict({k: torch.tensor(to_numpy(v)) for k, v in ours.state_dict().items()})
    to_torch_opt.load_state_dict(to_torch_state_dict(our_opt.state_dict()))
    for i in range(5):
        torch_step(theirs, torch_opt)
        torch_step(to_torch, to_torch_opt)
        our_step(from_torch, from_torch_opt, jnp.asarray(X), jnp.asarray(Y))
        assert_same_params(from_torch, theirs, f"torch -> ours, step {i}")
        assert_same_params(from_torch, to_torch, f"ours -> torch, step {i}")
    assert_same_state_dict(from_torch_opt.state_dict(), torch_opt.state_dict())
    assert_same_state_dict(from_torch_opt.state_dict(), to_torch_opt.state_dict())


@pytest.mark.parametrize("change", ["by hand", "StepLR"])
def test_lr_changes_between_compiled_steps_do_not_recompile(change: str) -> None:
    traces = []

    def counted_step(model, opt, x, y):
        traces.append(1)
        return our_step(model, opt, x, y)

    config_id = "Adam-groups"
    theirs, torch_opt = make(TORCH, config_id)
    ours, our_opt = make(TJ, config_id, theirs)
    schedulers = [] if change == "by hand" else [
        lib.StepLR(opt, step_size=2, gamma=0.5)
        for lib, opt in ((torch.optim.lr_scheduler, torch_opt), (our_optim.lr_scheduler, our_opt))
    ]
    step = torchjax.compile(counted_step)
    for i in range(8):
        if change == "by hand":
            for opt in (torch_opt, our_opt):
                for k, group in enumerate(opt.param_groups):
                    group["lr"] = 0.02 * 0.7**i / (k + 1)
        torch_step(theirs, torch_opt)
        step(ours, our_opt, jnp.asarray(X), jnp.asarray(Y))
        for scheduler in schedulers:
            scheduler.step()
        assert_same_params(ours, theirs, f"step {i}")
    assert [g["lr"] for g in our_opt.param_groups] == [g["lr"] for g in torch_opt.param_groups]
    assert len(traces) == 1  # lr is a traced input
    assert_same_state_dict(our_opt.state_dict(), torch_opt.state_dict())


INVALID_ARGUMENTS = {
    "SGD lr": ("SGD", {"lr": -0.1}),
    "SGD momentum": ("SGD", {"momentum": -0.5}),
    "SGD weight_decay": ("SGD", {"weight_decay": -1e-4}),
    "SGD nesterov without momentum": ("SGD", {"nesterov": True}),
    "SGD nesterov with dampening": ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    "Adam lr": ("Adam", {"lr": -1e-3}),
    "Adam eps": ("Adam", {"eps": -1e-8}),
    "Adam beta1": ("Adam", {"betas": (1.0, 0.999)}),
    "Adam beta2": ("Adam", {"betas": (0.9, -0.1)}),
    "Adam weight_decay": ("Adam", {"weight_decay": -0.1}),
    "Adam int betas": ("Adam", {"betas": (0, 0.99)}),
    "Adam fused differentiable": ("Adam", {"fused": True, "differentiable": True}),
    "Adam fused foreach": ("Adam", {"fused": True, "foreach": True}),
    "AdamW beta1": ("AdamW", {"betas": (-0.1, 0.999)}),
    "AdamW weight_decay": ("AdamW", {"weight_decay": -0.01}),
    "RMSprop lr": ("RMSprop", {"lr": -0.01}),
    "RMSprop eps": ("RMSprop", {"eps": -1.0}),
    "RMSprop momentum": ("RMSprop", {"momentum": -0.9}),
    "RMSprop weight_decay": ("RMSprop", {"weight_decay": -0.9}),
    "RMSprop alpha": ("RMSprop", {"alpha": -0.99}),
    "Adagrad lr_decay": ("Adagrad", {"lr_decay": -0.1}),
    "Adagrad weight_decay": ("Adagrad", {"weight_decay": -0.1}),
    "Adagrad initial_accumulator_value": ("Adagrad", {"initial_accumulator_value": -0.1}),
    "Adagrad eps": ("Adagrad", {"eps": -1e-10}),
    "Adagrad fused differentiable": ("Adagrad", {"fused": True, "differentiable": True}),
    "Adadelta lr": ("Adadelta", {"lr": -1.0}),
    "Adadelta rho": ("Adadelta", {"rho": 1.1}),
    "Adadelta eps": ("Adadelta", {"eps": -1e-6}),
    "Adadelta weight_decay": ("Adadelta", {"weight_decay": -1.0}),
    "Adamax beta2": ("Adamax", {"betas": (0.9, 1.0)}),
    "Adamax weight_decay": ("Adamax", {"weight_decay": -1.0}),
    "NAdam eps": ("NAdam", {"eps": -1.0}),
    "NAdam beta1": ("NAdam", {"betas": (1.5, 0.9)}),
    "NAdam momentum_decay": ("NAdam", {"momentum_decay": -4e-3}),
    "RAdam lr": ("RAdam", {"lr": -1.0}),
    "RAdam beta2": ("RAdam", {"betas": (0.9, 1.0)}),
    "RAdam weight_decay": ("RAdam", {"weight_decay": -1.0}),
}


def build_both(build: Callable) -> tuple[Callable, Callable]:
    """``build(lib, model)`` as two thunks, for :func:`raises_same`."""
    return (lambda: build(torch.optim, network(TORCH)), lambda: build(our_optim, network(TJ)))


@pytest.mark.parametrize("case", INVALID_ARGUMENTS)
def test_invalid_arguments_raise_like_torch(case: str) -> None:
    name, kwargs = INVALID_ARGUMENTS[case]
    theirs, ours = raises_same(*build_both(lambda optim, model: getattr(optim, name)(model.parameters(), **kwargs)))
    assert str(ours) == str(theirs)


INVALID_PARAMS = {
    "empty list": lambda model: [],
    "one tensor": lambda model: model.hidden.weight,
    "a set in a group": lambda model: [{"params": set(model.hidden.parameters())}],
    "duplicates across groups": lambda model: [{"params": [model.hidden.weight]},
                                                {"params": [model.out.weight, model.hidden.weight]}],
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("case", INVALID_PARAMS)
def test_invalid_params_raise_like_torch(case: str, name: str) -> None:
    theirs, ours = raises_same(*build_both(lambda optim, model: getattr(optim, name)(INVALID_PARAMS[case](model))))
    if case != "one tensor":  # torch names its own tensor class there
        assert str(ours) == str(theirs)


def run_both(name: str, scenario: Callable, **kwargs) -> tuple:
    """``scenario(model, opt, step)`` on torch and on ours (eager), from the same weights; both returned."""
    theirs = network(TORCH)
    ours = network(TJ)
    copy_weights(ours, theirs)
    runs = []
    for lib, model, step in ((torch.optim, theirs, lambda m, o: torch_step(m, o)),
                             (our_optim, ours, lambda m, o: our_step(m, o, jnp.asarray(X), jnp.asarray(Y)))):
        opt = getattr(lib, name)([{"params": model.hidden.parameters()}], **kwargs)
        scenario(model, opt, step)
        runs.append((model, opt))
    (model_t, opt_t), (model_o, opt_o) = runs
    assert_same_params(model_o, model_t)
    assert_same_state_dict(opt_o.state_dict(), opt_t.state_dict())
    return runs


@pytest.mark.parametrize("name", NAMES)
def test_add_param_group_then_step(name: str) -> None:
    def scenario(model, opt, step):
        step(model, opt)
        opt.add_param_group({"params": list(model.out.parameters()), "lr": 0.02})
        opt.add_param_group({"params": list(model.frozen.parameters())})
        for _ in range(3):
            step(model, opt)

    run_both(name, scenario, lr=0.01)


@pytest.mark.parametrize("name", NAMES)
def test_zero_grad_to_zeros_keeps_stepping(name: str) -> None:
    """``zero_grad(set_to_none=False)`` leaves zero gradients, which still step (weight decay, momentum)."""
    def scenario(model, opt, step):
        step(model, opt)
        opt.zero_grad(set_to_none=False)
        opt.step()

    kwargs = {"weight_decay": 0.1} | ({"momentum": 0.9} if name in ("SGD", "RMSprop") else {})
    (_, _), (model, _) = run_both(name, scenario, lr=0.01, **kwargs)
    assert all(float(jnp.abs(p.grad).max()) == 0.0 for p in model.hidden.parameters())
    assert float(jnp.abs(model.out.weight.grad).max()) > 0  # not the optimizer's: untouched
    assert model.frozen.weight.grad is None


@pytest.mark.parametrize("config_id", CONFIGS)
def test_repr_matches_torch(config_id: str) -> None:
    assert repr(make(TJ, config_id)[1]) == repr(make(TORCH, config_id)[1])


@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name: str) -> None:
    def parameters(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls.__init__).parameters.values()]

    assert parameters(getattr(our_optim, name)) == parameters(getattr(torch.optim, name))


# What each torch optimizer's __setstate__ fills in for state_dicts saved by older versions.
OLD_FORMAT_KEYS = ["maximize", "foreach", "capturable", "differentiable", "fused", "amsgrad", "momentum", "centered",
                   "decoupled_weight_decay"]


@pytest.mark.parametrize("name", NAMES[1:])
def test_old_state_dict_formats_are_completed_like_torch(name: str) -> None:
    """A state_dict lacking newer options, with ``step`` as a Python number, loads as torch loads it."""
    theirs, torch_opt = make(TORCH, name)
    torch_step(theirs, torch_opt)
    ours, our_opt = make(TJ, name, theirs)
    saved = copy.deepcopy(torch_opt.state_dict())
    for group in saved["param_groups"]:
        for key in OLD_FORMAT_KEYS:
            group.pop(key, None)
        group["decoupled_weight_decay"] = False if name == "AdamW" else group.get("decoupled_weight_decay", False)
    for state in saved["state"].values():
        state["step"] = float(state["step"])
    torch_opt.load_state_dict(copy.deepcopy(saved))
    our_opt.load_state_dict(saved)
    assert_same_state_dict(our_opt.state_dict(), torch_opt.state_dict())
    torch_step(theirs, torch_opt)
    our_step(ours, our_opt, jnp.asarray(X), jnp.asarray(Y))
    assert_same_params(ours, theirs)


def _state_tensors(opt) -> dict:
    return {(id(p), key): value for p, state in opt.state.items() for key, value in state.items()}


@pytest.mark.parametrize("config_id", ["SGD-momentum", "Adam-amsgrad-wd-maximize",
                                       "RMSprop-centered-momentum-maximize"])
@pytest.mark.parametrize("first", ["eager", "compiled"])
def test_state_values_are_tensors_updated_in_place(config_id: str, first: str) -> None:
    """As in torch, ``opt.state`` and ``state_dict()`` hold Tensors (``step`` a float32 0-d one) that every step,
    eager or compiled, updates in place: a Tensor taken from them follows the optimizer."""
    theirs, torch_opt = make(TORCH, config_id)
    ours, our_opt = make(TJ, config_id, theirs)
    compiled = torchjax.compile(our_step)
    steps = [our_step, compiled] if first == "eager" else [compiled, our_step]
    x, y = jnp.asarray(X), jnp.asarray(Y)
    torch_step(theirs, torch_opt)
    steps[0](ours, our_opt, x, y)
    held = _state_tensors(our_opt)
    assert held and all(type(v) is torchjax.Tensor for v in held.values() if v is not None)
    stepped = {k: v for k, v in held.items() if v is not None}
    assert_same_state_dict(our_opt.state_dict(), torch_opt.state_dict())
    if "step" in torch_opt.state_dict()["state"][0]:
        step = our_opt.state_dict()["state"][0]["step"]
        assert step.dtype == jnp.float32 and step.shape == () and float(step) == 1.0
    before = {k: v.numpy() for k, v in stepped.items()}
    for step_fn in (*steps, *steps):
        torch_step(theirs, torch_opt)
        step_fn(ours, our_opt, x, y)
    after = _state_tensors(our_opt)
    assert all(after[k] is v for k, v in stepped.items())  # the same objects, with new values
    assert any(not np.array_equal(v.numpy(), before[k]) for k, v in stepped.items())
    assert not any(isinstance(v.jax(), jax.core.Tracer) for v in after.values() if v is not None)
    assert_same_state_dict(our_opt.state_dict(), torch_opt.state_dict())
    sd_values = [v for state in our_opt.state_dict()["state"].values() for v in state.values()]
    assert all(any(v is w for w in after.values()) for v in sd_values)  # state_dict() holds the live Tensors


def test_loaded_state_is_a_copy_that_a_donating_step_cannot_invalidate() -> None:
    model, opt = make(TJ, "Adam")
    step = torchjax.compile(our_step)
    x, y = jnp.asarray(X), jnp.asarray(Y)
    step(model, opt, x, y)
    other_model, other_opt = make(TJ, "Adam")
    other_opt.load_state_dict(opt.state_dict())
    loaded = _state_tensors(other_opt)
    assert all(type(v) is torchjax.Tensor for v in loaded.values())
    assert not {id(v) for v in loaded.values()} & {id(v) for v in _state_tensors(opt).values()}
    expected = {k: v.numpy() for k, v in loaded.items()}
    step(model, opt, x, y)  # donates opt's state arrays
    assert all(np.array_equal(v.numpy(), expected[k]) for k, v in loaded.items())
    step(other_model, other_opt, x, y)


def test_a_compiled_step_that_raises_leaves_the_state_tensors_as_they_were() -> None:
    model, opt = make(TJ, "SGD-momentum")
    x, y = jnp.asarray(X), jnp.asarray(Y)
    our_step(model, opt, x, y)
    held = _state_tensors(opt)
    before = {k: v.numpy() for k, v in held.items() if v is not None}

    def failing(model, opt, x, y):
        our_step(model, opt, x, y)
        for state in opt.state.values():  # replaced inside the step: the originals come back
            state["momentum_buffer"] = torchjax.zeros(1)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        torchjax.compile(failing)(model, opt, x, y)
    after = _state_tensors(opt)
    assert all(after[k] is v for k, v in held.items())
    assert all(np.array_equal(after[k].numpy(), v) for k, v in before.items())

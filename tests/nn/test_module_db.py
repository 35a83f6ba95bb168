"""torch's own module tests against torchjax: every ``module_db`` class that torchjax has, its samples
(forward, input and parameter gradients, train and eval, float32, from torch's state_dict) and its
``module_error_inputs_func`` cases. One test per class and mode, so a failure names the class; classes
with many samples run a fixed seeded subset (``_MAX_SAMPLES``)."""

from __future__ import annotations

import dataclasses
import warnings
import zlib

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

pytest.importorskip("expecttest")  # torch.testing._internal.common_utils needs it
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from torch.testing._internal.common_modules import ModuleErrorEnum, module_db

_MAX_SAMPLES = 6  # per class and mode: a fixed seeded subset above this (LinearCrossEntropyLoss has 857)
_ATOL, _RTOL = 2e-5, 2e-4
_INFOS = [info for info in module_db if getattr(tnn, info.module_cls.__name__, None) is not None]
_ERROR_INFOS = [info for info in _INFOS if info.module_error_inputs_func is not None]


def _samples(info, training: bool) -> list:
    torch.manual_seed(zlib.crc32(info.name.encode()))  # the samples' random values, the same every run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        samples = list(info.module_inputs_func(info, device="cpu", dtype=torch.float32, requires_grad=True,
                                               training=training))
    if len(samples) > _MAX_SAMPLES:
        rng = np.random.default_rng(zlib.crc32(info.name.encode()))
        samples = [samples[i] for i in sorted(rng.choice(len(samples), _MAX_SAMPLES, replace=False))]
    return samples


# --------------------------------------------------------------------------- torch values -> torchjax values


def _ours_encoder_layer(layer: torch.nn.Module) -> tnn.Module:
    """Our TransformerEncoderLayer configured as torch's ``layer`` (weights come with the state_dict)."""
    attention = layer.self_attn
    return tnn.TransformerEncoderLayer(
        attention.embed_dim, attention.num_heads, layer.linear1.out_features, layer.dropout.p,
        activation=_convert(layer.activation), layer_norm_eps=layer.norm1.eps, batch_first=attention.batch_first,
        norm_first=layer.norm_first, bias=layer.linear1.bias is not None)


def _convert(value, float64=jnp.float32):
    """A constructor or forward argument of torch's sample as torchjax takes it; float64 tensors become
    ``float64`` (JAX runs without x64: float32, or for the error cases another dtype than the weights')."""
    if isinstance(value, torch.Tensor):
        array = value.detach().numpy()
        if array.dtype == np.int64:
            return jnp.asarray(array.astype(np.int32))
        if array.dtype == np.float64:
            return jnp.asarray(array, float64)
        return jnp.asarray(array)
    if isinstance(value, torch.dtype):
        return getattr(torchjax, str(value).removeprefix("torch."))
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        return type(value)(_convert(v, float64) for v in value)
    if isinstance(value, dict):
        return {k: _convert(v, float64) for k, v in value.items()}
    if isinstance(value, torch.nn.TransformerEncoderLayer):
        return _ours_encoder_layer(value)
    if type(value).__name__ == "LinearCrossEntropyOptions":
        return tnn.LinearCrossEntropyOptions(**{f.name: getattr(value, f.name)
                                                for f in dataclasses.fields(tnn.LinearCrossEntropyOptions)})
    if callable(value) and getattr(value, "__name__", None) in F.__all__:
        return getattr(F, value.__name__)  # an activation function, e.g. F.gelu
    if isinstance(value, torch.nn.Module) or callable(value) and not isinstance(value, type):
        raise TypeError(f"no torchjax counterpart for the sample argument {value!r}")
    return value


def _single(value):
    """torch's side of a sample with float64 tensors made float32, the values torchjax gets (no x64)."""
    if isinstance(value, torch.Tensor) and value.dtype == torch.float64:
        return value.detach().float().requires_grad_(value.requires_grad)
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        return type(value)(_single(v) for v in value)
    if isinstance(value, dict):
        return {k: _single(v) for k, v in value.items()}
    return value


def _construct(info, constructor_input):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        theirs = info.module_cls(*_single(constructor_input.args), **_single(constructor_input.kwargs))
        ours = getattr(tnn, info.module_cls.__name__)(*_convert(constructor_input.args),
                                                      **_convert(constructor_input.kwargs))
    return theirs, ours


def _flat(value) -> list:
    """The arrays of a (nested) output, in order; None stays a placeholder."""
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _flat(v)]
    return [value]


def _numpy(value) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(value)


def _close(ours, theirs, what: str, atol: float = _ATOL, summed: bool = False) -> str | None:
    """None if close, else what differs. ``summed``: a gradient accumulated over many terms, whose float32
    rounding scales with its largest entries, so the tolerance is relative to the largest (cancellation
    leaves small entries with the rounding of big ones)."""
    ours, theirs = _numpy(ours), _numpy(theirs)
    if (ours is None) != (theirs is None):
        return f"{what}: {'None' if ours is None else 'an array'} where torch has {theirs if theirs is None else 'one'}"
    if ours is None:
        return None
    if ours.shape != theirs.shape:
        return f"{what}: shape {ours.shape} != torch's {theirs.shape}"
    if theirs.dtype == np.int64:
        theirs = theirs.astype(np.int32)
    if theirs.dtype == np.float64:
        theirs = theirs.astype(np.float32)
    if ours.dtype != theirs.dtype:
        return f"{what}: dtype {ours.dtype} != torch's {theirs.dtype}"
    if summed and theirs.size and np.isfinite(theirs).any():
        atol = atol + _RTOL * float(np.nanmax(np.abs(theirs[np.isfinite(theirs)])))
    if not np.allclose(ours, theirs, atol=atol, rtol=_RTOL, equal_nan=True):
        diff = np.nanmax(np.abs(ours.astype(np.float64) - theirs)) if ours.size else 0.0
        return f"{what}: max abs difference {diff:.3g}"
    return None


# --------------------------------------------------------------------------- one sample


def _is_random(module: torch.nn.Module, training: bool) -> bool:
    """Dropout with p > 0 in training: torch's and our random streams differ, only the shapes compare."""
    return training and any(isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.p > 0 for m in module.modules())


def _check_sample(info, sample, training: bool) -> list[str]:
    theirs, ours = _construct(info, sample.constructor_input)
    args, kwargs = _single(sample.forward_input.args), _single(sample.forward_input.kwargs)
    if info.is_lazy:  # a first forward on each side materializes the parameters; torch's are then loaded
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs(*args, **kwargs)
            ours(*_convert(args), **_convert(kwargs))
    ours.load_state_dict({k: _numpy(v) for k, v in theirs.state_dict().items()})
    theirs.train(training)
    ours.train(training)
    # Differentiate with respect to every float input torch's sample marks as requiring grad.
    differentiable = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]
    args_t = [a.detach().clone().requires_grad_(a.requires_grad) if isinstance(a, torch.Tensor) else a for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_t = theirs(*args_t, **kwargs)
    outputs_t = [o for o in _flat(out_t)]
    rng = np.random.default_rng(0)
    cotangents = [None if not isinstance(o, torch.Tensor) or not o.is_floating_point() else
                  rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in outputs_t]
    graded = [(o, c) for o, c in zip(outputs_t, cotangents, strict=True) if c is not None and o.requires_grad]
    if graded:
        torch.autograd.backward([o for o, _ in graded], [torch.tensor(c) for _, c in graded])
    random = _is_random(theirs, training)

    inputs = [_convert(a) for a in args]
    kwargs_ours = _convert(kwargs)

    def loss(module, *values):
        full = list(inputs)
        for i, v in zip(differentiable, values, strict=True):
            full[i] = v
        out = module(*full, **kwargs_ours)
        total = jnp.zeros((), jnp.float32)
        for o, c in zip(_flat(out), cotangents, strict=True):
            if c is not None and o is not None:
                total = total + jnp.vdot(jnp.asarray(o, jnp.float32), c)
        return total, out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grad = torchjax.func.grad(loss, argnums=tuple(range(len(differentiable) + 1)), has_aux=True)
        grads, out = grad(ours, *[inputs[i] for i in differentiable])
    problems = []
    outputs = _flat(out)
    if len(outputs) != len(outputs_t):
        return [f"{len(outputs)} outputs, torch has {len(outputs_t)}"]
    for k, (o, o_t) in enumerate(zip(outputs, outputs_t, strict=True)):
        if random:
            if _numpy(o).shape != _numpy(o_t).shape:
                problems.append(f"output {k}: shape {_numpy(o).shape} != {_numpy(o_t).shape}")
        else:
            problems.append(_close(o, o_t, f"output {k}"))
    if not random:
        param_grads, input_grads = grads[0], grads[1:]
        for i, g in zip(differentiable, input_grads, strict=True):
            problems.append(_close(g, args_t[i].grad, f"gradient of input {i}", summed=True))
        for name, p in theirs.named_parameters():
            if p.requires_grad and name in param_grads:
                problems.append(_close(param_grads[name], p.grad, f"gradient of {name}", summed=True))
        state_t = theirs.state_dict()
        for name, value in ours.state_dict().items():  # running statistics after a training step
            problems.append(_close(value, state_t[name], f"state {name}"))
    return [p for p in problems if p]


# Samples where torch's behaviour is undefined or platform-specific (none so far). Keys: (class, sample index).
_XFAIL: dict[tuple[str, int], str] = {}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("info", _INFOS, ids=lambda info: info.module_cls.__name__)
def test_module_db_samples_match_torch(info, training):
    failures = []
    samples = _samples(info, training)
    for index, sample in enumerate(samples):
        if (info.module_cls.__name__, index) in _XFAIL:
            continue
        try:
            problems = _check_sample(info, sample, training)
        except Exception as e:  # noqa: BLE001 - reported with the sample
            problems = [f"raised {type(e).__name__}: {str(e)[:300]}"]
        if problems:
            failures.append(f"sample {index} {sample.desc or ''} ctor={sample.constructor_input.kwargs}: "
                            + "; ".join(problems))
    assert not failures, f"{len(failures)}/{len(samples)} samples differ:\n" + "\n".join(failures)


# --------------------------------------------------------------------------- error inputs


def _error_cases():
    cases = []
    for info in _ERROR_INFOS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            errors = info.module_error_inputs_func(info, device="cpu", dtype=torch.float32, requires_grad=False,
                                                   training=True)
        cases.extend(pytest.param(info, error, id=f"{info.module_cls.__name__}-{k}") for k, error in enumerate(errors))
    return cases


@pytest.mark.parametrize("info,error", _error_cases())
def test_module_db_error_inputs_raise_like_torch(info, error):
    module_input = error.module_error_input
    expected = error.error_type
    if error.error_on == ModuleErrorEnum.CONSTRUCTION_ERROR:
        with pytest.raises(expected):
            getattr(tnn, info.module_cls.__name__)(*_convert(module_input.constructor_input.args),
                                                   **_convert(module_input.constructor_input.kwargs))
        return
    _, ours = _construct(info, module_input.constructor_input)
    with pytest.raises(expected), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # A float64 input there stands for "not the weights' dtype" (RNN's dtype check): bfloat16 here.
        ours(*_convert(module_input.forward_input.args, jnp.bfloat16),
             **_convert(module_input.forward_input.kwargs, jnp.bfloat16))

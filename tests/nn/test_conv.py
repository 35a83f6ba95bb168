"""Conv1d/2d/3d and ConvTranspose1d/2d/3d (and F.conv*) against torch: outputs and gradients eager and
compiled, batched and unbatched, every padding mode, parameters, init, repr and errors."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, load_torch_state, raises_same

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

# (class, args, kwargs, input shape); unbatched inputs drop the leading N. Hand-picked to cover
# every argument, with few distinct weight shapes: (6, 2, *k) serves Conv(4, 6, groups=2),
# Conv(2, 6), ConvTranspose(6, 4, groups=2) and ConvTranspose(6, 2) alike. Each new shape costs
# XLA compiles (initialisation included), which dominate the run time.
CONFIGS = [
    ("Conv1d", (4, 6, 3), dict(groups=2), (2, 4, 9)),
    ("Conv1d", (2, 6, 3), dict(stride=2, padding=2, dilation=2, padding_mode="reflect"), (2, 2, 9)),
    ("Conv1d", (4, 6, 3), dict(groups=2, padding="same", padding_mode="circular", bias=False), (4, 9)),
    ("ConvTranspose1d", (6, 4, 3), dict(groups=2, stride=2, padding=1, output_padding=1), (2, 6, 9)),
    ("ConvTranspose1d", (6, 2, 3), dict(dilation=2, padding=5, bias=False), (6, 9)),  # padding > d(k-1)
    ("Conv2d", (4, 6, 3), dict(padding=1, groups=2), (2, 4, 6, 7)),
    ("Conv2d", (2, 6, 3), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), bias=False), (2, 2, 6, 7)),
    ("Conv2d", (4, 6, 3), dict(groups=2, padding="same", dilation=2, padding_mode="replicate"), (4, 6, 7)),
    ("Conv2d", (2, 6, 3), dict(padding=(2, 1), stride=3, padding_mode="circular"), (2, 2, 6, 7)),
    ("Conv2d", (4, 4, (2, 3)), dict(padding="valid", groups=4), (2, 4, 6, 7)),
    ("ConvTranspose2d", (6, 4, 3), dict(groups=2, stride=2, padding=1, output_padding=1), (2, 6, 6, 7)),
    ("ConvTranspose2d", (6, 2, 3), dict(stride=(1, 2), dilation=(2, 1), output_padding=(1, 0)), (6, 6, 7)),
    ("Conv3d", (2, 4, 2), dict(stride=2, padding=1), (1, 2, 4, 5, 4)),
    ("Conv3d", (4, 4, 2), dict(groups=2, padding=(0, 1, 1), padding_mode="reflect"), (4, 4, 5, 4)),
    ("ConvTranspose3d", (4, 4, 2), dict(groups=2, stride=(1, 2, 1), dilation=(1, 1, 2)), (1, 4, 4, 5, 4)),
]


def _random_configs(count: int, seed: int = 0) -> list:
    """Seeded random strides, paddings, dilations and modes on the 2-d weight shape (6, 2, 3, 3)."""
    rng = np.random.default_rng(seed)
    layers = [("Conv2d", (4, 6, 3), 2), ("Conv2d", (2, 6, 3), 1), ("ConvTranspose2d", (6, 4, 3), 2),
              ("ConvTranspose2d", (6, 2, 3), 1)]
    configs = []
    for _ in range(count):
        name, args, groups = layers[rng.integers(len(layers))]
        stride, dilation = tuple(int(v) for v in rng.integers(1, 3, 2)), tuple(int(v) for v in rng.integers(1, 3, 2))
        kwargs = dict(stride=stride, padding=tuple(int(p) for p in rng.integers(0, 3, 2)), dilation=dilation,
                      groups=groups, bias=bool(rng.integers(2)))
        if name.startswith("ConvTranspose"):
            limits = [max(s, d) for s, d in zip(stride, dilation, strict=True)]
            kwargs["output_padding"] = tuple(int(rng.integers(0, limit)) for limit in limits)
        else:
            kwargs["padding_mode"] = str(rng.choice(["zeros", "reflect", "replicate", "circular"]))
        configs.append((name, args, kwargs, (2, args[0], 6, 7)))
    return configs


CONFIGS += _random_configs(3)
RNG = np.random.default_rng(0)


def _build(name, args, kwargs):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    ours = getattr(tnn, name)(*args, **kwargs)
    load_torch_state(ours, theirs)
    return theirs, ours


def _atol(name) -> float:
    return 1e-4 if "3d" in name else 1e-5


def _torch_forward_backward(theirs, x, forward_kwargs):
    """torch's output, a random cotangent, and the gradients of <output, cotangent>."""
    xt = torch.tensor(x, requires_grad=True)
    out = theirs(xt, **forward_kwargs)
    cotangent = RNG.standard_normal(tuple(out.shape)).astype(np.float32)
    (out * torch.tensor(cotangent)).sum().backward()
    return out, cotangent, xt.grad, {name: p.grad for name, p in theirs.named_parameters()}


def check_parity(theirs, ours, x, forward_kwargs=None, atol=1e-5):
    """Outputs and gradients (input and parameters) equal torch's, eagerly and compiled."""
    forward_kwargs = forward_kwargs or {}
    out_t, cotangent, x_grad_t, param_grads_t = _torch_forward_backward(theirs, x, forward_kwargs)
    x, cotangent = jnp.asarray(x), jnp.asarray(cotangent)

    def loss(m, x):
        return (m(x, **forward_kwargs) * cotangent).sum()

    assert_close(ours(x, **forward_kwargs), out_t, atol=atol)
    param_grads, x_grad = torchjax.func.grad(loss, argnums=(0, 1))(ours, x)
    assert_close(x_grad, x_grad_t, atol=atol)
    assert param_grads.keys() == param_grads_t.keys()
    for name, grad in param_grads.items():
        assert_close(grad, param_grads_t[name], atol=atol)

    assert_close(torchjax.compile(lambda m, x: m(x, **forward_kwargs))(ours, x), out_t, atol=atol)
    torchjax.compile(lambda m, x: torchjax.backward(loss, m, x))(ours, x)
    for name, p in ours.named_parameters():
        assert_close(p.grad, param_grads_t[name], atol=atol)


@pytest.mark.parametrize("name,args,kwargs,shape", CONFIGS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)])
def test_module_matches_torch(name, args, kwargs, shape):
    theirs, ours = _build(name, args, kwargs)
    assert repr(ours) == repr(theirs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()
    ]
    assert ours._reversed_padding_repeated_twice == list(theirs._reversed_padding_repeated_twice)
    x = RNG.standard_normal(shape).astype(np.float32)
    check_parity(theirs, ours, x, atol=_atol(name))


@pytest.mark.parametrize("output_size", [[12, 14], [2, 4, 11, 13]])
def test_conv_transpose_output_size(output_size):
    theirs, ours = _build("ConvTranspose2d", (6, 4, 3), dict(groups=2, stride=2, padding=1))
    x = RNG.standard_normal((2, 6, 6, 7)).astype(np.float32)
    check_parity(theirs, ours, x, dict(output_size=output_size))


def test_conv_transpose_unbatched_output_size():
    theirs, ours = _build("ConvTranspose1d", (6, 2, 3), dict(stride=3))
    x = RNG.standard_normal((6, 9)).astype(np.float32)
    check_parity(theirs, ours, x, dict(output_size=[2, 28]))


def test_functional_matches_torch():
    t = torch.tensor
    x = RNG.standard_normal((2, 4, 6, 7)).astype(np.float32)
    w = RNG.standard_normal((6, 2, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(6).astype(np.float32)
    for kwargs in (dict(padding="same", dilation=2, groups=2), dict(stride=[2], padding=[1, 0], groups=2),
                   dict(padding="valid", stride=(1, 2), dilation=(2, 1), groups=2)):
        assert_close(F.conv2d(jnp.asarray(x), w, b, **kwargs), torch.nn.functional.conv2d(t(x), t(w), t(b), **kwargs))
    xt = RNG.standard_normal((2, 6, 6, 7)).astype(np.float32)
    kwargs = dict(stride=(2, 3), padding=(1, 2), output_padding=(1, 0), groups=2, dilation=(1, 2))
    assert_close(F.conv_transpose2d(jnp.asarray(xt), w, b[:4], **kwargs),
                 torch.nn.functional.conv_transpose2d(t(xt), t(w), t(b[:4]), **kwargs))
    x1 = RNG.standard_normal((2, 9)).astype(np.float32)  # unbatched, weight as a plain NumPy array
    w1 = RNG.standard_normal((6, 2, 3)).astype(np.float32)
    assert_close(F.conv1d(x1, w1, padding=1, stride=2), torch.nn.functional.conv1d(t(x1), t(w1), padding=1, stride=2))


@pytest.mark.parametrize("name,args,kwargs", [
    ("Conv2d", (16, 32, 3), dict(groups=2)),
    ("ConvTranspose2d", (16, 32, 3), dict(groups=4)),
])
def test_default_init_matches_torch(name, args, kwargs):
    """U(-b, b) with b = 1/sqrt(fan_in), fan_in from weight dims 1.. (out/groups for transposed)."""
    torchjax.manual_seed(0)
    ours = getattr(tnn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    w = np.asarray(ours.weight.data)
    assert w.shape == tuple(theirs.weight.shape)
    bound = 1 / math.sqrt(w.shape[1] * math.prod(w.shape[2:]))
    for ours_p, theirs_p in ((w, theirs.weight), (np.asarray(ours.bias.data), theirs.bias)):
        theirs_p = theirs_p.detach().numpy()
        assert np.abs(ours_p).max() <= bound and np.abs(theirs_p).max() <= bound
        assert np.abs(ours_p).max() > 0.8 * bound
        # Var of U(-b, b) is b^2 / 3, checked with a loose band (the bias has few samples).
        tol = 0.1 if ours_p.size > 1000 else 0.5
        assert abs(ours_p.std() - bound / math.sqrt(3)) < tol * bound


def test_factory_kwargs_and_reset():
    m = tnn.Conv2d(4, 6, 3, groups=2, dtype=torchjax.bfloat16, device="cpu")
    assert m.weight.dtype == jnp.bfloat16 and m.bias.dtype == jnp.bfloat16
    before = np.asarray(m.weight.data, np.float32)
    m.reset_parameters()
    assert not np.array_equal(before, np.asarray(m.weight.data, np.float32))


@pytest.mark.parametrize("name,args,kwargs,shape,dtype", [
    ("Conv2d", (4, 6, 3), dict(padding=1, groups=2), (2, 4, 6, 7), jnp.bfloat16),
    ("ConvTranspose1d", (6, 4, 3), dict(stride=2, groups=2), (2, 6, 9), jnp.float16),
])
def test_half_precision_forward(name, args, kwargs, shape, dtype):
    torchjax.manual_seed(0)
    ours = getattr(tnn, name)(*args, **kwargs)
    x = RNG.standard_normal(shape).astype(np.float32)
    full = np.asarray(ours(jnp.asarray(x)))
    low = ours.to(dtype)(jnp.asarray(x, dtype))
    assert low.dtype == dtype
    np.testing.assert_allclose(np.asarray(low, np.float32), full, atol=0.05, rtol=0.05)


@pytest.mark.parametrize("name,args,kwargs", [
    ("Conv2d", (3, 4, 3), dict(groups=0)),
    ("Conv2d", (3, 4, 3), dict(groups=2)),
    ("Conv2d", (4, 3, 3), dict(groups=2)),
    ("Conv1d", (4, 4, 3), dict(padding="full")),
    ("Conv2d", (4, 4, 3), dict(padding="same", stride=2)),
    ("Conv3d", (4, 4, 3), dict(padding_mode="mirror")),
    ("ConvTranspose2d", (4, 4, 3), dict(padding_mode="reflect")),
    ("ConvTranspose1d", (4, 4, 3), dict(groups=3)),
])
def test_invalid_constructor_arguments(name, args, kwargs):
    raises_same(lambda: getattr(torch.nn, name)(*args, **kwargs), lambda: getattr(tnn, name)(*args, **kwargs))


def _conv_pair(name, *args, **kwargs):
    return getattr(torch.nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)


@pytest.mark.parametrize("name,args,kwargs,shape,dtype", [
    ("Conv1d", (2, 6, 3), {}, (1, 2, 3, 8), np.float32),  # wrong ndim
    ("Conv2d", (2, 6, 3), {}, (8, 8), np.float32),
    ("Conv2d", (2, 6, 3), {}, (1, 3, 8, 8), np.float32),  # channels
    ("Conv2d", (4, 6, 3), dict(groups=2), (2, 8, 8), np.float32),
    ("Conv2d", (2, 6, 3), {}, (1, 2, 8, 8), np.float16),  # dtype
    ("Conv3d", (2, 4, 2), dict(dilation=3), (1, 2, 3, 8, 8), np.float32),  # kernel larger than the input
    ("Conv2d", (2, 6, 3), dict(padding=4, padding_mode="reflect"), (1, 2, 4, 4), np.float32),
    ("Conv2d", (2, 6, 3), dict(padding=5, padding_mode="circular"), (2, 4, 4), np.float32),
    ("Conv2d", (2, 6, 3), dict(padding=-1), (1, 2, 8, 8), np.float32),
    ("ConvTranspose2d", (6, 2, 3), {}, (1, 3, 8, 8), np.float32),
    ("ConvTranspose2d", (6, 2, 3), dict(output_padding=1), (1, 6, 8, 8), np.float32),
    ("ConvTranspose1d", (6, 2, 3), dict(padding=5), (1, 6, 3), np.float32),
])
def test_invalid_inputs(name, args, kwargs, shape, dtype):
    theirs, ours = _conv_pair(name, *args, **kwargs)
    x = RNG.standard_normal(shape).astype(dtype)
    _, error = raises_same(lambda: theirs(torch.tensor(x)), lambda: ours(jnp.asarray(x)))
    assert str(error).startswith(repr(ours)), "module errors name the module"


@pytest.mark.parametrize("output_size", [[12, 12], [1, 2, 3]])
def test_invalid_output_size(output_size):
    theirs, ours = _conv_pair("ConvTranspose2d", 6, 2, 3, stride=2)
    x = np.zeros((1, 6, 4, 4), np.float32)
    raises_same(lambda: theirs(torch.tensor(x), output_size=output_size),
                lambda: ours(jnp.asarray(x), output_size=output_size))


@pytest.mark.parametrize("fn,w_shape,kwargs", [
    ("conv2d", (4, 2, 3, 3), dict(padding="same", stride=2)),
    ("conv2d", (4, 2, 3, 3), dict(padding="foo")),
    ("conv2d", (4, 2, 3, 3), dict(stride=0)),
    ("conv2d", (4, 2, 3, 3), dict(dilation=0)),
    ("conv2d", (4, 2, 3, 3), dict(groups=0)),
    ("conv2d", (4, 2, 3, 3), dict(stride=(1, 1, 1))),
    ("conv2d", (4, 2, 3), {}),
    ("conv2d", (3, 1, 3, 3), dict(groups=2)),
    ("conv2d", (4, 2, 3, 3), dict(bias=np.zeros(5, np.float32))),
    ("conv_transpose2d", (2, 4, 3, 3), dict(padding="same")),
    ("conv_transpose2d", (2, 4, 3, 3), dict(output_padding=2, stride=2)),
    ("conv_transpose2d", (2, 4, 3, 3), dict(output_padding=-1)),
    ("conv_transpose2d", (2, 4, 3, 3), dict(bias=np.zeros(2, np.float32))),
])
def test_functional_invalid_arguments(fn, w_shape, kwargs):
    x = np.zeros((1, 2, 8, 8), np.float32)
    w = np.zeros(w_shape, np.float32)
    torch_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    raises_same(lambda: getattr(torch.nn.functional, fn)(torch.tensor(x), torch.tensor(w), **torch_kwargs),
                lambda: getattr(F, fn)(jnp.asarray(x), jnp.asarray(w), **kwargs))


@pytest.mark.parametrize("name,args,kwargs", [
    ("Conv1d", (2, 6, 3), {}),
    ("Conv2d", (2, 6, 3), dict(padding="same")),
    ("Conv2d", (2, 6, 3), dict(padding="valid", bias=False, padding_mode="reflect")),
    ("Conv3d", (2, 4, 2, 2, 1, 2, 1), {}),
    ("ConvTranspose1d", (6, 2, 3, 2, 1, 1, 1, False, 2), {}),
    ("ConvTranspose2d", (6, 4, 3), dict(output_padding=1, groups=2, dilation=2, bias=False)),
    ("ConvTranspose3d", (4, 4, 2), dict(padding=(0, 1, 1), groups=2)),
])
def test_repr_matches_torch(name, args, kwargs):
    theirs, ours = _conv_pair(name, *args, **kwargs)
    assert repr(ours) == repr(theirs)

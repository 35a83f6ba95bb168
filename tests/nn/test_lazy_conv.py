"""LazyConv1d/2d/3d and LazyConvTranspose1d/2d/3d against torch: in_channels inferred from the first
input (batched and unbatched), materialized shapes and init bounds, reprs before and after, the
class change, state_dict loading, errors, compiled use before and after initialization, vmap."""

from __future__ import annotations

import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, check_forward_and_gradients, load_torch_state, raises_same

import torchjax
import torchjax.nn as tnn

RNG = np.random.default_rng(0)
NAMES = ["LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
         "LazyConvTranspose3d"]


def _signature(cls) -> list:
    return [(p.name, p.default, p.kind) for p in inspect.signature(cls.__init__).parameters.values()]


def _state_summary(module, is_lazy) -> list:
    return [(k, repr(v) if is_lazy(v) else tuple(v.shape)) for k, v in module.state_dict().items()]


@pytest.mark.parametrize("name", NAMES)
def test_signature_and_class_to_become_match_torch(name):
    assert _signature(getattr(tnn, name)) == _signature(getattr(torch.nn, name))
    assert getattr(tnn, name).cls_to_become.__name__ == getattr(torch.nn, name).cls_to_become.__name__ == name[4:]
    assert name in tnn.__all__


# (class, args, kwargs, input shape): every class batched and unbatched, with groups, strides and
# the other arguments carried through to the materialized module.
CONFIGS = [
    ("LazyConv1d", (6, 3), dict(groups=2, padding=1), (2, 4, 7)),
    ("LazyConv1d", (4, 2), dict(stride=2, bias=False, padding_mode="reflect", padding=1), (3, 7)),
    ("LazyConv2d", (4, 3), dict(padding="same", dilation=(1, 2)), (2, 3, 5, 6)),
    ("LazyConv2d", (6, (2, 3)), dict(groups=3, stride=(2, 1)), (3, 5, 6)),
    ("LazyConv3d", (4, 2), dict(groups=2, bias=False), (1, 2, 3, 4, 3)),
    ("LazyConvTranspose1d", (4, 3), dict(stride=2, output_padding=1, groups=2), (2, 4, 5)),
    ("LazyConvTranspose2d", (3, 2), dict(dilation=2, padding=1, bias=False), (2, 5, 4)),
    ("LazyConvTranspose3d", (2, 2), dict(stride=(1, 2, 1)), (1, 2, 3, 3, 2)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", CONFIGS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)])
def test_lazy_conv_materializes_on_first_forward(name, args, kwargs, shape):
    ours, theirs = getattr(tnn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.has_uninitialized_params() and ours.in_channels == 0
    assert _state_summary(ours, tnn.parameter.is_lazy) == _state_summary(theirs, torch.nn.parameter.is_lazy)
    x = RNG.standard_normal(shape).astype(np.float32)
    with pytest.raises(RuntimeError, match="uninitialized.*run one forward pass eagerly"):
        torchjax.compile(lambda m, v: m(v))(ours, jnp.asarray(x))
    assert type(ours).__name__ == name and ours.has_uninitialized_params()
    out, out_t = ours(jnp.asarray(x)), theirs(torch.tensor(x))
    assert out.shape == tuple(out_t.shape)
    assert type(ours) is getattr(tnn, name[4:]) and type(theirs) is getattr(torch.nn, name[4:])
    assert repr(ours) == repr(theirs) and ours.in_channels == theirs.in_channels
    assert not ours._forward_pre_hooks and not ours._load_state_dict_pre_hooks
    assert _state_summary(ours, tnn.parameter.is_lazy) == _state_summary(theirs, torch.nn.parameter.is_lazy)
    w = np.asarray(ours.weight.data)
    bound = 1 / math.sqrt(math.prod(w.shape[1:]))  # torch's fan_in: weight dims 1..
    for p in ours.parameters():
        assert 0 < np.abs(np.asarray(p.data)).max() <= bound
    load_torch_state(ours, theirs)
    check_forward_and_gradients(theirs, ours, x, atol=1e-5 if "3d" not in name else 1e-4, eager=False)


def test_lazy_conv_init_statistics_match_torch():
    torch.manual_seed(0)
    torchjax.manual_seed(0)
    ours, theirs = tnn.LazyConv2d(32, 3, groups=2), torch.nn.LazyConv2d(32, 3, groups=2)
    x = np.zeros((1, 16, 3, 3), np.float32)
    ours(jnp.asarray(x))
    theirs(torch.tensor(x))
    bound = 1 / math.sqrt(8 * 9)
    for p, p_t in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        p, p_t = np.asarray(p.data), p_t.detach().numpy()
        assert p.shape == p_t.shape == ((32, 8, 3, 3) if p.ndim == 4 else (32,))
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.8 * bound
        tol = 0.05 if p.size > 1000 else 0.3
        assert abs(p.std() - p_t.std()) < tol * bound


def test_lazy_conv_transpose_first_call_with_output_size():
    ours, theirs = tnn.LazyConvTranspose2d(4, 3, stride=2), torch.nn.LazyConvTranspose2d(4, 3, stride=2)
    x = RNG.standard_normal((1, 3, 5, 5)).astype(np.float32)
    out = ours(jnp.asarray(x), output_size=(12, 12))
    assert out.shape == tuple(theirs(torch.tensor(x), output_size=(12, 12)).shape) == (1, 4, 12, 12)
    assert repr(ours) == repr(theirs) and ours.weight.shape == (3, 4, 3, 3)


def test_lazy_conv_loads_a_checkpoint():
    source = torch.nn.Conv2d(3, 4, 3, groups=1)
    ours, theirs = tnn.LazyConv2d(4, 3), torch.nn.LazyConv2d(4, 3)
    theirs.load_state_dict(source.state_dict())
    load_torch_state(ours, source)
    assert not ours.has_uninitialized_params() and type(ours) is tnn.LazyConv2d
    assert_close(ours.weight, source.weight)
    x = RNG.standard_normal((1, 3, 5, 5)).astype(np.float32)
    assert_close(ours(jnp.asarray(x)), source(torch.tensor(x)))
    theirs(torch.tensor(x))
    # torch keeps in_channels=0 when the parameters came from a checkpoint (only LazyLinear fixes it up)
    assert type(ours) is tnn.Conv2d and repr(ours) == repr(theirs) == "Conv2d(0, 4, kernel_size=(3, 3), stride=(1, 1))"


def test_lazy_conv_factory_kwargs_and_vmap():
    m = tnn.LazyConvTranspose1d(4, 3, dtype=torchjax.bfloat16, device="cpu")
    assert m.weight.dtype == jnp.bfloat16
    m(jnp.ones((2, 5), jnp.bfloat16))
    assert m.weight.dtype == m.bias.dtype == jnp.bfloat16 and m.weight.shape == (2, 4, 3)
    m = tnn.LazyConv2d(4, 3, padding=1)
    x = RNG.standard_normal((3, 2, 5, 5)).astype(np.float32)
    y = jax.vmap(m)(jnp.asarray(x))  # first call inside vmap: each example is unbatched (C, H, W)
    assert type(m) is tnn.Conv2d and m.in_channels == 2 and not isinstance(m.weight.data, jax.core.Tracer)
    assert_close(y, m(x), atol=1e-5)


@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("LazyConv2d", (4, 3), {}, (5, 5)),  # neither batched nor unbatched
    ("LazyConv1d", (4, 3), {}, (1, 2, 3, 8)),
    ("LazyConvTranspose3d", (4, 2), {}, (2, 3, 3)),
    ("LazyConv2d", (4, 3), dict(groups=2), (1, 3, 5, 5)),  # in_channels not divisible by groups
    ("LazyConvTranspose2d", (4, 3), dict(groups=2), (3, 5, 5)),
    ("LazyConv2d", (4, 3), {}, (1, 3, 2, 2)),  # kernel larger than the input: the conv's own error
])
def test_lazy_conv_forward_errors(name, args, kwargs, shape):
    ours, theirs = getattr(tnn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    x = np.zeros(shape, np.float32)
    _, error = raises_same(lambda: theirs(torch.tensor(x)), lambda: ours(jnp.asarray(x)))
    if "Expected" in str(error):
        assert f"input to {name}, but got input of size" in str(error)


@pytest.mark.parametrize("name,args,kwargs", [
    ("LazyConv2d", (3, 3), dict(groups=0)),
    ("LazyConv1d", (4, 3), dict(padding_mode="bad")),
    ("LazyConv2d", (4, 3), dict(padding="same", stride=2)),
    ("LazyConvTranspose2d", (4, 3), dict(padding_mode="reflect")),
])
def test_lazy_conv_constructor_errors(name, args, kwargs):
    _, error = raises_same(lambda: getattr(torch.nn, name)(*args, **kwargs),
                           lambda: getattr(tnn, name)(*args, **kwargs))
    if "Only" in str(error):
        assert name in str(error)
    # out_channels not divisible by groups is only noticed by torch... not at all (the weight is lazy)
    assert repr(tnn.LazyConv2d(3, 3, groups=2)) == repr(torch.nn.LazyConv2d(3, 3, groups=2))

"""Max / average / power-average / adaptive pooling and max-unpooling (modules and F) against torch:
values, indices (first maximum on ties, torch's NaN rule) and input gradients, eagerly and compiled,
batched and unbatched, reprs and errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, load_torch_state, raises_same

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F
from torchjax.nn.functional._utils import index_dtype

RNG = np.random.default_rng(0)
INF = float("inf")

# (class, args, kwargs, input shape, input kind). "ties" inputs hold few distinct values so that
# windows have several maxima (indices and gradients must go to the first); "positive" avoids the
# NaNs of fractional powers of negatives. Unbatched inputs drop N; shapes are reused to limit compiles.
CONFIGS = [
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9), "ties"),
    ("MaxPool1d", (2,), dict(ceil_mode=True, return_indices=True), (3, 9), "ties"),
    ("MaxPool1d", (3,), dict(dilation=2, padding=1, ceil_mode=True, return_indices=True), (2, 3, 9), "normal"),
    ("MaxPool2d", (2,), dict(return_indices=True), (2, 3, 6, 7), "ties"),
    ("MaxPool2d", ((3, 2),), dict(stride=(2, 1), padding=(1, 1), dilation=(1, 2), ceil_mode=True,
                                  return_indices=True), (2, 3, 6, 7), "ties"),
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (3, 6, 7), "ties"),
    ("MaxPool3d", (2,), dict(stride=1, padding=1, return_indices=True), (1, 2, 4, 5, 4), "ties"),
    ("MaxPool3d", ((2, 3, 2),), dict(stride=2, dilation=(1, 1, 2), ceil_mode=True), (2, 4, 5, 4), "normal"),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 3, 9), "normal"),
    ("AvgPool1d", (2,), {}, (3, 9), "normal"),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 6, 7), "normal"),
    ("AvgPool2d", ((2, 3),), dict(stride=(1, 2), padding=(1, 0), count_include_pad=False), (3, 6, 7), "normal"),
    ("AvgPool2d", (2,), dict(divisor_override=3, ceil_mode=True), (2, 3, 6, 7), "normal"),
    ("AvgPool3d", (2,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False), (1, 2, 4, 5, 4),
     "normal"),
    ("AvgPool3d", ((1, 2, 2),), dict(divisor_override=5), (2, 4, 5, 4), "normal"),
    ("LPPool1d", (2, 3), dict(stride=2), (2, 3, 9), "normal"),
    ("LPPool1d", (3.0, 2), dict(ceil_mode=True), (3, 9), "positive"),
    ("LPPool2d", (2, (2, 3)), dict(stride=(1, 2)), (2, 3, 6, 7), "normal"),
    ("LPPool2d", (INF, 2), {}, (3, 6, 7), "normal"),
    ("LPPool3d", (1.5, 2), dict(ceil_mode=True), (1, 2, 4, 5, 4), "positive"),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9), "normal"),
    ("AdaptiveAvgPool1d", (12,), {}, (3, 9), "normal"),
    ("AdaptiveAvgPool2d", ((4, None),), {}, (2, 3, 6, 7), "normal"),
    ("AdaptiveAvgPool2d", (5,), {}, (3, 6, 7), "normal"),
    ("AdaptiveAvgPool3d", ((2, 3, 1),), {}, (1, 2, 4, 5, 4), "normal"),
    ("AdaptiveMaxPool1d", (4, True), {}, (2, 3, 9), "ties"),
    ("AdaptiveMaxPool2d", ((4, 5), True), {}, (2, 3, 6, 7), "ties"),
    ("AdaptiveMaxPool2d", ((None, 2),), {}, (3, 6, 7), "normal"),
    ("AdaptiveMaxPool3d", (3,), dict(return_indices=True), (1, 2, 4, 5, 4), "ties"),
]


def _input(shape, kind) -> np.ndarray:
    if kind == "ties":
        return RNG.integers(-1, 2, shape).astype(np.float32)
    x = RNG.standard_normal(shape).astype(np.float32)
    return np.abs(x) + 0.1 if kind == "positive" else x


def _values(out):
    return out[0] if isinstance(out, tuple) else out


def check_parity(theirs, ours, x, atol=1e-5):
    """Values, indices and the input gradient equal torch's, eagerly and compiled."""
    xt = torch.tensor(x, requires_grad=True)
    out_t = theirs(xt)
    cotangent = RNG.standard_normal(tuple(_values(out_t).shape)).astype(np.float32)
    (_values(out_t) * torch.tensor(cotangent)).sum().backward()
    x, cotangent = jnp.asarray(x), jnp.asarray(cotangent)

    def loss(m, x):
        return (_values(m(x)) * cotangent).sum()

    def compare(out):
        assert isinstance(out, tuple) == isinstance(out_t, tuple)
        assert_close(_values(out), _values(out_t), atol=atol)
        if isinstance(out, tuple):
            assert out[1].dtype == index_dtype()
            np.testing.assert_array_equal(np.asarray(out[1]), out_t[1].numpy())

    compare(ours(x))
    assert_close(torchjax.func.grad(loss, argnums=1)(ours, x), xt.grad, atol=atol)
    compare(torchjax.compile(lambda m, x: m(x))(ours, x))
    assert_close(torchjax.compile(torchjax.func.grad(loss, argnums=1))(ours, x), xt.grad, atol=atol)


@pytest.mark.parametrize("name,args,kwargs,shape,kind", CONFIGS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)])
def test_module_matches_torch(name, args, kwargs, shape, kind):
    theirs, ours = getattr(torch.nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    check_parity(theirs, ours, _input(shape, kind), atol=1e-4 if "3d" in name or "LP" in name else 1e-5)


def test_notes_unpool_example():
    """The user's notes: MaxPool2d(2, return_indices=True), then MaxUnpool2d(2, 2) restores the shape."""
    x = RNG.standard_normal((1, 1, 4, 4)).astype(np.float32)
    y_t, ind_t = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    y, ind = tnn.MaxPool2d(2, return_indices=True)(jnp.asarray(x))
    unpool_t, unpool = torch.nn.MaxUnpool2d(2, 2), tnn.MaxUnpool2d(2, 2)
    assert repr(unpool) == repr(unpool_t)
    assert_close(unpool(y, ind), unpool_t(y_t, ind_t))


@pytest.mark.parametrize("n,pool_args,shape,output_size", [
    (1, dict(kernel_size=2, stride=2), (3, 9), [9]),  # unbatched; the odd size needs output_size
    (2, dict(kernel_size=3, stride=2, padding=1), (2, 3, 6, 7), [2, 3, 6, 7]),
    (3, dict(kernel_size=2), (1, 2, 4, 5, 4), [4, 5, 4]),
    (3, dict(kernel_size=2, stride=1), (2, 4, 3, 4), None),
])
def test_unpool_matches_torch(n, pool_args, shape, output_size):
    x = _input(shape, "ties")
    _, indices_t = getattr(torch.nn, f"MaxPool{n}d")(**pool_args, return_indices=True)(torch.tensor(x))
    theirs, ours = getattr(torch.nn, f"MaxUnpool{n}d")(**pool_args), getattr(tnn, f"MaxUnpool{n}d")(**pool_args)
    assert repr(ours) == repr(theirs)
    values = RNG.standard_normal(tuple(indices_t.shape)).astype(np.float32)
    indices = jnp.asarray(indices_t.numpy(), index_dtype())
    values_t = torch.tensor(values, requires_grad=True)
    out_t = theirs(values_t, indices_t, output_size)
    cotangent = RNG.standard_normal(tuple(out_t.shape)).astype(np.float32)
    (out_t * torch.tensor(cotangent)).sum().backward()

    def loss(m, v):
        return (m(v, indices, output_size) * cotangent).sum()

    assert_close(ours(jnp.asarray(values), indices, output_size), out_t)
    assert_close(torchjax.compile(lambda m, v: m(v, indices, output_size))(ours, jnp.asarray(values)), out_t)
    assert_close(torchjax.func.grad(loss, argnums=1)(ours, jnp.asarray(values)), values_t.grad)


def test_compiled_backward_through_a_pooling_network():
    """Conv -> MaxPool(indices) -> MaxUnpool -> AvgPool -> AdaptiveMaxPool: torchjax.backward, compiled."""
    def build(nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3, padding=1)
                self.pool = nn.MaxPool2d(2, return_indices=True)
                self.unpool = nn.MaxUnpool2d(2)
                self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
                self.head = nn.AdaptiveMaxPool2d((2, 3))

            def forward(self, x):
                y, indices = self.pool(self.conv(x))
                return self.head(self.avg(self.unpool(y, indices, output_size=x.shape[-2:])))

        return Net()

    torch.manual_seed(0)
    theirs, ours = build(torch.nn), build(tnn)
    load_torch_state(ours, theirs)
    x = RNG.standard_normal((2, 3, 6, 7)).astype(np.float32)
    out_t = theirs(torch.tensor(x))
    out_t.square().sum().backward()
    step = torchjax.compile(lambda m, x: torchjax.backward(lambda m: jnp.square(m(x)).sum(), m))
    assert_close(step(ours, jnp.asarray(x)), out_t.square().sum(), atol=1e-4)
    for name, p in theirs.named_parameters():
        assert_close(ours.get_parameter(name).grad, p.grad, atol=1e-4)


def test_nan_follows_torch():
    """torch's CPU kernels keep the last NaN of a window (in row-major order)."""
    nan = float("nan")
    x = np.array([[[[1.0, nan, 3.0, nan], [nan, 0.0, 2.0, 5.0]]]], np.float32)
    for ours, theirs in (
        (F.max_pool2d_with_indices(jnp.asarray(x), 2), torch.nn.functional.max_pool2d_with_indices(torch.tensor(x), 2)),
        (F.adaptive_max_pool2d(x, 1, True), torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), 1, True)),
    ):
        np.testing.assert_array_equal(np.asarray(ours[0]), theirs[0].numpy())
        np.testing.assert_array_equal(np.asarray(ours[1]), theirs[1].numpy())


def test_functional_forms_match_torch():
    x = _input((2, 3, 6, 7), "ties")
    xt = torch.tensor(x)
    tf = torch.nn.functional
    assert_close(F.max_pool2d(x, 2, stride=[]), tf.max_pool2d(xt, 2, stride=[]))
    assert_close(F.max_pool2d(x, [3], 2, 1, 1, True), tf.max_pool2d(xt, [3], 2, 1, 1, True))
    for ours, theirs in ((F.max_pool1d_with_indices(x[0], 3, 2), tf.max_pool1d_with_indices(xt[0], 3, 2)),
                         (F.adaptive_max_pool2d_with_indices(x, 4), tf.adaptive_max_pool2d_with_indices(xt, 4))):
        assert_close(ours[0], theirs[0])
        np.testing.assert_array_equal(np.asarray(ours[1]), theirs[1].numpy())
    assert_close(F.avg_pool2d(x, 3, 2, 1, True, False, None), tf.avg_pool2d(xt, 3, 2, 1, True, False, None))
    assert_close(F.lp_pool1d(x[0], 2, 3), tf.lp_pool1d(xt[0], 2, 3))
    assert_close(F.adaptive_avg_pool3d(x, (1, 4, 5)), tf.adaptive_avg_pool3d(xt, (1, 4, 5)))
    # Integer average pooling truncates toward zero, as torch's.
    ints = RNG.integers(-9, 9, (2, 6, 7))
    np.testing.assert_array_equal(np.asarray(F.avg_pool2d(jnp.asarray(ints, jnp.int32), 3, 2, 1)),
                                  tf.avg_pool2d(torch.tensor(ints), 3, 2, 1).numpy())


def test_lp_pool_gradient_is_zero_where_the_sum_is_zero():
    x = np.array([[[0.0, 0.0, 1.0, 2.0, 0.0, 0.0]]], np.float32)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.lp_pool1d(xt, 2, 2).sum().backward()
    grad = jax.grad(lambda x: F.lp_pool1d(x, 2, 2).sum().jax())(jnp.asarray(x))
    assert_close(grad, xt.grad)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_half_precision_forward(dtype):
    x = RNG.standard_normal((2, 3, 6, 7)).astype(np.float32)
    for layer in (tnn.MaxPool2d(3, 2, 1), tnn.AvgPool2d(3, 2, 1, ceil_mode=True), tnn.AdaptiveAvgPool2d((4, 5)),
                  tnn.LPPool2d(2, 2), tnn.AdaptiveMaxPool2d(3)):
        full = np.asarray(layer(jnp.asarray(x)))
        low = layer(jnp.asarray(x, dtype))
        assert low.dtype == dtype, layer
        np.testing.assert_allclose(np.asarray(low, np.float32), full, atol=0.05, rtol=0.02, err_msg=repr(layer))


X4 = np.zeros((1, 2, 8, 8), np.float32)
LONG = torch.zeros((1, 2, 8, 8), dtype=torch.long)


@pytest.mark.parametrize("fn,args,kwargs", [
    ("max_pool2d", (X4, 3), dict(padding=2)),
    ("max_pool2d", (X4, 3), dict(dilation=2, padding=3)),
    ("max_pool2d", (X4, 3), dict(padding=-1)),
    ("max_pool2d", (X4, 0), {}),
    ("max_pool2d", (X4, 3), dict(stride=0)),
    ("max_pool2d", (X4, 3), dict(dilation=0)),
    ("max_pool2d", (X4, 9), {}),
    ("max_pool2d", (X4, (2, 2, 2)), {}),
    ("max_pool2d", (X4[0, 0], 2), {}),
    ("max_pool2d", (np.zeros((1, 0, 8, 8), np.float32), 2), {}),
    ("max_pool1d", (X4[0, 0, 0], 2), {}),
    ("max_pool1d_with_indices", (X4[0], 9), {}),
    ("max_pool3d", (X4, 3), dict(padding=2)),
    ("avg_pool2d", (X4, 3), dict(padding=2)),
    ("avg_pool2d", (X4, 9), {}),
    ("avg_pool2d", (X4, 2), dict(divisor_override=0)),
    ("avg_pool2d", (X4[0, 0], 2), {}),  # IndexError in torch
    ("avg_pool1d", (X4[0, 0, 0], 2), {}),
    ("avg_pool3d", (X4[0, 0], 2), {}),
    ("lp_pool2d", (X4[0, 0], 2, 3), {}),
    ("adaptive_avg_pool2d", (X4[0, 0, 0], 2), {}),
    ("adaptive_avg_pool2d", (X4, (2, 2, 2)), {}),
    ("adaptive_avg_pool2d", (X4, -1), {}),
    ("adaptive_avg_pool1d", (X4[0], (2, 2)), {}),
    ("adaptive_max_pool2d", (np.zeros((1, 2, 0, 8), np.float32), 2), {}),
    ("adaptive_max_pool3d", (X4[0, 0], 2), {}),
    ("adaptive_max_pool2d", (np.zeros((1, 8, 8), np.int32), 2), {}),
    ("max_unpool2d", (X4, LONG + 300, 2), {}),
    ("max_unpool2d", (X4, LONG - 1, 2), {}),
    ("max_unpool2d", (X4, LONG[..., :7], 2), {}),
    ("max_unpool2d", (X4, LONG, 2), dict(output_size=(20, 20))),
    ("max_unpool2d", (X4, LONG, 2), dict(output_size=(1, 20, 20))),
    ("max_unpool2d", (X4[0, 0], LONG[0, 0], 2), {}),
    ("max_unpool3d", (X4[0], LONG[0], 2), {}),
])
def test_invalid_arguments_and_inputs(fn, args, kwargs):
    def to_torch(a):
        return torch.tensor(a) if isinstance(a, np.ndarray) else a

    def to_ours(a):
        return jnp.asarray(a.numpy(), index_dtype()) if isinstance(a, torch.Tensor) else a

    raises_same(lambda: getattr(torch.nn.functional, fn)(*map(to_torch, args), **kwargs),
                lambda: getattr(F, fn)(*map(to_ours, args), **kwargs))


def test_unpool_out_of_range_index_is_dropped_under_jit():
    """Eagerly an invalid index raises (as in torch); a compiled program cannot raise and drops it."""
    x, indices = jnp.ones((1, 1, 2)), jnp.array([[[1, 99]]], index_dtype())
    out = jax.jit(lambda x, i: F.max_unpool1d(x, i, 2))(x, indices)
    np.testing.assert_array_equal(np.asarray(out), [[[0.0, 1.0, 0.0, 0.0]]])


@pytest.mark.parametrize("name,args,kwargs", [
    ("MaxPool2d", ((2, 3),), dict(stride=1, padding=(1, 1), dilation=2, ceil_mode=True, return_indices=True)),
    ("MaxPool1d", (3,), {}),
    ("AvgPool1d", (2,), {}),
    ("AvgPool3d", ((2, 2, 2), 1, 1, True, False, 3), {}),
    ("LPPool1d", (2.0, 3, 1, True), {}),
    ("LPPool3d", (2, 3), {}),
    ("AdaptiveAvgPool2d", ((None, 3),), {}),
    ("AdaptiveMaxPool1d", (3, True), {}),
    ("MaxUnpool1d", (2, 1, 1), {}),
    ("MaxUnpool3d", (2,), dict(padding=1)),
])
def test_repr_matches_torch(name, args, kwargs):
    assert repr(getattr(tnn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


@pytest.mark.parametrize("shape", [(1, 2, 0, 4), (2, 0, 4)])
def test_adaptive_pool_empty_dimension_message_matches_torch(shape):
    theirs, ours = raises_same(lambda: torch.nn.functional.adaptive_avg_pool2d(torch.ones(shape), 2),
                               lambda: F.adaptive_avg_pool2d(jnp.ones(shape), 2))
    assert str(ours) == str(theirs)


@pytest.mark.parametrize("output_size", [2.5, (2.0, 3)])
@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pool_float_output_size_raises_like_torch(name, output_size):
    theirs, ours = raises_same(lambda: getattr(torch.nn.functional, name)(torch.ones(1, 2, 6, 6), output_size),
                               lambda: getattr(F, name)(jnp.ones((1, 2, 6, 6)), output_size))
    assert str(ours) == str(theirs)

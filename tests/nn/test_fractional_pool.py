"""FractionalMaxPool2d/3d and F.fractional_max_pool* against torch.

With ``_random_samples`` given, values, indices and input gradients equal torch's exactly (the
window starts are computed with torch's float arithmetic, in the input's dtype), eagerly, compiled,
under jax.grad and jax.vmap; indices feed max_unpool as torch's do. Without samples they come from
the torchjax default generator: valid windows, new ones per call and per compiled step,
reproducible by seed. Reprs, buffers and errors as torch's."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, raises_same

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F
from torchjax.nn.functional._utils import index_dtype

RNG = np.random.default_rng(0)
TF = torch.nn.functional

# Few distinct input shapes (each geometry compiles once): batched and unbatched, 2-d and 3-d.
SHAPES = {2: [(2, 3, 7, 8), (3, 9, 6)], 3: [(2, 2, 5, 6, 7), (2, 6, 5, 5)]}


def _input(shape, ties: bool) -> np.ndarray:
    """"ties" inputs hold few distinct values, so windows have several maxima (first one wins)."""
    if ties:
        return RNG.integers(-1, 2, shape).astype(np.float32)
    return RNG.standard_normal(shape).astype(np.float32)


def _samples(shape, n: int, extra_rows: int = 0) -> np.ndarray:
    batch = shape[0] if len(shape) == n + 2 else 1
    return RNG.random((batch + extra_rows, shape[-n - 1], n)).astype(np.float32)


def _random_configs():
    """Seeded random geometries: kernel sizes, output_size (int or tuple) or output_ratio."""
    rng = np.random.default_rng(5)
    configs = []
    for n, i in itertools.product((2, 3), range(4)):
        shape = SHAPES[n][i % 2]
        spatial = shape[-n:]
        limit = (lambda size, k: size - k + 1) if n == 2 else (lambda size, k: size - k)  # 3-d's check is strict
        kernel = tuple(int(rng.integers(1, 4)) for _ in range(n))
        if i % 2 == 0:
            size = tuple(int(rng.integers(1, limit(s, k) + 1)) for s, k in zip(spatial, kernel, strict=True))
            configs.append((n, shape, kernel if i else kernel[0], dict(output_size=size), i == 2))
        else:
            kernel = (1,) * n if n == 3 else kernel
            ratio = tuple(float(np.round(rng.uniform(0.3, 0.6), 2)) for _ in range(n))
            configs.append((n, shape, kernel, dict(output_ratio=ratio), i == 3))
    return configs


CONFIGS = _random_configs() + [
    (2, (2, 3, 7, 8), 2, dict(output_size=(6, 7)), True),  # overlapping windows: scattered gradients add up
    (2, (3, 9, 6), (3, 1), dict(output_size=1), False),  # one window per dim: starts at size - k
    (3, (2, 2, 5, 6, 7), (2, 1, 3), dict(output_size=(3, 5, 4)), True),
]


def _check(theirs, ours, x: np.ndarray) -> None:
    """Values, indices and the input gradient equal torch's: eager, jax.grad-style and compiled."""
    xt = torch.tensor(x, requires_grad=True)
    out_t, idx_t = theirs(xt)
    cotangent = RNG.standard_normal(tuple(out_t.shape)).astype(np.float32)
    (out_t * torch.tensor(cotangent)).sum().backward()
    xj, cotangent = jnp.asarray(x), jnp.asarray(cotangent)

    def loss(m, v):
        return (m(v)[0] * cotangent).sum()

    def compare(out):
        values, indices = out
        assert indices.dtype == index_dtype()
        np.testing.assert_array_equal(np.asarray(values), out_t.detach().numpy())
        np.testing.assert_array_equal(np.asarray(indices), idx_t.numpy())

    compare(ours(xj))
    assert_close(torchjax.func.grad(loss, argnums=1)(ours, xj), xt.grad, atol=0, rtol=0)
    compare(torchjax.compile(lambda m, v: m(v))(ours, xj))
    assert_close(torchjax.compile(torchjax.func.grad(loss, argnums=1))(ours, xj), xt.grad, atol=0, rtol=0)


@pytest.mark.parametrize("n,shape,kernel,size,ties", CONFIGS, ids=[f"{c[0]}d-{i}" for i, c in enumerate(CONFIGS)])
def test_module_matches_torch_with_given_samples(n, shape, kernel, size, ties):
    samples = _samples(shape, n, extra_rows=1)  # torch takes the first rows of a longer sample table
    theirs = getattr(torch.nn, f"FractionalMaxPool{n}d")(kernel, **size, return_indices=True,
                                                          _random_samples=torch.tensor(samples))
    ours = getattr(tnn, f"FractionalMaxPool{n}d")(kernel, **size, return_indices=True,
                                                  _random_samples=jnp.asarray(samples))
    assert repr(ours) == repr(theirs)
    for name in ("kernel_size", "output_size", "output_ratio", "return_indices"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    _check(theirs, ours, _input(shape, ties))


def test_nan_and_infinity_follow_torch():
    """NaN wins and the last NaN of a window wins; an all -inf window gives its first position."""
    x = RNG.standard_normal((1, 2, 7, 8)).astype(np.float32)
    x[0, 0, 1:4, 2:5] = np.nan
    x[0, 1, :4, :4] = -np.inf
    samples = _samples(x.shape, 2)
    args = (2,), dict(output_size=(4, 5), return_indices=True)
    y_t, i_t = TF.fractional_max_pool2d(torch.tensor(x), *args[0], **args[1], _random_samples=torch.tensor(samples))
    y, i = F.fractional_max_pool2d(jnp.asarray(x), *args[0], **args[1], _random_samples=jnp.asarray(samples))
    np.testing.assert_array_equal(np.asarray(y), y_t.numpy())
    np.testing.assert_array_equal(np.asarray(i), i_t.numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_window_starts_follow_torch(dtype):
    """torch computes the starts in the input's dtype, rounding after every operation: long rows
    with many planes exercise that rounding (float32 arithmetic would move thousands of windows)."""
    tdtype = getattr(torch, dtype)
    x = torch.tensor(RNG.standard_normal((1, 64, 2, 300)).astype(np.float32)).to(tdtype)
    samples = torch.tensor(RNG.random((1, 64, 2)).astype(np.float32)).to(tdtype)
    y_t, i_t = TF.fractional_max_pool2d(x, (1, 2), (2, 221), return_indices=True, _random_samples=samples)
    y, i = F.fractional_max_pool2d(jnp.asarray(x.float().numpy()).astype(dtype), (1, 2), (2, 221),
                                   return_indices=True,
                                   _random_samples=jnp.asarray(samples.float().numpy()).astype(dtype))
    assert y.dtype == np.dtype(getattr(jnp, dtype))
    np.testing.assert_array_equal(np.asarray(i), i_t.numpy())
    np.testing.assert_array_equal(np.asarray(y.astype(jnp.float32)), y_t.float().numpy())


@pytest.mark.parametrize("n,shape,kernel,output_size,unpool_kernel", [
    (2, (2, 3, 7, 8), 2, (3, 4), 2),
    (3, (2, 6, 5, 5), (2, 2, 1), (2, 2, 3), (3, 2, 2)),  # unpooling's kernel only has to admit the size
])
def test_indices_round_trip_through_max_unpool(n, shape, kernel, output_size, unpool_kernel):
    x = _input(shape, ties=False)
    samples = _samples(shape, n)
    pool_t, unpool_t = getattr(TF, f"fractional_max_pool{n}d"), getattr(TF, f"max_unpool{n}d")
    pool, unpool = getattr(F, f"fractional_max_pool{n}d"), getattr(F, f"max_unpool{n}d")
    y_t, i_t = pool_t(torch.tensor(x), kernel, output_size, return_indices=True, _random_samples=torch.tensor(samples))
    y, i = pool(jnp.asarray(x), kernel, output_size, return_indices=True, _random_samples=jnp.asarray(samples))
    spatial = list(shape[-n:])
    expected = unpool_t(y_t, i_t, unpool_kernel, output_size=spatial)
    np.testing.assert_array_equal(np.asarray(unpool(y, i, unpool_kernel, output_size=spatial)), expected.numpy())
    compiled = torchjax.compile(lambda v: unpool(*pool(v, kernel, output_size, return_indices=True,
                                                       _random_samples=jnp.asarray(samples)),
                                                 unpool_kernel, output_size=spatial))
    np.testing.assert_array_equal(np.asarray(compiled(jnp.asarray(x))), expected.numpy())


def test_jax_grad_and_vmap_with_given_samples():
    """Per-example samples under jax.vmap (each example unbatched, samples (1, C, 2)), and jax.grad."""
    x = _input((3, 2, 7, 8), ties=True)
    samples = RNG.random((3, 1, 2, 2)).astype(np.float32)

    def pool(v, s):
        return F.fractional_max_pool2d(v, (2, 3), (4, 3), return_indices=True, _random_samples=s)

    y, i = jax.vmap(pool)(jnp.asarray(x), jnp.asarray(samples))
    grad = jax.grad(lambda v: (jax.vmap(pool)(v, jnp.asarray(samples))[0] ** 2).sum().jax())(jnp.asarray(x))
    for b in range(3):
        xt = torch.tensor(x[b], requires_grad=True)
        y_t, i_t = TF.fractional_max_pool2d(xt, (2, 3), (4, 3), return_indices=True,
                                            _random_samples=torch.tensor(samples[b]))
        (y_t ** 2).sum().backward()
        np.testing.assert_array_equal(np.asarray(y[b]), y_t.detach().numpy())
        np.testing.assert_array_equal(np.asarray(i[b]), i_t.numpy())
        np.testing.assert_array_equal(np.asarray(grad[b]), xt.grad.numpy())


def _check_valid_windows(x: np.ndarray, y, indices, kernel) -> None:
    """Each output is its input plane's value at its index and the maximum of some ``kernel``
    window inside the input that contains that index."""
    n = len(kernel)
    spatial = x.shape[-n:]
    planes = x.reshape(-1, *spatial)
    y, indices = np.asarray(y).reshape(len(planes), -1), np.asarray(indices).reshape(len(planes), -1)
    for p, plane in enumerate(planes):
        for value, index in zip(y[p], indices[p], strict=True):
            position = np.unravel_index(index, spatial)
            assert plane[position] == value
            starts = [range(max(0, i - k + 1), min(i, s - k) + 1) for i, k, s in zip(position, kernel, spatial,
                                                                                       strict=True)]
            assert any(plane[tuple(slice(a, a + k) for a, k in zip(start, kernel, strict=True))].max() == value
                       for start in itertools.product(*starts))


def test_drawn_samples_are_valid_fresh_and_reproducible():
    x = _input((2, 3, 7, 8), ties=False)
    xj = jnp.asarray(x)
    torchjax.manual_seed(0)
    first = F.fractional_max_pool2d(xj, 2, output_ratio=(0.5, 0.5), return_indices=True)
    second = F.fractional_max_pool2d(xj, 2, output_ratio=(0.5, 0.5), return_indices=True)
    assert first[0].shape == first[1].shape == (2, 3, 3, 4)
    _check_valid_windows(x, *first, (2, 2))
    _check_valid_windows(x, *second, (2, 2))
    assert not np.array_equal(np.asarray(first[1]), np.asarray(second[1]))  # 6 planes: windows moved somewhere
    torchjax.manual_seed(0)
    again = F.fractional_max_pool2d(xj, 2, output_ratio=(0.5, 0.5), return_indices=True)
    np.testing.assert_array_equal(np.asarray(again[1]), np.asarray(first[1]))
    # The samples are uniform draws, in the input's dtype, from the default generator: with them
    # given explicitly torch pools the same windows.
    torchjax.manual_seed(0)
    samples = np.asarray(jax.random.uniform(torchjax._random.next_key(), (2, 3, 2), jnp.float32))
    y_t, i_t = TF.fractional_max_pool2d(torch.tensor(x), 2, output_ratio=(0.5, 0.5), return_indices=True,
                                        _random_samples=torch.tensor(samples))
    np.testing.assert_array_equal(np.asarray(first[1]), i_t.numpy())


def test_drawn_samples_advance_inside_compile():
    pool = tnn.FractionalMaxPool3d(2, output_size=(2, 3, 2), return_indices=True)
    x = _input((2, 6, 5, 5), ties=False)  # unbatched: one row of samples
    xj = jnp.asarray(x)
    step = torchjax.compile(lambda m, v: m(v))
    torchjax.manual_seed(3)
    first, second = step(pool, xj), step(pool, xj)
    assert first[0].shape == (2, 2, 3, 2)
    _check_valid_windows(x, *first, (2, 2, 2))
    assert not np.array_equal(np.asarray(first[1]), np.asarray(second[1]))
    torchjax.manual_seed(3)
    np.testing.assert_array_equal(np.asarray(step(pool, xj)[1]), np.asarray(first[1]))
    torchjax.manual_seed(3)  # eager draws what the compiled step drew from the same seed
    np.testing.assert_array_equal(np.asarray(pool(xj)[1]), np.asarray(first[1]))
    # Without indices only the values come back, for every form.
    assert F.fractional_max_pool3d(xj, 2, (2, 3, 2)).shape == (2, 2, 3, 2)
    assert isinstance(F.fractional_max_pool3d_with_indices(xj, 2, (2, 3, 2)), tuple)
    assert tnn.FractionalMaxPool2d(2, output_ratio=0.5)(jnp.asarray(_input((3, 7, 8), False))).shape == (3, 3, 4)


@pytest.mark.parametrize("n,args,kwargs", [
    (2, (2,), dict(output_size=3)),
    (2, ((2, 3),), dict(output_ratio=(0.5, 0.25))),
    (3, (2,), dict(output_ratio=0.5)),
    (3, ((1, 2, 3),), dict(output_size=[3, 4, 2], output_ratio=None, return_indices=True)),
])
def test_repr_attributes_and_buffers(n, args, kwargs):
    theirs = getattr(torch.nn, f"FractionalMaxPool{n}d")(*args, **kwargs)
    ours = getattr(tnn, f"FractionalMaxPool{n}d")(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    for name in ("kernel_size", "output_size", "output_ratio", "return_indices", "_random_samples"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []  # a None buffer is not state


def _torch_value(v):
    return torch.tensor(v) if isinstance(v, np.ndarray) else v


def _jax_value(v):
    return jnp.asarray(v) if isinstance(v, np.ndarray) else v


def _arr(*shape, dtype=np.float32):
    return np.ones(shape, dtype)


@pytest.mark.parametrize("fn,args,kwargs", [
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2), {}),  # neither output_size nor output_ratio
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2), dict(output_ratio=0.5)),  # 2-d: a bare ratio has no len()
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2), dict(output_ratio=(0.5, 0.5, 0.5))),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2), dict(output_ratio=[0.5])),
    ("fractional_max_pool3d", (_arr(2, 5, 6, 7), 2), dict(output_ratio=(0.5, 0.5))),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, (7, 3)), {}),  # pool too large for the height
    ("fractional_max_pool2d", (_arr(3, 7, 8), 2, (3, 8)), {}),  # ... and for the width
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2), dict(output_ratio=(1.5, 0.5))),  # F does not check the ratio
    ("fractional_max_pool3d", (_arr(2, 5, 6, 7), 2, (4, 3, 3)), {}),  # 3-d: out + k - 1 must be < size
    ("fractional_max_pool3d", (_arr(2, 5, 6, 7), 2, (3, 5, 6)), {}),
    ("fractional_max_pool3d", (_arr(2, 5, 6, 7), (6, 2, 2), (0, 3, 3)), {}),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, (3, 3, 3)), {}),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), [2], 3), {}),  # only a bare int is repeated
    ("fractional_max_pool3d", (_arr(2, 5, 6, 7), 2, (3, 3)), {}),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2.0, 3), {}),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, 3.0), {}),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, (None, 3)), {}),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, (-1, 3)), {}),
    ("fractional_max_pool2d", (_arr(7, 8), 2, 3), {}),  # too few dims: torch's size(-3) IndexError
    ("fractional_max_pool2d", (_arr(7, 8), 2, 3), dict(_random_samples=_arr(1, 1, 2))),
    ("fractional_max_pool2d", (_arr(1, 1, 1, 7, 8), 2, 3), {}),
    ("fractional_max_pool3d", (_arr(3, 5, 6), 2, 2), {}),
    ("fractional_max_pool2d", (_arr(2, 3, 0, 8), 2, 3), {}),
    ("fractional_max_pool3d", (_arr(2, 3, 0, 6, 7), 2, 2), {}),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8, dtype=np.int32), 2, 3), {}),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8, dtype=np.int32), 2, 3),
     dict(_random_samples=_arr(2, 3, 2, dtype=np.int32))),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, 3), dict(_random_samples=_arr(2, 3, 2, dtype=np.int32))),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, 3), dict(_random_samples=_arr(3, 2))),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, 3), dict(_random_samples=_arr(1, 3, 2))),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, 3), dict(_random_samples=_arr(2, 2, 2))),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, 3), dict(_random_samples=_arr(2, 3, 3))),
    ("fractional_max_pool2d", (_arr(2, 3, 7, 8), 2, (0, 3)), dict(_random_samples=_arr(2, 3, 3))),
    ("fractional_max_pool3d", (_arr(2, 5, 6, 7), 2, 2), dict(_random_samples=_arr(1, 2, 2))),
    ("fractional_max_pool2d", (_arr(1, 1, 7, 8), 2, 3), dict(_random_samples=[[[0.5, 0.5]]])),
])
def test_invalid_arguments_and_inputs(fn, args, kwargs):
    torch_kwargs = {k: _torch_value(v) for k, v in kwargs.items()}
    jax_kwargs = {k: _jax_value(v) for k, v in kwargs.items()}
    raises_same(lambda: getattr(TF, fn)(*map(_torch_value, args), **torch_kwargs),
                lambda: getattr(F, fn)(*map(_jax_value, args), **jax_kwargs))


@pytest.mark.parametrize("name,args,kwargs", [
    ("FractionalMaxPool2d", (2,), {}),
    ("FractionalMaxPool2d", (2, 3, 0.5), {}),
    ("FractionalMaxPool2d", (2,), dict(output_ratio=1)),
    ("FractionalMaxPool2d", (2,), dict(output_ratio=(0.5, 0))),
    ("FractionalMaxPool3d", (2,), dict(output_ratio=(0.5, 1.0, 0.5))),
    ("FractionalMaxPool3d", (0, 3), {}),
    ("FractionalMaxPool3d", ((2, 0, 2), 3), {}),
    ("FractionalMaxPool3d", (2,), {}),
])
def test_invalid_module_arguments(name, args, kwargs):
    theirs, ours = raises_same(lambda: getattr(torch.nn, name)(*args, **kwargs),
                               lambda: getattr(tnn, name)(*args, **kwargs))
    assert str(ours) == str(theirs)


def test_empty_outputs_and_empty_kernels_follow_torch():
    """Zero output sizes and empty batches give empty results; a kernel of size <= 0 (which torch
    does not refuse) pools nothing: -inf at the window's start position."""
    x = _input((2, 3, 7, 8), ties=False)
    samples = _samples(x.shape, 2)
    for kernel, size, xs in ((2, (0, 3), x), (2, (2, 3), x[:0]), (0, 3, x), ((2, -1), (3, 2), x)):
        s = samples[:len(xs)] if len(xs) else samples[:0]
        y_t, i_t = TF.fractional_max_pool2d(torch.tensor(xs), kernel, size, return_indices=True,
                                            _random_samples=torch.tensor(s))
        y, i = F.fractional_max_pool2d(jnp.asarray(xs), kernel, size, return_indices=True,
                                       _random_samples=jnp.asarray(s))
        np.testing.assert_array_equal(np.asarray(y), y_t.numpy())
        np.testing.assert_array_equal(np.asarray(i), i_t.numpy())

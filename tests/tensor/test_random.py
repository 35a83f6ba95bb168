"""torch's random sampling: shapes, dtypes, ranges, statistics, reproducibility and errors against torch.

torchjax's streams are JAX keys, never torch's bits: values are compared as distributions (n = 2000,
tolerances of about five standard errors), everything else exactly.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
import torch
from parity import raises_same

import torchjax

N = 2000
_NARROW = {"int64": "int32", "float64": "float32"}


def _dtype(t) -> str:
    name = str(t.dtype).removeprefix("torch.")
    return _NARROW.get(name, name)


# Same call in both libraries: shape and dtype must agree.
SHAPES = {
    "rand": lambda L: L.rand(2, 3),
    "rand_seq": lambda L: L.rand((4,), dtype=L.float16),
    "rand_complex": lambda L: L.rand(3, dtype=L.complex64),
    "randn": lambda L: L.randn(L.Size([2, 2])),
    "randn_complex": lambda L: L.randn(2, dtype=L.complex64),
    "randint_high": lambda L: L.randint(5, (3,)),
    "randint_low_high": lambda L: L.randint(2, 5, (2, 2)),
    "randint_keywords": lambda L: L.randint(low=1, high=5, size=(3,)),
    "randint_float": lambda L: L.randint(5, (3,), dtype=L.float32),
    "randint_bool": lambda L: L.randint(2, (3,), dtype=L.bool),
    "randperm": lambda L: L.randperm(5),
    "randperm_empty": lambda L: L.randperm(0),
    "randperm_float": lambda L: L.randperm(5, dtype=L.float32),
    "normal_tensors": lambda L: L.normal(L.zeros(3), L.ones(3, 1)),
    "normal_tensor_float": lambda L: L.normal(L.zeros(2, 3), 2.0),
    "normal_float_tensor": lambda L: L.normal(1.0, L.ones(3)),
    "normal_floats": lambda L: L.normal(0.0, 1.0, (3,)),
    "normal_half": lambda L: L.normal(L.zeros(3, dtype=L.float16), L.ones(3)),
    "normal_dtype": lambda L: L.normal(0.0, 1.0, (3,), dtype=L.float16),
    "bernoulli": lambda L: L.bernoulli(L.full((3,), 0.5)),
    "bernoulli_p": lambda L: L.bernoulli(L.full((3,), 0.5, dtype=L.float16), 0.3),
    "bernoulli_int_p": lambda L: L.bernoulli(L.ones(3, dtype=L.int32), 0.5),
    "bernoulli_method": lambda L: L.full((2, 2), 0.5).bernoulli(),
    "multinomial_1d": lambda L: L.multinomial(L.tensor([0.2, 0.8]), 3, True),
    "multinomial_2d": lambda L: L.multinomial(L.ones(3, 4), 2),
    "multinomial_method": lambda L: L.ones(4).multinomial(4),
    "multinomial_no_rows": lambda L: L.multinomial(L.ones(0, 2), 1),
    "poisson": lambda L: L.poisson(L.full((3,), 2.0)),
    "poisson_half": lambda L: L.poisson(L.full((3,), 2.0, dtype=L.float16)),
    "rand_like": lambda L: L.rand_like(L.zeros(2, dtype=L.float16)),
    "randn_like": lambda L: L.randn_like(L.zeros(2, 3)),
    "randint_like": lambda L: L.randint_like(L.zeros(2, dtype=L.int32), 3, 5),
    "randint_like_float": lambda L: L.randint_like(L.zeros(2), 5),
    "random_": lambda L: L.zeros(3, dtype=L.int8).random_(-5, 5),
    "random_bool": lambda L: L.zeros(3, dtype=L.bool).random_(),
    "bernoulli_": lambda L: L.zeros(3, dtype=L.int32).bernoulli_(0.5),
    "exponential_": lambda L: L.zeros(3, dtype=L.float16).exponential_(),
    "geometric_": lambda L: L.zeros(3, dtype=L.int32).geometric_(0.5),
    "cauchy_": lambda L: L.zeros(3).cauchy_(),
    "log_normal_": lambda L: L.zeros(3).log_normal_(),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes_and_dtypes_match_torch(name):
    ours, theirs = SHAPES[name](torchjax), SHAPES[name](torch)
    assert isinstance(ours, torchjax.Tensor)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == _dtype(theirs)


def test_in_place_samplers_return_self():
    x = torchjax.zeros(4)
    for draw in (lambda t: t.random_(5), lambda t: t.bernoulli_(0.5), lambda t: t.exponential_(),
                 lambda t: t.geometric_(0.5), lambda t: t.cauchy_(), lambda t: t.log_normal_()):
        assert draw(x) is x and x.dtype == np.float32


ERRORS = {
    "rand_int": lambda L: L.rand(2, dtype=L.int32),
    "rand_negative": lambda L: L.rand(-1),
    "randn_int": lambda L: L.randn(2, dtype=L.int32),
    "rand_like_int": lambda L: L.rand_like(L.zeros(2, dtype=L.int32)),
    "randint_empty_range": lambda L: L.randint(5, 5, (3,)),
    "randint_int_size": lambda L: L.randint(5, 3),
    "randint_float_high": lambda L: L.randint(5.5, (3,)),
    "randint_bool_range": lambda L: L.randint(5, (3,), dtype=L.bool),
    "randint_uint8_high": lambda L: L.randint(300, (3,), dtype=L.uint8),
    "randint_uint8_low": lambda L: L.randint(-1, 300, (3,), dtype=L.uint8),
    "randint_int32_overflow": lambda L: L.randint(0, 2 ** 40, (3,), dtype=L.int32),
    "randint_like_empty_range": lambda L: L.randint_like(L.zeros(2, dtype=L.int32), 5, 5),
    "randperm_negative": lambda L: L.randperm(-1),
    "randperm_overflow": lambda L: L.randperm(300, dtype=L.int8),
    "normal_negative_std": lambda L: L.normal(0.0, -1.0, (3,)),
    "normal_tensor_negative_std": lambda L: L.normal(L.zeros(3), -1.0),
    "normal_negative_std_tensor": lambda L: L.normal(L.zeros(3), -L.ones(3)),
    "normal_no_broadcast": lambda L: L.normal(L.zeros(3), L.ones(2)),
    "normal_int_mean": lambda L: L.normal(L.zeros(3, dtype=L.int32), 1.0),
    "normal_floats_no_size": lambda L: L.normal(0.0, 1.0),
    "bernoulli_p_above_one": lambda L: L.bernoulli(L.full((3,), 1.5)),
    "bernoulli_p_negative": lambda L: L.bernoulli(L.full((3,), -0.5)),
    "bernoulli_int_input": lambda L: L.bernoulli(L.ones(3, dtype=L.int32)),
    "bernoulli_bad_float_p": lambda L: L.bernoulli(L.ones(3), 1.5),
    "bernoulli__bad_p": lambda L: L.zeros(3).bernoulli_(1.5),
    "bernoulli__bad_p_tensor": lambda L: L.zeros(3).bernoulli_(L.full((3,), 1.5)),
    "bernoulli__p_not_broadcast": lambda L: L.zeros(3).bernoulli_(L.full((2,), 0.5)),
    "bernoulli__complex": lambda L: L.zeros(3, dtype=L.complex64).bernoulli_(),
    "multinomial_too_many": lambda L: L.multinomial(L.tensor([0.2, 0.8]), 3),
    "multinomial_zero_samples": lambda L: L.multinomial(L.tensor([0.2, 0.8]), 0),
    "multinomial_negative_samples": lambda L: L.multinomial(L.tensor([0.2, 0.8]), -1),
    "multinomial_negative_p": lambda L: L.multinomial(L.tensor([0.2, -0.8]), 1),
    "multinomial_nan": lambda L: L.multinomial(L.tensor([0.2, float("nan")]), 1),
    "multinomial_inf": lambda L: L.multinomial(L.tensor([0.2, float("inf")]), 1),
    "multinomial_zero_sum": lambda L: L.multinomial(L.tensor([0.0, 0.0]), 1),
    "multinomial_zero_row": lambda L: L.multinomial(L.tensor([[1.0, 0.0], [0.0, 0.0]]), 1, True),
    "multinomial_0d": lambda L: L.multinomial(L.tensor(0.5), 1),
    "multinomial_3d": lambda L: L.multinomial(L.ones(2, 2, 2), 1),
    "multinomial_int": lambda L: L.multinomial(L.ones(2, dtype=L.int32), 1),
    "multinomial_no_categories": lambda L: L.multinomial(L.ones(2, 0), 1),
    "multinomial_float_samples": lambda L: L.multinomial(L.ones(2), 2.5),
    "poisson_negative": lambda L: L.poisson(L.full((3,), -2.0)),
    "poisson_int": lambda L: L.poisson(L.full((3,), 2, dtype=L.int32)),
    "random_empty_range": lambda L: L.zeros(3).random_(5, 2),
    "random_uint8_from": lambda L: L.zeros(3, dtype=L.uint8).random_(-5, 5),
    "random_uint8_to": lambda L: L.zeros(3, dtype=L.uint8).random_(0, 500),
    "random_float_bound": lambda L: L.zeros(3).random_(2.5, 4),
    "random_complex": lambda L: L.zeros(3, dtype=L.complex64).random_(),
    "exponential_zero": lambda L: L.zeros(3).exponential_(0),
    "exponential_int": lambda L: L.zeros(3, dtype=L.int32).exponential_(),
    "geometric_zero": lambda L: L.zeros(3).geometric_(0),
    "geometric_one": lambda L: L.zeros(3).geometric_(1),
    "geometric_bool": lambda L: L.zeros(3, dtype=L.bool).geometric_(0.5),
    "cauchy_zero_sigma": lambda L: L.zeros(3).cauchy_(0, 0),
    "cauchy_int": lambda L: L.zeros(3, dtype=L.int32).cauchy_(),
    "log_normal_zero_std": lambda L: L.zeros(3).log_normal_(1, 0),
    "log_normal_int": lambda L: L.zeros(3, dtype=L.int32).log_normal_(),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    raises_same(lambda: ERRORS[name](torch), lambda: ERRORS[name](torchjax))


def test_explicit_int64_is_int32_without_x64():
    # torch's long, its default integer type, is int32 here for every integer tensor (asked for or not)
    assert torchjax.randint(5, (3,), dtype=torchjax.int64).dtype == (np.int64 if jax.config.jax_enable_x64 else
                                                                     np.int32)


# Samplers of N values with their exact mean and variance.
MOMENTS = {
    "rand": (lambda: torchjax.rand(N), 0.5, 1 / 12),
    "randn": (lambda: torchjax.randn(N), 0.0, 1.0),
    "randn_complex": (lambda: torchjax.randn(N, dtype=torchjax.complex64).real, 0.0, 0.5),
    "randint": (lambda: torchjax.randint(-3, 7, (N,)), 1.5, (10 ** 2 - 1) / 12),
    "normal_floats": (lambda: torchjax.normal(2.0, 3.0, (N,)), 2.0, 9.0),
    "normal_tensors": (lambda: torchjax.normal(torchjax.full((N,), -1.0), torchjax.full((N,), 0.5)), -1.0, 0.25),
    "bernoulli": (lambda: torchjax.bernoulli(torchjax.full((N,), 0.3)), 0.3, 0.21),
    "bernoulli_": (lambda: torchjax.zeros(N).bernoulli_(0.7), 0.7, 0.21),
    "poisson": (lambda: torchjax.poisson(torchjax.full((N,), 4.0)), 4.0, 4.0),
    "exponential_": (lambda: torchjax.zeros(N).exponential_(2.0), 0.5, 0.25),
    "geometric_": (lambda: torchjax.zeros(N).geometric_(0.25), 4.0, 12.0),
    "log_normal_": (lambda: torchjax.zeros(N).log_normal_(0.0, 0.5), math.exp(0.125),
                    (math.exp(0.25) - 1) * math.exp(0.25)),
    "random_": (lambda: torchjax.zeros(N).random_(10), 4.5, 99 / 12),
    "rand_like": (lambda: torchjax.rand_like(torchjax.zeros(N)), 0.5, 1 / 12),
    "randint_like": (lambda: torchjax.randint_like(torchjax.zeros(N), 4), 1.5, 15 / 12),
}


def _check_moments(values, mean, var):
    values = np.asarray(values, dtype=np.float64)
    se = math.sqrt(var / values.size)
    assert abs(values.mean() - mean) < 5 * se, (values.mean(), mean)
    assert abs(values.var() - var) < 0.2 * var, (values.var(), var)


@pytest.mark.parametrize("name", sorted(MOMENTS))
def test_moments_eager(name):
    make, mean, var = MOMENTS[name]
    torchjax.manual_seed(1)
    _check_moments(make(), mean, var)


def test_moments_compiled_and_fresh_each_call():
    # One compiled step drawing from every sampler: the jax.random paths, new randomness per call.
    names = sorted(MOMENTS)
    step = torchjax.compile(lambda: tuple(MOMENTS[n][0]() for n in names))
    torchjax.manual_seed(2)
    first, second = step(), step()
    for name, a, b in zip(names, first, second, strict=True):
        _check_moments(a, *MOMENTS[name][1:])
        assert not np.array_equal(np.asarray(a), np.asarray(b)), name
    torchjax.manual_seed(2)
    for a, b in zip(step(), first, strict=True):  # reproducible from the seed
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_cauchy_quartiles():
    torchjax.manual_seed(3)
    x = np.asarray(torchjax.zeros(N).cauchy_(1.0, 2.0))
    q1, q2, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    assert abs(q2 - 1.0) < 0.3 and abs(q1 + 1.0) < 0.4 and abs(q3 - 3.0) < 0.4


def test_ranges_and_supports():
    torchjax.manual_seed(4)
    u = np.asarray(torchjax.rand(N))
    assert u.min() >= 0 and u.max() < 1
    r = np.asarray(torchjax.randint(-3, 7, (N,)))
    assert r.min() == -3 and r.max() == 6
    assert sorted(np.asarray(torchjax.randperm(50)).tolist()) == list(range(50))
    assert set(np.unique(np.asarray(torchjax.zeros(N, dtype=torchjax.bool).random_()))) == {False, True}
    f = np.asarray(torchjax.zeros(N).random_())
    assert f.min() >= 0 and f.max() <= 2 ** 24 and np.all(f == np.round(f)) and f.max() > 2 ** 23
    h = np.asarray(torchjax.zeros(N, dtype=torchjax.float16).random_())
    assert h.min() >= 0 and h.max() <= 2 ** 11
    i8 = np.asarray(torchjax.zeros(N, dtype=torchjax.int8).random_())
    assert i8.min() >= 0 and i8.max() == 127
    g = np.asarray(torchjax.zeros(N, dtype=torchjax.int32).geometric_(0.5))
    assert g.min() >= 1
    b = np.asarray(torchjax.bernoulli(torchjax.tensor([0.0, 1.0]).expand(N, 2)))
    assert np.all(b[:, 0] == 0) and np.all(b[:, 1] == 1)


def test_multinomial_frequencies_and_no_repeats():
    torchjax.manual_seed(5)
    probs = torchjax.tensor([0.1, 0.0, 0.6, 0.3])
    draws = np.asarray(torchjax.multinomial(probs, N, replacement=True))
    freq = np.bincount(draws, minlength=4) / N
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.04)
    assert freq[1] == 0  # a zero-probability category is never drawn with replacement
    rows = np.asarray(torchjax.multinomial(torchjax.rand(N // 10, 6) + 0.01, 6))
    assert all(sorted(row) == list(range(6)) for row in rows)
    # Without replacement the first draw follows the probabilities.
    first = np.asarray(torchjax.multinomial(probs.expand(N, 4), 2))[:, 0]
    np.testing.assert_allclose(np.bincount(first, minlength=4) / N, [0.1, 0.0, 0.6, 0.3], atol=0.04)
    # Unnormalised weights are fine.
    weighted = np.asarray(torchjax.multinomial(torchjax.tensor([1.0, 3.0]), N, True))
    assert abs(weighted.mean() - 0.75) < 0.05


def test_multinomial_compiled_without_repeats():
    step = torchjax.compile(lambda p: torchjax.multinomial(p, 5))
    rows = np.asarray(step(torchjax.rand(50, 5) + 0.01))
    assert all(sorted(row) == list(range(5)) for row in rows)


def test_manual_seed_reproduces_and_generators_are_independent():
    draws = (lambda **g: torchjax.rand(4, **g), lambda **g: torchjax.randint(10, (4,), **g),
             lambda **g: torchjax.randperm(6, **g), lambda **g: torchjax.normal(0.0, 1.0, (4,), **g),
             lambda **g: torchjax.multinomial(torchjax.ones(5), 3, **g),
             lambda **g: torchjax.zeros(4).exponential_(**g))
    torchjax.manual_seed(7)
    first = [np.asarray(d()) for d in draws]
    torchjax.manual_seed(7)
    assert all(np.array_equal(np.asarray(d()), f) for d, f in zip(draws, first, strict=True))
    # A generator= draw leaves the default stream where it was.
    torchjax.manual_seed(7)
    gen = torchjax.Generator().manual_seed(123)
    from_gen = [np.asarray(d(generator=gen)) for d in draws]
    assert all(np.array_equal(np.asarray(d()), f) for d, f in zip(draws, first, strict=True))
    gen.manual_seed(123)
    assert all(np.array_equal(np.asarray(d(generator=gen)), f) for d, f in zip(draws, from_gen, strict=True))
    assert not np.array_equal(from_gen[0], first[0])


def test_normal_is_differentiable_in_mean_and_std():
    import jax

    def loss(mean, std):
        torchjax.manual_seed(0)
        return torchjax.normal(torchjax.as_tensor(mean), torchjax.as_tensor(std)).sum().jax()

    mean, std = jax.numpy.zeros(N), jax.numpy.ones(N)
    d_mean, d_std = jax.grad(loss, argnums=(0, 1))(mean, std)
    np.testing.assert_allclose(np.asarray(d_mean), 1.0)
    # d/d std of mean + std * z is z: a standard normal sample.
    _check_moments(d_std, 0.0, 1.0)

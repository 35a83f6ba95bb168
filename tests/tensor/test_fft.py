"""``torchjax.fft`` against ``torch.fft``: values, dtypes, norms, sizes, errors, compile, gradients."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import torch
from test_linalg import assert_matches, check

import torchjax as tj
import torchjax.fft  # noqa: F401 - the submodule, as ``tj.fft``


def sample(shape, seed: int = 0, dtype: str = "float32"):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape).astype(np.float32)
    if dtype == "complex64":
        values = (values + 1j * rng.standard_normal(shape)).astype(np.complex64)
    if dtype == "int32":
        values = rng.integers(-3, 4, shape).astype(np.int32)
    return values, dtype


R = sample((3, 8))
C = sample((3, 8), 1, "complex64")
R3 = sample((2, 4, 6), 2)
C3 = sample((2, 4, 6), 3, "complex64")
I = sample((3, 8), 4, "int32")

ONE_DIM = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
N_DIM = ("fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn")


@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
@pytest.mark.parametrize("name", ONE_DIM)
def test_one_dim_transforms(name, norm):
    check(lambda lib, r, c: [getattr(lib.fft, name)(x, norm=norm) for x in (r, c)], R, C)


@pytest.mark.parametrize("name", N_DIM)
def test_n_dim_transforms(name):
    check(lambda lib, r, c: [getattr(lib.fft, name)(x, norm="ortho") for x in (r, c)], R3, C3)


CASES = [
    ("fft_n_pad", lambda lib, x: lib.fft.fft(x, n=11, dim=0), R),
    ("fft_n_crop", lambda lib, x: lib.fft.fft(x, n=5), C),
    ("fft_int_is_complex64", lambda lib, x: lib.fft.fft(x), I),
    ("fft_bool", lambda lib, x: lib.fft.fft(x > 0), R),
    ("rfft_int", lambda lib, x: lib.fft.rfft(x, dim=0), I),
    ("irfft_n_odd", lambda lib, x: lib.fft.irfft(x, n=9), C),
    ("hfft_n", lambda lib, x: lib.fft.hfft(x, n=6, dim=0), C),
    ("fft2_s", lambda lib, x: lib.fft.fft2(x, s=(3, 5)), R3),
    ("fftn_s_defaults_to_last_dims", lambda lib, x: lib.fft.fftn(x, s=(2, 2)), R3),
    ("fftn_dim", lambda lib, x: lib.fft.fftn(x, dim=(0, 2)), C3),
    ("fftn_s_minus_one", lambda lib, x: lib.fft.fftn(x, s=(-1, 3), dim=(0, 1)), C3),
    ("rfftn_dim", lambda lib, x: lib.fft.rfftn(x, dim=(2, 0)), R3),
    ("irfftn_s", lambda lib, x: lib.fft.irfftn(x, s=(4, 7)), C3),
    ("irfft2_roundtrip", lambda lib, x: lib.fft.irfft2(lib.fft.rfft2(x), s=x.shape[-2:]), R3),
    ("fftshift", lambda lib, x: lib.fft.fftshift(x), R3),
    ("fftshift_dim", lambda lib, x: lib.fft.fftshift(x, dim=1), R),
    ("ifftshift_dims", lambda lib, x: lib.fft.ifftshift(x, dim=(0, -1)), R3),
    # errors
    ("norm_invalid", lambda lib, x: lib.fft.fft(x, norm="bad"), R),
    ("rfft_complex", lambda lib, x: lib.fft.rfft(x), C),
    ("ihfft_complex", lambda lib, x: lib.fft.ihfft(x), C),
    ("rfftn_complex", lambda lib, x: lib.fft.rfftn(x), C3),
    ("fft_n_zero", lambda lib, x: lib.fft.fft(x, n=0), R),
    ("fft_dim_out_of_range", lambda lib, x: lib.fft.fft(x, dim=2), R),
    ("fftn_repeated_dim", lambda lib, x: lib.fft.fftn(x, dim=(0, 0)), R3),
    ("fftn_s_dim_lengths", lambda lib, x: lib.fft.fftn(x, s=(2, 2), dim=(0,)), R3),
]


@pytest.mark.parametrize("fn, x", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cases(fn, x):
    check(fn, x)


@pytest.mark.parametrize("name", ["fftfreq", "rfftfreq"])
def test_frequencies(name):
    for n, d in ((8, 1.0), (7, 0.1)):
        assert_matches(getattr(tj.fft, name)(n, d), getattr(torch.fft, name)(n, d))
    assert_matches(getattr(tj.fft, name)(5, d=2.0, dtype=tj.float16), getattr(torch.fft, name)(5, 2.0,
                                                                                                  dtype=torch.float16))
    with pytest.raises(RuntimeError, match="64-bit"):  # never silently 32 bits
        getattr(tj.fft, name)(4, dtype=tj.float64)


GRADS = [
    lambda lib, x: lib.fft.fft(x).abs().sum(),
    lambda lib, x: lib.fft.ifft(x, norm="ortho").abs().sum(),
    lambda lib, x: (lib.fft.rfft(x).abs() ** 2).sum(),
    lambda lib, x: (lib.fft.irfft(lib.fft.rfft(x) * lib.fft.rfft(x)) * x).sum(),
    lambda lib, x: lib.fft.fft2(x, norm="forward").abs().sum() + lib.fft.rfftn(x).abs().sum(),
    lambda lib, x: lib.fft.irfft(lib.fft.fft(x)[..., :5], n=8).pow(2).sum(),
]


def test_gradients():
    x = R[0]
    for fn in GRADS:
        t = torch.tensor(x, requires_grad=True)
        fn(torch, t).backward()
        grad = jax.jit(jax.grad(lambda v, fn=fn: fn(tj, tj.as_tensor(v)).jax()))(x)
        np.testing.assert_allclose(np.asarray(grad), t.grad.numpy(), rtol=2e-4, atol=2e-4)

"""Windows (``hann_window``, ``hamming_window``, ``blackman_window``, ``bartlett_window``, ``kaiser_window``) and
the short-time Fourier transform (``stft``, ``istft``) against torch: values, dtypes, shapes, arguments, errors,
gradients, compiled."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from parity import check_op, check_op_gradients

import torchjax as tj

WINDOWS = [
    ("hann", lambda lib: lib.hann_window(6)),
    ("hann_one", lambda lib: lib.hann_window(1)),
    ("hann_empty", lambda lib: lib.hann_window(0)),
    ("hann_half", lambda lib: lib.hann_window(7, dtype=lib.float16)),
    ("hann_requires_grad", lambda lib: lib.hann_window(4, requires_grad=True).requires_grad),
    ("hamming", lambda lib: lib.hamming_window(8)),
    ("hamming_alpha_beta", lambda lib: lib.hamming_window(8, False, 0.5, 0.4)),
    ("blackman", lambda lib: lib.blackman_window(9)),
    ("blackman_symmetric_bfloat16", lambda lib: lib.blackman_window(9, False, dtype=lib.bfloat16)),
    ("bartlett", lambda lib: lib.bartlett_window(7)),
    ("kaiser", lambda lib: lib.kaiser_window(8)),
    ("kaiser_beta", lambda lib: lib.kaiser_window(7, False, 3.0)),
    ("window_int_dtype", lambda lib: lib.hann_window(4, dtype=lib.int32)),
    ("window_complex_dtype", lambda lib: lib.hamming_window(4, dtype=lib.complex64)),
    ("window_negative", lambda lib: lib.kaiser_window(-1)),
    ("window_float_length", lambda lib: lib.bartlett_window(3.0)),
]


@pytest.mark.parametrize("fn", [c[1] for c in WINDOWS], ids=[c[0] for c in WINDOWS])
def test_windows(fn):
    check_op(fn)


RNG = np.random.default_rng(5)
SIGNAL = RNG.standard_normal(40).astype(np.float32)
BATCH = RNG.standard_normal((2, 30)).astype(np.float32)
COMPLEX = (RNG.standard_normal(32) + 1j * RNG.standard_normal(32)).astype(np.complex64)

STFT = [
    ("stft", lambda lib, x: lib.stft(x, 8, window=lib.hann_window(8), return_complex=True), SIGNAL),
    ("stft_args", lambda lib, x: lib.stft(x, 16, 3, 10, lib.hamming_window(10), True, "constant", True, None, True),
     SIGNAL),
    ("stft_batch_twosided", lambda lib, x: x.stft(8, 4, window=lib.ones(8), onesided=False, return_complex=True),
     BATCH),
    ("stft_not_centered", lambda lib, x: lib.stft(x, 8, 2, center=False, window=lib.hann_window(8),
                                                  return_complex=True), BATCH),
    ("stft_real_pairs", lambda lib, x: lib.stft(x, 8, window=lib.hann_window(8), return_complex=False), SIGNAL),
    ("stft_complex_input", lambda lib, x: lib.stft(x, 8, window=lib.hann_window(8)), COMPLEX),
    ("stft_needs_return_complex", lambda lib, x: lib.stft(x, 8, window=lib.hann_window(8)), SIGNAL),
    ("stft_int", lambda lib, x: lib.stft(x.int(), 8, return_complex=True), SIGNAL),
    ("stft_bad_win_length", lambda lib, x: lib.stft(x, 8, win_length=10, return_complex=True), SIGNAL),
    ("stft_bad_window", lambda lib, x: lib.stft(x, 8, window=lib.ones(7), return_complex=True), SIGNAL),
    ("stft_bad_hop", lambda lib, x: lib.stft(x, 8, hop_length=0, return_complex=True), SIGNAL),
    ("stft_onesided_complex", lambda lib, x: lib.stft(x, 8, onesided=True, return_complex=True), COMPLEX),
    ("istft", lambda lib, x: lib.istft(lib.stft(x, 8, window=lib.hann_window(8), return_complex=True), 8,
                                       window=lib.hann_window(8)), SIGNAL),
    ("istft_length_hop", lambda lib, x: lib.istft(lib.stft(x, 16, 4, window=lib.hann_window(16), return_complex=True),
                                                  16, 4, window=lib.hann_window(16), length=35), SIGNAL),
    ("istft_batch_normalized", lambda lib, x: lib.stft(x, 8, normalized=True, window=lib.hamming_window(8),
                                                       return_complex=True).istft(
        8, window=lib.hamming_window(8), normalized=True), BATCH),
    ("istft_twosided", lambda lib, x: lib.istft(lib.stft(x, 8, window=lib.hann_window(8), onesided=False,
                                                         return_complex=True), 8, window=lib.hann_window(8),
                                                onesided=False), SIGNAL),
    ("istft_nola_violated", lambda lib, x: lib.istft(lib.stft(x, 8, window=lib.hann_window(8), return_complex=True),
                                                     8, window=lib.hann_window(8), center=False), SIGNAL),
    ("istft_real_input", lambda lib, x: lib.istft(lib.view_as_real(
        lib.stft(x, 8, window=lib.hann_window(8), return_complex=True)), 8), SIGNAL),
]


@pytest.mark.parametrize("fn, arrays", [(c[1], c[2:]) for c in STFT], ids=[c[0] for c in STFT])
def test_stft(fn, arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_op(fn, *arrays, tol=1e-4)


@pytest.mark.parametrize("name", ["stft_args", "istft_length_hop"])
def test_compiled(name):
    fn, *arrays = next(c[1:] for c in STFT if c[0] == name)
    check_op(fn, *arrays, compiled=True, tol=1e-4)


def test_warnings_match_torchs():
    x = tj.tensor(SIGNAL)
    with pytest.warns(UserWarning, match="A window was not provided"):
        tj.stft(x, 8, return_complex=True)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        tj.stft(x, 8, window=tj.hann_window(8), return_complex=False)


def test_gradients():
    check_op_gradients([
        ("stft", lambda lib, x: lib.view_as_real(lib.stft(x, 8, window=lib.hann_window(8), return_complex=True)) ** 2,
         [SIGNAL]),
        ("istft", lambda lib, x: lib.istft(lib.stft(x, 8, window=lib.hann_window(8), return_complex=True), 8,
                                           window=lib.hann_window(8)) ** 2, [SIGNAL]),
    ], rtol=1e-3, atol=1e-4)


def test_round_trip_recovers_the_signal():
    x = tj.tensor(SIGNAL)
    window = tj.hann_window(16)
    back = tj.istft(tj.stft(x, 16, 4, window=window, return_complex=True), 16, 4, window=window, length=40)
    np.testing.assert_allclose(back.numpy(), SIGNAL, atol=1e-5)

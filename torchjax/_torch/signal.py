"""torch's signal functions: the windows (``hann_window``, ``hamming_window``, ``blackman_window``,
``bartlett_window``, ``kaiser_window``) and the short-time Fourier transform (``stft``, ``istft``).

A window of length ``L`` is the symmetric window of ``L`` points, or with ``periodic=True`` (the default, for
spectral analysis) the first ``L`` of ``L + 1``; its values are computed on the host (they depend on no tensor).
"""

from __future__ import annotations

import functools
import operator

import jax
import jax.numpy as jnp
import numpy as np

from .. import _promotion
from .._device import get_default_dtype
from .._tensor import OPS, _dtype_name, op
from .._warnings import warn
from .creation import finish, resolve_dtype


def _window(name: str, formula, doc: str):
    """Register ``torchjax.<name>(window_length, periodic=True, *params, dtype=None, ...)``; ``formula(n, N,
    *params)`` gives the symmetric window of ``N`` points at the float64 positions ``n``."""
    def fn(window_length, periodic: bool = True, *params, dtype=None, layout=None, device=None,
           pin_memory: bool = False, requires_grad: bool = False):
        if isinstance(window_length, bool) or not isinstance(window_length, int | np.integer):
            raise TypeError(f"{name}(): argument 'window_length' (position 1) must be int, not "
                            f"{type(window_length).__name__}")
        window_length = operator.index(window_length)
        dtype = resolve_dtype(dtype, get_default_dtype(), name)
        if _promotion.category(dtype) < 2:
            raise RuntimeError(f"{name} expects floating point dtypes, got: {_dtype_name(dtype)}")
        if _promotion.category(dtype) == 3:
            raise NotImplementedError(f"\"arange_cpu\" not implemented for '{_dtype_name(dtype)}'")
        if window_length < 0:
            raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
        if window_length <= 1:
            values = np.ones(window_length)
        else:
            points = window_length + 1 if periodic else window_length
            values = formula(np.arange(window_length, dtype=np.float64), points, *params)
        return finish(np.asarray(values, np.float32).astype(dtype), device, requires_grad)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    OPS[name] = fn
    return fn


def _hamming(n, N, alpha=0.54, beta=0.46):  # noqa: N803 - the window's length
    return alpha - beta * np.cos(2 * np.pi * n / (N - 1))


hann_window = _window("hann_window", lambda n, N: _hamming(n, N, 0.5, 0.5),
                      "``0.5 - 0.5 cos(2 pi n / (N - 1))``.")
hamming_window = _window("hamming_window", _hamming,
                         "``alpha - beta cos(2 pi n / (N - 1))`` (``hamming_window(L, periodic, alpha=0.54, "
                         "beta=0.46)``).")
blackman_window = _window("blackman_window",
                          lambda n, N: (0.42 - 0.5 * np.cos(2 * np.pi * n / (N - 1))
                                        + 0.08 * np.cos(4 * np.pi * n / (N - 1))),
                          "``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``.")
bartlett_window = _window("bartlett_window", lambda n, N: 1 - np.abs(2 * n / (N - 1) - 1),
                          "The triangle ``1 - |2 n / (N - 1) - 1|``.")
kaiser_window = _window("kaiser_window",
                        lambda n, N, beta=12.0: np.i0(beta * np.sqrt(np.maximum(
                            0.0, 1 - ((n - (N - 1) / 2) / ((N - 1) / 2)) ** 2))) / np.i0(beta),
                        "``I0(beta sqrt(1 - ((n - (N - 1) / 2) / ((N - 1) / 2))^2)) / I0(beta)`` "
                        "(``kaiser_window(L, periodic, beta=12.0)``).")


# --- short-time Fourier transform -----------------------------------------------------------------
_PAD_MODES = {"reflect": "reflect", "constant": "constant", "replicate": "edge", "circular": "wrap"}


def _stft_args(name: str, input, n_fft: int, hop_length, win_length, window):
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if n_fft <= 0 or n_fft > input.shape[-1]:
        raise RuntimeError(f"{name}: expected 0 < n_fft < {input.shape[-1]}, but got n_fft={n_fft}")
    if hop_length <= 0:
        raise RuntimeError(f"{name}: expected hop_length > 0, but got hop_length={hop_length}")
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"{name}: expected 0 < win_length <= n_fft, but got win_length={win_length}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win_length):
        raise RuntimeError(f"{name}: expected a 1D window tensor of size equal to win_length={win_length}, but got "
                           f"window with size {list(window.shape)}")
    if window is None:
        window = jnp.ones(win_length, input.dtype if _promotion.category(input.dtype) == 2
                          else _promotion.to_real(input.dtype))
    left = (n_fft - win_length) // 2
    window = jnp.pad(window, (left, n_fft - win_length - left))
    return hop_length, window


@op(method=True)
def stft(input, n_fft: int, hop_length=None, win_length=None, window=None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided=None, return_complex=None,
         align_to_window=None):
    """The short-time Fourier transform of ``input`` ``(L)`` or ``(B, L)``: frames of ``n_fft`` samples
    ``hop_length`` apart (default ``n_fft // 4``), multiplied by ``window`` (ones of ``win_length`` by default,
    centered in ``n_fft``), Fourier transformed. ``center`` pads ``n_fft // 2`` on both sides with ``pad_mode``.
    Returns ``(B?, n_fft // 2 + 1 (onesided) or n_fft, frames)`` complex (``return_complex=False``: as real pairs,
    deprecated). ``normalized`` scales by ``n_fft ** -0.5``."""
    complex_input = _promotion.category(input.dtype) == 3 or (window is not None and
                                                              _promotion.category(window.dtype) == 3)
    if return_complex is None:
        if not complex_input:
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will further "
                               "require that return_complex=True in a future PyTorch release.")
        return_complex = True
    if _promotion.category(input.dtype) < 2:
        raise RuntimeError("stft: expected a tensor of floating point or complex value")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {input.ndim}D")
    if window is None:
        warn("A window was not provided. A rectangular window will be applied,which is known to cause spectral "
             "leakage. Other windows such as torch.hann_window or torch.hamming_window are recommended to reduce "
             "spectral leakage.To suppress this warning and use a rectangular window, explicitly set "
             "`window=torch.ones(n_fft, device=<device>)`.")
    if not return_complex:
        warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will return complex "
             "tensors for all inputs, and return_complex=False will raise an error.\nNote: you can still call "
             "torch.view_as_real on the complex output to recover the old return format.")
    if onesided and complex_input:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    x = input[None] if input.ndim == 1 else input
    if center:
        if pad_mode not in _PAD_MODES:
            raise RuntimeError(f"Unrecognised padding mode {pad_mode}")
        x = jnp.pad(x, ((0, 0), (n_fft // 2, n_fft // 2)), mode=_PAD_MODES[pad_mode])
    hop_length, window = _stft_args("stft", x, n_fft, hop_length, win_length, window)
    onesided = not complex_input if onesided is None else onesided
    out = _stft_kernel(x, window, n_fft, hop_length, onesided, normalized)
    out = out[0] if input.ndim == 1 else out
    return out if return_complex else jnp.stack([out.real, out.imag], axis=-1)


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5))
def _stft_kernel(x, window, n_fft: int, hop_length: int, onesided: bool, normalized: bool):
    """The spectra ``(B, freq, frames)`` of the padded batch ``x`` ``(B, L)`` (one XLA program per shape)."""
    frames = 1 + (x.shape[-1] - n_fft) // hop_length
    positions = np.arange(frames)[:, None] * hop_length + np.arange(n_fft)
    segments = x[:, positions] * window  # (B, frames, n_fft)
    spectrum = jnp.fft.rfft(segments, axis=-1) if onesided else jnp.fft.fft(segments, axis=-1)
    if normalized:
        spectrum = spectrum * n_fft ** -0.5
    dtype = _promotion.to_complex(jnp.result_type(segments.dtype, np.float32))
    return jnp.swapaxes(spectrum, -1, -2).astype(dtype)


@op(method=True)
def istft(input, n_fft: int, hop_length=None, win_length=None, window=None, center: bool = True,
          normalized: bool = False, onesided=None, length=None, return_complex: bool = False):
    """The inverse of :func:`stft` (complex ``input`` ``(B?, freq, frames)``): inverse transforms of the frames,
    overlap-added with the window and divided by the summed squared window (which must not vanish anywhere,
    torch's NOLA condition, checked eagerly). ``length`` trims or zero-pads the result."""
    if _promotion.category(input.dtype) != 3:
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    if window is None:
        warn("A window was not provided. A rectangular window will be applied.Please provide the same window used by "
             "stft to make the inversion lossless.To suppress this warning and use a rectangular window, explicitly "
             "set `window=torch.ones(n_fft, device=<device>)`.")
    spectrum = input[None] if input.ndim == 2 else input
    onesided = spectrum.shape[-2] != n_fft if onesided is None else onesided
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if window is None:
        window = jnp.ones(win_length, _promotion.to_real(input.dtype))
    left = (n_fft - win_length) // 2
    window = jnp.pad(window, (left, n_fft - win_length - left))
    frames = spectrum.shape[-1]
    total = n_fft + hop_length * (frames - 1)
    start = n_fft // 2 if center else 0
    end = total - (n_fft // 2 if center else 0) if length is None else start + length
    end = min(end, total)
    signal, envelope = _istft_kernel(spectrum, window, n_fft, hop_length, onesided, normalized, return_complex,
                                     start, end)
    minimum = jnp.min(jnp.abs(envelope))
    if not isinstance(minimum, jax.core.Tracer) and float(minimum) < 1e-11:  # checked eagerly only
        raise RuntimeError(f"istft: window overlap add min: {float(minimum):g}")
    signal = signal / envelope
    if length is not None and signal.shape[-1] < length:
        warn("The length of signal is shorter than the length parameter. Result is being padded with zeros in the "
             "tail. Please check your center and hop_length settings.")
        signal = jnp.pad(signal, [(0, 0)] * (signal.ndim - 1) + [(0, length - signal.shape[-1])])
    return signal[0] if input.ndim == 2 else signal


@functools.partial(jax.jit, static_argnums=tuple(range(2, 9)))
def _istft_kernel(spectrum, window, n_fft: int, hop_length: int, onesided: bool, normalized: bool,
                  return_complex: bool, start: int, end: int):
    """The overlap-added frames of ``spectrum`` ``(B, freq, frames)`` and the summed squared window, both cut to
    ``start:end`` (one XLA program per shape)."""
    frames_spectrum = jnp.swapaxes(spectrum, -1, -2)
    if normalized:
        frames_spectrum = frames_spectrum * n_fft ** 0.5
    if onesided:
        segments = jnp.fft.irfft(frames_spectrum, n=n_fft, axis=-1)
    else:
        segments = jnp.fft.ifft(frames_spectrum, axis=-1)
        if not return_complex:
            segments = segments.real
    segments = segments * window
    frames = segments.shape[-2]
    total = n_fft + hop_length * (frames - 1)
    positions = (np.arange(frames)[:, None] * hop_length + np.arange(n_fft)).reshape(-1)
    signal = jnp.zeros(segments.shape[:-2] + (total,), segments.dtype).at[..., positions].add(
        segments.reshape(segments.shape[:-2] + (-1,)))
    envelope = jnp.zeros(total, window.dtype).at[positions].add(jnp.tile(jnp.abs(window) ** 2, frames))
    return signal[..., start:end], envelope[start:end]

"""Tensor repr: torch's ``tensor([...])`` format (torch/_tensor_str.py is the spec), and its print options.

The values are formatted in NumPy on the host. A tensor with more elements than ``threshold`` is
summarized: only its edge items (``edgeitems`` per end of each long dimension) are copied off the
device. Differences from torch: the dtype suffix reads ``dtype=torchjax.float16``; without
``jax_enable_x64`` int32 plays int64's role as the default integer dtype, so int32 tensors print no
dtype suffix (with x64 on, int64 does and int32 does); a tensor traced inside a JAX transform prints
``tensor(<traced float32[2, 3]>)``; ``device=`` is printed when the tensor is not on JAX's default device.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from ._device import from_jax_device, get_default_dtype
from ._promotion import canonical, default_complex

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """``torch.set_printoptions``: a ``profile`` ('default', 'short', 'full') first, then the given options.

    As in torch, ``sci_mode`` is always set (None: chosen per tensor), the others only when given.
    """
    if profile is not None:
        for key, value in _PROFILES.get(profile, {}).items():
            setattr(PRINT_OPTS, key, value)
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                       ("linewidth", linewidth)):
        if value is not None:
            setattr(PRINT_OPTS, key, value)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options, as keyword arguments for :func:`set_printoptions`."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Set print options for the duration of a ``with`` block."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Chooses one width and notation (integer-valued, fixed or scientific) for a set of values."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not self.floating:
            self.max_width = max([self.max_width, *(len(str(v)) for v in flat.tolist())])
            return
        finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size == 0:
            return
        magnitude = np.abs(finite)
        lo, hi = float(magnitude.min()), float(magnitude.max())
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        precision = PRINT_OPTS.precision
        if self.sci_mode:
            widths = (len(f"{v:.{precision}e}") for v in finite.tolist())
        elif self.int_mode:
            widths = (len(f"{v:.0f}") + 1 for v in finite.tolist())  # + 1 for the trailing '.'
        else:
            widths = (len(f"{v:.{precision}f}") for v in finite.tolist())
        self.max_width = max(self.max_width, *widths)

    def format(self, value) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{PRINT_OPTS.precision}f}"
        return text.rjust(self.max_width)


def _element(value, real: _Formatter, imag: _Formatter | None) -> str:
    if imag is None:
        return real.format(value)
    imag_text = (imag.format(value.imag) + "j").lstrip()
    sign = "" if imag_text[0] in "+-" else "+"
    return real.format(value.real) + sign + imag_text


def _vector(values: np.ndarray, elided: tuple, indent: int, real: _Formatter, imag: _Formatter | None) -> str:
    width = real.max_width + 2 + (imag.max_width + 1 if imag is not None else 0)
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / width))
    items = [_element(v, real, imag) for v in values.tolist()]
    if elided[0]:
        edge = PRINT_OPTS.edgeitems
        items = ["..."] if not edge else [*items[:edge], " ...", *items[edge:]]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(values: np.ndarray, elided: tuple, indent: int, real: _Formatter, imag: _Formatter | None) -> str:
    if values.ndim == 0:
        return _element(values.item(), real, imag)
    if values.ndim == 1:
        return _vector(values, elided, indent, real, imag)
    rows = [_nested(row, elided[1:], indent + 1, real, imag) for row in values]
    if elided[0]:
        edge = PRINT_OPTS.edgeitems
        rows = [*rows[:edge], "...", *rows[edge:]]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _edges(data) -> tuple[np.ndarray, tuple]:
    """The values to print as a host array, and per dimension whether its middle is elided."""
    shape = data.shape
    edge = PRINT_OPTS.edgeitems
    if not data.size > PRINT_OPTS.threshold or data.ndim == 0:
        return np.asarray(data), (False,) * data.ndim
    elided = tuple(n > 2 * edge for n in shape)
    if not edge:
        # Only '...' is printed: nothing needs copying.
        return np.zeros((0,) * data.ndim, data.dtype), (True,) * data.ndim
    index = np.ix_(*(np.r_[0:edge, n - edge:n] if cut else np.arange(n) for n, cut in zip(shape, elided, strict=True)))
    if isinstance(data, jax.Array) and any(d.platform != "cpu" for d in data.devices()):
        return np.asarray(data[index]), elided  # gather on the device, copy only the edges
    return np.asarray(data)[index], elided  # host memory: NumPy reads it without a copy


def _as_host(values: np.ndarray) -> np.ndarray:
    # Python floats of the values (what torch formats), also for bfloat16 and float8 (NumPy kind 'V').
    if jnp.issubdtype(values.dtype, jnp.floating):
        return values.astype(np.float64)
    return values


def _body(data, indent: int) -> str:
    if data.size == 0:
        return "[]"
    values, elided = _edges(data)
    if values.dtype.kind == "c":
        real, imag = _as_host(values.real), _as_host(values.imag)
        return _nested(real + 1j * imag, elided, indent, _Formatter(real), _Formatter(imag))
    values = _as_host(values)
    return _nested(values, elided, indent, _Formatter(values), None)


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    parts = [text]
    # torch's count (one more than the last line's length, two more without a newline); kept for equal wrapping.
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"


def _default_device():
    dev = jax.config.jax_default_device
    if dev is None:
        return jax.devices()[0]
    return jax.devices(dev)[0] if isinstance(dev, str) else dev


def _dtype_suffix(dtype) -> str:
    return f"dtype=torchjax.{np.dtype(dtype).name}"


def tensor_repr(data, type_name: str = "Tensor", requires_grad: bool = False) -> str:
    """``repr`` of a tensor holding ``data`` (an array or a tracer), as torch prints it.

    Arguments:
        data: the tensor's array.
        type_name: its class name: ``tensor(...)`` for a Tensor, torch's ``Parameter containing:`` header
            for a Parameter, ``Name(...)`` for other subclasses.
        requires_grad: adds torch's ``requires_grad=True`` suffix.
    """
    is_parameter = type_name == "Parameter"
    prefix = "tensor(" if type_name == "Tensor" or is_parameter else f"{type_name}("
    indent = len(prefix)
    suffixes = []
    if isinstance(data, jax.core.Tracer):
        text = f"<traced {np.dtype(data.dtype).name}[{', '.join(map(str, data.shape))}]>"
    else:
        if isinstance(data, jax.Array):
            dev = next(iter(data.devices()))
            if dev.platform != "cpu" and dev != _default_device():
                suffixes.append(f"device='{from_jax_device(dev)}'")
        dtype = np.dtype(data.dtype)
        text = _body(data, indent)
        if data.size == 0:
            # torch: an empty tensor shows its shape unless 1-d, and any dtype but the default float.
            if data.ndim != 1:
                suffixes.append(f"size={tuple(data.shape)}")
            if dtype != get_default_dtype():
                suffixes.append(_dtype_suffix(dtype))
        else:
            if not PRINT_OPTS.edgeitems:
                suffixes.append(f"size={tuple(data.shape)}")
            defaults = (get_default_dtype(), default_complex(), canonical(np.int64), np.dtype(np.bool_))
            if dtype not in defaults:
                suffixes.append(_dtype_suffix(dtype))
    if requires_grad:
        suffixes.append("requires_grad=True")
    out = _with_suffixes(prefix + text, suffixes, indent)
    return f"Parameter containing:\n{out}" if is_parameter else out

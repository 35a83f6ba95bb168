"""torch's creation functions: ``tensor``, ``as_tensor``, ``zeros``, ``full``, ``arange``, ``linspace``, ``eye``, ...

Eager calls build their values on the host with NumPy and transfer them (``jax.device_put``): a
``jnp`` constructor would compile an XLA kernel for every new shape. Inside a trace (``torchjax.compile``,
``jax.jit``) they use ``jnp``, so no constant is baked into the program. torch's int64 and float64 are
int32 and float32 here (JAX without ``jax_enable_x64``); asking for them explicitly raises.

They return Tensors themselves (``requires_grad=``), so they register in ``_tensor.OPS`` directly rather
than through ``op``, which wraps array results.
"""

from __future__ import annotations

import builtins
import math
import operator
import warnings
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import core as _jax_core

from .. import _promotion
from .._device import as_dtype, check_dtype_supported, get_default_dtype, to_jax_device
from .._tensor import OPS, Tensor, _dtype_name, _new, _place_like, tensor_arg, unwrap

__all__ = [
    "arange", "as_tensor", "asarray", "empty", "empty_like", "empty_strided", "eye", "from_numpy", "full",
    "full_like", "linspace", "logspace", "ones", "ones_like", "range", "scalar_tensor", "tensor", "tril_indices",
    "triu_indices", "zeros", "zeros_like",
]

_Tracer = jax.core.Tracer
_BOOL = np.dtype(np.bool_)


def _export(fn):
    OPS[fn.__name__] = fn
    return fn


# --- shared helpers (also used by the random family) -----------------------------------------------
def tracing() -> bool:
    """Whether a JAX transformation is tracing: build with ``jnp`` then, NumPy otherwise."""
    return not _jax_core.trace_state_clean()


def _is_traced(value) -> bool:
    return isinstance(unwrap(value), _Tracer)


def resolve_dtype(dtype, default, name: str) -> np.dtype:
    """``dtype`` (refusing a 64-bit one JAX would silently narrow) or ``default``."""
    if dtype is None:
        return np.dtype(default)
    return check_dtype_supported(np.dtype(as_dtype(dtype)), name)


def _index(value, what: str, name: str) -> int:
    """An int argument (a Python int, NumPy integer or one-element integer Tensor); torch's TypeError else."""
    raw = unwrap(value)
    if isinstance(raw, builtins.bool | np.bool_) or (
            isinstance(raw, jax.Array | np.ndarray) and (raw.dtype == _BOOL or raw.dtype.kind not in "iu")):
        raise TypeError(f"{name}(): argument '{what}' must be int, not {type(value).__name__}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}(): argument '{what}' must be int, not {type(value).__name__}") from None


def size_arg(size: tuple, name: str) -> tuple[int, ...]:
    """torch's ``size`` (``*ints`` or one sequence / ``Size``): a tuple of ints, checked as torch checks it."""
    if len(size) == 1 and isinstance(size[0], Sequence) and not isinstance(size[0], str):
        size = tuple(size[0])
    elif len(size) == 1 and not _is_int_like(size[0]):
        raise TypeError(f"{name}(): argument 'size' (position 1) must be tuple of ints, not {type(size[0]).__name__}")
    out = []
    for i, s in enumerate(size):
        if not _is_int_like(s):
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__} at pos {i}")
        out.append(operator.index(s))
    if any(s < 0 for s in out):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(out)}: {out}")
    return tuple(out)


def _is_int_like(value) -> bool:
    if isinstance(value, builtins.bool | np.bool_):
        return False
    if isinstance(value, builtins.int | np.integer):
        return True
    raw = unwrap(value)
    return isinstance(raw, jax.Array | np.ndarray) and raw.dtype.kind in "iu" and raw.size == 1


def finish(value, device=None, requires_grad: bool = False, like=None) -> Tensor:
    """Wrap ``value`` (a NumPy or JAX array) as a Tensor on ``device`` (or where ``like`` lives)."""
    if isinstance(value, np.ndarray | np.generic):
        value = np.asarray(value)
        value = value.astype(_promotion.canonical(value.dtype), copy=False)
        value = jax.device_put(value, None if device is None else to_jax_device(device))
    elif device is not None and not isinstance(value, _Tracer):
        value = jax.device_put(value, to_jax_device(device))
    if device is None and like is not None:
        value = _place_like(value, like)
    out = _new(Tensor, value)
    if requires_grad:
        out.requires_grad = True  # torch's RuntimeError for integer and bool dtypes
    return out


def number_dtype(value) -> np.dtype:
    """The dtype torch gives a Python number or a 0-d tensor used as one (``full``'s fill value)."""
    raw = unwrap(value)
    if isinstance(raw, jax.Array | np.ndarray | np.generic):
        return {0: _BOOL, 1: _promotion.long_dtype(), 2: get_default_dtype(),
                3: _promotion.default_complex()}[_promotion.category(raw.dtype)]
    return _promotion.scalar_dtype(raw)


def _number(value, what: str, name: str):
    """A Python number, or a one-element (possibly traced) array; torch's TypeError otherwise."""
    raw = unwrap(value)
    if isinstance(raw, jax.Array | np.ndarray | np.generic):
        if raw.ndim:
            raise TypeError(f"{name}(): argument '{what}' must be Number, not Tensor")
        return raw.reshape(()) if isinstance(raw, _Tracer) else np.asarray(raw).reshape(()).item()
    if not _promotion.is_scalar(raw):
        raise TypeError(f"{name}(): argument '{what}' must be Number, not {type(value).__name__}")
    return raw


# --- tensor, as_tensor, asarray, from_numpy ------------------------------------------------------
def _infer(data):
    """torch's dtype for ``data`` (promoting over nested elements) and the leaves as a flat list."""
    leaves: list = []
    shape = _walk(data, leaves, 0)
    dtype = None
    for leaf in leaves:
        dtype = _promotion.promote_types(dtype, number_dtype(leaf) if _promotion.is_scalar(leaf)
                                         else _promotion.canonical(leaf.dtype))
    return (get_default_dtype() if dtype is None else dtype), shape, leaves


def _walk(data, leaves: list, dim: int) -> tuple[int, ...]:
    if isinstance(data, Tensor):
        raw = unwrap(data)
        if raw.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index "
                            "(a list of Tensors needs one-element tensors; use torchjax.stack)")
        leaves.append(raw.reshape(()))
        return ()
    if isinstance(data, list | tuple) or (isinstance(data, np.ndarray) and data.ndim):
        inner = None
        for item in data:
            shape = _walk(item, leaves, dim + 1)
            if inner is None:
                inner = shape
            elif shape != inner:
                expected = inner[0] if inner else "scalar"
                raise ValueError(f"expected sequence of length {expected} at dim {dim + 1} "
                                 f"(got {shape[0] if shape else 'a scalar'})")
        return (len(data), *(inner or ()))
    if isinstance(data, np.ndarray | np.generic | jax.Array):
        if data.dtype.kind not in "biufc":
            raise TypeError(f"new(): invalid data type '{data.dtype}'")
        leaves.append(data)
        return ()
    if _promotion.is_scalar(data):
        leaves.append(data)
        return ()
    if data is None:
        raise RuntimeError("Could not infer dtype of NoneType")
    raise TypeError(f"new(): invalid data type '{type(data).__name__}'")


def _build(data, dtype):
    """A new array (NumPy when every value is concrete) holding ``data`` in torch's dtype (or ``dtype``)."""
    raw = unwrap(data)
    if isinstance(raw, jax.Array | np.ndarray | np.generic):
        target = _promotion.canonical(raw.dtype) if dtype is None else dtype
        if isinstance(raw, _Tracer):
            return jax.lax.stop_gradient(raw.astype(target))  # torch.tensor makes a leaf without history
        return np.array(raw, dtype=target, copy=True)
    inferred, shape, leaves = _infer(raw)
    target = inferred if dtype is None else dtype
    if any(isinstance(leaf, _Tracer) for leaf in leaves):
        if not leaves:
            return jnp.zeros(shape, target)
        stacked = jnp.stack([jnp.asarray(leaf).astype(target) for leaf in leaves]).reshape(shape)
        return jax.lax.stop_gradient(stacked)
    values = [leaf if _promotion.is_scalar(leaf) else np.asarray(leaf).item() for leaf in leaves]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            return np.array(values, dtype=target).reshape(shape)
    except OverflowError:
        hint = " (torch's int64 needs JAX's 64-bit mode)" if target == _promotion.long_dtype() else ""
        raise RuntimeError(f"value cannot be converted to type {target} without overflow{hint}") from None


@_export
def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``torch.tensor``: a new tensor (always a copy) from nested lists, numbers, arrays or one-element Tensors."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
                      "rather than torchjax.tensor(sourceTensor).", UserWarning, stacklevel=2)
    dtype = resolve_dtype(dtype, None, "tensor") if dtype is not None else None
    return finish(_build(data, dtype), device, requires_grad)


@_export
def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``torch.as_tensor``: no copy for a Tensor or jax.Array already of that dtype and device.

    A NumPy array is copied to the device (JAX cannot share its memory).
    """
    dtype = resolve_dtype(dtype, None, "as_tensor") if dtype is not None else None
    raw = unwrap(data)
    if isinstance(raw, jax.Array):
        moved = raw if dtype is None or raw.dtype == dtype else raw.astype(dtype)
        if device is not None and not isinstance(moved, _Tracer):
            target = to_jax_device(device)
            if moved.devices() != {target}:
                moved = jax.device_put(moved, target)
        if moved is raw and isinstance(data, Tensor):
            return data
        return _new(Tensor, moved)
    return finish(_build(raw, dtype), device)


@_export
def asarray(obj, *, dtype=None, device=None, copy: bool | None = None, requires_grad: bool = False) -> Tensor:
    """``torch.asarray``: shares a Tensor or jax.Array when it can (``copy=None``), always copies with
    ``copy=True``; ``copy=False`` raises torch's ValueError where a copy is unavoidable (NumPy arrays are
    the exception: JAX cannot share their memory, so they are copied)."""
    dtype = resolve_dtype(dtype, None, "asarray") if dtype is not None else None
    raw = unwrap(obj)
    if not isinstance(raw, jax.Array):
        if copy is False and not isinstance(raw, np.ndarray | np.generic):
            raise ValueError("can't alias arbitrary sequence into a tensor.")
        return finish(_build(raw, dtype), device, requires_grad)
    if copy is False and dtype is not None and dtype != raw.dtype:
        raise ValueError(f"can't alias tensor with dtype '{_dtype_name(raw.dtype)}' into dtype "
                         f"'{_dtype_name(dtype)}'.")
    out = finish(jnp.array(raw, dtype=dtype, copy=True), device) if copy else as_tensor(obj, dtype, device)
    if requires_grad:
        out = out.detach() if out is obj else out  # a new leaf; the input's flag stays as it was
        out.requires_grad = True
    return out


@_export
def from_numpy(ndarray) -> Tensor:
    """``torch.from_numpy``: a Tensor holding a copy of ``ndarray`` (JAX cannot share NumPy memory).

    Like every implicit 64-bit dtype here, float64 / int64 / complex128 arrays become float32 / int32 /
    complex64 (JAX without ``jax_enable_x64``; torch keeps them).
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "biufc":
        raise TypeError(f"can't convert np.ndarray of type numpy.{ndarray.dtype.type.__name__}. The only supported "
                        "types are: float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
                        "uint64, uint32, uint16, uint8, and bool.")
    return finish(np.array(ndarray, copy=True))  # JAX may alias host memory that NumPy could then change


# --- filled tensors ---------------------------------------------------------------------------------
def _filled(shape, value, dtype, device, requires_grad, like=None) -> Tensor:
    if tracing() or isinstance(value, _Tracer):
        array = jnp.full(shape, value, dtype)
    else:
        array = np.full(shape, value, dtype)
    return finish(array, device, requires_grad, like)


@_export
def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
          pin_memory: bool = False) -> Tensor:
    """``torch.zeros``."""
    return _filled(size_arg(size, "zeros"), 0, resolve_dtype(dtype, get_default_dtype(), "zeros"), device,
                   requires_grad)


@_export
def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:
    """``torch.ones``."""
    return _filled(size_arg(size, "ones"), 1, resolve_dtype(dtype, get_default_dtype(), "ones"), device,
                   requires_grad)


@_export
def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
          pin_memory: bool = False, memory_format=None) -> Tensor:
    """``torch.empty``: zeros (XLA has no uninitialised memory)."""
    return _filled(size_arg(size, "empty"), 0, resolve_dtype(dtype, get_default_dtype(), "empty"), device,
                   requires_grad)


@_export
def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """``torch.empty_strided``: zeros of ``size`` (JAX arrays have no user-visible strides)."""
    shape = size_arg((size,), "empty_strided")
    stride = size_arg((stride,), "empty_strided")
    if len(stride) != len(shape):
        raise RuntimeError(f"dimensionality of sizes ({len(shape)}) must match dimensionality of strides "
                           f"({len(stride)})")
    return _filled(shape, 0, resolve_dtype(dtype, get_default_dtype(), "empty_strided"), device, requires_grad)


@_export
def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:
    """``torch.full``: the dtype follows ``fill_value`` as torch's does (bool, int64, default float, complex)."""
    if not isinstance(size, Sequence) or isinstance(size, str):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not {type(size).__name__}")
    shape = size_arg((size,), "full")
    value = _number(fill_value, "fill_value", "full")
    dtype = resolve_dtype(dtype, number_dtype(fill_value), "full")
    return _filled(shape, value, dtype, device, requires_grad)


@_export
def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """``torch.scalar_tensor``: a 0-d tensor of the default float dtype unless ``dtype``."""
    value = _number(s, "s", "scalar_tensor")
    dtype = resolve_dtype(dtype, get_default_dtype(), "scalar_tensor")
    if isinstance(value, builtins.complex) and dtype.kind != "c":
        raise RuntimeError(f"value cannot be converted to type {dtype} without overflow")
    return _filled((), value, dtype, device, requires_grad)


def _like(name: str, input, value, dtype, device, requires_grad) -> Tensor:
    raw = unwrap(tensor_arg(input, name))
    dtype = resolve_dtype(dtype, raw.dtype, name)
    return _filled(raw.shape, value, dtype, device, requires_grad, like=raw if device is None else None)


@_export
def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """``torch.zeros_like``: input's shape, dtype and placement unless given."""
    return _like("zeros_like", input, 0, dtype, device, requires_grad)


@_export
def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """``torch.ones_like``."""
    return _like("ones_like", input, 1, dtype, device, requires_grad)


@_export
def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """``torch.empty_like``: zeros."""
    return _like("empty_like", input, 0, dtype, device, requires_grad)


@_export
def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """``torch.full_like``: ``fill_value`` cast to input's dtype unless ``dtype`` (1.7 -> 1 for ints)."""
    return _like("full_like", input, _number(fill_value, "fill_value", "full_like"), dtype, device, requires_grad)


# --- ranges ---------------------------------------------------------------------------------------
def _bound(value, what: str, name: str):
    """A concrete Python number from a number or a one-element tensor (ranges have a static length)."""
    if _is_traced(value):
        raise TypeError(f"{name}(): '{what}' is traced, but the output length must be known when tracing; pass "
                        "it as a Python number (torchjax.compile's static_argnums / static_argnames)")
    return _number(value, what, name)


def _range_args(start, end, step, name: str):
    if end is None:
        start, end = 0, start
    start, end, step = (_bound(v, w, name) for v, w in ((start, "start"), (end, "end"), (step, "step")))
    for v in (start, end, step):
        if isinstance(v, builtins.complex):
            raise TypeError(f"{name}(): argument 'end' must be Number, not complex")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    return start, end, step


def _range_values(n: int, start, step, dtype, name: str) -> Tensor:
    if dtype == _BOOL:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
    xp = jnp if tracing() else np
    if dtype.kind in "iu":
        # torch accumulates integer ranges in integers: a float start/step is truncated first.
        values = xp.arange(n, dtype=np.int64 if xp is np else np.int32) * builtins.int(step) + builtins.int(start)
    else:
        acc = np.float64 if xp is np else np.float32
        values = xp.arange(n, dtype=acc) * acc(step) + acc(start)
    return values.astype(dtype)


@_export
def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``torch.arange``: int64 (int32 here) unless a bound or the step is a float; ``ceil((end - start) / step)``
    elements. The bounds must be concrete (the length is static)."""
    args = (start, end, step)
    start, end, step = _range_args(start, end, step, "arange")
    floating = any(number_dtype(v).kind == "f" for v in args if v is not None)
    dtype = resolve_dtype(dtype, get_default_dtype() if floating else _promotion.long_dtype(), "arange")
    n = math.ceil((builtins.float(end) - builtins.float(start)) / builtins.float(step))
    return finish(_range_values(max(n, 0), start, step, dtype, "arange"), device, requires_grad)


@_export
def range(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,  # noqa: A001
          requires_grad: bool = False) -> Tensor:
    """``torch.range`` (deprecated): ``end`` included, the default float dtype unless ``dtype``."""
    warnings.warn("torchjax.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torchjax.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    start, end, step = _range_args(start, end, step, "range")
    dtype = resolve_dtype(dtype, get_default_dtype(), "range")
    n = math.floor((builtins.float(end) - builtins.float(start)) / builtins.float(step)) + 1
    return finish(_range_values(n, start, step, dtype, "range"), device, requires_grad)


def _space_args(start, end, steps, name: str):
    steps = _index(steps, "steps", name)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    out = []
    for what, v in (("start", start), ("end", end)):
        raw = unwrap(v)
        if isinstance(raw, jax.Array | np.ndarray) and raw.ndim:
            raise RuntimeError(f"{name} only supports 0-dimensional start and end tensors, but got {what} with "
                               f"{raw.ndim} dimension(s).")
        out.append(_number(v, what, name))
    return (*out, steps)


def _space(start, end, steps: int, compute) -> jax.Array | np.ndarray:
    """torch's ``linspace`` values in ``compute``: from ``start`` up to the middle, from ``end`` after it."""
    traced = tracing() or any(isinstance(v, _Tracer) for v in (start, end))
    xp = jnp if traced else np
    start, end = xp.asarray(start, compute), xp.asarray(end, compute)
    if steps == 1:
        return start.reshape(1)
    step = (end - start) / xp.asarray(max(steps - 1, 1), compute)
    idx = xp.arange(steps, dtype=compute if compute.kind != "c" else np.float32)
    return xp.where(idx < steps // 2, start + step * idx, end - step * (steps - 1 - idx)).astype(compute)


def _space_dtype(dtype, start, end, name: str) -> tuple[np.dtype, np.dtype]:
    complex_ = any(number_dtype(v).kind == "c" for v in (start, end))
    dtype = resolve_dtype(dtype, _promotion.default_complex() if complex_ else get_default_dtype(), name)
    if dtype.kind in "iub":
        compute = np.dtype(np.float64 if not tracing() else np.float32)  # torch's double steps for integers
    elif dtype in (np.float16, jnp.bfloat16):
        compute = np.dtype(np.float32)
    else:
        compute = dtype
    return dtype, compute


@_export
def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
             pin_memory: bool = False) -> Tensor:
    """``torch.linspace``: ``steps`` evenly spaced values (``start`` / ``end`` may be traced 0-d tensors)."""
    args = (start, end)
    start, end, steps = _space_args(start, end, steps, "linspace")
    dtype, compute = _space_dtype(dtype, *args, "linspace")
    return finish(_space(start, end, steps, compute).astype(dtype), device, requires_grad)


@_export
def logspace(start, end, steps, base: float = 10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``torch.logspace``: ``base ** linspace(start, end, steps)``."""
    args = (start, end)
    start, end, steps = _space_args(start, end, steps, "logspace")
    dtype, compute = _space_dtype(dtype, *args, "logspace")
    exponents = _space(start, end, steps, compute)
    xp = jnp if isinstance(exponents, jax.Array) else np
    return finish(xp.power(xp.asarray(base, compute), exponents).astype(dtype), device, requires_grad)


# --- matrices and index sets ----------------------------------------------------------------------
@_export
def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
        pin_memory: bool = False) -> Tensor:
    """``torch.eye``: an ``n x m`` (``n x n``) identity."""
    n = _index(n, "n", "eye")
    m = n if m is None else _index(m, "m", "eye")
    for what, v in (("n", n), ("m", m)):
        if v < 0:
            raise RuntimeError(f"{what} must be greater or equal to 0, got {v}")
    dtype = resolve_dtype(dtype, get_default_dtype(), "eye")
    return finish((jnp if tracing() else np).eye(n, m, dtype=dtype), device, requires_grad)


def _tri_indices(name: str, row, col, offset, dtype, device, upper: bool) -> Tensor:
    row, col, offset = (_index(v, w, name) for v, w in ((row, "row"), (col, "col"), (offset, "offset")))
    for what, v in (("row", row), ("col", col)):
        if v < 0:
            raise RuntimeError(f"{what} must be non-negative, got{v}")
    dtype = resolve_dtype(dtype, _promotion.long_dtype(), name)
    if dtype.kind not in "iu":
        raise NotImplementedError(f"\"{name}\" not implemented for '{_dtype_name(dtype)}'")
    # Index sets are static (they depend on ints only): built on the host even when tracing.
    rows, cols = (np.triu_indices if upper else np.tril_indices)(row, offset, col)
    return finish(np.stack([rows, cols]).astype(dtype).reshape(2, -1), device)


@_export
def tril_indices(row, col, offset: int = 0, *, dtype=None, device=None, layout=None) -> Tensor:
    """``torch.tril_indices``: the ``2 x N`` coordinates of the lower triangle (row-major order)."""
    return _tri_indices("tril_indices", row, col, offset, dtype, device, upper=False)


@_export
def triu_indices(row, col, offset: int = 0, *, dtype=None, device=None, layout=None) -> Tensor:
    """``torch.triu_indices``: the ``2 x N`` coordinates of the upper triangle (row-major order)."""
    return _tri_indices("triu_indices", row, col, offset, dtype, device, upper=True)


# --- interchange ------------------------------------------------------------------------------------
@_export
def from_dlpack(ext_tensor, *, device=None, copy: bool | None = None) -> Tensor:
    """A Tensor from an object with ``__dlpack__`` (a torch tensor, NumPy or JAX array) or a DLPack capsule.
    JAX may copy where torch shares memory (JAX arrays are immutable), so later writes to the source are not
    seen here."""
    value = unwrap(ext_tensor)
    if type(value).__name__ == "PyCapsule":
        value = _Capsule(value)
    array = jax.dlpack.from_dlpack(value, copy=copy)
    return finish(array, device)


class _Capsule:
    """A bare DLPack capsule (``torch.to_dlpack``'s result) as an object JAX's ``from_dlpack`` takes."""

    def __init__(self, capsule) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU: a bare capsule does not say where it lives; torch's to_dlpack of a CPU tensor


@_export
def to_dlpack(tensor):
    """A DLPack capsule of the tensor's array (for ``torch.from_dlpack``, NumPy, ...)."""
    return unwrap(tensor_arg(tensor, "to_dlpack", "data")).__dlpack__()


@_export
def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """A 1-D tensor of the ``count`` elements (-1: all) of ``dtype`` in ``buffer`` after ``offset`` bytes. A copy:
    JAX arrays cannot alias host memory, so later writes to ``buffer`` are not seen (torch's tensor shares it)."""
    dtype = np.dtype(as_dtype(dtype))
    size = memoryview(buffer).nbytes
    if size == 0 or count == 0:
        raise ValueError(f"both buffer length ({size}) and count ({count}) must not be 0")
    if not 0 <= offset < size:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length ({size} "
                         f"bytes) minus 1")
    if count < 0 and (size - offset) % dtype.itemsize:
        raise ValueError(f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a multiple of "
                         f"element size ({dtype.itemsize})")
    if count > 0 and count * dtype.itemsize > size - offset:
        raise ValueError(f"requested buffer length ({count} * {dtype.itemsize} bytes) after offset ({offset} bytes) "
                         f"must not be greater than actual buffer length ({size} bytes)")
    check_dtype_supported(dtype, "frombuffer")
    return finish(np.frombuffer(buffer, dtype, count, offset).copy(), None, requires_grad)


@_export
def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                   pin_memory: bool = False) -> Tensor:
    """``torch.empty_permuted``: :func:`empty` of ``size`` (zeros). ``physical_layout`` (a memory order) is checked
    and has no other effect: XLA chooses layouts, and ``stride()`` reports row-major strides."""
    size = size_arg((size,), "empty_permuted")
    if len(size) != len(physical_layout):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the physical_layout; i.e. "
                           f"len(size) = {len(size)} is not equal to len(physical_layout) = {len(physical_layout)}")
    if sorted(physical_layout) != list(builtins.range(len(size))):
        raise RuntimeError(f"physical_layout {list(physical_layout)} is not a permutation of the dimensions")
    return _filled(size, 0, resolve_dtype(dtype, get_default_dtype(), "empty_permuted"), device, requires_grad)

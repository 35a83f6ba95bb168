"""torch's process settings: threads, determinism, matmul precision, the default device, autocast and anomaly
flags, warnings, and the small predicates (``typename``, ``is_storage``, ``is_same_size``, ...).

Where a setting maps onto JAX honestly it is applied there: ``set_float32_matmul_precision`` sets
``jax_default_matmul_precision`` and ``set_default_device`` sets ``jax_default_device``. The others have no
JAX counterpart that can change after start-up (XLA fixes its thread pools and GPU determinism flags when the
backend starts; there is no autograd tape to check for anomalies): they store the value, and the getters
return what the setters set, as torch's do. Each docstring says which kind it is.
"""

from __future__ import annotations

import os
import threading

import jax
import numpy as np

from .. import _warnings
from .._device import as_dtype, device, from_jax_device, set_default_dtype, to_jax_device
from .._tensor import OPS, Tensor, _dtype_name, tensor_arg, unwrap

_state = threading.local()  # torch keeps the autocast, anomaly and inference flags per thread too


def _export(fn):
    OPS[fn.__name__] = fn
    return fn


def _bool_arg(name: str, arg: str, value, position: int = 1) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}(): argument '{arg}' (position {position}) must be bool, not {type(value).__name__}")
    return value


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuntimeError(f"{name} expects an int, but got {type(value).__name__}")
    if value <= 0:
        raise RuntimeError(f"{name} expects a positive integer")
    return value


# --- threads --------------------------------------------------------------------------------------
_threads = {"intra": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1}
_threads["interop"] = _threads["intra"]


@_export
def get_num_threads() -> int:
    """The intra-op thread count last set (initially the CPUs this process may use). Stored only: XLA sizes its
    CPU thread pool when the backend starts (``XLA_FLAGS=--xla_cpu_multi_thread_eigen``, ``taskset``)."""
    return _threads["intra"]


@_export
def set_num_threads(nthreads: int) -> None:
    """Store the intra-op thread count (see :func:`get_num_threads`: XLA's pool is fixed at start-up)."""
    _threads["intra"] = _positive_int("set_num_threads", nthreads)


@_export
def get_num_interop_threads() -> int:
    """The inter-op thread count last set (stored only, as :func:`get_num_threads`)."""
    return _threads["interop"]


@_export
def set_num_interop_threads(nthreads: int) -> None:
    """Store the inter-op thread count (stored only, as :func:`set_num_threads`)."""
    _threads["interop"] = _positive_int("set_num_interop_threads", nthreads)


@_export
def init_num_threads() -> None:
    """torch initialises OpenMP for a new thread here; XLA needs nothing (a no-op)."""


# --- determinism ----------------------------------------------------------------------------------
_deterministic = {"mode": False, "warn_only": False}


@_export
def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Store torch's determinism switch. Stored only: XLA on CPU is deterministic already; on GPU determinism is
    the start-up flag ``XLA_FLAGS=--xla_gpu_deterministic_ops=true``, which cannot change in a running process."""
    _deterministic["mode"] = _bool_arg("_set_deterministic_algorithms", "mode", mode)
    _deterministic["warn_only"] = _bool_arg("_set_deterministic_algorithms", "warn_only", warn_only, 2)


@_export
def are_deterministic_algorithms_enabled() -> bool:
    """What :func:`use_deterministic_algorithms` last set (False initially)."""
    return _deterministic["mode"]


@_export
def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """The ``warn_only`` flag :func:`use_deterministic_algorithms` last set."""
    return _deterministic["warn_only"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


@_export
def set_deterministic_debug_mode(debug_mode: int | str) -> None:
    """0/'default', 1/'warn' or 2/'error': the same switch as :func:`use_deterministic_algorithms` (stored only)."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, int) or isinstance(debug_mode, bool):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


@_export
def get_deterministic_debug_mode() -> int:
    """0 (off), 1 (warn only) or 2 (error), from the stored determinism switch."""
    if not _deterministic["mode"]:
        return 0
    return 1 if _deterministic["warn_only"] else 2


# --- float32 matmul precision ---------------------------------------------------------------------
# torch's names -> jax_default_matmul_precision: full float32, TF32 / bf16x3, one bfloat16 pass.
_PRECISION = {"highest": "highest", "high": "high", "medium": "bfloat16"}
_JAX_DEFAULT_PRECISION = {"cpu": "highest", "tpu": "medium"}


@_export
def set_float32_matmul_precision(precision: str) -> None:
    """Set JAX's default float32 matmul precision: 'highest' (full float32), 'high' (TF32 on GPU, bfloat16x3 on
    TPU) or 'medium' (one bfloat16 pass). Another value warns and changes nothing, as in torch."""
    if precision not in _PRECISION:
        _warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                       "setFloat32MatmulPrecision call has no effect.")
        return
    jax.config.update("jax_default_matmul_precision", _PRECISION[precision])


@_export
def get_float32_matmul_precision() -> str:
    """torch's name of JAX's current float32 matmul precision. Unset, it is what XLA does by default on the
    default backend: full float32 on CPU and pre-Ampere GPUs ('highest'), TF32 on Ampere and later GPUs ('high'),
    one bfloat16 pass on TPU ('medium'). torch's own default is 'highest' everywhere."""
    current = jax.config.jax_default_matmul_precision
    for name, jax_name in _PRECISION.items():
        if current == jax_name or (name == "highest" and current == "float32"):
            return name
    backend = jax.default_backend()
    if backend == "gpu":  # TF32 exists from compute capability 8.0 (Ampere) on
        capability = getattr(jax.devices()[0], "compute_capability", "8.0")
        return "high" if float(capability) >= 8 else "highest"
    return _JAX_DEFAULT_PRECISION.get(backend, "highest")


# --- default device and tensor type ---------------------------------------------------------------
_default_device: list = [None]


@_export
def set_default_device(device) -> None:
    """Create tensors on ``device`` by default (``None`` restores JAX's default): sets ``jax_default_device``.
    A device JAX does not see raises here (torch raises at the first tensor created on it)."""
    if device is None:
        jax.config.update("jax_default_device", None)
        _default_device[0] = None
        return
    jax.config.update("jax_default_device", to_jax_device(device))
    _default_device[0] = device if not isinstance(device, jax.Device) else from_jax_device(device)


@_export
def get_default_device() -> device:
    """Where new tensors go: the device set with :func:`set_default_device`, else JAX's default device (the
    first accelerator when there is one, where torch would say ``cpu``)."""
    chosen = _default_device[0]
    jax_device = to_jax_device(chosen) if chosen is not None else jax.devices()[0]
    return device("cpu") if jax_device.platform == "cpu" else from_jax_device(jax_device)


_TENSOR_TYPES = {f"{_dtype_name(np.dtype(d))}Tensor": np.dtype(d) for d in (np.float16, np.float32, np.float64)}
_TENSOR_TYPES["BFloat16Tensor"] = as_dtype("bfloat16")


@_export
def set_default_tensor_type(t) -> None:
    """torch's deprecated spelling of :func:`set_default_dtype` (and device, for ``cuda`` types), by name:
    ``'torch.FloatTensor'``, ``'torch.cuda.HalfTensor'``, ..."""
    _warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                   "torch.set_default_dtype() and torch.set_default_device() as alternatives.")
    name = t if isinstance(t, str) else getattr(t, "__name__", type(t).__name__)
    parts = name.split(".")
    if parts[-1] not in _TENSOR_TYPES:
        raise TypeError(f"invalid type: '{name}'")
    set_default_dtype(_TENSOR_TYPES[parts[-1]])
    set_default_device("cuda" if "cuda" in parts else None)


@_export
def is_vulkan_available() -> bool:
    """False: there is no Vulkan backend here."""
    return False


@_export
def set_flush_denormal(mode: bool) -> bool:
    """torch's answer for a CPU that cannot flush denormals: False, nothing changed (XLA decides per backend)."""
    return False


# --- autocast -------------------------------------------------------------------------------------
_AUTOCAST_DEVICES = ("cpu", "cuda", "ipu", "xpu", "xla", "hpu", "mps", "mtia", "maia", "privateuseone")
_AUTOCAST_DTYPES = {"cpu": as_dtype("bfloat16"), "xla": as_dtype("bfloat16"), "mps": as_dtype("float16")}
_autocast: dict = {}


def _autocast_device(device_type) -> str:
    device_type = str(device_type)
    if device_type not in _AUTOCAST_DEVICES:
        raise RuntimeError(f"unsupported autocast device_type '{device_type}'")
    return device_type


def _autocast_state() -> dict:
    state = getattr(_state, "autocast", None)
    if state is None:
        state = _state.autocast = {"enabled": {}, "dtype": {}, "cache": True}
    return state


@_export
def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether autocast is on for ``device_type``: always False, as torchjax does not autocast (see
    :func:`set_autocast_enabled`)."""
    return _autocast_state()["enabled"].get(_autocast_device(device_type), False)


@_export
def set_autocast_enabled(device_type, enabled=None) -> None:
    """``set_autocast_enabled(device_type, enabled)`` (or torch's old ``set_autocast_enabled(enabled)`` for cuda).
    torchjax does not cast ops to lower precision automatically, so enabling raises NotImplementedError rather
    than run in float32 silently (cast the model and inputs with ``.to(torchjax.bfloat16)`` instead); disabling
    is accepted."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    device_type = _autocast_device(device_type)
    _bool_arg("set_autocast_enabled", "enabled", enabled, 2)
    if enabled:
        raise NotImplementedError("torchjax does not implement autocast: cast the model and its inputs with "
                                  ".to(torchjax.bfloat16) (or float16) instead")
    _autocast_state()["enabled"][device_type] = False


@_export
def get_autocast_dtype(device_type: str) -> np.dtype:
    """The dtype autocast would use on ``device_type``: torch's defaults (bfloat16 on cpu and xla, float16
    elsewhere) or what :func:`set_autocast_dtype` stored."""
    device_type = _autocast_device(device_type)
    default = _AUTOCAST_DTYPES.get(device_type, as_dtype("float16"))
    return _autocast_state()["dtype"].get(device_type, default)


@_export
def set_autocast_dtype(device_type: str, dtype) -> None:
    """Store the autocast dtype of ``device_type`` (stored only: torchjax does not autocast)."""
    _autocast_state()["dtype"][_autocast_device(device_type)] = as_dtype(dtype)


def _device_autocast(device_type: str, spelling: str, kinds=("is_enabled", "set_enabled", "get_dtype", "set_dtype")):
    """torch's deprecated per-device spellings: ``is_autocast_cpu_enabled()``, ``get_autocast_gpu_dtype()``, ...
    (each warns, as torch's do, and calls the device-generic function)."""
    calls = {"is_enabled": (lambda: is_autocast_enabled(device_type), "()", "is_autocast_enabled('{}')"),
             "set_enabled": (lambda enabled: set_autocast_enabled(device_type, enabled), "(enabled)",
                             "set_autocast_enabled('{}', enabled)"),
             "get_dtype": (lambda: get_autocast_dtype(device_type), "()", "get_autocast_dtype('{}')"),
             "set_dtype": (lambda dtype: set_autocast_dtype(device_type, dtype), "(dtype)",
                           "set_autocast_dtype('{}', dtype)")}
    for kind in kinds:
        verb, what = kind.split("_")
        name = f"{verb}_autocast_{spelling}_{what}"
        call, arguments, modern = calls[kind]
        message = (f"torch.{name}{arguments} is deprecated. Please use torch.{modern.format(device_type)} "
                   "instead.")

        def fn(*args, call=call, message=message):
            _warnings.warn(message, DeprecationWarning)
            return call(*args)

        fn.__name__ = fn.__qualname__ = name
        fn.__doc__ = f"Deprecated in torch: ``torch.{modern.format(device_type)}``."
        OPS[name] = fn


_device_autocast("cpu", "cpu")
_device_autocast("cuda", "gpu", kinds=("get_dtype", "set_dtype"))  # torch has no is/set_autocast_gpu_enabled
_device_autocast("ipu", "ipu")
_device_autocast("xla", "xla")


@_export
def is_autocast_cache_enabled() -> bool:
    """The autocast weight-cache flag (True initially; stored only)."""
    return _autocast_state()["cache"]


@_export
def set_autocast_cache_enabled(enabled: bool) -> None:
    """Store the autocast weight-cache flag (stored only: torchjax keeps no cast cache)."""
    _autocast_state()["cache"] = _bool_arg("set_autocast_cache_enabled", "enabled", enabled)


@_export
def clear_autocast_cache() -> None:
    """Nothing to clear: torchjax keeps no autocast cache."""


# --- anomaly mode, inference mode, warnings -------------------------------------------------------
@_export
def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Store torch's anomaly-mode flags (stored only: torchjax has no autograd tape to check; JAX's closest tool is
    ``jax.config.update('jax_debug_nans', True)``, which also checks forward computations)."""
    _state.anomaly = (_bool_arg("set_anomaly_enabled", "enabled", enabled), bool(check_nan))


@_export
def is_anomaly_enabled() -> bool:
    """What :func:`set_anomaly_enabled` last set (False initially)."""
    return getattr(_state, "anomaly", (False, True))[0]


@_export
def is_anomaly_check_nan_enabled() -> bool:
    """The ``check_nan`` flag :func:`set_anomaly_enabled` last set (True initially)."""
    return getattr(_state, "anomaly", (False, True))[1]


@_export
def is_inference_mode_enabled() -> bool:
    """Whether the innermost ``inference_mode`` region is on."""
    from ..autograd import is_inference_mode_enabled

    return is_inference_mode_enabled()


_warn_always = [False]


@_export
def set_warn_always(b: bool) -> None:
    """Store torch's warn-always flag (stored only: torchjax's warnings go through Python's ``warnings`` filters,
    which decide how often each shows)."""
    _warn_always[0] = _bool_arg("set_warn_always", "b", b)


@_export
def is_warn_always_enabled() -> bool:
    """What :func:`set_warn_always` last set (False initially)."""
    return _warn_always[0]


# --- predicates -----------------------------------------------------------------------------------
@_export
def typename(obj) -> str:
    """``torch.typename``: ``'torch.FloatTensor'`` for a tensor (torch's legacy type names, as torch spells them),
    else the object's qualified class name."""
    if isinstance(obj, Tensor):
        return f"torch.{_dtype_name(unwrap(obj).dtype)}Tensor"
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", None)
    if qualname is None:
        module, qualname = type(obj).__module__, type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


@_export
def is_storage(obj) -> bool:
    """False: torchjax has no storage objects (a Tensor holds a ``jax.Array``)."""
    return False


@_export
def is_same_size(input, other) -> bool:
    """Whether two tensors have the same shape."""
    input, other = tensor_arg(input, "is_same_size"), tensor_arg(other, "is_same_size", "other", 2)
    return tuple(unwrap(input).shape) == tuple(unwrap(other).shape)


@_export
def is_signed(input) -> bool:
    """Whether the tensor's dtype is signed (every dtype but bool and the unsigned integers)."""
    return tensor_arg(input, "is_signed").is_signed()


@_export
def get_device(input) -> int:
    """The tensor's device index, -1 for the CPU."""
    return tensor_arg(input, "get_device").get_device()


@_export
def is_distributed(input) -> bool:
    """False: a torchjax tensor is never one of torch's legacy distributed tensors (a sharded ``jax.Array`` is a
    plain tensor here)."""
    tensor_arg(input, "is_distributed")
    return False


Tensor.is_same_size = is_same_size
Tensor.is_distributed = is_distributed

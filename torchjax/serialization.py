"""Checkpoints: :func:`save` and :func:`load`, in safetensors or PyTorch's zip format, without torch.

Formats
-------
``"safetensors"``
    A standard safetensors file (https://github.com/huggingface/safetensors): every array is one
    tensor entry, so any safetensors reader can open it. The arrays of a flat ``{str: array}`` dict
    (a ``state_dict``) are stored under the dict's own keys, so ``safetensors.torch.load_file`` gives
    exactly that dict. Everything around the arrays (nesting, int keys, tuples, scalars, strings,
    ``OrderedDict`` and its ``_metadata``) is stored as JSON in the header metadata under
    ``"torchjax.tree"``; arrays inside nested structures get dotted path keys
    (``"optimizer.state.0.exp_avg"``). The metadata also holds ``"format": "pt"``: the tensors use
    torch's layout, and Hugging Face loaders look for that entry. Dtypes are kept exactly.
``"torch"``
    PyTorch's zip checkpoint, as ``torch.save`` writes it since torch 1.6: ``<archive>/data.pkl``
    (a protocol-2 pickle in which tensors are ``torch._utils._rebuild_tensor_v2`` calls on
    persistent storage ids), one ``<archive>/data/<key>`` record of raw little-endian bytes per
    storage, and the small records torch 2.x writes (``version``, ``byteorder``,
    ``.format_version``, ``.storage_alignment``, ``.data/serialization_id``); records are stored
    uncompressed and 64-byte aligned, as torch does, so ``torch.load(..., mmap=True)`` works too.
    ``torch.load(path, weights_only=True)`` reads the files written here. Only the zip format is
    read; the legacy (torch < 1.6 or ``_use_new_zipfile_serialization=False``) format is refused
    with a clear error.

Choosing the format: ``save`` uses ``format=`` when given, else ``"torch"`` for a path ending in
``.pt``, ``.pth``, ``.bin`` or ``.ckpt`` and ``"safetensors"`` for any other path and for file
objects. ``load`` uses ``format=`` when given (and refuses a file of the other format), else
recognises the format from the file's first bytes.

What can be saved: dicts (including ``OrderedDict`` and its attributes such as ``_metadata``),
lists, tuples, sets, arrays (``jax.Array``, NumPy arrays and scalars, ``torchjax.nn.Parameter``),
``int``, ``float``, ``bool``, ``complex``, ``str``, ``bytes`` and ``None``. Anything else raises
``TypeError`` before a byte is written. Arrays are written C-contiguous (a view's stride and offset
are not preserved, its values are).

Dtypes: ``load`` returns every array as a ``jax.Array`` (``Parameter`` objects saved as such come
back as ``torchjax.nn.Parameter``). Torch checkpoints hold int64 for integer tensors (indices,
``num_batches_tracked``, ...): unless ``jax_enable_x64`` is on, JAX turns int64/uint64 into
int32/uint32 and float64/complex128 into float32/complex64; a 64-bit integer value that does not
fit in 32 bits raises :class:`CheckpointError` instead of wrapping silently. Conversely the torch
writer stores int32 ``jax.Array`` values as int64 while ``jax_enable_x64`` is off (int32 is then
torchjax's stand-in for torch's ``long``), so torch reads the dtype it expects; NumPy arrays keep
their dtype. Typed PRNG keys (``jax.random.key``) are stored as their key data: safetensors
records the implementation and gives the key back; the torch format gives the raw ``uint32`` data.

Safety (how this differs from ``torch.load``)
---------------------------------------------
- Nothing in a checkpoint is executed and torch is never imported. The pickle in a torch
  checkpoint is read by a small restricted interpreter (the spirit of torch's
  ``_weights_only_unpickler``): only the opcodes a checkpoint needs, and only an allow-list of
  globals, each of which resolves to a torchjax reimplementation (``_rebuild_tensor_v2`` and
  friends, storage types, dtypes, ``torch.Size``, ``torch.device``, ``collections.OrderedDict``,
  ``set``/``frozenset``/``complex``/``slice``/``bytearray``, latin-1 ``_codecs.encode``). Any other
  global (``os.system``, ``builtins.eval``, a user class, ...) raises
  :class:`UnsafeCheckpointError` naming it, before anything is called.
- ``weights_only=False`` additionally lets non-torch globals be imported and called, as
  ``pickle`` would (that executes code from the file: only for files you trust). Torch objects
  other than tensors, parameters and state containers (whole ``nn.Module`` pickles, sparse or
  quantized tensors) cannot be rebuilt without torch and are refused either way. There is no
  ``add_safe_globals``.
- Every storage access is bounds-checked (size, stride, offset against the record's length), every
  record's CRC-32 is verified, compressed records and records claiming more bytes than the file
  holds are refused, and the memory a file may expand into through overlapping views (stride-0
  expansions) is capped, so a crafted file cannot read outside its data or allocate without bound.
- Saved storage locations (``'cuda:0'``) are not restored: arrays go to JAX's default device, or to
  ``map_location`` when that names a device.

Errors
------
Every problem with the *content* of a file (not a checkpoint, truncated, corrupted, wrong format,
unsupported feature, refused global) raises :class:`CheckpointError`, a ``RuntimeError``; a refused
global or opcode raises its subclass :class:`UnsafeCheckpointError`, which is also a
``pickle.UnpicklingError`` as in torch. A missing file raises ``FileNotFoundError`` as usual.

Writes to a path are atomic: the data goes to a temporary file in the same directory, which is
flushed and fsynced, then renamed onto the target (and the directory fsynced). If anything fails,
the temporary file is removed and a previous checkpoint at that path is left untouched.
"""

from __future__ import annotations

import _compat_pickle
import base64
import hashlib
import importlib
import io
import json
import math
import os
import pickle
import secrets
import stat
import struct
import sys
import zipfile
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import IO, Any

import jax
import jax.numpy as jnp
import numpy as np

from ._device import device as _device_cls
from ._device import to_jax_device
from ._tensor import Tensor, unwrap

__all__ = ["save", "load", "CheckpointError", "UnsafeCheckpointError"]

FileLike = str | os.PathLike | IO[bytes]

_TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
_FORMATS = ("safetensors", "torch")
_ALIGNMENT = 64
_ARCHIVE_NAME = "archive"
_TREE_KEY = "torchjax.tree"
_TREE_VERSION = 1
# A crafted torch checkpoint can describe many overlapping views of one small storage; the
# tensors it may expand into are capped at twice its storage bytes plus this allowance.
_EXPANSION_ALLOWANCE = 1 << 30
# torch < 1.6 files start with a protocol-2 pickle of this magic number.
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")


class CheckpointError(RuntimeError):
    """A file could not be read as a checkpoint: not one, truncated, corrupted, of the other
    format, or using something torchjax does not support."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A torch checkpoint's pickle asks for a global or an operation outside the allow-list.

    Nothing was called. Also a ``pickle.UnpicklingError``, like torch's ``weights_only`` refusal.
    """


# --- dtypes ------------------------------------------------------------------------------------

class _DType:
    __slots__ = ("np", "torch", "storage", "safetensors")

    def __init__(self, np_dtype, torch_name: str, storage: str | None, safetensors: str | None) -> None:
        self.np = np.dtype(np_dtype)
        self.torch = torch_name
        self.storage = storage  # legacy typed storage class (torch writes _rebuild_tensor_v2) or None (v3)
        self.safetensors = safetensors


_DTYPE_TABLE = [
    _DType(np.float64, "float64", "DoubleStorage", "F64"),
    _DType(np.float32, "float32", "FloatStorage", "F32"),
    _DType(np.float16, "float16", "HalfStorage", "F16"),
    _DType(jnp.bfloat16, "bfloat16", "BFloat16Storage", "BF16"),
    _DType(np.complex128, "complex128", "ComplexDoubleStorage", None),
    _DType(np.complex64, "complex64", "ComplexFloatStorage", "C64"),
    _DType(np.int64, "int64", "LongStorage", "I64"),
    _DType(np.int32, "int32", "IntStorage", "I32"),
    _DType(np.int16, "int16", "ShortStorage", "I16"),
    _DType(np.int8, "int8", "CharStorage", "I8"),
    _DType(np.uint8, "uint8", "ByteStorage", "U8"),
    _DType(np.bool_, "bool", "BoolStorage", "BOOL"),
    _DType(np.uint16, "uint16", None, "U16"),
    _DType(np.uint32, "uint32", None, "U32"),
    _DType(np.uint64, "uint64", None, "U64"),
]
for _name, _st in (("float8_e4m3fn", "F8_E4M3"), ("float8_e5m2", "F8_E5M2"), ("float8_e4m3fnuz", "F8_E4M3FNUZ"),
                   ("float8_e5m2fnuz", "F8_E5M2FNUZ"), ("float8_e8m0fnu", "F8_E8M0")):
    if hasattr(jnp, _name):
        _DTYPE_TABLE.append(_DType(getattr(jnp, _name), _name, None, _st))
del _name, _st

_BY_NP = {d.np: d for d in _DTYPE_TABLE}
_BY_TORCH_NAME = {d.torch: d for d in _DTYPE_TABLE}
_BY_STORAGE = {d.storage: d for d in _DTYPE_TABLE if d.storage}
_BY_SAFETENSORS = {d.safetensors: d for d in _DTYPE_TABLE if d.safetensors}
_TORCH_DTYPE_ALIASES = {"half": "float16", "float": "float32", "double": "float64", "long": "int64", "int": "int32",
                        "short": "int16", "cfloat": "complex64", "cdouble": "complex128"}
# torch dtypes with no JAX/NumPy equivalent: named in the error instead of "refused global".
_UNSUPPORTED_TORCH_DTYPES = frozenset(
    ["complex32", "chalf", "qint8", "qint32", "quint8", "quint4x2", "quint2x4", "bits1x8", "bits2x4", "bits4x2",
     "bits8", "bits16", "float4_e2m1fn_x2"] + [f"uint{i}" for i in range(1, 8)] + [f"int{i}" for i in range(1, 8)]
)
_UNSUPPORTED_TORCH_GLOBALS = {
    ("torch._utils", "_rebuild_qtensor"): "quantized tensors",
    ("torch._utils", "_rebuild_sparse_tensor"): "sparse tensors",
    ("torch.serialization", "_get_layout"): "sparse tensors",
    ("torch._utils", "_rebuild_nested_tensor"): "nested tensors",
    ("torch._utils", "_rebuild_meta_tensor_no_storage"): "meta tensors",
    ("torch._utils", "_rebuild_wrapper_subclass"): "tensor subclasses",
    ("torch._utils", "_rebuild_device_tensor_from_numpy"): "tensors saved from XLA/MTIA devices",
    ("torch._utils", "_rebuild_device_tensor_from_cpu_tensor"): "tensors saved from XLA/MTIA devices",
}


def _x64() -> bool:
    return bool(jax.config.jax_enable_x64)


def _parameter_cls():
    # Imported lazily: torchjax/__init__ imports this module, and torchjax.nn imports torchjax.
    from .nn.parameter import Parameter

    return Parameter


def _is_prng_key(array) -> bool:
    return isinstance(array, jax.Array) and jnp.issubdtype(array.dtype, jax.dtypes.prng_key)


def _is_array(obj) -> bool:
    return isinstance(obj, jax.Array | np.ndarray | np.generic)


def _check_saveable_array(array) -> None:
    if isinstance(array, jax.core.Tracer):
        raise TypeError("torchjax.save: cannot save a traced array (inside jit/grad/vmap); save concrete values")


def _host_array(array, dtype: np.dtype | None = None) -> np.ndarray:
    """The array's values as a C-contiguous, little-endian NumPy array (``dtype``: cast first)."""
    if _is_prng_key(array):
        array = jax.random.key_data(array)
    host = np.asarray(array)
    if dtype is not None and host.dtype != dtype:
        host = host.astype(dtype)
    if not host.flags.c_contiguous:
        host = host.copy(order="C")  # (np.ascontiguousarray would turn a 0-d array into a 1-d one)
    if host.dtype.byteorder == ">" or (host.dtype.byteorder == "=" and sys.byteorder == "big"):
        host = host.astype(host.dtype.newbyteorder("<"))
    return host


def _array_dtype(array) -> np.dtype:
    if _is_prng_key(array):
        return np.dtype(np.uint32)
    dtype = np.dtype(array.dtype)
    return dtype.newbyteorder("=") if dtype.byteorder in "<>" else dtype


def _dtype_entry(dtype: np.dtype, fmt: str) -> _DType:
    entry = _BY_NP.get(dtype)
    if entry is None or (fmt == "safetensors" and entry.safetensors is None):
        hint = " (use format='torch')" if entry is not None else ""
        raise TypeError(f"torchjax.save: arrays of dtype {dtype} cannot be stored in the {fmt} format{hint}")
    return entry


def _c_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


_SAVE_TYPES_MSG = ("dict, OrderedDict, list, tuple, set, jax/NumPy arrays, torchjax.nn.Parameter, int, float, bool, "
                   "complex, str, bytes and None")


def _unsupported(obj) -> TypeError:
    return TypeError(f"torchjax.save: cannot save an object of type {type(obj).__module__}.{type(obj).__qualname__}; "
                     f"checkpoints hold {_SAVE_TYPES_MSG}")


# --- placing loaded arrays -------------------------------------------------------------------

def _resolve_map_location(map_location) -> jax.Device | None:
    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        # torch's callable/dict forms remap saved storage locations, which torchjax does not restore.
        return None
    if isinstance(map_location, jax.Device):
        return map_location
    if isinstance(map_location, str | int | _device_cls):
        return to_jax_device(map_location)
    raise TypeError(f"map_location must be None, a device string, torchjax.device or jax.Device, "
                    f"got {type(map_location).__name__}")


def _to_jax(array: np.ndarray, device: jax.Device | None) -> jax.Array:
    if not _x64() and array.size and array.dtype in (np.dtype(np.int64), np.dtype(np.uint64)):
        info = np.iinfo(np.int32 if array.dtype == np.int64 else np.uint32)
        lo, hi = int(array.min()), int(array.max())
        if lo < info.min or hi > info.max:
            raise CheckpointError(
                f"an {array.dtype} array of shape {tuple(array.shape)} holds values ({lo}..{hi}) that do not fit in "
                f"32 bits, and JAX's 64-bit mode is off. Enable it before loading: "
                f"jax.config.update('jax_enable_x64', True) or JAX_ENABLE_X64=1"
            )
    if device is not None:
        return jax.device_put(array, device)
    return jnp.asarray(array)


# --- the torch zip format: writer --------------------------------------------------------------

class _TorchGlobal:
    """Stands for a global of torch (or another module) that is written by name, never imported."""

    __slots__ = ("module", "name")
    _cache: dict[tuple[str, str], _TorchGlobal] = {}

    def __new__(cls, module: str, name: str) -> _TorchGlobal:
        key = (module, name)
        self = cls._cache.get(key)
        if self is None:
            self = super().__new__(cls)
            self.module, self.name = module, name
            cls._cache[key] = self
        return self

    def __repr__(self) -> str:
        return f"<global {self.module}.{self.name}>"

    def __call__(self, *args, **kwargs):  # pickle's save_reduce insists on a callable
        raise TypeError(f"{self!r} is only a name written into a checkpoint")


class _StorageRef:
    __slots__ = ("pid",)

    def __init__(self, pid: tuple) -> None:
        self.pid = pid


_PICKLE_PLAIN = (type(None), bool, int, float, str, tuple, list, dict, OrderedDict, _TorchGlobal)


class _TorchPickler(pickle._Pickler):
    """Protocol-2 pickler producing what ``torch.save`` writes; torch globals are written by name.

    Arrays become ``_rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`` (v3 with a
    dtype for the dtypes torch keeps in untyped storages), with the storage as a persistent id
    ``('storage', torch.<Type>Storage, key, 'cpu', numel)``. Arrays that are the same object share a
    storage record, as tied weights do in torch.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file) -> None:
        super().__init__(file, protocol=2)
        self.storages: list[tuple[str, Any, np.dtype]] = []  # (key, array, dtype to write)
        self._keys: dict[int, str] = {}
        self._x64 = _x64()

    def persistent_id(self, obj):
        return obj.pid if type(obj) is _StorageRef else None

    def _save_torch_global(self, obj: _TorchGlobal) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[_TorchGlobal] = _save_torch_global

    def reducer_override(self, obj):
        kind = type(obj)
        if kind in _PICKLE_PLAIN or obj is OrderedDict:
            return NotImplemented
        if kind is set:
            return _TorchGlobal("__builtin__", "set"), (list(obj),)
        if kind is bytes:
            return _TorchGlobal("_codecs", "encode"), (obj.decode("latin1"), "latin1")
        if kind is complex:
            return _TorchGlobal("__builtin__", "complex"), (obj.real, obj.imag)
        Parameter = _parameter_cls()
        if isinstance(obj, Parameter):
            if not _is_array(obj._data):
                raise TypeError("torchjax.save: cannot save an uninitialized Parameter; run a forward pass first")
            hooks = OrderedDict()
            return _TorchGlobal("torch._utils", "_rebuild_parameter"), (obj._data, bool(obj.requires_grad), hooks)
        if isinstance(obj, Tensor):
            obj = unwrap(obj)
        if _is_array(obj):
            return self._reduce_array(obj)
        raise _unsupported(obj)

    def _reduce_array(self, array):
        _check_saveable_array(array)
        dtype = _array_dtype(array)
        if dtype == np.int32 and isinstance(array, jax.Array) and not self._x64:
            dtype = np.dtype(np.int64)  # int32 is torchjax's stand-in for torch's long
        entry = _dtype_entry(dtype, "torch")
        key = self._keys.get(id(array))
        if key is None:
            key = self._keys[id(array)] = str(len(self._keys))
            self.storages.append((key, array, entry.np))
        shape = tuple(int(s) for s in array.shape)
        numel = math.prod(shape)
        hooks = OrderedDict()
        if entry.storage is not None:
            pid = ("storage", _TorchGlobal("torch", entry.storage), key, "cpu", numel)
            return (_TorchGlobal("torch._utils", "_rebuild_tensor_v2"),
                    (_StorageRef(pid), 0, shape, _c_strides(shape), False, hooks))
        pid = ("storage", _TorchGlobal("torch.storage", "UntypedStorage"), key, "cpu", numel * entry.np.itemsize)
        return (_TorchGlobal("torch._utils", "_rebuild_tensor_v3"),
                (_StorageRef(pid), 0, shape, _c_strides(shape), False, hooks, _TorchGlobal("torch", entry.torch)))


_ZIP64_LIMIT = 0xFFFFFFFF  # sizes and offsets from here on need zip64 fields (module constants: tests lower them)
_ZIP64_COUNT_LIMIT = 0xFFFF


class _ZipWriter:
    """Writes the zip layout of torch's writer (miniz), stream-only (no seeking).

    Each record is stored uncompressed, its data starting at a multiple of 64 bytes thanks to an
    ``"FB"`` padding extra field, and followed by a data descriptor unless it is empty; zip64 fields
    appear exactly where miniz puts them. torch's optional storage-offset calculation
    (``torch.utils.serialization.config.load.calculate_storage_offsets``) relies on this layout.
    Offsets are relative to where the archive starts in the file.
    """

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self._pos = 0
        self._entries: list[tuple[bytes, int, int, int, int]] = []  # name, offset, size, crc, flags

    def _write(self, data) -> None:
        view = memoryview(data).cast("B")
        self._pos += len(view)
        while view:
            written = self._fh.write(view)
            if written is None or written >= len(view):
                break
            view = view[written:]  # a raw stream may write part of the buffer

    def add(self, name: str, payload) -> int:
        """Append one record; returns its CRC-32."""
        data = payload if isinstance(payload, bytes) else memoryview(payload).cast("B")
        size, offset, crc = len(data), self._pos, zlib.crc32(data)
        name_bytes = name.encode()
        fields = struct.pack("<QQ", size, size) if size >= _ZIP64_LIMIT else b""
        fields += struct.pack("<Q", offset) if offset >= _ZIP64_LIMIT else b""
        extra = struct.pack("<HH", 1, len(fields)) + fields if fields else b""
        pad = -(offset + 30 + len(name_bytes) + len(extra) + 4) % _ALIGNMENT
        extra += b"FB" + struct.pack("<H", pad) + b"Z" * pad
        flags = 0x0800 | (0x0008 if size else 0)  # UTF-8 names; sizes in a data descriptor
        version = 45 if fields else 20
        self._write(struct.pack("<IHHHHHIIIHH", 0x04034B50, version, flags, 0, 0, 0, 0, 0, 0, len(name_bytes),
                                len(extra)) + name_bytes + extra)
        self._write(data)
        if size:
            if size >= _ZIP64_LIMIT or offset >= _ZIP64_LIMIT:
                self._write(struct.pack("<IIQQ", 0x08074B50, crc, size, size))
            else:
                self._write(struct.pack("<IIII", 0x08074B50, crc, size, size))
        self._entries.append((name_bytes, offset, size, crc, flags))
        return crc

    def close(self) -> None:
        """Write the central directory and end records."""
        cd_offset = self._pos
        directory = bytearray()
        for name_bytes, offset, size, crc, flags in self._entries:
            fields = struct.pack("<QQ", size, size) if size >= _ZIP64_LIMIT else b""
            fields += struct.pack("<Q", offset) if offset >= _ZIP64_LIMIT else b""
            extra = struct.pack("<HH", 1, len(fields)) + fields if fields else b""
            size32 = 0xFFFFFFFF if size >= _ZIP64_LIMIT else size
            offset32 = 0xFFFFFFFF if offset >= _ZIP64_LIMIT else offset
            version = 45 if fields else 20
            directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, version, version, flags, 0, 0, 0, crc, size32,
                                     size32, len(name_bytes), len(extra), 0, 0, 0, 0, offset32)
            directory += name_bytes + extra
        self._write(directory)
        count, cd_size = len(self._entries), len(directory)
        big_count, big_size, big_offset = (count >= _ZIP64_COUNT_LIMIT, cd_size >= _ZIP64_LIMIT,
                                           cd_offset >= _ZIP64_LIMIT)
        if big_count or big_size or big_offset:
            end64 = self._pos
            self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset))
            self._write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF if big_count else count,
                                0xFFFF if big_count else count, 0xFFFFFFFF if big_size else cd_size,
                                0xFFFFFFFF if big_offset else cd_offset, 0))
        if hasattr(self._fh, "flush"):
            self._fh.flush()


def _write_record(writer: _ZipWriter, name: str, payload) -> int:
    return writer.add(name, payload)


def _storage_payload(array, dtype: np.dtype) -> np.ndarray:
    host = _host_array(array, dtype)
    return host.reshape(-1).view(np.uint8)


def _write_torch(pickled: bytes, storages, fh: IO[bytes]) -> None:
    digest = hashlib.sha1(pickled)
    writer = _ZipWriter(fh)
    prefix = _ARCHIVE_NAME + "/"
    _write_record(writer, prefix + "data.pkl", pickled)
    _write_record(writer, prefix + ".format_version", b"1")
    _write_record(writer, prefix + ".storage_alignment", str(_ALIGNMENT).encode())
    _write_record(writer, prefix + "byteorder", b"little")
    for key, array, dtype in storages:
        crc = _write_record(writer, f"{prefix}data/{key}", _storage_payload(array, dtype))
        digest.update(struct.pack("<I", crc))
    _write_record(writer, prefix + "version", b"3\n")
    # torch writes 40 decimal digits here; ours are derived from the content (reproducible files).
    serialization_id = str(int(digest.hexdigest(), 16) % 10**40).zfill(40)
    _write_record(writer, prefix + ".data/serialization_id", serialization_id.encode())
    writer.close()


def _prepare_torch(obj) -> tuple[bytes, list]:
    buffer = io.BytesIO()
    pickler = _TorchPickler(buffer)
    pickler.dump(obj)
    return buffer.getvalue(), pickler.storages


# --- the torch zip format: restricted reader ---------------------------------------------------

# Opcode numbers (ints) of the pickle opcodes the reader interprets.
(
    _PROTO, _FRAME, _STOP, _MARK, _POP, _POP_MARK, _DUP, _NONE, _NEWTRUE, _NEWFALSE, _BININT, _BININT1, _BININT2,
    _LONG1, _LONG4, _BINFLOAT, _BINUNICODE, _SHORT_BINUNICODE, _BINUNICODE8, _BINSTRING, _SHORT_BINSTRING, _BINBYTES,
    _SHORT_BINBYTES, _BINBYTES8, _BYTEARRAY8, _EMPTY_TUPLE, _TUPLE, _TUPLE1, _TUPLE2, _TUPLE3, _EMPTY_LIST, _LIST,
    _APPEND, _APPENDS, _EMPTY_DICT, _DICT, _SETITEM, _SETITEMS, _EMPTY_SET, _ADDITEMS, _FROZENSET, _GLOBAL,
    _STACK_GLOBAL, _REDUCE, _NEWOBJ, _BUILD, _BINPERSID, _BINGET, _LONG_BINGET, _BINPUT, _LONG_BINPUT, _MEMOIZE,
) = (
    getattr(pickle, _n)[0] for _n in (
        "PROTO", "FRAME", "STOP", "MARK", "POP", "POP_MARK", "DUP", "NONE", "NEWTRUE", "NEWFALSE", "BININT",
        "BININT1", "BININT2", "LONG1", "LONG4", "BINFLOAT", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
        "BINSTRING", "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "EMPTY_TUPLE",
        "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_LIST", "LIST", "APPEND", "APPENDS", "EMPTY_DICT", "DICT",
        "SETITEM", "SETITEMS", "EMPTY_SET", "ADDITEMS", "FROZENSET", "GLOBAL", "STACK_GLOBAL", "REDUCE", "NEWOBJ",
        "BUILD", "BINPERSID", "BINGET", "LONG_BINGET", "BINPUT", "LONG_BINPUT", "MEMOIZE",
    )
)
# Opcodes that build objects from globals by other routes than REDUCE/NEWOBJ: refused.
_CALLING_OPS = {getattr(pickle, _n)[0]: _n for _n in ("INST", "OBJ", "EXT1", "EXT2", "EXT4", "NEWOBJ_EX")}
_TEXT_ENCODINGS = frozenset(["latin1", "latin-1", "iso-8859-1", "iso8859-1", "utf-8", "utf8", "ascii"])


class _Marker:
    """A torch global that is a type rather than a function (torch.Tensor, nn.Parameter)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<torch global {self.name} (torchjax stand-in)>"


class _StorageType:
    __slots__ = ("dtype", "untyped", "name")

    def __init__(self, dtype: np.dtype, untyped: bool, name: str) -> None:
        self.dtype, self.untyped, self.name = dtype, untyped, name

    def __repr__(self) -> str:
        return f"<torch storage type {self.name} (torchjax stand-in)>"


_TORCH_TENSOR = _Marker("torch.Tensor")
_TORCH_PARAMETER = _Marker("torch.nn.parameter.Parameter")


class _Storage:
    __slots__ = ("key", "raw", "dtype", "untyped", "swap", "_views")

    def __init__(self, key: str, raw: bytes, dtype: np.dtype, untyped: bool, swap: bool) -> None:
        self.key, self.raw, self.dtype, self.untyped, self.swap = key, raw, dtype, untyped, swap
        self._views: dict[np.dtype, np.ndarray] = {}

    def elements(self, dtype: np.dtype) -> np.ndarray:
        view = self._views.get(dtype)
        if view is None:
            view = np.frombuffer(self.raw, dtype=dtype, count=len(self.raw) // dtype.itemsize)
            if self.swap and dtype.itemsize > 1:
                view = view.byteswap()
            self._views[dtype] = view
        return view


def _safe_encode(text, encoding="utf-8", errors="strict"):
    if type(text) is not str or type(encoding) is not str or encoding.lower() not in _TEXT_ENCODINGS:
        raise UnsafeCheckpointError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode(encoding)


def _safe_bytes_factory(cls):
    """``bytes``/``bytearray`` from what pickle passes them, never from a size (``bytes(10**12)``)."""

    def build(*args):
        if not args:
            return cls()
        if len(args) == 1 and type(args[0]) in (bytes, bytearray):
            return cls(args[0])
        if len(args) == 2 and type(args[0]) is str and type(args[1]) is str and args[1].lower() in _TEXT_ENCODINGS:
            return cls(args[0], args[1])
        raise CheckpointError(f"unsupported {cls.__name__}(...) arguments in checkpoint")

    build.__name__ = f"_safe_{cls.__name__}"
    return build


_safe_bytes = _safe_bytes_factory(bytes)
_safe_bytearray = _safe_bytes_factory(bytearray)


def _int_tuple(value, what: str) -> tuple[int, ...]:
    if type(value) not in (tuple, list) or any(type(v) is not int or v < 0 for v in value):
        raise CheckpointError(f"invalid tensor {what} in checkpoint: {value!r}")
    return tuple(value)


def _torch_size(*args):
    if not args:
        return ()
    if len(args) != 1 or type(args[0]) not in (tuple, list) or any(type(v) is not int for v in args[0]):
        raise CheckpointError("invalid torch.Size in checkpoint")
    return tuple(args[0])


def _torch_device(*args):
    if not 1 <= len(args) <= 2 or any(type(a) not in (str, int) for a in args) or (len(args) == 2 and
                                                                                 type(args[1]) is not int):
        raise CheckpointError("invalid torch.device in checkpoint")
    try:
        return _device_cls(*args)
    except (RuntimeError, TypeError):
        return ":".join(str(a) for a in args)  # a device torchjax does not name (mps, xpu, ...)


class _TorchReader:
    """Reads one torch zip archive: records, storages, and the allow-listed globals."""

    def __init__(self, zf: zipfile.ZipFile, archive_size: int, device, weights_only: bool) -> None:
        self.zf = zf
        self.device = device
        self.weights_only = weights_only
        self.archive_size = archive_size
        self.bytes_read = 0
        self.storages: dict[str, bytes] = {}
        self.tensors: dict[tuple, jax.Array] = {}
        self.prefix = self._find_prefix()
        byteorder = b"little"
        if self.prefix + "byteorder" in self.names:
            byteorder = self.read_record(self.prefix + "byteorder")
            if byteorder not in (b"little", b"big"):
                raise CheckpointError(f"unknown byte order {byteorder[:16]!r} in checkpoint")
        self.swap = byteorder.decode() != sys.byteorder
        declared = sum(info.file_size for info in zf.infolist() if info.filename.startswith(self.prefix + "data/"))
        self.expansion_budget = 2 * min(declared, archive_size) + _EXPANSION_ALLOWANCE
        self.materialized = 0
        # Bound methods are new objects on each access: take each once, so identity checks hold.
        rebuilders = (self._rebuild_tensor, self._rebuild_tensor_v2, self._rebuild_tensor_v3,
                      self._rebuild_parameter, self._rebuild_parameter_with_state)
        self._rebuilders = {id(f): f for f in rebuilders}
        rebuild_from_type = self._rebuild_from_type_v2
        self.globals: dict[tuple[str, str], Any] = {
            ("collections", "OrderedDict"): OrderedDict,
            ("collections", "Counter"): Counter,
            ("builtins", "set"): set,
            ("builtins", "frozenset"): frozenset,
            ("builtins", "complex"): complex,
            ("builtins", "slice"): slice,
            ("builtins", "bytes"): _safe_bytes,  # how protocol 2 writes b""
            ("builtins", "bytearray"): _safe_bytearray,
            ("_codecs", "encode"): _safe_encode,
            ("torch", "Size"): _torch_size,
            ("torch", "device"): _torch_device,
            ("torch", "Tensor"): _TORCH_TENSOR,
            ("torch.nn.parameter", "Parameter"): _TORCH_PARAMETER,
            **{("torch._utils", f.__name__): f for f in rebuilders},
            ("torch._tensor", "_rebuild_from_type_v2"): rebuild_from_type,
            ("torch", "UntypedStorage"): _StorageType(np.dtype(np.uint8), True, "UntypedStorage"),
            ("torch.storage", "UntypedStorage"): _StorageType(np.dtype(np.uint8), True, "UntypedStorage"),
        }
        for storage_name, entry in _BY_STORAGE.items():
            for module in ("torch", "torch.cuda"):
                self.globals[(module, storage_name)] = _StorageType(entry.np, False, storage_name)
        for entry in _DTYPE_TABLE:
            self.globals[("torch", entry.torch)] = entry.np
        for alias, name in _TORCH_DTYPE_ALIASES.items():
            if name in _BY_TORCH_NAME:
                self.globals[("torch", alias)] = _BY_TORCH_NAME[name].np
        safe = [OrderedDict, Counter, set, frozenset, complex, slice, _safe_bytes, _safe_bytearray, _safe_encode,
                _torch_size, _torch_device, rebuild_from_type, *rebuilders]
        self.safe_callables = {id(f): f for f in safe}
        self.safe_new = {id(c): c for c in (OrderedDict, Counter, set, frozenset, complex)}

    # records -----------------------------------------------------------------------------
    def _find_prefix(self) -> str:
        self.names = set(self.zf.namelist())
        if any((n.count("/") == 1 and n.endswith("/constants.pkl")) or "/code/" in n for n in self.names):
            raise CheckpointError("this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; "
                                  "torchjax cannot run TorchScript code")
        candidates = sorted(n[: -len("data.pkl")] for n in self.names
                            if n.endswith("/data.pkl") and n.count("/") == 1)
        if not candidates:
            raise CheckpointError("not a torch.save checkpoint: the zip archive has no <archive>/data.pkl record")
        first = self.zf.infolist()[0].filename
        for prefix in candidates:
            if first.startswith(prefix):
                return prefix
        return candidates[0]

    def read_record(self, name: str) -> bytes:
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise CheckpointError(f"the checkpoint has no record {name!r} (truncated or corrupted file?)") from None
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(f"record {name!r} is compressed; torch checkpoints store records uncompressed")
        self.bytes_read += info.file_size
        if self.bytes_read > self.archive_size:
            raise CheckpointError("the zip records claim more data than the file holds (overlapping or corrupt "
                                  "records)")
        data = self.zf.read(info)  # verifies the CRC-32
        if len(data) != info.file_size:
            raise CheckpointError(f"record {name!r} is truncated")
        return data

    def pickle_bytes(self) -> bytes:
        return self.read_record(self.prefix + "data.pkl")

    # globals -----------------------------------------------------------------------------
    def find_global(self, module: str, name: str):
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if module == "torch.tensor":
            module = "torch._tensor"
        found = self.globals.get((module, name))
        if found is not None:
            return found
        full = f"{module}.{name}"
        if (module, name) in _UNSUPPORTED_TORCH_GLOBALS:
            raise CheckpointError(f"{_UNSUPPORTED_TORCH_GLOBALS[(module, name)]} are not supported by torchjax "
                                  f"(the checkpoint uses {full})")
        if module in ("torch", "torch.cuda", "torch.storage") and name.endswith("Storage"):
            raise CheckpointError(f"storage type {full} is not supported by torchjax")
        if module == "torch" and name in _UNSUPPORTED_TORCH_DTYPES:
            raise CheckpointError(f"dtype {full} has no JAX equivalent")
        if self.weights_only or module.split(".")[0] == "torch":
            why = ("torchjax cannot rebuild torch objects other than tensors, parameters and containers "
                   "(save a state_dict instead)" if module.split(".")[0] == "torch" else
                   "only tensors, parameters, containers and plain data are loaded with weights_only=True; "
                   "pass weights_only=False only if you trust the file, since it then runs code from it")
            raise UnsafeCheckpointError(f"refused to load global {full!r} from the checkpoint: {why}")
        # weights_only=False: the caller trusts the file; import it as pickle would.
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj

    # storages and tensors ----------------------------------------------------------------
    def persistent_load(self, pid) -> _Storage:
        if type(pid) is not tuple or len(pid) != 5:
            raise CheckpointError(f"unsupported persistent id in checkpoint: {pid!r:.80}")
        kind, storage_type, key, _location, numel = pid
        if isinstance(kind, bytes):
            kind = kind.decode("ascii")
        if isinstance(key, bytes):
            key = key.decode("ascii")
        if kind != "storage" or type(storage_type) is not _StorageType or type(key) is not str \
                or type(numel) is not int or numel < 0:
            raise CheckpointError(f"unsupported persistent id in checkpoint: {pid!r:.80}")
        itemsize = 1 if storage_type.untyped else storage_type.dtype.itemsize
        raw = self.storages.get(key)
        if raw is None:
            raw = self.storages[key] = self.read_record(f"{self.prefix}data/{key}")
        if len(raw) != numel * itemsize:
            raise CheckpointError(f"storage {key!r} holds {len(raw)} bytes, the checkpoint expects {numel * itemsize}")
        return _Storage(key, raw, storage_type.dtype, storage_type.untyped, self.swap)

    def _tensor(self, storage, offset, size, stride, dtype: np.dtype | None, metadata) -> jax.Array:
        if type(storage) is not _Storage:
            raise CheckpointError("tensor rebuilt from something that is not a storage")
        if type(offset) is not int or offset < 0:
            raise CheckpointError(f"invalid storage offset {offset!r:.40} in checkpoint")
        size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
        if len(size) != len(stride):
            raise CheckpointError(f"tensor size {size} and stride {stride} differ in length")
        if dtype is None:
            dtype = storage.dtype
        elif not isinstance(dtype, np.dtype):
            raise CheckpointError(f"invalid dtype {dtype!r:.40} in checkpoint")
        elif not storage.untyped and dtype != storage.dtype:
            raise CheckpointError(f"tensor of dtype {dtype} on a {storage.dtype} storage")
        if metadata is not None and type(metadata) not in (dict, OrderedDict):
            raise CheckpointError("invalid tensor metadata in checkpoint")
        metadata = {k: v for k, v in (metadata or {}).items() if v}
        if set(metadata) - {"conj", "neg"}:
            raise CheckpointError(f"unsupported tensor metadata {sorted(metadata)} in checkpoint")
        cache_key = (storage.key, dtype, offset, size, stride, tuple(sorted(metadata)))
        cached = self.tensors.get(cache_key)
        if cached is not None:
            return cached
        numel = math.prod(size)
        if numel == 0:
            array = np.zeros(size, dtype)
        else:
            available = len(storage.raw) // dtype.itemsize
            last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
            if last >= available:
                raise CheckpointError(
                    f"tensor of size {size}, stride {stride}, offset {offset} reads past the end of its storage "
                    f"({available} elements): corrupted checkpoint")
            self.materialized += numel * dtype.itemsize
            if self.materialized > self.expansion_budget:
                raise CheckpointError("the checkpoint's tensors expand to far more memory than its storages hold "
                                      "(overlapping views); refusing to materialize them")
            base = storage.elements(dtype)
            if all(n == 1 or s == c for n, s, c in zip(size, stride, _c_strides(size), strict=True)):
                array = base[offset:offset + numel].reshape(size).copy()
            else:
                # Bounds were checked above. Stride over opaque items: as_strided cannot describe some
                # ml_dtypes (float8) types through the array interface.
                items = base[offset:].view(np.dtype((np.void, dtype.itemsize)))
                view = np.lib.stride_tricks.as_strided(
                    items, shape=size, strides=[s * dtype.itemsize for s in stride], writeable=False)
                array = np.array(view).view(dtype)
        if metadata.get("conj"):
            array = np.conj(array)
        if metadata.get("neg"):
            array = -array
        result = _to_jax(array, self.device)
        self.tensors[cache_key] = result
        return result

    def _rebuild_tensor(self, storage, storage_offset, size, stride):
        return self._tensor(storage, storage_offset, size, stride, None, None)

    def _rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                           metadata=None):
        return self._tensor(storage, storage_offset, size, stride, None, metadata)

    def _rebuild_tensor_v3(self, storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                           metadata=None):
        return self._tensor(storage, storage_offset, size, stride, dtype, metadata)

    def _rebuild_parameter(self, data, requires_grad=True, backward_hooks=None):
        if not isinstance(data, jax.Array) or type(requires_grad) is not bool:
            raise CheckpointError("invalid nn.Parameter in checkpoint")
        return _parameter_cls()(data, requires_grad=requires_grad)

    def _rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        # Python attributes set on the parameter (``state``) are not restored.
        return self._rebuild_parameter(data, requires_grad)

    def _rebuild_from_type_v2(self, func, new_type, args, state):
        if self._rebuilders.get(id(func)) is not func or type(args) is not tuple:
            raise UnsafeCheckpointError(f"refused _rebuild_from_type_v2 with function {func!r:.60}")
        if new_type is _TORCH_TENSOR:
            return func(*args)  # attributes set on the tensor (``state``) are not restored
        if new_type is _TORCH_PARAMETER:
            result = func(*args)
            return result if isinstance(result, _parameter_cls()) else self._rebuild_parameter(result)
        raise CheckpointError(f"tensor subclass {new_type!r:.60} is not supported by torchjax")

    # pickle semantics for the allow-list -------------------------------------------------
    def call(self, func, args):
        if self.safe_callables.get(id(func)) is not func and (self.weights_only or not callable(func)
                                                               or isinstance(func, _Marker | _StorageType)):
            raise UnsafeCheckpointError(f"refused to call {func!r:.80} while loading the checkpoint")
        return func(*args)

    def new_object(self, cls, args):
        if cls is _TORCH_PARAMETER:
            return self._rebuild_parameter(*args)
        if self.safe_new.get(id(cls)) is cls or (not self.weights_only and isinstance(cls, type)):
            return cls.__new__(cls, *args)
        raise UnsafeCheckpointError(f"refused to create an object of {cls!r:.80} while loading the checkpoint")

    def build(self, inst, state) -> None:
        if type(inst) in (OrderedDict, Counter):
            # torch.save keeps a state_dict's ``_metadata`` this way.
            slotstate = None
            if type(state) is tuple and len(state) == 2:
                state, slotstate = state
            for part in (state, slotstate):
                if part is None:
                    continue
                if type(part) not in (dict, OrderedDict) or any(type(k) is not str for k in part):
                    raise CheckpointError("invalid object state in checkpoint")
                inst.__dict__.update(part)
            return
        if self.weights_only:
            raise UnsafeCheckpointError(f"refused to set the state of a {type(inst).__name__} while loading the "
                                        f"checkpoint")
        setstate = getattr(inst, "__setstate__", None)
        if setstate is not None:
            setstate(state)
            return
        slotstate = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slotstate = state
        if state:
            inst.__dict__.update(state)
        if slotstate:
            for k, v in slotstate.items():
                setattr(inst, k, v)


def _unpickle(data: bytes, reader: _TorchReader) -> Any:
    """A pickle interpreter for the opcodes a torch checkpoint uses; globals go through ``reader``."""
    end = len(data)
    pos = 0
    stack: list = []
    metastack: list = []
    memo: dict[int, Any] = {}
    weights_only = reader.weights_only

    def take(n: int) -> bytes:
        nonlocal pos
        if n < 0 or pos + n > end:
            raise CheckpointError("the checkpoint's pickle data is truncated")
        chunk = data[pos:pos + n]
        pos += n
        return chunk

    def readline() -> str:
        nonlocal pos
        stop = data.find(b"\n", pos)
        if stop < 0:
            raise CheckpointError("the checkpoint's pickle data is truncated")
        line = data[pos:stop]
        pos = stop + 1
        return line.decode("utf-8")

    def pop_mark() -> list:
        nonlocal stack
        if not metastack:
            raise CheckpointError("malformed pickle: MARK missing")
        items = stack
        stack = metastack.pop()
        return items

    def unpack(fmt: str, n: int):
        return struct.unpack(fmt, take(n))[0]

    def text(raw: bytes):
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            return raw

    def setitems_target():
        target = stack[-1]
        if type(target) not in (dict, OrderedDict, Counter) and weights_only:
            raise UnsafeCheckpointError(f"refused to set items on a {type(target).__name__}")
        return target

    while True:
        if pos >= end:
            raise CheckpointError("the checkpoint's pickle data ended before its STOP opcode (truncated?)")
        op = data[pos]
        pos += 1
        if op == _BINPUT:
            memo[take(1)[0]] = stack[-1]
        elif op == _LONG_BINPUT:
            memo[unpack("<I", 4)] = stack[-1]
        elif op == _MEMOIZE:
            memo[len(memo)] = stack[-1]
        elif op == _BINGET or op == _LONG_BINGET:
            index = take(1)[0] if op == _BINGET else unpack("<I", 4)
            if index not in memo:
                raise CheckpointError(f"malformed pickle: memo entry {index} is missing")
            stack.append(memo[index])
        elif op == _MARK:
            metastack.append(stack)
            stack = []
        elif op == _BINUNICODE:
            stack.append(take(unpack("<I", 4)).decode("utf-8", "surrogatepass"))
        elif op == _SHORT_BINUNICODE:
            stack.append(take(take(1)[0]).decode("utf-8", "surrogatepass"))
        elif op == _BINUNICODE8:
            stack.append(take(unpack("<Q", 8)).decode("utf-8", "surrogatepass"))
        elif op == _BININT1:
            stack.append(take(1)[0])
        elif op == _BININT2:
            stack.append(unpack("<H", 2))
        elif op == _BININT:
            stack.append(unpack("<i", 4))
        elif op == _LONG1:
            stack.append(int.from_bytes(take(take(1)[0]), "little", signed=True))
        elif op == _LONG4:
            stack.append(int.from_bytes(take(unpack("<i", 4)), "little", signed=True))
        elif op == _BINFLOAT:
            stack.append(unpack(">d", 8))
        elif op == _NONE:
            stack.append(None)
        elif op == _NEWTRUE:
            stack.append(True)
        elif op == _NEWFALSE:
            stack.append(False)
        elif op == _EMPTY_TUPLE:
            stack.append(())
        elif op == _TUPLE:
            items = pop_mark()
            stack.append(tuple(items))
        elif op == _TUPLE1:
            stack[-1] = (stack[-1],)
        elif op == _TUPLE2:
            if len(stack) < 2:
                raise CheckpointError("malformed pickle: stack underflow")
            stack[-2:] = [(stack[-2], stack[-1])]
        elif op == _TUPLE3:
            if len(stack) < 3:
                raise CheckpointError("malformed pickle: stack underflow")
            stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
        elif op == _EMPTY_LIST:
            stack.append([])
        elif op == _LIST:
            items = pop_mark()
            stack.append(items)
        elif op == _APPEND or op == _APPENDS:
            items = [stack.pop()] if op == _APPEND else pop_mark()
            target = stack[-1]
            if type(target) is list:
                target.extend(items)
            elif weights_only:
                raise UnsafeCheckpointError(f"refused to append to a {type(target).__name__}")
            else:
                for item in items:
                    target.append(item)
        elif op == _EMPTY_DICT:
            stack.append({})
        elif op == _DICT:
            items = pop_mark()
            if len(items) % 2:
                raise CheckpointError("malformed pickle: odd number of dict items")
            stack.append({items[i]: items[i + 1] for i in range(0, len(items), 2)})
        elif op == _SETITEM:
            value = stack.pop()
            key = stack.pop()
            setitems_target()[key] = value
        elif op == _SETITEMS:
            items = pop_mark()
            if len(items) % 2:
                raise CheckpointError("malformed pickle: odd number of dict items")
            target = setitems_target()
            for i in range(0, len(items), 2):
                target[items[i]] = items[i + 1]
        elif op == _EMPTY_SET:
            stack.append(set())
        elif op == _ADDITEMS:
            items = pop_mark()
            target = stack[-1]
            if type(target) is not set:
                raise CheckpointError("malformed pickle: ADDITEMS on a non-set")
            target.update(items)
        elif op == _FROZENSET:
            stack.append(frozenset(pop_mark()))
        elif op == _GLOBAL:
            module = readline()
            name = readline()
            stack.append(reader.find_global(module, name))
        elif op == _STACK_GLOBAL:
            name = stack.pop()
            module = stack.pop()
            if type(module) is not str or type(name) is not str:
                raise CheckpointError("malformed pickle: STACK_GLOBAL needs two strings")
            stack.append(reader.find_global(module, name))
        elif op == _REDUCE:
            args = stack.pop()
            if type(args) is not tuple:
                raise CheckpointError("malformed pickle: REDUCE arguments are not a tuple")
            stack[-1] = reader.call(stack[-1], args)
        elif op == _NEWOBJ:
            args = stack.pop()
            cls = stack.pop()
            if type(args) is not tuple:
                raise CheckpointError("malformed pickle: NEWOBJ arguments are not a tuple")
            stack.append(reader.new_object(cls, args))
        elif op == _BUILD:
            state = stack.pop()
            reader.build(stack[-1], state)
        elif op == _BINPERSID:
            stack.append(reader.persistent_load(stack.pop()))
        elif op == _STOP:
            if not stack:
                raise CheckpointError("malformed pickle: empty stack at STOP")
            return stack.pop()
        elif op == _PROTO:
            if take(1)[0] > pickle.HIGHEST_PROTOCOL:
                raise CheckpointError("unsupported pickle protocol in checkpoint")
        elif op == _FRAME:
            take(8)
        elif op == _POP:
            if stack:
                stack.pop()
            else:
                pop_mark()
        elif op == _POP_MARK:
            pop_mark()
        elif op == _DUP:
            stack.append(stack[-1])
        elif op == _BINSTRING:
            stack.append(text(take(unpack("<i", 4))))
        elif op == _SHORT_BINSTRING:
            stack.append(text(take(take(1)[0])))
        elif op == _BINBYTES:
            stack.append(take(unpack("<I", 4)))
        elif op == _SHORT_BINBYTES:
            stack.append(take(take(1)[0]))
        elif op == _BINBYTES8:
            stack.append(take(unpack("<Q", 8)))
        elif op == _BYTEARRAY8:
            stack.append(bytearray(take(unpack("<Q", 8))))
        elif op in _CALLING_OPS:
            raise UnsafeCheckpointError(f"refused pickle opcode {_CALLING_OPS[op]} in the checkpoint")
        else:
            raise CheckpointError(f"unsupported pickle opcode {bytes([op])!r} at byte {pos - 1} of the checkpoint's "
                                  f"data.pkl (corrupted file?)")


def _load_torch(fh: IO[bytes], device, weights_only: bool) -> Any:
    start = fh.tell()
    archive_size = fh.seek(0, os.SEEK_END) - start
    fh.seek(start)
    try:
        zf = zipfile.ZipFile(fh)
    except zipfile.BadZipFile as exc:
        raise CheckpointError(f"not a readable zip archive ({exc}): truncated or corrupted torch checkpoint") from exc
    with zf:
        reader = _TorchReader(zf, archive_size, device, weights_only)
        return _unpickle(reader.pickle_bytes(), reader)


# --- safetensors -------------------------------------------------------------------------------

class _TreeEncoder:
    """Turns a checkpoint object into a JSON tree whose array leaves name safetensors entries."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._active: set[int] = set()

    def key_for(self, path: tuple) -> str:
        base = ".".join(str(p) for p in path) or "tensor"
        key, n = base, 0
        while key in self.arrays or key == "__metadata__":
            n += 1
            key = f"{base}#{n}"
        return key

    def encode(self, obj, path: tuple = (), *, in_key: bool = False):
        kind = type(obj)
        if obj is None or kind in (bool, int, str):
            return obj
        if kind is float:
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if kind is complex:
            return {"complex": [self.encode(obj.real), self.encode(obj.imag)]}
        if kind is bytes:
            return {"bytes": base64.b64encode(obj).decode("ascii")}
        if kind is tuple:
            return {"tuple": [self.encode(v, (*path, i), in_key=in_key) for i, v in enumerate(obj)]}
        if in_key:
            raise TypeError(f"torchjax.save: dict keys must be None, bool, int, float, complex, str, bytes or "
                            f"tuples of those, got {kind.__qualname__}")
        Parameter = _parameter_cls()
        if isinstance(obj, Parameter):
            if not _is_array(obj._data):
                raise TypeError("torchjax.save: cannot save an uninitialized Parameter; run a forward pass first")
            node = self._array(obj._data, path)
            node["requires_grad"] = bool(obj.requires_grad)
            node["parameter"] = node.pop("tensor")
            return node
        if isinstance(obj, Tensor):
            obj = unwrap(obj)
        if _is_array(obj):
            return self._array(obj, path)
        if kind not in (dict, OrderedDict, list, set):
            raise _unsupported(obj)
        if id(obj) in self._active:
            raise ValueError("torchjax.save: circular reference; the safetensors format stores trees only "
                             "(format='torch' keeps shared and circular references)")
        self._active.add(id(obj))
        try:
            if kind is list:
                return {"list": [self.encode(v, (*path, i)) for i, v in enumerate(obj)]}
            if kind is set:
                return {"set": [self.encode(v, in_key=True) for v in obj]}
            items = [[self.encode(k, in_key=True), self.encode(v, (*path, k))] for k, v in obj.items()]
            if kind is dict:
                return {"dict": items}
            node = {"odict": items}
            attrs = getattr(obj, "__dict__", None)
            if attrs:
                node["attrs"] = [[name, self.encode(value, (*path, name))] for name, value in attrs.items()]
            return node
        finally:
            self._active.discard(id(obj))

    def _array(self, array, path: tuple) -> dict:
        _check_saveable_array(array)
        entry = _dtype_entry(_array_dtype(array), "safetensors")
        key = self.key_for(path)
        self.arrays[key] = _host_array(array, entry.np)
        node = {"tensor": key}
        if _is_prng_key(array):
            node["prng"] = str(jax.random.key_impl(array))
        return node


class _TreeDecoder:
    def __init__(self, tensors: dict[str, jax.Array]) -> None:
        self.tensors = tensors
        self.used: set[str] = set()

    def tensor(self, key) -> jax.Array:
        if type(key) is not str or key not in self.tensors:
            raise CheckpointError(f"the checkpoint's {_TREE_KEY} names a tensor {key!r:.80} the file does not hold")
        self.used.add(key)
        return self.tensors[key]

    def decode(self, node, *, in_key: bool = False):
        kind = type(node)
        if node is None or kind in (bool, int, str, float):
            return node
        if kind is not dict or not node:
            raise CheckpointError(f"malformed {_TREE_KEY} metadata")
        if "tuple" in node:
            return tuple(self.decode(v, in_key=in_key) for v in self._list(node, "tuple"))
        if "float" in node:
            if node["float"] not in ("nan", "inf", "-inf"):
                raise CheckpointError(f"malformed {_TREE_KEY} metadata")
            return float(node["float"])
        if "complex" in node:
            real, imag = self._list(node, "complex")
            return complex(self.decode(real), self.decode(imag))
        if "bytes" in node:
            if type(node["bytes"]) is not str:
                raise CheckpointError(f"malformed {_TREE_KEY} metadata")
            return base64.b64decode(node["bytes"], validate=True)
        if in_key:
            raise CheckpointError(f"malformed {_TREE_KEY} metadata: unhashable dict key")
        if "tensor" in node:
            array = self.tensor(node["tensor"])
            if "prng" in node:
                if type(node["prng"]) is not str:
                    raise CheckpointError(f"malformed {_TREE_KEY} metadata")
                array = jax.random.wrap_key_data(array, impl=node["prng"])
            return array
        if "parameter" in node:
            requires_grad = node.get("requires_grad", True)
            if type(requires_grad) is not bool:
                raise CheckpointError(f"malformed {_TREE_KEY} metadata")
            return _parameter_cls()(self.tensor(node["parameter"]), requires_grad=requires_grad)
        if "list" in node:
            return [self.decode(v) for v in self._list(node, "list")]
        if "set" in node:
            return {self.decode(v, in_key=True) for v in self._list(node, "set")}
        for tag, cls in (("dict", dict), ("odict", OrderedDict)):
            if tag in node:
                result = cls()
                for pair in self._list(node, tag):
                    key, value = self._pair(pair)
                    result[self.decode(key, in_key=True)] = self.decode(value)
                if tag == "odict" and "attrs" in node:
                    for pair in self._list(node, "attrs"):
                        name, value = self._pair(pair)
                        if type(name) is not str or not name.isidentifier() or name.startswith("__"):
                            raise CheckpointError(f"malformed {_TREE_KEY} metadata: attribute name {name!r:.40}")
                        setattr(result, name, self.decode(value))
                return result
        raise CheckpointError(f"malformed {_TREE_KEY} metadata: unknown node {sorted(node)[:3]}")

    @staticmethod
    def _list(node: dict, tag: str) -> list:
        value = node[tag]
        if type(value) is not list or (tag == "complex" and len(value) != 2):
            raise CheckpointError(f"malformed {_TREE_KEY} metadata")
        return value

    @staticmethod
    def _pair(pair) -> tuple:
        if type(pair) is not list or len(pair) != 2:
            raise CheckpointError(f"malformed {_TREE_KEY} metadata")
        return pair[0], pair[1]


def _prepare_safetensors(obj) -> tuple[dict, dict[str, str], list]:
    import safetensors

    encoder = _TreeEncoder()
    tree = encoder.encode(obj)
    metadata = {
        "format": "pt",
        _TREE_KEY: json.dumps({"version": _TREE_VERSION, "tree": tree}, separators=(",", ":"), allow_nan=False),
    }
    keep_alive = list(encoder.arrays.values())  # the specs hold raw pointers into these
    specs = {key: safetensors.TensorSpec(dtype=a.dtype.name, shape=list(a.shape), data_ptr=a.ctypes.data,
                                         data_len=a.nbytes)
             for key, a in encoder.arrays.items()}
    return specs, metadata, keep_alive


def _load_safetensors(data: bytes, device) -> Any:
    import safetensors

    if len(data) < 8:
        raise CheckpointError("the file is too short to be a safetensors file")
    try:
        entries = safetensors.deserialize(data)
    except BaseException as exc:  # the Rust side raises SafetensorError, or a PanicException (a BaseException)
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise CheckpointError(f"not a valid safetensors file: {exc}") from exc
    header_len = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + header_len])
    metadata = header.get("__metadata__") or {}
    if type(metadata) is not dict:
        raise CheckpointError("invalid safetensors metadata")
    tensors: dict[str, jax.Array] = {}
    for name, info in entries:
        entry = _BY_SAFETENSORS.get(info["dtype"])
        if entry is None:
            raise CheckpointError(f"tensor {name!r} has dtype {info['dtype']}, which torchjax does not support")
        shape = tuple(info["shape"])
        array = np.frombuffer(info["data"], dtype=entry.np)
        if array.size != math.prod(shape):
            raise CheckpointError(f"tensor {name!r}: {array.size} elements for shape {shape}")
        array = array.reshape(shape)
        if sys.byteorder == "big":
            array = array.byteswap()
        tensors[name] = _to_jax(array, device)
    del entries
    tree_json = metadata.get(_TREE_KEY)
    if tree_json is None:
        return tensors  # a plain safetensors file: its flat dict, in file order
    if type(tree_json) is not str:
        raise CheckpointError(f"invalid {_TREE_KEY} metadata")
    try:
        document = json.loads(tree_json)
    except ValueError as exc:
        raise CheckpointError(f"the {_TREE_KEY} metadata is not valid JSON: {exc}") from exc
    if type(document) is not dict or "tree" not in document:
        raise CheckpointError(f"malformed {_TREE_KEY} metadata")
    if document.get("version") != _TREE_VERSION:
        raise CheckpointError(f"the {_TREE_KEY} metadata has version {document.get('version')!r:.20}; this torchjax "
                              f"reads version {_TREE_VERSION} (written by a newer torchjax?)")
    decoder = _TreeDecoder(tensors)
    result = decoder.decode(document["tree"])
    unused = set(tensors) - decoder.used
    if unused:
        raise CheckpointError(f"the file holds tensors its {_TREE_KEY} metadata does not place ({sorted(unused)[:5]}); "
                              f"was it modified by another tool?")
    return result


# --- files -------------------------------------------------------------------------------------

def _is_path(f) -> bool:
    return isinstance(f, str | os.PathLike)


def _fsync(fd: int) -> None:
    os.fsync(fd)


def _fsync_dir(directory: str) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory
    finally:
        os.close(fd)


def _atomic_write(path, write: Callable[[IO[bytes], str], None]) -> None:
    """Run ``write(file, temp_path)`` on a temporary file next to ``path``, then rename it onto ``path``.

    ``write`` may close the file and write ``temp_path`` itself. On any failure the temporary file is
    removed and ``path`` is untouched.
    """
    target = os.fsdecode(os.fspath(path))
    if os.path.islink(target):
        target = os.path.realpath(target)  # replace the file the link points to, as torch.save writes through it
    directory = os.path.dirname(os.path.abspath(target))
    base = os.path.basename(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(temp, flags, 0o666)  # the umask applies, as for a file torch.save creates
            break
        except FileExistsError:
            continue
    fh = os.fdopen(fd, "wb")
    try:
        write(fh, temp)
        if fh.closed:
            fd = os.open(temp, os.O_RDONLY)
            try:
                _fsync(fd)
            finally:
                os.close(fd)
        else:
            fh.flush()
            _fsync(fh.fileno())
            fh.close()
        try:
            os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))  # keep an existing checkpoint's permissions
        except OSError:
            pass
        os.replace(temp, target)
    except BaseException:
        fh.close()
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _save_format(f, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in _FORMATS:
            raise ValueError(f"format must be one of {_FORMATS} or None, got {fmt!r}")
        return fmt
    if _is_path(f) and os.fsdecode(os.fspath(f)).lower().endswith(_TORCH_SUFFIXES):
        return "torch"
    return "safetensors"


def save(obj: Any, f: FileLike, *, format: str | None = None) -> None:
    """Save ``obj`` (a state_dict, an optimizer state_dict, a training checkpoint...) to ``f``.

    Arguments:
        obj: nested dicts (``OrderedDict`` included), lists, tuples and sets of arrays (``jax.Array``,
            NumPy arrays, ``torchjax.nn.Parameter``), ints, floats, bools, complex numbers, strings,
            bytes and ``None``.
        f: a path (``str`` or ``os.PathLike``), written atomically, or a binary file object, written
            from its current position.
        format: ``"safetensors"`` or ``"torch"`` (PyTorch's zip format, readable by ``torch.load``).
            ``None``: ``"torch"`` for paths ending in ``.pt``, ``.pth``, ``.bin`` or ``.ckpt``,
            otherwise ``"safetensors"``.

    Raises ``TypeError`` for an object or dtype the format cannot hold (nothing is written then).
    See the module documentation for the formats and the dtype rules.
    """
    fmt = _save_format(f, format)
    if not _is_path(f) and not hasattr(f, "write"):
        raise TypeError(f"f must be a path or a binary file object, got {type(f).__name__}")
    if fmt == "torch":
        pickled, storages = _prepare_torch(obj)
        if _is_path(f):
            _atomic_write(f, lambda fh, _temp: _write_torch(pickled, storages, fh))
        else:
            _write_torch(pickled, storages, f)
        return

    import safetensors

    specs, metadata, keep_alive = _prepare_safetensors(obj)
    if _is_path(f):
        def write(fh, temp):
            fh.close()
            safetensors.serialize_file(specs, temp, metadata=metadata)

        _atomic_write(f, write)
    else:
        f.write(safetensors.serialize(specs, metadata=metadata))
    del keep_alive


def _sniff(head: bytes) -> str:
    if not head:
        return "empty"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head.startswith(_LEGACY_MAGIC) or head[257:262] == b"ustar":
        return "legacy"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    return "unknown"


def _load_from(fh: IO[bytes], fmt: str | None, device, weights_only: bool) -> Any:
    if not (hasattr(fh, "seekable") and fh.seekable()):
        fh = io.BytesIO(fh.read())
    start = fh.tell()
    head = fh.read(512)
    fh.seek(start)
    kind = _sniff(head)
    if kind == "empty":
        raise CheckpointError("the file is empty")
    if fmt is None:
        if kind == "unknown":
            raise CheckpointError("not a checkpoint: the file is neither a safetensors file nor a PyTorch zip "
                                  "checkpoint")
        fmt = "torch" if kind in ("zip", "legacy") else "safetensors"
    if fmt == "torch":
        if kind == "legacy":
            raise CheckpointError("this is a checkpoint in torch's legacy format (torch < 1.6, or saved with "
                                  "_use_new_zipfile_serialization=False); torchjax reads only the zip format: load it "
                                  "with torch and save it again with torch.save")
        if kind != "zip":
            hint = " (it looks like a safetensors file: use format='safetensors')" if kind == "safetensors" else ""
            raise CheckpointError(f"not a PyTorch zip checkpoint{hint}")
        return _load_torch(fh, device, weights_only)
    if kind in ("zip", "legacy"):
        raise CheckpointError("not a safetensors file (it looks like a PyTorch checkpoint: use format='torch')")
    return _load_safetensors(fh.read(), device)


def load(f: FileLike, *, format: str | None = None, map_location=None, weights_only: bool = True) -> Any:
    """Load a checkpoint written by :func:`save`, ``torch.save`` (zip format) or any safetensors writer.

    Arguments:
        f: a path (``str`` or ``os.PathLike``) or a binary file object.
        format: ``"safetensors"`` or ``"torch"`` to insist on one (a file of the other format raises
            :class:`CheckpointError`); ``None`` recognises the format from the file's content.
        map_location: ``None`` (JAX's default device), or a device (``'cpu'``, ``'cuda:1'``,
            ``torchjax.device``, ``jax.Device``) to put every array on. torch's dict and callable
            forms are accepted and ignored: saved storage locations are not restored.
        weights_only: ``True`` (the default, as in torch) reads only tensors, parameters, containers
            and plain data from a torch checkpoint. ``False`` also imports and calls other non-torch
            globals the pickle names (NumPy arrays, user classes): that runs code from the file, so
            use it only for files you trust. Ignored for safetensors, which holds no code.

    Returns the saved object with arrays as ``jax.Array`` (saved Parameters as
    ``torchjax.nn.Parameter``); a safetensors file written by another tool gives its flat dict.
    Raises :class:`CheckpointError` (:class:`UnsafeCheckpointError` for a refused global) for any
    problem with the file's content; see the module documentation for the dtype rules.
    """
    if format not in (None, *_FORMATS):
        raise ValueError(f"format must be one of {_FORMATS} or None, got {format!r}")
    device = _resolve_map_location(map_location)
    if _is_path(f):
        with open(f, "rb") as fh:
            return _guarded_load(fh, format, device, weights_only)
    if not hasattr(f, "read"):
        raise TypeError(f"f must be a path or a binary file object, got {type(f).__name__}")
    return _guarded_load(f, format, device, weights_only)


def _as_tensors(obj: Any) -> Any:
    """Loaded arrays as Tensors (Parameters stay Parameters), through dicts, lists, tuples and sets."""
    if isinstance(obj, jax.Array):
        return obj if jnp.issubdtype(obj.dtype, jax.dtypes.prng_key) else Tensor._wrap_array(obj)
    if isinstance(obj, dict):
        out = type(obj)() if type(obj) in (dict, OrderedDict) else dict()
        for k, v in obj.items():
            out[k] = _as_tensors(v)
        if hasattr(obj, "_metadata"):
            out._metadata = obj._metadata
        return out
    if type(obj) in (list, tuple):
        return type(obj)(_as_tensors(v) for v in obj)
    return obj


def _guarded_load(fh: IO[bytes], fmt: str | None, device, weights_only: bool) -> Any:
    try:
        return _as_tensors(_load_from(fh, fmt, device, weights_only))
    except CheckpointError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise CheckpointError(f"corrupted or unsupported checkpoint ({type(exc).__name__}: {exc})"[:2000]) from exc

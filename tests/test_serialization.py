"""torchjax.serialization: torch.save files read without torch, files torch.load reads, safetensors,
a restricted unpickler that executes nothing, corrupted-file handling and atomic writes."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import stat
import struct
import time
import zipfile
from collections import OrderedDict

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import safetensors
import safetensors.torch
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import torchjax
import torchjax.nn as tnn
from torchjax import serialization
from torchjax.serialization import CheckpointError, UnsafeCheckpointError, load, save

X64 = bool(jax.config.jax_enable_x64)
NARROW = {torch.int64: np.int32, torch.float64: np.float32, torch.complex128: np.complex64,
          torch.uint64: np.uint32} if not X64 else {}
TORCH_TO_NP = {
    torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16, torch.bfloat16: ml_dtypes.bfloat16,
    torch.int64: np.int64, torch.int32: np.int32, torch.int16: np.int16, torch.int8: np.int8, torch.uint8: np.uint8,
    torch.bool: np.bool_, torch.complex64: np.complex64, torch.complex128: np.complex128, torch.uint16: np.uint16,
    torch.uint32: np.uint32, torch.uint64: np.uint64, torch.float8_e4m3fn: ml_dtypes.float8_e4m3fn,
    torch.float8_e5m2: ml_dtypes.float8_e5m2,
}


# --- helpers -------------------------------------------------------------------------------------

def expected_dtype(t: torch.Tensor) -> np.dtype:
    return np.dtype(NARROW.get(t.dtype, TORCH_TO_NP[t.dtype]))


def torch_values(t: torch.Tensor) -> np.ndarray:
    t = t.detach().resolve_conj().resolve_neg()
    if t.dtype in (torch.bfloat16, torch.float8_e4m3fn, torch.float8_e5m2):
        return t.view(torch.uint8 if t.element_size() == 1 else torch.int16).numpy().view(TORCH_TO_NP[t.dtype])
    if t.dtype in (torch.uint16, torch.uint32, torch.uint64):
        return t.to(torch.int64).numpy().astype(TORCH_TO_NP[t.dtype])
    return t.numpy()


def assert_matches_torch(ours, ref, path="root"):
    """``ours`` (loaded by torchjax) holds the same structure and values as ``ref`` (a torch object)."""
    if isinstance(ref, torch.nn.Parameter):
        assert isinstance(ours, tnn.Parameter), path
        assert ours.requires_grad == ref.requires_grad, path
        assert_matches_torch(ours.data, ref.data, path)
    elif isinstance(ref, torch.Tensor):
        assert isinstance(ours, torchjax.Tensor), (path, type(ours))  # load returns Tensors
        assert ours.shape == tuple(ref.shape), path
        assert ours.dtype == expected_dtype(ref), (path, ours.dtype, ref.dtype)
        np.testing.assert_array_equal(np.asarray(ours), torch_values(ref).astype(expected_dtype(ref)), err_msg=path)
    elif isinstance(ref, dict):
        assert type(ours) is type(ref), (path, type(ours), type(ref))
        assert list(ours.keys()) == list(ref.keys()), path
        for key in ref:
            assert_matches_torch(ours[key], ref[key], f"{path}[{key!r}]")
        if hasattr(ref, "_metadata"):
            assert ours._metadata == ref._metadata, path
    elif isinstance(ref, list | tuple):
        assert type(ours) is (tuple if isinstance(ref, torch.Size) else type(ref)), (path, type(ours))
        assert len(ours) == len(ref), path
        for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
            assert_matches_torch(a, b, f"{path}[{i}]")
    elif isinstance(ref, torch.dtype):
        assert ours == np.dtype(TORCH_TO_NP[ref]), path
    elif isinstance(ref, torch.device):
        assert str(ours) == str(ref), path
    elif isinstance(ref, float) and math.isnan(ref):
        assert math.isnan(ours), path
    else:
        assert type(ours) is type(ref) and ours == ref, (path, ours, ref)


def assert_matches_ours(loaded, original, path="root"):
    """``loaded`` (by torch.load) holds what torchjax saved in ``original``."""
    if isinstance(original, tnn.Parameter):
        assert isinstance(loaded, torch.nn.Parameter), path
        assert loaded.requires_grad == original.requires_grad, path
        assert_matches_ours(loaded.data, original.data, path)
    elif isinstance(original, jax.Array | np.ndarray | torchjax.Tensor):
        assert isinstance(loaded, torch.Tensor), path
        original = original.jax() if isinstance(original, torchjax.Tensor) else original
        assert tuple(loaded.shape) == original.shape, path
        want = np.dtype(original.dtype)
        if isinstance(original, jax.Array) and want == np.int32 and not X64:
            want = np.dtype(np.int64)
        assert np.dtype(TORCH_TO_NP[loaded.dtype]) == want, (path, loaded.dtype, want)
        np.testing.assert_array_equal(torch_values(loaded), np.asarray(original).astype(want), err_msg=path)
    elif isinstance(original, dict):
        assert type(loaded) is type(original), path
        assert list(loaded) == list(original), path
        for key in original:
            assert_matches_ours(loaded[key], original[key], f"{path}[{key!r}]")
    elif isinstance(original, list | tuple):
        assert type(loaded) is type(original) and len(loaded) == len(original), path
        for i, (a, b) in enumerate(zip(loaded, original, strict=True)):
            assert_matches_ours(a, b, f"{path}[{i}]")
    else:
        assert type(loaded) is type(original) and loaded == original, (path, loaded, original)


class WriteOnly:
    """A stream that can only be written (a pipe, a socket)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)


class ReadOnly:
    """A stream that can only be read, without seek."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._buffer.read(n)


def assert_same_tree(a, b, path="root"):
    """Round trip through torchjax: same containers, keys, scalars and array values/dtypes."""
    if isinstance(b, tnn.Parameter):
        assert isinstance(a, tnn.Parameter) and a.requires_grad == b.requires_grad, path
        assert_same_tree(a.data, b.data, path)
    elif isinstance(b, jax.Array | np.ndarray | np.generic | torchjax.Tensor):
        b = b.jax() if isinstance(b, torchjax.Tensor) else b
        if isinstance(b, jax.Array) and jnp.issubdtype(b.dtype, jax.dtypes.prng_key):
            assert isinstance(a, jax.Array), (path, type(a))  # PRNG keys stay jax arrays
        else:
            assert isinstance(a, torchjax.Tensor), (path, type(a))  # load returns Tensors
            a = a.jax()
        if isinstance(b, jax.Array) and jnp.issubdtype(b.dtype, jax.dtypes.prng_key):
            assert a.dtype == b.dtype, path
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        want = jnp.asarray(b).dtype  # what JAX makes of the saved dtype
        assert a.shape == b.shape and a.dtype == want, (path, a.dtype, want)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b).astype(want), err_msg=path)
    elif isinstance(b, dict):
        assert type(a) is type(b) and list(a) == list(b), (path, type(a), list(a), list(b))
        for key in b:
            assert_same_tree(a[key], b[key], f"{path}[{key!r}]")
        assert getattr(a, "_metadata", None) == getattr(b, "_metadata", None), path
    elif isinstance(b, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tree(x, y, f"{path}[{i}]")
    elif isinstance(b, float) and math.isnan(b):
        assert isinstance(a, float) and math.isnan(a), path
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


def torch_bytes(obj, **kwargs) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


def trained_torch_model(optimizer_cls, **kwargs):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    opt = optimizer_cls(model.parameters(), **kwargs)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(5, 3)).pow(2).sum().backward()
        opt.step()
    return model, opt


class G:
    """A global written into a pickle by name (never imported): for crafting checkpoints."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args):
        raise AssertionError("never called")


class Call:
    """Pickles as ``func(*args)`` (REDUCE)."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class PID:
    def __init__(self, pid) -> None:
        self.pid = pid


class CraftPickler(pickle._Pickler):
    dispatch = pickle._Pickler.dispatch.copy()

    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, PID) else None

    def save_g(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())

    dispatch[G] = save_g


def crafted_checkpoint(obj, records: dict[str, bytes] | None = None, *, proto: int = 2) -> bytes:
    """A torch-layout zip whose data.pkl pickles ``obj`` (with G/Call/PID stand-ins)."""
    pkl = io.BytesIO()
    CraftPickler(pkl, protocol=proto).dump(obj)
    return zip_with(pkl.getvalue(), records)


def zip_with(pkl: bytes, records: dict[str, bytes] | None = None, compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", "little")
        for key, data in (records or {}).items():
            zf.writestr(f"archive/data/{key}", data)
        zf.writestr("archive/version", "3\n")
    return out.getvalue()


def float_tensor(key: str, numel: int, offset, size, stride):
    storage = PID(("storage", G("torch", "FloatStorage"), key, "cpu", numel))
    return Call(G("torch._utils", "_rebuild_tensor_v2"), storage, offset, size, stride, False,
                Call(G("collections", "OrderedDict")))


# --- torch.save -> torchjax.load ---------------------------------------------------------------

@pytest.mark.parametrize("build", [
    lambda: torch.nn.Linear(3, 4),
    lambda: torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2)),
])
def test_load_torch_state_dict(tmp_path, build):
    torch.manual_seed(0)
    sd = build().state_dict()
    torch.save(sd, tmp_path / "sd.pt")
    ours = load(tmp_path / "sd.pt")
    assert type(ours) is OrderedDict
    assert_matches_torch(ours, sd)
    if "1.num_batches_tracked" in sd:  # int64 in torch; int32 unless x64 is on
        assert ours["1.num_batches_tracked"].dtype == (np.int64 if X64 else np.int32)


@pytest.mark.parametrize("optimizer", [
    (torch.optim.Adam, {"lr": 0.1}),
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
])
def test_load_torch_optimizer_state_dict(tmp_path, optimizer):
    _, opt = trained_torch_model(optimizer[0], **optimizer[1])
    sd = opt.state_dict()
    torch.save(sd, tmp_path / "opt.pth")
    ours = load(tmp_path / "opt.pth")
    assert_matches_torch(ours, sd)
    assert sorted(ours["state"]) == [0, 1, 2, 3, 4, 5]  # int keys kept
    assert ours["param_groups"][0]["params"] == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("protocol", [2, 4])
def test_load_torch_training_checkpoint(tmp_path, protocol):
    model, opt = trained_torch_model(torch.optim.Adam)
    checkpoint = {
        "model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "loss": 0.25, "name": "run-1",
        "history": [1, 2.5, "x", None, True, float("nan"), float("-inf")], "shape": (2, 3), "rng": torch.arange(5),
        "nested": {"a": [torch.ones(2), {"b": torch.zeros(1)}], 7: "int key", (1, "t"): "tuple key"},
        "big": 2**80, "neg": -(2**40), "bytes": b"\x00\xffab", "empty_bytes": b"", "complex": 1 + 2j, "set": {1, 2},
        "size": torch.Size([2, 3]), "dtype": torch.float16, "device": torch.device("cpu"),
        "parameter": torch.nn.Parameter(torch.ones(2)),
        "frozen": torch.nn.Parameter(torch.ones(1), requires_grad=False),
    }
    torch.save(checkpoint, tmp_path / "ckpt.ckpt", pickle_protocol=protocol)
    ours = load(tmp_path / "ckpt.ckpt")
    assert_matches_torch(ours, checkpoint)


def test_load_torch_views_and_shared_storage(tmp_path):
    base = torch.arange(24.0)
    matrix = torch.arange(12.0).reshape(3, 4)
    views = {
        "strided": torch.arange(10.0)[2:8:2],
        "transposed": matrix.t(),
        "column": matrix[:, 1],
        "offset": base[5:9],
        "first": base[:3],  # "first"/"second"/"grid" share base's storage
        "second": base[3:6],
        "grid": base.reshape(2, 3, 4).permute(2, 0, 1)[1:, :, ::2],
        "expanded": torch.tensor([1.5, 2.5]).reshape(2, 1).expand(2, 3),
        "conj": torch.tensor([1 + 2j, 3 - 1j]).conj(),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
    }
    torch.save(views, tmp_path / "views.pt")
    ours = load(tmp_path / "views.pt")
    assert_matches_torch(ours, views)


@pytest.mark.parametrize("dtype", list(TORCH_TO_NP))
def test_load_torch_dtypes(tmp_path, dtype):
    values = torch.tensor([[0, 1, 3], [5, 7, 9]], dtype=torch.float32)
    if dtype == torch.bool:
        tensor = values > 2
    elif dtype.is_complex:
        tensor = (values + 1j * values).to(dtype)
    else:
        tensor = values.to(dtype)
    torch.save({"x": tensor, "t": tensor.t()}, tmp_path / "d.pt")
    assert_matches_torch(load(tmp_path / "d.pt"), {"x": tensor, "t": tensor.t()})


def test_load_torch_file_object_and_map_location(tmp_path):
    sd = torch.nn.Linear(2, 2).state_dict()
    data = torch_bytes(sd)
    assert_matches_torch(load(io.BytesIO(data)), sd)
    on_cpu = load(io.BytesIO(data), map_location="cpu")
    assert all(v.devices() == {jax.devices("cpu")[0]} for v in on_cpu.values())
    assert_matches_torch(load(io.BytesIO(data), map_location=lambda storage, loc: storage), sd)
    with pytest.raises(RuntimeError, match="not available"):
        load(io.BytesIO(data), map_location="cuda:7")


# --- torchjax.save -> torch.load -------------------------------------------------------------

def torchjax_checkpoint():
    torchjax.manual_seed(0)
    model = tnn.Sequential(tnn.Linear(3, 4), tnn.Linear(4, 2))
    model.register_buffer("steps", jnp.array(5, jnp.int32))
    sd = model.state_dict()
    optimizer = {
        "state": {0: {"step": jnp.array(2.0), "exp_avg": jnp.ones((4, 3)), "exp_avg_sq": jnp.zeros((4, 3))},
                  1: {"step": jnp.array(2.0), "momentum_buffer": None}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False,
                          "foreach": None, "params": [0, 1, 2, 3]}],
    }
    arrays = {
        "bf16": jnp.array([1.5, -2.0], jnp.bfloat16), "f16": jnp.array([0.5, 1e-3], jnp.float16),
        "bool": jnp.array([True, False]), "u8": jnp.array([0, 255], jnp.uint8), "i8": jnp.array([-128, 127], jnp.int8),
        "i16": jnp.array([-3, 3], jnp.int16), "i32": jnp.array([-(2**31), 2**31 - 1], jnp.int32),
        "np_i32": np.array([1, 2], np.int32), "np_i64": np.array([2**40], np.int64), "np_f64": np.array([0.1]),
        "u32": jnp.array([1, 2**32 - 1], jnp.uint32), "c64": jnp.array([1 + 2j], jnp.complex64),
        "scalar": jnp.array(3.25), "np_scalar": np.float32(1.5), "empty": jnp.zeros((0, 4)),
        "empty_int": jnp.zeros((2, 0), jnp.int32), "noncontig": np.arange(12.0).reshape(3, 4)[:, ::2],
        "f8": jnp.array([1.0, -0.5], jnp.float8_e4m3fn),
    }
    return {"model": sd, "optimizer": optimizer, "epoch": 3, "name": "x", "arrays": arrays,
            "parameter": tnn.Parameter(jnp.ones(2)), "frozen": tnn.Parameter(jnp.zeros(1), requires_grad=False),
            "rng": jax.random.PRNGKey(0), "history": [1.5, None, (1, "a"), float("inf"), 2**70, -(2**33)],
            "extras": {"bytes": b"\x00\xffab", "empty": b"", "complex": 1 - 2j, "set": {1, 2}, 4: "int key"}}


def test_torch_loads_torchjax_checkpoint(tmp_path):
    checkpoint = torchjax_checkpoint()
    save(checkpoint, tmp_path / "ckpt.pt")
    loaded = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    expected = dict(checkpoint)
    expected["arrays"] = {**checkpoint["arrays"], "np_scalar": np.asarray(checkpoint["arrays"]["np_scalar"])}
    assert_matches_ours(loaded, expected)
    assert loaded["model"]._metadata == checkpoint["model"]._metadata
    # Without x64, int32 jax arrays stand for torch's long; with x64 an int32 array is a real int32.
    assert loaded["model"]["steps"].dtype == (torch.int32 if X64 else torch.int64)
    assert loaded["arrays"]["np_i32"].dtype == torch.int32  # NumPy keeps its dtype
    # The same bytes through mmap, and through torch's optional offset calculation (miniz's layout).
    import torch.utils.serialization as torch_serialization

    assert_matches_ours(torch.load(tmp_path / "ckpt.pt", weights_only=True, mmap=True), expected)
    old = torch_serialization.config.load.calculate_storage_offsets
    os.environ["TORCH_SERIALIZATION_DEBUG"] = "1"
    try:
        torch_serialization.config.load.calculate_storage_offsets = True
        assert_matches_ours(torch.load(tmp_path / "ckpt.pt", weights_only=True, mmap=True), expected)
        assert_matches_ours(torch.load(tmp_path / "ckpt.pt", weights_only=True), expected)
    finally:
        torch_serialization.config.load.calculate_storage_offsets = old
        del os.environ["TORCH_SERIALIZATION_DEBUG"]


def test_torchjax_state_dict_into_torch_module_and_back(tmp_path):
    torchjax.manual_seed(0)
    ours = tnn.Sequential(tnn.Linear(3, 4), tnn.Linear(4, 2))
    save(ours.state_dict(), tmp_path / "m.pt")
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    theirs.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(), np.asarray(ours(jnp.asarray(x))),
                               rtol=1e-5, atol=1e-6)
    torch.nn.init.normal_(theirs[0].weight)
    torch.save(theirs.state_dict(), tmp_path / "t.pt")
    ours.load_state_dict(load(tmp_path / "t.pt"))
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(), np.asarray(ours(jnp.asarray(x))),
                               rtol=1e-5, atol=1e-6)


def test_torch_format_layout(tmp_path):
    save({"w": jnp.ones((2, 3)), "e": jnp.zeros(0), "b": jnp.arange(3)}, tmp_path / "x.pt")
    data = (tmp_path / "x.pt").read_bytes()
    with zipfile.ZipFile(tmp_path / "x.pt") as zf:
        names = [info.filename for info in zf.infolist()]
        assert names == ["archive/data.pkl", "archive/.format_version", "archive/.storage_alignment",
                         "archive/byteorder", "archive/data/0", "archive/data/1", "archive/data/2", "archive/version",
                         "archive/.data/serialization_id"]
        assert zf.read("archive/version") == b"3\n" and zf.read("archive/byteorder") == b"little"
        assert zf.read("archive/.storage_alignment") == b"64" and zf.read("archive/.format_version") == b"1"
        assert len(zf.read("archive/.data/serialization_id")) == 40
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
            assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0, info.filename
    pkl = zipfile.ZipFile(tmp_path / "x.pt").read("archive/data.pkl")
    assert pkl.startswith(b"\x80\x02") and b"ctorch._utils\n_rebuild_tensor_v2\n" in pkl
    assert b"ctorch\nLongStorage\n" in pkl
    # Reproducible: the same object gives the same bytes.
    save({"w": jnp.ones((2, 3)), "e": jnp.zeros(0), "b": jnp.arange(3)}, tmp_path / "y.pt")
    assert (tmp_path / "y.pt").read_bytes() == data


def test_zip64_records(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "_ZIP64_LIMIT", 100)
    monkeypatch.setattr(serialization, "_ZIP64_COUNT_LIMIT", 3)
    checkpoint = {"a": jnp.arange(64.0), "b": jnp.ones((10, 10)), "c": jnp.zeros(3)}
    save(checkpoint, tmp_path / "z.pt")
    with zipfile.ZipFile(tmp_path / "z.pt") as zf:
        assert zf.testzip() is None
    assert_matches_ours(torch.load(tmp_path / "z.pt", weights_only=True), checkpoint)
    assert_same_tree(load(tmp_path / "z.pt"), checkpoint)


def test_shared_arrays_share_one_storage(tmp_path):
    weight = jnp.arange(6.0).reshape(2, 3)
    tied = tnn.Parameter(weight)
    save({"embed.weight": weight, "head.weight": weight, "param": tied}, tmp_path / "tied.pt")
    loaded = torch.load(tmp_path / "tied.pt", weights_only=True)
    assert loaded["embed.weight"] is loaded["head.weight"]
    assert loaded["param"].untyped_storage().data_ptr() == loaded["embed.weight"].untyped_storage().data_ptr()
    with zipfile.ZipFile(tmp_path / "tied.pt") as zf:
        assert sum(n.startswith("archive/data/") for n in zf.namelist()) == 1


def test_torch_format_round_trip(tmp_path):
    checkpoint = torchjax_checkpoint()
    del checkpoint["arrays"]["np_i64"]  # 2**40 needs x64: see test_int64_overflow_without_x64_is_an_error
    save(checkpoint, tmp_path / "r.bin")
    loaded = load(tmp_path / "r.bin")
    # int32 jax arrays travel as int64 and come back as int32 (x64 off); a NumPy scalar comes back as an array.
    expected = {**checkpoint, "arrays": {**checkpoint["arrays"],
                                         "np_scalar": np.asarray(checkpoint["arrays"]["np_scalar"])}}
    assert_same_tree(loaded, expected)


# --- safetensors -----------------------------------------------------------------------------

def test_safetensors_flat_state_dict_is_a_plain_safetensors_file(tmp_path):
    torchjax.manual_seed(0)
    sd = tnn.Sequential(tnn.Linear(3, 4), tnn.Linear(4, 2)).state_dict()
    save(sd, tmp_path / "model.safetensors")
    theirs = safetensors.torch.load_file(tmp_path / "model.safetensors")
    assert sorted(theirs) == sorted(sd)
    for key, value in sd.items():
        np.testing.assert_array_equal(theirs[key].numpy(), np.asarray(value))
    with safetensors.safe_open(tmp_path / "model.safetensors", framework="np") as f:
        assert f.metadata()["format"] == "pt"
    loaded = load(tmp_path / "model.safetensors")
    assert type(loaded) is OrderedDict and list(loaded) == list(sd)  # order and _metadata kept
    assert_same_tree(loaded, sd)
    # A file object and no suffix: safetensors too.
    buffer = io.BytesIO()
    save(sd, buffer)
    assert_same_tree(load(io.BytesIO(buffer.getvalue())), sd)


def test_safetensors_nested_round_trip(tmp_path):
    checkpoint = torchjax_checkpoint()
    del checkpoint["arrays"]["np_i64"]  # checked separately: exceeds int32 without x64
    checkpoint["typed_key"] = jax.random.key(3)
    checkpoint["specials"] = [float("nan"), float("inf"), -0.0, 1 + 2j, b"\x00\x01", {3, 4}, 2**70]
    checkpoint[5] = "int key"
    save(checkpoint, tmp_path / "ckpt.safetensors")
    loaded = load(tmp_path / "ckpt.safetensors")
    assert_same_tree(loaded, checkpoint)
    assert loaded["arrays"]["bf16"].dtype == jnp.bfloat16 and loaded["arrays"]["i32"].dtype == jnp.int32
    theirs = safetensors.torch.load_file(tmp_path / "ckpt.safetensors")
    assert "model.0.weight" in theirs and "optimizer.state.0.exp_avg" in theirs
    assert theirs["arrays.i32"].dtype == torch.int32  # safetensors keeps dtypes exactly


def test_safetensors_written_by_other_tools(tmp_path):
    tensors = {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(2, dtype=torch.bfloat16),
               "c": torch.tensor([True]), "d": torch.tensor(7, dtype=torch.int64)}
    safetensors.torch.save_file(tensors, tmp_path / "hf.safetensors", metadata={"format": "pt"})
    loaded = load(tmp_path / "hf.safetensors")
    assert type(loaded) is dict
    assert_matches_torch(dict(sorted(loaded.items())), dict(sorted(tensors.items())))


def test_safetensors_refuses_what_it_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="complex128.*format='torch'"):
        save({"c": np.ones(2, np.complex128)}, tmp_path / "c.safetensors")
    with pytest.raises(ValueError, match="circular"):
        loop: list = []
        loop.append(loop)
        save({"loop": loop}, tmp_path / "l.safetensors")
    assert not list(tmp_path.iterdir())


# --- formats -----------------------------------------------------------------------------------

def test_format_choice_and_sniffing(tmp_path):
    obj = {"w": jnp.ones(2)}
    for suffix in (".pt", ".pth", ".bin", ".ckpt", ".PT"):
        save(obj, tmp_path / f"a{suffix}")
        assert (tmp_path / f"a{suffix}").read_bytes()[:2] == b"PK"
    for name in ("a.safetensors", "a", "a.npz"):
        save(obj, tmp_path / name)
        assert (tmp_path / name).read_bytes()[8:9] == b"{"
    save(obj, tmp_path / "forced.pt", format="safetensors")
    save(obj, tmp_path / "forced.safetensors", format="torch")
    # load recognises the content whatever the name says ...
    assert_same_tree(load(tmp_path / "forced.pt"), obj)
    assert_same_tree(load(tmp_path / "forced.safetensors"), obj)
    # ... and refuses the other format when told which one to expect.
    with pytest.raises(CheckpointError, match="format='safetensors'"):
        load(tmp_path / "forced.pt", format="torch")
    with pytest.raises(CheckpointError, match="format='torch'"):
        load(tmp_path / "forced.safetensors", format="safetensors")
    with pytest.raises(ValueError, match="format"):
        save(obj, tmp_path / "x", format="npz")
    with pytest.raises(ValueError, match="format"):
        load(tmp_path / "a.pt", format="pickle")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.pt")


def test_streams_without_seek(tmp_path):
    obj = {"w": jnp.arange(3.0), "n": 1}
    for fmt in ("torch", "safetensors"):
        stream = WriteOnly()
        save(obj, stream, format=fmt)
        assert_same_tree(load(ReadOnly(b"".join(stream.chunks))), obj)
    stream = WriteOnly()
    save(obj, stream, format="torch")
    (tmp_path / "s.pt").write_bytes(b"".join(stream.chunks))
    assert_matches_ours(torch.load(tmp_path / "s.pt", weights_only=True), obj)


def test_big_endian_checkpoint():
    pkl = io.BytesIO()
    CraftPickler(pkl, protocol=2).dump({"t": float_tensor("0", 3, 0, (3,), (1,))})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("archive/data.pkl", pkl.getvalue())
        zf.writestr("archive/byteorder", "big")
        zf.writestr("archive/data/0", struct.pack(">3f", 1.5, -2.0, 3.25))
    np.testing.assert_array_equal(np.asarray(load(io.BytesIO(out.getvalue()))["t"]), [1.5, -2.0, 3.25])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_legacy_and_torchscript_files_are_refused(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="legacy format"):
        load(tmp_path / "legacy.pt")
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "script.pt")
    with pytest.raises(CheckpointError, match="TorchScript"):
        load(tmp_path / "script.pt")


def test_save_refuses_unsupported_objects(tmp_path):
    for bad in ({"f": lambda: 0}, {"o": object()}, [torch.ones(1)], {"d": jnp.float32}):
        with pytest.raises(TypeError, match="cannot save"):
            save(bad, tmp_path / "bad.pt")
        with pytest.raises(TypeError, match="cannot save"):
            save(bad, tmp_path / "bad.safetensors")
    with pytest.raises(TypeError, match="traced"):
        jax.jit(lambda x: save({"x": x}, tmp_path / "traced.pt"))(jnp.ones(2))
    with pytest.raises(TypeError, match="uninitialized"):
        save({"p": tnn.UninitializedParameter()}, tmp_path / "lazy.pt")
    assert not list(tmp_path.iterdir())  # nothing written, no temporary file left


# --- safety --------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [
    lambda marker: Call(G("posix", "system"), f"touch {marker}"),
    lambda marker: Call(G("os", "system"), f"touch {marker}"),
    lambda marker: Call(G("builtins", "eval"), f"open({str(marker)!r}, 'w').close()"),
    lambda marker: Call(G("builtins", "exec"), f"open({str(marker)!r}, 'w').close()"),
    lambda marker: Call(G("subprocess", "Popen"), ["touch", str(marker)]),
    lambda marker: Call(G("builtins", "getattr"), Call(G("builtins", "__import__"), "os"), "system"),
    lambda marker: {"model": {"w": Call(G("torch.nn.modules.linear", "Linear"), 2, 2)}},
])
def test_malicious_pickles_are_refused(tmp_path, payload):
    marker = tmp_path / "pwned"
    data = crafted_checkpoint({"weights": [1, 2], "x": payload(marker)})
    with pytest.raises(UnsafeCheckpointError, match="refused to load global") as info:
        load(io.BytesIO(data))
    assert isinstance(info.value, pickle.UnpicklingError) and isinstance(info.value, CheckpointError)
    assert not marker.exists()


def test_real_torch_save_of_malicious_object_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    torch.save({"state": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(UnsafeCheckpointError, match=r"'posix\.system'|'os\.system'|'nt\.system'"):
        load(tmp_path / "evil.pt")
    assert not marker.exists()


@pytest.mark.parametrize("proto", [0, 1])
def test_object_building_opcodes_are_refused(tmp_path, proto):
    marker = tmp_path / "pwned"
    data = crafted_checkpoint(Call(G("os", "system"), f"touch {marker}"), proto=proto)
    with pytest.raises(CheckpointError):
        load(io.BytesIO(data))
    assert not marker.exists()
    inst = b"(ios\nsystem\n."  # INST: protocol 0's way of calling a global
    with pytest.raises(UnsafeCheckpointError):
        load(io.BytesIO(zip_with(inst)))
    assert not marker.exists()


def test_weights_only_false_loads_trusted_non_torch_globals():
    data = torch_bytes({"np": np.arange(3.0), "w": torch.ones(2)})
    with pytest.raises(UnsafeCheckpointError, match="numpy"):
        load(io.BytesIO(data))
    loaded = load(io.BytesIO(data), weights_only=False)
    np.testing.assert_array_equal(loaded["np"], np.arange(3.0))
    assert isinstance(loaded["w"], torchjax.Tensor)
    # torch objects other than tensors cannot be rebuilt without torch, trusted or not.
    module = crafted_checkpoint({"m": Call(G("torch.nn.modules.linear", "Linear"), 2, 2)})
    with pytest.raises(UnsafeCheckpointError, match="torch.nn.modules.linear.Linear"):
        load(io.BytesIO(module), weights_only=False)


def test_crafted_tensors_are_bounds_checked():
    storage = struct.pack("<4f", 1, 2, 3, 4)
    ok = crafted_checkpoint({"t": float_tensor("0", 4, 1, (2,), (2,))}, {"0": storage})
    np.testing.assert_array_equal(np.asarray(load(io.BytesIO(ok))["t"]), [2.0, 4.0])
    for offset, size, stride in [(0, (5,), (1,)), (3, (2,), (1,)), (0, (2, 2), (3, 1)), (4, (1,), (1,)),
                                 (-1, (1,), (1,)), (0, (2,), (-1,)), (0, (2, 2), (1,)), (0, (2,), "x")]:
        bad = crafted_checkpoint({"t": float_tensor("0", 4, offset, size, stride)}, {"0": storage})
        with pytest.raises(CheckpointError):
            load(io.BytesIO(bad))
    # The storage length must match the record; a missing record is an error.
    with pytest.raises(CheckpointError, match="bytes"):
        load(io.BytesIO(crafted_checkpoint({"t": float_tensor("0", 8, 0, (2,), (1,))}, {"0": storage})))
    with pytest.raises(CheckpointError, match="no record"):
        load(io.BytesIO(crafted_checkpoint({"t": float_tensor("1", 4, 0, (2,), (1,))}, {"0": storage})))


def test_expansion_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(serialization, "_EXPANSION_ALLOWANCE", 1 << 20)
    storage = struct.pack("<f", 1.0)
    small = crafted_checkpoint({"t": float_tensor("0", 1, 0, (1000,), (0,))}, {"0": storage})
    assert load(io.BytesIO(small))["t"].shape == (1000,)  # legit expanded tensors load
    bomb = crafted_checkpoint({"t": float_tensor("0", 1, 0, (10**6, 10**6), (0, 0))}, {"0": storage})
    with pytest.raises(CheckpointError, match="expand"):
        load(io.BytesIO(bomb))
    many = crafted_checkpoint([float_tensor("0", 1, 0, (70000 + i,), (0,)) for i in range(8)], {"0": storage})
    with pytest.raises(CheckpointError, match="expand"):
        load(io.BytesIO(many))


def test_int64_overflow_without_x64_is_an_error():
    if X64:
        pytest.skip("x64 is on: int64 loads exactly")
    with pytest.raises(CheckpointError, match="jax_enable_x64"):
        load(io.BytesIO(torch_bytes({"big": torch.tensor([2**40])})))
    buffer = io.BytesIO()
    save({"big": np.array([2**40], np.int64)}, buffer)
    with pytest.raises(CheckpointError, match="jax_enable_x64"):
        load(io.BytesIO(buffer.getvalue()))
    assert load(io.BytesIO(torch_bytes({"ok": torch.tensor([-(2**31), 2**31 - 1])})))["ok"].dtype == jnp.int32


def test_compressed_records_are_refused():
    storage = struct.pack("<4f", 1, 2, 3, 4)
    pkl = io.BytesIO()
    CraftPickler(pkl, protocol=2).dump({"t": float_tensor("0", 4, 0, (4,), (1,))})
    with pytest.raises(CheckpointError, match="compressed"):
        load(io.BytesIO(zip_with(pkl.getvalue(), {"0": storage}, compression=zipfile.ZIP_DEFLATED)))


# --- corrupted files -----------------------------------------------------------------------------

def valid_files() -> dict[str, bytes]:
    checkpoint = {"model": {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3, jnp.bfloat16)},
                  "optimizer": {"state": {0: {"step": jnp.array(1.0)}}, "param_groups": [{"lr": 0.1, "params": [0]}]},
                  "epoch": 3, "name": "x"}
    out = {}
    for fmt in ("torch", "safetensors"):
        buffer = io.BytesIO()
        save(checkpoint, buffer, format=fmt)
        out[fmt] = buffer.getvalue()
    out["torch.save"] = torch_bytes({"w": torch.arange(6.0).reshape(2, 3), "opt": {"state": {0: {"s": torch.ones(2)}}}})
    return out


VALID = valid_files()


@pytest.mark.parametrize("data", [b"", b"\x00", b"PK", b"PK\x03\x04" + b"\x00" * 40, b"not a checkpoint at all" * 10,
                                  b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}", os.urandom(4096)])
def test_junk_raises_checkpoint_error(data):
    for fmt in (None, "torch", "safetensors"):
        with pytest.raises(CheckpointError):
            load(io.BytesIO(data), format=fmt)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_truncated_files_raise_checkpoint_error(kind):
    data = VALID[kind]
    for cut in sorted({1, 7, 8, 9, 30, len(data) // 3, len(data) // 2, len(data) - 22, len(data) - 1}):
        with pytest.raises(CheckpointError):
            load(io.BytesIO(data[:cut]))


def test_corrupted_record_fails_crc():
    data = bytearray(VALID["torch"])
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("archive/data/0")
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    data[info.header_offset + 30 + name_len + extra_len + 2] ^= 0xFF
    with pytest.raises(CheckpointError, match="CRC"):
        load(io.BytesIO(bytes(data)))


def check_clean_outcome(data: bytes, fmt: str | None = None) -> None:
    start = time.monotonic()
    try:
        load(io.BytesIO(data), format=fmt)
    except CheckpointError:
        pass
    assert time.monotonic() - start < 5.0, "loading a corrupted file took too long"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(VALID)), data=st.data())
def test_fuzz_byte_flips_and_truncation(kind, data):
    original = VALID[kind]
    mutated = bytearray(original)
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(1, 255)), max_size=6))
    for position, xor in flips:
        mutated[position] ^= xor
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(original))))
    check_clean_outcome(bytes(mutated[:cut] if cut is not None else mutated))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_pickle_interpreter(data):
    """Mutated data.pkl inside a well-formed zip (valid CRCs): the interpreter itself must fail cleanly."""
    with zipfile.ZipFile(io.BytesIO(VALID["torch.save"])) as zf:
        prefix = next(n for n in zf.namelist() if n.endswith("/data.pkl"))[: -len("data.pkl")]
        records = {n[len(prefix) + len("data/"):]: zf.read(n) for n in zf.namelist() if "/data/" in n}
        pkl = bytearray(zf.read(prefix + "data.pkl"))
    for position, value in data.draw(st.lists(st.tuples(st.integers(0, len(pkl) - 1), st.integers(0, 255)),
                                              min_size=1, max_size=4)):
        pkl[position] = value
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(pkl))))
    check_clean_outcome(zip_with(bytes(pkl[:cut] if cut is not None else pkl), records), fmt="torch")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_safetensors_tree_metadata(data):
    """A well-formed safetensors file whose torchjax.tree JSON is mutated fails cleanly."""
    original = VALID["safetensors"]
    header_len = struct.unpack("<Q", original[:8])[0]
    header = json.loads(original[8:8 + header_len])
    tree = bytearray(header["__metadata__"]["torchjax.tree"].encode())
    for position, value in data.draw(st.lists(st.tuples(st.integers(0, len(tree) - 1), st.integers(32, 126)),
                                              min_size=1, max_size=4)):
        tree[position] = value
    header["__metadata__"]["torchjax.tree"] = tree.decode()
    new_header = json.dumps(header).encode()
    new_header += b" " * (-len(new_header) % 8)
    check_clean_outcome(struct.pack("<Q", len(new_header)) + new_header + original[8 + header_len:])


# --- atomic writes -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ckpt.pt", "ckpt.safetensors"])
def test_interrupted_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch, name):
    path = tmp_path / name
    save({"w": jnp.zeros(3), "epoch": 1}, path)
    before = path.read_bytes()
    new = {"w": jnp.ones(300), "b": jnp.ones(3), "epoch": 2}

    if name.endswith(".pt"):
        calls = []
        real = serialization._write_record

        def failing_write_record(writer, record, payload):
            calls.append(record)
            if len(calls) == 6:  # data.pkl, small records and a storage are already written
                raise OSError("disk full")
            return real(writer, record, payload)

        monkeypatch.setattr(serialization, "_write_record", failing_write_record)
    else:
        real_serialize_file = safetensors.serialize_file

        def failing_serialize_file(specs, filename, metadata=None):
            real_serialize_file(specs, filename, metadata=metadata)
            with open(filename, "r+b") as fh:
                fh.truncate(40)  # half written
            raise OSError("disk full")

        monkeypatch.setattr(safetensors, "serialize_file", failing_serialize_file)
    with pytest.raises(OSError, match="disk full"):
        save(new, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    monkeypatch.undo()
    # A failing fsync (after all data is written) also leaves the old file.
    def failing_fsync(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(serialization, "_fsync", failing_fsync)
    with pytest.raises(OSError, match="fsync failed"):
        save(new, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    monkeypatch.undo()
    save(new, path)
    assert_same_tree(load(path), new)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_overwrite_keeps_permissions_and_follows_symlinks(tmp_path):
    target = tmp_path / "real.pt"
    save({"w": jnp.zeros(2)}, target)
    os.chmod(target, 0o640)
    link = tmp_path / "link.pt"
    link.symlink_to(target)
    save({"w": jnp.ones(2)}, link)
    assert link.is_symlink()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    np.testing.assert_array_equal(np.asarray(load(target)["w"]), np.ones(2))

"""Process settings (threads, determinism, matmul precision, default device and tensor type, autocast, anomaly
and inference flags, warnings), the predicates (``typename``, ``is_storage``, ``is_same_size``, ``is_signed``,
``get_device``, ...), and the tensor-attribute types and dtypes (``dtype``, ``layout``, ``memory_format``,
float8 and unsigned dtypes) against torch: each getter returns what its setter set, defaults and errors as
torch's. Every test restores what it changes, in both libraries."""

from __future__ import annotations

import contextlib
import pickle

import jax
import numpy as np
import pytest
import torch
from parity import raises_same

import torchjax as tj


@contextlib.contextmanager
def restored(getter_setter_pairs):
    saved = [(lib_get(), lib_set) for lib_get, lib_set in getter_setter_pairs]
    try:
        yield
    finally:
        for value, setter in saved:
            setter(value)


def both(name):
    return getattr(torch, name), getattr(tj, name)


def test_threads():
    with restored([(tj.get_num_threads, tj.set_num_threads), (tj.get_num_interop_threads, tj.set_num_interop_threads)]):
        assert tj.get_num_threads() >= 1 and tj.get_num_interop_threads() >= 1
        tj.set_num_threads(3)
        tj.set_num_interop_threads(5)
        assert (tj.get_num_threads(), tj.get_num_interop_threads()) == (3, 5)
        assert tj.init_num_threads() is None and torch.init_num_threads() is None
        for name in ("set_num_threads", "set_num_interop_threads"):
            theirs, ours = both(name)
            raises_same(lambda theirs=theirs: theirs(0), lambda ours=ours: ours(0))
            raises_same(lambda theirs=theirs: theirs(1.5), lambda ours=ours: ours(1.5))


def test_determinism():
    assert tj.are_deterministic_algorithms_enabled() == torch.are_deterministic_algorithms_enabled() is False
    assert tj.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode() == 0
    try:
        for lib in (torch, tj):
            lib.use_deterministic_algorithms(True, warn_only=True)
            assert lib.are_deterministic_algorithms_enabled() and lib.is_deterministic_algorithms_warn_only_enabled()
            assert lib.get_deterministic_debug_mode() == 1
            lib.set_deterministic_debug_mode("error")
            assert lib.get_deterministic_debug_mode() == 2 and not lib.is_deterministic_algorithms_warn_only_enabled()
            lib.set_deterministic_debug_mode(0)
            assert not lib.are_deterministic_algorithms_enabled()
        for bad in ("sometimes", 3, 1.0):
            raises_same(lambda bad=bad: torch.set_deterministic_debug_mode(bad),
                        lambda bad=bad: tj.set_deterministic_debug_mode(bad))
        raises_same(lambda: torch.use_deterministic_algorithms(1), lambda: tj.use_deterministic_algorithms(1))
    finally:
        torch.use_deterministic_algorithms(False)
        tj.use_deterministic_algorithms(False)


def test_float32_matmul_precision_sets_jax_precision():
    expected = {"cpu": "highest", "gpu": "high", "tpu": "medium"}[jax.default_backend()]  # what XLA does unset
    if jax.default_backend() == "gpu" and float(jax.devices()[0].compute_capability) < 8:
        expected = "highest"  # no TF32 before Ampere
    assert tj.get_float32_matmul_precision() == expected and torch.get_float32_matmul_precision() == "highest"
    try:
        for name, jax_name in (("medium", "bfloat16"), ("high", "high"), ("highest", "highest")):
            tj.set_float32_matmul_precision(name)
            assert tj.get_float32_matmul_precision() == name
            assert jax.config.jax_default_matmul_precision == jax_name
        with pytest.warns(UserWarning, match="no effect"):
            tj.set_float32_matmul_precision("low")
        assert tj.get_float32_matmul_precision() == "highest"
    finally:
        jax.config.update("jax_default_matmul_precision", None)


def test_default_device():
    # JAX's default device is the first accelerator when there is one (torch's stays the CPU).
    assert str(tj.get_default_device()) == ("cpu" if jax.default_backend() == "cpu" else "cuda:0")
    try:
        tj.set_default_device("cpu")
        assert tj.get_default_device() == tj.device("cpu")
        assert tj.ones(2).device == tj.device("cpu")
        raises_same(lambda: torch.set_default_device("nonsense"), lambda: tj.set_default_device("nonsense"))
    finally:
        tj.set_default_device(None)
    assert jax.config.jax_default_device is None


def test_set_default_tensor_type():
    try:
        with pytest.warns(UserWarning, match="deprecated"):
            tj.set_default_tensor_type("torch.HalfTensor")
        assert tj.get_default_dtype() == tj.float16 and tj.ones(1).dtype == tj.float16
        with pytest.warns(UserWarning):
            raises_same(lambda: torch.set_default_tensor_type("torch.IntTensor"),
                        lambda: tj.set_default_tensor_type("torch.IntTensor"))
    finally:
        tj.set_default_dtype(tj.float32)


def test_autocast_settings():
    assert tj.is_autocast_enabled() == torch.is_autocast_enabled() is False
    assert tj.is_autocast_enabled("cpu") == torch.is_autocast_enabled("cpu") is False
    for device in ("cpu", "cuda", "xla", "ipu", "mps"):
        assert tj.get_autocast_dtype(device) == getattr(tj, str(torch.get_autocast_dtype(device)).split(".")[1])
    for spelling in ("cpu", "gpu", "ipu", "xla"):
        with pytest.warns(DeprecationWarning, match=f"get_autocast_{spelling}_dtype"):
            ours = getattr(tj, f"get_autocast_{spelling}_dtype")()
        with pytest.warns(DeprecationWarning):
            theirs = getattr(torch, f"get_autocast_{spelling}_dtype")()
        assert ours == tj.get_autocast_dtype({"gpu": "cuda"}.get(spelling, spelling))
        assert str(ours) == str(theirs).split(".")[1]
    try:
        tj.set_autocast_dtype("cpu", tj.float16)
        assert tj.get_autocast_dtype("cpu") == tj.float16
        with pytest.warns(DeprecationWarning):
            tj.set_autocast_gpu_dtype(tj.bfloat16)
        assert tj.get_autocast_dtype("cuda") == tj.bfloat16
        tj.set_autocast_enabled("cpu", False)
        with pytest.warns(DeprecationWarning):
            tj.set_autocast_cpu_enabled(False)
            assert not tj.is_autocast_cpu_enabled() and not tj.is_autocast_xla_enabled()
        with pytest.raises(NotImplementedError, match="autocast"):  # never computes in float32 silently
            tj.set_autocast_enabled("cuda", True)
        raises_same(lambda: torch.set_autocast_enabled("cpu", 1), lambda: tj.set_autocast_enabled("cpu", 1))
        raises_same(lambda: torch.get_autocast_dtype("nonsense"), lambda: tj.get_autocast_dtype("nonsense"))
        assert tj.is_autocast_cache_enabled() == torch.is_autocast_cache_enabled() is True
        tj.set_autocast_cache_enabled(False)
        assert not tj.is_autocast_cache_enabled()
        assert tj.clear_autocast_cache() is None
    finally:
        tj.set_autocast_dtype("cpu", tj.bfloat16)
        tj.set_autocast_dtype("cuda", tj.float16)
        tj.set_autocast_cache_enabled(True)


def test_anomaly_inference_and_warning_flags():
    for lib in (torch, tj):
        assert (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()) == (False, True)
        try:
            lib.set_anomaly_enabled(True, False)
            assert (lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()) == (True, False)
        finally:
            lib.set_anomaly_enabled(False)
        assert not lib.is_inference_mode_enabled()
        with lib.inference_mode():
            assert lib.is_inference_mode_enabled() and not lib.is_grad_enabled()
            with lib.inference_mode(False):
                assert not lib.is_inference_mode_enabled() and lib.is_grad_enabled()
            assert lib.is_inference_mode_enabled()
        assert not lib.is_inference_mode_enabled()
        assert lib.is_warn_always_enabled() is False
        try:
            lib.set_warn_always(True)
            assert lib.is_warn_always_enabled()
        finally:
            lib.set_warn_always(False)
    assert tj.set_flush_denormal(True) is False  # XLA decides; nothing changed
    assert tj.is_vulkan_available() == torch.is_vulkan_available() is False


def test_predicates():
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    for lib in (torch, tj):
        x = lib.tensor(values)
        assert lib.typename(x) == "torch.FloatTensor"
        assert lib.is_same_size(x, x + 1) and not lib.is_same_size(x, x[0]) and x.is_same_size(x * 2)
        assert lib.is_signed(x) and not lib.is_signed(x.to(lib.uint8)) and not lib.is_signed(x.bool())
        assert lib.get_device(x) == -1
        assert lib.is_distributed(x) is False and x.is_distributed() is False
        assert lib.is_storage(x) is False and lib.is_storage([1]) is False
    assert tj.typename(3) == torch.typename(3) == "int"
    assert tj.typename(tj.nn.Linear(2, 2)) == "torchjax.nn.modules.linear.Linear"
    for name in ("is_same_size", "is_signed", "get_device", "is_distributed"):
        theirs, ours = both(name)
        args = (3, 3) if name == "is_same_size" else (3,)
        raises_same(lambda theirs=theirs, args=args: theirs(*args), lambda ours=ours, args=args: ours(*args))


def test_dtype_layout_and_memory_format():
    assert isinstance(tj.float32, tj.dtype) and isinstance(tj.ones(1).dtype, tj.dtype)
    assert tj.ones(2).layout is tj.strided and isinstance(tj.strided, tj.layout)
    assert repr(tj.strided) == "torchjax.strided" and repr(tj.channels_last) == "torchjax.channels_last"
    for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
        fmt = getattr(tj, name)
        assert isinstance(fmt, tj.memory_format) and isinstance(getattr(torch, name), torch.memory_format)
        assert pickle.loads(pickle.dumps(fmt)) is fmt
        assert tj.ones(1, 2, 3, 4).contiguous(memory_format=fmt).shape == (1, 2, 3, 4)
    assert pickle.loads(pickle.dumps(tj.strided)) is tj.strided


@pytest.mark.parametrize("name", ["uint16", "uint32", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2",
                                  "float8_e5m2fnuz", "float8_e8m0fnu"])
def test_more_dtypes(name):
    values = np.array([0.5, 1.0, 2.0, 8.0], np.float32)
    theirs = torch.tensor(values).to(getattr(torch, name))
    ours = tj.tensor(values).to(getattr(tj, name))
    assert str(ours.dtype) == name and ours.element_size() == theirs.element_size()
    np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())
    assert tj.zeros(3, dtype=getattr(tj, name)).dtype == getattr(tj, name)


def test_uint64_needs_x64_like_int64():
    assert tj.uint64.itemsize == 8
    with pytest.raises(RuntimeError, match="64-bit"):
        tj.zeros(2, dtype=tj.uint64)


def test_backend_predicates_are_false():
    x = np.ones((2, 2), np.float32)
    for name in ("is_ipu", "is_maia", "is_mps", "is_mtia", "is_nested", "is_sparse_csr", "is_vulkan", "is_xla",
                 "is_xpu"):
        assert getattr(tj.tensor(x), name) is getattr(torch.tensor(x), name) is False
    for name in ("is_pinned", "is_shared"):
        assert getattr(tj.tensor(x), name)() is getattr(torch.tensor(x), name)() is False


LEGACY = [
    ("new_sizes", lambda lib, x: x.new(2, 3).shape),
    ("new_size", lambda lib, x: x.new(lib.Size([2])).shape),
    ("new_data", lambda lib, x: x.int().new([1.5, 2.0])),
    ("new_empty", lambda lib, x: x.new()),
    ("new_tensor_argument", lambda lib, x: x.new(x * 2)),
    ("new_tensor_other_dtype", lambda lib, x: x.new(x.int())),
    ("new_empty_strided", lambda lib, x: x.new_empty_strided((2, 3), (3, 1)).shape),
    ("dim_order", lambda lib, x: x.dim_order()),
    ("reinforce", lambda lib, x: x.reinforce(1.0)),
    ("sum_to_size", lambda lib, x: x.sum_to_size(1, 4)),
    ("sum_to_size_tuple", lambda lib, x: x.sum_to_size((3, 1))),
    ("sum_to_size_fewer_dims", lambda lib, x: x.sum_to_size(4)),
    ("sum_to_size_same", lambda lib, x: x.sum_to_size(3, 4)),
    ("sum_to_size_bad", lambda lib, x: x.sum_to_size(2, 4)),
    ("fill_diagonal_", lambda lib, x: x.fill_diagonal_(9.5)),
    ("fill_diagonal_tall_wrap", lambda lib, x: lib.zeros(7, 3).fill_diagonal_(1, wrap=True)),
    ("fill_diagonal_tall", lambda lib, x: lib.zeros(5, 3).fill_diagonal_(2)),
    ("fill_diagonal_cube_int", lambda lib, x: lib.zeros(2, 2, 2, dtype=lib.int32).fill_diagonal_(3.7)),
    ("fill_diagonal_uneven", lambda lib, x: lib.zeros(2, 3, 2).fill_diagonal_(1)),
    ("fill_diagonal_1d", lambda lib, x: lib.zeros(3).fill_diagonal_(1)),
]


@pytest.mark.parametrize("fn", [c[1] for c in LEGACY], ids=[c[0] for c in LEGACY])
def test_legacy_members(fn):
    from parity import check_op

    check_op(fn, np.arange(12, dtype=np.float32).reshape(3, 4))


def test_volatile_warns_and_cdouble_needs_x64():
    with pytest.warns(UserWarning, match="volatile was removed"):
        assert tj.ones(1).volatile is False
    with pytest.raises(RuntimeError, match="64-bit"):
        tj.ones(1).cdouble()
    x = tj.ones(3, 3)
    assert x.fill_diagonal_(0) is x and float(x.sum()) == 6

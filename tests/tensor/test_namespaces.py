"""torchjax.cuda, torchjax.backends, torchjax.nn.parallel and the dtype/tensor queries of torchjax._torch.misc."""

import subprocess
import sys

import jax
import numpy as np
import pytest
import torch
from parity import assert_close, load_torch_state, raises_same

import torchjax
import torchjax.backends
import torchjax.cuda
import torchjax.nn as tnn
import torchjax.nn.parallel
from torchjax._tensor import OPS
from torchjax._torch import misc

_GPUS = [d for d in jax.devices() if d.platform == "gpu"]
# torch's 64-bit dtypes are stored in 32 bits here (JAX without x64).
# JAX has no complex32: torch's float16 and complex number promote to it, here to complex64.
_STORED = {"int64": "int32", "float64": "float32", "complex128": "complex64", "complex32": "complex64"}


def _name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _ours(torch_dtype):
    return getattr(torchjax, _name(torch_dtype))


# --- torchjax.cuda --------------------------------------------------------------------------------
def test_cuda_counts_what_jax_sees():
    assert torchjax.cuda.is_available() is bool(_GPUS)
    assert torchjax.cuda.device_count() == len(_GPUS)
    assert torchjax.cuda.is_initialized() is bool(_GPUS)


@pytest.mark.skipif(bool(_GPUS), reason="checks the no-GPU answers")
def test_cuda_without_gpu():
    assert torchjax.cuda.is_bf16_supported() is torch.cuda.is_bf16_supported() is False
    assert torchjax.cuda.memory_allocated() == torchjax.cuda.max_memory_allocated() == 0
    assert torchjax.cuda.memory_stats() == {}
    for query in (torchjax.cuda.current_device, torchjax.cuda.get_device_name, torchjax.cuda.get_device_capability):
        with pytest.raises(RuntimeError, match="No CUDA GPUs"):
            query()


@pytest.mark.skipif(not _GPUS, reason="needs a GPU that JAX sees")
def test_cuda_with_gpu():
    assert torchjax.cuda.current_device() == 0
    assert torchjax.cuda.get_device_name() == torchjax.cuda.get_device_name(0) == _GPUS[0].device_kind
    assert torchjax.cuda.get_device_name("cuda:0") == _GPUS[0].device_kind
    major, minor = torchjax.cuda.get_device_capability()
    assert torchjax.cuda.is_bf16_supported(including_emulation=False) is (major >= 8)
    x = jax.device_put(np.ones((256, 256), np.float32), _GPUS[0])
    assert torchjax.cuda.memory_allocated() >= x.nbytes
    assert torchjax.cuda.max_memory_allocated() >= torchjax.cuda.memory_allocated()
    assert torchjax.cuda.get_device_properties(0).total_memory > 0


@pytest.mark.parametrize("seed_fn", ["manual_seed", "manual_seed_all"])
def test_cuda_seeding_seeds_the_generator(seed_fn):
    torchjax.manual_seed(7)
    getattr(torchjax.cuda, seed_fn)(123)
    state = np.asarray(torchjax.get_rng_state())
    assert torchjax.cuda.initial_seed() == torchjax.initial_seed() == 123
    torchjax.manual_seed(7)
    assert not np.array_equal(np.asarray(torchjax.get_rng_state()), state)
    torchjax.manual_seed(123)
    np.testing.assert_array_equal(np.asarray(torchjax.get_rng_state()), state)


def test_cuda_no_ops():
    assert torchjax.cuda.synchronize() is None
    assert torchjax.cuda.empty_cache() is None
    assert torchjax.cuda.reset_peak_memory_stats() is None


# --- torchjax.backends ----------------------------------------------------------------------------
FLAGS = [
    ("cudnn", "enabled"), ("cudnn", "benchmark"), ("cudnn", "deterministic"), ("cudnn", "allow_tf32"),
    ("cuda.matmul", "allow_tf32"),
    ("cuda.matmul", "allow_fp16_reduced_precision_reduction"),
    ("cuda.matmul", "allow_bf16_reduced_precision_reduction"), ("opt_einsum", "enabled"),
    ("opt_einsum", "strategy"), ("mkldnn", "enabled"),
]


def _resolve(root, path):
    for part in path.split("."):
        root = getattr(root, part)
    return root


@pytest.mark.parametrize(("where", "flag"), FLAGS, ids=lambda v: v)
def test_backend_flags_default_as_torch_and_are_settable(where, flag):
    ours = _resolve(torchjax.backends, where)
    assert getattr(ours, flag) == getattr(_resolve(torch.backends, where), flag)
    old = getattr(ours, flag)
    new = "greedy" if isinstance(old, str) else (not old if isinstance(old, bool) else old + 1)
    setattr(ours, flag, new)
    try:
        assert getattr(_resolve(torchjax.backends, where), flag) == new
    finally:
        setattr(ours, flag, old)


def test_backend_queries():
    assert torchjax.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert torchjax.backends.mps.is_built() is False
    assert torchjax.backends.opt_einsum.is_available() is True
    assert torchjax.backends.cudnn.is_available() is torchjax.backends.cuda.is_built() is bool(_GPUS)
    sdp = torchjax.backends.cuda
    assert sdp.flash_sdp_enabled() == torch.backends.cuda.flash_sdp_enabled()
    sdp.enable_flash_sdp(False)
    try:
        assert sdp.flash_sdp_enabled() is False
    finally:
        sdp.enable_flash_sdp(True)


def test_cudnn_flags_context_restores():
    cudnn = torchjax.backends.cudnn
    with cudnn.flags(enabled=False, benchmark=True, deterministic=True):
        assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (False, True, True)
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (True, False, False)


# --- torchjax.nn.parallel -------------------------------------------------------------------------
def _pair(lib):
    return lib.Sequential(lib.Linear(3, 4), lib.ReLU(), lib.BatchNorm1d(4), lib.Linear(4, 2))


def test_data_parallel_state_dict_and_output():
    torch.manual_seed(0)
    theirs = torch.nn.DataParallel(_pair(torch.nn))
    ours = torchjax.nn.parallel.DataParallel(_pair(tnn))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert ours.device_ids == theirs.device_ids == []  # no GPU seen by either: torch also just runs the module
    load_torch_state(ours, theirs)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    assert_close(ours(torchjax.as_tensor(x)), theirs(torch.tensor(x)).detach(), atol=1e-5)
    assert ours.module is ours._modules["module"]


def test_data_parallel_function_runs_the_module():
    torch.manual_seed(0)
    theirs, ours = _pair(torch.nn).eval(), _pair(tnn).eval()
    load_torch_state(ours, theirs)
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    out = torchjax.nn.parallel.data_parallel(ours, torchjax.as_tensor(x))
    assert_close(out, theirs(torch.tensor(x)).detach())
    # torch refuses without a GPU; here the module runs wherever its inputs are.
    with pytest.raises(RuntimeError, match="device type could not be determined"):
        torch.nn.parallel.data_parallel(theirs, torch.tensor(x))


# --- dtype and tensor queries ---------------------------------------------------------------------
FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64]
INTS = [torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_finfo(dtype):
    ours, theirs = misc.finfo(_ours(dtype)), torch.finfo(dtype)
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert repr(ours) == repr(theirs)


def test_finfo_default_and_errors():
    assert repr(misc.finfo()) == repr(torch.finfo())
    raises_same(lambda: torch.finfo(torch.int32), lambda: misc.finfo(torchjax.int32))
    raises_same(lambda: torch.iinfo(torch.float32), lambda: misc.iinfo(torchjax.float32))


@pytest.mark.parametrize("dtype", INTS, ids=str)
def test_iinfo(dtype):
    ours, theirs = misc.iinfo(_ours(dtype)), torch.iinfo(dtype)
    assert (ours.bits, ours.max, ours.min, ours.dtype) == (theirs.bits, theirs.max, theirs.min, theirs.dtype)
    assert repr(ours) == repr(theirs)


DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int32, torch.float16, torch.bfloat16, torch.float32,
          torch.complex64]


@pytest.mark.parametrize("a", DTYPES, ids=str)
def test_promote_types_and_can_cast(a):
    for b in DTYPES:
        expected = _name(torch.promote_types(a, b))
        assert misc.promote_types(_ours(a), _ours(b)).name == _STORED.get(expected, expected), (a, b)
        assert misc.can_cast(_ours(a), _ours(b)) is torch.can_cast(a, b), (a, b)


OPERANDS = {
    "int_tensor": (np.array([1, 2], np.int64), None), "float_tensor": (np.array([1.0], np.float32), None),
    "half_tensor": (np.array([1.0], np.float32), "float16"), "uint8_0d": (np.array(3, np.int64), "uint8"),
    "bool_tensor": (np.array([True]), None), "int": (2, None), "float": (2.5, None), "bool": (True, None),
    "complex": (1j, None),
}


def _operand(name, lib):
    value, dtype = OPERANDS[name]
    if not isinstance(value, np.ndarray):
        return value
    if lib is torch:
        t = torch.tensor(value)
        return t if dtype is None else t.to(getattr(torch, dtype))
    t = torchjax.as_tensor(value.astype(np.int32) if value.dtype == np.int64 else value)
    return t if dtype is None else t.to(getattr(torchjax, dtype))


@pytest.mark.parametrize("first", ["int_tensor", "float_tensor", "half_tensor", "uint8_0d", "bool_tensor"])
def test_result_type(first):
    for second in OPERANDS:
        expected = _name(torch.result_type(_operand(first, torch), _operand(second, torch)))
        ours = misc.result_type(_operand(first, torchjax), _operand(second, torchjax))
        assert ours.name == _STORED.get(expected, expected), (first, second)


@pytest.mark.parametrize("name", ["int_tensor", "float_tensor", "half_tensor", "uint8_0d", "bool_tensor"])
def test_tensor_queries(name):
    theirs, ours = _operand(name, torch), _operand(name, torchjax)
    assert misc.is_floating_point(ours) is torch.is_floating_point(theirs)
    assert OPS["is_complex"](ours) is torch.is_complex(theirs)
    assert misc.numel(ours) == torch.numel(theirs)
    assert misc.is_tensor(ours) and not misc.is_tensor(np.ones(2))
    if theirs.numel() == 1:
        assert misc.is_nonzero(ours) is torch.is_nonzero(theirs) is ours.is_nonzero()


def test_query_errors():
    raises_same(lambda: torch.is_nonzero(torch.ones(2)), lambda: misc.is_nonzero(torchjax.ones(2)))
    raises_same(lambda: torch.is_nonzero(torch.ones(0)), lambda: misc.is_nonzero(torchjax.ones(0)))
    raises_same(lambda: torch.is_floating_point(1.0), lambda: misc.is_floating_point(1.0))
    raises_same(lambda: torch.numel([1, 2]), lambda: misc.numel([1, 2]))


def test_complex_queries():
    theirs = torch.tensor([1 + 1j])
    ours = torchjax.as_tensor(np.array([1 + 1j], np.complex64))
    assert OPS["is_complex"](ours) is torch.is_complex(theirs) is True
    assert misc.is_floating_point(ours) is torch.is_floating_point(theirs) is False


def test_public_names():
    # In a fresh interpreter: `import torchjax` alone must expose them, as `import torch` does.
    code = ("import torchjax\n"
            "torchjax.cuda.is_available(); torchjax.backends.cudnn.benchmark; torchjax.nn.parallel.DataParallel\n"
            "for name in ('finfo', 'iinfo', 'result_type', 'promote_types', 'can_cast', 'is_nonzero', 'numel',\n"
            "             'is_floating_point', 'is_complex', 'is_tensor', 'set_printoptions'):\n"
            "    getattr(torchjax, name)\n"
            "torchjax.nn.DataParallel\n"
            "torchjax.utils.data.DataLoader, torchjax.utils.data.TensorDataset\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]

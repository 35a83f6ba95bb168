"""repr(tensor) against torch's printed strings ('torch.' read as 'torchjax.', int64 as int32)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import torchjax
from torchjax import _tensor_str

rng = np.random.default_rng(0)
_normal = rng.standard_normal

# name -> (numpy values, dtype name for both libraries; None: the values' own dtype)
CASES = {
    "float_vector": (np.array([1.5, 2.0, -3.25], np.float32), None),
    "integer_valued_float": (np.array([1.0, 2.0, -30.0], np.float32), None),
    "matrix": (_normal((3, 4)).astype(np.float32), None),
    "cube_sci": ((_normal((2, 3, 4)) * 1e5).astype(np.float32), None),
    "small_sci": (np.array([1e-5, 1.0, 0.5], np.float32), None),
    "large_sci": (np.array([1e10, 1.0], np.float32), None),
    "int_valued_sci": (np.array([1e9, 1.0], np.float32), None),
    "nonfinite": (np.array([np.inf, -np.inf, np.nan, 0.0], np.float32), None),
    "nonfinite_mixed": (np.array([np.inf, 1.5, np.nan], np.float32), None),
    "zeros": (np.zeros((2, 2), np.float32), None),
    "negative_zero": (np.array([-0.0, 1.0], np.float32), None),
    "scalar_float": (np.array(3.25, np.float32), None),
    "scalar_int": (np.array(-7, np.int64), None),
    "scalar_bool": (np.array(True), None),
    "empty_2d": (np.zeros((0, 3), np.float32), None),
    "empty_1d_int": (np.zeros((0,), np.int64), None),
    "empty_3d_half": (np.zeros((2, 0, 1), np.float32), "float16"),
    "long_vector_wraps": (_normal(40).astype(np.float32), None),
    "summarized_matrix": (np.arange(2000, dtype=np.float32).reshape(40, 50), None),
    "summarized_vector": (np.arange(1001, dtype=np.int64), None),
    "summarized_cube": (_normal((12, 12, 12)).astype(np.float32), None),
    "bool": (np.array([[True, False], [False, True]]), None),
    "int_matrix": (rng.integers(-100, 100, (3, 30)).astype(np.int64), None),
    "int16": (rng.integers(-5, 5, (4,)).astype(np.int64), "int16"),
    "int8": (rng.integers(-5, 5, (4,)).astype(np.int64), "int8"),
    "uint8": (rng.integers(0, 255, (2, 3)).astype(np.int64), "uint8"),
    "float16": (_normal((4, 30)).astype(np.float32), "float16"),
    "bfloat16": (_normal((3,)).astype(np.float32), "bfloat16"),
    "complex": ((_normal((2, 2)) + 1j * _normal((2, 2))).astype(np.complex64), None),
    "complex_signs": (np.array([1 + 2j, -0.5j, 3 - 0j], np.complex64), None),
    "complex_scalar": (np.array(1 - 1j, np.complex64), None),
    "complex_summarized": ((_normal(1200) + 1j * _normal(1200)).astype(np.complex64), None),
}
# torch's int64 is our int32 (JAX without x64); dtypes torch has but we would store differently.
_OURS = {"int64": "int32"}


def _pair(values, dtype):
    theirs = torch.tensor(values)
    ours = torchjax.as_tensor(jnp.asarray(values.astype(np.int32) if values.dtype == np.int64 else values))
    if dtype is not None:
        theirs, ours = theirs.to(getattr(torch, dtype)), ours.to(getattr(torchjax, dtype))
    return theirs, ours


def _expected(theirs) -> str:
    text = repr(theirs).replace("torch.", "torchjax.")
    for torch_name, name in _OURS.items():
        text = text.replace(f"torchjax.{torch_name}", f"torchjax.{name}")
    return text


@pytest.fixture
def options():
    """Set the same print options in both libraries; restore the defaults afterwards."""
    def set_both(**kwargs):
        torch.set_printoptions(**kwargs)
        torchjax._tensor_str.set_printoptions(**kwargs)

    yield set_both
    torch.set_printoptions(profile="default")
    _tensor_str.set_printoptions(profile="default")


@pytest.mark.parametrize("name", CASES)
def test_repr_matches_torch(name):
    theirs, ours = _pair(*CASES[name])
    assert repr(ours) == _expected(theirs)
    assert str(ours) == str(theirs).replace("torch.", "torchjax.").replace("int64", "int32")


OPTION_SETS = [
    {"precision": 2}, {"precision": 6}, {"sci_mode": True}, {"sci_mode": False}, {"threshold": 5},
    {"threshold": 5, "edgeitems": 1}, {"threshold": 5, "edgeitems": 0}, {"linewidth": 40}, {"profile": "short"},
    {"profile": "full"}, {"profile": "short", "precision": 3},
]


@pytest.mark.parametrize("kwargs", OPTION_SETS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
@pytest.mark.parametrize("name", ["matrix", "cube_sci", "summarized_matrix", "int_matrix", "complex", "float16",
                                  "scalar_float", "long_vector_wraps"])
def test_repr_with_printoptions(options, kwargs, name):
    options(**kwargs)
    theirs, ours = _pair(*CASES[name])
    assert repr(ours) == _expected(theirs)


def test_get_printoptions_and_context(options):
    options(precision=2, linewidth=60)
    assert _tensor_str.get_printoptions() == torch._tensor_str.get_printoptions()
    with _tensor_str.printoptions(precision=7):
        assert _tensor_str.get_printoptions()["precision"] == 7
    assert _tensor_str.get_printoptions()["precision"] == 2


@pytest.mark.parametrize("name", ["float_vector", "summarized_matrix", "empty_2d", "float16", "scalar_float"])
def test_requires_grad_suffix(name):
    values, dtype = CASES[name]
    theirs, ours = _pair(values, dtype)
    theirs.requires_grad_()
    ours.requires_grad_()
    assert repr(ours) == _expected(theirs)


def test_suffixes_wrap_at_linewidth(options):
    # A last line close to the width pushes the suffixes onto their own lines, as in torch.
    options(linewidth=30)
    theirs, ours = _pair(np.array([1.25, 2.5, 3.75, 4.125], np.float32), "float16")
    theirs.requires_grad_()
    ours.requires_grad_()
    assert _expected(theirs).splitlines()[-1].lstrip().startswith("requires_grad=True")
    assert repr(ours) == _expected(theirs)


def test_int32_is_the_default_integer():
    # Without x64 int32 stands for torch's int64: no dtype suffix (torch prints one for its int32).
    values = CASES["int_matrix"][0]
    ours = torchjax.as_tensor(jnp.asarray(values, jnp.int32))
    assert repr(ours) == repr(torch.tensor(values, dtype=torch.int64))
    assert "dtype=torch.int32" in repr(torch.tensor(values, dtype=torch.int32))


class Parameter(torchjax.Tensor):
    """Stands in for torchjax.nn.Parameter once it is a Tensor subclass (the repr keys on the class name)."""


class MyTensor(torchjax.Tensor):
    pass


def test_parameter_repr():
    values = CASES["matrix"][0]
    theirs = torch.nn.Parameter(torch.tensor(values))
    ours = Parameter(values)
    ours.requires_grad_()
    assert repr(ours) == _expected(theirs)
    frozen = torch.nn.Parameter(torch.tensor(values), requires_grad=False)
    ours.requires_grad_(False)
    assert repr(ours) == _expected(frozen)


def test_subclass_prefix():
    # torch names a tensor subclass in the prefix; the indent follows its length.
    class MyTorchTensor(torch.Tensor):
        pass

    values = CASES["matrix"][0]
    theirs = torch.tensor(values).as_subclass(MyTorchTensor)
    assert repr(MyTensor(values)) == _expected(theirs).replace("MyTorchTensor(", "MyTensor(").replace(
        " " * len("MyTorchTensor("), " " * len("MyTensor("))


def test_default_dtype_changes_the_suffix():
    # float32 prints its dtype once the default float is another dtype (float16 is allowed without x64).
    theirs, ours = _pair(CASES["float_vector"][0], None)
    torch.set_default_dtype(torch.float64)
    try:
        torch_text = repr(theirs)
    finally:
        torch.set_default_dtype(torch.float32)
    assert "dtype=torch.float32" in torch_text
    torchjax.set_default_dtype(torchjax.float16)
    try:
        assert repr(ours) == torch_text.replace("torch.", "torchjax.")
        assert repr(ours.half()) == repr(torch.tensor(CASES["float_vector"][0]).half()).split(", dtype")[0] + ")"
    finally:
        torchjax.set_default_dtype(torchjax.float32)


def test_traced_tensor_prints_safely():
    seen = []

    @jax.jit
    def fn(a):
        seen.append(repr(torchjax.as_tensor(a)))
        return a

    fn(jnp.zeros((2, 3), jnp.float32))
    assert seen == ["tensor(<traced float32[2, 3]>)"]


def test_summarized_copies_only_the_edges():
    # A summarized tensor is printed from its edge items: the middle is never read.
    big = jnp.arange(10_000, dtype=jnp.float32).reshape(100, 100)
    values, elided = _tensor_str._edges(big)
    assert values.shape == (6, 6) and elided == (True, True)

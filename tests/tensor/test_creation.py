"""torch's creation functions (tensor, as_tensor, zeros, full, arange, linspace, eye, ...) against torch."""

from __future__ import annotations

import warnings

import jax
import numpy as np
import pytest
import torch
from parity import raises_same

import torchjax

_NARROW = {"int64": "int32", "float64": "float32", "complex128": "complex64"}


def _expected_dtype(t: torch.Tensor) -> str:
    name = str(t.dtype).removeprefix("torch.")
    return _NARROW.get(name, name)


def assert_same(ours, theirs, *, rtol=1e-6, atol=1e-6):
    """Same type, shape, dtype (modulo JAX's 32 bits) and values."""
    assert isinstance(ours, torchjax.Tensor), type(ours)
    assert tuple(ours.shape) == tuple(theirs.shape), (ours.shape, theirs.shape)
    assert str(ours.dtype) == _expected_dtype(theirs), (ours.dtype, theirs.dtype)
    expected = theirs.detach().numpy()
    if expected.dtype.kind in "iub":
        np.testing.assert_array_equal(np.asarray(ours), expected.astype(np.asarray(ours).dtype))
    else:
        np.testing.assert_allclose(np.asarray(ours), expected, rtol=rtol, atol=atol)


def both(call):
    """``call(lib)`` with torch and with torchjax (``torch.range`` warns: silenced on both sides)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call(torchjax), call(torch)


rng = np.random.default_rng(0)
_F32 = rng.standard_normal((2, 3)).astype(np.float32)
_I32 = rng.integers(-5, 5, (3,)).astype(np.int32)

# Same call in both libraries: values and dtypes must agree.
CASES = {
    "tensor_nested_mixed": lambda L: L.tensor([[1, 2.5], [True, 4]]),
    "tensor_int": lambda L: L.tensor([[1, 2], [3, 4]]),
    "tensor_bool": lambda L: L.tensor([True, False]),
    "tensor_complex": lambda L: L.tensor([1, 2j]),
    "tensor_scalar_int": lambda L: L.tensor(3),
    "tensor_scalar_float": lambda L: L.tensor(2.5),
    "tensor_empty": lambda L: L.tensor([]),
    "tensor_empty_rows": lambda L: L.tensor([[], []]),
    "tensor_tuple": lambda L: L.tensor((1, 2)),
    "tensor_of_0d_tensors": lambda L: L.tensor([L.tensor(1.5, dtype=L.float16), 2]),
    "tensor_of_0d_tensors_float": lambda L: L.tensor([L.tensor(1), 2.5]),
    "tensor_of_1_element_tensors": lambda L: L.tensor([L.tensor([1]), L.tensor([[2]])]),
    "tensor_dtype": lambda L: L.tensor([1.7, -2.2], dtype=L.int32),
    "tensor_dtype_bool": lambda L: L.tensor([1, 0, 2], dtype=L.bool),
    "tensor_numpy": lambda L: L.tensor(_F32),
    "tensor_numpy_int": lambda L: L.tensor(_I32),
    "tensor_list_of_numpy": lambda L: L.tensor([_I32, _I32]),
    "tensor_numpy_scalar": lambda L: L.tensor([np.int16(3), np.int16(4)]),
    "tensor_float16": lambda L: L.tensor([1, 2], dtype=L.float16),
    "as_tensor_list": lambda L: L.as_tensor([1, 2], dtype=L.float32),
    "as_tensor_numpy": lambda L: L.as_tensor(_F32),
    "asarray_scalar": lambda L: L.asarray(1.5),
    "asarray_list": lambda L: L.asarray([[1, 2]], dtype=L.float16),
    "from_numpy": lambda L: L.from_numpy(_F32),
    "from_numpy_int": lambda L: L.from_numpy(_I32),
    "zeros": lambda L: L.zeros(2, 3),
    "zeros_seq": lambda L: L.zeros((2, 3), dtype=L.int32),
    "zeros_size": lambda L: L.zeros(L.Size([2, 1])),
    "zeros_0d_size_tensor": lambda L: L.zeros(L.tensor(3)),
    "zeros_empty_shape": lambda L: L.zeros(()),
    "ones": lambda L: L.ones([3], dtype=L.bool),
    "empty": lambda L: L.empty(0, 2).shape,
    "full_int": lambda L: L.full((2,), 1),
    "full_bool": lambda L: L.full((2,), True),
    "full_float": lambda L: L.full((2, 1), 1.5),
    "full_complex": lambda L: L.full((2,), 1j),
    "full_tensor_float": lambda L: L.full((2,), L.tensor(1.5)),
    "full_tensor_int8": lambda L: L.full((2,), L.tensor(1, dtype=L.int8)),
    "full_dtype": lambda L: L.full([], 7, dtype=L.float16),
    "scalar_tensor_int": lambda L: L.scalar_tensor(1),
    "scalar_tensor_bool": lambda L: L.scalar_tensor(True),
    "scalar_tensor_dtype": lambda L: L.scalar_tensor(1.5, dtype=L.int32),
    "scalar_tensor_tensor": lambda L: L.scalar_tensor(L.tensor(2)),
    "zeros_like": lambda L: L.zeros_like(L.tensor(_I32)),
    "ones_like_dtype": lambda L: L.ones_like(L.tensor(_I32), dtype=L.float32),
    "empty_like": lambda L: L.empty_like(L.tensor(_F32)).shape,
    "full_like_int": lambda L: L.full_like(L.tensor(_I32), 1.7),
    "full_like_dtype": lambda L: L.full_like(L.tensor(_I32), 1.7, dtype=L.float32),
    "empty_strided": lambda L: L.empty_strided((2, 3), (3, 1)).shape,
    "arange_int": lambda L: L.arange(5),
    "arange_float_end": lambda L: L.arange(5.0),
    "arange_tenth": lambda L: L.arange(0, 1, 0.1),
    "arange_float_step": lambda L: L.arange(0, 1, 0.3),
    "arange_negative_float": lambda L: L.arange(1, 0, -0.3),
    "arange_negative_int": lambda L: L.arange(5, 0, -2),
    "arange_empty": lambda L: L.arange(5, 5),
    "arange_tensor_bound": lambda L: L.arange(L.tensor(3)),
    "arange_float_tensor_bound": lambda L: L.arange(L.tensor(3.0)),
    "arange_float_dtype": lambda L: L.arange(0, 5, dtype=L.float32),
    "arange_int_dtype_float_start": lambda L: L.arange(0.5, 5, dtype=L.int32),
    "arange_int_dtype_float_end": lambda L: L.arange(0, 2.5, dtype=L.int32),
    "arange_int_dtype_float_step": lambda L: L.arange(-2.5, 2, 1.5, dtype=L.int32),
    "arange_fractional_end": lambda L: L.arange(1.5),
    "arange_bool_end": lambda L: L.arange(True),
    "arange_uint8": lambda L: L.arange(0, 3, dtype=L.uint8),
    "arange_long_float": lambda L: L.arange(-1, 1.001, 0.013),
    "range": lambda L: L.range(0, 3),
    "range_float_step": lambda L: L.range(0, 1, 0.3),
    "range_negative": lambda L: L.range(3, 0, -1),
    "range_dtype": lambda L: L.range(0, 3, dtype=L.int32),
    "linspace": lambda L: L.linspace(0, 1, 5),
    "linspace_odd": lambda L: L.linspace(-2.5, 7.25, 11),
    "linspace_one": lambda L: L.linspace(0, 1, 1),
    "linspace_empty": lambda L: L.linspace(0, 1, 0),
    "linspace_int": lambda L: L.linspace(0, 10, 4, dtype=L.int32),
    "linspace_int_negative": lambda L: L.linspace(-3, 10, 4, dtype=L.int32),
    "linspace_int_short": lambda L: L.linspace(0, 1, 3, dtype=L.int32),
    "linspace_complex": lambda L: L.linspace(1, 2j, 3),
    "linspace_tensors": lambda L: L.linspace(L.tensor(0.0), L.tensor(1.0), L.tensor(3)),
    "linspace_descending": lambda L: L.linspace(3, -3, 7),
    "logspace": lambda L: L.logspace(0, 2, 3),
    "logspace_base": lambda L: L.logspace(0, 2, 5, base=2),
    "logspace_int": lambda L: L.logspace(0, 3, 4, dtype=L.int32),
    "logspace_int_base": lambda L: L.logspace(0, 3, 4, base=2, dtype=L.int32),
    "logspace_empty": lambda L: L.logspace(0, 1, 0),
    "eye": lambda L: L.eye(3),
    "eye_rect": lambda L: L.eye(2, 3),
    "eye_int": lambda L: L.eye(2, dtype=L.int32),
    "eye_empty": lambda L: L.eye(0),
    "tril_indices": lambda L: L.tril_indices(3, 3),
    "tril_indices_offset": lambda L: L.tril_indices(3, 4, 1),
    "tril_indices_negative": lambda L: L.tril_indices(3, 4, -1),
    "triu_indices": lambda L: L.triu_indices(3, 4, -1),
    "triu_indices_empty": lambda L: L.triu_indices(3, 2, 5),
    "tril_indices_dtype": lambda L: L.tril_indices(3, 3, dtype=L.int32),
    "tril_indices_no_rows": lambda L: L.tril_indices(0, 3),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_dtypes_match_torch(name):
    ours, theirs = both(CASES[name])
    if isinstance(theirs, torch.Size):
        assert tuple(ours) == tuple(theirs)
    else:
        assert_same(ours, theirs)


# Same call in both libraries: both must raise the same exception type.
ERRORS = {
    "negative_size": lambda L: L.zeros(-1),
    "negative_size_later": lambda L: L.ones(2, -1),
    "negative_size_full": lambda L: L.full((2, -3), 1.0),
    "float_size": lambda L: L.zeros(2.5),
    "float_in_size": lambda L: L.zeros((2, 2.5)),
    "str_size": lambda L: L.zeros("a"),
    "bool_size": lambda L: L.empty(True),
    "vector_tensor_size": lambda L: L.zeros(L.tensor([2, 3])),
    "full_int_size": lambda L: L.full(2, 1),
    "full_vector_fill": lambda L: L.full((2,), L.tensor([1.5, 2.0])),
    "full_none_fill": lambda L: L.full((2,), None),
    "arange_step_zero": lambda L: L.arange(0, 5, 0),
    "arange_wrong_sign": lambda L: L.arange(0, 5, -1),
    "arange_wrong_sign_default_step": lambda L: L.arange(5, 3),
    "arange_inf": lambda L: L.arange(float("inf")),
    "arange_nan": lambda L: L.arange(float("nan")),
    "arange_bool_dtype": lambda L: L.arange(0, 10, 3, dtype=L.bool),
    "range_step_zero": lambda L: L.range(0, 3, 0),
    "range_wrong_sign": lambda L: L.range(3, 0),
    "linspace_negative_steps": lambda L: L.linspace(0, 1, -1),
    "linspace_float_steps": lambda L: L.linspace(0, 1, 2.5),
    "linspace_vector_start": lambda L: L.linspace(L.tensor([0.0]), 1, 3),
    "logspace_negative_steps": lambda L: L.logspace(0, 1, -2),
    "eye_negative": lambda L: L.eye(-1),
    "eye_negative_m": lambda L: L.eye(2, -1),
    "eye_float": lambda L: L.eye(2.5),
    "tril_indices_negative_row": lambda L: L.tril_indices(-1, 3),
    "triu_indices_negative_col": lambda L: L.triu_indices(3, -1),
    "tril_indices_float_dtype": lambda L: L.tril_indices(3, 3, dtype=L.float32),
    "scalar_tensor_complex": lambda L: L.scalar_tensor(1j),
    "scalar_tensor_vector": lambda L: L.scalar_tensor(L.tensor([2])),
    "empty_strided_mismatch": lambda L: L.empty_strided((2, 3), (3,)),
    "tensor_ragged": lambda L: L.tensor([[1, 2], [3]]),
    "tensor_str": lambda L: L.tensor([1, "a"]),
    "tensor_none": lambda L: L.tensor([None]),
    "tensor_of_vector_tensors": lambda L: L.tensor([L.tensor([1, 2]), L.tensor([3, 4])]),
    "tensor_int8_overflow": lambda L: L.tensor([300], dtype=L.int8),
    "tensor_int_requires_grad": lambda L: L.tensor([1, 2], requires_grad=True),
    "ones_like_int_requires_grad": lambda L: L.ones_like(L.zeros(2, dtype=L.int32), requires_grad=True),
    "asarray_alias_list": lambda L: L.asarray([1, 2], copy=False),
    "asarray_alias_dtype": lambda L: L.asarray(L.zeros(2), dtype=L.int32, copy=False),
    "from_numpy_list": lambda L: L.from_numpy([1, 2]),
    "from_numpy_str": lambda L: L.from_numpy(np.array(["a"])),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        raises_same(lambda: ERRORS[name](torch), lambda: ERRORS[name](torchjax))


@pytest.mark.parametrize("make", [  # int64 (torch.long) is int32 instead: see test_dtype_requests.py
    lambda: torchjax.zeros(2, dtype=torchjax.float64),
    lambda: torchjax.arange(3, dtype=torchjax.complex128),
    lambda: torchjax.tensor([1.0], dtype=torchjax.float64),
    lambda: torchjax.full((2,), 1, dtype=torchjax.double),
])
def test_explicit_64_bit_floating_dtypes_raise_without_x64(make):
    with pytest.raises(RuntimeError, match="64-bit"):
        make()


def test_requires_grad_and_device_arguments():
    for make in (lambda **k: torchjax.tensor([1.0, 2.0], **k), lambda **k: torchjax.zeros(2, **k),
                 lambda **k: torchjax.full((2,), 1.5, **k), lambda **k: torchjax.arange(2.0, **k),
                 lambda **k: torchjax.linspace(0, 1, 2, **k), lambda **k: torchjax.eye(2, **k)):
        assert make(requires_grad=True).requires_grad and not make().requires_grad
        assert _device_id(make(device="cpu:1")) == 1
    # *_like keep the input's placement.
    x = torchjax.ones(2, device="cpu:2")
    assert _device_id(torchjax.zeros_like(x)) == 2
    assert _device_id(torchjax.full_like(x, 3, device="cpu:1")) == 1


def _device_id(t) -> int:
    (dev,) = t.jax().devices()
    return dev.id


def test_tensor_copies_and_warns_for_a_tensor():
    x = torchjax.ones(2)
    with pytest.warns(UserWarning, match="detach"):
        y = torchjax.tensor(x)
    x.add_(1)
    np.testing.assert_array_equal(np.asarray(y), [1.0, 1.0])


def test_as_tensor_and_asarray_share_when_they_can():
    x = torchjax.ones(2)
    assert torchjax.as_tensor(x) is x and torchjax.as_tensor(x, dtype=torchjax.float32) is x
    assert torchjax.asarray(x) is x
    converted = torchjax.as_tensor(x, dtype=torchjax.float16)
    assert converted is not x and converted.dtype == np.float16
    array = jax.numpy.arange(3.0)
    assert torchjax.as_tensor(array).jax() is array  # wrapped, not copied
    copied = torchjax.asarray(x, copy=True)
    x.add_(1)
    np.testing.assert_array_equal(np.asarray(copied), [1.0, 1.0])
    leaf = torchjax.asarray(x, requires_grad=True)
    assert leaf.requires_grad and not x.requires_grad


def test_from_numpy_narrows_64_bit_arrays():
    # torch keeps float64 / int64; without jax_enable_x64 they are float32 / int32 here (documented).
    assert torchjax.from_numpy(np.arange(3.0)).dtype == np.float32
    assert torchjax.from_numpy(np.arange(3)).dtype == np.int32
    source = np.arange(3.0, dtype=np.float32)
    out = torchjax.from_numpy(source)
    source[0] = 7  # a copy: JAX cannot share NumPy memory
    assert float(out[0]) == 0.0


def test_range_warns_deprecated():
    with pytest.warns(UserWarning, match="deprecated"):
        torchjax.range(0, 2)


def test_creation_under_compile_matches_eager():
    def make(x):
        return (torchjax.zeros(2, 3) + torchjax.ones(3), torchjax.arange(0, 1, 0.3), torchjax.arange(4),
                torchjax.linspace(x[0], x[1], 5), torchjax.logspace(x[0], 2, 3, base=2), torchjax.full((2,), x[1]),
                torchjax.tensor([x[0], 2.0]), torchjax.tensor(x), torchjax.eye(2, 3), torchjax.zeros_like(x),
                torchjax.full_like(x, 4), torchjax.scalar_tensor(x[0]), torchjax.tril_indices(3, 3),
                torchjax.linspace(0, 10, 4, dtype=torchjax.int32))

    x = torchjax.tensor([0.5, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tensor(x) of a Tensor warns
        eager = make(x)
        compiled = torchjax.compile(make)(x)
    for a, b in zip(compiled, eager, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)


def test_traced_arange_bound_raises_a_clear_error():
    with pytest.raises(TypeError, match="static"):
        jax.jit(lambda n: torchjax.arange(torchjax.as_tensor(n)).jax())(3)


def test_tensor_detaches_like_torch_and_as_tensor_does_not():
    def loss(make, a):
        return (make(torchjax.as_tensor(a)) * 3.0).sum().jax()

    assert float(jax.grad(lambda a: loss(lambda t: torchjax.tensor([t, 2.0]), a))(1.0)) == 0.0
    assert float(jax.grad(lambda a: loss(torchjax.as_tensor, a))(1.0)) == 3.0
    # torch: tensor() of a tensor that requires grad gives a leaf without history.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch warns about the scalar conversion
        theirs = torch.tensor([torch.tensor(1.0, requires_grad=True), 2.0])
    assert not theirs.requires_grad


def test_linspace_gradient_through_traced_bounds():
    ours = jax.grad(lambda s: (torchjax.linspace(torchjax.as_tensor(s), 1.0, 5) ** 2).sum().jax())(0.25)
    start = torch.tensor(0.25, requires_grad=True)
    # torch.linspace is not differentiable; its formula is: start + (end - start) * i / (n - 1).
    i = torch.arange(5.0)
    (((start + (1.0 - start) * i / 4) ** 2).sum()).backward()
    np.testing.assert_allclose(float(ours), float(start.grad), rtol=1e-5)

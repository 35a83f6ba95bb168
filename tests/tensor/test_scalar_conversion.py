"""A Python number written into a tensor (``x[i] = v``, ``x[mask] = v``, ``fill_``, ``masked_fill``) is
converted as torch converts it (``c10::checked_convert``): values and overflow errors against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from parity import raises_same

import torchjax

NUMBERS = [
    ("bool", 0), ("bool", 2), ("int32", 2.7), ("int32", -2.7), ("int32", True), ("uint8", -1), ("int32", 5),
    ("float32", 1 + 0j), ("float32", float("nan")), ("float32", float("-inf")), ("complex64", 1 + 2j),
    ("float16", 70000.0), ("bfloat16", 1e39),  # indexing writes these as inf, fill_/masked_fill refuse them
]
OVERFLOWS = [
    ("int8", 300), ("int16", 70000), ("uint8", -256), ("uint8", -1.5), ("int32", float("nan")),
    ("int32", float("inf")), ("float32", 1e40), ("float32", 1 + 2j), ("complex64", 1e40),
]
WRITES = {
    "setitem": lambda lib, x, v: x.__setitem__(0, v),
    "setitem_mask": lambda lib, x, v: x.__setitem__(lib.tensor([True, False, False]), v),
    "fill_": lambda lib, x, v: x.fill_(v),
    "masked_fill_": lambda lib, x, v: x.masked_fill_(lib.tensor([True, False, False]), v),
}


def _write(lib, dtype: str, value, how: str):
    x = lib.zeros(3, dtype=getattr(lib, dtype))
    WRITES[how](lib, x, value)
    return x


@pytest.mark.parametrize("how", sorted(WRITES))
@pytest.mark.parametrize(("dtype", "value"), NUMBERS)
def test_numbers_convert_like_torch(dtype, value, how):
    try:
        expected = _write(torch, dtype, value, how)
    except RuntimeError:
        raises_same(lambda: _write(torch, dtype, value, how), lambda: _write(torchjax, dtype, value, how))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no JAX warning about an unsafe scatter cast either
        ours = _write(torchjax, dtype, value, how)
    assert str(ours.dtype) == dtype
    np.testing.assert_array_equal(np.asarray(ours.jax()).astype(np.complex128),
                                  expected.to(torch.complex128).numpy())


@pytest.mark.parametrize("how", sorted(WRITES))
@pytest.mark.parametrize(("dtype", "value"), OVERFLOWS)
def test_overflowing_numbers_raise_like_torch(dtype, value, how):
    theirs, ours = raises_same(lambda: _write(torch, dtype, value, how), lambda: _write(torchjax, dtype, value, how))
    assert str(ours) == str(theirs)

"""The Tensor methods torch also exposes as top-level functions: every in-place spelling (``torch.exp_(x)``, ...)
writes into its argument and returns it with torch's values, dtypes and errors; ``clone``, ``detach``,
``fill``, ``index_put``, ``adjoint``; and exactly torch's set of names exists."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from parity import assert_same_result, check_op, raises_same

import torchjax as tj
from torchjax._torch.method_functions import INPLACE_FUNCTIONS

RNG = np.random.default_rng(1)
UNIT = RNG.uniform(0.1, 0.9, (3, 4)).astype(np.float32)       # inside every unary op's domain
WIDE = RNG.uniform(-3, 3, (3, 4)).astype(np.float32)
INTS = RNG.integers(1, 9, (3, 4)).astype(np.int32)
SPECIALS = np.where(RNG.random((3, 4)) < 0.5, WIDE, np.array([np.nan, np.inf, -np.inf, 1.0], np.float32))

# name -> (call, input): call(lib, name, tensor) performs the in-place function.
ARGUMENTS = {
    "addmv_": lambda lib, x: lib.addmv_(x, lib.tensor(UNIT[:, :3]), lib.tensor(UNIT[0, :3])),
    "clamp_": lambda lib, x: lib.clamp_(x, 0.2, 0.6),
    "clamp_max_": lambda lib, x: lib.clamp_max_(x, 0.5),
    "clamp_min_": lambda lib, x: lib.clamp_min_(x, 0.5),
    "clip_": lambda lib, x: lib.clip_(x, max=0.4),
    "fill_": lambda lib, x: lib.fill_(x, 2.5),
    "index_put_": lambda lib, x: lib.index_put_(x, (lib.tensor([0, 2]),), lib.tensor(7.0), True),
    "logit_": lambda lib, x: lib.logit_(x, 0.2),
    "nan_to_num_": lambda lib, x: lib.nan_to_num_(x, 1.5),
    "round_": lambda lib, x: lib.round_(x, decimals=1),
    "xlogy_": lambda lib, x: lib.xlogy_(x, x * 2),
    "gcd_": lambda lib, x: lib.gcd_(x, x + 2),
    "lcm_": lambda lib, x: lib.lcm_(x, x + 2),
    "ldexp_": lambda lib, x: lib.ldexp_(x, lib.tensor([1, 2, 3, 0])),
}
INTEGER_ONLY = {"gcd_", "lcm_"}
WIDE_DOMAIN = {"abs_", "neg_", "negative_", "ceil_", "floor_", "trunc_", "fix_", "frac_", "round_", "sign_", "exp_",
               "sigmoid_", "relu_", "atan_", "arctan_", "tanh_", "sin_", "cos_", "sinc_", "square_", "deg2rad_",
               "rad2deg_", "erf_", "erfc_", "asinh_", "arcsinh_", "expm1_", "exp2_", "i0_", "clamp_", "fill_"}


def _inplace_case(lib, name):
    values = INTS if name in INTEGER_ONLY else (WIDE if name in WIDE_DOMAIN else UNIT)
    values = {"acosh_": UNIT + 1.5, "arccosh_": UNIT + 1.5, "addmv_": UNIT[:, 0], "nan_to_num_": SPECIALS}.get(name,
                                                                                                            values)
    x = lib.tensor(values)
    call = ARGUMENTS.get(name, lambda lib, x: getattr(lib, name)(x))
    return x, call(lib, x)


@pytest.mark.parametrize("name", INPLACE_FUNCTIONS)
def test_inplace_function(name):
    (x_t, out_t), (x, out) = _inplace_case(torch, name), _inplace_case(tj, name)
    assert out_t is x_t and out is x, "returns its argument"
    assert_same_result(x, x_t, 2e-5)


def test_the_names_are_torchs():
    torch_names = {n for n in dir(torch) if n.endswith("_") and not n.startswith("_") and callable(getattr(torch, n))}
    ours = set(INPLACE_FUNCTIONS)
    assert ours <= torch_names
    # torch has no top-level spelling for binary arithmetic in place: neither do we.
    for name in ("add_", "mul_", "div_", "sub_", "pow_"):
        assert not hasattr(torch, name) and not hasattr(tj, name)


def test_inplace_function_errors():
    # The result dtype cannot be cast back (torch's RuntimeError), and a non-tensor argument (TypeError).
    raises_same(lambda: torch.sqrt_(torch.tensor(INTS)), lambda: tj.sqrt_(tj.tensor(INTS)))
    raises_same(lambda: torch.ldexp_(torch.tensor(INTS), torch.tensor(INTS)),
                lambda: tj.ldexp_(tj.tensor(INTS), tj.tensor(INTS)))
    raises_same(lambda: torch.exp_(UNIT), lambda: tj.exp_(UNIT))
    raises_same(lambda: torch.zero_(1.0), lambda: tj.zero_(1.0))


def test_inplace_function_writes_through_a_view():
    for lib in (torch, tj):
        x = lib.tensor(UNIT)
        lib.zero_(x[1])
        lib.exp_(x[:, 0])
        if lib is torch:
            expected = x
        else:
            assert_same_result(x, expected, 1e-6)


def test_inplace_function_in_a_compiled_program():
    def step(x):
        tj.sigmoid_(x)
        tj.clamp_(x, 0.55, 0.7)
        return x * 2

    x = tj.tensor(WIDE)
    out = tj.compile(step)(x)
    expected = torch.tensor(WIDE).sigmoid_().clamp_(0.55, 0.7)
    assert_same_result(x, expected, 1e-6)
    assert_same_result(out, expected * 2, 1e-6)


FUNCTIONS = [
    ("clone", lambda lib, x: lib.clone(x)),
    ("detach", lambda lib, x: lib.detach(x)),
    ("fill", lambda lib, x: lib.fill(x, 3)),
    ("fill_tensor_value", lambda lib, x: lib.fill(x, lib.tensor(2.5))),
    ("fill_int", lambda lib, x: lib.fill(x.int(), 2.7)),
    ("fill_bad_value", lambda lib, x: lib.fill(x, x[0])),
    ("index_put", lambda lib, x: lib.index_put(x, (lib.tensor([0, 1]), lib.tensor([2, 3])), lib.tensor([5.0, 6.0]))),
    ("adjoint", lambda lib, x: lib.adjoint(x)),
    ("adjoint_complex", lambda lib, x: lib.adjoint(x * (1 + 2j))),
    ("clone_not_a_tensor", lambda lib, x: lib.clone(x.tolist())),
]


@pytest.mark.parametrize("fn", [c[1] for c in FUNCTIONS], ids=[c[0] for c in FUNCTIONS])
def test_function_forms(fn):
    check_op(fn, WIDE)


def test_clone_is_a_copy_and_detach_a_view():
    for lib in (torch, tj):
        x = lib.tensor(UNIT)
        copy, view = lib.clone(x), lib.detach(x)
        x.zero_()
        assert float(copy.sum()) > 0 and float(view.sum()) == 0
        assert lib.fill(x, 1.0) is not x

"""Number theory and special functions (``gcd``, ``lcm``, ``ldexp``, ``frexp``, ``nextafter``, ``igamma``,
``igammac``, ``polygamma``, ``mvlgamma``), ``isin`` and the ``arccosh``/``arcsinh``/``arctanh`` aliases against
torch: values, promotion, errors, methods and in-place variants, gradients, compiled."""

from __future__ import annotations

import numpy as np
import pytest
from parity import check_op, check_op_gradients

RNG = np.random.default_rng(2)
I = RNG.integers(-12, 13, (3, 4)).astype(np.int32)
J = RNG.integers(-12, 13, (3, 4)).astype(np.int32)
I8 = RNG.integers(-5, 6, (4,)).astype(np.int8)
F = RNG.uniform(-3, 3, (3, 4)).astype(np.float32)
POS = RNG.uniform(0.3, 4, (3, 4)).astype(np.float32)
POS2 = RNG.uniform(0.3, 4, (3, 4)).astype(np.float32)
ROW = RNG.uniform(0.3, 4, (4,)).astype(np.float32)
EXP = RNG.integers(-3, 4, (3, 4)).astype(np.int32)
NOT_POLE = (RNG.uniform(-3, 3, (3, 4)) + 0.5).round(1).astype(np.float32) + 0.05  # never a non-positive integer

CASES = [
    ("gcd", lambda lib, a, b: lib.gcd(a, b), I, J),
    ("gcd_promotes", lambda lib, a, b: lib.gcd(a, b), I8, I[0]),
    ("gcd_float", lambda lib, a, b: lib.gcd(a, b), F, F),
    ("gcd_bool", lambda lib, a: lib.gcd(a > 0, a > 0), I),
    ("gcd_number", lambda lib, a: lib.gcd(a, 4), I),
    ("lcm", lambda lib, a, b: lib.lcm(a, b), I, J),
    ("ldexp", lambda lib, a, e: lib.ldexp(a, e), F, EXP),
    ("ldexp_ints", lambda lib, a, e: lib.ldexp(a, e), I, EXP),
    ("ldexp_half", lambda lib, a, e: lib.ldexp(a.half(), e), F, EXP),
    # Integral half exponents: torch computes 2**e in the exponent's dtype, exact for these.
    ("ldexp_float_exponent", lambda lib, a, e: lib.ldexp(a, e.half()), F, EXP.astype(np.float32)),
    ("ldexp_method_inplace", lambda lib, a, e: a.ldexp_(e), F, EXP),
    ("ldexp_inplace_int", lambda lib, a, e: a.ldexp_(e), I, EXP),
    ("frexp", lambda lib, a: lib.frexp(a), F),
    ("frexp_half_method", lambda lib, a: a.half().frexp(), F),
    ("frexp_int", lambda lib, a: lib.frexp(a), I),
    ("nextafter", lambda lib, a, b: lib.nextafter(a, b), F, POS),
    ("nextafter_promotes", lambda lib, a, b: lib.nextafter(a, b.half()), F, POS),
    ("nextafter_int", lambda lib, a, b: lib.nextafter(a, b), I, J),
    ("igamma", lambda lib, a, x: lib.igamma(a, x), POS, POS2),
    ("igammac", lambda lib, a, x: lib.igammac(a, x), POS, POS2),
    ("igammac_inplace", lambda lib, a, x: a.igammac_(x), POS, POS2),
    ("igamma_int", lambda lib, a: lib.igamma(a, a), I),
    ("igamma_number", lambda lib, a: lib.igamma(a, 2.0), POS),
    ("polygamma_1", lambda lib, x: lib.polygamma(1, x), NOT_POLE),
    ("polygamma_3", lambda lib, x: lib.polygamma(3, x), POS),
    ("polygamma_method", lambda lib, x: x.polygamma(1), POS),
    ("polygamma_inplace", lambda lib, x: x.polygamma_(2), POS),
    ("polygamma_negative_n", lambda lib, x: lib.polygamma(-1, x), POS),
    ("mvlgamma", lambda lib, x: lib.mvlgamma(x + 2, 3), POS),
    ("mvlgamma_inplace", lambda lib, x: (x + 2).mvlgamma_(2), POS),
    ("mvlgamma_bad_p", lambda lib, x: lib.mvlgamma(x, 0), POS),
    ("mvlgamma_below_p_half", lambda lib, x: lib.mvlgamma(x, 3), POS),  # torch no longer checks the domain
    ("isin", lambda lib, a, b: lib.isin(a, b), I, J[0]),
    ("isin_invert", lambda lib, a, b: lib.isin(a, b, invert=True), I, J),
    ("isin_promotes", lambda lib, a, b: lib.isin(a, b), I, F.round()),
    ("isin_scalar_elements", lambda lib, b: lib.isin(3, b), I),
    ("isin_empty_test", lambda lib, a: lib.isin(a, a[:0]), I),
    ("isin_two_numbers", lambda lib: lib.isin(3, 3)),
    ("arccosh", lambda lib, x: lib.arccosh(x + 1) + x.arccosh_(), POS + 1),
    ("arcsinh", lambda lib, x: lib.arcsinh(x) + x.arcsinh(), F),
    ("arctanh", lambda lib, x: lib.arctanh(x / 4) + (x / 4).arctanh_(), F),
]


@pytest.mark.parametrize("fn, arrays", [(c[1], c[2:]) for c in CASES], ids=[c[0] for c in CASES])
def test_values(fn, arrays):
    check_op(fn, *arrays, tol=2e-5 if "polygamma" not in str(fn) else 1e-4)


@pytest.mark.parametrize("name", ["gcd", "frexp", "polygamma_1", "isin_invert"])
def test_compiled(name):
    fn, *arrays = next(c[1:] for c in CASES if c[0] == name)
    check_op(fn, *arrays, compiled=True, tol=1e-4)


def test_gradients():
    check_op_gradients([
        # Float exponents: torch's gradient for integer ones computes 2**e in integers (0 for e < 0).
        ("ldexp", lambda lib, a: lib.ldexp(a, lib.tensor(EXP.astype(np.float32))), [F]),
        ("igamma", lambda lib, x: lib.igamma(lib.tensor(POS), x), [POS2]),
        ("igammac", lambda lib, x: lib.igammac(lib.tensor(POS), x), [POS2]),
        ("polygamma", lambda lib, x: lib.polygamma(1, x), [POS]),
        ("mvlgamma", lambda lib, x: lib.mvlgamma(x + 2, 3), [POS]),
        ("arcsinh", lambda lib, x: lib.arcsinh(x), [F]),
    ], rtol=1e-3, atol=1e-4)

"""Complex tensors against torch: view_as_real/view_as_complex, real/imag, conj, polar, complex, angle, abs.

The views write through in both directions (a write into the view changes the base, a write into the
base is seen by the view), also for views of these views; results are compared eagerly and compiled.
"""

from __future__ import annotations

import copy

import jax
import numpy as np
import pytest
import torch
from test_linalg import assert_matches, check

import torchjax as tj


def sample(shape, seed: int = 0, dtype: str = "float32"):
    rng = np.random.default_rng(seed)
    values = np.round(rng.uniform(-3, 3, shape), 2).astype(np.float32)
    if dtype == "complex64":
        values = (values + 1j * np.round(rng.uniform(-3, 3, shape), 2)).astype(np.complex64)
    if dtype == "int32":
        values = rng.integers(-3, 4, shape).astype(np.int32)
    return values, dtype


Z = sample((3, 4), 0, "complex64")
X = sample((3, 4, 2), 1)
R = sample((3, 4), 2)
I = sample((3, 4), 3, "int32")

CASES = [
    ("view_as_real", lambda lib, z: lib.view_as_real(z), Z),
    ("view_as_complex", lambda lib, x: lib.view_as_complex(x), X),
    ("roundtrip", lambda lib, x: lib.view_as_real(lib.view_as_complex(x) * 2j), X),
    ("real", lambda lib, z: lib.real(z), Z),
    ("imag", lambda lib, z: lib.imag(z), Z),
    ("real_property", lambda lib, z: [z.real, z.imag], Z),
    ("real_of_real_tensor", lambda lib, x: [lib.real(x), x.real], I),
    ("conj", lambda lib, z: lib.conj(z), Z),
    ("conj_method_real", lambda lib, x: x.conj(), R),
    ("conj_physical", lambda lib, z: [lib.conj_physical(z), z.conj_physical()], Z),
    ("conj_physical_", lambda lib, z: z.clone().conj_physical_(), Z),
    ("resolve_conj", lambda lib, z: [lib.resolve_conj(z.conj()), z.conj().resolve_conj(), lib.resolve_neg(z)], Z),
    ("is_conj", lambda lib, z: [lib.is_conj(z), z.conj().is_conj(), z.conj().conj().is_conj(), z.conj()[0].is_conj(),
                                lib.is_conj(z.conj() + 1), z.conj().resolve_conj().is_conj(), z.is_neg()], Z),
    ("is_complex", lambda lib, z, x: [lib.is_complex(z), lib.is_complex(x), z.is_complex()], Z, R),
    ("polar", lambda lib, a, b: lib.polar(a.abs(), b), R, sample((3, 4), 4)),
    ("complex", lambda lib, a, b: lib.complex(a, b), R, sample((3, 4), 4)),
    ("complex_broadcast", lambda lib, a, b: lib.complex(a, b[0]), R, sample((3, 4), 4)),
    ("angle", lambda lib, z, x: [lib.angle(z), z.angle(), lib.angle(x), lib.angle(x * 0)], Z, R),
    ("angle_int", lambda lib, x: lib.angle(x), I),
    ("angle_nan", lambda lib, x: lib.angle(x / 0 * 0), R),
    ("abs_complex", lambda lib, z: [lib.abs(z), abs(z)], Z),
    ("complex_arithmetic", lambda lib, z, x: [z * x, z / (x + 10), z + 1, z.sum(), z @ z.mT], Z, R),
    # errors
    ("view_as_real_of_real", lambda lib, x: lib.view_as_real(x), R),
    ("view_as_real_of_conj", lambda lib, z: lib.view_as_real(z.conj()), Z),
    ("view_as_complex_last_dim", lambda lib, x: lib.view_as_complex(x), R),
    ("view_as_complex_int", lambda lib, x: lib.view_as_complex(x[..., :2]), I),
    ("view_as_complex_0d", lambda lib, x: lib.view_as_complex(x[0, 0]), R),
    ("imag_of_real", lambda lib, x: lib.imag(x), R),
    ("imag_property_of_real", lambda lib, x: x.imag, R),
    ("polar_dtypes", lambda lib, a: lib.polar(a, a.half()), R),
    ("complex_int", lambda lib, a: lib.complex(a, a), I),
]


@pytest.mark.parametrize("name, fn, operands", [(c[0], c[1], c[2:]) for c in CASES], ids=[c[0] for c in CASES])
def test_complex(name, fn, operands):
    # Python bools come out of a compiled program as arrays, so those cases are compared eagerly only.
    check(fn, *operands, compiled=name not in ("is_conj", "is_complex"))


# --- writes through the views ---------------------------------------------------------------------
WRITES = [
    ("view_as_real_setitem", lambda lib, z: lib.view_as_real(z).__setitem__((0, 1, 0), 5.0)),
    ("view_as_real_row_mul", lambda lib, z: lib.view_as_real(z)[1].mul_(2)),
    ("view_as_real_add", lambda lib, z: lib.view_as_real(z).add_(1)),
    ("real_add", lambda lib, z: z.real.add_(1)),
    ("imag_mul", lambda lib, z: lib.imag(z).mul_(-3)),
    ("imag_of_row", lambda lib, z: z[1].imag.zero_()),
    ("real_view_of_view", lambda lib, z: z.real[:, 1:3].fill_(7)),
    ("real_setter", lambda lib, z: setattr(z, "real", lib.zeros(4))),
    ("imag_setter", lambda lib, z: setattr(z, "imag", lib.arange(4.0))),
    ("conj_add", lambda lib, z: z.conj().add_(1j)),
    ("conj_row", lambda lib, z: z.conj()[0].mul_(2j)),
    ("conj_real_part", lambda lib, z: z.conj().real.zero_()),
    ("view_as_complex_of_view_as_real", lambda lib, z: lib.view_as_complex(lib.view_as_real(z)).mul_(1j)),
    ("of_a_transpose", lambda lib, z: z.t().real.add_(lib.arange(3.0))),
    ("detach", lambda lib, z: z.real.detach().add_(1)),
]


@pytest.mark.parametrize("write", [c[1] for c in WRITES], ids=[c[0] for c in WRITES])
def test_writes_through_complex_views(write):
    def run(lib):
        z = lib.tensor(Z[0])
        view = lib.view_as_real(z)  # read before the write: must be refreshed after it
        write(lib, z)
        return [z, view]

    assert_matches(run(tj), run(torch))


def test_view_as_complex_writes_into_the_float_base_and_sees_its_writes():
    def run(lib):
        x = lib.tensor(X[0])
        c = lib.view_as_complex(x)
        c[1].mul_(1j)
        seen = c.clone()
        x.add_(1)
        r = c.real
        x[0, 0, 0] = 9.0
        return [x, seen, c, r]

    assert_matches(run(tj), run(torch))


def test_expanded_complex_view_refuses_writes():
    def run(lib):
        return lib.view_as_real(lib.tensor(Z[0])[:1].expand(3, 4)).add_(1)

    with pytest.raises(RuntimeError, match="more than one element"):
        run(tj)
    with pytest.raises(RuntimeError, match="more than one element"):
        run(torch)


def test_deepcopy_of_a_complex_view_is_independent():
    def run(lib):
        z = lib.tensor(Z[0])
        copies = [copy.deepcopy(v) for v in (z.real, lib.view_as_real(z), z.conj()[1])]
        for c in copies:
            c.mul_(2)
        return [z, *copies, copies[2].is_conj()]

    assert_matches(run(tj), run(torch))


def _rope(lib, x, f):
    """The rotary embedding of LLaMA-style models: pairs of features as complex numbers, rotated by f."""
    rotated = lib.view_as_complex(x.reshape(*x.shape[:-1], -1, 2)) * lib.polar(lib.ones(*f.shape), f)
    return lib.view_as_real(rotated).flatten(3)


def test_rope_values_compile_and_gradients():
    x, f = sample((2, 3, 2, 8), 5)[0], sample((3, 1, 4), 6)[0]
    xt, ft = torch.tensor(x, requires_grad=True), torch.tensor(f, requires_grad=True)
    out = _rope(torch, xt, ft)
    cotangent = np.random.default_rng(7).standard_normal(out.shape).astype(np.float32)
    (out * torch.tensor(cotangent)).sum().backward()
    assert_matches(_rope(tj, tj.tensor(x), tj.tensor(f)), out)
    assert_matches(tj.compile(lambda a, b: _rope(tj, a, b))(tj.tensor(x), tj.tensor(f)), out)

    def loss(a, b):
        return (_rope(tj, tj.as_tensor(a), tj.as_tensor(b)) * cotangent).sum().jax()

    gx, gf = jax.jit(jax.grad(loss, argnums=(0, 1)))(x, f)
    np.testing.assert_allclose(np.asarray(gx), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(gf), ft.grad.numpy(), rtol=1e-4, atol=1e-4)


GRADS = [
    lambda lib, x: lib.view_as_complex(x).abs().sum(),
    lambda lib, x: (lib.view_as_real(lib.view_as_complex(x) * (1 + 2j)) ** 2).sum(),
    lambda lib, x: (lib.view_as_complex(x).real * 3 + lib.view_as_complex(x).imag ** 2).sum(),
    lambda lib, x: lib.angle(lib.view_as_complex(x)).sum() + lib.view_as_complex(x).conj().imag.sum(),
    lambda lib, x: lib.polar(x[..., 0].abs() + 1, x[..., 1]).abs().sum() + lib.complex(x[..., 0], x[..., 1]).angle()
    .sum(),
]


def test_gradients():
    x = X[0]
    for fn in GRADS:
        t = torch.tensor(x, requires_grad=True)
        fn(torch, t).backward()
        grad = jax.jit(jax.grad(lambda v, fn=fn: fn(tj, tj.as_tensor(v)).jax()))(x)
        np.testing.assert_allclose(np.asarray(grad), t.grad.numpy(), rtol=1e-4, atol=1e-4)

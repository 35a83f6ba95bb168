"""Reductions, scans and sorting against torch: values, dtypes, shapes, named tuples, compile, gradients, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import raises_same

import torchjax
from torchjax import _promotion

_rng = np.random.default_rng(0)
_f = _rng.standard_normal((3, 4)).astype(np.float32)
_nan = _f.copy()
_nan[0, 1] = _nan[2, 0] = _nan[2, 3] = np.nan
_nan[1] = np.nan  # a row of NaN only
INPUTS = {
    "f": _f,  # distinct values: indices are comparable everywhere
    "f3": _rng.standard_normal((2, 3, 4)).astype(np.float32),
    "i": _rng.integers(0, 4, (3, 5)),  # many ties (int64: torch's default integer)
    "b": _rng.random((3, 4)) > 0.5,
    "u8": _rng.integers(0, 2, (2, 3)).astype(np.uint8),
    "nan": _nan,
    "c": (_rng.standard_normal((3, 4)) + 1j * _rng.standard_normal((3, 4))).astype(np.complex64),
    "s": np.float32(1.5),
    "e": np.zeros((0, 3), np.float32),
    "h": _rng.standard_normal((3, 4)).astype(np.float16),
}
INF = math.inf
# torch warns where the correction leaves no degrees of freedom; the value (inf/nan) is what is compared.
pytestmark = pytest.mark.filterwarnings("ignore:var... degrees of freedom:UserWarning")

# (id, input, fn(lib, x)): fn is written once and called with torch and with torchjax.
CASES = [
    ("sum", "f", lambda m, x: m.sum(x)),
    ("sum_dim_neg_keepdim", "f3", lambda m, x: x.sum(-1, keepdim=True)),
    ("sum_dim_tuple", "f3", lambda m, x: m.sum(x, (0, 2))),
    ("sum_dim_list_neg", "f3", lambda m, x: m.sum(x, [-1, 0], True)),
    ("sum_dim_empty_list", "f3", lambda m, x: m.sum(x, [])),
    ("sum_int", "i", lambda m, x: m.sum(x, 0)),
    ("sum_bool", "b", lambda m, x: x.sum()),
    ("sum_uint8", "u8", lambda m, x: x.sum(1)),
    ("sum_half", "h", lambda m, x: x.sum(0)),
    ("sum_dtype", "i", lambda m, x: m.sum(x, 1, dtype=m.float32)),
    ("sum_0d", "s", lambda m, x: m.sum(x, 0)),
    ("sum_empty", "e", lambda m, x: m.sum(x, 0)),
    ("sum_complex", "c", lambda m, x: x.sum(1)),
    ("nansum", "nan", lambda m, x: m.nansum(x, 1)),
    ("nansum_int", "i", lambda m, x: m.nansum(x)),
    ("mean", "f", lambda m, x: m.mean(x)),
    ("mean_dims_keepdim", "f3", lambda m, x: x.mean((0, -1), keepdim=True)),
    ("mean_int_dtype", "i", lambda m, x: m.mean(x, 1, dtype=m.float32)),
    ("mean_empty", "e", lambda m, x: m.mean(x)),
    ("nanmean", "nan", lambda m, x: m.nanmean(x, 1)),
    ("nanmean_all", "nan", lambda m, x: x.nanmean()),
    ("prod", "f", lambda m, x: m.prod(x, 1)),
    ("prod_all", "f", lambda m, x: x.prod()),
    ("prod_int_keepdim", "i", lambda m, x: m.prod(x, 0, True)),
    ("prod_bool", "b", lambda m, x: m.prod(x)),
    ("max", "f", lambda m, x: m.max(x)),
    ("max_dim", "f", lambda m, x: m.max(x, 1)),
    ("max_dim_kw_keepdim", "f3", lambda m, x: x.max(dim=-2, keepdim=True)),
    ("max_dim_ties", "i", lambda m, x: m.max(x, 1)),
    ("max_dim_nan", "nan", lambda m, x: m.max(x, 1)),
    ("max_nan", "nan", lambda m, x: x.max()),
    ("max_bool_dim", "b", lambda m, x: m.max(x, 0)),
    ("max_0d_dim", "s", lambda m, x: m.max(x, 0)),
    ("max_empty_other_dim", "e", lambda m, x: m.max(x, 1)),
    ("max_other", "f", lambda m, x: m.max(x, x[0])),
    ("max_other_kw", "f", lambda m, x: m.max(x, other=x[1])),
    ("max_other_promote", "i", lambda m, x: m.max(x, x[0] * 0.5)),
    ("min", "f", lambda m, x: x.min()),
    ("min_dim", "f3", lambda m, x: m.min(x, 0)),
    ("min_dim_ties", "i", lambda m, x: x.min(0, True)),
    ("min_other", "f", lambda m, x: m.min(x, x[2])),
    ("amax", "f3", lambda m, x: m.amax(x)),
    ("amax_dims", "f3", lambda m, x: m.amax(x, (0, -1))),
    ("amax_int", "i", lambda m, x: x.amax(1, True)),
    ("amax_nan", "nan", lambda m, x: m.amax(x, 0)),
    ("amin_keepdim", "f3", lambda m, x: m.amin(x, 1, keepdim=True)),
    ("aminmax", "f", lambda m, x: m.aminmax(x)),
    ("aminmax_dim", "f", lambda m, x: m.aminmax(x, dim=1, keepdim=True)),
    ("aminmax_int", "i", lambda m, x: x.aminmax(dim=0)),
    ("argmax", "f", lambda m, x: m.argmax(x)),
    ("argmax_dim_keepdim", "f3", lambda m, x: x.argmax(1, keepdim=True)),
    ("argmax_keepdim_nodim", "f", lambda m, x: m.argmax(x, keepdim=True)),
    ("argmax_ties", "i", lambda m, x: m.argmax(x, 1)),
    ("argmax_nan", "nan", lambda m, x: m.argmax(x, 1)),
    ("argmin", "f3", lambda m, x: m.argmin(x, -1)),
    ("argmin_ties", "i", lambda m, x: x.argmin(0)),
    ("std", "f", lambda m, x: m.std(x)),
    ("std_dim", "f3", lambda m, x: m.std(x, 1)),
    ("std_legacy_positional", "f", lambda m, x: m.std(x, 1, False, True)),
    ("std_unbiased_only", "f", lambda m, x: m.std(x, False)),
    ("std_correction", "f3", lambda m, x: x.std((0, 2), correction=0)),
    ("var", "f", lambda m, x: x.var()),
    ("var_unbiased_kw", "f", lambda m, x: m.var(x, 1, unbiased=False)),
    ("var_correction_keepdim", "f3", lambda m, x: m.var(x, dim=-1, correction=2, keepdim=True)),
    ("var_too_few", "f", lambda m, x: m.var(x[:, :1], 1)),
    ("var_correction_large", "f", lambda m, x: m.var(x, 0, correction=5)),
    ("var_complex", "c", lambda m, x: m.var(x, 1)),
    ("std_mean", "f", lambda m, x: m.std_mean(x, 1)),
    ("var_mean", "f3", lambda m, x: m.var_mean(x, (0, 1), correction=0, keepdim=True)),
    ("var_mean_complex", "c", lambda m, x: m.var_mean(x)),
    ("norm", "f", lambda m, x: x.norm()),
    ("norm_p1", "f", lambda m, x: x.norm(1)),
    ("norm_p3_dim_keepdim", "f3", lambda m, x: x.norm(3, 1, True)),
    ("norm_inf", "f", lambda m, x: x.norm(INF, 0)),
    ("norm_neg_inf", "f", lambda m, x: x.norm(-INF)),
    ("norm_p0", "f", lambda m, x: x.norm(0, 1)),
    ("norm_neg_p", "f", lambda m, x: x.norm(-1.5, 1)),
    ("norm_fro_dims", "f3", lambda m, x: x.norm("fro", (0, 2))),
    ("norm_nuc", "f", lambda m, x: x.norm("nuc")),
    ("norm_nuc_dims_keepdim", "f3", lambda m, x: m.norm(x, "nuc", (0, 2), keepdim=True)),
    ("norm_fn", "f", lambda m, x: m.norm(x, 2, -1)),
    ("norm_complex", "c", lambda m, x: x.norm(2, 1)),
    ("logsumexp", "f", lambda m, x: m.logsumexp(x, 1)),
    ("logsumexp_dims_keepdim", "f3", lambda m, x: x.logsumexp((0, 2), keepdim=True)),
    ("logsumexp_int", "i", lambda m, x: m.logsumexp(x, 0)),
    ("cumsum", "f3", lambda m, x: m.cumsum(x, 1)),
    ("cumsum_neg_dim", "f", lambda m, x: x.cumsum(-1)),
    ("cumsum_int", "i", lambda m, x: m.cumsum(x, 0)),
    ("cumsum_bool", "b", lambda m, x: m.cumsum(x, 1)),
    ("cumsum_dtype", "i", lambda m, x: x.cumsum(1, dtype=m.float32)),
    ("cumsum_0d", "s", lambda m, x: m.cumsum(x, 0)),
    ("cumprod", "f", lambda m, x: m.cumprod(x, 1)),
    ("cumprod_int", "i", lambda m, x: x.cumprod(0)),
    ("cummax", "f", lambda m, x: m.cummax(x, 1)),
    ("cummax_ties", "i", lambda m, x: m.cummax(x, 1)),
    ("cummax_nan", "nan", lambda m, x: x.cummax(0)),
    ("cummin", "f3", lambda m, x: m.cummin(x, -1)),
    ("cummin_ties", "i", lambda m, x: x.cummin(0)),
    ("cummin_nan", "nan", lambda m, x: m.cummin(x, 1)),
    ("logcumsumexp", "f", lambda m, x: m.logcumsumexp(x, 1)),
    ("all", "b", lambda m, x: m.all(x)),
    ("all_dim", "b", lambda m, x: x.all(1)),
    ("all_dims_keepdim_float", "f3", lambda m, x: m.all(x, (0, 2), keepdim=True)),
    ("all_uint8", "u8", lambda m, x: m.all(x, 1)),
    ("any", "b", lambda m, x: x.any()),
    ("any_dim_keepdim", "i", lambda m, x: m.any(x, -1, keepdim=True)),
    ("any_uint8", "u8", lambda m, x: x.any()),
    ("count_nonzero", "i", lambda m, x: m.count_nonzero(x)),
    ("count_nonzero_dim", "i", lambda m, x: x.count_nonzero(1)),
    ("count_nonzero_dims", "f3", lambda m, x: m.count_nonzero(x, (0, -1))),
    ("median", "f", lambda m, x: m.median(x)),
    ("median_even", "f3", lambda m, x: x.median()),
    ("median_dim", "f", lambda m, x: m.median(x, 1)),
    ("median_dim_keepdim", "f3", lambda m, x: x.median(0, keepdim=True)),
    ("median_int", "i", lambda m, x: m.median(x)),
    ("median_int_dim_values", "i", lambda m, x: m.median(x, 1).values),
    ("median_nan", "nan", lambda m, x: m.median(x)),
    ("median_nan_dim", "nan", lambda m, x: m.median(x, 1)),
    ("nanmedian", "nan", lambda m, x: m.nanmedian(x)),
    ("nanmedian_dim", "nan", lambda m, x: x[::2].nanmedian(1)),  # an all-NaN row's index is unspecified
    ("nanmedian_dim_all_nan_values", "nan", lambda m, x: x.nanmedian(1).values),
    ("nanmedian_dim0", "nan", lambda m, x: m.nanmedian(x, 0).values),
    ("mode", "i", lambda m, x: m.mode(x)),
    ("mode_dim0_keepdim", "i", lambda m, x: x.mode(0, keepdim=True)),
    ("mode_distinct", "f", lambda m, x: m.mode(x, 1)),
    ("quantile", "f", lambda m, x: m.quantile(x, 0.3)),
    ("quantile_dim_keepdim", "f3", lambda m, x: m.quantile(x, 0.7, dim=1, keepdim=True)),
    ("quantile_q_tensor", "f", lambda m, x: x.quantile(m.tensor([0.0, 0.25, 0.6, 1.0]), dim=0)),
    ("quantile_q_tensor_keepdim", "f", lambda m, x: m.quantile(x, m.tensor([0.2, 0.9]), keepdim=True)),
    ("quantile_q_0d", "f", lambda m, x: m.quantile(x, m.tensor(0.4), 1)),
    ("quantile_lower", "f", lambda m, x: m.quantile(x, 0.45, 1, interpolation="lower")),
    ("quantile_higher", "f", lambda m, x: m.quantile(x, 0.45, 1, interpolation="higher")),
    ("quantile_midpoint", "f", lambda m, x: m.quantile(x, 0.45, 1, interpolation="midpoint")),
    ("quantile_nearest", "f3", lambda m, x: m.quantile(x, m.tensor([0.0, 0.5, 1 / 6, 0.9]), 2,
                                                        interpolation="nearest")),
    ("quantile_nan", "nan", lambda m, x: m.quantile(x, 0.5, 1)),
    ("nanquantile", "nan", lambda m, x: m.nanquantile(x, m.tensor([0.3, 0.5]), 1)),
    ("nanquantile_all", "nan", lambda m, x: x.nanquantile(0.25, interpolation="higher")),
    ("topk", "f", lambda m, x: m.topk(x, 2)),
    ("topk_smallest_dim0", "f3", lambda m, x: x.topk(2, dim=0, largest=False)),
    ("topk_positional", "f", lambda m, x: m.topk(x, 3, 0, True, True)),
    ("topk_ties_values", "i", lambda m, x: m.topk(x, 3).values),
    ("topk_nan", "nan", lambda m, x: m.topk(x, 2, 0)),
    ("topk_0d", "s", lambda m, x: m.topk(x, 1)),
    ("sort", "f", lambda m, x: m.sort(x)),
    ("sort_dim_descending", "f3", lambda m, x: x.sort(0, descending=True)),
    ("sort_stable", "i", lambda m, x: m.sort(x, dim=1, stable=True)),
    ("sort_stable_descending", "i", lambda m, x: x.sort(stable=True, dim=0, descending=True)),
    ("sort_nan", "nan", lambda m, x: m.sort(x, 1)),
    ("sort_nan_descending", "nan", lambda m, x: m.sort(x, 0, True)),
    ("sort_bool", "b", lambda m, x: m.sort(x, stable=True)),
    ("sort_0d", "s", lambda m, x: m.sort(x)),
    ("argsort", "f3", lambda m, x: m.argsort(x, 1)),
    ("argsort_stable_descending", "i", lambda m, x: x.argsort(dim=-1, descending=True, stable=True)),
    ("msort", "f", lambda m, x: m.msort(x)),
    ("kthvalue", "f", lambda m, x: m.kthvalue(x, 2)),
    ("kthvalue_dim_keepdim", "f3", lambda m, x: x.kthvalue(3, 1, True)),
    ("kthvalue_ties_values", "i", lambda m, x: m.kthvalue(x, 2, 0).values),
    ("histc", "f", lambda m, x: m.histc(x, bins=5)),
    ("histc_range", "f3", lambda m, x: x.histc(4, -1, 1)),
    ("diff", "f", lambda m, x: m.diff(x)),
    ("diff_n_dim", "f3", lambda m, x: x.diff(n=2, dim=0)),
    ("diff_prepend_append", "f", lambda m, x: m.diff(x, 1, 1, x[:, :1], x[:, -1:] * 2)),
    ("diff_int_float_prepend", "i", lambda m, x: m.diff(x, dim=0, prepend=x[:1] * 0.5)),
    ("diff_bool", "b", lambda m, x: m.diff(x)),
    ("diff_n0", "f", lambda m, x: m.diff(x, n=0)),
]


def _torch(a):
    return torch.tensor(np.asarray(a))


def _ours(a):
    return torchjax.tensor(np.asarray(a))


def _expected_dtype(t: torch.Tensor):
    # JAX without x64: torch's int64/float64 are int32/float32 here.
    return _promotion.canonical(np.dtype(str(t.dtype).removeprefix("torch.").replace("bool", "bool_")))


def check_same(ours, theirs, *, atol=1e-5, rtol=1e-5):
    """Value, dtype and shape of a tensor, or of every item of a (named) tuple, against torch's."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        if hasattr(theirs, "_fields"):  # torch.return_types.max ...: same name and fields
            assert type(ours).__name__ == type(theirs).__name__.rsplit(".", 1)[-1]
            assert ours._fields == tuple(theirs._fields)
        for o, t in zip(ours, theirs, strict=True):
            check_same(o, t, atol=atol, rtol=rtol)
        return
    assert isinstance(ours, torchjax.Tensor), type(ours)
    assert tuple(ours.shape) == tuple(theirs.shape), f"shape {tuple(ours.shape)} != torch's {tuple(theirs.shape)}"
    assert ours.dtype == _expected_dtype(theirs), f"dtype {ours.dtype} != torch's {theirs.dtype}"
    a, b = np.asarray(ours), theirs.numpy()
    if b.dtype.kind in "fc":
        np.testing.assert_allclose(a, b, atol=atol, rtol=rtol)
    else:
        np.testing.assert_array_equal(a, b)


def _tol(key):
    return {"atol": 2e-3, "rtol": 2e-3} if key == "h" else {}


@pytest.mark.parametrize("key, fn", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_against_torch(key, fn):
    check_same(fn(torchjax, _ours(INPUTS[key])), fn(torch, _torch(INPUTS[key])), **_tol(key))


@pytest.mark.parametrize("key", sorted({c[1] for c in CASES}))
def test_compiled_against_torch(key):
    """Every case of one input inside one ``torchjax.compile`` program (one compile per input)."""
    cases = [c for c in CASES if c[1] == key]
    # The array goes in and becomes a Tensor inside, so the ops see tracers.
    program = torchjax.compile(lambda a: [fn(torchjax, torchjax.as_tensor(a)) for _, _, fn in cases])
    outs = program(jnp.asarray(_ours(INPUTS[key]).jax()))
    for (name, _, fn), ours in zip(cases, outs, strict=True):
        try:
            check_same(ours, fn(torch, _torch(INPUTS[key])), **_tol(key))
        except AssertionError as e:
            raise AssertionError(f"case {name}: {e}") from None


def test_named_tuple_fields():
    x = _ours(INPUTS["f"])
    out = torchjax.max(x, 1)
    assert out._fields == ("values", "indices") and out.values is out[0]
    assert type(out) is torchjax.return_types.max
    values, indices = torchjax.sort(x)
    assert indices.dtype == np.int32 and values.dtype == np.float32
    assert torchjax.aminmax(x)._fields == ("min", "max")


def test_eager_only_ops():
    ints = np.array([3, 1, 3, 2, 2, 2, 0, 3])
    rows = np.array([[1, 2], [0, 1], [1, 2], [1, 2], [0, 1]])
    cases = [
        (ints, lambda m, x: m.unique(x)),
        (ints, lambda m, x: m.unique(x, return_inverse=True, return_counts=True)),
        (ints.reshape(2, 4), lambda m, x: x.unique(return_inverse=True)),
        (np.array([2.0, 1.0, np.nan, 2.0, np.nan], np.float32), lambda m, x: m.unique(x, return_counts=True)),
        (rows, lambda m, x: m.unique(x, dim=0, return_inverse=True, return_counts=True)),
        (rows, lambda m, x: m.unique(x, return_counts=True, dim=1)),
        (np.zeros(0, np.int64), lambda m, x: m.unique(x, return_inverse=True, return_counts=True)),
        (ints, lambda m, x: m.unique_consecutive(x, return_inverse=True, return_counts=True)),
        (ints.reshape(2, 4), lambda m, x: x.unique_consecutive(return_inverse=True)),
        (rows, lambda m, x: m.unique_consecutive(x, dim=0, return_inverse=True, return_counts=True)),
        (ints, lambda m, x: m.bincount(x)),
        (ints, lambda m, x: x.bincount(minlength=7)),
        (ints, lambda m, x: m.bincount(x, x * 0.5)),
        (ints, lambda m, x: m.bincount(x, x.half())),
        (np.zeros(0, np.int64), lambda m, x: m.bincount(x, minlength=2)),
    ]
    for a, fn in cases:
        check_same(fn(torchjax, _ours(a)), fn(torch, _torch(a)))
    for fn in (torchjax.unique, torchjax.unique_consecutive, torchjax.bincount):
        with pytest.raises(RuntimeError, match="eagerly"):
            torchjax.compile(lambda a, f=fn: f(torchjax.as_tensor(a)))(jnp.asarray(ints))


GRADS = [
    ("sum", "f3", lambda m, x: m.sum(x, (0, 2))),
    ("mean", "f3", lambda m, x: x.mean(1, keepdim=True)),
    ("prod", "f", lambda m, x: m.prod(x, 1)),
    ("prod_with_zero", "z", lambda m, x: m.prod(x, 1)),
    ("std", "f", lambda m, x: m.std(x, 1)),
    ("var", "f3", lambda m, x: x.var((0, 2), correction=0)),
    ("norm", "f", lambda m, x: x.norm()),
    ("norm_p3_dim", "f", lambda m, x: x.norm(3, 1)),
    ("norm_zero", "zeros", lambda m, x: x.norm(dim=1)),
    ("logsumexp", "f", lambda m, x: m.logsumexp(x, 1)),
    ("max", "f", lambda m, x: m.max(x)),
    ("max_dim", "f", lambda m, x: m.max(x, 1).values),
    ("amax_ties", "ties", lambda m, x: m.amax(x, 1)),
    ("min_dim", "f3", lambda m, x: x.min(0).values),
    ("topk", "f", lambda m, x: m.topk(x, 2).values),
    ("sort", "f", lambda m, x: m.sort(x, 0, descending=True).values),
    ("cumsum", "f", lambda m, x: m.cumsum(x, 1)),
    ("cumprod", "f", lambda m, x: m.cumprod(x, 1)),
    ("median", "f", lambda m, x: m.median(x, 1).values),
    ("quantile", "f", lambda m, x: m.quantile(x, 0.3, 1)),
]
GRAD_INPUTS = {**INPUTS, "z": np.where(_f > 1.0, 0.0, _f).astype(np.float32), "zeros": np.zeros((2, 3), np.float32),
               "ties": np.array([[1.0, 2.0, 2.0], [0.5, 0.5, 0.5]], np.float32)}


@pytest.mark.parametrize("key, fn", [g[1:] for g in GRADS], ids=[g[0] for g in GRADS])
def test_gradients(key, fn):
    a = GRAD_INPUTS[key]
    x = torch.tensor(a, requires_grad=True)
    out = fn(torch, x)
    cotangent = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * torch.tensor(cotangent)).sum().backward()

    def loss(arr):
        return (fn(torchjax, torchjax.as_tensor(arr)) * jnp.asarray(cotangent)).sum().jax()

    grad = jax.jit(jax.grad(loss))(jnp.asarray(a))  # one program (op-by-op would compile every primitive)
    np.testing.assert_allclose(np.asarray(grad), x.grad.numpy(), atol=1e-5, rtol=1e-5)


ERRORS = [
    ("sum_bad_dim", "f", lambda m, x: m.sum(x, 2)),
    ("sum_bad_dim_tuple", "f3", lambda m, x: x.sum((0, -4))),
    ("sum_repeated_dim", "f", lambda m, x: m.sum(x, (1, -1))),
    ("sum_dim_float", "f", lambda m, x: m.sum(x, 1.0)),
    ("mean_int", "i", lambda m, x: m.mean(x)),
    ("mean_bool", "b", lambda m, x: x.mean()),
    ("nanmean_int", "i", lambda m, x: m.nanmean(x)),
    ("prod_dim_tuple", "f", lambda m, x: m.prod(x, (0, 1))),
    ("max_empty", "e", lambda m, x: m.max(x)),
    ("max_empty_dim", "e", lambda m, x: m.max(x, 0)),
    ("max_bad_dim", "f", lambda m, x: x.max(3)),
    ("min_empty", "e", lambda m, x: x.min()),
    ("amax_empty", "e", lambda m, x: m.amax(x)),
    ("amax_empty_dim", "e", lambda m, x: m.amax(x, 0)),
    ("amax_repeated_dim", "f", lambda m, x: m.amax(x, (1, -1))),
    ("aminmax_empty", "e", lambda m, x: m.aminmax(x)),
    ("argmax_empty", "e", lambda m, x: m.argmax(x)),
    ("argmin_empty_dim", "e", lambda m, x: m.argmin(x, 0)),
    ("argmax_bool", "b", lambda m, x: m.argmax(x)),
    ("argmax_bad_dim", "f", lambda m, x: m.argmax(x, -3)),
    ("std_int", "i", lambda m, x: m.std(x)),
    ("var_unbiased_and_correction", "f", lambda m, x: m.var(x, unbiased=True, correction=1)),
    ("var_bad_dim", "f", lambda m, x: m.var(x, 2)),
    ("norm_int", "i", lambda m, x: x.norm()),
    ("logsumexp_no_dim", "f", lambda m, x: m.logsumexp(x)),
    ("logsumexp_bad_dim", "f", lambda m, x: m.logsumexp(x, 5)),
    ("cumsum_no_dim", "f", lambda m, x: m.cumsum(x)),
    ("cumsum_bad_dim", "f", lambda m, x: m.cumsum(x, 2)),
    ("cummax_bad_dim", "f", lambda m, x: m.cummax(x, -3)),
    ("logcumsumexp_int", "i", lambda m, x: m.logcumsumexp(x, 0)),
    ("all_bad_dim", "b", lambda m, x: m.all(x, 2)),
    ("count_nonzero_repeated", "f", lambda m, x: m.count_nonzero(x, (0, 0))),
    ("median_bad_dim", "f", lambda m, x: m.median(x, 2)),
    ("quantile_int", "i", lambda m, x: m.quantile(x, 0.5)),
    ("quantile_q_range", "f", lambda m, x: m.quantile(x, 1.5)),
    ("quantile_q_tensor_range", "f", lambda m, x: m.quantile(x, m.tensor([0.5, -0.1]))),
    ("quantile_q_dtype", "f", lambda m, x: m.quantile(x, m.tensor([0.5], dtype=m.float16))),
    ("quantile_interpolation", "f", lambda m, x: m.quantile(x, 0.5, interpolation="cubic")),
    ("quantile_empty", "e", lambda m, x: m.quantile(x, 0.5)),
    ("topk_k_too_large", "f", lambda m, x: m.topk(x, 5)),
    ("topk_bad_dim", "f", lambda m, x: m.topk(x, 1, 2)),
    ("sort_bad_dim", "f", lambda m, x: m.sort(x, 2)),
    ("argsort_bad_dim", "f", lambda m, x: x.argsort(-3)),
    ("kthvalue_k_range", "f", lambda m, x: m.kthvalue(x, 5)),
    ("kthvalue_k_zero", "f", lambda m, x: m.kthvalue(x, 0)),
    ("bincount_negative", "i", lambda m, x: m.bincount(x.reshape(-1) - 1)),
    ("bincount_2d", "i", lambda m, x: m.bincount(x)),
    ("bincount_float", "f", lambda m, x: m.bincount(x.reshape(-1))),
    ("bincount_weights_length", "i", lambda m, x: m.bincount(x[0], x[1, :2] * 1.0)),
    ("histc_int", "i", lambda m, x: m.histc(x)),
    ("histc_max_below_min", "f", lambda m, x: m.histc(x, 4, 3, 2)),
    ("histc_nonfinite_range", "nan", lambda m, x: m.histc(x, 4)),
    ("diff_0d", "s", lambda m, x: m.diff(x)),
    ("diff_negative_n", "f", lambda m, x: m.diff(x, n=-1)),
    ("diff_prepend_ndim", "f", lambda m, x: m.diff(x, prepend=x[0])),
    ("diff_bad_dim", "f", lambda m, x: m.diff(x, dim=2)),
]


@pytest.mark.parametrize("key, fn", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(key, fn):
    raises_same(lambda: fn(torch, _torch(INPUTS[key])), lambda: fn(torchjax, _ours(INPUTS[key])))


@pytest.mark.parametrize("fn", [
    lambda x: torchjax.sum(x, dtype=torchjax.float64), lambda x: x.mean(dtype=torchjax.float64),
    lambda x: torchjax.cumsum(x, 0, dtype=torchjax.float64), lambda x: x.norm(dtype=torchjax.float64),
])
def test_explicit_64_bit_dtype_refused(fn):
    with pytest.raises(RuntimeError, match="64-bit"):
        fn(_ours(INPUTS["f"]))

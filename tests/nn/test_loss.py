"""Every loss of torch.nn (functional and module) against torch: values and gradients for every
reduction, under compile and vmap, extreme values, torch's kinks, warnings and exception types; CTC and
AdaptiveLogSoftmaxWithLoss; the softmax activations."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from parity import assert_close, load_torch_state, raises_same, to_numpy

import torchjax
import torchjax.nn as tnn
import torchjax.nn.functional as F

RNG = np.random.default_rng(0)


def make_case(shape, classes, probabilities=False, ignore=False):
    x = RNG.standard_normal(shape).astype(np.float32)
    target_shape = (shape[0], *shape[2:]) if len(shape) >= 2 else ()
    if probabilities:
        t = RNG.random(shape).astype(np.float32)
        t = t / t.sum(axis=1 if len(shape) >= 2 else 0, keepdims=True)
    else:
        t = RNG.integers(0, classes, size=target_shape)
        if ignore and t.size:
            t.reshape(-1)[0] = -100
    return x, t


CONFIGS = [
    # shape, options, probability targets
    ((6, 5), {}, False),
    ((6, 5), {"weight": True, "reduction": "sum"}, False),
    ((6, 5), {"label_smoothing": 0.25, "ignore": True}, False),
    ((6, 5), {"weight": True, "label_smoothing": 0.1, "ignore": True}, False),
    ((3, 4, 2, 3), {"reduction": "none", "ignore": True}, False),
    ((3, 4, 2, 3), {"weight": True, "label_smoothing": 0.2}, False),
    ((5,), {}, False),
    ((6, 5), {}, True),
    ((6, 5), {"weight": True, "label_smoothing": 0.3, "reduction": "none"}, True),
    ((2, 3, 4), {"reduction": "sum"}, True),
]


@pytest.mark.parametrize("shape,options,probabilities", CONFIGS)
def test_cross_entropy_values_and_gradients_match_torch(shape, options, probabilities):
    options = dict(options)
    classes = shape[1] if len(shape) >= 2 else shape[0]
    x, t = make_case(shape, classes, probabilities, options.pop("ignore", False))
    weight = np.linspace(0.5, 2.0, classes).astype(np.float32) if options.pop("weight", False) else None
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.cross_entropy(xt, torch.tensor(t), weight=None if weight is None else
                                              torch.tensor(weight), **options)
    out_t.sum().backward()

    def ours(v):
        return F.cross_entropy(v, jnp.asarray(t), weight=None if weight is None else jnp.asarray(weight), **options)

    value, grad = jax.jit(lambda v: (ours(v), jax.grad(lambda v: ours(v).sum().jax())(v)))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(value), to_numpy(out_t), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(grad), to_numpy(xt.grad), rtol=1e-5, atol=1e-6)
    module = tnn.CrossEntropyLoss(weight=None if weight is None else jnp.asarray(weight), **options)
    compiled = torchjax.compile(lambda m, v, target: m(v, target))
    np.testing.assert_allclose(np.asarray(compiled(module, jnp.asarray(x), jnp.asarray(t))), to_numpy(out_t),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_torch(reduction):
    x, t = make_case((7, 4), 4, ignore=True)
    weight = np.array([1.0, 0.5, 2.0, 1.5], np.float32)
    logp = torch.log_softmax(torch.tensor(x), 1)
    expected = torch.nn.NLLLoss(weight=torch.tensor(weight), reduction=reduction)(logp, torch.tensor(t))
    ours = tnn.NLLLoss(weight=jnp.asarray(weight), reduction=reduction)(jnp.asarray(to_numpy(logp)), jnp.asarray(t))
    np.testing.assert_allclose(np.asarray(ours), to_numpy(expected), rtol=1e-5, atol=1e-6)


def test_loss_module_state_and_legacy_arguments():
    m = tnn.CrossEntropyLoss(weight=jnp.ones(3))
    assert list(m.state_dict()) == ["weight"] and repr(m) == repr(torch.nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert tnn.NLLLoss().weight is None and list(tnn.NLLLoss().state_dict()) == []
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert tnn.NLLLoss(size_average=False).reduction == "sum"


def test_all_ignored_mean_is_nan_like_torch():
    x, t = np.zeros((2, 3), np.float32), np.array([-100, -100])
    assert np.isnan(float(F.cross_entropy(jnp.asarray(x), jnp.asarray(t))))
    assert torch.isnan(torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t)))


@pytest.mark.parametrize("build", [
    lambda lib, x, t: lib.cross_entropy(x(np.zeros((3, 4), np.float32)), t(np.array([0, 1, 7]))),
    lambda lib, x, t: lib.cross_entropy(x(np.zeros((3, 4), np.float32)), t(np.array([0, 1]))),
    lambda lib, x, t: lib.cross_entropy(x(np.zeros((3, 4), np.float32)), t(np.array([0, 1, 2])), label_smoothing=1.5),
    lambda lib, x, t: lib.cross_entropy(x(np.zeros((3, 4), np.float32)), t(np.array([0, 1, 2])), reduction="avg"),
    lambda lib, x, t: lib.nll_loss(x(np.zeros((3, 4), np.float32)), t(np.array([0, -3, 2]))),
])
def test_invalid_arguments_raise_torchs_exception_types(build):
    raises_same(lambda: build(torch.nn.functional, torch.tensor, torch.tensor),
                lambda: build(F, jnp.asarray, jnp.asarray))


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision_accumulates_in_float32(dtype):
    x = jnp.asarray(RNG.standard_normal((4, 300)) * 8, dtype)
    reference = jax.nn.log_softmax(x.astype(jnp.float32), axis=1)
    out = F.log_softmax(x, dim=1)
    assert out.dtype == dtype
    np.testing.assert_allclose(np.asarray(out, np.float32), np.asarray(reference), rtol=2e-2, atol=5e-2)


@pytest.mark.parametrize("dim", [0, 1, -1, None])
def test_softmax_modules_match_torch(dim):
    x = RNG.standard_normal((3, 5)).astype(np.float32)
    for ours, theirs in ((tnn.Softmax(dim), torch.nn.Softmax(dim)), (tnn.LogSoftmax(dim), torch.nn.LogSoftmax(dim))):
        with pytest.warns(UserWarning) if dim is None else _no_warning():
            out = ours(jnp.asarray(x))
        with pytest.warns(UserWarning) if dim is None else _no_warning():
            expected = theirs(torch.tensor(x))
        np.testing.assert_allclose(np.asarray(out), to_numpy(expected), rtol=1e-5, atol=1e-6)
        assert repr(ours) == repr(theirs)
    assert repr(tnn.ReLU(inplace=True)) == repr(torch.nn.ReLU(inplace=True))
    np.testing.assert_array_equal(np.asarray(tnn.ReLU()(jnp.asarray(x))), np.maximum(x, 0))


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --------------------------------------------------------------------------- every loss against torch
#
# A case is (id, inputs, call, differentiable input indices, reductions, vmap in_axes or None).
# ``call(lib, args, reduction)`` runs the loss with ``lib`` = torch.nn.functional or ours; ``args`` are
# the inputs as that library's arrays. Gradients are compared for the inputs torch differentiates.

LIBS = {"torch": (torch.nn.functional, torch.nn, torch.tensor), "torchjax": (F, tnn, jnp.asarray)}
N, C = 4, 5


def _normal(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _uniform(*shape, low=0.0, high=1.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


def _signs(*shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return (e / e.sum(axis, keepdims=True)).astype(np.float32)


def _multilabel_targets():
    t = np.full((N, C), -1, np.int64)
    for row, count in enumerate([2, 0, 5, 3]):
        t[row, :count] = RNG.permutation(C)[:count]
    t[3, 3] = 4  # an entry after the first -1 is ignored
    t[3, 2] = -1
    return t


def _cosine_distance(lib):
    cos = torch.nn.functional.cosine_similarity if lib is torch.nn.functional else F.cosine_similarity
    return lambda a, b: 1.0 - cos(a, b)


ALL = ("none", "mean", "sum")
CASES = [
    ("l1", [_normal(N, C), _normal(N, C)], lambda L, a, r: L.l1_loss(*a, reduction=r), (0, 1), ALL, (0, 0)),
    ("l1_weight", [_normal(N, C), _normal(N, C), _uniform(N, C, low=0.5)],
     lambda L, a, r: L.l1_loss(a[0], a[1], reduction=r, weight=a[2]), (0, 1), ALL, None),
    ("mse", [_normal(N, C), _normal(N, C)], lambda L, a, r: L.mse_loss(*a, reduction=r), (0, 1), ALL, (0, 0)),
    ("mse_weight", [_normal(N, C), _normal(N, C), _uniform(N, C, low=0.5)],
     lambda L, a, r: L.mse_loss(a[0], a[1], reduction=r, weight=a[2]), (0, 1), ALL, None),
    ("smooth_l1", [_normal(N, C, scale=2), _normal(N, C)],
     lambda L, a, r: L.smooth_l1_loss(*a, reduction=r, beta=0.7), (0, 1), ALL, (0, 0)),
    ("smooth_l1_beta0", [_normal(N, C), _normal(N, C)],
     lambda L, a, r: L.smooth_l1_loss(*a, reduction=r, beta=0.0), (0, 1), ALL, None),
    ("huber", [_normal(N, C, scale=2), _normal(N, C)],
     lambda L, a, r: L.huber_loss(*a, reduction=r, delta=0.6), (0, 1), ALL, (0, 0)),
    ("huber_weight", [_normal(N, C, scale=2), _normal(N, C), _uniform(N, C, low=0.5)],
     lambda L, a, r: L.huber_loss(a[0], a[1], reduction=r, delta=1.5, weight=a[2]), (0, 1), ALL, None),
    ("bce", [_uniform(N, C, low=0.02, high=0.98), _uniform(N, C), _uniform(C, low=0.5)],
     lambda L, a, r: L.binary_cross_entropy(a[0], a[1], weight=a[2], reduction=r), (0, 1), ALL, (0, 0, None)),
    ("bce_logits", [_normal(N, C, scale=3), _uniform(N, C), _uniform(C, low=0.5), _uniform(C, low=0.5, high=3)],
     lambda L, a, r: L.binary_cross_entropy_with_logits(a[0], a[1], weight=a[2], pos_weight=a[3], reduction=r),
     (0, 1), ALL, (0, 0, None, None)),
    ("bce_logits_plain", [_normal(2, 3, C), _uniform(2, 3, C)],
     lambda L, a, r: L.binary_cross_entropy_with_logits(*a, reduction=r), (0, 1), ALL, None),
    ("bce_logits_pos_weight_grid", [_normal(2, 3, C), _uniform(2, 3, C), _uniform(3, 1, low=0.5, high=3)],
     lambda L, a, r: L.binary_cross_entropy_with_logits(a[0], a[1], pos_weight=a[2], reduction=r), (0, 1), ALL, None),
    ("soft_margin", [_normal(N, C), _signs(N, C)], lambda L, a, r: L.soft_margin_loss(*a, reduction=r), (0,), ALL,
     (0, 0)),
    ("multilabel_soft_margin", [_normal(N, C), (RNG.random((N, C)) < 0.5).astype(np.float32), _uniform(C, low=0.5)],
     lambda L, a, r: L.multilabel_soft_margin_loss(a[0], a[1], weight=a[2], reduction=r), (0, 1), ALL,
     (0, 0, None)),
    ("kl_div", [np.log(_softmax(_normal(N, C))), _softmax(_normal(N, C))],
     lambda L, a, r: L.kl_div(*a, reduction=r), (0, 1), ("none", "batchmean", "sum"), (0, 0)),
    ("kl_div_log_target", [np.log(_softmax(_normal(N, C))), np.log(_softmax(_normal(N, C)))],
     lambda L, a, r: L.kl_div(*a, reduction=r, log_target=True), (0, 1), ("none", "batchmean", "sum"), None),
    ("poisson", [_normal(N, C), RNG.poisson(2.0, (N, C)).astype(np.float32)],
     lambda L, a, r: L.poisson_nll_loss(*a, reduction=r), (0, 1), ALL, (0, 0)),
    ("poisson_full", [_uniform(N, C, low=0.1, high=3), _uniform(N, C, low=0.5, high=6)],
     lambda L, a, r: L.poisson_nll_loss(*a, log_input=False, full=True, eps=1e-6, reduction=r), (0, 1), ALL, None),
    ("gaussian", [_normal(N, C), _normal(N, C), _uniform(N, C, low=0.1, high=2)],
     lambda L, a, r: L.gaussian_nll_loss(*a, reduction=r), (0, 1, 2), ALL, (0, 0, 0)),
    ("gaussian_homoscedastic", [_normal(N, C), _normal(N, C), _uniform(N, 1, low=0.1, high=2)],
     lambda L, a, r: L.gaussian_nll_loss(*a, full=True, reduction=r), (0, 1, 2), ALL, (0, 0, 0)),
    ("gaussian_var_without_last_dim", [_normal(N, C), _normal(N, C), _uniform(N, low=0.1, high=2)],
     lambda L, a, r: L.gaussian_nll_loss(*a, eps=0.3, reduction=r), (0, 1, 2), ALL, None),
    ("gaussian_float_var", [_normal(N, C), _normal(C)],
     lambda L, a, r: L.gaussian_nll_loss(a[0], a[1], 0.5, reduction=r), (0, 1), ALL, None),
    ("hinge_embedding", [_normal(N, C), _signs(N, C)],
     lambda L, a, r: L.hinge_embedding_loss(*a, margin=0.5, reduction=r), (0,), ALL, (0, 0)),
    ("cosine_embedding", [_normal(N, 6), _normal(N, 6), _signs(N)],
     lambda L, a, r: L.cosine_embedding_loss(*a, margin=-0.2, reduction=r), (0, 1), ALL, (0, 0, 0)),
    ("margin_ranking", [_normal(6), _normal(6), _signs(6)],
     lambda L, a, r: L.margin_ranking_loss(*a, margin=0.3, reduction=r), (0, 1, 2), ALL, (0, 0, 0)),
    ("multi_margin", [_normal(N, C), RNG.integers(0, C, N)],
     lambda L, a, r: L.multi_margin_loss(*a, reduction=r), (0,), ALL, (0, 0)),
    ("multi_margin_p2_weight", [_normal(N, C), RNG.integers(0, C, N), _uniform(C, low=0.5)],
     lambda L, a, r: L.multi_margin_loss(a[0], a[1], p=2, margin=0.7, weight=a[2], reduction=r), (0,), ALL,
     (0, 0, None)),
    ("multilabel_margin", [_normal(N, C), _multilabel_targets()],
     lambda L, a, r: L.multilabel_margin_loss(*a, reduction=r), (0,), ALL, (0, 0)),
    ("triplet", [_normal(N, 6), _normal(N, 6), _normal(N, 6)],
     lambda L, a, r: L.triplet_margin_loss(*a, margin=2.0, reduction=r), (0, 1, 2), ALL, (0, 0, 0)),
    ("triplet_p1_swap", [_normal(N, 6), _normal(N, 6), _normal(N, 6)],
     lambda L, a, r: L.triplet_margin_loss(*a, margin=3.0, p=1, swap=True, reduction=r), (0, 1, 2), ALL, None),
    ("triplet_p3_eps", [_normal(N, 6), _normal(N, 6), _normal(N, 6)],
     lambda L, a, r: L.triplet_margin_loss(*a, margin=1.5, p=3, eps=0.1, reduction=r), (0, 1, 2), ALL, None),
    ("triplet_distance", [_normal(N, 6), _normal(N, 6), _normal(N, 6)],
     lambda L, a, r: L.triplet_margin_with_distance_loss(*a, margin=2.0, reduction=r), (0, 1, 2), ALL, (0, 0, 0)),
    ("triplet_cosine_distance_swap", [_normal(N, 6), _normal(N, 6), _normal(N, 6)],
     lambda L, a, r: L.triplet_margin_with_distance_loss(*a, distance_function=_cosine_distance(L), margin=0.8,
                                                         swap=True, reduction=r), (0, 1, 2), ALL, None),
    ("nll_kdim", [np.log(_softmax(_normal(3, C, 2, 2), axis=1)), RNG.integers(0, C, (3, 2, 2)), _uniform(C, low=.5)],
     lambda L, a, r: L.nll_loss(a[0], a[1], weight=a[2], ignore_index=2, reduction=r), (0,), ALL, None),
    ("cross_entropy_kdim_probabilities", [_normal(3, C, 2), _softmax(_normal(3, C, 2), axis=1)],
     lambda L, a, r: L.cross_entropy(*a, label_smoothing=0.2, reduction=r), (0, 1), ALL, None),
    ("cross_entropy_weight_smoothing", [_normal(N, C), RNG.integers(0, C, N), _uniform(C, low=0.5)],
     lambda L, a, r: L.cross_entropy(a[0], a[1], weight=a[2], label_smoothing=0.3, reduction=r), (0,),
     ("none", "sum"), (0, 0, None)),
]
CASE_IDS = [case[0] for case in CASES]


def _as_lib(arrays, lib, grads=()):
    convert = LIBS[lib][2]
    if lib == "torch":
        return [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    return [convert(a) for a in arrays]


def _ours_for_every_reduction(call, arrays, grads, reductions):
    """Our values and gradients for every reduction, in one jitted program (one XLA compile per case:
    compiles, not arithmetic, dominate these tiny tests). Eager calls are covered by the module tests."""
    def run(*args):
        results = {}
        for reduction in reductions:
            def total(*diff, reduction=reduction):
                full = list(args)
                for i, value in zip(grads, diff, strict=True):
                    full[i] = value
                return call(F, full, reduction).sum().jax()

            results[reduction] = (call(F, list(args), reduction),
                                  jax.grad(total, argnums=tuple(range(len(grads))))(*(args[i] for i in grads)))
        return results

    return jax.jit(run)(*_as_lib(arrays, "torchjax"))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_loss_values_and_gradients_match_torch(case):
    name, arrays, call, grads, reductions, _ = case
    ours = _ours_for_every_reduction(call, arrays, grads, reductions)
    for reduction in reductions:
        theirs = _as_lib(arrays, "torch", grads)
        expected = call(torch.nn.functional, theirs, reduction)
        expected.sum().backward()
        value, got = ours[reduction]
        assert_close(value, expected)
        for i, g in zip(grads, got, strict=True):
            assert_close(g, theirs[i].grad, atol=2e-5, rtol=2e-5)


VMAP_CASES = [c for c in CASES if c[5] is not None]


@pytest.mark.parametrize("case", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
def test_loss_under_vmap_is_per_example(case):
    """vmap over the batch with reduction='none' gives the batched result (and, for 'sum', its sum)."""
    name, arrays, call, _, _, in_axes = case
    ours = _as_lib(arrays, "torchjax")

    @jax.jit
    def run(*args):
        per_example = jax.vmap(lambda *a: call(F, list(a), "none"), in_axes=in_axes)(*args)
        per_example_sum = jax.vmap(lambda *a: call(F, list(a), "sum"), in_axes=in_axes)(*args)
        return per_example, per_example_sum.sum(), call(F, list(args), "none"), call(F, list(args), "sum")

    mapped, mapped_sum, batched, batched_sum = run(*ours)
    assert_close(mapped, batched)
    assert_close(mapped_sum, batched_sum, atol=1e-4)


# Each module: (class name, constructor kwargs with arrays as numpy, forward inputs).
MODULES = [
    ("L1Loss", {}, [_normal(N, C), _normal(N, C)]),
    ("MSELoss", {"reduction": "sum"}, [_normal(N, C), _normal(N, C)]),
    ("SmoothL1Loss", {"beta": 0.5}, [_normal(N, C), _normal(N, C)]),
    ("HuberLoss", {"delta": 0.5, "reduction": "none"}, [_normal(N, C), _normal(N, C)]),
    ("NLLLoss", {"weight": _uniform(C, low=0.5), "ignore_index": 1},
     [np.log(_softmax(_normal(N, C))), RNG.integers(0, C, N)]),
    ("CrossEntropyLoss", {"weight": _uniform(C, low=0.5), "label_smoothing": 0.1},
     [_normal(N, C), RNG.integers(0, C, N)]),
    ("BCELoss", {"weight": _uniform(C, low=0.5)}, [_uniform(N, C, low=0.05, high=0.95), _uniform(N, C)]),
    ("BCEWithLogitsLoss", {"pos_weight": _uniform(C, low=0.5, high=2)}, [_normal(N, C), _uniform(N, C)]),
    ("SoftMarginLoss", {}, [_normal(N, C), _signs(N, C)]),
    ("MultiLabelSoftMarginLoss", {"weight": _uniform(C, low=0.5)}, [_normal(N, C), _uniform(N, C)]),
    ("MultiLabelMarginLoss", {}, [_normal(N, C), _multilabel_targets()]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": _uniform(C, low=0.5)},
     [_normal(N, C), RNG.integers(0, C, N)]),
    ("HingeEmbeddingLoss", {"margin": 2.0}, [_normal(N, C), _signs(N, C)]),
    ("CosineEmbeddingLoss", {"margin": 0.1}, [_normal(N, 6), _normal(N, 6), _signs(N)]),
    ("MarginRankingLoss", {"margin": 0.5}, [_normal(6), _normal(6), _signs(6)]),
    ("TripletMarginLoss", {"margin": 2.0, "swap": True}, [_normal(N, 6), _normal(N, 6), _normal(N, 6)]),
    ("TripletMarginWithDistanceLoss", {"margin": 2.0}, [_normal(N, 6), _normal(N, 6), _normal(N, 6)]),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True},
     [np.log(_softmax(_normal(N, C))), np.log(_softmax(_normal(N, C)))]),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, [_uniform(N, C, low=0.1, high=4), _uniform(N, C, high=5)]),
    ("GaussianNLLLoss", {"full": True, "eps": 0.01}, [_normal(N, C), _normal(N, C), _uniform(N, 1, high=2)]),
]


def _module_pair(name, kwargs):
    theirs = getattr(torch.nn, name)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                        for k, v in kwargs.items()})
    ours = getattr(tnn, name)(**{k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
    return theirs, ours


@pytest.mark.parametrize("name,kwargs,inputs", MODULES, ids=[m[0] for m in MODULES])
def test_loss_modules_match_torch_eager_and_compiled(name, kwargs, inputs):
    theirs, ours = _module_pair(name, kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert getattr(type(ours), "__constants__", None) == getattr(type(theirs), "__constants__", None)
    expected = theirs(*(torch.tensor(a) for a in inputs))
    args = [jnp.asarray(a) for a in inputs]
    assert_close(ours(*args), expected)
    compiled = torchjax.compile(lambda module, *a: module(*a))
    assert_close(compiled(ours, *args), expected)


def _public_signature(obj):
    import inspect

    target = obj.__init__ if isinstance(obj, type) else obj
    return [(p.name, p.kind, p.default) for p in inspect.signature(target).parameters.values()]


LOSS_FUNCTIONS = ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                  "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss", "gaussian_nll_loss",
                  "hinge_embedding_loss", "multilabel_margin_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
                  "cosine_embedding_loss", "multi_margin_loss", "margin_ranking_loss", "triplet_margin_loss",
                  "triplet_margin_with_distance_loss", "ctc_loss", "nll_loss", "cross_entropy", "linear_cross_entropy"]
LOSS_MODULES = list(torch.nn.modules.loss.__all__)


def test_every_loss_exists_with_torchs_signature():
    for name in LOSS_FUNCTIONS:
        assert _public_signature(getattr(F, name)) == _public_signature(getattr(torch.nn.functional, name)), name
    for name in LOSS_MODULES + ["AdaptiveLogSoftmaxWithLoss", "LinearCrossEntropyOptions"]:
        assert _public_signature(getattr(tnn, name)) == _public_signature(getattr(torch.nn, name)), name
        assert name in tnn.__all__


def test_legacy_size_average_and_reduce_map_as_torch():
    x, y = _normal(N, C), _normal(N, C)
    for size_average, reduce in [(False, None), (None, False), (True, True), (False, True), (True, False)]:
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            ours = F.mse_loss(jnp.asarray(x), jnp.asarray(y), size_average=size_average, reduce=reduce)
        with pytest.warns(UserWarning):
            expected = torch.nn.functional.mse_loss(torch.tensor(x), torch.tensor(y), size_average, reduce)
        assert_close(ours, expected)
        with pytest.warns(UserWarning):
            module = tnn.HingeEmbeddingLoss(size_average=size_average, reduce=reduce)
        with pytest.warns(UserWarning):
            assert module.reduction == torch.nn.HingeEmbeddingLoss(size_average=size_average, reduce=reduce).reduction
    with pytest.warns(UserWarning, match="elementwise_mean"):
        assert_close(F.l1_loss(jnp.asarray(x), jnp.asarray(y), reduction="elementwise_mean"), np.abs(x - y).mean())
    with pytest.warns(UserWarning):  # legacy arguments override reduction='batchmean': no division by the batch
        ours = F.kl_div(jnp.asarray(x), jnp.asarray(np.abs(y)), size_average=False, reduction="batchmean")
    with pytest.warns(UserWarning):
        expected = torch.nn.functional.kl_div(torch.tensor(x), torch.tensor(np.abs(y)), size_average=False,
                                              reduction="batchmean")
    assert_close(ours, expected)


def test_warnings_where_torch_warns():
    x = jnp.zeros((3,))
    for fn in (F.l1_loss, F.mse_loss, F.smooth_l1_loss, F.huber_loss):
        with pytest.warns(UserWarning, match=r"Using a target size \(\(3, 1\)\) that is different to the input"):
            assert fn(x, jnp.zeros((3, 1)), reduction="none").shape == (3, 3)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        tnn.KLDivLoss()(jnp.zeros((2, 3)), jnp.ones((2, 3)))
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        legacy = tnn.NLLLoss2d()
    assert isinstance(legacy, tnn.NLLLoss) and repr(legacy) == "NLLLoss2d()"


def _extremes():
    logits = np.array([-100.0, 100.0, -1e4, 1e4, 0.0, 30.0, -30.0], np.float32)
    return logits, np.array([1.0, 0.0, 1.0, 0.0, 0.5, 1.0, 0.0], np.float32)


EXTREME_CALLS = [
    lambda L, T, x, y: L.binary_cross_entropy_with_logits(x, y, pos_weight=T(np.full(7, 2.5, np.float32)),
                                                          reduction="none"),
    lambda L, T, x, y: L.binary_cross_entropy_with_logits(x, y, reduction="none"),
    lambda L, T, x, y: L.multilabel_soft_margin_loss(x[None], y[None], reduction="none"),
    lambda L, T, x, y: L.cross_entropy(x[None], y[None] / y.sum(), reduction="none"),
    lambda L, T, x, y: L.cross_entropy(x.reshape(1, 7), T(np.array([2])), reduction="sum"),
    lambda L, T, x, y: L.cross_entropy(x.reshape(1, 7), T(np.array([3])), label_smoothing=0.1),
    lambda L, T, x, y: L.kl_div(x / 100, y, reduction="sum"),
    lambda L, T, x, y: L.kl_div(x, -x * x / 1e5, reduction="sum", log_target=True),
    lambda L, T, x, y: L.poisson_nll_loss(x / 1000, y, reduction="none"),
    lambda L, T, x, y: L.gaussian_nll_loss(x, y, T(np.zeros(7, np.float32)), reduction="none"),
]


def test_extreme_values_are_finite_and_match_torch():
    logits, labels = _extremes()
    # BCE at probabilities exactly 0 and 1: torch's -100 log clamp and its gradients (+-1e12, inf for target).
    probs = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-30, 1 - 1e-7], np.float32)
    pt, lt = torch.tensor(probs, requires_grad=True), torch.tensor(labels, requires_grad=True)
    expected = torch.nn.functional.binary_cross_entropy(pt, lt, reduction="none")
    expected.sum().backward()

    def bce(p, y):
        return F.binary_cross_entropy(p, y, reduction="none")

    grads = jax.grad(lambda p, y: bce(p, y).sum().jax(), argnums=(0, 1))
    value, (gp, gy) = jax.jit(lambda p, y: (bce(p, y), grads(p, y)))(jnp.asarray(probs), jnp.asarray(labels))
    assert_close(value, expected)
    assert_close(gp, pt.grad, rtol=1e-4)
    assert_close(gy, lt.grad, rtol=1e-4)

    @jax.jit
    def ours(x, y):
        return [(call(F, jnp.asarray, x, y), jax.grad(lambda x, call=call: call(F, jnp.asarray, x, y).sum().jax())(x))
                for call in EXTREME_CALLS]

    for call, (value, grad) in zip(EXTREME_CALLS, ours(jnp.asarray(logits), jnp.asarray(labels)), strict=True):
        xt = torch.tensor(logits, requires_grad=True)
        expected = call(torch.nn.functional, torch.tensor, xt, torch.tensor(labels))
        expected.sum().backward()
        assert np.isfinite(to_numpy(value)).all() and np.isfinite(to_numpy(grad)).all()
        assert_close(value, expected)
        assert_close(grad, xt.grad)


def test_soft_margin_is_finite_where_torch_overflows():
    """torch computes log(1 + exp(-y x)) directly: inf (and NaN gradients) at |x| ~ 100 in float32. Ours is a
    softplus, equal to torch's float64 result."""
    logits, _ = _extremes()
    signs = np.array([1, -1, 1, -1, 1, -1, 1], np.float32)
    xt = torch.tensor(logits.astype(np.float64), requires_grad=True)
    expected = torch.nn.functional.soft_margin_loss(xt, torch.tensor(signs.astype(np.float64)), reduction="none")
    expected.sum().backward()
    ours = F.soft_margin_loss(jnp.asarray(logits), jnp.asarray(signs), reduction="none")
    grad = jax.grad(lambda x: F.soft_margin_loss(x, jnp.asarray(signs), reduction="sum").jax())(jnp.asarray(logits))
    finite = np.isfinite(to_numpy(expected))
    assert_close(np.asarray(ours)[finite], to_numpy(expected)[finite].astype(np.float32), rtol=1e-6)
    assert np.isfinite(np.asarray(ours)).all()
    assert np.isfinite(np.asarray(grad)).all()
    assert_close(np.asarray(grad)[finite], xt.grad.numpy()[finite].astype(np.float32))


KINKS = [  # (call, input, other arrays): |x| at 0 (sgn: 0), clamp_min at 0 (passes), margin terms at 0 (blocked)
    (lambda L, x, y: L.l1_loss(x, y), np.array([1.0, 2.0], np.float32), [np.array([1.0, 1.0], np.float32)]),
    (lambda L, x, y: L.smooth_l1_loss(x, y, beta=0.0), np.array([1.0, 2.0], np.float32),
     [np.array([1.0, 1.0], np.float32)]),
    (lambda L, x, y: L.hinge_embedding_loss(x, y, reduction="sum"), np.array([1.0, 2.0], np.float32),
     [np.array([-1.0, -1.0], np.float32)]),
    (lambda L, x, y, z: L.margin_ranking_loss(x, y, z), np.array([1.0], np.float32),
     [np.array([1.0], np.float32), np.array([1.0], np.float32)]),
    (lambda L, x, y: L.multi_margin_loss(x, y), np.array([[1.0, 2.0]], np.float32), [np.array([1])]),
    (lambda L, x, y: L.multilabel_margin_loss(x, y), np.array([[1.0, 2.0]], np.float32), [np.array([[1, -1]])]),
]


def test_kinks_take_torchs_gradient():
    @jax.jit
    def ours(inputs, others):
        return [jax.grad(lambda x, call=call, rest=rest: call(F, x, *rest).jax())(x)
                for (call, _, _), x, rest in zip(KINKS, inputs, others, strict=True)]

    grads = ours([jnp.asarray(k[1]) for k in KINKS], [[jnp.asarray(a) for a in k[2]] for k in KINKS])
    for (call, x, others), grad in zip(KINKS, grads, strict=True):
        xt = torch.tensor(x, requires_grad=True)
        call(torch.nn.functional, xt, *(torch.tensor(a) for a in others)).backward()
        assert_close(grad, xt.grad)


def _errors():
    z, o = np.zeros((3, 4), np.float32), np.ones((3, 4), np.float32)
    idx = np.array([0, 1, 2])
    return [
        lambda L, T: L.F.mse_loss(T(z), T(z), reduction="avg"),
        lambda L, T: L.F.l1_loss(T(z), T(np.zeros((3, 5), np.float32))),
        lambda L, T: L.F.mse_loss(T(z), T(z), weight=T(np.ones(4, np.float32))),
        lambda L, T: L.F.l1_loss(T(z), T(z), weight=T(o), reduction="avg"),
        lambda L, T: L.F.smooth_l1_loss(T(z), T(z), beta=-1.0),
        lambda L, T: L.F.huber_loss(T(z), T(z), delta=0.0),
        lambda L, T: L.nn.HuberLoss(delta="1"),
        lambda L, T: L.F.binary_cross_entropy(T(z + 1.5), T(z)),
        lambda L, T: L.F.binary_cross_entropy(T(z), T(z - 0.5)),
        lambda L, T: L.F.binary_cross_entropy(T(z), T(z[0])),
        lambda L, T: L.F.binary_cross_entropy(T(z), T(z), weight=T(np.ones(3, np.float32))),
        lambda L, T: L.F.binary_cross_entropy(T(z), T(z), weight=T(np.ones((2, 3, 4), np.float32))),
        lambda L, T: L.F.binary_cross_entropy_with_logits(T(z), T(z[:, :2])),
        lambda L, T: L.F.binary_cross_entropy_with_logits(T(z), T(z), pos_weight=T(np.ones(3, np.float32))),
        lambda L, T: L.F.binary_cross_entropy_with_logits(T(z), T(z), pos_weight=T(np.ones((2, 3, 4), np.float32))),
        lambda L, T: L.F.binary_cross_entropy_with_logits(T(z), T(z), weight=T(np.ones(5, np.float32))),
        lambda L, T: L.F.kl_div(T(z), T(z), reduction="avg"),
        lambda L, T: L.F.poisson_nll_loss(T(z), T(z), reduction="avg"),
        lambda L, T: L.F.poisson_nll_loss(T(z), T(z[:, :3])),
        lambda L, T: L.F.gaussian_nll_loss(T(z), T(z), -1.0),
        lambda L, T: L.F.gaussian_nll_loss(T(z), T(z), T(o - 2)),
        lambda L, T: L.F.gaussian_nll_loss(T(z), T(z), 1),
        lambda L, T: L.F.gaussian_nll_loss(T(z), T(z), T(np.ones(4, np.float32))),
        lambda L, T: L.F.gaussian_nll_loss(T(z), T(z), T(np.ones((3, 2), np.float32))),
        lambda L, T: L.F.gaussian_nll_loss(T(z), T(z), T(o), reduction="avg"),
        lambda L, T: L.F.soft_margin_loss(T(z), T(z[:, :3])),
        lambda L, T: L.F.soft_margin_loss(T(z), T(z), reduction="avg"),
        lambda L, T: L.F.multilabel_soft_margin_loss(T(z), T(z), reduction="avg"),
        lambda L, T: L.F.hinge_embedding_loss(T(z), T(z[:, :3])),
        lambda L, T: L.F.multilabel_margin_loss(T(z), T(np.array([[0, 4, -1, 0]] * 3))),
        lambda L, T: L.F.multilabel_margin_loss(T(z), T(np.array([[0, -2, -1, 0]] * 3))),
        lambda L, T: L.F.multilabel_margin_loss(T(z), T(np.array([[0, 1, -1]] * 3))),
        lambda L, T: L.F.multilabel_margin_loss(T(z), T(z)),
        lambda L, T: L.F.multilabel_margin_loss(T(z[None]), T(np.zeros((1, 3, 4), np.int64))),
        lambda L, T: L.F.multi_margin_loss(T(z), T(np.array([0, 4, 1]))),
        lambda L, T: L.F.multi_margin_loss(T(z), T(np.array([0, -1, 1]))),
        lambda L, T: L.F.multi_margin_loss(T(z), T(idx[:2])),
        lambda L, T: L.F.multi_margin_loss(T(z), T(idx[None])),
        lambda L, T: L.F.multi_margin_loss(T(z), T(idx), p=3),
        lambda L, T: L.F.multi_margin_loss(T(z), T(idx), weight=T(o[:1])),
        lambda L, T: L.F.multi_margin_loss(T(z), T(idx), weight=T(o[0, :3])),
        lambda L, T: L.F.multi_margin_loss(T(z), T(idx.astype(np.float32))),
        lambda L, T: L.nn.MultiMarginLoss(weight=T(o)),
        lambda L, T: L.nn.MultiMarginLoss(p=0),
        lambda L, T: L.F.cosine_embedding_loss(T(z), T(z), T(o[:1, :3])),
        lambda L, T: L.F.cosine_embedding_loss(T(z[0]), T(z[0]), T(o[0, :1])),
        lambda L, T: L.F.cosine_embedding_loss(T(z), T(z[0]), T(o[:, 0])),
        lambda L, T: L.F.cosine_embedding_loss(T(z), T(z), T(o[:2, 0])),
        lambda L, T: L.F.cosine_embedding_loss(T(z), T(z[:, :3]), T(o[:, 0])),
        lambda L, T: L.F.margin_ranking_loss(T(z), T(z), T(o[:, 0])),
        lambda L, T: L.F.margin_ranking_loss(T(z[:, 0]), T(z[:2, 0]), T(o[:, 0])),
        lambda L, T: L.F.triplet_margin_loss(T(z), T(z), T(z[0])),
        lambda L, T: L.F.triplet_margin_loss(T(z), T(z), T(z), margin=0),
        lambda L, T: L.F.triplet_margin_loss(T(z), T(z), T(z[:, :3])),
        lambda L, T: L.nn.TripletMarginLoss(margin=-1.0),
        lambda L, T: L.F.triplet_margin_with_distance_loss(T(z), T(z), T(z), margin=0),
        lambda L, T: L.F.triplet_margin_with_distance_loss(T(z), T(z[0]), T(z)),
        lambda L, T: L.F.triplet_margin_with_distance_loss(T(z), T(z), T(z), reduction="x"),
        lambda L, T: L.nn.TripletMarginWithDistanceLoss(margin=0.0),
        lambda L, T: L.F.nll_loss(T(z), T(idx), weight=T(o[0, :3])),
        lambda L, T: L.F.cross_entropy(T(z), T(idx), weight=T(np.ones(5, np.float32))),
        lambda L, T: L.F.cross_entropy(T(z), T(z), ignore_index=1),
        lambda L, T: L.F.cross_entropy(T(np.zeros((2, 3, 4), np.float32)), T(np.array([[0, 1, 2, 0]]))),
        lambda L, T: L.F.cross_entropy(T(np.zeros((2, 3, 4), np.float32)), T(np.array([0, 1]))),
        lambda L, T: L.F.cross_entropy(T(np.zeros((2, 3), np.float32)), T(np.zeros((2, 4), np.float32))),
        lambda L, T: L.nn.NLLLoss(reduction="avg")(T(z), T(idx)),
        lambda L, T: L.nn.KLDivLoss(reduction="avg")(T(z), T(z)),
    ]


@pytest.mark.parametrize("build", _errors())
def test_invalid_inputs_raise_torchs_exception_types(build):
    torch_lib = SimpleNamespace(F=torch.nn.functional, nn=torch.nn)
    our_lib = SimpleNamespace(F=F, nn=tnn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raises_same(lambda: build(torch_lib, torch.tensor), lambda: build(our_lib, jnp.asarray))


def test_value_checks_are_skipped_under_tracing():
    """Out-of-range values cannot raise inside jit; shape checks still do."""
    bad_probability = jnp.asarray([1.5, 0.5])
    jax.jit(lambda p: F.binary_cross_entropy(p, jnp.ones(2)))(bad_probability)
    jax.jit(lambda t: F.multi_margin_loss(jnp.zeros((2, 3)), t))(jnp.asarray([0, 5]))
    jax.jit(lambda t: F.multilabel_margin_loss(jnp.zeros((2, 3)), t))(jnp.asarray([[0, 5, -1], [1, -1, 0]]))
    jax.jit(lambda v: F.gaussian_nll_loss(jnp.zeros(2), jnp.zeros(2), v))(jnp.asarray([-1.0, 1.0]))
    with pytest.raises(RuntimeError):
        jax.jit(lambda t: F.multi_margin_loss(jnp.zeros((2, 3)), t))(jnp.asarray([0, 1, 2]))


def test_concrete_targets_closed_over_by_a_jitted_function_are_checked_not_traced():
    """jnp ops on a closed-over (concrete) target give tracers inside jit: the checks use NumPy."""
    labels, logits = jnp.asarray([0, 2]), jnp.zeros((2, 3))
    assert jax.jit(lambda x: F.cross_entropy(x, labels))(logits).shape == ()
    assert jax.jit(lambda x: F.multi_margin_loss(x, labels))(logits).shape == ()
    assert jax.jit(lambda x: F.binary_cross_entropy(jax.nn.sigmoid(x), jnp.full((2, 3), 0.5)))(logits).shape == ()
    assert jax.jit(lambda x: F.ctc_loss(x[:, None], labels[None], (2,), (2,)))(logits).shape == ()
    out_of_range = jnp.asarray([0, 3])
    with pytest.raises(IndexError):
        jax.jit(lambda x: F.nll_loss(x, out_of_range))(logits)


# --------------------------------------------------------------------------- CTC

T_STEPS, CTC_N, CTC_C = 8, 3, 5


def _ctc_case(seed=0, lengths=(8, 6, 3), target_lengths=(3, 2, 1), width=3, scale=1.0):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((T_STEPS, CTC_N, CTC_C)) * scale
    log_probs = (logits - np.log(np.exp(logits).sum(-1, keepdims=True))).astype(np.float32)
    targets = rng.integers(1, CTC_C, (CTC_N, width))
    return log_probs, targets, np.array(lengths), np.array(target_lengths)


def _torch_ctc(log_probs, targets, il, tl, **kwargs):
    lp = torch.tensor(log_probs, requires_grad=True)
    out = torch.nn.functional.ctc_loss(lp, torch.tensor(targets), torch.tensor(il), torch.tensor(tl), **kwargs)
    out.sum().backward()
    return out, lp.grad


def _our_ctc(log_probs, targets, il, tl, **kwargs):
    """Value and gradient in one jitted program; the lengths are traced."""
    def loss(lp, t, i, k):
        return F.ctc_loss(lp, t, i, k, **kwargs)

    run = jax.jit(lambda *a: (loss(*a), jax.grad(lambda lp: loss(lp, *a[1:]).sum().jax())(a[0])))
    return run(*(jnp.asarray(a) for a in (log_probs, targets, il, tl)))


@pytest.mark.parametrize("kwargs", [
    {"reduction": "none"}, {"reduction": "mean"}, {"reduction": "sum", "blank": 2},
    {"reduction": "mean", "repeats": True}, {"reduction": "none", "peaked": True},
])
def test_ctc_values_and_gradients_match_torch(kwargs):
    kwargs = dict(kwargs)
    log_probs, targets, il, tl = _ctc_case(scale=30.0 if kwargs.pop("peaked", False) else 1.0)
    if kwargs.pop("repeats", False):  # repeated labels need a blank between them: the skip transition is off
        targets[0] = [1, 1, 1]
        il[0] = 6
    blank = kwargs.get("blank", 0)
    targets = np.where(targets == blank, blank + 1, targets)
    expected, expected_grad = _torch_ctc(log_probs, targets, il, tl, **kwargs)
    ours, grad = _our_ctc(log_probs, targets, il, tl, **kwargs)
    assert_close(ours, expected, rtol=1e-4, atol=1e-4)
    assert_close(grad, expected_grad, rtol=1e-4, atol=1e-5)


def test_ctc_target_formats_and_length_types_agree():
    log_probs, targets, il, tl = _ctc_case()
    expected, expected_grad = _torch_ctc(log_probs, targets, il, tl, reduction="sum")
    concatenated = np.concatenate([targets[n, :k] for n, k in enumerate(tl)])
    lp, padded, concat = jnp.asarray(log_probs), jnp.asarray(targets), jnp.asarray(concatenated)
    # Eager, concrete lengths: the concatenated targets are padded to the longest target.
    assert_close(F.ctc_loss(lp, concat, jnp.asarray(il), jnp.asarray(tl), reduction="sum"), expected, rtol=1e-5)

    @jax.jit
    def traced(lp, i, k):  # traced lengths: the concatenated targets are padded to their total length
        def concat_sum(lp):
            return F.ctc_loss(lp, concat, i, k, reduction="sum").jax()

        per_example = jax.vmap(lambda lp, t, i, k: F.ctc_loss(lp, t, i, k, reduction="none"), in_axes=(1, 0, 0, 0))(
            lp, padded, i, k)
        unbatched = F.ctc_loss(lp[:, 1], concat[3:5], i[1], k[1], reduction="none")
        none = F.ctc_loss(lp, padded, i, k, reduction="none")
        return concat_sum(lp), jax.grad(concat_sum)(lp), per_example, unbatched, none

    total, grad, per_example, unbatched, none = traced(lp, jnp.asarray(il), jnp.asarray(tl))
    assert_close(total, expected, rtol=1e-5)
    assert_close(grad, expected_grad, rtol=1e-4, atol=1e-5)
    assert_close(per_example, none, rtol=1e-5)
    assert unbatched.shape == ()
    assert_close(unbatched, none[1], rtol=1e-5)
    # Lengths as tuples of ints, in a compiled step (where compile traces the ints).
    compiled = torchjax.compile(lambda module, lp, t, i, k: module(lp, t, i, k))
    assert_close(compiled(tnn.CTCLoss(reduction="sum"), lp, padded, tuple(int(v) for v in il),
                          tuple(int(v) for v in tl)), expected, rtol=1e-5)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_impossible_alignments_and_empty_inputs(zero_infinity):
    # sample 0 needs 4 frames for "1 1" + blank... given 1 frame; sample 1 has no frame and no target;
    # sample 2 has no frame but a target.
    log_probs, targets, _, _ = _ctc_case()
    il, tl = np.array([1, 0, 0]), np.array([2, 0, 1])
    targets[0, :2] = 1
    expected, expected_grad = _torch_ctc(log_probs, targets, il, tl, reduction="none", zero_infinity=zero_infinity)
    ours, grad = _our_ctc(log_probs, targets, il, tl, reduction="none", zero_infinity=zero_infinity)
    assert_close(ours, expected)
    assert_close(grad, expected_grad)  # NaN where torch gives NaN (an infinite loss), else equal
    assert np.isnan(to_numpy(grad)).any() != zero_infinity


def test_ctc_errors_match_torch():
    log_probs, targets, il, tl = _ctc_case()
    cases = [
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(il), T(tl), blank=5),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(il), T(tl), blank=-1),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(np.array([9, 6, 3])), T(tl)),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(il[:2]), T(tl)),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(il), T(tl[:2])),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(il), T(np.array([4, 2, 1]))),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(il), T(np.array([-1, 2, 1]))),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(np.array([-1, 6, 3])), T(tl)),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets.reshape(-1)[:5]), T(il), T(tl)),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(il.astype(np.float32)), T(tl)),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets[None]), T(il), T(tl)),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets[:2]), T(il), T(tl)),
        lambda L, T: L.ctc_loss(T(log_probs[None]), T(targets), T(il), T(tl)),
        lambda L, T: L.ctc_loss(T(log_probs[:0]), T(targets), T(il * 0), T(tl)),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(il), T(tl), reduction="avg"),
        lambda L, T: L.ctc_loss(T(log_probs), T(targets), T(il), list(tl)),
        lambda L, T: L.ctc_loss(T(log_probs[:, 0]), T(targets[0]), 8, 3),
    ]
    for build in cases:
        raises_same(lambda b=build: b(torch.nn.functional, torch.tensor), lambda b=build: b(F, jnp.asarray))


# --------------------------------------------------------------------------- AdaptiveLogSoftmaxWithLoss


def _adaptive_pair(**kwargs):
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], **kwargs)
    ours = tnn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], **kwargs)
    load_torch_state(ours, theirs)
    return theirs, ours


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch(head_bias):
    theirs, ours = _adaptive_pair(div_value=2.0, head_bias=head_bias)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    x = _normal(6, 8)
    target = np.array([0, 4, 9, 2, 7, 5])
    xt = torch.tensor(x, requires_grad=True)
    expected = theirs(xt, torch.tensor(target))
    expected.loss.backward()
    if not head_bias:  # once eagerly, with the eager target check
        out = ours(jnp.asarray(x), jnp.asarray(target))
        assert out._fields == ("output", "loss")
        assert_close(out.output, expected.output)
        assert_close(out.loss, expected.loss)

    @torchjax.compile
    def everything(m, x, t):
        grads, grad_x = torchjax.func.grad(lambda m, x: m(x, t).loss, argnums=(0, 1))(m, x)
        single = m(x[1], t[1]).output
        return m(x, t).loss, grads, grad_x, m.log_prob(x), m.predict(x), single

    loss, grads, grad_x, log_prob, predicted, single = everything(ours, jnp.asarray(x), jnp.asarray(target))
    assert_close(loss, expected.loss)
    for name, p in theirs.named_parameters():
        assert_close(grads[name], p.grad)
    assert_close(grad_x, xt.grad)
    assert_close(log_prob, theirs.log_prob(torch.tensor(x)))
    np.testing.assert_array_equal(np.asarray(predicted), to_numpy(theirs.predict(torch.tensor(x))))
    assert single.shape == ()
    assert_close(single, expected.output[1])


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_adaptive_log_softmax_errors_match_torch():
    theirs, ours = _adaptive_pair()
    x = _normal(3, 8)
    for build in [
        lambda m, T: m(T(x), T(np.array([0, 1, 10]))),
        lambda m, T: m(T(x), T(np.array([0, 1]))),
        lambda m, T: m(T(x), T(np.array([[0, 1, 2]]))),
        lambda m, T: m(T(x[0]), T(np.array([0]))),
        lambda m, T: m(T(x), T(np.array(0))),
    ]:
        raises_same(lambda b=build: b(theirs, torch.tensor), lambda b=build: b(ours, jnp.asarray))
    for cutoffs in ([], [3, 3], [5, 2], [0, 4], [4, 10], [2.5]):
        raises_same(lambda c=cutoffs: torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, c),
                    lambda c=cutoffs: tnn.AdaptiveLogSoftmaxWithLoss(8, 10, c))


# --------------------------------------------------------------------------- linear_cross_entropy

LCE_CASES = [  # (id, linear weight shape, bias, target kind, kwargs)
    ("reference", (C, 6), True, "index", {"weight": True, "ignore_index": 1, "label_smoothing": 0.2}),
    ("k_dim", (C, 2, 6), True, "index", {}),
    ("probabilities", (C, 6), False, "probabilities", {"label_smoothing": 0.1}),
    ("chunked", (C, 6), True, "index", {"weight": True, "ignore_index": 2, "chunk": 2}),
    ("chunked_auto", (C, 6), False, "index", {"chunk": "auto"}),
]


def _lce_case(linear_shape, bias, target_kind, kwargs, rows=7):
    kwargs = dict(kwargs)
    arrays = [_normal(rows, 6), _normal(*linear_shape) * 0.5]
    if bias:
        arrays.append(_normal(*linear_shape[:-1]))
    logits_shape = (rows, *linear_shape[:-1])
    if target_kind == "index":
        target = RNG.integers(0, C, (rows, *linear_shape[1:-1]))
    else:
        target = _softmax(_normal(*logits_shape), axis=1)
    extra = {}
    if kwargs.pop("weight", False):
        extra["weight"] = _uniform(C, low=0.5)
    chunk = kwargs.pop("chunk", None)
    return arrays, target, extra, kwargs, chunk


def _lce_call(L, options_cls, arrays, target, extra, kwargs, chunk, reduction):
    options = None
    if chunk == "auto":
        options = options_cls()
    elif chunk is not None:
        options = options_cls(batch_chunk_size=chunk)
    return L.linear_cross_entropy(arrays[0], arrays[1], target, linear_bias=arrays[2] if len(arrays) > 2 else None,
                                  reduction=reduction, options=options, **extra, **kwargs)


@pytest.mark.parametrize("case", LCE_CASES, ids=[c[0] for c in LCE_CASES])
def test_linear_cross_entropy_matches_torch(case):
    _, linear_shape, bias, target_kind, kwargs = case
    arrays, target, extra, kwargs, chunk = _lce_case(linear_shape, bias, target_kind, kwargs)
    grads = tuple(range(len(arrays)))

    @jax.jit
    def ours(*args):
        out = {}
        for reduction in ALL:
            def total(*a, reduction=reduction):
                return _lce_call(F, tnn.LinearCrossEntropyOptions, a, jnp.asarray(target),
                                 {k: jnp.asarray(v) for k, v in extra.items()}, kwargs, chunk, reduction).sum().jax()
            out[reduction] = (_lce_call(F, tnn.LinearCrossEntropyOptions, args, jnp.asarray(target),
                                        {k: jnp.asarray(v) for k, v in extra.items()}, kwargs, chunk, reduction),
                              jax.grad(total, argnums=grads)(*args))
        return out

    results = ours(*(jnp.asarray(a) for a in arrays))
    for reduction in ALL:
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns that its chunked path forces retain_graph under compile
            expected = _lce_call(torch.nn.functional, torch.nn.LinearCrossEntropyOptions, theirs,
                                 torch.tensor(target), {k: torch.tensor(v) for k, v in extra.items()}, kwargs, chunk,
                                 reduction)
            expected.sum().backward()
        value, got = results[reduction]
        assert_close(value, expected)
        for g, t in zip(got, theirs, strict=True):
            assert_close(g, t.grad, atol=2e-5, rtol=2e-5)


def test_linear_cross_entropy_module_and_options():
    torch.manual_seed(0)
    kwargs = dict(out_features=(2,), bias=True, weight=np.linspace(0.5, 1.5, C).astype(np.float32),
                  label_smoothing=0.1)
    theirs = torch.nn.LinearCrossEntropyLoss(6, C, **{**kwargs, "weight": torch.tensor(kwargs["weight"])})
    ours = tnn.LinearCrossEntropyLoss(6, C, **{**kwargs, "weight": jnp.asarray(kwargs["weight"])})
    load_torch_state(ours, theirs)
    assert repr(ours) == repr(theirs)
    x, target = _normal(4, 6), RNG.integers(0, C, (4, 2))
    expected = theirs(torch.tensor(x), torch.tensor(target))
    compiled = torchjax.compile(lambda m, x, t: m(x, t))
    assert_close(compiled(ours, jnp.asarray(x), jnp.asarray(target)), expected)
    chunked = tnn.LinearCrossEntropyLoss(6, C, options=tnn.LinearCrossEntropyOptions(chunking_method="aspect_ratio"))
    reference = tnn.LinearCrossEntropyLoss(6, C)
    reference.load_state_dict(chunked.state_dict())
    single_target = jnp.asarray(target[:, 0])
    assert_close(chunked(jnp.asarray(x), single_target), reference(jnp.asarray(x), single_target))
    assert repr(tnn.LinearCrossEntropyOptions()) == repr(torch.nn.LinearCrossEntropyOptions())
    with pytest.warns(UserWarning, match="options`` ignored"):
        F.linear_cross_entropy(jnp.asarray(x), jnp.zeros((C, 6)), jnp.asarray(target[:, 0]), label_smoothing=0.1,
                               options=tnn.LinearCrossEntropyOptions())


@pytest.mark.parametrize("build", [
    lambda L, T: L.F.linear_cross_entropy(T(np.zeros((1, 3, 4), np.float32)), T(np.zeros((5, 4), np.float32)),
                                          T(np.array([0]))),
    lambda L, T: L.F.linear_cross_entropy(T(np.zeros((3, 4), np.float32)), T(np.zeros(4, np.float32)),
                                          T(np.array([0, 1, 2]))),
    lambda L, T: L.F.linear_cross_entropy(T(np.zeros((3, 4), np.float32)), T(np.zeros((5, 3), np.float32)),
                                          T(np.array([0, 1, 2]))),
    lambda L, T: L.F.linear_cross_entropy(T(np.zeros((3, 4), np.float32)), T(np.zeros((5, 4), np.float32)),
                                          T(np.array([0, 1, 2])), linear_bias=T(np.zeros(4, np.float32))),
    lambda L, T: L.F.linear_cross_entropy(T(np.zeros(4, np.float32)), T(np.zeros((5, 2, 4), np.float32)),
                                          T(np.array([0, 1]))),
    lambda L, T: L.F.linear_cross_entropy(T(np.zeros((3, 4), np.float32)), T(np.zeros((5, 4), np.float32)),
                                          T(np.zeros((3, 5), np.float32)), ignore_index=1),
    lambda L, T: L.F.linear_cross_entropy(T(np.zeros((3, 4), np.float32)), T(np.zeros((5, 4), np.float32)),
                                          T(np.array([0, 1, 5])), options=L.nn.LinearCrossEntropyOptions()),
    lambda L, T: L.nn.LinearCrossEntropyLoss(4, 5, weight=T(np.ones(4, np.float32))),
    lambda L, T: L.nn.LinearCrossEntropyLoss(4, 5, label_smoothing=2.0),
    lambda L, T: L.nn.LinearCrossEntropyOptions(batch_chunk_size=0),
    lambda L, T: L.nn.LinearCrossEntropyOptions(chunking_method="rows"),
    lambda L, T: L.nn.LinearCrossEntropyOptions(acc_policy="fast"),
    lambda L, T: L.F.linear_cross_entropy(T(np.zeros((8, 4), np.float32)), T(np.zeros((5, 4), np.float32)),
                                          T(np.zeros(8, np.int64)),
                                          options=L.nn.LinearCrossEntropyOptions(batch_chunk_size=3,
                                                                                  chunking_method="aspect_ratio")),
])
def test_linear_cross_entropy_errors_match_torch(build):
    raises_same(lambda: build(SimpleNamespace(F=torch.nn.functional, nn=torch.nn), torch.tensor),
                lambda: build(SimpleNamespace(F=F, nn=tnn), jnp.asarray))


def test_linear_cross_entropy_chunks_never_hold_all_logits():
    """XLA's own memory analysis of the gradient: chunks of 16 rows need a fraction of the 256 x 2000 logits."""
    x, w, t = jnp.ones((256, 8)), jnp.ones((2000, 8)), jnp.zeros(256, jnp.int32)

    def temporaries(options):
        grad = jax.jit(jax.grad(lambda x, w: F.linear_cross_entropy(x, w, t, options=options).jax(), argnums=(0, 1)))
        return grad.lower(x, w).compile().memory_analysis().temp_size_in_bytes

    logits_bytes = 256 * 2000 * 4
    assert temporaries(None) >= logits_bytes
    assert temporaries(tnn.LinearCrossEntropyOptions(batch_chunk_size=16)) < logits_bytes / 4

"""Tensor view methods, ``__getitem__``/``__setitem__`` and ``index_put_`` (torchjax/_tensor.py) against torch:
values, write-through views, stale views, read-only expands, index errors, eager and compiled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from parity import assert_close, raises_same

import torchjax

RNG = np.random.default_rng(2)
X = RNG.standard_normal((3, 4, 5)).astype(np.float32)
M = RNG.standard_normal((3, 4)).astype(np.float32)


def both(a):
    return torch.tensor(a), torchjax.tensor(a)


def close(ours, theirs):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert_close(ours, theirs)


GETITEM = {
    "int": 1, "negative_int": -1, "slice_step": (slice(None), slice(1, None, 2)), "none": (None, 0, None),
    "ellipsis": (Ellipsis, 1), "ellipsis_mid": (0, Ellipsis, slice(None, None, 3)), "bool_true": True,
    "mask_full": "mask3", "mask_leading": "mask1", "int_tensor": "itensor", "list": ([0, 2],),
    "lists_broadcast": ([[0], [2]], [1, 3]), "tensor_and_slice": (slice(None), "itensor2"),
    "negative_tensor": ("neg",), "mixed": (0, slice(None), [4, -1]), "empty_slice": slice(2, 1),
}


def _key(spec, lib):
    values = {"mask3": X > 0, "mask1": np.array([True, False, True]), "itensor": np.array([[0, 2], [1, 1]]),
              "itensor2": np.array([3, 0]), "neg": np.array([-1, -3])}
    if isinstance(spec, str):
        return lib.tensor(values[spec])
    if isinstance(spec, tuple):
        return tuple(_key(s, lib) for s in spec)
    return spec


@pytest.mark.parametrize("name", list(GETITEM))
def test_getitem(name):
    t, ours = both(X)
    close(ours[_key(GETITEM[name], torchjax)], t[_key(GETITEM[name], torch)])


@pytest.mark.parametrize("name", ["int", "slice_step", "none", "ellipsis_mid", "int_tensor", "lists_broadcast"])
def test_getitem_compiled(name):
    t, ours = both(X)
    run = torchjax.compile(lambda x: x[_key(GETITEM[name], torchjax)] * 2)
    close(run(ours), t[_key(GETITEM[name], torch)] * 2)


INDEX_ERRORS = {
    "int_out_of_range": 3, "negative_out_of_range": -4, "second_dim": (0, 4), "too_many": (0, 0, 0, 0),
    "tensor_out_of_range": "bad", "negative_step": slice(None, None, -1), "zero_step": slice(None, None, 0),
    "mask_shape": "badmask", "float_index": 1.5, "float_tensor": "floats",
}


def _bad_key(spec, lib):
    values = {"bad": np.array([0, 3]), "badmask": np.array([True, False]), "floats": np.array([0.0])}
    return lib.tensor(values[spec]) if isinstance(spec, str) else spec


@pytest.mark.parametrize("name", INDEX_ERRORS)
def test_getitem_errors(name):
    t, ours = both(X)
    raises_same(lambda: t[_bad_key(INDEX_ERRORS[name], torch)], lambda: ours[_bad_key(INDEX_ERRORS[name], torchjax)])


SETITEM = {
    "slice_scalar": ((slice(None), slice(0, None, 2)), 1.0),
    "int_row": (1, "row"),
    "mask_scalar": ("mask3", -1.0),
    "mask_leading_broadcast": ("mask1", "plane"),
    "tensor_index": ((slice(None), "itensor2"), 0.5),
    "lists": (([0, 2], [1, 3]), "pair"),
    "ellipsis_broadcast": ((Ellipsis, 0), "col"),
    "none": ((None, 0), 3.0),
}


def _value(spec, lib):
    values = {"row": RNG.standard_normal((4, 5)).astype(np.float32), "plane": np.arange(5, dtype=np.float32),
              "pair": np.array([[7.0] * 5, [8.0] * 5], np.float32), "col": np.arange(4, dtype=np.float32)}
    return lib.tensor(values[spec]) if isinstance(spec, str) else spec


@pytest.mark.parametrize("name", SETITEM)
@pytest.mark.parametrize("compiled", [False, True])
def test_setitem(name, compiled):
    key, value = SETITEM[name]
    t, ours = both(X)
    vt = _value(value, torch)
    t[_key(key, torch)] = vt
    vo = torchjax.tensor(vt.numpy()) if isinstance(vt, torch.Tensor) else vt

    def assign(x, v):
        x = x.clone()
        x[_key(key, torchjax)] = v
        return x

    out = torchjax.compile(assign)(ours, vo) if compiled else assign(ours, vo)
    close(out, t)


def test_setitem_compiled_slice_step():
    t, ours = both(M)

    def fn(x):
        x = x.clone()
        x[:, 0::2] = 1.0
        return x

    t = t.clone()
    t[:, 0::2] = 1.0
    close(torchjax.compile(fn)(ours), t)


def test_setitem_errors():
    t, ours = both(M)
    raises_same(lambda: t.__setitem__(5, 1.0), lambda: ours.__setitem__(5, 1.0))
    raises_same(lambda: t.__setitem__((slice(None, None, -1),), 1.0),
                lambda: ours.__setitem__((slice(None, None, -1),), 1.0))
    raises_same(lambda: t.__setitem__(torch.tensor([4]), 1.0), lambda: ours.__setitem__(torchjax.tensor([4]), 1.0))


def test_index_put_():
    t, ours = both(M)
    rows, cols = np.array([0, 0, 2]), np.array([1, 1, 3])
    values = np.array([1.0, 2.0, 3.0], np.float32)
    t.index_put_((torch.tensor(rows), torch.tensor(cols)), torch.tensor(values), accumulate=True)
    ours.index_put_((torchjax.tensor(rows), torchjax.tensor(cols)), torchjax.tensor(values), accumulate=True)
    close(ours, t)
    t2, ours2 = both(M)
    close(ours2.index_put((torchjax.tensor([1]),), torchjax.tensor(5.0)),
          t2.index_put((torch.tensor([1]),), torch.tensor(5.0)))
    close(ours2, t2)  # the out-of-place form leaves the tensor alone


# Each scenario mutates through a view, both in torch and here; the bases must agree afterwards.
WRITES = {
    "getitem_add": lambda x: x[0].__iadd__(1),
    "transpose_zero": lambda x: x.transpose(0, 1)[0].zero_(),
    "view_setitem": lambda x: x.view(-1).__setitem__(2, 5.0),
    "reshape_fill": lambda x: x.reshape(4, 3)[1:].fill_(2.0),
    "permute_copy": lambda x: x.permute(1, 0)[::2].copy_(torch.ones(1) if isinstance(x, torch.Tensor)
                                                          else torchjax.ones(1)),
    "t_setitem": lambda x: x.t().__setitem__((0, slice(None)), -1.0),
    "mT_zero": lambda x: x.mT[-1].zero_(),
    "squeeze_unsqueeze": lambda x: x.unsqueeze(0).squeeze(0)[2].fill_(9.0),
    "narrow": lambda x: x.narrow(1, 1, 2).zero_(),
    "select": lambda x: x.select(1, -1).fill_(4.0),
    "split": lambda x: x.split([1, 3], 1)[1].zero_(),
    "chunk": lambda x: x.chunk(2, 1)[1].fill_(1.5),
    "unbind": lambda x: x.unbind(0)[2].zero_(),
    "diagonal": lambda x: x.diagonal(1).fill_(8.0),
    "flatten_unflatten": lambda x: x.flatten().unflatten(0, (2, 6))[1].zero_(),
    "nested": lambda x: x[1:][:, ::2][0].fill_(3.0),
    "T": lambda x: x.T[1].zero_(),
    "detach": lambda x: x.detach().zero_(),
}


@pytest.mark.parametrize("name", WRITES)
def test_views_write_through(name):
    t, ours = both(M)
    WRITES[name](t)
    WRITES[name](ours)
    close(ours, t)


def test_view_reads_base_changes():
    t, ours = both(M)
    views = [lambda x: x[1], lambda x: x.transpose(0, 1), lambda x: x.view(2, 6), lambda x: x.diagonal()]
    pairs = [(v(t), v(ours)) for v in views]
    t.copy_(t * 2)
    ours.copy_(ours * 2)
    for vt, vo in pairs:
        close(vo, vt)


def test_view_methods_values():
    t, ours = both(X)
    for fn in [lambda x: x.view(5, -1), lambda x: x.reshape(-1, 10), lambda x: x.flatten(1), lambda x: x.unflatten(
            2, (5, 1)), lambda x: x.permute(2, 0, 1), lambda x: x.transpose(-1, 0), lambda x: x.mT,
               lambda x: x[0].t(), lambda x: x[0].T, lambda x: x[:1].squeeze(), lambda x: x.unsqueeze(-1),
               lambda x: x[:, :1].expand(3, 4, 5), lambda x: x[0].expand_as(x), lambda x: x.narrow(2, 1, 3),
               lambda x: x.select(0, 2), lambda x: x.diagonal(0, 1, 2)]:
        close(fn(ours), fn(t))
    for fn in [lambda x: x.split(2, 2), lambda x: x.chunk(2, 1), lambda x: x.unbind(-1)]:
        for o, e in zip(fn(ours), fn(t), strict=True):
            close(o, e)


def test_expand_is_read_only():
    t, ours = both(M[:1])
    raises_same(lambda: t.expand(3, 4).add_(1.0), lambda: ours.expand(3, 4).add_(1.0))
    raises_same(lambda: t.expand(3, 4).copy_(torch.ones(1)), lambda: ours.expand(3, 4).copy_(torchjax.ones(1)))


def test_fill_of_expanded_view():
    t, ours = both(M[:1])
    t.expand(3, 4).fill_(2.0)
    ours.expand(3, 4).fill_(2.0)
    close(ours, t)


VIEW_ERRORS = {
    "view_size": lambda x: x.view(5, -1),
    "view_two_inferred": lambda x: x.view(-1, -1),
    "flatten_order": lambda x: x.flatten(1, 0),
    "unflatten_sizes": lambda x: x.unflatten(1, (3, 2)),
    "permute_count": lambda x: x.permute(0),
    "permute_repeat": lambda x: x.permute(0, 0),
    "transpose_dim": lambda x: x.transpose(0, 2),
    "t_3d": lambda x: x.unsqueeze(0).t(),
    "expand_smaller": lambda x: x.expand(4),
    "expand_mismatch": lambda x: x.expand(2, 4),
    "narrow_range": lambda x: x.narrow(1, 3, 2),
    "narrow_start": lambda x: x.narrow(1, 5, 0),
    "select_range": lambda x: x.select(0, 3),
    "split_sizes": lambda x: x.split([1, 1], 1),
    "chunk_zero": lambda x: x.chunk(0),
    "diagonal_same": lambda x: x.diagonal(0, 1, 1),
    "squeeze_dim": lambda x: x.squeeze(2),
    "unsqueeze_dim": lambda x: x.unsqueeze(3),
}


@pytest.mark.parametrize("name", list(VIEW_ERRORS))
def test_view_errors(name):
    t, ours = both(M)
    raises_same(lambda: VIEW_ERRORS[name](t), lambda: VIEW_ERRORS[name](ours))


def test_views_inside_compile():
    t, ours = both(M)

    def fn(x):
        x = x.clone()
        x.transpose(0, 1)[0].zero_()
        x.view(-1)[2] = 5.0
        row = x[1]
        row += 1
        return x

    expected = t.clone()
    expected.transpose(0, 1)[0].zero_()
    expected.view(-1)[2] = 5.0
    expected[1] += 1
    close(torchjax.compile(fn)(ours), expected)

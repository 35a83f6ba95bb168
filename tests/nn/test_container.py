"""Containers (Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict) against torch.

Every scenario is written once as ``build(lib)`` + ``op(lib, container)`` and run on both
frameworks; the container afterwards (names, order, aliasing, repr, state_dict keys) and the
op's result must be the same, and an op that raises must raise the same exception type with the
same message (module paths normalised), leaving the same state behind.
"""

from __future__ import annotations

import re
import types
from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from parity import LIBS, TJ, TORCH, assert_close, load_torch_state, raises_same

import torchjax.nn as tnn

MODULE_TYPES = torch.nn.Module | tnn.Module
PARAM_TYPES = torch.nn.Parameter | tnn.Parameter


# --- describing a container the same way on both sides ------------------------------------------------
def _safe(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - a broken container must be broken the same way on both sides
        return f"raises {type(e).__name__}"


def describe(x):
    """A framework-neutral description of ``x``: everything observable that torch and we must agree on."""
    if isinstance(x, MODULE_TYPES):
        children = list(x._modules.values())
        ids = [id(m) for m in children]
        return {
            "class": type(x).__name__,
            "repr": _safe(lambda: repr(x)),
            "len": _safe(lambda: len(x)) if hasattr(type(x), "__len__") else None,
            "entries": _safe(lambda: [describe(v) for v in x]) if hasattr(type(x), "__iter__") else None,
            "aliases": [ids.index(i) for i in ids],
            "parameters": [n for n, _ in x.named_parameters()],
            "modules": [n for n, _ in x.named_modules(remove_duplicate=False)],
            "state_dict": list(x.state_dict()),
        }
    if isinstance(x, PARAM_TYPES | torch.Tensor | jnp.ndarray | np.ndarray):
        kind = "Parameter" if isinstance(x, PARAM_TYPES) else "array"
        return kind, tuple(x.shape), str(x.dtype).removeprefix("torch.")
    if isinstance(x, dict):
        return {"dict": type(x).__name__, "items": {k: describe(v) for k, v in x.items()}}
    if isinstance(x, list | tuple):
        return [describe(v) for v in x]
    return x


def normalise(message: str) -> str:
    return message.replace("torchjax", "torch")


def run_both(build, op):
    """Run the scenario on both frameworks: (torch's, ours) as (result or exception, container)."""
    out = []
    for lib in LIBS:
        lib.manual_seed(0)
        container = build(lib)
        try:
            result = op(lib, container)
        except Exception as e:  # noqa: BLE001 - compared below
            result = e
        out.append((result, container))
    return out


# --- builders ---------------------------------------------------------------------------------------------
def seq(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(2, 3), nn.Identity(), nn.Linear(3, 4), nn.Linear(4, 2))


def seq_od(lib):
    nn = lib.nn
    return nn.Sequential(OrderedDict([("a", nn.Linear(2, 3)), ("b", nn.Identity()), ("c", nn.Linear(3, 2))]))


def mlist(lib):
    nn = lib.nn
    return nn.ModuleList([nn.Linear(1, 2), nn.Linear(2, 3), nn.Identity()])


def mdict(lib):
    nn = lib.nn
    return nn.ModuleDict({"b": nn.Linear(1, 2), "a": nn.Identity(), "c": nn.Linear(2, 1)})


def arr(lib, *shape, dtype=np.float32):
    return lib.tensor(np.arange(np.prod(shape), dtype=np.float32).reshape(shape), dtype=dtype)


def plist(lib):
    return lib.nn.ParameterList([arr(lib, 3, 4), lib.nn.Parameter(arr(lib, 2)), arr(lib)])


def pdict(lib):
    return lib.nn.ParameterDict({"w": arr(lib, 3, 4), "b": lib.nn.Parameter(arr(lib, 2)), "s": "text"})


def custom_repr_module(lib, text: str):
    """A module whose extra_repr is ``text`` (exercises the two _addindent variants)."""
    cls = type("Custom", (lib.nn.Module,), {"extra_repr": lambda self: text})
    return cls()


def subclass(lib, name: str):
    """A container of ``lib`` subclassed: torch returns the subclass from slicing but not from ``+``/``*``/copy."""
    base = getattr(lib.nn, name)
    return type(f"My{name}", (base,), {})


# --- scenarios that succeed -----------------------------------------------------------------------------
def _setitem(c, k, v):
    c[k] = v


def _delitem(c, k):
    del c[k]


def _iop(c, op, other):
    if op == "+":
        c += other
    elif op == "*":
        c *= other
    else:
        c |= other
    return c


MUTATIONS = {
    # Sequential
    "seq_build": (seq, lambda lib, c: None),
    "seq_od_build": (seq_od, lambda lib, c: None),
    "seq_getitem_int": (seq, lambda lib, c: [c[0], c[-1], c[2]]),
    "seq_getitem_slice": (seq, lambda lib, c: [c[1:3], c[::-1], c[::2], c[5:]]),
    "seq_od_getitem_slice": (seq_od, lambda lib, c: [c[1:], c[::-2]]),
    "seq_setitem": (seq, lambda lib, c: (_setitem(c, 1, lib.nn.Linear(3, 3)), _setitem(c, -1, lib.nn.Identity()))),
    "seq_od_setitem": (seq_od, lambda lib, c: _setitem(c, 1, lib.nn.Linear(3, 3))),
    "seq_del_int": (seq, lambda lib, c: _delitem(c, 1)),
    "seq_del_neg": (seq, lambda lib, c: _delitem(c, -3)),
    "seq_del_slice": (seq, lambda lib, c: _delitem(c, slice(1, 3))),
    "seq_del_step": (seq, lambda lib, c: _delitem(c, slice(None, None, 2))),
    "seq_od_del_renumbers": (seq_od, lambda lib, c: _delitem(c, 0)),
    "seq_append": (seq, lambda lib, c: c.append(lib.nn.Linear(2, 5)) is c),
    "seq_od_append": (seq_od, lambda lib, c: c.append(lib.nn.Linear(2, 5))),
    "seq_insert_front": (seq, lambda lib, c: c.insert(0, lib.nn.Linear(5, 2)) is c),
    "seq_insert_middle": (seq, lambda lib, c: c.insert(2, lib.nn.Linear(3, 3))),
    "seq_insert_end": (seq, lambda lib, c: c.insert(4, lib.nn.Linear(2, 2))),
    "seq_insert_neg": (seq, lambda lib, c: c.insert(-1, lib.nn.Linear(4, 4))),
    "seq_insert_neg_len": (seq, lambda lib, c: c.insert(-4, lib.nn.Linear(5, 2))),
    "seq_extend_list": (seq, lambda lib, c: c.extend([lib.nn.Identity(), lib.nn.Linear(2, 2)]) is c),
    "seq_extend_seq": (seq, lambda lib, c: c.extend(mlist(lib))),
    "seq_pop_int": (seq, lambda lib, c: c.pop(2)),
    "seq_pop_neg": (seq, lambda lib, c: c.pop(-1)),
    "seq_pop_slice": (seq, lambda lib, c: c.pop(slice(0, 2))),
    "seq_add": (seq, lambda lib, c: c + seq_od(lib)),
    "seq_iadd": (seq, lambda lib, c: _iop(c, "+", seq_od(lib)) is c),
    "seq_mul": (seq, lambda lib, c: c * 2),
    "seq_rmul": (seq_od, lambda lib, c: 3 * c),
    "seq_mul_bool": (seq, lambda lib, c: c * True),
    "seq_imul": (seq, lambda lib, c: _iop(c, "*", 3) is c),
    "seq_imul_one": (seq, lambda lib, c: _iop(c, "*", 1)),
    "seq_iter_len": (seq, lambda lib, c: [len(c), list(c)]),
    "seq_nested": (seq, lambda lib, c: c.append(seq_od(lib)).append(mlist(lib))),
    "seq_blank_line_child": (seq, lambda lib, c: c.append(custom_repr_module(lib, "a\n\nb"))),
    "seq_empty": (lambda lib: lib.nn.Sequential(), lambda lib, c: [len(c), c[:]]),
    "seq_subclass_ops": (
        lambda lib: subclass(lib, "Sequential")(lib.nn.Linear(1, 1), lib.nn.Identity()),
        lambda lib, c: [c[:1], c + c, c * 2, _iop(c[:], "+", c), _iop(c[:], "*", 2)],
    ),
    # ModuleList
    "ml_subclass_ops": (
        lambda lib: subclass(lib, "ModuleList")([lib.nn.Linear(1, 1), lib.nn.Identity()]),
        lambda lib, c: [c[:1], c + c, _iop(c[:], "+", c)],
    ),
    "ml_build": (mlist, lambda lib, c: None),
    "ml_empty": (lambda lib: lib.nn.ModuleList(), lambda lib, c: c[:]),
    "ml_from_generator": (lambda lib: lib.nn.ModuleList(lib.nn.Linear(i + 1, 1) for i in range(3)),
                          lambda lib, c: None),
    "ml_getitem": (mlist, lambda lib, c: [c[0], c[-1], c[1:], c[::-1]]),
    "ml_setitem": (mlist, lambda lib, c: (_setitem(c, 0, lib.nn.Identity()), _setitem(c, -2, lib.nn.Linear(2, 2)))),
    "ml_del_int": (mlist, lambda lib, c: _delitem(c, 0)),
    "ml_del_neg": (mlist, lambda lib, c: _delitem(c, -2)),
    "ml_del_slice": (mlist, lambda lib, c: _delitem(c, slice(0, 2))),
    "ml_del_step": (mlist, lambda lib, c: _delitem(c, slice(None, None, -2))),
    "ml_append": (mlist, lambda lib, c: c.append(lib.nn.Linear(3, 3)) is c),
    "ml_insert_front": (mlist, lambda lib, c: c.insert(0, lib.nn.Linear(4, 4))),
    "ml_insert_middle": (mlist, lambda lib, c: c.insert(2, lib.nn.Linear(4, 4))),
    "ml_insert_past_end": (mlist, lambda lib, c: c.insert(7, lib.nn.Linear(4, 4))),
    "ml_extend": (mlist, lambda lib, c: c.extend((lib.nn.Identity(), lib.nn.Linear(5, 5))) is c),
    "ml_pop": (mlist, lambda lib, c: [c.pop(0), c.pop(-1)]),
    "ml_pop_slice": (mlist, lambda lib, c: c.pop(slice(1, None))),
    "ml_add": (mlist, lambda lib, c: c + [lib.nn.Identity(), c[0]]),
    "ml_iadd": (mlist, lambda lib, c: _iop(c, "+", mlist(lib)) is c),
    "ml_repr_compressed": (
        lambda lib: lib.nn.ModuleList(
            [lib.nn.Linear(2, 2) for _ in range(3)] + [lib.nn.Identity()] * 2 + [lib.nn.Linear(2, 2), seq_od(lib)]
        ),
        lambda lib, c: None,
    ),
    "ml_repr_nested_compressed": (
        lambda lib: lib.nn.ModuleList([lib.nn.ModuleList([lib.nn.Identity()] * 2) for _ in range(2)]),
        lambda lib, c: None,
    ),
    "ml_repr_blank_lines": (
        lambda lib: lib.nn.ModuleList([custom_repr_module(lib, "a\n\nb") for _ in range(2)]),
        lambda lib, c: None,
    ),
    # ModuleDict
    "md_build_dict_keeps_order": (mdict, lambda lib, c: [list(c.keys()), list(c), len(c)]),
    "md_build_pairs": (lambda lib: lib.nn.ModuleDict([("z", lib.nn.Identity()), ["y", lib.nn.Linear(1, 1)]]),
                       lambda lib, c: None),
    "md_build_od": (lambda lib: lib.nn.ModuleDict(OrderedDict(z=lib.nn.Identity(), a=lib.nn.Identity())),
                    lambda lib, c: None),
    "md_build_md": (lambda lib: lib.nn.ModuleDict(mdict(lib)), lambda lib, c: None),
    "md_access": (mdict, lambda lib, c: [c["a"], "a" in c, "zz" in c, list(c.items()), list(c.values())]),
    "md_setitem_new": (mdict, lambda lib, c: _setitem(c, "d", lib.nn.Linear(1, 1))),
    "md_setitem_replace": (mdict, lambda lib, c: _setitem(c, "b", lib.nn.Identity())),
    "md_del": (mdict, lambda lib, c: _delitem(c, "b")),
    "md_pop": (mdict, lambda lib, c: c.pop("a")),
    "md_clear": (mdict, lambda lib, c: c.clear()),
    "md_update_pairs": (mdict, lambda lib, c: c.update([("e", lib.nn.Identity()), ("b", lib.nn.Linear(3, 3))])),
    "md_update_dict": (mdict, lambda lib, c: c.update({"z": lib.nn.Identity(), "d": lib.nn.Identity()})),
    "md_update_md": (mdict, lambda lib, c: c.update(lib.nn.ModuleDict({"q": lib.nn.Identity()}))),
    # ParameterList
    "pl_build": (plist, lambda lib, c: [len(c), list(c)]),
    "pl_empty": (lambda lib: lib.nn.ParameterList(), lambda lib, c: c[:]),
    "pl_getitem": (plist, lambda lib, c: [c[0], c[-1], c[1:], c[::-1]]),
    "pl_append": (plist, lambda lib, c: c.append(arr(lib, 5)) is c),
    "pl_append_objects": (plist, lambda lib, c: c.append(7).append("s").append(lib.nn.Linear(2, 2))),
    "pl_extend": (plist, lambda lib, c: c.extend([arr(lib, 1, 2), lib.nn.Parameter(arr(lib, 2, 1))]) is c),
    "pl_iadd": (plist, lambda lib, c: _iop(c, "+", (arr(lib, 2),)) is c),
    "pl_setitem_array": (plist, lambda lib, c: _setitem(c, 1, arr(lib, 6))),
    "pl_setitem_neg": (plist, lambda lib, c: _setitem(c, -1, lib.nn.Parameter(arr(lib, 6)))),
    "pl_setitem_none": (plist, lambda lib, c: _setitem(c, 0, None)),
    "pl_setitem_none_then_array": (plist, lambda lib, c: (_setitem(c, 0, None), _setitem(c, 0, arr(lib, 1)))),
    "pl_setitem_over_object": (plist, lambda lib, c: (c.append(3), _setitem(c, 3, arr(lib, 1)))),
    "pl_dtypes": (
        lambda lib: lib.nn.ParameterList(
            [arr(lib, 2, dtype=np.float16), lib.nn.Parameter(arr(lib, 2, dtype=np.int32), requires_grad=False),
             lib.nn.Parameter(lib.tensor([True, False], dtype=bool), requires_grad=False)]
        ),
        lambda lib, c: None,
    ),
    "pl_one_entry_repr": (lambda lib: lib.nn.ParameterList([arr(lib, 3)]), lambda lib, c: None),
    "pl_buffer_becomes_parameter": (lambda lib: lib.nn.ParameterList([lib.nn.Buffer(arr(lib, 2))]),
                                    lambda lib, c: None),
    "pl_shared_parameter": (plist, lambda lib, c: c.append(c[0])),
    "pl_subclass_ops": (lambda lib: subclass(lib, "ParameterList")([arr(lib, 1)]), lambda lib, c: [c[:], c[::-1]]),
    # ParameterDict
    "pd_subclass_ops": (
        lambda lib: subclass(lib, "ParameterDict")({"a": arr(lib, 1)}),
        lambda lib, c: [c.copy(), c | c, c.fromkeys(["x"]), _iop(c.copy(), "|", c)],
    ),
    "pd_build_dict_sorted": (pdict, lambda lib, c: [list(c), list(c.keys()), list(reversed(c)), len(c)]),
    "pd_build_od_keeps_order": (lambda lib: lib.nn.ParameterDict(OrderedDict(z=arr(lib, 1), a=arr(lib, 2))),
                                lambda lib, c: None),
    "pd_build_pairs": (lambda lib: lib.nn.ParameterDict([("z", arr(lib, 1)), ["a", 3]]), lambda lib, c: None),
    "pd_access": (pdict, lambda lib, c: [c["w"], c["s"], "w" in c, "zz" in c, list(c.items()), list(c.values())]),
    "pd_get": (pdict, lambda lib, c: [c.get("b"), c.get("zz"), c.get("zz", 3)]),
    "pd_setitem": (pdict, lambda lib, c: (_setitem(c, "new", arr(lib, 2, 2)), _setitem(c, "s", 5))),
    "pd_setitem_shadows_training": (pdict, lambda lib, c: _setitem(c, "training", arr(lib, 1))),
    "pd_setitem_none": (pdict, lambda lib, c: _setitem(c, "w", None)),
    "pd_del": (pdict, lambda lib, c: _delitem(c, "w")),
    "pd_setdefault": (pdict, lambda lib, c: [c.setdefault("w", arr(lib, 9)), c.setdefault("n", arr(lib, 9)),
                                             c.setdefault("m")]),
    "pd_pop": (pdict, lambda lib, c: c.pop("b")),
    "pd_popitem": (pdict, lambda lib, c: [c.popitem(), c.popitem()]),
    "pd_clear": (pdict, lambda lib, c: c.clear()),
    "pd_copy": (pdict, lambda lib, c: [c.copy(), c.copy()["w"] is c["w"]]),
    "pd_fromkeys": (pdict, lambda lib, c: c.fromkeys(["x", "a"], arr(lib, 2))),
    "pd_update_dict_sorted": (pdict, lambda lib, c: c.update({"z": arr(lib, 1), "c": arr(lib, 2)})),
    "pd_update_pairs": (pdict, lambda lib, c: c.update([("z", arr(lib, 1)), ("c", arr(lib, 2))])),
    "pd_update_pd": (pdict, lambda lib, c: c.update(lib.nn.ParameterDict(OrderedDict(z=arr(lib, 1))))),
    "pd_or": (pdict, lambda lib, c: c | lib.nn.ParameterDict({"z": arr(lib, 1)})),
    "pd_or_dict": (pdict, lambda lib, c: c | {"z": arr(lib, 1), "a": arr(lib, 1)}),
    "pd_ror_dict": (pdict, lambda lib, c: OrderedDict(z=arr(lib, 1)) | c),
    "pd_ior": (pdict, lambda lib, c: _iop(c, "|", {"z": arr(lib, 1)}) is c),
    "pd_module_value": (pdict, lambda lib, c: _setitem(c, "lin", lib.nn.Linear(1, 2))),
    "pd_dtypes_typename": (
        lambda lib: lib.nn.ParameterDict(
            OrderedDict(h=arr(lib, 2, dtype=np.float16), s=arr(lib),
                        i=lib.nn.Parameter(arr(lib, 2, 1, dtype=np.int32), requires_grad=False),
                        u=lib.nn.Parameter(arr(lib, 2, dtype=np.uint8), requires_grad=False))
        ),
        lambda lib, c: None,
    ),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_mutation_matches_torch(name):
    (theirs, t_container), (ours, o_container) = run_both(*MUTATIONS[name])
    assert not isinstance(theirs, Exception), f"torch raised {theirs!r}: the scenario is wrong"
    assert not isinstance(ours, Exception), f"torchjax raised {ours!r}"
    assert describe(o_container) == describe(t_container)
    assert describe(ours) == describe(theirs)


# --- scenarios that raise: (build, op, gist); gist None means the normalised messages are equal ---------------
def _bad_update(c, arg):
    c.update(arg)


ERRORS = {
    # Sequential
    "seq_getitem_out_of_range": (seq, lambda lib, c: c[4], None),
    "seq_getitem_neg_out_of_range": (seq, lambda lib, c: c[-5], None),
    "seq_getitem_str": (seq, lambda lib, c: c["0"], None),
    "seq_getitem_empty": (lambda lib: lib.nn.Sequential(), lambda lib, c: c[0], None),
    "seq_setitem_out_of_range": (seq, lambda lib, c: _setitem(c, 4, lib.nn.Identity()), None),
    "seq_setitem_not_module": (seq, lambda lib, c: _setitem(c, 0, 3), None),
    "seq_del_out_of_range": (seq, lambda lib, c: _delitem(c, -5), None),
    "seq_pop_out_of_range": (seq, lambda lib, c: c.pop(9), None),
    "seq_insert_out_of_range": (seq, lambda lib, c: c.insert(5, lib.nn.Identity()), None),
    "seq_insert_neg_out_of_range": (seq, lambda lib, c: c.insert(-5, lib.nn.Identity()), None),
    "seq_insert_not_module": (seq, lambda lib, c: c.insert(0, 3), None),
    "seq_append_not_module": (seq, lambda lib, c: c.append(3), None),
    "seq_extend_not_iterable": (seq, lambda lib, c: c.extend(5), None),
    "seq_add_list": (seq, lambda lib, c: c + [lib.nn.Identity()], None),
    "seq_add_modulelist": (seq, lambda lib, c: c + mlist(lib), None),
    "seq_iadd_list": (seq, lambda lib, c: _iop(c, "+", [lib.nn.Identity()]), None),
    "seq_mul_zero": (seq, lambda lib, c: c * 0, None),
    "seq_mul_negative": (seq, lambda lib, c: c * -2, None),
    "seq_mul_float": (seq, lambda lib, c: c * 2.0, None),
    "seq_rmul_float": (seq, lambda lib, c: 2.0 * c, None),
    "seq_imul_zero": (seq, lambda lib, c: _iop(c, "*", 0), None),
    "seq_imul_str": (seq, lambda lib, c: _iop(c, "*", "2"), None),
    "seq_build_not_module": (lambda lib: None, lambda lib, c: lib.nn.Sequential(lib.nn.Identity(), 3), None),
    "seq_build_dotted_name": (
        lambda lib: None, lambda lib, c: lib.nn.Sequential(OrderedDict([("a.b", lib.nn.Identity())])), None
    ),
    # ModuleList
    "ml_getitem_out_of_range": (mlist, lambda lib, c: c[3], None),
    "ml_getitem_neg_out_of_range": (mlist, lambda lib, c: c[-4], None),
    "ml_getitem_str": (mlist, lambda lib, c: c["0"], None),
    "ml_setitem_out_of_range": (mlist, lambda lib, c: _setitem(c, 3, lib.nn.Identity()), None),
    "ml_setitem_not_module": (mlist, lambda lib, c: _setitem(c, 1, "x"), None),
    "ml_del_out_of_range": (mlist, lambda lib, c: _delitem(c, 3), None),
    "ml_pop_out_of_range": (mlist, lambda lib, c: c.pop(-4), None),
    "ml_insert_negative_partial_shift": (mlist, lambda lib, c: c.insert(-1, lib.nn.Identity()), None),
    "ml_extend_not_iterable": (mlist, lambda lib, c: c.extend(5), None),
    "ml_build_not_iterable": (lambda lib: None, lambda lib, c: lib.nn.ModuleList(5), None),
    "ml_extend_not_module": (mlist, lambda lib, c: c.extend([lib.nn.Identity(), 3]), None),
    "ml_add_not_module": (mlist, lambda lib, c: c + [3], None),
    "ml_forward": (mlist, lambda lib, c: c(1), None),
    # ModuleDict
    "md_getitem_missing": (mdict, lambda lib, c: c["zz"], None),
    "md_del_missing": (mdict, lambda lib, c: _delitem(c, "zz"), None),
    "md_pop_missing": (mdict, lambda lib, c: c.pop("zz"), None),
    "md_setitem_dotted": (mdict, lambda lib, c: _setitem(c, "a.b", lib.nn.Identity()), None),
    "md_setitem_existing_attr": (mdict, lambda lib, c: _setitem(c, "training", lib.nn.Identity()), None),
    "md_setitem_int_key": (mdict, lambda lib, c: _setitem(c, 1, lib.nn.Identity()), None),
    "md_setitem_not_module": (mdict, lambda lib, c: _setitem(c, "x", 3), None),
    "md_update_not_iterable": (mdict, lambda lib, c: _bad_update(c, 5), None),
    "md_update_element_not_iterable": (mdict, lambda lib, c: _bad_update(c, [("x", lib.nn.Identity()), 5]), None),
    "md_update_element_short": (mdict, lambda lib, c: _bad_update(c, [("x",)]), None),
    "md_update_element_long": (mdict, lambda lib, c: _bad_update(c, [("x", lib.nn.Identity(), 1)]), None),
    "md_update_str": (mdict, lambda lib, c: _bad_update(c, ["ab"]), None),
    "md_build_not_iterable": (lambda lib: None, lambda lib, c: lib.nn.ModuleDict(5), None),
    "md_forward": (mdict, lambda lib, c: c(1), None),
    # ParameterList
    "pl_getitem_out_of_range": (plist, lambda lib, c: c[3], None),
    "pl_getitem_neg_out_of_range": (plist, lambda lib, c: c[-4], None),
    "pl_getitem_str": (plist, lambda lib, c: c["a"], None),
    "pl_setitem_out_of_range": (plist, lambda lib, c: _setitem(c, 3, arr(lib, 1)), None),
    "pl_setitem_object_over_parameter": (plist, lambda lib, c: _setitem(c, 0, 5),
                                         r"cannot assign 'int' as parameter '0' \(torch.nn.Parameter or None"),
    "pl_setitem_module_over_parameter": (plist, lambda lib, c: _setitem(c, 0, lib.nn.Linear(1, 1)),
                                         r"as parameter '0' \(torch.nn.Parameter or None"),
    "pl_delitem": (plist, lambda lib, c: _delitem(c, 0), None),
    "pl_extend_not_iterable": (plist, lambda lib, c: c.extend(5), None),
    "pl_extend_array": (plist, lambda lib, c: c.extend(arr(lib, 3)),
                        r"^ParameterList.extend should be called with an iterable, but got \w+$"),
    "pl_extend_parameter": (plist, lambda lib, c: c.extend(lib.nn.Parameter(arr(lib, 3))), None),
    "pl_build_not_iterable": (lambda lib: None, lambda lib, c: lib.nn.ParameterList(5), None),
    "pl_call": (plist, lambda lib, c: c(1), None),
    # ParameterDict
    "pd_getitem_missing": (pdict, lambda lib, c: c["zz"], None),
    "pd_getitem_int": (pdict, lambda lib, c: c[1], None),
    "pd_setitem_int_key": (pdict, lambda lib, c: _setitem(c, 1, arr(lib, 1)), None),
    "pd_setitem_dotted": (pdict, lambda lib, c: _setitem(c, "a.b", arr(lib, 1)), None),
    "pd_setitem_object_over_parameter": (pdict, lambda lib, c: _setitem(c, "w", 5),
                                         r"cannot assign 'int' as parameter 'w' \(torch.nn.Parameter or None"),
    "pd_del_missing": (pdict, lambda lib, c: _delitem(c, "zz"), None),
    "pd_pop_missing": (pdict, lambda lib, c: c.pop("zz"), None),
    "pd_popitem_empty": (lambda lib: lib.nn.ParameterDict(), lambda lib, c: c.popitem(), None),
    "pd_update_not_iterable": (pdict, lambda lib, c: _bad_update(c, 5), None),
    "pd_update_element_not_iterable": (pdict, lambda lib, c: _bad_update(c, [5]), None),
    "pd_update_element_short": (pdict, lambda lib, c: _bad_update(c, [("x",)]), None),
    "pd_update_unsortable_keys": (pdict, lambda lib, c: _bad_update(c, {"x": arr(lib, 1), 2: arr(lib, 1)}), None),
    "pd_build_not_iterable": (lambda lib: None, lambda lib, c: lib.nn.ParameterDict(5), None),
    "pd_call": (pdict, lambda lib, c: c(1), None),
}


@pytest.mark.parametrize("name", ERRORS)
def test_error_matches_torch(name):
    build, op, gist = ERRORS[name]
    (theirs, t_container), (ours, o_container) = run_both(build, op)
    raises_same(lambda: _reraise(theirs), lambda: _reraise(ours))
    if gist is None:
        assert normalise(str(ours)) == normalise(str(theirs))
    else:
        assert re.search(gist, normalise(str(theirs))), f"scenario gist is wrong for torch's {theirs!r}"
        assert re.search(gist, normalise(str(ours))), repr(ours)
    assert describe(o_container) == describe(t_container), "state left behind differs"


def _reraise(result):
    if isinstance(result, Exception):
        raise result


# --- forward ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "edit",
    [
        lambda lib, s: s,
        lambda lib, s: s[:2],
        lambda lib, s: s.insert(1, lib.nn.Linear(3, 3)),
        lambda lib, s: (_delitem(s, 1), s)[1],
        lambda lib, s: s + lib.nn.Sequential(lib.nn.Linear(2, 2)),
        lambda lib, s: lib.nn.Sequential(lib.nn.Linear(2, 2)) * 3,
        lambda lib, s: lib.nn.Sequential(lib.nn.Identity()),
    ],
    ids=["whole", "slice", "insert", "del", "add", "mul", "identity"],
)
def test_sequential_forward_matches_torch(edit):
    torch.manual_seed(0)
    theirs, ours = (edit(lib, seq(lib)) for lib in LIBS)
    load_torch_state(ours, theirs)
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x))
    assert_close(ours(jnp.asarray(x)), expected)


def test_parameter_containers_load_torch_state():
    theirs = torch.nn.ModuleDict({"pl": plist(TORCH), "pd": pdict(TORCH)})
    ours = tnn.ModuleDict({"pl": plist(TJ), "pd": pdict(TJ)})
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_()
    load_torch_state(ours, theirs)
    for (name, mine), (t_name, ref) in zip(ours.state_dict().items(), theirs.state_dict().items(), strict=True):
        assert name == t_name
        assert_close(mine, ref)


# --- torchjax-specific: which values are wrapped, identity, repr on a GPU -------------------------------------
def test_parameter_wrapping():
    p = tnn.Parameter(jnp.ones(2))
    pl = tnn.ParameterList([p, jnp.zeros(3), np.zeros(2, np.float32), tnn.Buffer(jnp.ones(1)), 1.5])
    assert pl[0] is p
    assert all(type(v) is tnn.Parameter for v in list(pl)[1:4])
    assert isinstance(pl[2].jax(), jax.Array)
    assert pl[4] == 1.5 and [n for n, _ in pl.named_parameters()] == ["0", "1", "2", "3"]
    pd = tnn.ParameterDict(OrderedDict(a=p, b=np.ones(2), c=None))
    assert pd["a"] is p and type(pd["b"]) is tnn.Parameter and pd["c"] is None
    assert [n for n, _ in pd.named_parameters()] == ["a", "b"]


def test_uninitialized_parameter_repr():
    """ParameterList shows torch's placeholder; torch's ParameterDict repr raises ValueError there, ours prints it."""
    assert repr(tnn.ParameterList([tnn.UninitializedParameter()])) == repr(
        torch.nn.ParameterList([torch.nn.UninitializedParameter()])
    )
    pd = tnn.ParameterDict({"u": tnn.UninitializedParameter()})
    assert repr(pd) == "ParameterDict(  (u): Parameter containing: [torch.FloatTensor of size 0])"


def test_dir_hides_integer_keys():
    for c in (seq(TJ), mlist(TJ), plist(TJ)):
        names = dir(c)
        assert not any(n.isdigit() for n in names)
        assert "append" in names and "training" in names
    assert "w" in dir(pdict(TJ))


def test_repr_on_gpu_uses_torch_device_names():
    """Arrays on a GPU get torch's ``(cuda:0)`` suffix and ``torch.cuda.*Tensor`` name (faked device)."""

    class FakeGpuArray:
        shape, dtype = (2, 3), np.dtype(np.float32)

        def devices(self):
            return [types.SimpleNamespace(platform="gpu", id=1)]

    p = object.__new__(tnn.Parameter)
    p._data, p._base, p._version, p.requires_grad, p.grad = FakeGpuArray(), None, 0, True, None
    pl = tnn.ParameterList()
    pl._size = 1
    pl.register_parameter("0", p)
    assert pl.extra_repr() == "  (0): Parameter containing: [torch.float32 of size 2x3 (cuda:1)]"
    pd = tnn.ParameterDict()
    pd._keys["w"] = None
    pd.register_parameter("w", p)
    assert pd.extra_repr() == "  (w): Parameter containing: [torch.cuda.FloatTensor of size 2x3 (cuda:1)]"


# --- random edit sequences on Sequential / ModuleList ----------------------------------------------------------
OPS = st.one_of(
    st.tuples(st.just("append"), st.integers(0, 5)),
    st.tuples(st.just("insert"), st.integers(-6, 6), st.integers(0, 5)),
    st.tuples(st.just("extend"), st.lists(st.integers(0, 5), max_size=3)),
    st.tuples(st.just("pop"), st.integers(-6, 6)),
    st.tuples(st.just("del"), st.integers(-6, 6)),
    st.tuples(st.just("del_slice"), st.integers(-6, 6), st.integers(-6, 6), st.sampled_from([None, 2, -1])),
    st.tuples(st.just("set"), st.integers(-6, 6), st.integers(0, 5)),
)


def _apply(container, pool, op):
    kind, *args = op
    if kind == "append":
        container.append(pool[args[0]])
    elif kind == "insert":
        container.insert(args[0], pool[args[1]])
    elif kind == "extend":
        container.extend([pool[i] for i in args[0]])
    elif kind == "pop":
        container.pop(args[0])
    elif kind == "del":
        del container[args[0]]
    elif kind == "del_slice":
        del container[slice(*args)]
    else:
        container[args[0]] = pool[args[1]]


@settings(max_examples=40, deadline=None)
@given(cls=st.sampled_from(["Sequential", "ModuleList"]), ops=st.lists(OPS, max_size=8))
def test_random_edits_match_torch(cls, ops):
    sides = []
    for lib in LIBS:
        pool = [lib.nn.Linear(i + 1, 1) for i in range(6)]
        sides.append((getattr(lib.nn, cls)(pool[:3]) if cls == "ModuleList" else lib.nn.Sequential(*pool[:3]), pool))
    for op in ops:
        if cls == "ModuleList" and op[0] == "insert" and op[1] < 0:
            continue  # torch's ModuleList.insert leaves a half-shifted list on a negative index (tested above)
        outcome = []
        for container, pool in sides:
            try:
                _apply(container, pool, op)
                outcome.append(None)
            except Exception as e:  # noqa: BLE001 - compared below
                outcome.append(type(e))
        assert outcome[0] == outcome[1], op
        assert describe(sides[1][0]) == describe(sides[0][0]), op

"""Write docs/api-coverage.md: every public name of torch.nn, torch.nn.functional and torch.nn.init,
and whether torchjax has it yet (and which issue brings it when not); then torch.Tensor's public
methods and attributes and torch's top-level functions, classes and dtypes, each present or missing,
with the names torchjax leaves out of scope (OUT_OF_SCOPE) listed apart and not counted.

A dev tool, not library code: it imports torch (the spec) and torchjax (what exists).
Run from the repository root: ``.venv/bin/python tools/gen_api_coverage.py``.
"""

from __future__ import annotations

import inspect
import re
import sys
import types
from collections import Counter
from pathlib import Path

import torch
import torch.nn
import torch.nn.functional
import torch.nn.init

import torchjax
import torchjax.nn
import torchjax.nn.functional
import torchjax.nn.init

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "api-coverage.md"
NO_ISSUE = "no issue yet"

# Issue that brings each family; a family is the last part of a torch class's __module__
# (torch.nn.modules.conv -> conv), or a name from FUNCTION_FAMILIES.
ISSUES = {
    **dict.fromkeys(
        ["linear", "conv", "pooling", "padding", "upsampling", "pixelshuffle", "fold", "flatten", "channelshuffle"],
        "#5",
    ),
    **dict.fromkeys(["batchnorm", "instancenorm", "normalization", "dropout", "activation"], "#6"),
    **dict.fromkeys(["loss", "distance", "adaptive", "linear_cross_entropy_options"], "#7"),
    **dict.fromkeys(["attention", "transformer", "sparse", "rnn"], "#8"),
    **dict.fromkeys(["module", "container", "parameter", "lazy", "init", "nn"], "#2"),
    "utils": "#4",
}

# torch.nn classes whose home module is not their family (MultiheadAttention lives in activation.py).
CLASS_FAMILY_OVERRIDES = {"MultiheadAttention": "attention"}

# torch.nn.functional names -> family, first match wins.
FUNCTION_FAMILIES = [
    (r"scaled_dot_product_attention|multi_head_attention_forward", "attention"),
    (r"embedding(_bag)?|one_hot", "sparse"),
    (r".*_loss|(binary_)?cross_entropy.*|nll_loss|kl_div|linear_cross_entropy", "loss"),
    (r"cosine_similarity|pairwise_distance|pdist", "distance"),
    (r".*_norm|normalize", "normalization"),
    (r".*dropout.*", "dropout"),
    (r"(bi)?linear|(scaled_)?(grouped_)?mm", "linear"),
    (r"conv.*", "conv"),
    (r".*pool.*", "pooling"),
    (r"pad", "padding"),
    (r"interpolate|upsample.*|grid_sample|affine_grid", "upsampling"),
    (r"pixel_(un)?shuffle", "pixelshuffle"),
    (r"(native_)?channel_shuffle", "channelshuffle"),
    (r"(un)?fold", "fold"),
    (
        r"(leaky_)?relu6?_?|r?relu_?|[cs]?elu_?|gelu|glu|silu|mish|hard(tanh|swish|sigmoid|shrink)_?|logsigmoid"
        r"|prelu|sigmoid|tanh(shrink)?|(log_)?softm(ax|in)|soft(plus|shrink|sign)|threshold_?|gumbel_softmax",
        "activation",
    ),
]

# Callables that torch.nn.functional imports for its own use; not part of the functional API.
FUNCTIONAL_INTERNALS = {
    "assert_int_or_pair",
    "boolean_dispatch",
    "handle_torch_function",
    "has_torch_function",
    "has_torch_function_unary",
    "has_torch_function_variadic",
}

# torch.nn's submodules, listed as modules rather than as API names.
SUBMODULES = [
    "modules",
    "functional",
    "init",
    "utils",
    "parameter",
    "common_types",
    "grad",
    "attention",
    "intrinsic",
    "qat",
    "quantizable",
    "quantized",
    "backends",
    "cpp",
    "parallel",
]
SUBMODULE_FAMILIES = {
    "modules": "module",
    "functional": "module",
    "init": "init",
    "parameter": "parameter",
    "common_types": "module",
    "attention": "attention",
    "utils": "utils",
}


# Names of torch.Tensor and torch.* that torchjax does not implement, by reason (regexes, full match).
# Predicates (is_sparse, is_quantized, is_nested, ...) stay in scope: they answer False here.
OUT_OF_SCOPE = {
    "CUDA streams and events": r"record_stream|Stream|Event|StreamObjType",
    "sparse tensors": (
        r".*sparse.*|(c?col|c?row)_indices(_copy)?|indices(_copy)?|values(_copy)?|coalesce|is_coalesced"
        r"|dense_dim|to_dense|[dhs]?smm|hspmm|spmm|saddmm|sspaddmm"
        r"|native_norm"  # torch has only sparse kernels for it (dense CPU/CUDA tensors raise NotImplementedError)
    ),
    "quantized tensors": (
        r".*quantiz.*|q_.*|int_repr|qscheme|choose_qparams_optimized|fbgemm_.*|fused_moving_avg_obs_fake_quant"
        r"|qu?int\d+(x\d+)?|per_(tensor|channel)_.*"
    ),
    "storage": r"storage|untyped_storage|storage_offset|storage_type|share_memory_|data_ptr|const_data_ptr"
               r"|is_set_to|is_storage|from_file|.*Storage.*",
    "named tensors": r"names|refine_names|rename_?|align_(to|as)|has_names",
    "nested tensors": r"nested_.*|to_padded_tensor",
    "backend-specific kernels": r"(cudnn|miopen|mkldnn)_.*|to_mkldnn",
    # torch defines these dtypes for out-of-tree kernels (torchao): its own operators raise NotImplementedError on
    # them (even .to() does); only empty/zeros allocate. int2/int4/uint2/uint4 included: torch treats them alike.
    "shell dtypes (no torch operator computes with them)": r"bits\d+(x\d+)?|bit|u?int[1-7]|float4_e2m1fn_x2",
    "TorchScript internals": (
        r"parse_ir|parse_schema|parse_type_comment|merge_type_from_type_comment|unify_type_list"
        r"|import_ir_module(_from_buffer)?|fork|wait|classproperty"
    ),
}

# torch's top-level classes a model file touches (the rest are TorchScript and legacy typed-tensor classes).
TORCH_CLASSES = [
    "Generator", "Size", "Tensor", "autocast", "device", "dtype", "enable_grad", "finfo", "iinfo",
    "inference_mode", "layout", "memory_format", "no_grad", "set_grad_enabled",
]


def out_of_scope(name: str) -> str | None:
    if re.fullmatch(r"is_(?!coalesced$).*", name):  # a predicate answers False here (is_coalesced needs sparse)
        return None
    for reason, pattern in OUT_OF_SCOPE.items():
        if re.fullmatch(pattern, name):
            return reason
    return None


def function_family(name: str) -> str | None:
    for pattern, family in FUNCTION_FAMILIES:
        if re.fullmatch(pattern, name):
            return family
    return None


def status(has_it: bool, family: str | None) -> str:
    if has_it:
        return "✅ implemented"
    return f"— not yet ({ISSUES.get(family, NO_ISSUE)})"


def public(module: types.ModuleType) -> list[str]:
    return sorted(name for name in dir(module) if not name.startswith("_"))


def is_function(value) -> bool:
    return inspect.isfunction(value) or inspect.isbuiltin(value)


def nn_rows() -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str]]]:
    """(name, kind, family, status) for torch.nn's classes and functions; (name, status) for its submodules."""
    rows, submodules = [], []
    for name in public(torch.nn):
        value = getattr(torch.nn, name)
        if isinstance(value, types.ModuleType) or name in SUBMODULES:
            family = SUBMODULE_FAMILIES.get(name)
            submodules.append((name, status(hasattr(torchjax.nn, name), family)))
            continue
        if not (inspect.isclass(value) or is_function(value)):
            continue
        family = CLASS_FAMILY_OVERRIDES.get(name, value.__module__.rsplit(".", 1)[-1])
        if family == "data_parallel":
            family = "parallel"
        kind = "class" if inspect.isclass(value) else "function"
        rows.append((name, kind, family, status(hasattr(torchjax.nn, name), family)))
    present = {name for name, _ in submodules}
    submodules += [(name, status(False, SUBMODULE_FAMILIES.get(name))) for name in SUBMODULES if name not in present]
    rows.sort(key=lambda row: (row[2], row[0]))
    return rows, sorted(submodules)


def functional_rows() -> list[tuple[str, str, str]]:
    rows = []
    for name in public(torch.nn.functional):
        value = getattr(torch.nn.functional, name)
        if not is_function(value) or name in FUNCTIONAL_INTERNALS:
            continue
        family = function_family(name)
        rows.append((name, family or "?", status(hasattr(torchjax.nn.functional, name), family)))
    rows.sort(key=lambda row: (row[1], row[0]))
    return rows


def init_rows() -> list[tuple[str, str]]:
    return [
        (name, status(hasattr(torchjax.nn.init, name), "init"))
        for name in public(torch.nn.init)
        if inspect.isfunction(getattr(torch.nn.init, name))
        and getattr(torch.nn.init, name).__module__ == "torch.nn.init"
    ]


def presence(has_it: bool) -> str:
    return "✅ implemented" if has_it else "— missing"


def split_scope(names: list[str], has) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(name, status) of the names in scope; (name, reason) of those out of scope."""
    rows, excluded = [], []
    for name in names:
        reason = out_of_scope(name)
        if reason is None:
            rows.append((name, presence(has(name))))
        else:
            excluded.append((name, reason))
    return rows, excluded


def tensor_rows() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """torch.Tensor's public methods and attributes."""
    return split_scope(public(torch.Tensor), lambda name: hasattr(torchjax.Tensor, name))


def torch_function_rows() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """torch's top-level functions (not classes, modules or constants)."""
    names = [name for name in public(torch) if callable(getattr(torch, name))
             and not inspect.isclass(getattr(torch, name)) and not isinstance(getattr(torch, name), types.ModuleType)]
    return split_scope(names, lambda name: hasattr(torchjax, name))


def torch_class_rows() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """TORCH_CLASSES and torch's dtypes (torch.float32, torch.long, ...)."""
    dtypes = [name for name in public(torch) if isinstance(getattr(torch, name), torch.dtype)]
    return split_scope(sorted(TORCH_CLASSES + dtypes), lambda name: hasattr(torchjax, name))


def table(header: list[str], rows: list[tuple]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f"`{cell}`" if i == 0 else cell for i, cell in enumerate(row)) + " |" for row in rows]
    return lines


def count(rows: list[tuple]) -> tuple[int, int]:
    return sum(row[-1].startswith("✅") for row in rows), len(rows)


def render() -> str:
    nn_names, submodules = nn_rows()
    functional, init = functional_rows(), init_rows()
    tensor, tensor_excluded = tensor_rows()
    functions, functions_excluded = torch_function_rows()
    classes, classes_excluded = torch_class_rows()
    sections = [
        ("`torch.nn` classes and functions", nn_names),
        ("`torch.nn.functional`", functional),
        ("`torch.nn.init`", init),
        ("`torch.nn` submodules", submodules),
    ]
    torch_sections = [
        ("`torch.Tensor` methods and attributes", tensor),
        ("`torch.*` functions", functions),
        ("`torch.*` classes and dtypes", classes),
    ]
    lines = [
        "# API coverage",
        "",
        "<!-- Generated by tools/gen_api_coverage.py; do not edit by hand. -->",
        "Generated by `tools/gen_api_coverage.py` against torch "
        f"{torch.__version__.split('+')[0]}. Regenerate after adding names:",
        "",
        "```",
        ".venv/bin/python tools/gen_api_coverage.py",
        "```",
        "",
        "A name is ✅ when `torchjax.nn`, `torchjax.nn.functional` or `torchjax.nn.init` has it; otherwise the",
        "issue in parentheses is the one that brings it. Issues: #2 module system, containers, parameters and",
        "`nn.init`; #3 autograd and `torchjax.func`; #4 `nn.utils`; #5 linear, conv, pooling, padding,",
        "upsampling, pixel shuffle, fold, flatten; #6 norms, dropout, activations; #7 losses and distances;",
        "#8 attention, transformer, embedding, RNN.",
        "",
        "The `torch.Tensor` and `torch.*` sections mark a name ✅ when `torchjax.Tensor` or `torchjax` has it.",
        "Names out of scope (" + ", ".join(OUT_OF_SCOPE) + ")",
        "are listed at the end and not counted.",
        "torch's dtypes are listed by torch's name: torchjax's int64/float64 need JAX's 64-bit mode.",
        "",
        "## Summary",
        "",
        "| Section | Implemented | Total |",
        "|---|---|---|",
    ]
    for title, rows in sections + torch_sections:
        done, total = count(rows)
        lines.append(f"| {title} | {done} | {total} |")

    pending = Counter(
        re.search(r"\((.*)\)", row[-1]).group(1) for _, rows in sections for row in rows if not row[-1].startswith("✅")
    )
    lines += ["", "Not yet, by issue: " + ", ".join(f"{issue}: {n}" for issue, n in sorted(pending.items())) + "."]

    lines += ["", "## `torch.nn` classes and functions", "", *table(["Name", "Kind", "Family", "Status"], nn_names)]
    lines += ["", "## `torch.nn.functional`", "", *table(["Name", "Family", "Status"], functional)]
    lines += ["", "## `torch.nn.init`", "", *table(["Name", "Status"], init)]
    lines += ["", "## `torch.nn` submodules", "", *table(["Module", "Status"], submodules)]
    for title, rows in torch_sections:
        lines += ["", f"## {title}", "", *table(["Name", "Status"], rows)]
    excluded = [(f"Tensor.{name}", reason) for name, reason in tensor_excluded]
    excluded += [(f"torch.{name}", reason) for name, reason in functions_excluded + classes_excluded]
    excluded.sort(key=lambda row: (row[1], row[0]))
    lines += ["", "## Out of scope", "", f"{len(excluded)} names, not counted above.", "",
              *table(["Name", "Reason"], excluded), ""]
    return "\n".join(lines)


def main() -> None:
    text = render()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    unassigned = [line for line in rows if NO_ISSUE in line or "| ? |" in line]
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    if unassigned:
        print(f"{len(unassigned)} names have no issue; check the family tables:", file=sys.stderr)
        print("\n".join(unassigned), file=sys.stderr)


if __name__ == "__main__":
    main()

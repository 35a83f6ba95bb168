"""Load one PyTorch source file twice: as written (torch) and with its import lines pointed at torchjax.

Only import statements that name ``torch`` change; every other line is executed exactly as written.
The rewrite keeps each statement's line numbers, so tracebacks point at the original source lines.
The two loads are separate module objects (``ports_torch.<stem>`` and ``ports_torchjax.<stem>`` in
``sys.modules``), so nothing of one leaks into the other.

Benchmarks use it the same way::

    sys.path.insert(0, "tests/ports")
    from _port import load_pair
    torch_gpt, torchjax_gpt = load_pair("gpt")
    model = torchjax_gpt.GPT(torchjax_gpt.GPTConfig(n_layer=6, n_head=6, n_embd=384, block_size=256))
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

MODELS = Path(__file__).parent / "models"


def _is_torch(name: str | None) -> bool:
    return name is not None and (name == "torch" or name.startswith("torch."))


def _rewrite_import(node: ast.Import) -> str:
    parts = []
    for alias in node.names:
        if not _is_torch(alias.name):
            parts.append(f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
            continue
        target = "torchjax" + alias.name[len("torch"):]
        if alias.asname:
            parts.append(f"import {target} as {alias.asname}")
        elif alias.name == "torch":
            parts.append("import torchjax as torch")
        else:
            # ``import torch.a.b`` imports the submodule and binds ``torch`` to the top package, which
            # is what __import__ of a dotted name returns.
            parts.append(f"torch = __import__({target!r})")
    return "; ".join(parts)


def _rewrite_import_from(node: ast.ImportFrom) -> str:
    names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
    return f"from torchjax{node.module[len('torch'):]} import {names}"


def to_torchjax(source: str) -> str:
    """``source`` with its torch import statements rewritten to torchjax (other lines untouched)."""
    lines = source.splitlines(keepends=True)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(_is_torch(a.name) for a in node.names):
            new = _rewrite_import(node)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_torch(node.module):
            new = _rewrite_import_from(node)
        else:
            continue
        first, last = node.lineno - 1, node.end_lineno - 1
        line = lines[first]
        if line[:node.col_offset].strip() or lines[last][node.end_col_offset:].strip():
            raise ValueError(f"line {node.lineno}: an import that shares its line with other code: {line!r}")
        # a multi-line statement becomes one line followed by blank ones, so later lines keep their numbers
        lines[first] = line[:node.col_offset] + new + "\n"
        for i in range(first + 1, last + 1):
            lines[i] = "\n"
    return "".join(lines)


def _load(name: str, path: Path, source: str) -> ModuleType:
    spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    sys.modules[name] = module  # dataclasses and pickle look a class's module up by name
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_pair(stem: str) -> tuple[ModuleType, ModuleType]:
    """``models/<stem>.py`` as (torch module, torchjax module), two independent module objects."""
    path = MODELS / f"{stem}.py"
    source = path.read_text()
    theirs = sys.modules.get(f"ports_torch.{stem}") or _load(f"ports_torch.{stem}", path, source)
    ours = sys.modules.get(f"ports_torchjax.{stem}") or _load(f"ports_torchjax.{stem}", path, to_torchjax(source))
    return theirs, ours

"""The package's import graph: no cycles, and the Tensor on the ground floor.

Every module under ``torchjax/`` is parsed with ``ast``; every import statement counts, wherever it is
(module level, inside a function, under ``if TYPE_CHECKING``), relative or absolute. An edge goes to
the imported module: ``import a.b`` and ``from a import b`` give ``a.b`` when that is a module (a
package included), ``from a import name`` gives ``a`` otherwise. Edges out of a package's
``__init__`` (its re-exports) are kept like any other: one that closed a cycle would be a real
partially-initialised-module hazard.
"""

from __future__ import annotations

import ast
import functools
from collections import deque
from pathlib import Path

import pytest

import torchjax

ROOT = Path(torchjax.__file__).parent
PACKAGE = ROOT.name


def _module_files() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``)."""
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = (path, is_package)
    return modules


def _resolve(module: str, is_package: bool, target: str | None, level: int) -> str:
    """The absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the torchjax modules it imports (every import statement, see the module docstring)."""
    modules = _module_files()
    graph = {}
    for module, (path, is_package) in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(module, is_package, node.module, node.level)
                for alias in node.names:
                    name = f"{source}.{alias.name}"
                    targets.add(name if name in modules else source)
        graph[module] = {t for t in targets if t in modules and t != module}
    return graph


def _cycle_through(graph: dict[str, set[str]], start: str, members: set[str]) -> list[str]:
    """A shortest cycle from ``start`` back to it, within ``members`` (a strongly connected set)."""
    previous = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"{start} is on no cycle")


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components with more than one module (iterative)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in graph[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def test_graph_sees_the_known_edges():
    graph = import_graph()
    assert f"{PACKAGE}._tensor" in graph[f"{PACKAGE}.nn.parameter"]
    assert f"{PACKAGE}._state" in graph[f"{PACKAGE}.nn.modules._backward_hooks"]  # a `from ... import`
    assert f"{PACKAGE}.nn.modules._backward_hooks" in graph[f"{PACKAGE}.nn.modules.module"]  # function-local


def test_no_import_cycles():
    graph = import_graph()
    cycles = [" -> ".join(_cycle_through(graph, min(component), component))
              for component in strongly_connected(graph)]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_cycle_detection_names_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    (component,) = strongly_connected(graph)
    assert component == {"a", "b", "c"}
    assert _cycle_through(graph, "a", component) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("module", ["_tensor", "_random", "_torch.creation", "_torch.random"])
def test_tensor_is_the_ground_floor(module):
    """The Tensor, its dispatch point and torch's functions import nothing from torchjax.nn."""
    above = sorted(m for m in reachable(import_graph(), f"{PACKAGE}.{module}") if m.startswith(f"{PACKAGE}.nn"))
    assert not above, f"{module} reaches {above}"


@pytest.mark.parametrize("module", ["nn.parameter", "nn.init", "_state"])
def test_parameter_init_and_state_slots_sit_below_the_module_system(module):
    reached = reachable(import_graph(), f"{PACKAGE}.{module}")
    above = sorted(m for m in reached if m.startswith(f"{PACKAGE}.nn.modules") or m == f"{PACKAGE}.nn")
    assert not above, f"{module} reaches {above}"
    assert f"{PACKAGE}._tensor" in reached

"""The package's shape: every module imports alone, no import circle, the module map is true.

These tests read the source (``ast``) and start fresh interpreters; they do not
depend on what earlier tests imported.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qualcode"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "_example" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _absolute(name: str, node: ast.ImportFrom) -> str:
    """The dotted module an ``import from`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if _is_package(name) else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known(dotted: str) -> str | None:
    """The package module that a dotted import target lands in (its longest known prefix)."""
    parts = dotted.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def imports_of(name: str) -> set[str]:
    """The package modules that ``name`` imports, at module level or inside functions.

    ``from qualcode.x import y`` counts as importing ``qualcode.x.y`` when that is
    a module, else ``qualcode.x``. Imports under ``if TYPE_CHECKING:`` are left
    out: they never run.
    """
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(name, node)
            targets = [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target.startswith("qualcode"):
                landed = _known(target)
                if landed and landed != name:
                    found.add(landed)
    return found


def graph() -> dict[str, set[str]]:
    """Each module's imports of other modules of the package.

    An import of a submodule is an edge to that submodule: Python runs the
    parent package's ``__init__`` first, but a package whose submodules import
    each other directly (never names from the package ``__init__``) imports
    in any order. A package ``__init__`` that re-exports has edges to its
    submodules.
    """
    return {name: imports_of(name) for name in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_import_graph_reads_relative_and_function_level_imports():
    edges = graph()
    # the command line imports its commands; a library module never imports the command line
    assert "qualcode.cli" in edges["qualcode.__main__"]
    assert all(not target.startswith("qualcode.cli") for name, targets in edges.items()
               if not name.startswith("qualcode.cli") and name != "qualcode.__main__" for target in targets)


def test_no_import_circle():
    found = cycles(graph())
    assert found == [], "modules that import each other (directly or round a circle): " + "; ".join(
        " <-> ".join(group) for group in found)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_alone(module):
    """Each module imports in a fresh interpreter, first: no hidden reliance on import order.

    ``qualcode.__main__`` runs the command line when imported, so it is run with ``--help``.
    """
    command = ["-m", "qualcode", "--help"] if module == "qualcode.__main__" else ["-c", f"import {module}"]
    done = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_module_map_names_every_module_and_only_modules():
    """docs/architecture.md has one line per module; every module there exists and every module is there."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"^\s*[-*] `(qualcode[\w./]*)`", text, flags=re.M))
    dotted = {name.removesuffix(".py").removesuffix("/__init__").removesuffix("/").replace("/", ".")
              for name in named}
    missing = sorted(set(MODULES) - dotted)
    unknown = sorted(dotted - set(MODULES))
    assert not missing, f"modules missing from docs/architecture.md: {missing}"
    assert not unknown, f"docs/architecture.md names modules that do not exist: {unknown}"


LINE_LIMIT = 600


def test_no_module_past_the_line_limit():
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > LINE_LIMIT}
    assert not long, f"modules over {LINE_LIMIT} lines (split them along their seams): {long}"


FUNCTION_LIMIT = 80


def long_functions() -> list[str]:
    """Functions whose body (after the docstring) passes the limit without a reason at their top.

    A reason is "kept whole" in the docstring or a ``# long: …`` comment before
    the first statement.
    """
    found = []
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            doc = ast.get_docstring(node) or ""
            first = node.body[1] if doc and len(node.body) > 1 else node.body[0]
            length = node.end_lineno - first.lineno + 1
            head = "\n".join(lines[node.lineno - 1:first.lineno])
            if length > FUNCTION_LIMIT and "kept whole" not in doc.lower() and "# long" not in head:
                found.append(f"{name}.{node.name} ({length} lines)")
    return found


def test_no_long_function_without_a_reason():
    found = long_functions()
    assert not found, f"functions over {FUNCTION_LIMIT} lines with no reason at their top: {found}"

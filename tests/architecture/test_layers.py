"""The layering rules of docs/architecture.md, checked on the source tree."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "schema", "resolvers", "dataloaders", "db")
MAX_FUNCTION_LINES = 80


def _product_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's algorithm over our modules: every group of two or more modules is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module) & modules:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(modules):
        if module not in index:
            visit(module)
    return cycles


def test_layer_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:]


def test_no_import_cycles() -> None:
    """No two modules import each other, directly or through others. Imports under TYPE_CHECKING
    only name a type for mypy (a GraphQL type referring back to another feature's type is resolved
    with strawberry.lazy), so they do not count."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)
    ours = {m for m in graph.modules if m.split(".")[0] in PACKAGES}
    assert _strongly_connected(graph, ours) == []


def test_no_imports_inside_functions() -> None:
    """Imports belong at the top of a module; one inside a function usually hides a cycle. Lazy
    imports of heavy optional dependencies are the exception and say so in a comment."""
    found = []
    for path in _product_files():
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        line = lines[inner.lineno - 1]
                        if "# lazy:" not in line and "# lazy:" not in lines[inner.lineno - 2]:
                            found.append(f"{path.relative_to(ROOT)}:{inner.lineno}: {line.strip()}")
    assert found == []


def test_functions_are_short() -> None:
    long = []
    for path in _product_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def test_dataloaders_use_only_strawberrys_dataloader() -> None:
    """Loaders batch with strawberry's DataLoader (a standalone utility) and nothing else of it."""
    for path in sorted((ROOT / "dataloaders").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("strawberry"):
                assert node.module == "strawberry.dataloader", path
            if isinstance(node, ast.Import):
                assert not any(alias.name.startswith("strawberry") for alias in node.names), path

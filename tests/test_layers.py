"""The arrows point one way: schema → resolvers → domain; payments, workers and server use domain; domain uses none."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"app", "schema", "resolvers", "domain", "payments", "workers", "server", "wechat"}
FORBIDDEN = {
    "domain": OURS - {"domain"},
    "resolvers": {"app", "schema", "payments", "workers", "server", "wechat"},
    "schema": {"app", "payments", "workers", "server", "wechat"},
    "payments": {"app", "schema", "resolvers", "workers", "server"},  # server hands payments what it needs
    "workers": {"app", "schema", "resolvers", "payments", "server", "wechat"},  # server hands the sweeps their deps
    "wechat": OURS - {"wechat"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(package: str):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {name: bad for name, bad in offenders.items() if bad} == {}


SELLING_MODES = {"flash_sale", "group_buy", "relay"}
"""Each selling mode is its own package under domain/: only `domain/selling.py` puts them together."""


def _runtime_imports(path: Path) -> set[str]:
    """The domain modules a file imports when it runs (imports under `if TYPE_CHECKING:` are for types only)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("domain.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("domain"):
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return found


def _domain_graph() -> dict[str, set[str]]:
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for path in (ROOT / "domain").rglob("*.py")
    }
    return {name: _runtime_imports(path) & set(modules) - {name} for name, path in modules.items()}


def test_domain_has_no_import_cycle():
    graph = _domain_graph()
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module):], module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph[module]):
            cycle = visit(imported)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    cycles = [cycle for module in sorted(graph) if (cycle := visit(module))]
    assert cycles[:1] == []


def test_selling_modes_depend_on_the_core_and_never_on_each_other():
    graph = _domain_graph()

    def package(module: str) -> str:
        return module.split(".")[1] if module.count(".") else module

    offenders = sorted(
        f"{module} imports {imported}"
        for module, imports in graph.items()
        for imported in imports
        if package(imported) in SELLING_MODES and package(imported) != package(module) and module != "domain.selling"
    )
    assert offenders == []

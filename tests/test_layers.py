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

"""The server's process: its start-up heap frozen and the collector's thresholds set once it has started, and
`pond serve` on uvloop and httptools by name."""

from __future__ import annotations

import gc
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner
from starlette.applications import Starlette

from server.cli import cli
from server.gc_tuning import GEN0, GEN1, GEN2


def test_a_started_app_froze_its_start_up_heap_and_collects_young_objects_less_often(app: Starlette) -> None:
    assert gc.get_threshold() == (GEN0, GEN1, GEN2)
    assert gc.get_freeze_count() > 10_000  # the schema, the models and the wiring


def test_pond_serve_asks_uvicorn_for_uvloop_and_httptools(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    for name in ("POND_REDIS_URL", "POND_DATABASE_URL", "POND_HOST"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["serve", "--port", "8765"])
    assert result.exit_code == 0, result.output
    assert (seen["loop"], seen["http"]) == ("uvloop", "httptools")

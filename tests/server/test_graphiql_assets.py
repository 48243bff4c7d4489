"""Production serves none of GraphiQL's assets (its page, and the development side, are in test_graphiql_offline.py)."""

from __future__ import annotations

from pathlib import Path

import httpx

from app import create_asgi_app
from server.settings import Settings
from tests.conftest import TEST_SECRET
from tests.server.test_metrics_access import PRODUCTION


def client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_asgi_app(settings)), base_url="http://pond.test")


def settings(tmp_path: Path, *, production: bool) -> Settings:
    values: dict[str, object] = {"secret_key": TEST_SECRET, "data_dir": str(tmp_path), "seed_demo": False}
    return Settings.model_validate({**values, **(PRODUCTION if production else {})})


async def test_production_does_not_serve_graphiqls_assets(tmp_path: Path) -> None:
    async with client(settings(tmp_path, production=False)) as http:
        development = await http.get("/graphiql/static/graphiql.min.js")
    async with client(settings(tmp_path, production=True)) as http:
        production = await http.get("/graphiql/static/graphiql.min.js")

    assert (development.status_code, production.status_code) == (200, 404)

"""Calling Pond the way the mini-program does: POST /graphql with an optional bearer token."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

QUERY_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None, **headers: str
    ) -> httpx.Response:
        if token:
            headers["authorization"] = f"Bearer {token}"
        return await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The JSON body; the caller checks `data` and `errors`."""
        response = await self.raw(query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
        """`data`, asserting there were no GraphQL errors."""
        body = await self(query, variables, token)
        assert "errors" not in body, body["errors"]
        return body["data"]


def error_codes(body: dict[str, Any]) -> list[str | None]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage().lstrip()
        if text.upper().startswith(QUERY_VERBS):
            self.statements.append(text)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Every SQL statement Tortoise sends inside the block (read from its tortoise.db_client debug log)."""
    logger = logging.getLogger("tortoise.db_client")
    counter = _Counter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter.statements
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)


def catalog_cache(app: Any) -> Any:
    """The /graphql route's response cache (`CachedCatalog`, behind the early sold-out answers)."""
    from server.graphql_app import CachedCatalog

    layer = next(route for route in app.routes if getattr(route, "path", "") == "/graphql").app
    while not isinstance(layer, CachedCatalog):
        layer = layer.app
    return layer

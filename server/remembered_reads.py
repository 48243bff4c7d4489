"""ASGI middleware: each request reads the rows only staff change through the memo of the catalog generation this
process knows is current (`domain.remembered`), so a steady-state checkout or quote reads no promotion, level or
distribution setting from the database."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from domain.remembered import remembering


class RememberedReads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = getattr(scope["app"].state, "runtime", None) if scope["type"] == "http" else None
        if runtime is None:
            await self.app(scope, receive, send)
            return
        with remembering(runtime.remembered.memo_for(runtime.cache.known_generation())):
            await self.app(scope, receive, send)

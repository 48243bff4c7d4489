"""GraphiQL served entirely by Pond (development only), so the IDE works with no internet.

strawberry's own GraphiQL page loads React and GraphiQL from a CDN and shows "Loading..." for ever offline. Pond
renders `page.html` instead, whose scripts and styles are the files in `static/` (README.md beside this module says
which packages and versions, and how to refresh them), mounted
at `STATIC_PATH`.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

__all__ = ["STATIC_PATH", "graphiql_page", "graphiql_static"]

STATIC_PATH = "/graphiql/static"
_HERE = Path(__file__).parent


@cache
def _template() -> str:
    return (_HERE / "page.html").read_text(encoding="utf-8")


def graphiql_page(root_path: str = "") -> str:
    """The GraphiQL page, its assets under `root_path` (the ASGI root path when Pond is mounted below a prefix)."""
    return _template().replace("{{static}}", html.escape(root_path.rstrip("/") + STATIC_PATH))


def graphiql_static() -> Mount:
    """The route serving GraphiQL's scripts and styles."""
    return Mount(STATIC_PATH, app=StaticFiles(directory=_HERE / "static"), name="graphiql-static")

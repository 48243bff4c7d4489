"""GraphiQL works with no internet: a real `pond serve`, a real headless Chromium allowed to reach localhost only.

Under CI a missing browser fails the run (`.ci/run` installs Debian's chromium); elsewhere it skips. Playwright for
Python (a dev dependency) drives it; its own browser downloads are never used.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.support.ci import under_ci

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  # every host but 127.0.0.1 is unreachable, as on a machine with no network
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
START_SECONDS = 60
REFERENCE = re.compile(r'\b(?:src|href)="([^"]*)"')


def missing(what: str) -> None:
    message = f"{what} is missing: the GraphiQL test needs it (apt-get install chromium)"
    if under_ci():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def pond_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`pond serve` as a newcomer starts it: embedded store, demo catalog; only the port and data folder differ."""
    data = tmp_path_factory.mktemp("graphiql")
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("POND_")}
    env.update(PYTHONPATH=str(REPO), POND_PORT=str(port), POND_DATA_DIR=str(data),
               POND_DATABASE_URL=f"sqlite://{data / 'pond.sqlite3'}")
    log = (data / "serve.log").open("wb")
    server = subprocess.Popen([sys.executable, "-c", "from server.cli import cli; cli()", "serve"],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"pond serve did not start:\n{(data / 'serve.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        missing(str(CHROMIUM))
    return CHROMIUM


@pytest_asyncio.fixture(scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS, timeout=60_000)
        try:
            yield launched
        finally:
            await launched.close()


class OfflinePage:
    """A page whose requests outside Pond are refused and recorded."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.refused: list[str] = []
        self.served: list[str] = []

    async def route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(f"{self.base}/") or url.startswith("data:"):
            self.served.append(url)
            await route.continue_()
        else:
            self.refused.append(url)
            await route.abort("internetdisconnected")

    async def type_into(self, editor: str, text: str) -> None:
        """Replace an editor's text the way a person does: click, select all, type, close the hint list. A person
        whose closing brace landed twice (the editor closes brackets itself, and a hint list open on a loaded
        machine can swallow the overtyping: seen once) types it again."""
        value = ""
        for _ in range(3):
            await self.page.click(f"{editor}:not(.hidden) .CodeMirror")
            await self.page.keyboard.press("Control+A")
            await self.page.keyboard.press("Delete")
            await self.page.keyboard.type(text)
            await self.page.keyboard.press("Escape")
            value = await self.page.evaluate(
                f"document.querySelector('{editor}:not(.hidden) .CodeMirror').CodeMirror.getValue()")
            if value == text:
                return
        raise AssertionError(f"typed {text!r}, the editor shows {value!r}")

    async def run(self, query: str) -> Any:
        """Type a query, press GraphiQL's run button and read the answer from the response pane."""
        await self.type_into(".graphiql-query-editor", query)
        shown = await self.response_text()
        await self.page.click(".graphiql-execute-button")
        pane = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror"
        changed = await self.page.wait_for_function(
            f"previous => {{ const text = {pane}.getValue(); return text && text !== previous && text; }}",
            arg=shown, timeout=15_000)
        return json.loads(await changed.json_value())

    async def response_text(self) -> str:
        text: str = await self.page.evaluate(
            "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()")
        return text


@pytest_asyncio.fixture
async def graphiql(browser: Browser, pond_serve: str) -> AsyncIterator[OfflinePage]:
    context = await browser.new_context()
    page = OfflinePage(await context.new_page(), pond_serve)
    await context.route("**/*", page.route)
    try:
        await page.page.goto(f"{pond_serve}/graphql")
        try:
            await page.page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
        except PlaywrightTimeout:
            pytest.fail(f"GraphiQL never appeared; requests refused for leaving Pond: {page.refused}")
        yield page
    finally:
        await context.close()


async def test_the_graphiql_page_names_only_pond_urls_and_pond_serves_each(pond_serve: str) -> None:
    # runs without a browser too
    async with httpx.AsyncClient(base_url=pond_serve) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        references = [url for url in REFERENCE.findall(page.text) if not url.startswith("data:")]
        assets = {url: (await http.get(url)).status_code for url in references}

    assert page.status_code == 200 and "GraphiQL" in page.text
    assert sorted(references) == sorted(f"/graphiql/static/{name}" for name in (
        "react.production.min.js", "react-dom.production.min.js", "graphiql.min.css", "graphiql.min.js"))
    assert assets == dict.fromkeys(references, 200)
    assert "://" not in page.text.replace("http://www.w3.org/2000/svg", "")  # the favicon's SVG namespace only


async def test_graphiql_loads_with_no_internet_and_shows_a_query_answer(
        graphiql: OfflinePage, pond_serve: str) -> None:
    answer = await graphiql.run("{ categories { name } }")

    async with httpx.AsyncClient() as client:
        over_http = (await client.post(f"{pond_serve}/graphql", json={"query": "{ categories { name } }"})).json()
    assert answer == over_http
    assert answer["data"]["categories"], "the demo catalog has categories"
    assert graphiql.refused == []
    assert f"{pond_serve}/graphiql/static/graphiql.min.js" in graphiql.served


async def test_graphiql_sends_the_token_typed_into_its_headers_editor(graphiql: OfflinePage) -> None:
    anonymous = await graphiql.run("{ me { nickname } }")
    assert anonymous["data"]["me"] is None

    login = await graphiql.run('mutation { login(input: {code: "graphiql#1"}) { token } }')
    token = login["data"]["login"]["token"]
    await graphiql.page.get_by_role("button", name="Headers").click()
    await graphiql.type_into("section.graphiql-editor-tool .graphiql-editor",  # the one tab shown: Headers
                             json.dumps({"Authorization": f"Bearer {token}"}))
    me = await graphiql.run("{ me { nickname } }")

    assert me["data"]["me"] is not None
    assert graphiql.refused == []

"""The server half of bench/checkout.py: `pond serve` launched with the bench's timers, and where it points.

`_serve` runs in the server process (started by `pond_server` as `python -c "from bench._checkout_server import
_serve; _serve()" serve …`); it times the notify endpoints and every request carrying the header `x-bench-op`, and
hands the samples over at `/__bench/timings`.

By default WeChat's two hosts are processes of their own, the ones bench/flash_sale.py runs (`WeChat` below:
`login_simulator`, `pay_simulator`, `make_keys` and `wechat_env` from `bench/_flash_sale_server.py`), and Pond is
pointed at them through its POND_WECHAT_* / POND_WECHATPAY_* settings; `wechat=None` keeps Pond's embedded
simulators instead.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench._flash_sale_server import login_simulator, make_keys, pay_simulator, wechat_env
from bench._harness import HOST, REPO, Server, free_port, running

DATABASE = "pond_bench_checkout"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_PREFIX = "benchco"
TIMINGS_PATH = "/__bench/timings"
TIMER_HEADER = "x-bench-op"
NOTIFY_TIMER = "notify"


def _serve() -> None:
    """`pond serve` plus the bench's timers; argv as for `pond` (`serve --host … --port …`)."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
    from starlette.types import Receive, Scope, Send

    import app as pond_app
    from payments.notify import TransferFinished
    from server.cli import cli
    from server.settings import Settings

    samples: dict[str, list[float]] = {}

    Endpoint = Callable[[Request], Awaitable[Response]]

    def timed(name: str, endpoint: Endpoint) -> Endpoint:
        async def wrapper(incoming: Request) -> Response:
            start = time.perf_counter()
            try:
                return await endpoint(incoming)
            finally:
                samples.setdefault(name, []).append(time.perf_counter() - start)

        return wrapper

    notify_routes = pond_app.notify_routes
    create_asgi_app = pond_app.create_asgi_app

    def timed_notify_routes(on_transfer_finished: TransferFinished | None = None) -> list[Route]:
        return [Route(r.path, timed(NOTIFY_TIMER, r.endpoint), methods=sorted(r.methods or ()))
                for r in notify_routes(on_transfer_finished)]

    def timed_asgi_app(settings: Settings | None = None) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        inner = create_asgi_app(settings)
        header = TIMER_HEADER.encode()

        async def outer(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            if scope["path"] == TIMINGS_PATH:  # hand over what was timed so far and start afresh
                taken = dict(samples)
                samples.clear()
                await JSONResponse(taken)(scope, receive, send)
                return
            name = next((value.decode() for key, value in scope["headers"] if key == header), None)
            if name is None:
                await inner(scope, receive, send)
                return
            start = time.perf_counter()
            try:
                await inner(scope, receive, send)
            finally:
                samples.setdefault(name, []).append(time.perf_counter() - start)

        return outer

    pond_app.notify_routes = timed_notify_routes  # create_app() reads these module globals when uvicorn calls it
    pond_app.create_asgi_app = timed_asgi_app  # type: ignore[assignment]  # any ASGI app serves; `create_served_app` calls it
    cli(args=sys.argv[1:], prog_name="pond")


@dataclass(frozen=True)
class WeChat:
    """WeChat's two hosts as processes of their own: the WeChat Pay simulator and code2Session."""

    keys_dir: Path
    login: Server
    pay: Server


@contextmanager
def wechat_simulators(workdir: Path) -> Iterator[WeChat]:
    """The flash bench's simulators, started (keys first, so that Pond can be given them) and always stopped."""
    keys_dir = workdir / "wechatpay-simulator"
    make_keys(keys_dir)
    with running(login_simulator()) as login, running(pay_simulator(keys_dir)) as pay:
        yield WeChat(keys_dir, login, pay)


def pond_server(workdir: Path, args: argparse.Namespace, wechat: WeChat | None, *,
                entry: str = "bench._checkout_server", env: Mapping[str, str] | None = None) -> Server:
    """`pond serve` as `entry`'s `_serve` starts it (unless `args.plain`), with `env` added to its settings."""
    port = free_port()
    settings = {
        "POND_DATABASE_URL": DATABASE_URL,
        **({} if args.pool_max is None else {"POND_DB_POOL_SIZE": str(args.pool_max)}),
        "POND_REDIS_URL": REDIS_URL,
        "POND_REDIS_PREFIX": REDIS_PREFIX,
        "POND_SEED_DEMO": "true",
        "POND_LOG_LEVEL": "WARNING",
        "POND_ORDER_PAYMENT_MINUTES": "15",
        "POND_LOGIN_RATE_LIMIT": "1000000",  # every bench customer logs in from 127.0.0.1
        "POND_SECRET_KEY": secrets.token_urlsafe(48),
        "POND_DATA_DIR": str(workdir / ".pond"),
    }
    if wechat is not None:
        # the notify URL Pond hands the simulator in every prepay: this server, over HTTP
        settings |= {**wechat_env(wechat.keys_dir, wechat.login, wechat.pay), "POND_PUBLIC_URL": f"http://{HOST}:{port}"}
    if args.plain:
        code = "from app import main; main()"
    else:
        code = f"import sys; sys.path.insert(0, {str(REPO)!r}); from {entry} import _serve; _serve()"
    argv = [sys.executable, "-c", code, "serve", "--host", "{host}", "--port", "{port}"]
    return Server("pond", argv, settings | dict(env or {}), ready_path="/readyz", port=port, cwd=workdir)

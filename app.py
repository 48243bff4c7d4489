"""Pond: the Starlette application and the `pond` command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from payments.notify import notify_routes
from schema import build_schema
from server.flash_buy_lane import FlashBuyLane
from server.gc_tuning import tune_after_start_up
from server.graphiql import graphiql_static
from server.graphql_app import CachedCatalog, PondGraphQL
from server.health import Check, database_check, health_routes
from server.metrics_access import MetricsAccess, metrics_route
from server.observability import MetricsExtension, RequestIdMiddleware, configure_logging
from server.pick_list import pick_list_routes
from server.remembered_reads import RememberedReads
from server.request_limits import BodyLimit, GraphQLRequestShape
from server.settings import Settings, load_settings
from server.share_codes import share_code_routes
from server.wiring import describe, runtime, simulators, withdrawal_transfer_finished
from workers.in_process import run_sweeps

log = structlog.get_logger("pond")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    schema = build_schema([MetricsExtension], introspection=not settings.production)
    graphql = PondGraphQL(schema, graphql_ide=None if settings.production else "graphiql")

    async def deliver(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)

    sims = simulators(settings, deliver)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with runtime(settings, sims) as running:
            app.state.runtime = running
            app.state.services = running.services
            sweeping: AbstractAsyncContextManager[None] = nullcontext()
            if not settings.redis_url:  # the embedded default sweeps in-process; with Redis, `pond worker` does
                sweeping = run_sweeps(running.services.orders, settings.sweep_seconds)
            async with sweeping:
                tune_after_start_up()
                log.info("pond ready", url=f"{settings.base_url}/graphql", **describe(settings))
                yield

    checks: dict[str, Check] = {"database": database_check()}
    if settings.redis_url:

        async def redis_ready() -> None:
            await app.state.runtime.redis.ping()

        checks["redis"] = redis_ready

    routes: list[BaseRoute] = [
        Route(
            "/graphql",
            FlashBuyLane(CachedCatalog(GraphQLRequestShape(graphql), settings.catalog_cache_seconds), schema),
            methods=["GET", "POST"],
        ),
        *health_routes(checks),
        metrics_route(MetricsAccess.from_settings(settings)),
        *notify_routes(on_transfer_finished=withdrawal_transfer_finished),
        *pick_list_routes(),
        *share_code_routes(),
    ]
    if graphql.graphql_ide:  # development only: production turns GraphiQL off
        routes.append(graphiql_static())
    if sims.wechat is not None:
        routes.append(Mount("/__sim/wechat", app=sims.wechat))
    if sims.wechatpay is not None:
        routes.append(Mount("/__sim/wechatpay", app=sims.wechatpay))
    # Every client address Pond reads (rate limits, the access log, the metrics allow-list) is the one this resolves:
    # the right-most X-Forwarded-For entry not in POND_TRUSTED_PROXIES, and only when the proxy itself is trusted.
    trusted = [str(network) for network in settings.trusted_proxy_networks]
    client_address = Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)
    body_limit = Middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[client_address, body_limit, Middleware(RememberedReads)])
    return app


def create_asgi_app(settings: Settings | None = None) -> RequestIdMiddleware:
    """The served app: request ids and access logs wrap everything, Starlette's own 500s included."""
    return RequestIdMiddleware(create_app(settings))


def create_served_app() -> RequestIdMiddleware:
    """What `pond serve` runs in each server process: logging set up from the settings, then the served app.

    With `--workers N`, uvicorn starts every worker as a fresh interpreter, so the logging `pond serve` set up in its
    own process never reaches them: each must set up its own, or a worker logs at INFO, as console text, whatever
    POND_LOG_LEVEL says."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_asgi_app(settings)  # looked up when called: the benches wrap it with their timers


def main() -> None:
    from server.cli import cli

    cli()

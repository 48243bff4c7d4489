"""The `pond` command: serve, worker, migrate, seed-demo, create-staff, audit, pay, refund-complete."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import click

from server.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from payments.dev_pay import DevServer


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        click.echo(f"pond: {exc}", err=True)
        sys.exit(2)


def _with_database(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    from domain.db import close_database, migrate_database, open_database

    async def run() -> Any:
        if not settings.production:
            await migrate_database(settings.database_url)
        await open_database(settings.database_url, settings.db_pool_size)
        try:
            return await work()
        finally:
            await close_database()

    return asyncio.run(run())


@click.group(help="Pond: a GraphQL store backend for WeChat mini-programs.")
def cli() -> None:
    pass


@cli.command(help="Run the API server (GraphiQL at /graphql in development).")
@click.option("--host", default=None, help="Overrides POND_HOST.")
@click.option("--port", type=int, default=None, help="Overrides POND_PORT.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Server processes.")
@click.option("--allow-remote", is_flag=True, help="Let a development server (simulators mounted) listen on a "
              "non-loopback address; same as POND_ALLOW_REMOTE_DEV=1.")
def serve(host: str | None, port: int | None, workers: int, allow_remote: bool) -> None:
    import uvicorn

    from server.observability import configure_logging

    if host:
        os.environ["POND_HOST"] = host
    if port:
        os.environ["POND_PORT"] = str(port)
    if allow_remote:
        os.environ["POND_ALLOW_REMOTE_DEV"] = "1"
    settings = _settings()
    refusal = settings.bind_refusal()
    if refusal:
        click.echo(f"pond: {refusal}", err=True)
        sys.exit(2)
    if workers > 1 and not settings.redis_url:
        click.echo("pond: --workers > 1 needs POND_REDIS_URL (stock, cache and limits must be shared)", err=True)
        sys.exit(2)
    configure_logging(settings.log_level)
    settings.signing_key()
    uvicorn.run(
        "app:create_served_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
        loop="uvloop",  # chosen, not left to whichever uvicorn finds first
        http="httptools",
        proxy_headers=False,  # create_app resolves the client address itself, from POND_TRUSTED_PROXIES
    )


@cli.command(help="Run the background sweeps on Redis: order expiry, auto-confirm, reconciliation, stock resync.")
def worker() -> None:
    from server.observability import configure_logging

    settings = _settings()
    if not settings.redis_url:
        click.echo("pond: pond worker needs POND_REDIS_URL (without Redis, the server runs the sweeps)", err=True)
        sys.exit(2)
    from server.worker import WorkerUnavailable, run_worker

    configure_logging(settings.log_level)
    try:
        asyncio.run(run_worker(settings))  # until SIGINT or SIGTERM
    except WorkerUnavailable as exc:
        click.echo(f"pond: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


@cli.command(help="Apply pending database migrations.")
def migrate() -> None:
    from domain.db import migrate_database

    settings = _settings()
    asyncio.run(migrate_database(settings.database_url))
    click.echo("migrations applied")


@cli.command("seed-demo", help="Fill an empty catalog with demo goods.")
def seed_demo() -> None:
    from domain.catalog.demo import seed_demo_catalog

    created = _with_database(_settings(), seed_demo_catalog)
    click.echo(f"created {created} demo products" if created else "the catalog already has products; nothing done")


@cli.command("create-staff", help="Create a staff account (the first OWNER, typically).")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["OWNER", "OPERATOR", "FINANCE"]), required=True)
def create_staff(username: str, password: str, role: str) -> None:
    from domain.errors import DomainError
    from domain.identity.models import StaffRole
    from domain.identity.service import create_staff as create

    try:
        staff = _with_database(_settings(), lambda: create(username, password, StaffRole(role)))
    except DomainError as exc:
        click.echo(f"pond: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"created {staff.role.value} {staff.username}")


@cli.command(help="Check the books: balances and their ledgers, commissions, every order's money, stock, and (with "
             "real merchant keys) the trades at WeChat Pay. Prints each discrepancy; exits 1 if there is any.")
@click.option("--days", type=click.IntRange(1, 366), default=2, show_default=True,
              help="How far back trades are compared with WeChat Pay.")
def audit(days: int) -> None:
    from server.audit import run_audit

    settings = _settings()
    lines, ok = asyncio.run(run_audit(settings, days))
    for line in lines:
        click.echo(line)
    sys.exit(0 if ok else 1)


def dev_server(settings: Settings) -> DevServer:
    """What `pond pay` and `pond refund-complete` need of the server's settings."""
    from payments.dev_pay import DevServer

    return DevServer(
        database_url=settings.database_url,
        simulator_keys_dir=settings.wechatpay_simulator_dir,
        production=settings.production,
        simulated_wechatpay=settings.simulated_wechatpay,
    )


def default_server_url(settings: Settings) -> str:
    """Where `pond serve` listens with these settings (POND_HOST, POND_PORT); a wildcard host is reached locally."""
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host
    return f"http://{host}:{settings.port}"


def _drive_simulator(command: str, work: Callable[[DevServer, str], Awaitable[str]], url: str | None) -> None:
    from payments.dev_pay import DevPayError, from_command_line

    settings = _settings()
    server = dev_server(settings)
    base_url = url or default_server_url(settings)
    try:
        answer = asyncio.run(from_command_line(server, lambda: work(server, base_url), command))
    except DevPayError as exc:
        click.echo(f"pond: {exc}", err=True)
        sys.exit(exc.exit_code)
    click.echo(answer)


@cli.command(help="Play the customer's wx.requestPayment for an order's pending prepay (development server only).")
@click.argument("order_number")
@click.option("--outcome", type=click.Choice(["SUCCESS", "PAYERROR", "CANCEL"]), default="SUCCESS", show_default=True)
@click.option("--url", default=None, help="The running server [default: http://POND_HOST:POND_PORT].")
def pay(order_number: str, outcome: str, url: str | None) -> None:
    from payments.dev_pay import simulate_payment

    _drive_simulator("pond pay", lambda server, base: simulate_payment(server, order_number, outcome, base), url)


@cli.command(
    "refund-complete",
    help="Finish a refund WeChat Pay is processing, by refund number or order number (development server only).",
)
@click.argument("number")
@click.option("--outcome", type=click.Choice(["SUCCESS", "CLOSED", "ABNORMAL"]), default="SUCCESS", show_default=True)
@click.option("--url", default=None, help="The running server [default: http://POND_HOST:POND_PORT].")
def refund_complete(number: str, outcome: str, url: str | None) -> None:
    from payments.dev_pay import complete_refund

    _drive_simulator(
        "pond refund-complete", lambda server, base: complete_refund(server, number, outcome, base), url
    )

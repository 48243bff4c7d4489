"""Building the long-lived collaborators from settings: the one place that picks real or embedded backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
import structlog
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.catalog.demo import seed_demo_catalog
from domain.db import close_database, migrate_database, open_database
from domain.flash_sale.pool import FlashPool, MemoryFlashPool
from domain.flash_sale.redis_pool import RedisFlashPool
from domain.group_buy.seats import MemorySeatStore, RedisSeatStore, SeatStore
from domain.identity.tokens import TokenService
from domain.inventory.counter import StockCounter
from domain.inventory.memory_counter import MemoryStockCounter
from domain.inventory.redis_counter import RedisStockCounter
from domain.inventory.service import Inventory
from domain.orders.deps import OrderDeps
from domain.remembered import Remembered
from domain.selling import flash_admitter, flash_writer, order_events, order_policies, register_share_targets
from domain.transfers.ports import TransferBill
from domain.withdrawals import service as withdrawals
from payments.gateway import WeChatPayPort
from payments.keys import SimulatorKeys, load_or_create_keys
from payments.simulator import create_wechatpay_simulator
from payments.transfers import WeChatPayTransfers
from payments.wechatpay import WeChatPayConfig, WeChatPayGateway
from resolvers.context import Services
from server.access_cache import AccessCache
from server.catalog_cache import CacheStore, InMemoryCacheStore, LeasedCacheStore, RedisCacheStore
from server.observability import GROUP_COMMITS, count_refund_failure
from server.ratelimit import InMemoryRateLimiter, RateLimiter, RedisRateLimiter
from server.settings import Settings, SettingsError, is_cluster_url
from server.wechat_sessions import WeChatClientSessions
from wechat.client import WeChatClient
from wechat.simulator import create_wechat_simulator

log = structlog.get_logger("pond.wiring")

SIMULATOR_APPID = "wxpondsimulator01"
SIMULATOR_SECRET = "pond-simulator-secret"
SIMULATOR_BASE = "http://wechat-simulator"
SIMULATOR_PAY_BASE = "http://wechatpay-simulator"


@dataclass
class Simulators:
    """The embedded stand-ins for WeChat's two hosts (None where real credentials are configured)."""

    wechat: Starlette | None
    wechatpay: Starlette | None
    wechatpay_keys: SimulatorKeys | None


@dataclass
class Runtime:
    """What a running server holds; `app.state.runtime`."""

    services: Services
    redis: aioredis.Redis | RedisCluster | None
    cache: CacheStore
    simulators: Simulators
    transfers: WeChatPayTransfers
    """The merchant transfer (商家转账) port; its bills' ends arrive at /payments/wechat/transfer-notify."""
    wechat_client: WeChatClient | None = None
    """The WeChat server API client (access token, mini-program codes)."""
    remembered: Remembered = field(default_factory=Remembered)
    """Rows only staff change, remembered for the catalog generation known current (`server.remembered_reads`)."""


async def no_notifications(scope: Scope, receive: Receive, send: Send) -> None:
    """For a process whose own WeChat Pay simulator never takes a payment (the worker, `pond audit`): nothing is ever
    delivered here."""
    await PlainTextResponse("this process takes no notifications", status_code=503)(scope, receive, send)


def simulators(settings: Settings, notify_app: ASGIApp) -> Simulators:
    """Built with the app so they can be mounted; WeChat Pay notifications are delivered to `notify_app` in-process."""
    wechat = create_wechat_simulator(SIMULATOR_APPID, SIMULATOR_SECRET) if settings.simulated_wechat else None
    if not settings.simulated_wechatpay:
        return Simulators(wechat, None, None)
    keys = load_or_create_keys(settings.wechatpay_simulator_dir, appid=SIMULATOR_APPID)
    pay = create_wechatpay_simulator(
        keys, notify_transport=httpx.ASGITransport(app=notify_app), refund_seconds=settings.simulated_refund_seconds
    )
    return Simulators(wechat, pay, keys)


def _wechatpay_config(settings: Settings, sims: Simulators) -> WeChatPayConfig:
    notify = f"{settings.base_url}/payments/wechat/notify"
    refund_notify = f"{settings.base_url}/payments/wechat/refund-notify"
    transfer_notify = f"{settings.base_url}/payments/wechat/transfer-notify"
    if sims.wechatpay_keys is not None:
        return WeChatPayConfig.from_simulator_keys(
            sims.wechatpay_keys, notify_url=notify, refund_notify_url=refund_notify, gateway=SIMULATOR_PAY_BASE,
            read_timeout=settings.wechatpay_timeout_seconds, transfer_notify_url=transfer_notify,
        )
    return WeChatPayConfig(
        mchid=settings.wechatpay_mchid or "",
        appid=settings.wechat_appid or "",
        cert_serial_no=settings.wechatpay_cert_serial_no or "",
        private_key_pem=_read(settings.wechatpay_private_key_path),
        apiv3_key=settings.wechatpay_apiv3_key or "",
        public_key_pem=_read(settings.wechatpay_public_key_path),
        public_key_id=settings.wechatpay_public_key_id or "",
        notify_url=notify,
        refund_notify_url=refund_notify,
        gateway=settings.wechatpay_gateway,
        read_timeout=settings.wechatpay_timeout_seconds,
        transfer_notify_url=transfer_notify,
    )


def _read(path: Path | None) -> str:
    if path is None or not path.is_file():
        raise SettingsError(f"WeChat Pay key file {path} does not exist")
    return path.read_text()


async def _wechatpay(settings: Settings, sims: Simulators, stack: AsyncExitStack) -> WeChatPayGateway:
    config = _wechatpay_config(settings, sims)
    transport = httpx.ASGITransport(app=sims.wechatpay) if sims.wechatpay is not None else None
    gateway = WeChatPayGateway(config, transport=transport)
    await stack.enter_async_context(gateway)
    if sims.wechatpay is not None:
        stack.push_async_callback(sims.wechatpay.state.simulator.aclose)
    return gateway


def _wechat_client(settings: Settings, simulator: Starlette | None, stack: AsyncExitStack) -> WeChatClient:
    """The same client either way; the simulated path differs only in base URL and transport."""
    if simulator is None:
        client = WeChatClient(settings.wechat_appid or "", settings.wechat_secret or "", settings.wechat_api_base)
    else:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator), base_url=SIMULATOR_BASE)
        stack.push_async_callback(http.aclose)
        client = WeChatClient(SIMULATOR_APPID, SIMULATOR_SECRET, SIMULATOR_BASE, http=http)
    stack.push_async_callback(client.aclose)
    return client


STOP_GRACE_SECONDS = 2.0


async def _cancelled(task: asyncio.Task[None], grace: float = STOP_GRACE_SECONDS) -> None:
    """Cancel a background task and give it `grace` seconds to end: shutting down never hangs on one."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        log.warning("background task did not stop in time", task=task.get_name(), grace=grace)
    elif not task.cancelled() and task.exception() is not None:
        log.warning("background task failed", task=task.get_name(), error=repr(task.exception()))


CLUSTER_NODE_CONNECTIONS = 512
"""Connections per cluster node. redis-py's cluster client cannot queue for a free connection (it fails at once),
so it gets more room than the single-server pool, which waits."""


def redis_client(url: str) -> aioredis.Redis | RedisCluster:
    """Waits for a free connection instead of failing; gives up on a dead server in well under a second. A
    `redis+cluster://` (or `rediss+cluster://`) URL names any node of a Redis Cluster: the client finds the others
    and sends each key to its shard."""
    if is_cluster_url(url):
        scheme, rest = url.split("://", 1)
        return RedisCluster.from_url(
            f"{scheme.removesuffix('+cluster')}://{rest}", max_connections=CLUSTER_NODE_CONNECTIONS,
            socket_connect_timeout=1,
        )
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=64, timeout=5, socket_connect_timeout=1, retry=Retry(ExponentialBackoff(cap=0.2), 2)
    )
    return aioredis.Redis(connection_pool=pool)


@asynccontextmanager
async def runtime(settings: Settings, sims: Simulators) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as stack:
        if not settings.production:
            await migrate_database(settings.database_url)
        await open_database(settings.database_url, settings.db_pool_size)
        stack.push_async_callback(close_database)

        redis = None
        access = AccessCache(settings.access_cache_seconds)
        rate_limiter: RateLimiter
        cache: CacheStore
        counter: StockCounter
        if settings.redis_url:
            redis = redis_client(settings.redis_url)
            stack.push_async_callback(redis.aclose)
            rate_limiter = RedisRateLimiter(redis, prefix=f"{settings.redis_prefix}:rl")
            cache = LeasedCacheStore(RedisCacheStore(redis, prefix=settings.redis_prefix))
            await cache.refresh()
            lease = asyncio.create_task(cache.run(), name="pond-catalog-cache-lease")
            stack.push_async_callback(_cancelled, lease)
            counter = RedisStockCounter(redis, prefix=settings.redis_prefix)
            access.share_through(redis, f"{settings.redis_prefix}:access-changes")
            listener = asyncio.create_task(access.listen(), name="pond-access-changes")
            stack.push_async_callback(_cancelled, listener)
            redis_flash_pool = RedisFlashPool(redis, prefix=settings.redis_prefix)
            returns = asyncio.create_task(redis_flash_pool.listen(), name="pond-flash-returns")
            stack.push_async_callback(_cancelled, returns)
            flash_pool: FlashPool = redis_flash_pool
            seats: SeatStore = RedisSeatStore(redis, prefix=settings.redis_prefix)
        else:
            rate_limiter, cache, counter = InMemoryRateLimiter(), InMemoryCacheStore(), MemoryStockCounter()
            flash_pool = MemoryFlashPool()
            seats = MemorySeatStore()

        client = _wechat_client(settings, sims.wechat, stack)
        gateway = await _wechatpay(settings, sims, stack)
        register_share_targets()
        writer = flash_writer()
        writer.start()
        stack.callback(GROUP_COMMITS.watch(writer))  # after the writer has stopped: its last batches are counted
        stack.push_async_callback(writer.stop)  # before the database and Redis close: it writes what is queued
        transfers = WeChatPayTransfers(gateway)
        orders = OrderDeps(
            inventory=Inventory(counter),
            gateway=WeChatPayPort(gateway),
            transfers=transfers,
            payment_minutes=settings.order_payment_minutes,
            auto_confirm_days=settings.auto_confirm_days,
            shop_name=settings.shop_name,
            refund_failed=count_refund_failure,
            max_pending_orders=settings.max_pending_orders,
            events=order_events(),
            policies=order_policies(flash_pool=flash_pool, flash_payment_minutes=settings.flash_sale_payment_minutes,
                                    group_buy_seats=seats, flash_writer=writer, flash_admitter=flash_admitter(),
                                    group_buy_payment_minutes=settings.group_buy_payment_minutes),
        )
        tokens = TokenService(
            settings.signing_key(),
            customer_ttl=timedelta(hours=settings.customer_token_hours),
            staff_ttl=timedelta(hours=settings.staff_token_hours),
        )
        services = Services(
            tokens=tokens,
            wechat=WeChatClientSessions(client),
            rate_limiter=rate_limiter,
            catalog_changed=cache.invalidate,
            orders=orders,
            access=access,
            login_rate_limit=settings.login_rate_limit,
            staff_login_failures=settings.staff_login_failures,
            checkout_rate_limit=settings.checkout_rate_limit,
        )
        if not settings.production and settings.seed_demo:
            created = await seed_demo_catalog()
            if created:
                log.info("seeded demo catalog", products=created)
        yield Runtime(
            services=services, redis=redis, cache=cache, simulators=sims, transfers=transfers,
            wechat_client=client,
        )


async def withdrawal_transfer_finished(bill: TransferBill) -> str:
    """What the transfer notify endpoint is given: a finished bill finishes its commission withdrawal (once)."""
    log.info("transfer bill finished", out_bill_no=bill.out_bill_no, state=bill.state,
             transfer_bill_no=bill.transfer_bill_no, fail_reason=bill.fail_reason)
    found = await withdrawals.finish(bill.out_bill_no, bill.state, bill.transfer_bill_no, bill.fail_reason,
                                     datetime.now(UTC))
    return f"logged:{bill.state}" if found is None else f"withdrawal:{found.status.value}"


def describe(settings: Settings) -> dict[str, Any]:
    """What the server runs on, for the start-up log line (no secrets)."""
    return {
        "env": settings.env,
        "database": settings.database_url.split("://", 1)[0],
        "wechat": "simulator" if settings.simulated_wechat else "api.weixin.qq.com",
        "wechatpay": "simulator" if settings.simulated_wechatpay else "merchant",
        "stock_counter": ("redis cluster" if is_cluster_url(settings.redis_url) else "redis")
        if settings.redis_url else "in-process",
    }

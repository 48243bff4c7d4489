"""`pond worker` put together: the sweep queue and the worker's runtime from the settings (workers/saq_worker.py
runs the sweeps on saq)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import structlog
from redis.exceptions import RedisError
from saq import Queue

from domain.orders.deps import OrderDeps
from server.settings import Settings, SettingsError
from server.wiring import describe, no_notifications, redis_client, runtime, simulators
from workers.saq_worker import SweepWorker, sweep_worker
from workers.sweeps import SWEEPS, Sweep

log = structlog.get_logger("pond.worker")


class WorkerUnavailable(Exception):
    """The worker cannot start; the message is one line."""


def queue_name(settings: Settings) -> str:
    return f"{settings.redis_prefix}:sweeps"


def create_queue(settings: Settings) -> Queue:
    if not settings.redis_url:
        raise SettingsError("POND_REDIS_URL: required by pond worker (the embedded server runs the sweeps itself)")
    if not settings.sweep_queue_url:
        raise SettingsError("POND_QUEUE_REDIS_URL: required when POND_REDIS_URL is a Redis Cluster (the sweep queue, "
                            "saq, needs one Redis)")
    return Queue.from_url(settings.sweep_queue_url, name=queue_name(settings))


def create_worker(settings: Settings, queue: Queue | None = None, *, sweeps: Sequence[Sweep] = SWEEPS) -> SweepWorker:
    """A saq Worker whose startup opens the database and builds `ctx["deps"]` through `server.wiring.runtime`."""
    worker_settings = settings.model_copy(update={"seed_demo": False})  # the server seeds; two seeders could race
    queue = queue or create_queue(settings)

    @asynccontextmanager
    async def open_deps() -> AsyncIterator[OrderDeps]:
        sims = simulators(worker_settings, no_notifications)
        async with runtime(worker_settings, sims) as running:
            if worker_settings.simulated_wechatpay:
                log.warning("WeChat Pay is simulated: the worker closes and queries trades in its own simulator only")
            log.info("pond worker ready", queue=queue.name, sweeps=[s.name for s in sweeps],
                     **describe(worker_settings))
            yield running.services.orders

    return sweep_worker(queue, open_deps, sweeps=sweeps)


async def check_redis(url: str, setting: str = "POND_REDIS_URL") -> None:
    client = redis_client(url)
    try:
        async with asyncio.timeout(5):
            await client.ping()
    except (TimeoutError, OSError, RedisError) as exc:
        raise WorkerUnavailable(f"Redis at {setting} is not reachable ({type(exc).__name__}: {exc})") from None
    finally:
        await client.aclose()


async def run_worker(settings: Settings) -> None:
    """Run the sweeps until SIGINT or SIGTERM (saq's Worker handles both and stops gracefully)."""
    queue = create_queue(settings)
    await check_redis(settings.redis_url or "")
    if settings.sweep_queue_url != settings.redis_url:
        await check_redis(settings.sweep_queue_url or "", "POND_QUEUE_REDIS_URL")
    worker = create_worker(settings, queue)
    await queue.connect()
    try:
        await worker.start()
    finally:
        await queue.disconnect()

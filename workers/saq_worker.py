"""`pond worker`: the sweeps as saq cron jobs on Redis, one schedule shared by every server and worker process.

Each cron job has the key `cron:<sweep name>`, so however many workers run, a sweep is queued at most once at a time.
The job itself is an idempotent pass over the database: a job lost with Redis or a worker killed mid-run is made up by
the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack

import structlog
from redis.exceptions import RedisError
from saq import CronJob, Queue, Worker
from saq.types import Context
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from domain.orders.deps import OrderDeps
from server.settings import Settings, SettingsError
from server.wiring import describe, redis_client, runtime, simulators
from workers.sweeps import SWEEPS, Sweep

log = structlog.get_logger("pond.worker")
JOB_TIMEOUT_SECONDS = 300
SHUTDOWN_GRACE_SECONDS = 10
"""On SIGTERM a sweep in flight may finish for this long; then it is cancelled (its transaction rolls back)."""


class SweepContext(Context, total=False):
    deps: OrderDeps


class SweepWorker(Worker[SweepContext]):
    """saq's Worker, except that stopping grants the grace period to jobs in flight only.

    saq's upkeep loops (scheduling, stats, stuck-job sweep) sleep up to a minute between rounds, so waiting for them
    would hold every stop for the whole grace period; they have nothing to finish and are cancelled at once.
    """

    async def stop(self) -> None:
        self.event.set()  # first: an upkeep loop cancelled after this returns quietly
        for task in self.tasks:
            if task.get_name() != "process":  # saq names its job-processing tasks "process"
                task.cancel()
        await super().stop()


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


def sweep_job(sweep: Sweep) -> Callable[[SweepContext], Awaitable[int]]:
    async def job(ctx: SweepContext) -> int:
        deps = ctx["deps"]
        return await sweep.run(deps, deps.clock())

    job.__name__ = job.__qualname__ = sweep.name  # saq registers a function, and keys its cron job, by __qualname__
    return job


def cron_jobs(sweeps: Sequence[Sweep] = SWEEPS) -> list[CronJob[SweepContext]]:
    return [CronJob(sweep_job(sweep), cron=sweep.cron, timeout=JOB_TIMEOUT_SECONDS) for sweep in sweeps]


async def _no_notifications(scope: Scope, receive: Receive, send: Send) -> None:
    """The worker's own WeChat Pay simulator never takes a payment, so nothing is ever delivered here."""
    await PlainTextResponse("the worker takes no notifications", status_code=503)(scope, receive, send)


def create_worker(settings: Settings, queue: Queue | None = None, *, sweeps: Sequence[Sweep] = SWEEPS) -> SweepWorker:
    """A saq Worker whose startup opens the database and builds `ctx["deps"]` through `server.wiring.runtime`."""
    worker_settings = settings.model_copy(update={"seed_demo": False})  # the server seeds; two seeders could race
    queue = queue or create_queue(settings)
    stack = AsyncExitStack()

    async def startup(ctx: SweepContext) -> None:
        sims = simulators(worker_settings, _no_notifications)
        running = await stack.enter_async_context(runtime(worker_settings, sims))
        ctx["deps"] = running.services.orders
        if worker_settings.simulated_wechatpay:
            log.warning("WeChat Pay is simulated: the worker closes and queries trades in its own simulator only")
        log.info("pond worker ready", queue=queue.name, sweeps=[s.name for s in sweeps], **describe(worker_settings))

    async def shutdown(ctx: SweepContext) -> None:
        await stack.aclose()

    return SweepWorker(
        queue,
        functions=[],
        cron_jobs=cron_jobs(sweeps),
        startup=startup,
        shutdown=shutdown,
        concurrency=max(len(sweeps), 1),
        dequeue_timeout=1,  # idle slots notice a stop within a second
        shutdown_grace_period_s=SHUTDOWN_GRACE_SECONDS,
    )


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

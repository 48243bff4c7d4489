"""The sweeps as saq cron jobs on Redis, one schedule shared by every server and worker process (`pond worker`, which
`server/worker.py` builds from the settings).

Each cron job has the key `cron:<sweep name>`, so however many workers run, a sweep is queued at most once at a time.
The job itself is an idempotent pass over the database: a job lost with Redis or a worker killed mid-run is made up by
the next one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack

from saq import CronJob, Queue, Worker
from saq.types import Context

from domain.orders.deps import OrderDeps
from workers.sweeps import SWEEPS, Sweep

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


def sweep_job(sweep: Sweep) -> Callable[[SweepContext], Awaitable[int]]:
    async def job(ctx: SweepContext) -> int:
        deps = ctx["deps"]
        return await sweep.run(deps, deps.clock())

    job.__name__ = job.__qualname__ = sweep.name  # saq registers a function, and keys its cron job, by __qualname__
    return job


def cron_jobs(sweeps: Sequence[Sweep] = SWEEPS) -> list[CronJob[SweepContext]]:
    return [CronJob(sweep_job(sweep), cron=sweep.cron, timeout=JOB_TIMEOUT_SECONDS) for sweep in sweeps]


def sweep_worker(
    queue: Queue, open_deps: Callable[[], AbstractAsyncContextManager[OrderDeps]], *, sweeps: Sequence[Sweep] = SWEEPS
) -> SweepWorker:
    """A saq Worker running `sweeps` on their cron schedules; its startup enters `open_deps()` for `ctx["deps"]` (the
    server's wiring: the database, Redis, WeChat Pay) and its shutdown leaves it."""
    stack = AsyncExitStack()

    async def startup(ctx: SweepContext) -> None:
        ctx["deps"] = await stack.enter_async_context(open_deps())

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

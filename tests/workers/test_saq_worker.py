"""`pond worker`: a saq cron job per sweep, a job executed on real Redis, and the command an operator runs.

The Redis parts skip when Redis is unreachable, and fail instead when CI=true (`tests.support.backends`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from croniter import croniter
from saq import Queue, Status
from saq.queue.redis import RedisQueue

from domain.orders.models import Order, OrderStatus
from server.settings import Settings, SettingsError
from server.worker import create_queue, create_worker, queue_name
from tests.fixtures.orders_paid import PayFlow
from tests.support import backends
from tests.support.backends import Backend
from tests.test_cli import POND, ROOT, pond
from tests.workers.conftest import after_payment_window, counter, out_trade_nos, place, stored, trade_state
from workers.saq_worker import JOB_TIMEOUT_SECONDS
from workers.sweeps import SWEEPS

WORKER_SETTINGS = Settings(redis_url=backends.REDIS_URL, redis_prefix="shop1")


@pytest_asyncio.fixture
async def redis_queue(backend: Backend) -> AsyncIterator[Queue]:
    """A saq queue of its own on the test Redis, deleted afterwards."""
    await backends.check_redis()
    name = f"{backend.redis_prefix}-{uuid.uuid4().hex[:8]}:sweeps"
    queue = Queue.from_url(backends.REDIS_URL, name=name)
    await queue.connect()
    try:
        yield queue
    finally:
        await queue.disconnect()
        await backends.delete_redis_keys(name)


def test_the_worker_has_one_cron_job_per_sweep_keyed_by_its_name():
    worker = create_worker(WORKER_SETTINGS)
    try:
        assert worker.queue.name == "shop1:sweeps" == queue_name(WORKER_SETTINGS)
        jobs = [(job.function.__qualname__, job.cron, job.unique, job.timeout) for job in worker.cron_jobs]
        assert jobs == [(sweep.name, sweep.cron, True, JOB_TIMEOUT_SECONDS) for sweep in SWEEPS]
        assert all(croniter.is_valid(sweep.cron) for sweep in SWEEPS)
        assert sorted(worker.functions) == sorted(sweep.name for sweep in SWEEPS)
        assert worker.startup and worker.shutdown
    finally:
        worker.pool.shutdown()


def test_a_queue_needs_the_redis_url():
    with pytest.raises(SettingsError, match="^POND_REDIS_URL: required by pond worker"):
        create_queue(Settings(redis_url=None))


def test_a_queue_on_a_redis_cluster_needs_its_own_redis():
    cluster = "redis+cluster://127.0.0.1:7000"
    with pytest.raises(SettingsError, match="^POND_QUEUE_REDIS_URL: required when POND_REDIS_URL is a Redis Cluster"):
        create_queue(Settings(redis_url=cluster))
    queue = create_queue(Settings(redis_url=cluster, queue_redis_url="redis://127.0.0.1:6379/3"))
    assert queue.redis.connection_pool.connection_kwargs["db"] == 3
    with pytest.raises(ValueError, match="the sweep queue needs one Redis"):
        Settings(redis_url=cluster, queue_redis_url=cluster)


async def test_scheduling_again_does_not_queue_a_sweep_twice(redis_queue: Queue):
    worker = create_worker(WORKER_SETTINGS, redis_queue)
    try:
        await worker.schedule()
        await worker.schedule()
        jobs = await redis_queue.jobs(f"cron:{sweep.name}" for sweep in SWEEPS)
    finally:
        worker.pool.shutdown()

    assert await redis_queue.count("incomplete") == len(SWEEPS)
    assert [job.function if job else None for job in jobs] == [sweep.name for sweep in SWEEPS]
    assert all(job and job.status == Status.QUEUED and job.scheduled >= int(time.time()) for job in jobs)


async def test_a_queued_sweep_job_runs_the_sweep_against_the_database(pay_flow: PayFlow, redis_queue: Queue):
    deps = pay_flow.deps
    sku = await pay_flow.sku(stock=5)
    placed = await place(deps, pay_flow.buyer, (sku, 2))
    later = after_payment_window(deps)
    worker = create_worker(WORKER_SETTINGS, redis_queue)
    worker.context["deps"] = dataclasses.replace(deps, clock=lambda: later)  # what the startup hook puts there
    try:
        job = await redis_queue.enqueue("expire_orders", timeout=60)
        assert job is not None
        assert await worker.process()
    finally:
        worker.pool.shutdown()

    await job.refresh()
    assert (job.status, job.result, job.error) == (Status.COMPLETE, 1, None)
    assert (await Order.get(id=placed.order.id)).status == OrderStatus.CANCELLED
    assert await stored(sku) == (5, 0)
    assert await counter(deps, sku) == [5]
    [out_trade_no] = await out_trade_nos(placed.order)
    assert await trade_state(pay_flow.http, out_trade_no) == "CLOSED"


async def test_pond_worker_runs_a_queued_sweep_and_stops_on_sigterm(
    pay_flow: PayFlow, backend: Backend, tmp_path: Path
):
    if not backend.real:
        pytest.skip("pond worker shares PostgreSQL and Redis with the server: the real-backend run covers it")
    deps = pay_flow.deps
    sku = await pay_flow.sku(stock=5)
    placed = await place(deps, pay_flow.buyer, (sku, 2))
    await Order.filter(id=placed.order.id).update(expires_at=deps.clock() - timedelta(seconds=1))  # due now
    settings = Settings(redis_url=backend.redis_url, redis_prefix=backend.redis_prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POND_")}
    env.update(
        POND_DATABASE_URL=backend.database_url,
        POND_REDIS_URL=backend.redis_url or "",
        POND_REDIS_PREFIX=backend.redis_prefix,
        POND_DATA_DIR=str(tmp_path),
    )
    worker = await asyncio.create_subprocess_exec(
        *POND, "worker", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output: list[str] = []
    ready = asyncio.Event()

    async def read() -> None:
        assert worker.stdout is not None
        async for raw in worker.stdout:
            output.append(raw.decode(errors="replace"))
            if "pond worker ready" in output[-1]:
                ready.set()

    reader = asyncio.create_task(read())
    queue = Queue.from_url(backend.redis_url or "", name=queue_name(settings))
    await queue.connect()
    try:
        async with asyncio.timeout(30):
            await ready.wait()
            # saq's stuck-job sweep runs once at start, then every minute; a job dequeued at that very moment is
            # still QUEUED and gets "swept" (aborted). Enqueue after that first sweep, as a job normally arrives.
            assert isinstance(queue, RedisQueue)
            for _ in range(600):
                if await queue.redis.exists(queue.namespace("sweep")):
                    break
                await asyncio.sleep(0.05)
        job = await queue.enqueue("expire_orders", timeout=60)
        assert job is not None
        await job.refresh(until_complete=30)
        assert job.status == Status.COMPLETE, job.error

        # this job or its cron twin (every 30 s) cancelled it; the winner gives the units back after its commit
        assert (await Order.get(id=placed.order.id)).status == OrderStatus.CANCELLED
        assert await stored(sku) == (5, 0)
        for _ in range(50):
            if await counter(deps, sku) == [5]:  # given back in the Redis counter the server shares
                break
            await asyncio.sleep(0.1)
        assert await counter(deps, sku) == [5], "".join(output)

        worker.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):  # a sweep in flight gets 10 s grace; saq's upkeep loops would hold a minute
            assert await worker.wait() == 0, "".join(output)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
        await reader
        await queue.disconnect()
    ready_line = json.loads(next(line for line in output if "pond worker ready" in line))
    assert ready_line["queue"] == queue_name(settings) and ready_line["stock_counter"] == "redis"
    assert not [line for line in output if '"level": "error"' in line or "grace period" in line], "".join(output)


def test_pond_worker_without_redis_exits_2_with_one_line(tmp_path: Path):
    result = pond(tmp_path, "worker")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line == "pond: pond worker needs POND_REDIS_URL (without Redis, the server runs the sweeps)"


def test_pond_worker_with_unreachable_redis_exits_1_with_one_line(tmp_path: Path):
    result = pond(tmp_path, "worker", POND_REDIS_URL="redis://127.0.0.1:1/0")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("pond: Redis at POND_REDIS_URL is not reachable")

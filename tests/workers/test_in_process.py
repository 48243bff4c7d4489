"""The embedded server's sweeps: they run in the background, outlive a failing pass and stop cleanly."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from starlette.applications import Starlette

from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderStatus
from tests.fixtures.orders_paid import PayFlow
from tests.support.backends import Backend
from tests.workers.conftest import after_payment_window, counter, place, stored
from workers.in_process import run_sweeps
from workers.sweeps import SWEEPS, Sweep

FAST = 1.0
"""Seconds between passes."""


def sweep_tasks() -> set[asyncio.Task[None]]:
    return {task for task in asyncio.all_tasks() if task.get_name().startswith("pond-sweep:")}


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still false after {seconds} s")


async def ready(value: bool) -> bool:
    return value


async def test_each_sweep_runs_at_once_and_then_every_sweep_seconds(deps: OrderDeps):
    passes: list[float] = []

    async def tick(deps: OrderDeps, now: datetime) -> int:
        passes.append(time.monotonic())
        return 0

    started = time.monotonic()
    async with run_sweeps(deps, FAST, sweeps=[Sweep("tick", "* * * * *", tick)]):
        await until(lambda: ready(len(passes) == 2), seconds=4)

    assert passes[0] - started < 0.5
    assert 0.9 < passes[1] - passes[0] < 2.5


async def test_the_embedded_server_runs_the_sweeps_and_a_redis_backed_one_leaves_them_to_pond_worker(
    app: Starlette, backend: Backend
):
    names = {task.get_name() for task in sweep_tasks() if not task.done()}
    assert names == (set() if backend.real else {f"pond-sweep:{sweep.name}" for sweep in SWEEPS})


async def test_the_runner_expires_due_orders_in_the_background_and_stops(pay_flow: PayFlow):
    deps = pay_flow.deps
    sku = await pay_flow.sku(stock=4)
    placed = await place(deps, pay_flow.buyer, (sku, 3))
    later = after_payment_window(deps)
    in_the_future = dataclasses.replace(deps, clock=lambda: later)
    before = sweep_tasks()

    async with run_sweeps(in_the_future, FAST):
        mine = sweep_tasks() - before
        assert len(mine) == len(SWEEPS)

        async def cancelled() -> bool:
            return (await Order.get(id=placed.order.id)).status == OrderStatus.CANCELLED

        await until(cancelled)

    assert all(task.done() and not task.cancelled() for task in mine)
    assert await stored(sku) == (4, 0)
    assert await counter(deps, sku) == [4]


async def test_a_failing_pass_is_logged_and_the_sweeps_keep_running(deps: OrderDeps):
    calls = {"boom": 0, "tick": 0}

    async def boom(deps: OrderDeps, now: datetime) -> int:
        calls["boom"] += 1
        raise RuntimeError("database went away")

    async def tick(deps: OrderDeps, now: datetime) -> int:
        calls["tick"] += 1
        return 0

    sweeps = [Sweep("boom", "* * * * *", boom), Sweep("tick", "* * * * *", tick)]
    with structlog.testing.capture_logs() as logs:
        async with run_sweeps(deps, 0.01, sweeps=sweeps):
            await until(lambda: ready(calls["boom"] >= 3 and calls["tick"] >= 3))

    failures = [entry for entry in logs if entry["event"] == "sweep failed"]
    assert len(failures) >= 3
    assert failures[0]["sweep"] == "boom" and failures[0]["log_level"] == "error"


async def test_stopping_lets_a_pass_in_flight_finish_and_cancels_one_that_overruns_the_grace(deps: OrderDeps):
    events: list[str] = []

    async def slow(deps: OrderDeps, now: datetime) -> int:
        events.append("slow started")
        await asyncio.sleep(0.2)
        events.append("slow finished")
        return 1

    async def stuck(deps: OrderDeps, now: datetime) -> int:
        events.append("stuck started")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("stuck cancelled")
            raise
        return 0

    sweeps = [Sweep("slow", "* * * * *", slow), Sweep("stuck", "* * * * *", stuck)]
    before = sweep_tasks()
    started = time.monotonic()
    async with run_sweeps(deps, FAST, sweeps=sweeps, grace=0.5):
        mine = sweep_tasks() - before
        await until(lambda: ready({"slow started", "stuck started"} <= set(events)))

    assert time.monotonic() - started < 2
    assert events.count("slow started") == 1 and "slow finished" in events
    assert "stuck cancelled" in events
    assert all(task.done() for task in mine)

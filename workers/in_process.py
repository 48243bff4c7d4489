"""The embedded server's sweeps: one background task per sweep, each pass `POND_SWEEP_SECONDS` after the last.

Only the embedded default (no POND_REDIS_URL) runs these, inside the server process; with Redis, `pond worker` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress

import structlog

from domain.orders.deps import OrderDeps
from workers.sweeps import SWEEPS, Sweep

log = structlog.get_logger("pond.sweeps")
STOP_GRACE_SECONDS = 10.0


@asynccontextmanager
async def run_sweeps(
    deps: OrderDeps,
    interval: float,
    *,
    sweeps: Sequence[Sweep] = SWEEPS,
    grace: float = STOP_GRACE_SECONDS,
) -> AsyncIterator[None]:
    """Run every sweep now and then every `interval` seconds (the server passes `POND_SWEEP_SECONDS`) until the
    block exits.

    A failing pass is logged and the next one runs on time. On exit a pass in flight may finish for `grace` seconds
    (so an order is not left half-cancelled), then it is cancelled.
    """
    seconds = float(interval)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(_repeat(sweep, deps, seconds, stop), name=f"pond-sweep:{sweep.name}") for sweep in sweeps
    ]
    try:
        yield
    finally:
        stop.set()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)


async def _repeat(sweep: Sweep, deps: OrderDeps, seconds: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            changed = await sweep.run(deps, deps.clock())
        except Exception:
            log.exception("sweep failed", sweep=sweep.name)
        else:
            if changed:
                log.info("sweep done", sweep=sweep.name, changed=changed)
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await stop.wait()

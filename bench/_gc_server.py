"""The server half of bench/gc_pauses.py: `pond serve` (through bench/_checkout_server.py's `_serve`, so with its
timers) watched from inside: how late its event loop wakes up, and every garbage collection, timed by
`gc.callbacks`, in wall time (the stall it caused) and in the thread's CPU time (what it cost, however long another
process on the machine preempted it).

`BENCH_GC_TUNING=0` turns `server/gc_tuning.py` off for the run (CPython's own thresholds, nothing frozen): the
baseline the tuning is measured against. `BENCH_GC_THRESHOLDS=5000,20,20` keeps the freeze but sets other
thresholds after it, to try them. `GET /__bench/gc` answers what was seen since the previous call and starts
afresh; `GET /__bench/gc?full=1` times one full collection (`gc.collect()`), run there and then, left out of what
is seen: what a generation-2 collection costs this process now, whether or not the load ran into one.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

GC_PATH = "/__bench/gc"
TUNING_VARIABLE = "BENCH_GC_TUNING"
THRESHOLDS_VARIABLE = "BENCH_GC_THRESHOLDS"
TICK = 0.002
"""The watcher sleeps this long and records how much later than asked it woke: the loop was busy meanwhile."""


@dataclass
class Watch:
    stalls: list[float] = field(default_factory=list)
    collections: dict[int, list[float]] = field(default_factory=lambda: {0: [], 1: [], 2: []})
    cpu: dict[int, list[float]] = field(default_factory=lambda: {0: [], 1: [], 2: []})
    """The same collections in this thread's CPU time: what they cost, however long another process preempted them."""
    collected: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0})
    started: float = field(default_factory=time.perf_counter)
    _gc_start: float = 0.0
    _gc_cpu_start: float = 0.0
    _aside: bool = False

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if self._aside:
            return
        if phase == "start":
            self._gc_start, self._gc_cpu_start = time.perf_counter(), time.thread_time()
            return
        generation = int(info["generation"])
        self.collections[generation].append(time.perf_counter() - self._gc_start)
        self.cpu[generation].append(time.thread_time() - self._gc_cpu_start)
        self.collected[generation] += int(info["collected"])

    async def tick(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(TICK)
            self.stalls.append(max(0.0, time.perf_counter() - asked - TICK))

    def full_collection(self) -> dict[str, float]:
        self._aside = True
        try:
            start, cpu_start = time.perf_counter(), time.thread_time()
            gc.collect()
            wall, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
            return {"full_collection": wall, "full_collection_cpu": cpu}
        finally:
            self._aside = False

    def taken(self) -> dict[str, Any]:
        """What was seen since the previous call, then start afresh."""
        seen = {
            "seconds": time.perf_counter() - self.started,
            "stalls": self.stalls,
            "collections": {str(g): d for g, d in self.collections.items()},
            "cpu": {str(g): d for g, d in self.cpu.items()},
            "collected": {str(g): n for g, n in self.collected.items()},
            "threshold": gc.get_threshold(),
            "frozen": gc.get_freeze_count(),
            "tracked": len(gc.get_objects()),
            "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }
        fresh = Watch()
        self.stalls, self.collections, self.cpu, self.collected, self.started = (
            fresh.stalls, fresh.collections, fresh.cpu, fresh.collected, fresh.started)
        return seen


def _serve() -> None:
    from starlette.responses import JSONResponse
    from starlette.types import Receive, Scope, Send

    import app as pond_app
    from bench import _checkout_server
    from server.settings import Settings

    tune = pond_app.tune_after_start_up
    thresholds = [int(t) for t in os.environ.get(THRESHOLDS_VARIABLE, "").split(",") if t]

    def tune_as_asked() -> None:
        if os.environ.get(TUNING_VARIABLE) == "0":
            return
        tune()
        if thresholds:
            gc.set_threshold(*thresholds)

    pond_app.tune_after_start_up = tune_as_asked  # the lifespan reads the module global when it runs
    watch = Watch()
    gc.callbacks.append(watch.on_gc)
    tasks: set[asyncio.Task[None]] = set()
    create_asgi_app = pond_app.create_asgi_app  # _checkout_server's _serve wraps this one in its timers

    def watched_asgi_app(settings: Settings | None = None) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        inner = create_asgi_app(settings)

        async def outer(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "lifespan" and not tasks:
                tasks.add(asyncio.create_task(watch.tick(), name="bench-loop-watch"))
            if scope["type"] == "http" and scope["path"] == GC_PATH:
                full = scope["query_string"] == b"full=1"
                answer = watch.full_collection() if full else watch.taken()
                await JSONResponse(answer)(scope, receive, send)
                return
            await inner(scope, receive, send)

        return outer

    pond_app.create_asgi_app = watched_asgi_app  # type: ignore[assignment]  # `create_served_app` calls it
    _checkout_server._serve()

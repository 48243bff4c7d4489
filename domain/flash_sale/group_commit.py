"""Group commit: one in-process writer gathers what concurrent requests hand it for a few milliseconds and commits
them together, answering each request when its batch has committed.

The writer knows nothing of what it writes: it is built with the function that writes one batch (for flash sale
buys, `domain.flash_sale.batch_write.write_batch`), which answers each entry with its result or its own error and
never raises for one entry's sake. Batches are written one after the other: while one commits, the next gathers.
A batch starts when its first entry has waited `window` seconds or `max_batch` entries are waiting, whichever is
first.

The server starts the writer with the app and stops it on shutdown (`start`, `stop`): stopping writes what is queued
and then ends the task. A writer that is not running (never started, or stopped) writes each entry alone in the
caller's task, so nothing ever waits on a writer that is gone and no task outlives the app.

The running writer counts what it did (`counts`: batches, entries, the time it spent writing and the time entries
waited for their batch), which the server exports as metrics: a writer busy at the wall clock's pace is the
bottleneck of its requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger("pond.flash_sale.group_commit")

T = TypeVar("T")
R = TypeVar("R")

WriteBatch = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]
"""Writes a batch and answers each entry, in order, with its result or the error to raise in its request."""

Abandon = Callable[[Sequence[T]], Awaitable[None]]
"""Told the entries a cancelled writer never wrote (to free what they hold) before they are answered."""

WINDOW_SECONDS = 0.003
MAX_BATCH = 64
STOP_GRACE_SECONDS = 5.0


@dataclass
class WriterCounts:
    """What a running writer has done since it was built (only ever raised): the batches it handed to its batch
    function and their entries, whatever each entry was answered (an order, a refusal, a failed write)."""

    batches: int = 0
    entries: int = 0
    busy_seconds: float = 0.0
    """Time with a batch being written, from its start to its answers."""
    queued_seconds: float = 0.0
    """The entries' waits from `submit` to the start of their batch, summed."""


class WriterStopped(Exception):
    """The writer was cancelled before it wrote the entry (only when stopping outlasts its grace)."""


class GroupCommit(Generic[T, R]):
    def __init__(self, write: WriteBatch[T, R], *, abandon: Abandon[T] | None = None, window: float = WINDOW_SECONDS,
                 max_batch: int = MAX_BATCH, name: str = "pond-group-commit") -> None:
        if window < 0 or max_batch < 1:
            raise ValueError("window must be at least 0 and max_batch at least 1")
        self._write = write
        self._abandon = abandon
        self.window = window
        self.max_batch = max_batch
        self._name = name
        self._queue: list[tuple[float, T, asyncio.Future[R]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.counts = WriterCounts()
        """What the running writer has done (entries written alone, by a writer not running, are not counted; nor is
        a batch cancelled by `stop`)."""

    @property
    def name(self) -> str:
        return self._name

    @property
    def batches(self) -> int:
        return self.counts.batches

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done() and not self._stopping

    def start(self) -> None:
        if self._task is not None and not self._task.done():
            raise RuntimeError("the writer is running already")
        self._stopping = False
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Write what is queued, then end. After `grace` seconds the task is cancelled: the batch being written rolls
        back (its function answers its entries) and entries still queued are answered with `WriterStopped`."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            log.warning("group commit writer did not drain in time; cancelling it", writer=self._name, grace=grace)
            task.cancel()
            await asyncio.wait({task})
        queued, self._queue = self._queue, []
        if queued and self._abandon is not None:
            await self._abandon([entry for _, entry, _ in queued])
        answer_each([future for _, _, future in queued], [WriterStopped(f"{self._name} stopped") for _ in queued])

    async def submit(self, entry: T) -> R:
        """The entry's result once its batch has committed, or the error its batch answered it with."""
        if not self.running:
            return result_of((await self._write([entry]))[0])
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((asyncio.get_running_loop().time(), entry, future))
        self._wake.set()
        # Shielded: a request that goes away does not take its entry out of a batch being written.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            waited = loop.time() - self._queue[0][0]
            if len(self._queue) < self.max_batch and waited < self.window and not self._stopping:
                await asyncio.sleep(self.window - waited)
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[float, T, asyncio.Future[R]]]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        queued = sum(started - submitted for submitted, _, _ in batch)
        try:
            answers: Sequence[R | BaseException] = await self._write([entry for _, entry, _ in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"the batch function answered {len(answers)} of {len(batch)} entries")
        except asyncio.CancelledError:
            answer_each([future for _, _, future in batch], [WriterStopped(f"{self._name} stopped") for _ in batch])
            raise
        except Exception as exc:  # the batch function answers its entries itself; this is a bug in it
            log.exception("group commit batch function failed", writer=self._name, size=len(batch))
            answers = [exc] * len(batch)
        self.counts.batches += 1
        self.counts.entries += len(batch)
        self.counts.busy_seconds += loop.time() - started
        self.counts.queued_seconds += queued
        answer_each([future for _, _, future in batch], answers)


def answer_each(futures: Sequence[asyncio.Future[R]], answers: Sequence[R | BaseException]) -> None:
    """Each waiting future gets its answer: its result, or its error raised (a future already done is left)."""
    for future, answer in zip(futures, answers, strict=True):
        if future.done():
            continue
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)


def result_of(answer: R | BaseException) -> R:
    """A batch function's answer to one entry, as its caller sees it: the result, or the error raised."""
    if isinstance(answer, BaseException):
        raise answer
    return answer

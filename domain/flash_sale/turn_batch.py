"""Turn batches: what concurrent requests submit during one turn of the event loop, handled by one call of a batch
function in a task of its own, each request answered with its own entry's answer. Batches do not wait for one
another (unlike `group_commit`, whose batches are written one after the other): a batch starts on the next turn.

A request that goes away (its task cancelled) does not take its entry out of a batch that may already be asking
for it: the batch runs to its end, and an entry answered after its caller left is handed to `abandoned` (to undo
what the answer holds, such as units a pool took for it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import structlog

from domain.flash_sale.group_commit import answer_each

log = structlog.get_logger("pond.flash_sale.turn_batch")

T = TypeVar("T")
R = TypeVar("R")

HandleBatch = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]
"""Handles a batch and answers each entry, in order, with its result or the error to raise in its request."""

Abandoned = Callable[[T, R], Awaitable[None]]
"""Told an entry's result when its caller went away before it came."""


class TurnBatch(Generic[T, R]):
    def __init__(self, handle: HandleBatch[T, R], *, abandoned: Abandoned[T, R] | None = None,
                 max_batch: int = 64) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._handle = handle
        self._abandoned = abandoned
        self.max_batch = max_batch
        self._gathering: list[tuple[T, asyncio.Future[R]]] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Batches handled (a test reads it)."""

    async def submit(self, entry: T) -> R:
        """The entry's answer, once the batch of this turn has been handled."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        if self._gathering is None or len(self._gathering) >= self.max_batch:
            gathering: list[tuple[T, asyncio.Future[R]]] = []
            self._gathering = gathering
            task = loop.create_task(self._run(gathering))  # starts next turn: this turn's entries join it
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        self._gathering.append((entry, future))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if self._abandoned is not None:
                future.add_done_callback(lambda done: self._abandon(entry, done))
            raise

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        if self._gathering is batch:
            self._gathering = None
        try:
            answers: Sequence[R | BaseException] = await self._handle([entry for entry, _ in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"the batch function answered {len(answers)} of {len(batch)} entries")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # the batch function answers its entries itself; this is a bug in it
            log.exception("turn batch function failed", size=len(batch))
            answers = [RuntimeError(f"the batch failed: {exc!r}") for _ in batch]
        self.batches += 1
        answer_each([future for _, future in batch], answers)

    def _abandon(self, entry: T, done: asyncio.Future[R]) -> None:
        if done.cancelled() or done.exception() is not None or self._abandoned is None:
            return
        task = asyncio.get_running_loop().create_task(self._undo(self._abandoned, entry, done.result()))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    @staticmethod
    async def _undo(abandoned: Abandoned[T, R], entry: T, result: R) -> None:
        try:
            await abandoned(entry, result)
        except Exception:  # nobody waits for it: logged (what it would undo is healed by its own sweep, if any)
            log.exception("undoing an abandoned entry failed")

"""The group commit writer alone: it gathers, answers each entry, drains when stopped and leaves no task behind."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from domain.flash_sale.group_commit import GroupCommit, WriterStopped


class Recorder:
    def __init__(self, pause: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.pause = pause
        self.abandoned: list[int] = []

    async def write(self, batch: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(batch))
        await asyncio.sleep(self.pause)
        return [ValueError(n) if n < 0 else n * 10 for n in batch]

    async def abandon(self, batch: Sequence[int]) -> None:
        self.abandoned += batch


async def test_entries_arriving_together_share_a_batch_and_each_gets_its_own_answer() -> None:
    recorder = Recorder()
    writer = GroupCommit(recorder.write, window=0.01)
    writer.start()
    try:
        answers = await asyncio.gather(*(writer.submit(n) for n in [1, 2, -3, 4]), return_exceptions=True)
    finally:
        await writer.stop()
    assert answers[:2] == [10, 20] and answers[3] == 40
    assert isinstance(answers[2], ValueError)
    assert recorder.batches == [[1, 2, -3, 4]]


async def test_a_full_batch_does_not_wait_for_the_window() -> None:
    recorder = Recorder()
    writer = GroupCommit(recorder.write, window=10.0, max_batch=3)
    writer.start()
    try:
        answers = await asyncio.wait_for(asyncio.gather(*(writer.submit(n) for n in range(6))), timeout=2)
    finally:
        await writer.stop()
    assert answers == [0, 10, 20, 30, 40, 50]
    assert recorder.batches == [[0, 1, 2], [3, 4, 5]]


async def test_stopping_writes_what_is_queued_and_ends_the_task() -> None:
    recorder = Recorder(pause=0.05)
    writer = GroupCommit(recorder.write, window=0.001, max_batch=2)
    writer.start()
    task = writer._task
    submitted = [asyncio.create_task(writer.submit(n)) for n in range(5)]
    await asyncio.sleep(0)
    await writer.stop()
    assert [t.result() for t in submitted] == [0, 10, 20, 30, 40]
    assert task is not None and task.done()
    assert not writer.running


async def test_a_writer_that_is_not_running_writes_each_entry_alone_in_the_caller() -> None:
    recorder = Recorder()
    writer = GroupCommit(recorder.write)
    assert await writer.submit(7) == 70
    with pytest.raises(ValueError):
        await writer.submit(-1)
    assert recorder.batches == [[7], [-1]]


async def test_a_writer_stopped_past_its_grace_abandons_what_it_never_wrote() -> None:
    recorder = Recorder(pause=10.0)
    writer = GroupCommit(recorder.write, abandon=recorder.abandon, window=0.0, max_batch=1)
    writer.start()
    submitted = [asyncio.create_task(writer.submit(n)) for n in range(3)]
    await asyncio.sleep(0.05)  # the first is being written (slowly), the others wait
    await writer.stop(grace=0.05)
    answers = await asyncio.gather(*submitted, return_exceptions=True)
    assert all(isinstance(answer, WriterStopped) for answer in answers)
    assert recorder.abandoned == [1, 2]  # the first one's batch function answers for its own entries

"""The group commit writer alone: it gathers, answers each entry, drains when stopped and leaves no task behind; and
the turn batch (what one turn of the event loop submits, handled together; batches side by side)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from domain.flash_sale.group_commit import GroupCommit, WriterStopped
from domain.flash_sale.turn_batch import TurnBatch


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


async def test_a_turn_batch_takes_what_one_turn_submits_and_does_not_wait_for_the_batch_before() -> None:
    recorder = Recorder(pause=0.2)
    batches = TurnBatch(recorder.write)
    started = asyncio.get_running_loop().time()
    first = [asyncio.ensure_future(batches.submit(n)) for n in (1, -2, 3)]
    await asyncio.sleep(0.01)  # the first batch is being handled
    second = await batches.submit(4)
    answers = await asyncio.gather(*first, return_exceptions=True)
    assert asyncio.get_running_loop().time() - started < 0.35  # side by side: one after the other takes 0.4 s
    assert second == 40 and answers[0] == 10 and answers[2] == 30 and isinstance(answers[1], ValueError)
    assert recorder.batches == [[1, -2, 3], [4]]


async def test_a_turn_batch_hands_an_answer_whose_caller_left_to_abandoned() -> None:
    recorder = Recorder(pause=0.05)
    undone: list[tuple[int, int]] = []

    async def abandoned(entry: int, answer: int) -> None:
        undone.append((entry, answer))

    batches = TurnBatch(recorder.write, abandoned=abandoned)
    leaving, staying = asyncio.ensure_future(batches.submit(1)), asyncio.ensure_future(batches.submit(2))
    await asyncio.sleep(0.01)
    leaving.cancel()
    assert await staying == 20
    await asyncio.sleep(0.01)
    assert leaving.cancelled() and undone == [(1, 10)]


async def test_a_turn_batch_whose_function_fails_answers_each_entry_with_its_own_error() -> None:
    async def broken(batch: Sequence[int]) -> list[int | BaseException]:
        raise KeyError("a bug")

    batches = TurnBatch(broken)
    answers = await asyncio.gather(*(batches.submit(n) for n in (1, 2)), return_exceptions=True)
    assert all(isinstance(a, RuntimeError) for a in answers) and answers[0] is not answers[1]


async def test_the_running_writer_counts_its_batches_entries_and_the_time_they_took() -> None:
    recorder = Recorder(pause=0.02)
    writer = GroupCommit(recorder.write, window=0.01)
    await writer.submit(5)  # not running: written alone, in the caller's task, and not counted
    writer.start()
    try:
        await asyncio.gather(*(writer.submit(n) for n in [1, 2, 3]))
    finally:
        await writer.stop()
    counts = writer.counts
    assert recorder.batches == [[5], [1, 2, 3]]
    assert (counts.batches, counts.entries) == (1, 3)
    assert 0.02 <= counts.busy_seconds < 1
    assert 3 * 0.009 <= counts.queued_seconds < 3  # each of the three waited for the window

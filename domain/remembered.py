"""Rows only staff change, remembered by the process between staff changes: the promotions a price needs (discount
items, spend-and-saves), the member levels and the distribution settings in force.

A request reads them through `remembered(key, load)`. The server says, for each request, which memo holds
(`remembering`): the one of the catalog generation the process knows is current without asking anyone
(`server.catalog_cache.CacheStore.known_generation`). Every staff change bumps that generation (and every process
has seen the bump by the time the staff mutation returns), so a memo never outlives a change; where no generation is
known (its lease lapsed), or outside a request (sweeps, `pond audit`), there is no memo and every read goes to the
database as before. The flash writer's batch reads through the memo its buys' requests had (`current_memo`), when
they all had the same one.

A change written through this process's domain code (`changed`) also drops the memo at once, whether or not a
generation was bumped (a test writing through the domain, say). Values are remembered as read; what depends on
the moment (a discount's window) is decided by the caller at use, so a discount starting or ending by the clock
applies at that exact moment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_changes = 0
"""Staff changes written by this process's domain code (a memo is kept for one count)."""


def changed() -> None:
    """Rows a memo may hold were changed here: no memo made before this is used again."""
    global _changes
    _changes += 1


class Memo:
    def __init__(self, generation: int, changes: int) -> None:
        self.generation = generation
        self.changes = changes
        self.values: dict[str, Any] = {}


class Remembered:
    """One per running server: the memo of the current generation."""

    def __init__(self) -> None:
        self._memo: Memo | None = None

    def memo_for(self, generation: int | None) -> Memo | None:
        """The memo to use while `generation` is known current (None: none known, read the database)."""
        if generation is None:
            return None
        memo = self._memo
        if memo is None or memo.generation != generation or memo.changes != _changes:
            memo = self._memo = Memo(generation, _changes)
        return memo


_current: ContextVar[Memo | None] = ContextVar("pond_remembered", default=None)


@contextmanager
def remembering(memo: Memo | None) -> Iterator[None]:
    """Reads inside the block (the request) use `memo`."""
    token = _current.set(memo)
    try:
        yield
    finally:
        _current.reset(token)


def _memo() -> Memo | None:
    memo = _current.get()
    return memo if memo is not None and memo.changes == _changes else None


def current_memo() -> Memo | None:
    """The memo reads use here: work handed to another task (the flash writer's batch) takes it along."""
    return _memo()


async def remembered(key: str, load: Callable[[], Awaitable[T]]) -> T:
    """The value under `key`, loaded once per memo (or every time, without one)."""
    memo = _memo()
    if memo is None:
        return await load()
    if key in memo.values:
        value: T = memo.values[key]
        return value
    changes = _changes
    value = await load()
    if changes == _changes:  # nothing changed while it loaded
        memo.values[key] = value
    return value


async def remembered_each(prefix: str, ids: Sequence[int],
                          load: Callable[[list[int]], Awaitable[dict[int, T]]]) -> dict[int, T]:
    """The value of each id under `prefix`, the ones not remembered loaded together (one read for all of them);
    `load` answers every id it is asked for."""
    memo = _memo()
    if memo is None:
        return await load(list(ids))
    found: dict[int, T] = {}
    missing: list[int] = []
    for id_ in ids:
        key = f"{prefix}:{id_}"
        if key in memo.values:
            found[id_] = memo.values[key]
        else:
            missing.append(id_)
    if missing:
        changes = _changes
        loaded = await load(missing)
        keep = changes == _changes
        for id_ in missing:
            found[id_] = loaded[id_]
            if keep:
                memo.values[f"{prefix}:{id_}"] = loaded[id_]
    return found

"""Fixed-window rate limiting: in process for one server, or in Redis for a fleet."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

# One atomic step per hit: count it, start the window's expiry on the first hit, report the count.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""

# Give one hit back, in the current window only, and never below zero.
_UNDO_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
    return redis.call('DECR', KEYS[1])
end
return 0
"""

_MIN_PRUNE_THRESHOLD = 1024


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one hit on ``key``; True if it is within ``limit`` hits for the current window."""
        ...

    async def undo(self, key: str, window_seconds: int) -> None:
        """Give back one hit of the current window (a limit that counts failures takes one per attempt up front,
        so concurrent attempts cannot all slip under it, and gives it back when the attempt succeeds)."""
        ...


def _check_window(window_seconds: int) -> None:
    if isinstance(window_seconds, bool) or not isinstance(window_seconds, int) or window_seconds < 1:
        raise ValueError("window_seconds must be a positive integer")


class InMemoryRateLimiter:
    """Per-process fixed windows. Each hit is counted without awaiting, so concurrent tasks cannot overshoot.

    Entries of finished windows are dropped whenever the table has doubled since the last sweep, so memory
    stays proportional to the keys seen in the current windows.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, int], tuple[int, int]] = {}
        self._prune_at = _MIN_PRUNE_THRESHOLD

    async def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        _check_window(window_seconds)
        index = int(self._clock() // window_seconds)
        slot = (key, window_seconds)
        current = self._windows.get(slot)
        count = current[1] + 1 if current is not None and current[0] == index else 1
        self._windows[slot] = (index, count)
        if len(self._windows) >= self._prune_at:
            self._prune()
        return count <= limit

    async def undo(self, key: str, window_seconds: int) -> None:
        _check_window(window_seconds)
        index = int(self._clock() // window_seconds)
        slot = (key, window_seconds)
        current = self._windows.get(slot)
        if current is not None and current[0] == index and current[1] > 0:
            self._windows[slot] = (index, current[1] - 1)

    def __len__(self) -> int:
        return len(self._windows)

    def _prune(self) -> None:
        now = self._clock()
        self._windows = {slot: entry for slot, entry in self._windows.items() if entry[0] >= int(now // slot[1])}
        self._prune_at = max(_MIN_PRUNE_THRESHOLD, 2 * len(self._windows))


class RedisRateLimiter:
    """Fixed windows shared by every process: one Redis key per (key, window), counted by one Lua script.

    The caller's key sits in a hash tag, so on Redis Cluster every window of one key lives in one slot.
    """

    def __init__(self, redis: aioredis.Redis | RedisCluster, prefix: str = "pond:rl",
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._script = redis.register_script(_HIT_SCRIPT)
        self._undo_script = redis.register_script(_UNDO_SCRIPT)

    async def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        _check_window(window_seconds)
        count = await self._script(keys=[self.window_key(key, window_seconds)], args=[window_seconds])
        return int(count) <= limit

    async def undo(self, key: str, window_seconds: int) -> None:
        _check_window(window_seconds)
        await self._undo_script(keys=[self.window_key(key, window_seconds)])

    def window_key(self, key: str, window_seconds: int) -> str:
        index = int(self._clock() // window_seconds)
        # Braces would end the hash tag early; replace them so one key always maps to one tag.
        tag = key.replace("{", "(").replace("}", ")")
        return f"{self._prefix}:{{{tag}}}:{window_seconds}:{index}"

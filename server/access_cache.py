"""Account standings cached for a few seconds in process, so checking a token costs at most one read per account.

Every request's token is checked against its account (domain.identity.access). The standing is kept for
`POND_ACCESS_CACHE_SECONDS`; a change made through this process drops its entry at once, and with Redis the change
is published so every other process drops it too (the expiry bounds how late a lost message can make it).
Concurrent requests for one account share one read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
import structlog
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from domain.identity.access import Standing, admit, standing
from domain.identity.tokens import Principal, PrincipalKind

log = structlog.get_logger("pond.access")

Key = tuple[PrincipalKind, int]
Loader = Callable[[PrincipalKind, int], Awaitable[Standing | None]]
_MAX_ENTRIES = 10_000
_RESUBSCRIBE_SECONDS = 1.0


class AccessCache:
    def __init__(self, ttl: float, load: Loader = standing, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._load = load
        self._clock = clock
        self._entries: dict[Key, tuple[float, Standing | None]] = {}
        self._loading: dict[Key, asyncio.Future[Standing | None]] = {}
        self._epoch = 0
        self._redis: aioredis.Redis | RedisCluster | None = None
        self._channel = ""

    def share_through(self, redis: aioredis.Redis | RedisCluster, channel: str) -> None:
        """Publish changes on `channel` (run `listen` to hear the other processes' changes)."""
        self._redis, self._channel = redis, channel

    async def admit(self, principal: Principal) -> Principal | None:
        return admit(principal, await self.standing(principal.kind, principal.id))

    async def standing(self, kind: PrincipalKind, account_id: int) -> Standing | None:
        key = (kind, account_id)
        entry = self._entries.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._read(key, self._epoch))
            self._loading[key] = pending
        return await asyncio.shield(pending)

    async def changed(self, kind: PrincipalKind, account_id: int) -> None:
        """After a change is committed: forget it here, and tell the other processes."""
        self.forget(kind, account_id)
        if self._redis is None:
            return
        try:
            await self._redis.publish(self._channel, f"{kind}:{account_id}")
        except (RedisError, RedisClusterException, OSError) as exc:
            log.warning("could not publish an access change; other processes see it on expiry",
                        account=f"{kind}:{account_id}", error=repr(exc))

    def forget(self, kind: PrincipalKind, account_id: int) -> None:
        self._epoch += 1  # a read already under way may have seen the old row: it must not be kept
        self._entries.pop((kind, account_id), None)
        self._loading.pop((kind, account_id), None)

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._loading.clear()

    async def listen(self) -> None:
        """Until cancelled: drop what other processes report as changed; after a lost connection, drop everything."""
        assert self._redis is not None, "share_through first"
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    self.clear()  # changes made while not subscribed were missed
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._heard(message.get("data"))
            except (RedisError, RedisClusterException, OSError) as exc:
                log.warning("access change channel lost; resubscribing", error=repr(exc))
                self.clear()
                await asyncio.sleep(_RESUBSCRIBE_SECONDS)

    def _heard(self, data: object) -> None:
        text = data.decode() if isinstance(data, bytes) else str(data)
        kind, _, account = text.partition(":")
        if kind in ("staff", "customer") and account.isdigit():
            self.forget(kind, int(account))  # type: ignore[arg-type]
        else:
            self.clear()

    async def _read(self, key: Key, epoch: int) -> Standing | None:
        try:
            value = await self._load(*key)
            if self._ttl > 0 and epoch == self._epoch:
                if len(self._entries) >= _MAX_ENTRIES:
                    self._prune()
                self._entries[key] = (self._clock() + self._ttl, value)
            return value
        finally:
            if self._loading.get(key) is asyncio.current_task():
                del self._loading[key]

    def _prune(self) -> None:
        now = self._clock()
        self._entries = {key: entry for key, entry in self._entries.items() if entry[0] > now}
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()

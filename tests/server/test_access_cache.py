"""The account standing cache: one read per account per few seconds, shared by concurrent requests, dropped at
once on a change here and, through Redis, in every other process."""

from __future__ import annotations

import asyncio
import uuid

from domain.identity.access import Standing
from domain.identity.models import StaffRole
from domain.identity.tokens import Principal, PrincipalKind
from server.access_cache import AccessCache

REDIS_URL = "redis://127.0.0.1:6379/0"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Accounts:
    """A stand-in for the database: counts reads, can be slowed down or made to fail."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], Standing] = {("staff", 1): Standing(True, StaffRole.OWNER, 0)}
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def load(self, kind: PrincipalKind, account_id: int) -> Standing | None:
        self.reads += 1
        seen = self.rows.get((kind, account_id))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise ConnectionError("database away")
        return seen


OWNER = Principal("staff", 1, StaffRole.OWNER, 0)


async def test_a_standing_is_read_once_then_reused_until_it_expires():
    accounts, clock = Accounts(), FakeClock()
    cache = AccessCache(5, accounts.load, clock)
    assert await cache.admit(OWNER) == OWNER
    clock.now += 4.9
    assert await cache.admit(OWNER) == OWNER and accounts.reads == 1
    accounts.rows[("staff", 1)] = Standing(False, StaffRole.OWNER, 1)
    clock.now += 0.2
    assert await cache.admit(OWNER) is None and accounts.reads == 2


async def test_a_change_made_here_is_seen_at_once():
    accounts = Accounts()
    cache = AccessCache(5, accounts.load, FakeClock())
    await cache.admit(OWNER)
    accounts.rows[("staff", 1)] = Standing(True, StaffRole.OPERATOR, 1)
    await cache.changed("staff", 1)
    assert await cache.admit(OWNER) is None
    assert await cache.admit(Principal("staff", 1, StaffRole.OWNER, 1)) == Principal("staff", 1, StaffRole.OPERATOR, 1)


async def test_concurrent_requests_for_one_account_share_one_read():
    accounts = Accounts()
    accounts.gate = asyncio.Event()
    cache = AccessCache(5, accounts.load, FakeClock())
    waiting = [asyncio.create_task(cache.admit(OWNER)) for _ in range(20)]
    await asyncio.sleep(0)
    accounts.gate.set()
    assert await asyncio.gather(*waiting) == [OWNER] * 20
    assert accounts.reads == 1


async def test_a_read_under_way_when_the_account_changes_is_not_kept():
    accounts = Accounts()
    accounts.gate = asyncio.Event()
    cache = AccessCache(5, accounts.load, FakeClock())
    before = asyncio.create_task(cache.admit(OWNER))
    await asyncio.sleep(0)
    accounts.rows[("staff", 1)] = Standing(False, StaffRole.OWNER, 1)
    await cache.changed("staff", 1)
    accounts.gate.set()
    await before
    assert await cache.admit(OWNER) is None and accounts.reads == 2


async def test_a_failed_read_reaches_every_waiter_and_is_not_kept():
    accounts = Accounts()
    accounts.fail = True
    cache = AccessCache(5, accounts.load, FakeClock())
    results = await asyncio.gather(cache.admit(OWNER), cache.admit(OWNER), return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results)
    accounts.fail = False
    assert await cache.admit(OWNER) == OWNER


async def test_without_a_lifetime_every_request_reads():
    accounts = Accounts()
    cache = AccessCache(0, accounts.load, FakeClock())
    for _ in range(3):
        await cache.admit(OWNER)
    assert accounts.reads == 3


async def test_a_change_in_one_process_reaches_the_others_through_redis(redis_client):
    channel = f"pondtest-{uuid.uuid4().hex[:12]}:access-changes"
    accounts = Accounts()
    here, there = AccessCache(60, accounts.load), AccessCache(60, accounts.load)
    for cache in (here, there):
        cache.share_through(redis_client, channel)
    listening = asyncio.create_task(there.listen())
    try:
        for _ in range(100):
            if (await redis_client.pubsub_numsub(channel))[0][1] == 1:
                break
            await asyncio.sleep(0.01)
        assert await there.admit(OWNER) == OWNER
        accounts.rows[("staff", 1)] = Standing(False, StaffRole.OWNER, 1)
        await here.changed("staff", 1)
        for _ in range(100):
            if await there.admit(OWNER) is None:
                break
            await asyncio.sleep(0.01)
        assert await there.admit(OWNER) is None
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)

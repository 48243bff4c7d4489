"""Binding (锁客) through shares: each mode with the clock moved, and every quiet refusal."""

from __future__ import annotations

import asyncio
import uuid

from domain.distribution.binding import distributor_of
from domain.distribution.models import BindingChange
from tests.api.distribution.conftest import SET_ENABLED, SHARE
from tests.fixtures.catalog import gid
from tests.fixtures.orders import pk

LOGIN = """mutation($code: String!, $share: String) { login(input: {code: $code, shareCode: $share}) {
  token customer { id } errors { code } } }"""


async def test_first_touch_keeps_the_first_distributor_for_good(dist, clock):
    await dist.turn_on("FIRST_TOUCH")
    a, b, shopper = await dist.distributor(), await dist.distributor(), await dist.customer()
    assert (await dist.open(a.share_code, shopper))["errors"] == []
    clock.move(days=400)
    assert (await dist.open(b.share_code, shopper))["target"] == {"kind": "Shop", "id": None}
    assert await dist.bound_to(shopper) == a.id
    history = await BindingChange.filter(customer_id=shopper.id)
    assert [(row.code, row.previous_distributor_id) for row in history] == [(a.share_code, None)]


async def test_window_rebinds_only_after_the_window(dist, clock):
    await dist.turn_on("WINDOW", windowDays=10)
    a, b, shopper = await dist.distributor(), await dist.distributor(), await dist.customer()
    await dist.open(a.share_code, shopper)
    clock.move(days=9, hours=23)
    await dist.open(b.share_code, shopper)
    assert await dist.bound_to(shopper) == a.id
    clock.move(hours=1)
    await dist.open(b.share_code, shopper)
    assert await dist.bound_to(shopper) == b.id
    assert await BindingChange.filter(customer_id=shopper.id).count() == 2


async def test_last_touch_follows_the_latest_share(dist, clock):
    await dist.turn_on("LAST_TOUCH")
    a, b, shopper = await dist.distributor(), await dist.distributor(), await dist.customer()
    await dist.open(a.share_code, shopper)
    clock.move(minutes=1)
    await dist.open(b.share_code, shopper)
    assert await dist.bound_to(shopper) == b.id
    clock.move(minutes=1)
    await dist.open(a.share_code, shopper)
    assert await dist.bound_to(shopper) == a.id


async def test_never_to_oneself_nor_into_a_cycle(dist):
    await dist.turn_on("LAST_TOUCH")
    a, b, c = await dist.distributor(), await dist.distributor(), await dist.distributor()
    assert (await dist.open(a.share_code, a))["errors"] == []
    assert await dist.bound_to(a) is None
    await dist.open(a.share_code, b)  # b's parent is a
    assert (await dist.open(b.share_code, a))["errors"] == []  # a under b would be a 2-long cycle: the open succeeds
    assert await dist.bound_to(a) is None
    await dist.open(b.share_code, c)  # c → b → a
    await dist.open(c.share_code, a)  # a → c → b → a: a 3-long cycle
    assert await dist.bound_to(a) is None
    assert (await dist.bound_to(b), await dist.bound_to(c)) == (a.id, b.id)


async def test_only_an_approved_enabled_distributor_binds_and_only_while_distribution_is_on(dist, gql, make_product):
    a, shopper = await dist.distributor(), await dist.customer()
    await dist.open(a.share_code, shopper)
    assert await dist.bound_to(shopper) is None  # distribution is off by default
    await dist.turn_on("FIRST_TOUCH")
    plain = await dist.customer()  # never applied
    product = (await make_product()).id
    link = (await gql.data(SHARE, {"i": {"productId": gid("Product", product)}}, plain.token))["shareLinkCreate"]
    assert link["errors"] == []
    await dist.open(link["shareLink"]["code"], shopper)
    pending = await dist.customer()
    await dist.apply(pending)
    pending_link = (await gql.data(SHARE, {"i": {"productId": gid("Product", product)}}, pending.token))
    await dist.open(pending_link["shareLinkCreate"]["shareLink"]["code"], shopper)
    assert await dist.bound_to(shopper) is None
    assert (await dist.staff(SET_ENABLED, {"id": a.distributor_id, "enabled": False}))["errors"] == []
    await dist.open(a.share_code, shopper)
    assert await dist.bound_to(shopper) is None
    await dist.staff(SET_ENABLED, {"id": a.distributor_id, "enabled": True})
    await dist.open(a.share_code, shopper)
    assert await dist.bound_to(shopper) == a.id


async def test_concurrent_opens_of_two_shares_bind_exactly_one_under_first_touch(dist):
    await dist.turn_on("FIRST_TOUCH")
    a, b, shopper = await dist.distributor(), await dist.distributor(), await dist.customer()
    results = await asyncio.gather(*[dist.open(code, shopper) for code in [a.share_code, b.share_code] * 5])
    assert all(result["errors"] == [] for result in results)
    assert await dist.bound_to(shopper) in (a.id, b.id)
    assert await BindingChange.filter(customer_id=shopper.id).count() == 1


async def test_logging_in_with_a_share_code_binds_and_a_bad_code_still_logs_in(dist, gql):
    await dist.turn_on("FIRST_TOUCH")
    a = await dist.distributor()
    bad = (await gql.data(LOGIN, {"code": f"koc-kid#{uuid.uuid4().hex}", "share": "no-such-code!"}))["login"]
    assert bad["errors"] == [] and bad["token"]
    good = (await gql.data(LOGIN, {"code": f"koc-carol#{uuid.uuid4().hex}", "share": a.share_code}))["login"]
    assert good["errors"] == []
    found = await distributor_of(pk(good["customer"]["id"]))
    assert found is not None and found.customer_id == a.id

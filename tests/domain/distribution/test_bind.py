"""domain.distribution.binding.bind as checkout will call it: a customer id, a share code and a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.distribution import binding, distributors, links, settings, targets
from domain.distribution.distributors import Application
from domain.distribution.models import BindingMode
from domain.distribution.settings import Rules
from domain.identity.models import Customer

pytestmark = pytest.mark.usefixtures("db")
T0 = datetime(2026, 6, 1, tzinfo=UTC)


async def distributor(name: str) -> tuple[int, str]:
    """A customer approved as a distributor, and their shop code."""
    customer = await Customer.create(openid=f"o-{name}", nickname=name)
    applied = await distributors.apply(customer.id, Application("张三", "13800138000", ""), T0)
    await distributors.approve(applied.id, T0)
    code = await distributors.shop_link_code(applied)
    assert code is not None
    return customer.id, code


async def test_window_mode_rebinds_exactly_at_the_window_end() -> None:
    await settings.update({"enabled": True, "binding_mode": BindingMode.WINDOW, "window_days": 3})
    (a, code_a), (b, code_b) = await distributor("a"), await distributor("b")
    shopper = (await Customer.create(openid="o-shopper")).id
    assert await binding.bind(shopper, code_a, T0)
    assert not await binding.bind(shopper, code_a, T0 + timedelta(days=5))  # the same distributor: nothing to do
    assert not await binding.bind(shopper, code_b, T0 + timedelta(days=3) - timedelta(seconds=1))
    assert await binding.bind(shopper, code_b, T0 + timedelta(days=3))
    found = await binding.distributor_of(shopper)
    assert found is not None and found.customer_id == b
    parent = await binding.parent_of(found)
    assert parent is None and a != b


async def test_a_chain_of_three_refuses_the_cycle_and_concurrent_rebinds_leave_one_winner() -> None:
    await settings.update({"enabled": True, "binding_mode": BindingMode.WINDOW, "window_days": 1})
    (a, code_a), (b, code_b), (c, code_c) = [await distributor(n) for n in "abc"]
    assert await binding.bind(b, code_a, T0) and await binding.bind(c, code_b, T0)
    assert not await binding.bind(a, code_c, T0)
    assert not await binding.bind(a, code_a, T0)
    shopper = (await Customer.create(openid="o-shopper")).id
    assert await binding.bind(shopper, code_a, T0)
    results = await asyncio.gather(*[binding.bind(shopper, code, T0 + timedelta(days=2))
                                     for code in [code_b, code_c] * 4])
    assert sum(results) == 1  # the first rebind starts a new window: every other racer is refused


async def test_nothing_binds_while_distribution_is_off_or_through_a_bad_code() -> None:
    (a, code_a) = await distributor("a")
    shopper = (await Customer.create(openid="o-shopper")).id
    assert not await binding.bind(shopper, code_a, T0)
    await settings.update({"enabled": True})
    for code in ["", "no such", "x" * 33, "Zz9Zz9Zz9Zz9Zz9Z"]:
        assert not await binding.bind(shopper, code, T0)
    product_less = await links.create(shopper, targets.SHOP, 0, T0)  # a customer, not a distributor
    other = (await Customer.create(openid="o-other")).id
    assert not await binding.bind(other, product_less.code, T0)
    assert await binding.bind(shopper, code_a, T0)


async def test_every_version_of_the_rules_is_kept() -> None:
    assert (await settings.current()).version == 0
    await settings.update({"direct_rate_bp": 500})
    await settings.update({"direct_rate_bp": 700, "binding_mode": BindingMode.LAST_TOUCH})
    first = await settings.rules_of_version(1)
    assert first is not None and first.direct_rate_bp == 500 and first.binding_mode == BindingMode.FIRST_TOUCH
    assert (await settings.current()).rules == Rules(direct_rate_bp=700, binding_mode=BindingMode.LAST_TOUCH)
    assert await settings.rules_of_version(3) is None
    assert Rules.from_json(Rules(window_days=9).to_json()) == Rules(window_days=9)


def test_share_codes_are_16_characters_of_62_and_do_not_repeat() -> None:
    codes = {links.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == 16 and links.well_formed(code) for code in codes)
    assert not links.well_formed("abc-def") and not links.well_formed("a" * 33) and not links.well_formed(None)


async def test_two_distributors_binding_to_each_other_at_once_never_make_a_cycle() -> None:
    await settings.update({"enabled": True})
    for round_ in range(5):
        (a, code_a), (b, code_b) = await distributor(f"a{round_}"), await distributor(f"b{round_}")
        bound = await asyncio.gather(binding.bind(a, code_b, T0), binding.bind(b, code_a, T0))
        assert sorted(bound) == [False, True]
        found_a, found_b = await binding.distributor_of(a), await binding.distributor_of(b)
        assert (found_a is None) != (found_b is None)

"""Promotions, member levels and the distribution settings are remembered between staff changes
(`domain.remembered`): a staff change through the API is seen by the very next request, a discount that starts or
ends by the clock applies at that moment, and a request that finds them remembered reads none of them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.remembered import Memo, Remembered, changed, remembered, remembering
from tests.fixtures.catalog import gid
from tests.support.statements import count_statements

CART = "{ cart { lines { sku { id } unitPrice { amount } } discounts { source } } }"
ADD = "mutation($i: CartAddItemInput!) { cartAddItem(input: $i) { errors { code } } }"
DISCOUNT_CREATE = "mutation($i: DiscountCreateInput!) { discountCreate(input: $i) { discount { id } errors { code } } }"
DISCOUNT_END = "mutation($i: DiscountEndInput!) { discountEnd(input: $i) { errors { code } } }"
TIERS_CREATE = """mutation($i: SpendAndSaveCreateInput!) { spendAndSaveCreate(input: $i) {
  spendAndSave { id } errors { code } } }"""
TIERS_END = "mutation($i: SpendAndSaveEndInput!) { spendAndSaveEnd(input: $i) { errors { code } } }"
LEVEL_CREATE = """mutation($i: MemberLevelCreateInput!) { memberLevelCreate(input: $i) {
  memberLevel { id } errors { code } } }"""
LEVEL_DELETE = "mutation($i: MemberLevelDeleteInput!) { memberLevelDelete(input: $i) { errors { code } } }"
SETTINGS = "{ distributionSettings { version enabled } }"
SETTINGS_UPDATE = """mutation($i: DistributionSettingsUpdateInput!) { distributionSettingsUpdate(input: $i) {
  errors { code } } }"""


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def staff(gql: Any, query: str, data: dict[str, Any], token: str) -> dict[str, Any]:
    answer: dict[str, Any] = next(iter((await gql.data(query, {"i": data}, token)).values()))
    assert answer["errors"] == [], answer["errors"]
    return answer


async def cart(gql: Any, token: str) -> dict[str, Any]:
    found: dict[str, Any] = (await gql.data(CART, token=token))["cart"]
    return found


async def prices(gql: Any, token: str) -> list[int]:
    return [line["unitPrice"]["amount"] for line in (await cart(gql, token))["lines"]]


async def add(gql: Any, token: str, *skus: Any) -> None:
    for sku in skus:
        added = await gql.data(ADD, {"i": {"skuId": gid("Sku", sku.id), "quantity": 1}}, token)
        assert added["cartAddItem"]["errors"] == []


async def test_a_discount_staff_create_and_end_is_seen_by_the_next_request(shop, gql, operator_token,
                                                                           customer_token):
    sku = await shop.sku(price=1000, stock=10)
    await add(gql, customer_token, sku)
    assert await prices(gql, customer_token) == [1000]  # remembered: no discount on the SKU
    created = await staff(gql, DISCOUNT_CREATE, {
        "name": "限时八折", "startsAt": at(-60), "endsAt": at(3600),
        "items": [{"skuId": gid("Sku", sku.id), "kind": "PERCENT", "value": 20}]}, operator_token)
    assert await prices(gql, customer_token) == [800]
    await staff(gql, DISCOUNT_END, {"id": created["discount"]["id"]}, operator_token)
    assert await prices(gql, customer_token) == [1000]


async def test_discounts_start_and_end_by_the_clock_at_that_moment(shop, gql, operator_token, customer_token):
    ending, starting = await shop.sku(price=1000, stock=10), await shop.sku(price=2000, stock=10)
    await add(gql, customer_token, ending, starting)
    edge = 1.5
    for sku, starts, ends in ((ending, -60, edge), (starting, edge, 3600)):
        await staff(gql, DISCOUNT_CREATE, {
            "name": "限时八折", "startsAt": at(starts), "endsAt": at(ends),
            "items": [{"skuId": gid("Sku", sku.id), "kind": "PERCENT", "value": 20}]}, operator_token)
    switch = datetime.now(UTC) + timedelta(seconds=edge)
    assert await prices(gql, customer_token) == [800, 2000]
    await asyncio.sleep(max(0.0, (switch - datetime.now(UTC)).total_seconds()) + 0.05)
    assert await prices(gql, customer_token) == [1000, 1600]  # no staff change in between


async def test_a_spend_and_save_staff_create_and_end_is_seen_by_the_next_request(shop, gql, operator_token,
                                                                                 customer_token):
    sku = await shop.sku(price=12_000, stock=10)
    await add(gql, customer_token, sku)
    assert (await cart(gql, customer_token))["discounts"] == []
    created = await staff(gql, TIERS_CREATE, {"name": "满100减10", "startsAt": at(-60), "endsAt": at(3600),
                                               "tiers": [{"threshold": 10_000, "amount": 1000}]}, operator_token)
    promotion = created["spendAndSave"]["id"]
    assert [d["source"] for d in (await cart(gql, customer_token))["discounts"]] != []
    await staff(gql, TIERS_END, {"id": promotion}, operator_token)
    assert (await cart(gql, customer_token))["discounts"] == []


async def test_a_member_level_staff_create_and_delete_is_seen_by_the_next_request(shop, gql, operator_token,
                                                                                  customer_token):
    sku = await shop.sku(price=1000, stock=10)
    await add(gql, customer_token, sku)
    assert await prices(gql, customer_token) == [1000]
    created = await staff(gql, LEVEL_CREATE, {"name": "全员", "threshold": 0, "discountBasisPoints": 1000},
                          operator_token)
    assert await prices(gql, customer_token) == [900]
    await staff(gql, LEVEL_DELETE, {"id": created["memberLevel"]["id"]}, operator_token)
    assert await prices(gql, customer_token) == [1000]


async def test_the_distribution_settings_staff_save_are_read_back_at_once(gql, owner_token):
    before = (await gql.data(SETTINGS, token=owner_token))["distributionSettings"]
    await staff(gql, SETTINGS_UPDATE, {"enabled": not before["enabled"]}, owner_token)
    after = (await gql.data(SETTINGS, token=owner_token))["distributionSettings"]
    assert (after["version"], after["enabled"]) == (before["version"] + 1, not before["enabled"])


async def test_a_request_that_finds_them_remembered_reads_none_of_them(shop, gql, operator_token, customer_token):
    sku = await shop.sku(price=12_000, stock=10)
    await staff(gql, TIERS_CREATE, {"name": "满100减10", "startsAt": at(-60), "endsAt": at(3600),
                                     "tiers": [{"threshold": 10_000, "amount": 1000}]}, operator_token)
    await staff(gql, LEVEL_CREATE, {"name": "全员", "threshold": 0, "discountBasisPoints": 1000}, operator_token)
    await add(gql, customer_token, sku)
    await cart(gql, customer_token)
    async with count_statements() as statements:
        assert await prices(gql, customer_token) == [10_800]
    read = " ".join(statements)
    assert statements and not [table for table in ("pricing_discount_item", "member_level", "pricing_spend_and_save")
                               if table in read], statements


async def test_a_flash_buy_s_batch_reads_them_through_its_request_s_memo(shop, flash, gql, operator_token,
                                                                      customer_token, other_customer_token):
    """The group commit writes the buy in its own task: it takes the buys' memo along."""
    sku = await shop.sku(price=12_000, stock=10)
    await staff(gql, LEVEL_CREATE, {"name": "全员", "threshold": 0, "discountBasisPoints": 1000}, operator_token)
    sale = await flash.sale((sku, 9_900, 5), limit=1)
    assert (await flash.buy(customer_token, sale, sku))["errors"] == []
    async with count_statements() as statements:
        assert (await flash.buy(other_customer_token, sale, sku))["errors"] == []
    read = " ".join(statements)
    assert "flash_sale" in read and not [table for table in ("pricing_discount_item", "member_level")
                                         if table in read], statements


async def test_a_value_loaded_while_a_change_was_written_is_not_kept() -> None:
    memo = Remembered().memo_for(1)
    loads = 0

    async def load_during_a_change() -> int:
        nonlocal loads
        loads += 1
        changed()  # a staff change committed while this read was on its way
        return loads

    with remembering(memo):
        assert await remembered("key", load_during_a_change) == 1
    assert memo is not None and "key" not in memo.values


def test_a_memo_lasts_one_generation_and_no_change_written_here() -> None:
    keeper = Remembered()
    memo = keeper.memo_for(7)
    assert isinstance(memo, Memo) and keeper.memo_for(7) is memo
    assert keeper.memo_for(None) is None  # no generation known: read the database
    assert keeper.memo_for(8) is not memo
    memo = keeper.memo_for(8)
    changed()
    assert keeper.memo_for(8) is not memo


@pytest.mark.usefixtures("db")
async def test_outside_a_request_every_read_goes_to_the_database() -> None:
    loads: list[int] = []

    async def load() -> int:
        loads.append(1)
        return len(loads)

    assert (await remembered("key", load), await remembered("key", load)) == (1, 2)

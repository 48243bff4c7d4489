"""The address book through the API: one default however addresses are saved (even ten at once), a cap, every bad
field named, another customer's address out of reach, and `delivery: {addressId}` wherever a delivery is given,
the order keeping its own copy; a flash sale buy without a delivery takes the default, or is INVALID before any unit
is taken."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from domain.addresses.models import SavedAddress
from domain.flash_sale.models import FlashSaleItem
from tests.fixtures.orders import order_row

pytestmark = pytest.mark.usefixtures("audited")

FIELDS = "id name phone province city district detail isDefault"
CREATE = f"""mutation($i: AddressCreateInput!) {{ addressCreate(input: $i) {{
  address {{ {FIELDS} }} errors {{ code field }} }} }}"""
UPDATE = f"""mutation($i: AddressUpdateInput!) {{ addressUpdate(input: $i) {{
  address {{ {FIELDS} }} errors {{ code field }} }} }}"""
DELETE = """mutation($i: AddressDeleteInput!) { addressDelete(input: $i) { deletedId errors { code field } } }"""
MINE = f"{{ me {{ addresses {{ {FIELDS} }} }} }}"


def home(**fields: Any) -> dict[str, Any]:
    return {"name": "张三", "phone": "13800138000", "province": "浙江省", "city": "杭州市", "district": "西湖区",
            "detail": "文三路 1 号", **fields}


async def create(gql, token: str, **fields: Any) -> dict[str, Any]:
    return (await gql.data(CREATE, {"i": home(**fields)}, token))["addressCreate"]


async def mine(gql, token: str) -> list[dict[str, Any]]:
    return (await gql.data(MINE, token=token))["me"]["addresses"]


async def test_one_default_as_addresses_are_saved_changed_and_deleted(gql, customer_token):
    first = (await create(gql, customer_token))["address"]
    assert first["isDefault"] is True  # the first is the default anyway
    second = (await create(gql, customer_token, detail="公司", isDefault=True))["address"]
    third = (await create(gql, customer_token, detail="父母家"))["address"]
    listed = await mine(gql, customer_token)
    assert [(a["id"], a["isDefault"]) for a in listed] == [(second["id"], True), (third["id"], False),
                                                           (first["id"], False)]
    changed = (await gql.data(UPDATE, {"i": {"id": first["id"], **home(name=" 李四 "), "isDefault": True}},
                              customer_token))["addressUpdate"]
    assert changed["errors"] == [] and (changed["address"]["name"], changed["address"]["isDefault"]) == ("李四", True)
    assert [a["id"] for a in await mine(gql, customer_token) if a["isDefault"]] == [first["id"]]
    gone = (await gql.data(DELETE, {"i": {"id": first["id"]}}, customer_token))["addressDelete"]
    assert gone["errors"] == [] and gone["deletedId"] == first["id"]
    assert [a["id"] for a in await mine(gql, customer_token) if a["isDefault"]] == [third["id"]]  # the latest


async def test_ten_addresses_saved_at_once_leave_one_default_and_the_cap_holds(gql, customer_token):
    done = await asyncio.gather(*(create(gql, customer_token, detail=f"{i} 号") for i in range(10)))
    assert all(result["errors"] == [] for result in done)
    assert sum(a["isDefault"] for a in await mine(gql, customer_token)) == 1
    for i in range(10):
        assert (await create(gql, customer_token, detail=f"{i} 栋"))["errors"] == []
    over = await create(gql, customer_token)
    assert [e["code"] for e in over["errors"]] == ["LIMIT_EXCEEDED"] and await SavedAddress.all().count() == 20


async def test_every_bad_field_is_named_and_another_customers_address_is_out_of_reach(
    gql, customer_token, other_customer_token
):
    bad = await create(gql, customer_token, name=" ", phone="call me", detail="x" * 201, city="")
    assert sorted(e["field"][0] for e in bad["errors"]) == ["city", "detail", "name", "phone"]
    assert await SavedAddress.all().count() == 0
    theirs = (await create(gql, other_customer_token))["address"]
    tried = (await gql.data(UPDATE, {"i": {"id": theirs["id"], **home()}}, customer_token))["addressUpdate"]
    assert [e["code"] for e in tried["errors"]] == ["NOT_FOUND"]
    tried = (await gql.data(DELETE, {"i": {"id": theirs["id"]}}, customer_token))["addressDelete"]
    assert [e["code"] for e in tried["errors"]] == ["NOT_FOUND"]
    assert len(await mine(gql, other_customer_token)) == 1


async def test_checkout_takes_a_saved_address_and_keeps_its_own_copy(shop, gql, customer_token,
                                                                     other_customer_token):
    saved = (await create(gql, customer_token))["address"]
    sku = await shop.sku()
    result = await shop.checkout(customer_token, (sku, 1), delivery={"addressId": saved["id"]})
    assert result["errors"] == []
    await gql.data(UPDATE, {"i": {"id": saved["id"], **home(detail="搬家了")}}, customer_token)
    row = await order_row(result["order"])
    assert row.delivery["address"]["detail"] == "文三路 1 号"

    theirs = (await create(gql, other_customer_token))["address"]
    refused = await shop.checkout(customer_token, (sku, 1), delivery={"addressId": theirs["id"]})
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["delivery", "addressId"])]
    both = await shop.checkout(customer_token, (sku, 1), delivery={"addressId": saved["id"], "address": home()})
    assert [(e["code"], e["field"]) for e in both["errors"]] == [("INVALID", ["delivery"])]


async def test_a_flash_buy_without_a_delivery_takes_the_default_or_takes_no_unit(shop, flash, gql, customer_token):
    sku = await shop.sku(price=5000, stock=10)
    sale = await flash.sale((sku, 1990, 3))
    refused = await flash.buy(customer_token, sale, sku, delivery=None)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", ["delivery"])]
    assert (await FlashSaleItem.get(sku_id=sku.id)).taken == 0
    await create(gql, customer_token, detail="默认地址", isDefault=True)
    bought = await flash.buy(customer_token, sale, sku, delivery=None)
    assert bought["errors"] == []
    assert (await order_row(bought["order"])).delivery["address"]["detail"] == "默认地址"

"""Limited-time discounts through the API: staff set them up, and the product, the cart and the order agree."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from domain.inventory.models import Reservation
from domain.orders.models import Order
from domain.pricing.models import Discount, DiscountItem
from tests.fixtures.catalog import gid
from tests.support.graphql import catalog_cache, error_codes

FIELDS = "discount { id name status startsAt endsAt endedAt perCustomerLimit items { kind value sku { id } } }"
ERRORS = "errors { field code message }"
CREATE = f"mutation($i: DiscountCreateInput!) {{ discountCreate(input: $i) {{ {FIELDS} {ERRORS} }} }}"
UPDATE = f"mutation($i: DiscountUpdateInput!) {{ discountUpdate(input: $i) {{ {FIELDS} {ERRORS} }} }}"
END = f"mutation($i: DiscountEndInput!) {{ discountEnd(input: $i) {{ {FIELDS} {ERRORS} }} }}"
PRODUCT = """query($id: ID!) { product(id: $id) { priceRange { min { amount } max { amount } }
  skus { price { amount } salePrice { amount } }
  activeDiscount { id name endsAt perCustomerLimit items { kind value sku { id } } } } }"""
CART_ADD = """mutation($i: CartAddItemInput!) { cartAddItem(input: $i) {
  cart { lines { unitPrice { amount } lineTotal { amount } } total { amount } } errors { code } } }"""


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def discount_input(*items: tuple[int, str, int], starts: float = -60, ends: float = 3600, **extra) -> dict:
    return {
        "name": "双十二限时折扣",
        "startsAt": at(starts),
        "endsAt": at(ends),
        "items": [{"skuId": gid("Sku", sku_id), "kind": kind, "value": value} for sku_id, kind, value in items],
        **extra,
    }


async def create(gql, token, data) -> dict:
    return (await gql.data(CREATE, {"i": data}, token))["discountCreate"]


async def test_a_discount_prices_the_product_the_cart_and_the_order_alike(shop, gql, operator_token, customer_token):
    sku = await shop.sku(price=999, stock=10)
    created = await create(gql, operator_token, discount_input((sku.id, "PERCENT", 15), perCustomerLimit=5))
    assert created["errors"] == [] and created["discount"]["status"] == "ACTIVE"
    product = (await gql.data(PRODUCT, {"id": gid("Product", sku.product_id)}))["product"]
    assert product["skus"] == [{"price": {"amount": 999}, "salePrice": {"amount": 849}}]
    assert product["priceRange"] == {"min": {"amount": 849}, "max": {"amount": 849}}
    active = product["activeDiscount"]
    assert (active["id"], active["perCustomerLimit"]) == (created["discount"]["id"], 5)
    assert active["endsAt"] == created["discount"]["endsAt"]
    assert active["items"] == [{"kind": "PERCENT", "value": 15, "sku": {"id": gid("Sku", sku.id)}}]
    cart = (await gql.data(CART_ADD, {"i": {"skuId": gid("Sku", sku.id), "quantity": 2}}, customer_token))
    assert cart["cartAddItem"]["cart"]["lines"] == [{"unitPrice": {"amount": 849}, "lineTotal": {"amount": 1698}}]
    order, _ = await shop.place(customer_token, fromCart=True)
    assert [line["unitPrice"]["amount"] for line in order["lines"]] == [849]
    assert (order["subtotal"]["amount"], order["payable"]["amount"]) == (1698, 1698)


async def test_a_fixed_price_never_exceeds_the_list_price(gql, operator_token, make_sku):
    cheap, dear = await make_sku(price=500), await make_sku(price=3990)
    await create(gql, operator_token, discount_input((cheap.id, "FIXED_PRICE", 800), (dear.id, "FIXED_PRICE", 0)))
    for sku, expected in ((cheap, 500), (dear, 0)):
        product = (await gql.data(PRODUCT, {"id": gid("Product", sku.product_id)}))["product"]
        assert product["skus"][0]["salePrice"]["amount"] == expected


async def test_a_discount_not_yet_started_or_ended_early_leaves_the_list_price(gql, operator_token, make_sku):
    later, now = await make_sku(price=1000), await make_sku(price=1000)
    await create(gql, operator_token, discount_input((later.id, "PERCENT", 50), starts=3600, ends=7200))
    running = await create(gql, operator_token, discount_input((now.id, "PERCENT", 50)))
    product = (await gql.data(PRODUCT, {"id": gid("Product", later.product_id)}))["product"]
    assert (product["skus"][0]["salePrice"]["amount"], product["activeDiscount"]) == (1000, None)
    variables = {"id": gid("Product", now.product_id)}
    assert (await gql.data(PRODUCT, variables))["product"]["skus"][0]["salePrice"]["amount"] == 500
    ended = (await gql.data(END, {"i": {"id": running["discount"]["id"]}}, operator_token))["discountEnd"]
    assert ended["discount"]["status"] == "ENDED" and ended["discount"]["endedAt"] is not None
    product = (await gql.data(PRODUCT, variables))["product"]
    assert (product["skus"][0]["salePrice"]["amount"], product["activeDiscount"]) == (1000, None)
    again = (await gql.data(UPDATE, {"i": {"id": running["discount"]["id"], "name": "x"}}, operator_token))
    assert [e["code"] for e in again["discountUpdate"]["errors"]] == ["INVALID_STATE"]


async def test_an_overlapping_discount_is_a_duplicate_and_nothing_is_written(gql, operator_token, make_sku):
    sku, other = await make_sku(), await make_sku()
    await create(gql, operator_token, discount_input((sku.id, "PERCENT", 10)))
    refused = await create(gql, operator_token,
                           discount_input((other.id, "PERCENT", 10), (sku.id, "FIXED_PRICE", 100), starts=1800))
    assert refused["discount"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("DUPLICATE", ["items", "1", "skuId"])]
    assert await Discount.all().count() == 1 and await DiscountItem.all().count() == 1


async def test_update_changes_the_window_and_items(gql, operator_token, make_sku):
    sku = await make_sku(price=1000)
    created = await create(gql, operator_token, discount_input((sku.id, "PERCENT", 10), perCustomerLimit=2))
    data = {"id": created["discount"]["id"], "perCustomerLimit": None,
            "items": [{"skuId": gid("Sku", sku.id), "kind": "FIXED_PRICE", "value": 700}]}
    updated = (await gql.data(UPDATE, {"i": data}, operator_token))["discountUpdate"]
    assert updated["errors"] == []
    assert updated["discount"]["perCustomerLimit"] is None
    assert updated["discount"]["items"] == [{"kind": "FIXED_PRICE", "value": 700, "sku": {"id": gid("Sku", sku.id)}}]
    product = (await gql.data(PRODUCT, {"id": gid("Product", sku.product_id)}))["product"]
    assert product["skus"][0]["salePrice"]["amount"] == 700


async def test_the_per_customer_limit_is_enforced_at_checkout_and_nothing_is_reserved(
    shop, gql, operator_token, customer_token, other_customer_token
):
    sku = await shop.sku(price=2000, stock=20)
    await create(gql, operator_token, discount_input((sku.id, "PERCENT", 50), perCustomerLimit=3))
    await shop.place(customer_token, (sku, 2))
    refused = await shop.checkout(customer_token, (sku, 2))
    assert refused["order"] is None
    assert [e["code"] for e in refused["errors"]] == ["LIMIT_EXCEEDED"]
    assert await Order.all().count() == 1 and await Reservation.all().count() == 1
    assert await shop.available(sku) == 18
    await shop.place(customer_token, (sku, 1))
    await shop.place(other_customer_token, (sku, 3))


async def test_a_cancelled_order_gives_the_allowance_back(shop, gql, operator_token, customer_token):
    sku = await shop.sku(price=2000, stock=20)
    await create(gql, operator_token, discount_input((sku.id, "PERCENT", 50), perCustomerLimit=2))
    order, _ = await shop.place(customer_token, (sku, 2))
    cancel = "mutation($i: OrderCancelInput!) { orderCancel(input: $i) { errors { code } } }"
    assert (await gql.data(cancel, {"i": {"orderId": order["id"]}}, customer_token))["orderCancel"]["errors"] == []
    await shop.place(customer_token, (sku, 2))


async def test_a_cached_product_is_not_served_past_a_discount_start(gql, operator_token, make_sku, app):
    sku = await make_sku(price=1000)
    variables = {"id": gid("Product", sku.product_id)}
    cache = catalog_cache(app)
    ttl = cache.ttl
    cache.ttl = 3600
    try:
        created = await create(gql, operator_token, discount_input((sku.id, "PERCENT", 50), starts=1.5))
        assert created["errors"] == []
        starts = datetime.fromisoformat(created["discount"]["startsAt"])
        first = await gql.raw(PRODUCT, variables)
        again = await gql.raw(PRODUCT, variables)
        assert first.json()["data"]["product"]["skus"][0]["salePrice"]["amount"] == 1000
        assert again.headers["x-pond-cache"] == "hit"
        await asyncio.sleep((starts - datetime.now(UTC)).total_seconds() + 0.05)
        after = await gql.raw(PRODUCT, variables)
        assert after.json()["data"]["product"]["skus"][0]["salePrice"]["amount"] == 500
    finally:
        cache.ttl = ttl


@pytest.mark.parametrize("who", ["finance", "customer", "anonymous"])
async def test_only_owners_and_operators_manage_discounts(gql, make_sku, finance_token, customer_token, who):
    sku = await make_sku()
    token = {"finance": finance_token, "customer": customer_token, "anonymous": None}[who]
    body = await gql(CREATE, {"i": discount_input((sku.id, "PERCENT", 10))}, token)
    assert error_codes(body) == ["UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"]
    assert not await Discount.exists()


async def test_staff_list_discounts_by_status(gql, operator_token, finance_token, make_sku):
    a, b = await make_sku(), await make_sku()
    await create(gql, operator_token, discount_input((a.id, "PERCENT", 10)))
    await create(gql, operator_token, discount_input((b.id, "PERCENT", 10), starts=3600, ends=7200))
    query = "query($s: DiscountStatus) { staffDiscounts(status: $s) { totalCount edges { node { status } } } }"
    for status, count in (("ACTIVE", 1), ("SCHEDULED", 1), ("ENDED", 0), (None, 2)):
        found = (await gql.data(query, {"s": status}, finance_token))["staffDiscounts"]
        assert found["totalCount"] == count
        assert all(edge["node"]["status"] == status for edge in found["edges"] if status)

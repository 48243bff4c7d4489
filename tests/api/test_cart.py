"""The cart through GraphQL: live prices and totals, refusals that change nothing, one cart per customer."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from domain.catalog import products
from domain.catalog.models import Sku
from domain.identity.models import Customer
from tests.fixtures.cart import cart_rows
from tests.fixtures.catalog import gid
from tests.support.graphql import error_codes

CART_FIELDS = """lines { sku { id } quantity unitPrice { amount currency } lineTotal { amount } }
  unavailableLines { sku { id } quantity }
  subtotal { amount } discounts { source amount { amount } } total { amount } quantity"""
CART = f"{{ cart {{ {CART_FIELDS} }} }}"
ADD = f"""mutation($i: CartAddItemInput!) {{ cartAddItem(input: $i) {{
  cart {{ {CART_FIELDS} }} errors {{ field code message }} }} }}"""
UPDATE = f"""mutation($i: CartUpdateItemInput!) {{ cartUpdateItem(input: $i) {{
  cart {{ {CART_FIELDS} }} errors {{ field code message }} }} }}"""
REMOVE = f"""mutation($i: CartRemoveItemsInput!) {{ cartRemoveItems(input: $i) {{
  cart {{ {CART_FIELDS} }} errors {{ field code message }} }} }}"""
LOGIN = "mutation($code: String!) { login(input: {code: $code}) { token errors { code } } }"


async def add(gql, token, sku_id, quantity):
    return (await gql.data(ADD, {"i": {"skuId": sku_id, "quantity": quantity}}, token))["cartAddItem"]


async def update(gql, token, sku_id, quantity):
    return (await gql.data(UPDATE, {"i": {"skuId": sku_id, "quantity": quantity}}, token))["cartUpdateItem"]


async def remove(gql, token, sku_ids):
    return (await gql.data(REMOVE, {"i": {"skuIds": sku_ids}}, token))["cartRemoveItems"]


def summary(cart):
    """(SKU id, quantity, unit price, line total) per line, then subtotal, total and units."""
    lines = [(x["sku"]["id"], x["quantity"], x["unitPrice"]["amount"], x["lineTotal"]["amount"]) for x in cart["lines"]]
    return lines, cart["subtotal"]["amount"], cart["total"]["amount"], cart["quantity"]


@pytest_asyncio.fixture
async def two_skus(make_product):
    """The default product's SKUs: 3990 fen (stock 10) and 6990 fen (stock 5)."""
    product = await make_product()
    return await Sku.filter(product_id=product.id).order_by("id")


async def test_an_empty_cart_costs_nothing(gql, customer_token):
    cart = (await gql.data(CART, token=customer_token))["cart"]
    assert cart == {"lines": [], "unavailableLines": [], "subtotal": {"amount": 0}, "discounts": [],
                    "total": {"amount": 0}, "quantity": 0}


async def test_add_update_and_remove_keep_the_cart_priced_live(gql, customer_token, two_skus):
    small, large = gid("Sku", two_skus[0].id), gid("Sku", two_skus[1].id)
    await add(gql, customer_token, small, 2)
    added = await add(gql, customer_token, large, 1)
    assert added["errors"] == []
    assert summary(added["cart"]) == ([(small, 2, 3990, 7980), (large, 1, 6990, 6990)], 14970, 14970, 3)
    assert added["cart"]["lines"][0]["unitPrice"]["currency"] == "CNY"

    again = await add(gql, customer_token, small, 1)
    assert summary(again["cart"])[0][0] == (small, 3, 3990, 11970)

    updated = await update(gql, customer_token, large, 4)
    assert summary(updated["cart"]) == ([(small, 3, 3990, 11970), (large, 4, 6990, 27960)], 39930, 39930, 7)

    removed = await remove(gql, customer_token, [large])
    assert summary(removed["cart"]) == ([(small, 3, 3990, 11970)], 11970, 11970, 3)
    assert summary((await gql.data(CART, token=customer_token))["cart"]) == summary(removed["cart"])
    customer = await Customer.get(openid="o-customer-a")
    assert await cart_rows() == [(customer.id, two_skus[0].id, 3)]


async def _unknown(make_product):
    return gid("Sku", 999_999)


async def _malformed(make_product):
    return "not-an-id"


async def _product_id(make_product):
    return gid("Product", (await make_product()).id)


async def _unpublished(make_product):
    product = await make_product(published=False)
    return gid("Sku", (await Sku.filter(product_id=product.id).order_by("id").first()).id)


async def _deleted(make_product):
    product = await make_product()
    sku = await Sku.filter(product_id=product.id).order_by("id").first()
    await products.delete_sku(sku.id)
    return gid("Sku", sku.id)


@pytest.mark.parametrize("sku_of", [_unknown, _malformed, _product_id, _unpublished, _deleted])
async def test_adding_a_sku_that_is_not_on_sale_is_not_found_and_changes_nothing(
    gql, customer_token, two_skus, make_product, sku_of
):
    await add(gql, customer_token, gid("Sku", two_skus[0].id), 1)
    before = await cart_rows()
    for mutate in (add, update):
        payload = await mutate(gql, customer_token, await sku_of(make_product), 1)
        assert payload["cart"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", ["skuId"])]
    assert await cart_rows() == before


@pytest.mark.parametrize(
    ("stock", "quantity", "code", "message"),
    [
        (10, 0, "INVALID", "quantity must be at least 1"),
        (10, -1, "INVALID", "quantity must be at least 1"),
        (0, 1, "SOLD_OUT", "sold out"),
        (3, 4, "LIMIT_EXCEEDED", "only 3 available"),
        (500, 100, "LIMIT_EXCEEDED", "at most 99 per line"),
    ],
)
async def test_refused_quantities_change_nothing(gql, customer_token, make_sku, stock, quantity, code, message):
    sku = await make_sku(stock=stock)
    other = await make_sku()
    await add(gql, customer_token, gid("Sku", other.id), 2)
    before = await cart_rows()
    for mutate in (add, update):
        payload = await mutate(gql, customer_token, gid("Sku", sku.id), quantity)
        assert payload == {"cart": None, "errors": [{"field": ["quantity"], "code": code, "message": message}]}
    assert await cart_rows() == before


async def test_adding_past_what_is_left_names_what_is_available_and_keeps_the_line(gql, customer_token, two_skus):
    large = gid("Sku", two_skus[1].id)  # stock 5
    await add(gql, customer_token, large, 4)
    before = await cart_rows()
    payload = await add(gql, customer_token, large, 2)
    assert payload["errors"] == [
        {"field": ["quantity"], "code": "LIMIT_EXCEEDED", "message": "only 5 available; 4 already in your cart"}
    ]
    assert await cart_rows() == before


async def test_a_staff_price_change_shows_in_the_cart_at_once(gql, customer_token, operator_token, two_skus):
    small = gid("Sku", two_skus[0].id)
    await add(gql, customer_token, small, 2)
    mutation = "mutation($i: SkuUpdateInput!) { skuUpdate(input: $i) { errors { code } } }"
    changed = await gql.data(mutation, {"i": {"id": small, "price": 2500}}, operator_token)
    assert changed["skuUpdate"]["errors"] == []
    cart = (await gql.data(CART, token=customer_token))["cart"]
    assert summary(cart) == ([(small, 2, 2500, 5000)], 5000, 5000, 2)


async def test_unavailable_lines_are_shown_apart_and_left_out_of_the_totals(
    gql, customer_token, operator_token, two_skus
):
    small, large = gid("Sku", two_skus[0].id), gid("Sku", two_skus[1].id)
    await add(gql, customer_token, small, 1)
    await add(gql, customer_token, large, 2)
    mutation = "mutation($id: ID!) { skuDelete(input: {id: $id}) { errors { code } } }"
    assert (await gql.data(mutation, {"id": large}, operator_token))["skuDelete"]["errors"] == []

    cart = (await gql.data(CART, token=customer_token))["cart"]
    assert summary(cart) == ([(small, 1, 3990, 3990)], 3990, 3990, 1)
    assert cart["unavailableLines"] == [{"sku": {"id": large}, "quantity": 2}]
    assert len(await cart_rows()) == 2

    refused = await update(gql, customer_token, large, 1)
    assert refused["errors"][0]["code"] == "NOT_FOUND"
    cleared = await remove(gql, customer_token, [large])
    assert cleared["cart"]["unavailableLines"] == [] and len(await cart_rows()) == 1


async def test_a_malformed_id_in_remove_is_not_found_and_removes_nothing(gql, customer_token, two_skus):
    small = gid("Sku", two_skus[0].id)
    await add(gql, customer_token, small, 1)
    payload = await remove(gql, customer_token, [small, "garbage"])
    assert payload == {"cart": None, "errors": [{"field": ["skuIds", "1"], "code": "NOT_FOUND",
                                                 "message": "SKU not found"}]}
    assert len(await cart_rows()) == 1


async def test_the_cart_survives_a_new_login(gql, two_skus):
    small = gid("Sku", two_skus[0].id)
    first = (await gql.data(LOGIN, {"code": "mei#1"}))["login"]
    await add(gql, first["token"], small, 3)
    second = (await gql.data(LOGIN, {"code": "mei#2"}))["login"]
    assert first["errors"] == second["errors"] == [] and second["token"]
    cart = (await gql.data(CART, token=second["token"]))["cart"]
    assert summary(cart) == ([(small, 3, 3990, 11970)], 11970, 11970, 3)


async def test_each_customer_has_their_own_cart(gql, customer_token, other_customer_token, two_skus):
    small, large = gid("Sku", two_skus[0].id), gid("Sku", two_skus[1].id)
    await add(gql, customer_token, small, 2)
    await add(gql, customer_token, large, 1)
    assert (await gql.data(CART, token=other_customer_token))["cart"]["lines"] == []

    await add(gql, other_customer_token, small, 1)
    refused = await update(gql, other_customer_token, large, 3)  # only in A's cart
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["skuId"])]
    removed = await remove(gql, other_customer_token, [small, large])
    assert removed["cart"]["lines"] == []

    a = await Customer.get(openid="o-customer-a")
    assert await cart_rows() == [(a.id, two_skus[0].id, 2), (a.id, two_skus[1].id, 1)]
    cart = (await gql.data(CART, token=customer_token))["cart"]
    assert summary(cart) == ([(small, 2, 3990, 7980), (large, 1, 6990, 6990)], 14970, 14970, 3)


async def test_anonymous_callers_are_unauthenticated_and_staff_forbidden(gql, owner_token, two_skus):
    sku = gid("Sku", two_skus[0].id)
    calls = [
        (CART, None),
        (ADD, {"i": {"skuId": sku, "quantity": 1}}),
        (UPDATE, {"i": {"skuId": sku, "quantity": 1}}),
        (REMOVE, {"i": {"skuIds": [sku]}}),
    ]
    for token, code in ((None, "UNAUTHENTICATED"), (owner_token, "FORBIDDEN")):
        for query, variables in calls:
            body = await gql(query, variables, token)
            assert error_codes(body) == [code], query
            assert body["data"] is None
    assert await cart_rows() == []


async def test_20_concurrent_adds_of_one_sku_end_in_one_line_within_the_limit(gql, customer_token, make_sku):
    sku = await make_sku(stock=200)
    variables = {"i": {"skuId": gid("Sku", sku.id), "quantity": 5}}
    responses = await asyncio.gather(*(gql.raw(ADD, variables, customer_token) for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    payloads = [r.json()["data"]["cartAddItem"] for r in responses]
    codes = sorted(e["code"] for p in payloads for e in p["errors"])
    assert codes == ["LIMIT_EXCEEDED"]  # 19 × 5 = 95 fit in a line of at most 99; the 20th does not
    customer = await Customer.get(openid="o-customer-a")
    assert await cart_rows() == [(customer.id, sku.id, 95)]
    assert max(p["cart"]["quantity"] for p in payloads if p["cart"]) == 95

"""The anonymous catalog cache: fast repeats, never stale after a staff change, never for personal reads."""

from __future__ import annotations

import asyncio

from domain.catalog.models import Sku
from domain.identity.models import Customer
from domain.members import levels
from domain.members.levels import LevelDraft
from tests.fixtures.catalog import gid
from tests.fixtures.members import order_with_money
from tests.support.graphql import catalog_cache

PRODUCT = "query($id: ID!) { product(id: $id) { title skus { price { amount } available } } }"


async def test_a_repeated_anonymous_catalog_read_is_served_from_the_cache(gql, make_product):
    product = await make_product("脐橙")
    first = await gql.raw(PRODUCT, {"id": gid("Product", product.id)})
    again = await gql.raw("query($id: ID!) {\n  product(id: $id) { title skus { price { amount } available } }\n}",
                          {"id": gid("Product", product.id)})
    assert first.headers["x-pond-cache"] == "miss"
    assert again.headers["x-pond-cache"] == "hit"
    assert again.json() == first.json()


async def test_a_staff_price_change_is_visible_on_the_next_read(gql, make_product, operator_token):
    product = await make_product("脐橙")
    variables = {"id": gid("Product", product.id)}
    before = (await gql.data(PRODUCT, variables))["product"]
    sku = await Sku.filter(product_id=product.id).order_by("id").first()
    mutation = "mutation($i: SkuUpdateInput!) { skuUpdate(input: $i) { errors { code } } }"
    await gql.data(mutation, {"i": {"id": gid("Sku", sku.id), "price": 1234}}, operator_token)
    after = (await gql.data(PRODUCT, variables))["product"]
    assert before["skus"][0]["price"]["amount"] == 3990
    assert after["skus"][0]["price"]["amount"] == 1234


async def test_an_unpublished_product_disappears_at_once(gql, make_product, operator_token):
    product = await make_product("脐橙")
    variables = {"id": gid("Product", product.id)}
    assert (await gql.data(PRODUCT, variables))["product"] is not None
    mutation = "mutation($id: ID!) { productPublish(input: {id: $id, published: false}) { errors { code } } }"
    await gql.data(mutation, variables, operator_token)
    assert (await gql.data(PRODUCT, variables))["product"] is None


async def test_stock_sold_outside_staff_mutations_shows_within_the_lag(gql, make_product, app):
    product = await make_product("脐橙")
    variables = {"id": gid("Product", product.id)}
    cache = catalog_cache(app)
    ttl = cache.ttl
    cache.ttl = 0.3
    try:
        assert (await gql.data(PRODUCT, variables))["product"]["skus"][0]["available"] == 10
        await Sku.filter(product_id=product.id).update(stock=0)
        assert (await gql.data(PRODUCT, variables))["product"]["skus"][0]["available"] == 10
        await asyncio.sleep(0.35)
        assert (await gql.data(PRODUCT, variables))["product"]["skus"][0]["available"] == 0
    finally:
        cache.ttl = ttl


async def test_a_customers_catalog_read_is_the_anonymous_one_and_served_from_the_cache(
    gql, make_product, customer_token
):
    product = await make_product("脐橙")
    variables = {"id": gid("Product", product.id)}
    anonymous = await gql.raw(PRODUCT, variables)
    mine = await gql.raw(PRODUCT, variables, token=customer_token)
    nobody = await gql.raw(PRODUCT, variables, token="not-a-token")
    assert (anonymous.headers["x-pond-cache"], mine.headers["x-pond-cache"], nobody.headers["x-pond-cache"]) == (
        "miss", "hit", "hit")
    assert mine.json() == anonymous.json()


async def test_staff_reads_and_errors_bypass_the_cache(gql, make_product, operator_token):
    product = await make_product("脐橙", published=False)
    variables = {"id": gid("Product", product.id)}
    assert (await gql.raw(PRODUCT, variables)).json()["data"]["product"] is None
    for _ in range(2):
        response = await gql.raw(PRODUCT, variables, token=operator_token)
        assert "x-pond-cache" not in response.headers
        assert response.json()["data"]["product"]["title"] == "脐橙"  # staff see what customers may not
    for _ in range(2):
        response = await gql.raw("{ products(first: 500) { totalCount } }")
        assert response.headers["x-pond-cache"] == "miss"


async def test_mutations_and_other_queries_are_never_cached(gql):
    for _ in range(2):
        response = await gql.raw("mutation { login(input: {code: \"zed#1\"}) { token } }")
        assert "x-pond-cache" not in response.headers


MEMBER_PRICE = "query($id: ID!) { product(id: $id) { skus { salePrice { amount } } } }"


async def _read(gql, variables, token=None) -> tuple[str, int]:
    response = await gql.raw(MEMBER_PRICE, variables, token=token)
    return response.headers["x-pond-cache"], response.json()["data"]["product"]["skus"][0]["salePrice"]["amount"]


async def test_member_prices_are_cached_per_audience_never_per_customer_nor_for_anyone_else(
    gql, make_product, issue_customer_token, app, operator_token
):
    product = await make_product("脐橙")  # 3990
    variables = {"id": gid("Product", product.id)}
    silver = await levels.create(LevelDraft(name="银卡", threshold=10_000, discount_bp=500))
    tokens = app.state.services.tokens
    member, other_member, newcomer = [await issue_customer_token(f"o-{name}") for name in ("a", "c", "b")]
    await order_with_money(tokens.decode(member).id, wechatpay=10_000)
    await order_with_money(tokens.decode(other_member).id, wechatpay=7_000, wallet_principal=13_000)

    assert await _read(gql, variables) == ("miss", 3990)
    assert await _read(gql, variables, member) == ("miss", 3790)  # not the anonymous entry
    assert await _read(gql, variables, member) == ("hit", 3790)
    assert await _read(gql, variables) == ("hit", 3990)  # not the member's entry
    assert await _read(gql, variables, newcomer) == ("hit", 3990)  # no level yet: priced as anyone
    assert await _read(gql, variables, other_member) == ("hit", 3790)  # the same level: the same audience

    await order_with_money(tokens.decode(newcomer).id, wechatpay=10_000)  # reached at once, not after a TTL
    assert await _read(gql, variables, newcomer) == ("hit", 3790)
    await order_with_money(tokens.decode(member).id, wechatpay=-1)  # a refund takes the level back
    assert await _read(gql, variables, member) == ("hit", 3990)

    mutation = "mutation($i: MemberLevelUpdateInput!) { memberLevelUpdate(input: $i) { errors { code } } }"
    await gql.data(mutation, {"i": {"id": gid("MemberLevel", silver.id), "discountBasisPoints": 800}},
                   operator_token)
    assert await _read(gql, variables, other_member) == ("miss", 3670)  # 3990 × 0.92 = 3670.8
    assert await _read(gql, variables) == ("miss", 3990)  # a change to the levels drops the cached catalog


async def test_a_blocked_members_catalog_is_the_anonymous_one(gql, make_product, customer_token, app):
    product = await make_product("脐橙")
    variables = {"id": gid("Product", product.id)}
    await levels.create(LevelDraft(name="全员", threshold=0, discount_bp=1000))
    assert await _read(gql, variables, customer_token) == ("miss", 3591)
    customer_id = app.state.services.tokens.decode(customer_token).id
    await Customer.filter(id=customer_id).update(blocked=True)
    await app.state.runtime.services.access.changed("customer", customer_id)
    assert await _read(gql, variables, customer_token) == ("miss", 3990)

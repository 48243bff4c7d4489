"""No N+1: a catalog page costs the same few SQL statements for 5 products as for 50."""

from __future__ import annotations

from domain.members import levels
from domain.members.levels import LevelDraft
from tests.support.graphql import count_queries

PAGE = """query($first: Int!) { products(first: $first) { totalCount edges { node {
  title priceRange { min { amount } } category { name parent { name } } activeDiscount { name endsAt }
  skus { specs { name value } price { amount } salePrice { amount } available product { title } } } } } }"""

# products page + totalCount + SKUs of the page + their live discounts + their categories + their parents:
# one statement each, whatever the page size.
EXPECTED_STATEMENTS = 6


async def seen_once(gql, token: str) -> None:
    """A token's account is read on its first request, then served from the access cache for a few seconds: make
    that first request before counting, so the counts are the page's own."""
    await gql("{ __typename }", token=token)


async def test_a_page_of_50_costs_the_same_queries_as_a_page_of_5(gql, make_product, operator_token):
    for i in range(50):
        await make_product(f"商品{i}")
    await seen_once(gql, operator_token)
    with count_queries() as small:
        data = await gql.data(PAGE, {"first": 5}, token=operator_token)
    assert len(data["products"]["edges"]) == 5
    with count_queries() as large:
        data = await gql.data(PAGE, {"first": 50}, token=operator_token)
    assert len(data["products"]["edges"]) == 50
    assert len(small) == len(large) <= EXPECTED_STATEMENTS, large


FLASH_PAGE = """query($first: Int!) { products(first: $first) { edges { node {
  title flashSale { name status items { price { amount } buyPrice { amount } remaining sku { id } } } } } } }"""
# products page + their flash sales + the sales' items + the items' SKUs + the SKUs' live discounts, and (a
# customer's read) whether any member level takes something off
FLASH_STATEMENTS = 6


async def test_flash_sales_on_a_page_of_20_cost_the_same_queries_as_on_a_page_of_2(flash, shop, gql,
                                                                                   customer_token):
    for _ in range(20):
        sku = await shop.sku(price=1000, stock=10)
        await flash.sale((sku, 500, 2))
    await seen_once(gql, customer_token)
    with count_queries() as small:
        data = await gql.data(FLASH_PAGE, {"first": 2}, token=customer_token)
    assert [edge["node"]["flashSale"]["status"] for edge in data["products"]["edges"]] == ["ACTIVE"] * 2
    with count_queries() as large:
        data = await gql.data(FLASH_PAGE, {"first": 20}, token=customer_token)
    assert len(data["products"]["edges"]) == 20
    assert len(small) == len(large) <= FLASH_STATEMENTS, large


# the page as staff read it (EXPECTED_STATEMENTS), and for a member: whether a level takes something off, then (in
# `discount_for`) the levels and what the customer has paid, once per request
MEMBER_STATEMENTS = EXPECTED_STATEMENTS + 3


async def test_a_members_page_of_50_costs_the_same_queries_as_a_page_of_5(gql, make_product, customer_token):
    await levels.create(LevelDraft(name="银卡", threshold=0, discount_bp=500))
    for i in range(50):
        await make_product(f"商品{i}")
    await seen_once(gql, customer_token)
    with count_queries() as small:
        data = await gql.data(PAGE, {"first": 5}, token=customer_token)
    assert data["products"]["edges"][0]["node"]["skus"][0]["salePrice"]["amount"] == 3990 * 95 // 100
    with count_queries() as large:
        data = await gql.data(PAGE, {"first": 50}, token=customer_token)
    assert len(data["products"]["edges"]) == 50
    assert len(small) == len(large) <= MEMBER_STATEMENTS, large

"""No N+1 on orders: a page of orders with their lines, SKUs and refunds costs the same for 2 orders as for 12."""

from __future__ import annotations

from tests.support.graphql import count_queries

PAGE = """query($first: Int!) { orders(first: $first) { totalCount edges { node {
  number status payable { amount } delivery { address { city } }
  lines { title quantity unitPrice { amount } sku { id price { amount } available } }
  refunds { status amount { amount } } } } } }"""

# orders page + totalCount + the page's lines + their SKUs + the page's refunds: one statement each.
EXPECTED_STATEMENTS = 5


async def test_an_orders_page_costs_the_same_queries_for_2_and_12_orders(shop, gql, customer_token):
    skus = [await shop.sku(stock=50) for _ in range(3)]
    for i in range(12):
        await shop.place(customer_token, (skus[i % 3], 1), (skus[(i + 1) % 3], 2))

    with count_queries() as small:
        data = await gql.data(PAGE, {"first": 2}, customer_token)
    assert len(data["orders"]["edges"]) == 2
    with count_queries() as large:
        data = await gql.data(PAGE, {"first": 12}, customer_token)
    assert len(data["orders"]["edges"]) == 12
    assert all(len(e["node"]["lines"]) == 2 and e["node"]["lines"][0]["sku"] for e in data["orders"]["edges"])
    assert len(small) == len(large) <= EXPECTED_STATEMENTS, large

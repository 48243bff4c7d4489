"""No N+1: a catalog page costs the same few SQL statements for 5 products as for 50."""

from __future__ import annotations

from tests.support.graphql import count_queries

PAGE = """query($first: Int!) { products(first: $first) { totalCount edges { node {
  title priceRange { min { amount } } category { name parent { name } } activeDiscount { name endsAt }
  skus { specs { name value } price { amount } salePrice { amount } available product { title } } } } } }"""

# products page + totalCount + SKUs of the page + their live discounts + their categories + their parents:
# one statement each, whatever the page size.
EXPECTED_STATEMENTS = 6


async def test_a_page_of_50_costs_the_same_queries_as_a_page_of_5(gql, make_product, operator_token):
    for i in range(50):
        await make_product(f"商品{i}")
    with count_queries() as small:
        data = await gql.data(PAGE, {"first": 5}, token=operator_token)
    assert len(data["products"]["edges"]) == 5
    with count_queries() as large:
        data = await gql.data(PAGE, {"first": 50}, token=operator_token)
    assert len(data["products"]["edges"]) == 50
    assert len(small) == len(large) <= EXPECTED_STATEMENTS, large

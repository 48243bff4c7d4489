"""What shoppers read: only published goods, paginated by cursor, filtered by category tree and title."""

from __future__ import annotations

from domain.catalog import products as product_rules
from tests.fixtures.catalog import gid
from tests.support.graphql import error_codes

PRODUCTS = """
query Products($first: Int, $after: String, $categoryId: ID, $search: String) {
  products(first: $first, after: $after, categoryId: $categoryId, search: $search) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id title priceRange { min { amount currency } max { amount } }
            category { name }
            skus { specs { name value } price { amount } originalPrice { amount } available stock } } }
  }
}
"""


def titles(data: dict) -> list[str]:
    return [edge["node"]["title"] for edge in data["products"]["edges"]]


async def test_products_show_only_published_goods_with_skus_and_prices(gql, make_product):
    await make_product("赣南脐橙")
    await make_product("草稿商品", published=False)
    data = await gql.data(PRODUCTS, {"first": 10})
    assert titles(data) == ["赣南脐橙"]
    node = data["products"]["edges"][0]["node"]
    assert node["priceRange"] == {"min": {"amount": 3990, "currency": "CNY"}, "max": {"amount": 6990}}
    assert node["category"] == {"name": "生鲜水果"}
    assert node["skus"][0] == {
        "specs": [{"name": "规格", "value": "5斤装"}],
        "price": {"amount": 3990},
        "originalPrice": {"amount": 4990},
        "available": 10,
        "stock": None,
    }
    assert data["products"]["totalCount"] == 1


async def test_cursor_pages_walk_every_product_once_in_merchant_order(gql, make_product):
    for i in range(7):
        await make_product(f"商品{i}", sort_order=10 - i)
    seen, after = [], None
    while True:
        data = await gql.data(PRODUCTS, {"first": 3, "after": after})
        seen += titles(data)
        assert data["products"]["totalCount"] == 7
        if not data["products"]["pageInfo"]["hasNextPage"]:
            break
        after = data["products"]["pageInfo"]["endCursor"]
    assert seen == [f"商品{i}" for i in reversed(range(7))]


async def test_a_top_level_category_includes_its_subcategories(gql, make_product, fruit, citrus):
    await make_product("柑橘礼盒", category=citrus)
    await make_product("苹果", category=fruit)
    data = await gql.data(PRODUCTS, {"categoryId": gid("Category", fruit.id)})
    assert sorted(titles(data)) == ["柑橘礼盒", "苹果"]
    data = await gql.data(PRODUCTS, {"categoryId": gid("Category", citrus.id)})
    assert titles(data) == ["柑橘礼盒"]


async def test_search_matches_part_of_the_title(gql, make_product):
    await make_product("赣南脐橙 礼盒装")
    await make_product("烟台苹果")
    assert titles(await gql.data(PRODUCTS, {"search": "脐橙"})) == ["赣南脐橙 礼盒装"]


async def test_deleted_and_unpublished_products_read_as_null(gql, make_product):
    kept = await make_product("在售")
    hidden = await make_product("下架", published=False)
    gone = await make_product("删除")
    await product_rules.delete_product(gone.id)
    query = "query($id: ID!) { product(id: $id) { title } }"
    assert (await gql.data(query, {"id": gid("Product", kept.id)}))["product"] == {"title": "在售"}
    assert (await gql.data(query, {"id": gid("Product", hidden.id)}))["product"] is None
    assert (await gql.data(query, {"id": gid("Product", gone.id)}))["product"] is None
    assert (await gql.data(query, {"id": gid("Category", kept.id)}))["product"] is None


async def test_node_resolves_visible_objects_by_global_id(gql, make_product, fruit):
    product = await make_product("节点")
    query = "query($id: ID!) { node(id: $id) { id ... on Product { title } ... on Category { name } } }"
    assert (await gql.data(query, {"id": gid("Product", product.id)}))["node"]["title"] == "节点"
    assert (await gql.data(query, {"id": gid("Category", fruit.id)}))["node"]["name"] == "生鲜水果"
    assert (await gql.data(query, {"id": gid("Nope", 1)}))["node"] is None


async def test_staff_see_stock_and_unpublished_goods(gql, make_product, operator_token):
    await make_product("草稿", published=False)
    query = "{ staffProducts(first: 5, published: false) { totalCount edges { node { title skus { stock } } } } }"
    data = await gql.data(query, token=operator_token)
    assert data["staffProducts"]["totalCount"] == 1
    assert data["staffProducts"]["edges"][0]["node"]["skus"][0]["stock"] == 10


async def test_page_size_over_100_is_an_invalid_error_not_a_crash(gql):
    body = await gql(PRODUCTS, {"first": 101})
    assert error_codes(body) == ["INVALID"]
    assert "first must be between 0 and 100" in body["errors"][0]["message"]


async def test_a_forged_cursor_is_an_invalid_error(gql, make_product):
    await make_product()
    body = await gql(PRODUCTS, {"after": "bm90LWEtY3Vyc29y"})
    assert error_codes(body) == ["INVALID"]


async def test_categories_return_the_tree(gql, fruit, citrus):
    data = await gql.data("{ categories { name parent { name } children { name parent { name } } } }")
    assert data["categories"] == [
        {"name": "生鲜水果", "parent": None, "children": [{"name": "柑橘", "parent": {"name": "生鲜水果"}}]}
    ]

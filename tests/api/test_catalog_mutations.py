"""Goods management through the staff mutations: rules enforced, errors change nothing, roles respected."""

from __future__ import annotations

import pytest

from domain.catalog.models import Category, Product, Sku, StockMovement
from tests.fixtures.catalog import gid
from tests.support.graphql import error_codes

PRODUCT_CREATE = """
mutation($input: ProductCreateInput!) {
  productCreate(input: $input) {
    product { id title published skus { specs { name value } price { amount } available } }
    errors { field code message }
  }
}
"""


def product_input(category_id: str, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "title": "烟台红富士苹果",
        "categoryId": category_id,
        "skus": [
            {"specs": [{"name": "规格", "value": "5斤"}], "price": 2990, "originalPrice": 3990, "stock": 20},
            {"specs": [{"name": "规格", "value": "10斤"}], "price": 4990, "stock": 8},
        ],
    }
    values.update(overrides)
    return values


async def test_operator_creates_a_product_with_skus_and_an_audited_opening_stock(gql, operator_token, fruit):
    data = await gql.data(PRODUCT_CREATE, {"input": product_input(gid("Category", fruit.id))}, operator_token)
    payload = data["productCreate"]
    assert payload["errors"] == []
    assert payload["product"]["published"] is False
    assert [s["available"] for s in payload["product"]["skus"]] == [20, 8]
    movements = await StockMovement.all().values_list("delta", "reason")
    assert sorted(movements) == [(8, "initial stock"), (20, "initial stock")]


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"title": "   "}, "INVALID", ["title"]),
        ({"skus": [{"specs": [], "price": -1}]}, "INVALID", ["skus", "0", "price"]),
        ({"skus": [{"specs": [], "price": 100, "originalPrice": 50}]}, "INVALID", ["skus", "0", "originalPrice"]),
        ({"skus": []}, "INVALID", ["skus"]),
        (
            {
                "skus": [
                    {"specs": [{"name": "颜色", "value": "红"}, {"name": "尺码", "value": "M"}], "price": 100},
                    {"specs": [{"name": "尺码", "value": "M"}, {"name": "颜色", "value": "红"}], "price": 200},
                ]
            },
            "DUPLICATE",
            ["skus", "1", "specs"],
        ),
        ({"categoryId": "Q2F0ZWdvcnk6OTk5OQ=="}, "NOT_FOUND", ["categoryId"]),
        ({"categoryId": "garbage"}, "NOT_FOUND", ["categoryId"]),
    ],
)
async def test_invalid_products_are_refused_and_nothing_is_written(gql, operator_token, fruit, overrides, code, field):
    variables = {"input": product_input(gid("Category", fruit.id), **overrides)}
    payload = (await gql.data(PRODUCT_CREATE, variables, operator_token))["productCreate"]
    assert payload["product"] is None
    assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == (code, field)
    assert await Product.all().count() == 0
    assert await Sku.all().count() == 0


async def test_a_float_price_is_rejected_by_the_schema(gql, operator_token, fruit):
    variables = {"input": product_input(gid("Category", fruit.id), skus=[{"specs": [], "price": 29.9}])}
    body = await gql(PRODUCT_CREATE, variables, operator_token)
    assert body.get("data") is None and "Int cannot represent non-integer value" in body["errors"][0]["message"]
    assert await Product.all().count() == 0


async def test_all_field_problems_are_reported_at_once(gql, operator_token, fruit):
    variables = {"input": product_input(gid("Category", fruit.id), title="", skus=[{"specs": [], "price": -5}])}
    payload = (await gql.data(PRODUCT_CREATE, variables, operator_token))["productCreate"]
    assert {tuple(e["field"]) for e in payload["errors"]} == {("title",), ("skus", "0", "price")}


async def test_a_category_with_products_cannot_be_deleted(gql, operator_token, make_product, fruit):
    await make_product()
    mutation = "mutation($id: ID!) { categoryDelete(input: {id: $id}) { deletedId errors { code } } }"
    payload = (await gql.data(mutation, {"id": gid("Category", fruit.id)}, operator_token))["categoryDelete"]
    assert payload == {"deletedId": None, "errors": [{"code": "IN_USE"}]}
    assert await Category.filter(id=fruit.id).exists()


async def test_an_empty_category_is_deleted(gql, operator_token, fruit):
    mutation = "mutation($id: ID!) { categoryDelete(input: {id: $id}) { deletedId errors { code } } }"
    payload = (await gql.data(mutation, {"id": gid("Category", fruit.id)}, operator_token))["categoryDelete"]
    assert payload == {"deletedId": gid("Category", fruit.id), "errors": []}
    assert not await Category.filter(id=fruit.id).exists()


async def test_a_category_cannot_move_under_its_own_child(gql, operator_token, fruit, citrus):
    mutation = "mutation($i: CategoryUpdateInput!) { categoryUpdate(input: $i) { errors { code field } } }"
    variables = {"i": {"id": gid("Category", fruit.id), "parentId": gid("Category", citrus.id)}}
    payload = (await gql.data(mutation, variables, operator_token))["categoryUpdate"]
    assert payload["errors"] == [{"code": "INVALID", "field": ["parentId"]}]


async def test_sku_with_existing_specs_is_a_duplicate(gql, operator_token, make_product):
    product = await make_product()
    mutation = """mutation($i: SkuCreateInput!) { skuCreate(input: $i) { sku { id } errors { code field } } }"""
    variables = {"i": {"productId": gid("Product", product.id), "specs": [{"name": "规格", "value": "5斤装"}],
                       "price": 100}}
    payload = (await gql.data(mutation, variables, operator_token))["skuCreate"]
    assert payload == {"sku": None, "errors": [{"code": "DUPLICATE", "field": ["specs"]}]}
    assert await Sku.filter(product_id=product.id).count() == 2


async def test_sku_update_changes_price_and_clears_original_price(gql, operator_token, make_product):
    product = await make_product()
    sku = await Sku.filter(product_id=product.id).order_by("id").first()
    mutation = """mutation($i: SkuUpdateInput!) {
      skuUpdate(input: $i) { sku { price { amount } originalPrice { amount } } errors { code } } }"""
    variables = {"i": {"id": gid("Sku", sku.id), "price": 3500, "originalPrice": None}}
    payload = (await gql.data(mutation, variables, operator_token))["skuUpdate"]
    assert payload == {"sku": {"price": {"amount": 3500}, "originalPrice": None}, "errors": []}


async def test_stock_adjust_is_audited_and_never_goes_below_zero(gql, operator_token, make_product):
    product = await make_product()
    sku = await Sku.filter(product_id=product.id).order_by("id").first()
    mutation = """mutation($i: StockAdjustInput!) { stockAdjust(input: $i) { sku { stock available }
      errors { code field } } }"""
    ok = await gql.data(mutation, {"i": {"skuId": gid("Sku", sku.id), "delta": -4, "reason": "盘点损耗"}},
                        operator_token)
    assert ok["stockAdjust"] == {"sku": {"stock": 6, "available": 6}, "errors": []}
    refused = await gql.data(mutation, {"i": {"skuId": gid("Sku", sku.id), "delta": -7, "reason": "出库"}},
                             operator_token)
    assert refused["stockAdjust"]["errors"] == [{"code": "INVALID", "field": ["delta"]}]
    await sku.refresh_from_db()
    assert sku.stock == 6
    movements = await StockMovement.filter(sku_id=sku.id).order_by("id").values_list("delta", "stock_after", "actor")
    assert [m[:2] for m in movements] == [(10, 10), (-4, 6)]
    assert movements[-1][2].startswith("staff:")
    assert sum(m[0] for m in movements) == sku.stock


async def test_publishing_needs_a_sku_and_deleting_the_last_sku_of_a_published_product_is_refused(
    gql, operator_token, make_product
):
    product = await make_product(skus=[{"specs": [], "price": 100, "stock": 1}])
    sku = await Sku.get(product_id=product.id)
    mutation = "mutation($id: ID!) { skuDelete(input: {id: $id}) { deletedId errors { code } } }"
    payload = (await gql.data(mutation, {"id": gid("Sku", sku.id)}, operator_token))["skuDelete"]
    assert payload == {"deletedId": None, "errors": [{"code": "INVALID_STATE"}]}


async def test_product_delete_withdraws_it_but_keeps_the_rows(gql, operator_token, make_product):
    product = await make_product()
    mutation = "mutation($id: ID!) { productDelete(input: {id: $id}) { deletedId errors { code } } }"
    payload = (await gql.data(mutation, {"id": gid("Product", product.id)}, operator_token))["productDelete"]
    assert payload["errors"] == []
    await product.refresh_from_db()
    assert product.deleted_at is not None and product.published is False
    again = (await gql.data(mutation, {"id": gid("Product", product.id)}, operator_token))["productDelete"]
    assert again["errors"] == [{"code": "NOT_FOUND"}]


MUTATION_BY_ROLE = "mutation($i: CategoryCreateInput!) { categoryCreate(input: $i) { category { name } } }"


async def test_anonymous_callers_are_unauthenticated(gql):
    body = await gql(MUTATION_BY_ROLE, {"i": {"name": "x"}})
    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert await Category.all().count() == 0


async def test_customers_and_finance_staff_are_forbidden(gql, customer_token, finance_token):
    for token in (customer_token, finance_token):
        body = await gql(MUTATION_BY_ROLE, {"i": {"name": "x"}}, token)
        assert error_codes(body) == ["FORBIDDEN"]
    assert await Category.all().count() == 0


async def test_owner_and_operator_manage_goods(gql, owner_token, operator_token):
    for token in (owner_token, operator_token):
        data = await gql.data(MUTATION_BY_ROLE, {"i": {"name": "新分类"}}, token)
        assert data["categoryCreate"]["category"] == {"name": "新分类"}
    assert await Category.all().count() == 2


async def test_customers_cannot_list_staff_products(gql, customer_token):
    body = await gql("{ staffProducts { totalCount } }", token=customer_token)
    assert error_codes(body) == ["FORBIDDEN"]


async def test_a_garbage_token_is_unauthenticated(gql):
    body = await gql(MUTATION_BY_ROLE, {"i": {"name": "x"}}, "not-a-jwt")
    assert error_codes(body) == ["UNAUTHENTICATED"]

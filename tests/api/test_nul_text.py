"""A NUL character in any text a client sends is INVALID on every backend, never an internal error."""

from __future__ import annotations

import logging

from domain.orders.models import Order
from tests.fixtures.orders import ADDRESS, CHECKOUT
from tests.support.graphql import GraphQLClient, error_codes

SEARCH = "query($s: String) { products(search: $s) { totalCount } }"


async def test_a_nul_in_a_search_variable_is_an_invalid_query_error(gql: GraphQLClient, make_product) -> None:
    await make_product("赣南脐橙")
    body = await gql(SEARCH, {"s": "脐橙\u0000"})
    assert error_codes(body) == ["INVALID"]
    assert "NUL" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["field"] == ["search"]


async def test_a_nul_in_an_inline_literal_is_an_invalid_query_error(gql: GraphQLClient, make_product) -> None:
    await make_product("赣南脐橙")
    body = await gql('{ products(search: "\\u0000") { totalCount } }')
    assert error_codes(body) == ["INVALID"]


async def test_text_without_a_nul_is_searched_as_before(gql: GraphQLClient, make_product) -> None:
    await make_product("赣南脐橙")
    assert (await gql.data(SEARCH, {"s": "脐橙"}))["products"]["totalCount"] == 1


async def test_a_nul_deep_in_a_mutation_input_is_an_invalid_user_error_and_writes_nothing(
    shop, customer_token: str
) -> None:
    sku = await shop.make_sku()
    address = {**ADDRESS, "detail": "科技园\u0000 1 号"}
    variables = {"i": {"lines": [{"skuId": _gid(sku.id), "quantity": 1}], "delivery": {"address": address}}}
    result = (await shop.gql.data(CHECKOUT, variables, customer_token))["checkout"]
    assert result["order"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID", ["delivery", "address", "detail"])]
    assert not await Order.exists()


async def test_a_nul_in_an_inline_mutation_literal_is_an_invalid_user_error(gql: GraphQLClient) -> None:
    body = await gql('mutation { login(input: {code: "alice\\u0000"}) { token errors { code field } } }')
    assert "errors" not in body, body
    assert body["data"]["login"] == {"token": None, "errors": [{"code": "INVALID", "field": ["code"]}]}


def _gid(sku_id: int) -> str:
    from tests.fixtures.catalog import gid

    return gid("Sku", sku_id)


async def test_a_client_error_is_logged_at_info_without_a_traceback(gql: GraphQLClient, caplog) -> None:
    caplog.set_level(logging.INFO)
    body = await gql(SEARCH, {"s": "\u0000"})
    assert error_codes(body) == ["INVALID"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if r.exc_info]

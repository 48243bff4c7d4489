"""A crowd on a sold-out SKU is answered before GraphQL runs (server/flash_buy_lane.py), with the bytes GraphQL
itself answered for the same document; whatever the lane cannot vouch for is run through GraphQL."""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
import pytest

from resolvers import flash_sale as flash_resolvers
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ADDRESS
from tests.support.graphql import GraphQLClient, error_codes

pytestmark = [pytest.mark.usefixtures("audited"), pytest.mark.redis_cluster_too]

_names = itertools.count()


def buy_document(selection: str = "order { id } payment { package } errors { code message field }") -> str:
    """A document of its own (the lane keeps what it learns for the app's lifetime)."""
    return f"mutation Tap{next(_names)}($in: FlashSaleBuyInput!) {{ flashSaleBuy(input: $in) {{ {selection} }} }}"


def label_of(document: str) -> str:
    return re.match(r"mutation (\w+)", document).group(1)  # type: ignore[union-attr]


def buy_input(sale: dict[str, Any], sku: Any, key: str, **fields: Any) -> dict[str, Any]:
    return {"in": {"flashSaleId": sale["id"], "skuId": gid("Sku", sku.id), "quantity": 1, "idempotencyKey": key,
                   "delivery": {"address": ADDRESS}, **fields}}


def count_resolver_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    runs: list[int] = []
    resolve = flash_resolvers.flash_sale_buy

    async def counted(ctx: Any, data: Any) -> Any:
        runs.append(1)
        return await resolve(ctx, data)

    monkeypatch.setattr(flash_resolvers, "flash_sale_buy", counted)
    return runs


async def sold_out(shop: Any, flash: Any, buyer_token: str) -> tuple[dict[str, Any], Any]:
    """A running sale whose one unit the buyer took."""
    sku = await shop.sku(price=5990, stock=30)
    sale = await flash.sale((sku, 990, 1), limit=1)
    assert (await flash.buy(buyer_token, sale, sku))["errors"] == []
    return sale, sku


def operations(metrics: str, label: str) -> float:
    found = re.search(rf'pond_graphql_operations_total{{operation="{label}",outcome="ok",type="mutation"}} (\S+)',
                      metrics)
    return float(found.group(1)) if found else 0.0


async def test_a_sold_out_answer_is_sent_again_without_running_graphql(shop, flash, gql: GraphQLClient,
                                                                       http: httpx.AsyncClient, customer_token,
                                                                       other_customer_token, monkeypatch):
    sale, sku = await sold_out(shop, flash, customer_token)
    document = buy_document()
    runs = count_resolver_runs(monkeypatch)

    learnt = await gql.raw(document, buy_input(sale, sku, "tap-1"), other_customer_token)
    assert learnt.json()["data"]["flashSaleBuy"]["errors"][0]["code"] == "SOLD_OUT"
    assert runs == [1]
    crowd = [await gql.raw(document, buy_input(sale, sku, f"tap-{n}"), other_customer_token) for n in range(2, 7)]

    assert runs == [1], "the crowd was answered before GraphQL"
    for answer in crowd:
        assert answer.status_code == 200 and answer.content == learnt.content
        assert answer.headers["content-type"] == learnt.headers["content-type"]
    assert operations((await http.get("/metrics")).text, label_of(document)) == 6


async def test_the_answer_is_the_one_graphql_gives_that_document(shop, flash, gql: GraphQLClient, customer_token,
                                                                 other_customer_token, monkeypatch):
    sale, sku = await sold_out(shop, flash, customer_token)
    document = buy_document("__typename problems: errors { code field } ... on FlashSaleBuyPayload { order { id } }")
    runs = count_resolver_runs(monkeypatch)

    answers = [(await gql.raw(document, buy_input(sale, sku, f"k{n}"), other_customer_token)).json()
               for n in range(3)]

    assert runs == [1]
    expected = {"__typename": "FlashSaleBuyPayload", "problems": [{"code": "SOLD_OUT", "field": ["skuId"]}],
                "order": None}
    assert answers == [{"data": {"flashSaleBuy": expected}}] * 3


async def test_anything_graphql_would_answer_otherwise_is_run_through_graphql(shop, flash, gql: GraphQLClient,
                                                                              customer_token, other_customer_token,
                                                                              operator_token, monkeypatch):
    sale, sku = await sold_out(shop, flash, customer_token)
    document = buy_document()
    assert (await gql(document, buy_input(sale, sku, "learn"), other_customer_token))["data"]["flashSaleBuy"][
        "errors"][0]["code"] == "SOLD_OUT"

    async def payload_codes(variables: dict[str, Any], token: str | None) -> list[str]:
        body = await gql(document, variables, token)
        return [error["code"] for error in body["data"]["flashSaleBuy"]["errors"]]

    assert await payload_codes(buy_input(sale, sku, "k1", quantity=0), other_customer_token) == ["INVALID"]
    assert await payload_codes(buy_input(sale, sku, "k2", skuId=gid("Product", sku.id)),
                               other_customer_token) == ["NOT_FOUND"]
    assert await payload_codes(buy_input(sale, sku, "k3", remark="a\x00b"), other_customer_token) == ["INVALID"]
    assert await payload_codes(buy_input(sale, sku, "k" * 65), other_customer_token) == ["INVALID"]
    assert await payload_codes(buy_input(sale, sku, "k4"), customer_token) == ["LIMIT_EXCEEDED"]  # a buyer
    assert error_codes(await gql(document, buy_input(sale, sku, "k5"))) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(document, buy_input(sale, sku, "k6"), operator_token)) == ["FORBIDDEN"]
    wrong_type = await gql(document, buy_input(sale, sku, "k7", quantity="1"), other_customer_token)
    assert wrong_type["data"] is None and wrong_type["errors"]
    unknown_field = await gql(document, buy_input(sale, sku, "k8", colour="red"), other_customer_token)
    assert unknown_field["data"] is None and unknown_field["errors"]
    runs = count_resolver_runs(monkeypatch)
    assert await payload_codes(buy_input(sale, sku, "k9"), other_customer_token) == ["SOLD_OUT"]
    assert runs == [], "the same document and buyer, once valid again, are answered before GraphQL"


@pytest.mark.parametrize("document", [
    "mutation($in: FlashSaleBuyInput!, $skip: Boolean!) { flashSaleBuy(input: $in) { errors @skip(if: $skip) "
    "{ code } } }",
    "mutation($in: FlashSaleBuyInput!) { flashSaleBuy(input: $in) { errors { code } } tokenRefresh { token } }",
    "mutation($in: FlashSaleBuyInput!) { a: flashSaleBuy(input: $in) { errors { code } } "
    "b: flashSaleBuy(input: $in) { errors { code } } }",
])
async def test_a_document_of_another_shape_always_runs_graphql(document, shop, flash, gql: GraphQLClient,
                                                               customer_token, other_customer_token, monkeypatch):
    sale, sku = await sold_out(shop, flash, customer_token)
    runs = count_resolver_runs(monkeypatch)
    variables = {**buy_input(sale, sku, "k"), "skip": False} if "$skip" in document else buy_input(sale, sku, "k")
    for _ in range(3):
        body = await gql(document, variables, other_customer_token)
        assert "SOLD_OUT" in str(body["data"])
    assert len(runs) == 3 * document.count("flashSaleBuy(")

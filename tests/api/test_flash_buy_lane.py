"""`flashSaleBuy` run by the lane beside strawberry's (server/flash_buy_lane.py): once GraphQL has executed a
document, its buys are run without strawberry's machinery and answered exactly as GraphQL answers them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from strawberry import Schema

from domain.orders.models import Order, OrderKind, OrderStatus
from resolvers import flash_sale as flash_resolvers
from server import flash_buy_lane
from tests.api.test_flash_sold_out_answers import buy_document, buy_input, label_of, operations
from tests.fixtures.catalog import gid
from tests.support.graphql import GraphQLClient

pytestmark = [pytest.mark.usefixtures("audited"), pytest.mark.redis_cluster_too]

RICH = ("__typename done: order { id number status kind payable { amount } lines { quantity title } } "
        "payment { package } ... on FlashSaleBuyPayload { problems: errors { code message field } }")


def count_graphql_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every operation strawberry executes (the lane's runs are not among them)."""
    runs: list[int] = []
    execute = Schema.execute

    async def counted(self: Schema, *args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return await execute(self, *args, **kwargs)

    monkeypatch.setattr(Schema, "execute", counted)
    return runs


async def running_sale(shop: Any, flash: Any, units: int = 10, limit: int = 5) -> tuple[dict[str, Any], Any]:
    sku = await shop.sku(price=5990, stock=30)
    return await flash.sale((sku, 990, units), limit=limit), sku


async def test_a_buy_of_a_document_graphql_has_run_is_run_by_the_lane_and_answered_alike(
        shop, flash, gql: GraphQLClient, customer_token, other_customer_token, monkeypatch):
    sale, sku = await running_sale(shop, flash)
    document = buy_document(RICH)
    runs = count_graphql_runs(monkeypatch)

    by_graphql = await gql.raw(document, buy_input(sale, sku, "first"), customer_token)
    assert runs == [1]
    again = await gql.raw(document, buy_input(sale, sku, "first"), customer_token)  # a double tap: the same order
    fresh = await gql.raw(document, buy_input(sale, sku, "second"), other_customer_token)

    assert runs == [1], "the lane ran the double tap and the new buy"
    assert again.status_code == 200 and again.content == by_graphql.content
    assert again.headers["content-type"] == by_graphql.headers["content-type"]
    answer = fresh.json()["data"]["flashSaleBuy"]
    assert answer["__typename"] == "FlashSaleBuyPayload" and answer["problems"] == [] and answer["payment"] is None
    assert answer["done"]["status"] == "PENDING_PAYMENT" and answer["done"]["kind"] == "FLASH_SALE"
    assert answer["done"]["payable"] == {"amount": 990}
    assert answer["done"]["lines"] == [{"quantity": 1, "title": by_graphql.json()["data"]["flashSaleBuy"]["done"][
        "lines"][0]["title"]}]
    order = await Order.get(number=answer["done"]["number"])
    assert (order.kind, order.status, order.payable) == (OrderKind.FLASH_SALE, OrderStatus.PENDING_PAYMENT, 990)
    assert answer["done"]["id"] == gid("Order", order.id)
    assert operations((await gql.http.get("/metrics")).text, label_of(document)) == 3


async def post(gql: GraphQLClient, document: str, variables: dict[str, Any], token: str, *, named: bool) -> Any:
    """The document sent with its operation's name or without: two keys to the lane, one document to GraphQL."""
    body = {"query": document, "variables": variables, **({"operationName": label_of(document)} if named else {})}
    return await gql.http.post("/graphql", json=body, headers={"authorization": f"Bearer {token}"})


async def learnt_by_the_lane(shop: Any, flash: Any, gql: GraphQLClient, token: str, *, limit: int = 5,
                             selection: str = "order { id } errors { code }") -> tuple[dict[str, Any], Any, str]:
    """A running sale, its SKU, and a document of its own that GraphQL has run once (named): the lane runs it now."""
    sale, sku = await running_sale(shop, flash, units=10, limit=limit)
    document = buy_document(selection)
    learnt = await post(gql, document, buy_input(sale, sku, "k1"), token, named=True)
    assert learnt.json()["data"]["flashSaleBuy"]["errors"] == []
    return sale, sku, document


async def test_the_lanes_refusals_are_graphqls(shop, flash, gql: GraphQLClient, customer_token, monkeypatch):
    sale, sku, document = await learnt_by_the_lane(shop, flash, gql, customer_token, limit=1,
                                                    selection="order { id } errors { code message field }")
    runs = count_graphql_runs(monkeypatch)

    for variables in (buy_input(sale, sku, "k2"), buy_input(sale, sku, "k3", skuId=gid("Sku", 999_999))):
        by_lane = await post(gql, document, variables, customer_token, named=True)
        by_graphql = await post(gql, document, variables, customer_token, named=False)
        assert by_lane.content == by_graphql.content
    assert runs == [1], "GraphQL ran only the unnamed request that came first: then it was the lane's to run too"
    codes = [e["code"] for e in by_lane.json()["data"]["flashSaleBuy"]["errors"]]
    assert codes == ["NOT_FOUND"]


async def test_a_fault_inside_the_lane_is_answered_as_graphql_answers_it(shop, flash, gql: GraphQLClient,
                                                                        customer_token, monkeypatch):
    sale, sku, document = await learnt_by_the_lane(shop, flash, gql, customer_token)

    async def broken(ctx: Any, data: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(flash_resolvers, "flash_sale_buy", broken)
    runs = count_graphql_runs(monkeypatch)
    by_lane = await post(gql, document, buy_input(sale, sku, "k2"), customer_token, named=True)
    assert runs == []
    by_graphql = await post(gql, document, buy_input(sale, sku, "k3"), customer_token, named=False)
    assert runs == [1]

    assert by_lane.status_code == by_graphql.status_code == 200
    assert by_lane.json() == by_graphql.json()
    assert by_lane.json()["data"] is None
    assert [error["message"] for error in by_lane.json()["errors"]] == ["Internal server error"]
    assert "database" not in by_lane.text


async def test_a_body_graphql_refuses_is_refused_even_for_a_document_the_lane_runs(shop, flash, gql: GraphQLClient,
                                                                                 customer_token, monkeypatch):
    sale, sku, document = await learnt_by_the_lane(shop, flash, gql, customer_token)
    body = json.dumps({"query": document, "variables": buy_input(sale, sku, "k2"),
                       "operationName": label_of(document)}).encode()
    bearer = {"authorization": f"Bearer {customer_token}"}

    with_bom = await gql.http.post("/graphql", content=b"\xef\xbb\xbf" + body,
                                   headers={**bearer, "content-type": "application/json"})
    not_json = await gql.http.post("/graphql", content=body,
                                   headers={**bearer, "content-type": 'text/plain; charset="application/json"'})

    assert with_bom.status_code == 400 and not_json.status_code == 400
    assert await Order.filter(idempotency_key="k2").count() == 0


async def test_the_lane_keeps_the_documents_used_most_recently(shop, flash, gql: GraphQLClient, customer_token,
                                                              monkeypatch):
    monkeypatch.setattr(flash_buy_lane, "MAX_DOCUMENTS", 1)
    sale, sku = await running_sale(shop, flash, units=20, limit=20)
    first, second = buy_document("order { id }"), buy_document("order { number }")
    runs = count_graphql_runs(monkeypatch)

    for n, document in enumerate([first, first, second, second, second, first, first]):
        await post(gql, document, buy_input(sale, sku, f"k{n}"), customer_token, named=True)

    assert len(runs) == 3, "each document learnt once, and the first again once the second had taken its place"


def test_a_document_with_nul_text_anywhere_is_never_the_lanes():
    for nul in ("\\u0000", "\\u{0}", "\\u{000}"):
        document = ('mutation($in: FlashSaleBuyInput!) { flashSaleBuy(input: $in) { errors { code(x: "a' + nul
                    + '") } } }')
        assert flash_buy_lane._shape(document, None) is None, document
    clean = 'mutation($in: FlashSaleBuyInput!) { flashSaleBuy(input: $in) { errors { code(x: "a") } } }'
    assert flash_buy_lane._shape(clean, None) is not None

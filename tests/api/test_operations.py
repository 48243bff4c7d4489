"""Operating the server: health, readiness, metrics, request ids, and internal errors masked but logged."""

from __future__ import annotations

import logging

import pytest

from domain.catalog import queries


async def test_healthz_and_readyz_report_ok(http, backend):
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    expected = {"database": "ok", "redis": "ok"} if backend.real else {"database": "ok"}
    assert ready.status_code == 200 and ready.json()["checks"] == expected


async def test_metrics_count_graphql_operations_by_name(http, gql):
    await gql.raw("query CatalogHome { categories { name } }")
    text = (await http.get("/metrics")).text
    assert 'pond_graphql_operations_total{operation="CatalogHome",outcome="ok",type="query"}' in text
    assert "pond_graphql_operation_duration_seconds_bucket" in text
    assert 'pond_http_requests_total{method="POST",path="/graphql",status="200"}' in text


async def test_every_response_carries_a_request_id_and_keeps_a_valid_one(http):
    generated = await http.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await http.get("/healthz", headers={"x-request-id": "mini-abc.123"})
    assert kept.headers["x-request-id"] == "mini-abc.123"


async def test_an_internal_error_is_masked_for_the_client_and_logged_with_the_request_id(
    gql, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(queries, "shop_products", broken)
    with caplog.at_level(logging.ERROR):
        response = await gql.raw("{ products { totalCount } }", **{"x-request-id": "trace-me-1"})
    body = response.json()
    assert response.status_code == 200
    assert body["errors"][0]["message"] == "Internal server error"
    assert "hunter2" not in response.text and "Traceback" not in response.text
    logged = [r for r in caplog.records if "hunter2" in (r.getMessage() + str(r.exc_info))]
    assert logged, "the real error must reach the server log"


async def test_query_depth_and_alias_limits_reject_abusive_queries(gql):
    deep = "{ categories { children { children { children { children { children { children { children { children"
    deep += " { children { children { name } } } } } } } } } } } }"
    assert "exceeds maximum operation depth" in (await gql(deep))["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: categories {{ name }}" for i in range(40)) + " }"
    assert "aliases found" in (await gql(aliases))["errors"][0]["message"]


async def test_repeated_operations_hit_the_parser_and_validation_caches(gql, make_product, operator_token):
    from schema.validation_cache import _validated as cache

    query = "query Repeat { products(first: 1) { totalCount } }"
    await gql.data(query, token=operator_token)  # staff: past the response cache, into strawberry
    before = cache.cache_info().hits
    for _ in range(3):
        await gql.data(query, token=operator_token)
    assert cache.cache_info().hits - before == 3

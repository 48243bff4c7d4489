"""Hostile request bodies get a 4xx of Pond's own: never a 500, never a stall."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from server.request_limits import DEFAULT_MAX_BODY_BYTES
from tests.support.graphql import GraphQLClient

JSON = {"content-type": "application/json"}


async def test_a_body_declared_over_the_limit_is_refused_413_before_it_is_read(http: httpx.AsyncClient) -> None:
    body = b'{"query": "{ __typename }", "pad": "' + b"x" * DEFAULT_MAX_BODY_BYTES + b'"}'
    response = await http.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 413
    assert "larger than 1048576 bytes" in response.json()["errors"][0]["message"]


async def test_a_chunked_body_that_streams_past_the_limit_is_refused_413(http: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "pad": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    response = await http.post("/graphql", content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


async def test_a_body_under_the_limit_is_answered(gql: GraphQLClient) -> None:
    assert await gql.data("{ __typename }") == {"__typename": "Query"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", "batching is not enabled"),
        (b'[{"query": "{ __typename }"}]', "batching is not enabled"),
        (b'"x"', "must be a JSON object"),
        (b"1", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"query": "{ __typename }"}\xff', "not UTF-8"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{", "not valid JSON"),
        (b'{"query": 1}', "`query` must be a string"),
        (b'{"query": "{ __typename }", "operationName": 1}', "`operationName` must be a string"),
        (b'{"query": "{ __typename }", "operationName": {"a": 1}}', "`operationName` must be a string"),
        (b'{"query": "{ __typename }", "variables": []}', "`variables` must be an object"),
    ],
)
async def test_a_malformed_graphql_body_is_a_400_with_pond_s_own_message(
    http: httpx.AsyncClient, body: bytes, message: str
) -> None:
    response = await http.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert message in response.json()["errors"][0]["message"]

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import strawberry
import structlog
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from server.observability import (
    MetricsExtension,
    RequestIdMiddleware,
    configure_logging,
    current_request_id,
    metrics_endpoint,
)

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


# --------------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def json_logging() -> Iterator[None]:
    """configure_logging() for one test, then put the global logging state back."""
    root = logging.getLogger()
    saved_handlers = list(root.handlers)
    saved_level = root.level
    watched = ("httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers)) for name in watched}
    configure_logging("INFO", json=True)
    try:
        yield
    finally:
        structlog.reset_defaults()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, (level, handlers) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def whoami(request: Request) -> JSONResponse:
    structlog.get_logger("tests.handler").info("inside handler", item="x")
    logging.getLogger("tests.stdlib").warning("stdlib record %s", "formatted")
    return JSONResponse({"request_id": current_request_id()})


async def item(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"item {request.path_params['item_id']}")


async def explode(request: Request) -> Response:
    raise RuntimeError("handler blew up")


def make_app() -> RequestIdMiddleware:
    app = Starlette(
        routes=[
            Route("/whoami", whoami),
            Route("/items/{item_id}", item),
            Route("/explode", explode),
            Route("/metrics", metrics_endpoint),
        ]
    )
    return RequestIdMiddleware(app)


def client_for(app: Any, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


# --------------------------------------------------------------------------------------------------------------------
# request ids
# --------------------------------------------------------------------------------------------------------------------


async def test_a_valid_incoming_request_id_is_kept_and_echoed_on_the_response() -> None:
    async with client_for(make_app()) as client:
        response = await client.get("/whoami", headers={"X-Request-ID": "abc.DEF_123-xyz"})

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc.DEF_123-xyz"
    assert response.json() == {"request_id": "abc.DEF_123-xyz"}


@pytest.mark.parametrize(
    "bad_id",
    ["a" * 65, "x" * 100, "has space", "semi;colon", "slash/inside", 'quote"d', "tab\there"],
)
async def test_an_invalid_incoming_request_id_is_replaced_by_a_generated_one(bad_id: str) -> None:
    async with client_for(make_app()) as client:
        response = await client.get("/whoami", headers={"X-Request-ID": bad_id})

    generated = response.headers["x-request-id"]
    assert generated != bad_id
    assert GENERATED_ID.fullmatch(generated)
    assert response.json() == {"request_id": generated}


async def test_a_request_id_with_a_newline_is_replaced_by_a_generated_one() -> None:
    # httpx refuses to send a newline in a header, so talk ASGI directly.
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/whoami",
        "raw_path": b"/whoami",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"t"), (b"x-request-id", b"forged\nid")],
        "client": ("127.0.0.1", 1234),
        "server": ("t", 80),
    }
    await make_app()(scope, receive, send)

    start = sent[0]
    assert start["status"] == 200
    header_values = [v for k, v in start["headers"] if k == b"x-request-id"]
    assert len(header_values) == 1
    assert GENERATED_ID.fullmatch(header_values[0].decode())
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body == {"request_id": header_values[0].decode()}


async def test_each_request_without_an_id_gets_a_distinct_generated_one() -> None:
    async with client_for(make_app()) as client:
        first = await client.get("/whoami")
        second = await client.get("/whoami")

    assert GENERATED_ID.fullmatch(first.headers["x-request-id"])
    assert GENERATED_ID.fullmatch(second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_the_request_id_is_cleared_once_the_request_is_done() -> None:
    async with client_for(make_app()) as client:
        await client.get("/whoami", headers={"X-Request-ID": "done-1"})

    assert current_request_id() is None
    assert "request_id" not in structlog.contextvars.get_contextvars()


async def test_a_500_response_still_carries_the_request_id() -> None:
    async with client_for(make_app(), raise_app_exceptions=False) as client:
        response = await client.get("/explode", headers={"X-Request-ID": "boom-1"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom-1"


async def test_websocket_and_lifespan_scopes_pass_through_untouched() -> None:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    middleware = RequestIdMiddleware(inner)

    async def receive() -> Message:
        return {}

    async def send(message: Message) -> None:
        raise AssertionError("nothing should be sent")

    await middleware({"type": "lifespan"}, receive, send)
    await middleware({"type": "websocket", "path": "/graphql", "headers": []}, receive, send)

    assert seen == ["lifespan", "websocket"]


# --------------------------------------------------------------------------------------------------------------------
# logging
# --------------------------------------------------------------------------------------------------------------------


async def test_the_access_line_is_one_json_object_with_the_request_id(
    json_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    async with client_for(make_app()) as client:
        await client.get("/items/7?token=secret", headers={"X-Request-ID": "log-me-1"})

    lines = json_lines(capsys.readouterr().out)
    access = [line for line in lines if line["event"] == "request"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "log-me-1"
    assert line["method"] == "GET"
    assert line["path"] == "/items/7"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "info"
    assert line["logger"] == "pond.access"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line["timestamp"])
    assert "secret" not in json.dumps(lines)


async def test_structlog_and_stdlib_records_inside_a_request_share_the_request_id(
    json_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    async with client_for(make_app()) as client:
        await client.get("/whoami", headers={"X-Request-ID": "ctx-42"})

    lines = json_lines(capsys.readouterr().out)
    by_event = {line["event"]: line for line in lines}
    assert by_event["inside handler"]["request_id"] == "ctx-42"
    assert by_event["inside handler"]["item"] == "x"
    assert by_event["inside handler"]["logger"] == "tests.handler"
    stdlib = by_event["stdlib record formatted"]
    assert stdlib["request_id"] == "ctx-42"
    assert stdlib["level"] == "warning"
    assert stdlib["logger"] == "tests.stdlib"
    assert stdlib["timestamp"].endswith("Z")


async def test_a_failing_request_logs_an_error_line_with_the_exception(
    json_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    async with client_for(make_app(), raise_app_exceptions=False) as client:
        await client.get("/explode", headers={"X-Request-ID": "err-1"})

    access = [line for line in json_lines(capsys.readouterr().out) if line["event"] == "request"]
    assert len(access) == 1
    assert access[0]["level"] == "error"
    assert access[0]["status"] == 500
    assert access[0]["request_id"] == "err-1"
    assert "RuntimeError: handler blew up" in access[0]["exception"]


def test_configure_logging_twice_installs_a_single_handler(
    json_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("DEBUG")
    configure_logging("INFO")

    pond_handlers = [h for h in logging.getLogger().handlers if getattr(h, "pond_handler", False)]
    assert len(pond_handlers) == 1
    logging.getLogger("tests.once").warning("only once")
    lines = [line for line in json_lines(capsys.readouterr().out) if line["event"] == "only once"]
    assert len(lines) == 1


def test_configure_logging_silences_httpx_and_httpcore_below_warning(json_logging: None) -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        assert not logger.isEnabledFor(logging.INFO)
        assert logger.isEnabledFor(logging.WARNING)


def test_configure_logging_respects_the_level(json_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning")
    structlog.get_logger("tests.level").info("hidden")
    structlog.get_logger("tests.level").warning("shown")

    events = [line["event"] for line in json_lines(capsys.readouterr().out)]
    assert "hidden" not in events
    assert "shown" in events


def test_configure_logging_rejects_an_unknown_level(json_logging: None) -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD")


# --------------------------------------------------------------------------------------------------------------------
# HTTP metrics
# --------------------------------------------------------------------------------------------------------------------


async def test_http_metrics_use_the_route_template_not_the_raw_path() -> None:
    before = sample("pond_http_requests_total", method="GET", path="/items/{item_id}", status="200")
    before_count = sample("pond_http_request_duration_seconds_count", method="GET", path="/items/{item_id}")

    async with client_for(make_app()) as client:
        await client.get("/items/1")
        await client.get("/items/2")

    assert sample("pond_http_requests_total", method="GET", path="/items/{item_id}", status="200") == before + 2
    assert sample("pond_http_request_duration_seconds_count", method="GET", path="/items/{item_id}") == (
        before_count + 2
    )
    assert sample("pond_http_requests_total", method="GET", path="/items/1", status="200") == 0


async def test_unknown_paths_are_labelled_other() -> None:
    before = sample("pond_http_requests_total", method="GET", path="other", status="404")

    async with client_for(make_app()) as client:
        for n in range(3):
            response = await client.get(f"/no/such/page/{n}")
            assert response.status_code == 404

    assert sample("pond_http_requests_total", method="GET", path="other", status="404") == before + 3
    assert sample("pond_http_requests_total", method="GET", path="/no/such/page/0", status="404") == 0


async def test_allow_listed_raw_paths_keep_their_label_without_a_starlette_route() -> None:
    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse("ok")(scope, receive, send)

    before_known = sample("pond_http_requests_total", method="POST", path="/payments/wechat/notify", status="200")
    before_other = sample("pond_http_requests_total", method="POST", path="other", status="200")

    async with client_for(RequestIdMiddleware(bare)) as client:
        await client.post("/payments/wechat/notify")
        await client.post("/payments/wechat/notify-extra")

    assert sample("pond_http_requests_total", method="POST", path="/payments/wechat/notify", status="200") == (
        before_known + 1
    )
    assert sample("pond_http_requests_total", method="POST", path="other", status="200") == before_other + 1


async def test_unusual_http_methods_are_labelled_other() -> None:
    before = sample("pond_http_requests_total", method="other", path="/items/{item_id}", status="405")

    async with client_for(make_app()) as client:
        response = await client.request("BREW", "/items/1")

    assert response.status_code == 405
    assert sample("pond_http_requests_total", method="other", path="/items/{item_id}", status="405") == before + 1


async def test_a_crashing_handler_is_counted_as_a_500() -> None:
    before = sample("pond_http_requests_total", method="GET", path="/explode", status="500")

    async with client_for(make_app()) as client:
        with pytest.raises(RuntimeError, match="handler blew up"):
            await client.get("/explode")

    assert sample("pond_http_requests_total", method="GET", path="/explode", status="500") == before + 1


async def test_the_metrics_endpoint_exposes_the_pond_metrics() -> None:
    async with client_for(make_app()) as client:
        await client.get("/items/3")
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    for name in (
        "pond_http_requests_total",
        "pond_http_request_duration_seconds_bucket",
        "pond_graphql_operations_total",
        "pond_graphql_operation_duration_seconds",
    ):
        assert name in text
    assert 'pond_http_requests_total{method="GET",path="/items/{item_id}",status="200"}' in text


# --------------------------------------------------------------------------------------------------------------------
# GraphQL metrics
# --------------------------------------------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"

    @strawberry.field
    def boom(self) -> str:
        raise ValueError("resolver failed")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def ping(self) -> bool:
        return True


def graphql_app() -> RequestIdMiddleware:
    schema = strawberry.Schema(query=Query, mutation=Mutation, extensions=[MetricsExtension])
    gql = GraphQL(schema, graphql_ide=None)
    return RequestIdMiddleware(Starlette(routes=[Route("/graphql", gql, methods=["GET", "POST"])]))


def ops(operation: str, type_: str, outcome: str) -> float:
    return sample("pond_graphql_operations_total", operation=operation, type=type_, outcome=outcome)


def op_count(operation: str, type_: str) -> float:
    return sample("pond_graphql_operation_duration_seconds_count", operation=operation, type=type_)


async def post_graphql(payload: dict[str, Any]) -> httpx.Response:
    async with client_for(graphql_app()) as client:
        return await client.post("/graphql", json=payload)


async def test_a_named_query_is_counted_under_its_operation_name() -> None:
    before = ops("Greeting", "query", "ok")
    before_count = op_count("Greeting", "query")
    before_http = sample("pond_http_requests_total", method="POST", path="/graphql", status="200")

    response = await post_graphql({"query": "query Greeting { hello }", "operationName": "Greeting"})

    assert response.json() == {"data": {"hello": "world"}}
    assert ops("Greeting", "query", "ok") == before + 1
    assert op_count("Greeting", "query") == before_count + 1
    assert sample("pond_http_requests_total", method="POST", path="/graphql", status="200") == before_http + 1


async def test_a_named_query_without_operation_name_in_the_request_uses_the_document_name() -> None:
    before = ops("DocName", "query", "ok")

    await post_graphql({"query": "query DocName { hello }"})

    assert ops("DocName", "query", "ok") == before + 1


async def test_the_selected_operation_of_a_multi_operation_document_is_used() -> None:
    before_first = ops("First", "query", "ok")
    before_second = ops("Second", "mutation", "ok")

    response = await post_graphql(
        {"query": "query First { hello } mutation Second { ping }", "operationName": "Second"}
    )

    assert response.json() == {"data": {"ping": True}}
    assert ops("Second", "mutation", "ok") == before_second + 1
    assert ops("First", "query", "ok") == before_first


async def test_an_anonymous_query_is_counted_under_its_first_root_field() -> None:
    before = ops("hello", "query", "ok")

    response = await post_graphql({"query": "{ hello }"})

    assert response.json() == {"data": {"hello": "world"}}
    assert ops("hello", "query", "ok") == before + 1


async def test_an_anonymous_mutation_is_counted_with_type_mutation() -> None:
    before = ops("ping", "mutation", "ok")

    await post_graphql({"query": "mutation { ping }"})

    assert ops("ping", "mutation", "ok") == before + 1


async def test_an_erroring_resolver_is_counted_as_outcome_error() -> None:
    before_error = ops("Explode", "query", "error")
    before_ok = ops("Explode", "query", "ok")

    response = await post_graphql({"query": "query Explode { boom }", "operationName": "Explode"})

    assert response.json()["errors"][0]["message"] == "resolver failed"
    assert ops("Explode", "query", "error") == before_error + 1
    assert ops("Explode", "query", "ok") == before_ok


async def test_a_validation_error_is_counted_as_outcome_error() -> None:
    before = ops("Typo", "query", "error")

    response = await post_graphql({"query": "query Typo { helo }"})

    assert "errors" in response.json()
    assert ops("Typo", "query", "error") == before + 1


async def test_a_document_that_does_not_parse_is_anonymous_with_type_unknown() -> None:
    before = ops("anonymous", "unknown", "error")

    await post_graphql({"query": "{ hello "})

    assert ops("anonymous", "unknown", "error") == before + 1


async def test_operation_labels_are_capped_at_64_characters() -> None:
    long_name = "Op" + "x" * 98
    before = ops(long_name[:64], "query", "ok")

    response = await post_graphql({"query": f"query {long_name} {{ hello }}"})

    assert response.json() == {"data": {"hello": "world"}}
    assert ops(long_name[:64], "query", "ok") == before + 1
    assert ops(long_name, "query", "ok") == 0


async def test_the_user_error_outcome_is_available_to_subclasses() -> None:
    class UserErrorMetrics(MetricsExtension):
        def classify_outcome(self) -> str:
            return "user_error"

    schema = strawberry.Schema(query=Query, extensions=[UserErrorMetrics])
    before = ops("Declined", "query", "user_error")

    result = await schema.execute("query Declined { hello }")

    assert result.errors is None
    assert ops("Declined", "query", "user_error") == before + 1


# --------------------------------------------------------------------------------------------------------------------
# Group commit writers on /metrics
# --------------------------------------------------------------------------------------------------------------------


async def test_group_commit_counters_keep_a_stopped_writers_counts_and_add_up_writers_of_one_name() -> None:
    from prometheus_client import CollectorRegistry

    from domain.flash_sale.group_commit import GroupCommit
    from server.observability import GroupCommitCollector

    async def write(batch: Any) -> list[int]:
        return list(batch)

    registry = CollectorRegistry()
    collector = GroupCommitCollector()
    registry.register(collector)

    def value(what: str) -> float | None:
        return registry.get_sample_value(f"pond_group_commit_{what}_total", {"writer": "w"})

    first, second = GroupCommit(write, window=0, name="w"), GroupCommit(write, window=0, name="w")
    unwatch_first, unwatch_second = collector.watch(first), collector.watch(second)
    for writer, entries in ((first, [1, 2]), (second, [3])):
        writer.start()
        await asyncio.gather(*(writer.submit(n) for n in entries))
        await writer.stop()
    assert (value("batches"), value("entries")) == (2, 3)

    unwatch_first()
    unwatch_first()  # twice: counted once
    assert (value("batches"), value("entries")) == (2, 3), "a stopped app's writer still counts"
    unwatch_second()
    assert (value("batches"), value("entries")) == (2, 3)
    assert value("busy_seconds") is not None and value("queued_seconds") is not None

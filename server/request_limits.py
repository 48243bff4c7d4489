"""What a request must be before Pond reads it: a bounded body and, for GraphQL, a well-formed JSON object.

Both answer a client's mistake with a 4xx of Pond's own before strawberry (or anything else) sees the body.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
TOO_LARGE = "request body is larger than {limit} bytes"


class BodyTooLarge(Exception):
    """The body streamed past the limit (a chunked body, or one longer than its Content-Length said)."""


async def _send_error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"errors": [{"message": message}]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body over `max_bytes`: judged from Content-Length up front, and counted as it streams."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = TOO_LARGE.format(limit=self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _send_error(send, 400, "Content-Length is not a number")
                return
            if int(declared) > self.max_bytes:
                await _send_error(send, 413, message)
                return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return incoming

        async def tracked_send(outgoing: Message) -> None:
            nonlocal started
            if outgoing["type"] == "http.response.start":
                started = True
            await send(outgoing)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _send_error(send, 413, message)


def request_shape_error(body: bytes) -> str | None:
    """Why a GraphQL POST body is not one operation Pond can run, or None when it is."""
    return parsed_request(body)[1]


def parsed_request(body: bytes) -> tuple[dict[str, Any], None] | tuple[None, str]:
    """A GraphQL POST body's JSON object, or why it is not one operation Pond can run (`request_shape_error`)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, "the request body is not UTF-8"
    try:
        data: Any = json.loads(text)
    except ValueError:
        return None, "the request body is not valid JSON"
    if isinstance(data, list):
        return None, "send one operation per request: batching is not enabled"
    if not isinstance(data, dict):
        return None, "the request body must be a JSON object with a query"
    expected = (("query", str, "a string"), ("operationName", str, "a string"), ("variables", dict, "an object"))
    for key, kind, described in expected:
        if data.get(key) is not None and not isinstance(data[key], kind):
            return None, f"`{key}` must be {described} or null"
    return data, None


class GraphQLRequestShape:
    """400 with Pond's own message for a JSON POST that is not UTF-8, not an object, or has ill-typed members."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        problem = request_shape_error(body)
        if problem is not None:
            await _send_error(send, 400, problem)
            return
        await self.app(scope, replay(body), send)


def _is_json(scope: Scope) -> bool:
    return b"json" in dict(scope["headers"]).get(b"content-type", b"").lower()


async def read_body(receive: Receive) -> bytes:
    """The whole request body (empty if the client went away first)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes) -> Receive:
    """A `receive` that hands the app a body already read, once."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive

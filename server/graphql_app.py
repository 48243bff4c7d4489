"""The /graphql endpoint: strawberry's ASGI view with Pond's context, behind the catalog response cache."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import structlog
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from domain.identity.tokens import Principal, TokenService
from domain.members.standing import MemberDiscount, discount_for, member_prices_exist
from domain.selling import next_price_change
from resolvers.context import Context, Services
from server.catalog_cache import CacheStore, PriceBoundary, cache_key
from server.graphiql import graphiql_page
from server.request_limits import read_body, replay

log = structlog.get_logger("pond.graphql")


def bearer_token(headers: Any) -> str | None:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def principal_of(request: HTTPConnection, services: Services) -> Principal | None:
    """Who the bearer token names, if its account may still act; None: treat the request as anonymous."""
    token = bearer_token(request.headers)
    principal = services.tokens.decode(token) if token else None
    if principal is not None:  # a signature is not enough: the account must still be allowed in
        principal = await services.access.admit(principal)
    return principal


def client_ip(request: HTTPConnection) -> str:
    return request.client.host if request.client else "unknown"


def request_context(request: HTTPConnection, response: Any, services: Services, principal: Principal | None) -> Context:
    """The resolvers' Context for one request (its caller decided by `principal_of`), with fresh DataLoaders."""
    return Context(services=services, principal=principal, client_ip=client_ip(request), request=request,
                   response=response)


class PondGraphQL(GraphQL[Context, None]):
    """Builds one Context per request: the caller from the bearer token, fresh DataLoaders."""

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        services: Services = request.app.state.services
        context = request_context(request, response, services, await principal_of(request, services))
        audience: PriceAudience | None = request.scope.get(AUDIENCE_SCOPE_KEY)
        if audience is not None:  # priced exactly for the audience whose cache entry it may be stored under
            context.loaders.price_for(audience.member)
        return context

    async def render_graphql_ide(self, request: Request) -> Response:
        """Pond's GraphiQL page, loading its scripts from Pond rather than strawberry's CDN (works offline)."""
        return HTMLResponse(graphiql_page(request.scope.get("root_path", "")))


@lru_cache(maxsize=8192)
def sent_by_staff(tokens: TokenService, token: str) -> bool:
    """Whether the token names a member of staff. Remembered per token (a token's kind never changes; one that names
    nobody reads as anonymous, as a customer's does), so a customer's repeated catalog reads skip the signature check:
    it was half of a cached read's cost."""
    principal = tokens.decode(token)
    return principal is not None and principal.kind == "staff"


AUDIENCE_SCOPE_KEY = "pond.price_audience"


@dataclass(frozen=True)
class PriceAudience:
    """Whom a catalog response is priced for: a customer's member discount, or none (anonymous, or a customer whose
    level takes nothing off). Responses are cached per audience, never per customer."""

    member: MemberDiscount | None

    def key(self, digest: str) -> str:
        """The cache key: everyone without a member discount shares the anonymous entry, and every customer whose
        level takes the same basis points off shares that audience's entry."""
        return digest if self.member is None else f"{digest}:member-bp:{self.member.basis_points}"


ANONYMOUS = PriceAudience(None)


async def price_audience(scope: Scope) -> PriceAudience:
    """The caller's audience, by the same rules as the resolvers: the token must name a customer the access gate
    still admits, and `discount_for` decides the member discount. No token costs nothing; nor does a customer's
    while no level takes anything off (the levels are remembered between staff changes: `domain.remembered`); else
    their standing is read (two small queries)."""
    connection = HTTPConnection(scope)
    if bearer_token(connection.headers) is None or not await member_prices_exist():
        return ANONYMOUS
    principal = await principal_of(connection, scope["app"].state.services)
    if principal is None or principal.kind != "customer":
        return ANONYMOUS
    return PriceAudience(await discount_for(principal.id))


class CachedCatalog:
    """ASGI wrapper: catalog queries not sent by staff are answered from the store when a fresh answer is there,
    keyed by the normalized request and the caller's price audience (`PriceAudience`). The audience is handed to
    the resolvers (`AUDIENCE_SCOPE_KEY`), so a response stored under an audience's key is priced for that audience
    even if the customer's level changes meanwhile."""

    def __init__(self, app: Any, ttl: float, boundary: PriceBoundary | None = None) -> None:
        self.app = app
        self.ttl = ttl
        self.boundary = boundary or PriceBoundary(next_price_change)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._eligible(scope):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        digest = cache_key(body)
        if digest is None:
            await self.app(scope, replay(body), send)
            return
        audience = await price_audience(scope)
        scope = {**scope, AUDIENCE_SCOPE_KEY: audience}
        digest = audience.key(digest)
        store: CacheStore = scope["app"].state.runtime.cache
        lookup = await store.get(digest)
        if lookup.body is not None:
            await _send_json(send, lookup.body, hit=True)
            return
        started = datetime.now(UTC)
        captured = await capture(self.app, scope, replay(body))
        if captured.status == 200 and b'"errors"' not in captured.body:
            ttl = await self._ttl(lookup.generation, started)
            if ttl > 0:
                await store.put(digest, lookup.generation, captured.body, ttl)
        await captured.forward(send, (b"x-pond-cache", b"miss"))

    async def _ttl(self, generation: int, started: datetime) -> float:
        """At most `ttl`, and never past the next discount start or end: prices shown must not go stale."""
        left = await self.boundary.seconds_left(generation, started)
        return self.ttl if left is None else min(self.ttl, left)

    def _eligible(self, scope: Scope) -> bool:
        """A catalog read answers the same for everyone but staff (who see unpublished goods and stock), up to the
        prices' audience (the key says which): served from the cache with no token, a customer's token, or a token
        that names nobody (read as anonymous)."""
        if self.ttl <= 0 or scope["type"] != "http" or scope["method"] != "POST":
            return False
        headers = dict(scope["headers"])
        if b"application/json" not in headers.get(b"content-type", b""):
            return False
        token = bearer_token({"authorization": headers.get(b"authorization", b"").decode("latin-1")})
        return token is None or not sent_by_staff(scope["app"].state.services.tokens, token)



class Captured:
    """An app's answer, held to be looked at before it is sent on (`forward`)."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.parts: list[bytes] = []

    @property
    def body(self) -> bytes:
        return b"".join(self.parts)

    async def forward(self, send: Send, *extra_headers: tuple[bytes, bytes]) -> None:
        headers = [h for h in self.headers if h[0].lower() != b"content-length"]
        headers += [(b"content-length", str(len(self.body)).encode()), *extra_headers]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


async def capture(app: Any, scope: Scope, receive: Receive) -> Captured:
    captured = Captured()

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured.status = message["status"]
            captured.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            captured.parts.append(message.get("body", b""))

    await app(scope, receive, send)
    return captured


async def _send_json(send: Send, body: bytes, *, hit: bool) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-pond-cache", b"hit" if hit else b"miss"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})

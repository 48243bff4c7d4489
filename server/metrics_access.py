"""Who may read `GET /metrics`: a bearer token (`POND_METRICS_TOKEN`) and/or an allow-list of addresses
(`POND_METRICS_ALLOW`); when both are set, a scrape needs both. With neither, a production server answers loopback
only (a scraper on the same machine, never a request a reverse proxy on the same machine passed on, which carries
`X-Forwarded-For` or `Forwarded`) and a development server answers anyone."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from server.addresses import Network, address_in, is_loopback
from server.graphql_app import bearer_token
from server.observability import metrics_endpoint
from server.settings import Settings


@dataclass(frozen=True)
class MetricsAccess:
    token: str | None
    networks: list[Network]
    loopback_only: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> MetricsAccess:
        networks = settings.metrics_networks
        unset = settings.metrics_token is None and not networks
        return cls(settings.metrics_token, networks, loopback_only=settings.production and unset)

    def refusal(self, request: Request) -> Response | None:
        host = request.client.host if request.client else None
        if self.loopback_only and (not is_loopback(host) or _proxied(request)):
            return PlainTextResponse("metrics are served to loopback only: set POND_METRICS_TOKEN or "
                                     "POND_METRICS_ALLOW", status_code=403)
        if self.networks and not address_in(host, self.networks):
            return PlainTextResponse("this address may not read metrics", status_code=403)
        if self.token is not None:
            given = bearer_token(request.headers) or ""
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return PlainTextResponse("metrics need a bearer token", status_code=401,
                                         headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        return None


def _proxied(request: Request) -> bool:
    """A request a proxy on this machine passed on: loopback by address, but not a scraper on this machine."""
    return "x-forwarded-for" in request.headers or "forwarded" in request.headers


def metrics_route(access: MetricsAccess) -> Route:
    async def metrics(request: Request) -> Response:
        return access.refusal(request) or await metrics_endpoint(request)

    return Route("/metrics", metrics, methods=["GET"])

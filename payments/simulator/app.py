"""WeChat Pay API v3 endpoints of the simulator (wechat.md §9.3) and the app factory."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from payments.keys import SimulatorKeys
from payments.simulator.control import control_routes
from payments.simulator.models import ApiError
from payments.simulator.signing import AuthError, dumps
from payments.simulator.state import SimulatorState
from payments.simulator.validation import parse_json_object

TRANSFER_BILLS = "/v3/fund-app/mch-transfer/transfer-bills"
Handler = Callable[[Request, SimulatorState, bytes], tuple[int, dict[str, Any] | None]]


def _raw_target(request: Request) -> bytes:
    """The path and query exactly as sent, minus the prefix of a ``Mount`` the simulator may sit under."""
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    raw_path = raw_path.split(b"?", 1)[0]
    mount_prefix = request.scope.get("root_path", "").encode("utf-8")
    if mount_prefix and raw_path.startswith(mount_prefix + b"/"):
        raw_path = raw_path[len(mount_prefix) :]
    query = request.scope.get("query_string", b"")
    return raw_path + (b"?" + query if query else b"")


def signed_response(sim: SimulatorState, status: int, payload: dict[str, Any] | None) -> Response:
    body = b"" if payload is None else dumps(payload)
    headers = sim.signer.signed_headers(body, int(sim.wall()))
    media_type = None if payload is None else "application/json; charset=utf-8"
    return Response(content=body, status_code=status, headers=headers, media_type=media_type)


def v3_endpoint(handler: Handler, name: str | None = None) -> Callable[[Request], Awaitable[Response]]:
    """``name``: the endpoint as fault plans name it (faults.ENDPOINTS)."""

    async def endpoint(request: Request) -> Response:
        sim: SimulatorState = request.app.state.simulator
        body = await request.body()
        try:
            sim.signer.verify_request(
                request.method, _raw_target(request), body, request.headers.get("authorization"), sim.wall()
            )
        except AuthError as exc:
            return signed_response(sim, 401, ApiError(401, "SIGN_ERROR", f"签名错误: {exc}").body())
        injected = sim.faults.next_api_error(name)
        if injected is not None and not injected.after_commit:
            return signed_response(sim, injected.status, {"code": injected.code, "message": "injected fault"})
        try:
            status, payload = handler(request, sim, body)
        except ApiError as exc:
            return signed_response(sim, exc.status, exc.body())
        stall = sim.faults.next_stall(name)
        if stall:
            await asyncio.sleep(stall)
        if injected is not None:
            return signed_response(sim, injected.status, {"code": injected.code, "message": "injected after commit"})
        return signed_response(sim, status, payload)

    return endpoint


def _jsapi(request: Request, sim: SimulatorState, body: bytes) -> tuple[int, dict[str, Any] | None]:
    return 200, sim.create_prepay(parse_json_object(body))


def _query_by_out_trade_no(request: Request, sim: SimulatorState, body: bytes) -> tuple[int, dict[str, Any] | None]:
    sim.check_mchid(request.query_params.get("mchid"))
    return 200, sim.get_transaction(out_trade_no=request.path_params["out_trade_no"]).to_api()


def _query_by_id(request: Request, sim: SimulatorState, body: bytes) -> tuple[int, dict[str, Any] | None]:
    sim.check_mchid(request.query_params.get("mchid"))
    return 200, sim.get_transaction(transaction_id=request.path_params["transaction_id"]).to_api()


def _close(request: Request, sim: SimulatorState, body: bytes) -> tuple[int, dict[str, Any] | None]:
    sim.check_mchid(parse_json_object(body).get("mchid"))
    sim.close(request.path_params["out_trade_no"])
    return 204, None


def _refund(request: Request, sim: SimulatorState, body: bytes) -> tuple[int, dict[str, Any] | None]:
    return 200, sim.create_refund(parse_json_object(body))


def _query_refund(request: Request, sim: SimulatorState, body: bytes) -> tuple[int, dict[str, Any] | None]:
    return 200, sim.get_refund(request.path_params["out_refund_no"]).to_api()


def _transfer(request: Request, sim: SimulatorState, body: bytes) -> tuple[int, dict[str, Any] | None]:
    serial = request.headers.get("wechatpay-serial")
    return 200, sim.create_transfer(parse_json_object(body), sensitive_serial=serial)


def _query_transfer(request: Request, sim: SimulatorState, body: bytes) -> tuple[int, dict[str, Any] | None]:
    return 200, sim.get_transfer(request.path_params["out_bill_no"]).to_api()


def _cancel_transfer(request: Request, sim: SimulatorState, body: bytes) -> tuple[int, dict[str, Any] | None]:
    return 200, sim.cancel_transfer(request.path_params["out_bill_no"])


def _not_found(request: Request, sim: SimulatorState, body: bytes) -> tuple[int, dict[str, Any] | None]:
    raise ApiError(404, "NOT_FOUND", f"the simulator does not implement {request.method} {request.url.path}")


V3_ROUTES = [
    Route("/v3/pay/transactions/jsapi", v3_endpoint(_jsapi, "jsapi"), methods=["POST"]),
    Route(
        "/v3/pay/transactions/out-trade-no/{out_trade_no}", v3_endpoint(_query_by_out_trade_no, "query"),
        methods=["GET"],
    ),
    Route("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", v3_endpoint(_close, "close"), methods=["POST"]),
    Route("/v3/pay/transactions/id/{transaction_id}", v3_endpoint(_query_by_id, "query"), methods=["GET"]),
    Route("/v3/refund/domestic/refunds", v3_endpoint(_refund, "refund"), methods=["POST"]),
    Route(
        "/v3/refund/domestic/refunds/{out_refund_no}", v3_endpoint(_query_refund, "query_refund"), methods=["GET"]
    ),
    Route(f"{TRANSFER_BILLS}", v3_endpoint(_transfer, "transfer"), methods=["POST"]),
    Route(f"{TRANSFER_BILLS}/out-bill-no/{{out_bill_no}}", v3_endpoint(_query_transfer, "query_transfer"),
          methods=["GET"]),
    Route(f"{TRANSFER_BILLS}/out-bill-no/{{out_bill_no}}/cancel", v3_endpoint(_cancel_transfer, "cancel_transfer"),
          methods=["POST"]),
    Route("/v3/{rest:path}", v3_endpoint(_not_found), methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]


def create_wechatpay_simulator(
    keys: SimulatorKeys,
    *,
    notify_transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    retry_speedup: float = 1.0,
    allow_http_notify: bool = True,
    refund_seconds: float | None = None,
) -> Starlette:
    """A Starlette app speaking WeChat Pay API v3 (payments, refunds, merchant transfers) plus the ``/__sim``
    control plane.

    The state lives at ``app.state.simulator`` (a ``SimulatorState``); ``await app.state.simulator.drain()`` waits
    until every queued notification has been delivered or has given up. ``refund_seconds``: a new refund succeeds
    by itself that long after it was asked for, as WeChat Pay's do; None: it stays PROCESSING until
    ``/__sim/refund/{no}/finish`` (``POST /__sim/refunds/auto`` changes it while running).
    """
    sim = SimulatorState(
        keys,
        clock=clock,
        notify_transport=notify_transport,
        retry_speedup=retry_speedup,
        allow_http_notify=allow_http_notify,
        refund_seconds=refund_seconds,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sim.aclose()

    app = Starlette(routes=[*V3_ROUTES, *control_routes()], lifespan=lifespan)
    app.state.simulator = sim
    return app

"""WeChat Pay's callbacks (wechat.md §4, §6.3, §7.1): plain Starlette endpoints, not GraphQL.

All endpoints follow the §4.4 contract: verify and decrypt (``WeChatPayGateway.parse_notification``), check the
resource is ours, skip a notification id already handled, apply the idempotent domain transition, record the id,
answer 204 with no body. Every failure answers 4xx/5xx with ``{"code": "FAIL", "message": …}`` so WeChat retries;
only the status counts to WeChat.

A notification whose handling crashes is answered 500 (WeChat Pay retries it; the database may just be down), but
the same one crashing MAX_CRASHES times is given up: logged at error level and answered 204, so one bad notification
is not retried for a day. What it was about is not lost: the reconcile sweeps ask WeChat Pay about every trade and
refund still open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from prometheus_client import Counter
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.expressions import F

from domain.errors import DomainError, ErrorCode
from domain.orders import notifications
from domain.orders.deps import OrderDeps
from domain.orders.models import PaymentNotification
from domain.orders.notifications import CRASHING, GIVEN_UP, Notice
from domain.orders.payment import REPLAYED, settle_payment
from domain.orders.refund_calls import apply_refund_status
from domain.transfers.ports import TransferBill
from payments.transfers import transfer_bill
from payments.wechatpay import TRANSFER_NOTIFICATION, NotificationRejected, WeChatPayGateway

log = structlog.get_logger("pond.payments.notify")

MAX_BODY = 64 * 1024
PAYMENT_PATH = "/payments/wechat/notify"
REFUND_PATH = "/payments/wechat/refund-notify"
TRANSFER_PATH = "/payments/wechat/transfer-notify"
REFUND_EVENTS = frozenset({"REFUND.SUCCESS", "REFUND.CLOSED", "REFUND.ABNORMAL"})
_ID_MAX = 64  # PaymentNotification.notification_id
_EVENT_MAX = 40  # PaymentNotification.event_type
MAX_CRASHES = 5
NOTIFICATIONS_GIVEN_UP = Counter(
    "pond_wechatpay_notifications_given_up_total",
    "WeChat Pay notifications acknowledged after crashing MAX_CRASHES times: the reconcile sweeps settle them.",
    ["kind"],
)


TransferFinished = Callable[[TransferBill], Awaitable[str]]
"""Takes the final state of a merchant transfer bill (idempotently: a bill may be told twice, and its query may have
told it first); answers the outcome recorded with the notification id."""
Handler = Callable[[OrderDeps, WeChatPayGateway, dict[str, Any]], Awaitable[tuple[str, str]]]
"""Applies a verified notification of this merchant; answers (reference, outcome). The outcome REPLAYED: the
notification had been handled before, nothing was done; a payment settled says so with the notification's record
already written (`domain.orders.notifications`)."""


class Fail(Exception):
    """Answer ``status`` with ``{"code": "FAIL", "message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _fail(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": "FAIL", "message": message}, status_code=status)


async def _read_body(request: Request) -> bytes:
    """The raw body, refusing anything over MAX_BODY without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > MAX_BODY:
                raise Fail(413, "body too large")
        except ValueError:
            raise Fail(400, "bad content-length") from None
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise Fail(413, "body too large")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Fail(400, "client disconnected") from None
    return b"".join(chunks)


def _wechatpay(request: Request) -> tuple[OrderDeps, WeChatPayGateway]:
    deps: OrderDeps = request.app.state.runtime.services.orders
    gateway = getattr(deps.gateway, "gateway", None)
    if not isinstance(gateway, WeChatPayGateway):
        raise Fail(503, "WeChat Pay is not configured")
    return deps, gateway


def _text(resource: dict[str, Any], name: str, limit: int = 64) -> str:
    value = resource.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise Fail(400, f"resource.{name} is missing or invalid")
    return value


def _check_ours(gateway: WeChatPayGateway, envelope: dict[str, Any]) -> None:
    """mchid always; appid too on transactions (refund resources carry no appid)."""
    config, resource = gateway.config, envelope["resource"]
    expected = {"mchid": config.mchid}
    if envelope["event_type"].startswith("TRANSACTION."):
        expected["appid"] = config.appid
    wrong = [name for name, value in expected.items() if resource.get(name) != value]
    if wrong:
        log.warning(
            "wechatpay notification for another merchant",
            fields=wrong,
            event_type=envelope["event_type"],
            id=envelope["id"],
        )
        raise Fail(400, f"{'/'.join(wrong)} mismatch")


def _settles_payment(envelope: dict[str, Any]) -> bool:
    """Whether the notification settles a payment (`settle_payment`), rather than being ignored or refused."""
    resource = envelope["resource"]
    return bool(envelope["event_type"] == "TRANSACTION.SUCCESS" and resource.get("trade_state") == "SUCCESS")


def _replayed(kind: str, ident: str, event_type: str) -> Response:
    log.info("wechatpay notification replayed", kind=kind, id=ident, event_type=event_type)
    return Response(status_code=200)


async def _settle_transaction(deps: OrderDeps, envelope: dict[str, Any]) -> tuple[str, str]:
    resource = envelope["resource"]
    out_trade_no = str(resource.get("out_trade_no") or "")
    event_type = envelope["event_type"]
    if event_type != "TRANSACTION.SUCCESS":
        return out_trade_no, "ignored"
    state = resource.get("trade_state")
    if state != "SUCCESS":
        return out_trade_no, f"ignored:{state}"
    out_trade_no = _text(resource, "out_trade_no")
    transaction_id = _text(resource, "transaction_id")
    amount = resource.get("amount")
    total = amount.get("total") if isinstance(amount, dict) else None
    if isinstance(total, bool) or not isinstance(total, int):
        raise Fail(400, "resource.amount.total is missing or invalid")
    try:
        outcome = await settle_payment(deps, out_trade_no, transaction_id, total,
                                       Notice(envelope["id"], event_type))
    except DomainError as exc:
        if exc.code == ErrorCode.NOT_FOUND:
            log.warning("wechatpay payment for an unknown trade", out_trade_no=out_trade_no, id=envelope["id"])
            raise Fail(404, "unknown out_trade_no") from None
        if exc.code == ErrorCode.INVALID:
            log.error(
                "wechatpay payment amount mismatch",
                out_trade_no=out_trade_no,
                paid=total,
                id=envelope["id"],
                detail=exc.message,
            )
            raise Fail(400, "amount mismatch") from None
        raise
    return out_trade_no, outcome


async def _apply_refund_notification(deps: OrderDeps, envelope: dict[str, Any]) -> tuple[str, str]:
    resource = envelope["resource"]
    event_type = envelope["event_type"]
    if event_type not in REFUND_EVENTS:
        return str(resource.get("out_refund_no") or ""), "ignored"
    out_refund_no = _text(resource, "out_refund_no")
    status = resource.get("refund_status") or event_type.removeprefix("REFUND.")
    refund_id = resource.get("refund_id")
    try:
        outcome = await apply_refund_status(deps, out_refund_no, str(status),
                                      refund_id if isinstance(refund_id, str) else None)
    except DomainError as exc:
        if exc.code == ErrorCode.NOT_FOUND:
            log.warning(
                "wechatpay refund notification for an unknown refund", out_refund_no=out_refund_no, id=envelope["id"]
            )
            raise Fail(404, "unknown out_refund_no") from None
        raise
    return out_refund_no, outcome


async def _crashed(kind: str, ident: str, event_type: str) -> Response:
    """Handling crashed (the exception is being handled): 500 so WeChat Pay retries, until MAX_CRASHES."""
    log.exception("wechatpay notification failed", kind=kind, id=ident, event_type=event_type)
    if not ident:
        return _fail(500, "internal error, retry later")
    try:
        row, created = await PaymentNotification.get_or_create(
            notification_id=ident,
            defaults={"event_type": event_type[:_EVENT_MAX], "reference": "", "outcome": CRASHING, "failures": 1},
        )
        if not created:
            await PaymentNotification.filter(id=row.id, outcome=CRASHING).update(failures=F("failures") + 1)
            await row.refresh_from_db()
        if row.outcome == CRASHING and row.failures >= MAX_CRASHES:
            await PaymentNotification.filter(id=row.id, outcome=CRASHING).update(outcome=GIVEN_UP)
            log.error("wechatpay notification given up: it crashed every time; the reconcile sweeps take over",
                      kind=kind, id=ident, event_type=event_type, failures=row.failures)
            NOTIFICATIONS_GIVEN_UP.labels(kind=kind).inc()
            return Response(status_code=204)
    except Exception:
        log.exception("wechatpay notification failure not counted", kind=kind, id=ident)
    return _fail(500, "internal error, retry later")


async def _handle(deps: OrderDeps, gateway: WeChatPayGateway, envelope: dict[str, Any]) -> tuple[str, str]:
    """Branch on the event, not the URL: a refund without its own notify_url is sent to the payment URL (§6.1)."""
    if envelope["event_type"].startswith("REFUND."):
        return await _apply_refund_notification(deps, envelope)
    return await _settle_transaction(deps, envelope)


def _transfer_handler(on_finished: TransferFinished) -> Handler:
    async def handle(deps: OrderDeps, gateway: WeChatPayGateway, envelope: dict[str, Any]) -> tuple[str, str]:
        if envelope["event_type"] != TRANSFER_NOTIFICATION:
            return str(envelope["resource"].get("out_bill_no") or ""), "ignored"
        try:
            bill = transfer_bill(gateway, envelope)
        except NotificationRejected as exc:
            raise Fail(400, f"{exc.reason}: {exc.detail}"[:200]) from None
        return bill.out_bill_no, await on_finished(bill)

    return handle


def _endpoint(kind: str, handle: Handler = _handle) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        ident = event_type = ""
        try:
            body = await _read_body(request)
            deps, gateway = _wechatpay(request)
            try:
                envelope = gateway.parse_notification(request.headers, body)
            except NotificationRejected as exc:
                log.warning("wechatpay notification rejected", kind=kind, reason=exc.reason, detail=exc.detail[:200])
                return _fail(401, exc.reason)
            ident, event_type = envelope["id"], envelope["event_type"]
            if not isinstance(ident, str) or len(ident) > _ID_MAX or not isinstance(event_type, str):
                raise Fail(400, "malformed notification id or event_type")
            _check_ours(gateway, envelope)
            # A payment settled asks whether its notification was seen, and records it, in its own transaction.
            settles = handle is _handle and _settles_payment(envelope)
            if not settles and await notifications.seen(ident):
                return _replayed(kind, ident, event_type)
            reference, outcome = await handle(deps, gateway, envelope)
            if outcome == REPLAYED:
                return _replayed(kind, ident, event_type)
            if not settles:
                await notifications.record(Notice(ident, event_type), reference, outcome)
        except Fail as exc:
            return _fail(exc.status, exc.message)
        except Exception:
            return await _crashed(kind, ident, event_type)
        log.info(
            "wechatpay notification handled",
            kind=kind,
            id=ident,
            event_type=event_type,
            reference=reference,
            outcome=outcome,
        )
        return Response(status_code=204)

    return endpoint


def notify_routes(on_transfer_finished: TransferFinished | None = None) -> list[Route]:
    """``POST /payments/wechat/notify`` (transactions) and ``POST /payments/wechat/refund-notify`` (refunds).

    Both accept either kind of event, dispatching on ``event_type``; other event types are recorded and acknowledged.
    With ``on_transfer_finished``, also ``POST /payments/wechat/transfer-notify``: each MCHTRANSFER.BILL.FINISHED,
    verified and decrypted, is handed to it as a TransferBill.
    """
    routes = [
        Route(PAYMENT_PATH, _endpoint("payment"), methods=["POST"]),
        Route(REFUND_PATH, _endpoint("refund"), methods=["POST"]),
    ]
    if on_transfer_finished is not None:
        routes.append(Route(TRANSFER_PATH, _endpoint("transfer", _transfer_handler(on_transfer_finished)),
                            methods=["POST"]))
    return routes

"""`pond pay` and `pond refund-complete`: play the customer's ``wx.requestPayment`` and WeChat Pay's refund desk
against a running development server (wechat.md §2.2, §9.4).

`pond pay`: the order's newest pending prepay is read from the database (nothing is written), signed with the
embedded simulator's merchant key exactly as the server's gateway signs it, and posted to the simulator's
``/__sim/pay``. `pond refund-complete`: a refund WeChat Pay is still processing is finished through the simulator's
``/__sim/refund/{out_refund_no}/finish``. Either way the simulator then notifies the server: the same path a real
payment or refund takes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from tortoise.exceptions import BaseORMException

from domain.orders.models import Order, OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from payments.keys import load_keys
from payments.wechatpay import WeChatPayConfig, WeChatPayGateway

T = TypeVar("T")
OUTCOMES = ("SUCCESS", "PAYERROR", "CANCEL")
REFUND_OUTCOMES = ("SUCCESS", "CLOSED", "ABNORMAL")
SIMULATOR_MOUNT = "/__sim/wechatpay"
TIMEOUT = 15.0
_HINTS = {
    "SIGN_ERROR": "the server's simulator has other keys: run `pond pay` with the server's POND_DATA_DIR",
    "PREPAY_NOT_FOUND": "the simulator keeps prepays in memory; was the server restarted since orderPay?",
    "PREPAY_EXPIRED": "call orderPay for a new prepay",
    "REFUND_FINAL": "the simulator finished it already (it pays refunds by itself after POND_SIMULATED_REFUND_SECONDS)",
    "RESOURCE_NOT_EXISTS": "the simulator keeps refunds in memory; was the server restarted since the refund?",
}


@dataclass(frozen=True)
class DevServer:
    """What these commands need to know of the development server; `pond` builds it from the server's settings."""

    database_url: str
    simulator_keys_dir: Path
    """Where the server's embedded WeChat Pay simulator keeps its keys."""
    production: bool = False
    simulated_wechatpay: bool = True


class DevPayError(Exception):
    """A one-line reason `pond pay` did nothing; ``exit_code`` 1, or 2 for a refusal."""

    exit_code = 1


class DevPayRefused(DevPayError):
    """There is no simulator to pay: production, or real merchant keys configured."""

    exit_code = 2


def ensure_simulated(server: DevServer, command: str = "pond pay") -> None:
    if server.production:
        raise DevPayRefused(f"{command} is for development: POND_ENV is production and payments are real")
    if not server.simulated_wechatpay:
        raise DevPayRefused(
            f"{command} needs the WeChat Pay simulator, but real merchant keys (POND_WECHATPAY_*) are set"
        )


async def _pending_prepay(order_number: str) -> str:
    order = await Order.get_or_none(number=order_number)
    if order is None:
        raise DevPayError(f"no order {order_number}")
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise DevPayError(f"order {order_number} is {order.status.value}, not waiting for payment")
    payment = (
        await Payment.filter(order_id=order.id, status=PaymentStatus.PENDING, prepay_id__isnull=False)
        .order_by("-id")
        .first()
    )
    if payment is None or not payment.prepay_id:
        raise DevPayError(f"order {order_number} has no prepay yet: call orderPay first")
    return payment.prepay_id


def _sign(server: DevServer, prepay_id: str, base_url: str) -> dict[str, str]:
    """The wx.requestPayment parameters, signed by the gateway the server builds from the same keys."""
    directory = server.simulator_keys_dir
    try:
        keys = load_keys(directory)
    except (OSError, ValueError, KeyError) as exc:
        raise DevPayError(
            f"no WeChat Pay simulator keys in {directory} ({type(exc).__name__}): use the server's POND_DATA_DIR"
        ) from None
    config = WeChatPayConfig.from_simulator_keys(
        keys,
        notify_url=f"{base_url}/payments/wechat/notify",
        refund_notify_url=f"{base_url}/payments/wechat/refund-notify",
        gateway=f"{base_url}{SIMULATOR_MOUNT}",
    )
    return WeChatPayGateway(config).request_payment_params(prepay_id)


def _answer(order_number: str, outcome: str, data: dict[str, Any]) -> str:
    if outcome == "SUCCESS":
        return f"paid: notification {data.get('notification_id')} queued for order {order_number}"
    if outcome == "PAYERROR":
        return f"payment failed (PAYERROR): order {order_number} stays unpaid"
    return f"cancelled: order {order_number} stays unpaid"


def _refusal(response: httpx.Response, url: str) -> DevPayError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        if response.status_code == 404:
            return DevPayError(f"no WeChat Pay simulator at {url} (not a development server?)")
        return DevPayError(f"the simulator answered HTTP {response.status_code}")
    code = body["code"]
    hint = _HINTS.get(code)
    return DevPayError(f"the simulator refused: {code} {body.get('message', '')}" + (f" ({hint})" if hint else ""))


async def _post(url: str, body: dict[str, Any], base_url: str, http: httpx.AsyncClient | None) -> httpx.Response:
    client = http or httpx.AsyncClient(timeout=TIMEOUT)
    try:
        response = await client.post(url, json=body)
    except httpx.HTTPError as exc:
        raise DevPayError(f"cannot reach {base_url} ({type(exc).__name__}): is `pond serve` running?") from None
    finally:
        if http is None:
            await client.aclose()
    if response.status_code != 200:
        raise _refusal(response, base_url)
    return response


async def simulate_payment(
    server: DevServer,
    order_number: str,
    outcome: str,
    base_url: str,
    http: httpx.AsyncClient | None = None,
) -> str:
    """Pay (or fail, or cancel) the order's newest pending prepay; the simulator's answer as one line.

    Needs an open database. ``http`` replaces the network (tests pass a client on an ASGI transport).
    Raises DevPayError.
    """
    ensure_simulated(server)
    if outcome not in OUTCOMES:
        raise DevPayError(f"outcome must be one of {', '.join(OUTCOMES)}")
    base_url = base_url.rstrip("/")
    prepay_id = await _pending_prepay(order_number)
    params = _sign(server, prepay_id, base_url)
    body = {
        "prepay_id": prepay_id,
        "outcome": outcome,
        "paySign": params["paySign"],
        "timeStamp": params["timeStamp"],
        "nonceStr": params["nonceStr"],
    }
    response = await _post(f"{base_url}{SIMULATOR_MOUNT}/__sim/pay", body, base_url, http)
    return _answer(order_number, outcome, response.json())


async def _processing_refund(number: str) -> str:
    """The out_refund_no of a refund number, or of an order number's newest refund, that WeChat Pay processes."""
    refund = await Refund.get_or_none(out_refund_no=number)
    if refund is None:
        order = await Order.get_or_none(number=number)
        if order is None:
            raise DevPayError(f"no refund or order {number}")
        refund = await Refund.filter(order_id=order.id).order_by("-id").first()
        if refund is None:
            raise DevPayError(f"order {number} has no refund")
    if refund.status != RefundStatus.PROCESSING:
        raise DevPayError(f"refund {refund.out_refund_no} is {refund.status.value}, not waiting for WeChat Pay")
    return refund.out_refund_no


async def complete_refund(
    server: DevServer, number: str, outcome: str, base_url: str, http: httpx.AsyncClient | None = None
) -> str:
    """Finish (SUCCESS, CLOSED or ABNORMAL) the refund WeChat Pay is processing, named by its number or its
    order's; the simulator's answer as one line. Needs an open database. Raises DevPayError."""
    ensure_simulated(server, "pond refund-complete")
    if outcome not in REFUND_OUTCOMES:
        raise DevPayError(f"outcome must be one of {', '.join(REFUND_OUTCOMES)}")
    base_url = base_url.rstrip("/")
    out_refund_no = await _processing_refund(number)
    url = f"{base_url}{SIMULATOR_MOUNT}/__sim/refund/{out_refund_no}/finish"
    response = await _post(url, {"status": outcome}, base_url, http)
    return f"refund {out_refund_no} {outcome}: notification {response.json().get('notification_id')} queued"


async def from_command_line(server: DevServer, work: Callable[[], Awaitable[T]], command: str = "pond pay") -> T:
    """Opens the database (no migrations, reads only) around ``work``."""
    from domain.db import close_database, open_database

    ensure_simulated(server, command)
    try:
        await open_database(server.database_url)
        try:
            return await work()
        finally:
            await close_database()
    except (BaseORMException, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DevPayError(
            f"cannot read orders from POND_DATABASE_URL ({reason}): is it the server's database?"
        ) from None

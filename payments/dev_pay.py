"""`pond pay`: play the customer's ``wx.requestPayment`` against a running development server (wechat.md §2.2, §9.4).

The order's newest pending prepay is read from the database (nothing is written), signed with the embedded
simulator's merchant key exactly as the server's gateway signs it, and posted to the simulator's ``/__sim/pay``.
The simulator then notifies the server, which marks the order paid: the same path a real payment takes.
"""

from __future__ import annotations

from typing import Any

import httpx
from tortoise.exceptions import BaseORMException

from domain.orders.models import Order, OrderStatus, Payment, PaymentStatus
from payments.keys import load_keys
from payments.wechatpay import WeChatPayConfig, WeChatPayGateway
from server.settings import Settings

OUTCOMES = ("SUCCESS", "PAYERROR", "CANCEL")
SIMULATOR_MOUNT = "/__sim/wechatpay"
TIMEOUT = 15.0
_HINTS = {
    "SIGN_ERROR": "the server's simulator has other keys: run `pond pay` with the server's POND_DATA_DIR",
    "PREPAY_NOT_FOUND": "the simulator keeps prepays in memory; was the server restarted since orderPay?",
    "PREPAY_EXPIRED": "call orderPay for a new prepay",
}


class DevPayError(Exception):
    """A one-line reason `pond pay` did nothing; ``exit_code`` 1, or 2 for a refusal."""

    exit_code = 1


class DevPayRefused(DevPayError):
    """There is no simulator to pay: production, or real merchant keys configured."""

    exit_code = 2


def ensure_simulated(settings: Settings) -> None:
    if settings.production:
        raise DevPayRefused("pond pay is for development: POND_ENV is production and payments are real")
    if not settings.simulated_wechatpay:
        raise DevPayRefused(
            "pond pay needs the WeChat Pay simulator, but real merchant keys (POND_WECHATPAY_*) are set"
        )


def default_server_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::", ""} else settings.host
    return f"http://{host}:{settings.port}"


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


def _sign(settings: Settings, prepay_id: str, base_url: str) -> dict[str, str]:
    """The wx.requestPayment parameters, signed by the gateway the server builds from the same keys."""
    directory = settings.wechatpay_simulator_dir
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


async def simulate_payment(
    settings: Settings,
    order_number: str,
    outcome: str,
    base_url: str,
    http: httpx.AsyncClient | None = None,
) -> str:
    """Pay (or fail, or cancel) the order's newest pending prepay; the simulator's answer as one line.

    Needs an open database. ``http`` replaces the network (tests pass a client on an ASGI transport).
    Raises DevPayError.
    """
    ensure_simulated(settings)
    if outcome not in OUTCOMES:
        raise DevPayError(f"outcome must be one of {', '.join(OUTCOMES)}")
    base_url = base_url.rstrip("/")
    prepay_id = await _pending_prepay(order_number)
    params = _sign(settings, prepay_id, base_url)
    body = {
        "prepay_id": prepay_id,
        "outcome": outcome,
        "paySign": params["paySign"],
        "timeStamp": params["timeStamp"],
        "nonceStr": params["nonceStr"],
    }
    url = f"{base_url}{SIMULATOR_MOUNT}/__sim/pay"
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
    return _answer(order_number, outcome, response.json())


async def pay_from_command_line(settings: Settings, order_number: str, outcome: str, base_url: str) -> str:
    """`pond pay`: opens the database (no migrations, reads only) around ``simulate_payment``."""
    from domain.db import close_database, open_database

    ensure_simulated(settings)
    try:
        await open_database(settings.database_url)
        try:
            return await simulate_payment(settings, order_number, outcome, base_url)
        finally:
            await close_database()
    except (BaseORMException, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DevPayError(
            f"cannot read orders from POND_DATABASE_URL ({reason}): is it the server's database?"
        ) from None

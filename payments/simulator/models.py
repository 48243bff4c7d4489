"""Records the simulator keeps per merchant: transactions (wechat.md §4.3), refunds (§6.1, §6.3) and transfer bills
(§7.1)."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

CST = dt.timezone(dt.timedelta(hours=8))
PREPAY_TTL = 2 * 3600
MIN_PAY_WINDOW = 60
DEFAULT_PAY_WINDOW = 7 * 86400
MAX_PAY_WINDOW = 90 * 86400
REFUND_WINDOW = 365 * 86400
MAX_REFUNDS_PER_ORDER = 50

PAID_STATES = frozenset({"SUCCESS", "REFUND"})
TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "REFUND": "转入退款",
    "CLOSED": "订单已关闭",
    "PAYERROR": "支付失败，请重新下单支付",
}
REFUND_FINAL = frozenset({"SUCCESS", "CLOSED"})
REFUND_SUMMARY = {"SUCCESS": "退款成功", "CLOSED": "退款关闭", "ABNORMAL": "退款异常"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail:
            payload["detail"] = self.detail
        return payload


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, CST).isoformat(timespec="seconds")


def _digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


def new_prepay_id(now: float) -> str:
    stamp = dt.datetime.fromtimestamp(now, CST).strftime("%Y%m%d%H%M%S")
    return "wx" + stamp + secrets.token_hex(10)


def new_transaction_id(now: float) -> str:
    return "4200" + dt.datetime.fromtimestamp(now, CST).strftime("%Y%m%d") + _digits(16)


def new_refund_id() -> str:
    return "50" + _digits(27)


@dataclass
class Transaction:
    out_trade_no: str
    appid: str
    mchid: str
    description: str
    notify_url: str
    total: int
    currency: str
    openid: str
    attach: str | None
    time_expire: float
    created_at: float
    fingerprint: str
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: float | None = None
    current_prepay_id: str | None = None
    refund_nos: list[str] = field(default_factory=list)

    @property
    def paid(self) -> bool:
        return self.trade_state in PAID_STATES

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_state": self.trade_state,
            "trade_state_desc": TRADE_STATE_DESC[self.trade_state],
        }
        if self.transaction_id:
            data["transaction_id"] = self.transaction_id
            data["trade_type"] = "JSAPI"
            data["bank_type"] = "OTHERS"
            data["payer"] = {"openid": self.openid}
        if self.paid:
            data["attach"] = self.attach or ""
            data["success_time"] = rfc3339(self.success_time or self.created_at)
            data["amount"] = {
                "total": self.total,
                "payer_total": self.total,
                "currency": self.currency,
                "payer_currency": self.currency,
            }
            data["promotion_detail"] = []
        else:
            data["amount"] = {"total": self.total, "currency": self.currency, "payer_currency": self.currency}
        return data


@dataclass
class Refund:
    out_refund_no: str
    refund_id: str
    mchid: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    currency: str
    reason: str | None
    notify_url: str | None
    created_at: float
    status: str = "PROCESSING"
    success_time: float | None = None

    def _amount(self) -> dict[str, Any]:
        return {"total": self.total, "refund": self.refund, "payer_total": self.total, "payer_refund": self.refund}

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": rfc3339(self.created_at),
            "status": self.status,
            "funds_account": "AVAILABLE",
            "amount": {
                **self._amount(),
                "settlement_refund": self.refund,
                "settlement_total": self.total,
                "discount_refund": 0,
                "currency": self.currency,
                "from": [],
            },
            "promotion_detail": [],
        }
        if self.success_time is not None:
            data["success_time"] = rfc3339(self.success_time)
        return data

    def to_notification(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "transaction_id": self.transaction_id,
            "out_refund_no": self.out_refund_no,
            "refund_id": self.refund_id,
            "refund_status": self.status,
            "user_received_account": "支付用户零钱",
            "amount": self._amount(),
        }
        if self.success_time is not None:
            data["success_time"] = rfc3339(self.success_time)
        return data


TRANSFER_FINAL = frozenset({"SUCCESS", "FAIL", "CANCELLED"})
TRANSFER_CANCELLABLE = frozenset({"ACCEPTED", "WAIT_USER_CONFIRM"})
"""A bill can be cancelled until the user has confirmed receipt (wechat.md §7.1)."""


def new_transfer_bill_no() -> str:
    return "1330" + _digits(36)


def new_package_info() -> str:
    return base64.b64encode(secrets.token_bytes(48)).decode("ascii")


@dataclass
class Transfer:
    """A merchant transfer bill (wechat.md §7.1)."""

    out_bill_no: str
    transfer_bill_no: str
    appid: str
    mchid: str
    openid: str
    amount: int
    remark: str
    scene_id: str
    notify_url: str | None
    package_info: str
    created_at: float
    fingerprint: str
    state: str = "WAIT_USER_CONFIRM"
    updated_at: float | None = None
    fail_reason: str | None = None

    def to_created(self) -> dict[str, Any]:
        """What the create call answers (again for a repeat with the same parameters)."""
        data: dict[str, Any] = {
            "out_bill_no": self.out_bill_no,
            "transfer_bill_no": self.transfer_bill_no,
            "create_time": rfc3339(self.created_at),
            "state": self.state,
        }
        if self.state == "WAIT_USER_CONFIRM":
            data["package_info"] = self.package_info
        if self.fail_reason:
            data["fail_reason"] = self.fail_reason
        return data

    def _bill(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "out_bill_no": self.out_bill_no,
            "transfer_bill_no": self.transfer_bill_no,
            "appid": self.appid,
            "state": self.state,
            "transfer_amount": self.amount,
            "transfer_remark": self.remark,
            "openid": self.openid,
            "create_time": rfc3339(self.created_at),
            "update_time": rfc3339(self.updated_at or self.created_at),
        }
        if self.fail_reason:
            data["fail_reason"] = self.fail_reason
        return data

    def to_api(self) -> dict[str, Any]:
        """The query answer."""
        return {"mch_id": self.mchid, **self._bill()}

    def to_notification(self) -> dict[str, Any]:
        """The decrypted resource of MCHTRANSFER.BILL.FINISHED."""
        return {"mchid": self.mchid, **self._bill()}

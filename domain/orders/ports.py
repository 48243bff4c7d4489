"""What the orders area needs from a payment provider. payments/ implements it for WeChat Pay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PrepayRequest:
    out_trade_no: str
    description: str
    amount: int
    openid: str
    expires_at: datetime


@dataclass(frozen=True)
class PaymentParams:
    """The five fields the mini-program passes to wx.requestPayment."""

    time_stamp: str
    nonce_str: str
    package: str
    sign_type: str
    pay_sign: str


@dataclass(frozen=True)
class TradeStatus:
    out_trade_no: str
    state: str
    """SUCCESS, NOTPAY, CLOSED, REFUND, USERPAYING, PAYERROR, REVOKED."""
    transaction_id: str | None = None
    amount: int | None = None


@dataclass(frozen=True)
class RefundStatus:
    out_refund_no: str
    status: str
    """PROCESSING, SUCCESS, CLOSED or ABNORMAL."""
    refund_id: str | None = None


class PaymentGatewayError(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


class PaymentGateway(Protocol):
    async def prepay(self, request: PrepayRequest) -> str:
        """The prepay_id. Raises PaymentGatewayError."""

    def payment_params(self, prepay_id: str) -> PaymentParams: ...

    async def query(self, out_trade_no: str) -> TradeStatus | None: ...

    async def close(self, out_trade_no: str) -> None:
        """Raises PaymentGatewayError with code ORDERPAID when the user paid meanwhile."""

    async def refund(
        self, *, out_refund_no: str, out_trade_no: str, amount: int, total: int, reason: str
    ) -> RefundStatus: ...

    async def query_refund(self, out_refund_no: str) -> RefundStatus | None: ...

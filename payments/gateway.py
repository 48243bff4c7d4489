"""The orders area's PaymentGateway, spoken over WeChat Pay v3 (real merchant or the local simulator)."""

from __future__ import annotations

from domain.orders.ports import PaymentGatewayError, PaymentParams, PrepayRequest, RefundStatus, TradeStatus
from payments.wechatpay import WeChatPayError, WeChatPayGateway

REFUND_REFUSALS_THAT_CLEAR = frozenset({"NOT_ENOUGH"})
"""Refusals of a refund that clear by themselves, besides no answer, 429 and 5xx (`WeChatPayError.retryable`): the
merchant's balance is short until takings or a top-up arrive. Others (PARAM_ERROR, INVALID_REQUEST, NO_AUTH, a
refund past its window, ...) say the same again however often they are asked: staff must look."""


def _error(exc: WeChatPayError) -> PaymentGatewayError:
    return PaymentGatewayError(exc.code, exc.message, retryable=exc.retryable)


def _refund_error(exc: WeChatPayError) -> PaymentGatewayError:
    return PaymentGatewayError(exc.code, exc.message,
                               retryable=exc.retryable or exc.code in REFUND_REFUSALS_THAT_CLEAR)


class WeChatPayPort:
    """Adapts WeChatPayGateway's dict answers to the domain's small value types."""

    def __init__(self, gateway: WeChatPayGateway) -> None:
        self.gateway = gateway

    async def prepay(self, request: PrepayRequest) -> str:
        try:
            return await self.gateway.prepay(
                out_trade_no=request.out_trade_no,
                description=request.description,
                total_fen=request.amount,
                openid=request.openid,
                time_expire=request.expires_at,
            )
        except WeChatPayError as exc:
            raise _error(exc) from None

    def payment_params(self, prepay_id: str) -> PaymentParams:
        fields = self.gateway.request_payment_params(prepay_id)
        return PaymentParams(
            time_stamp=fields["timeStamp"],
            nonce_str=fields["nonceStr"],
            package=fields["package"],
            sign_type=fields["signType"],
            pay_sign=fields["paySign"],
        )

    async def query(self, out_trade_no: str) -> TradeStatus | None:
        try:
            found = await self.gateway.query(out_trade_no)
        except WeChatPayError as exc:
            raise _error(exc) from None
        if found is None:
            return None
        return TradeStatus(
            out_trade_no=found["out_trade_no"],
            state=found["trade_state"],
            transaction_id=found.get("transaction_id"),
            amount=(found.get("amount") or {}).get("total"),
        )

    async def close(self, out_trade_no: str) -> None:
        try:
            await self.gateway.close(out_trade_no)
        except WeChatPayError as exc:
            raise _error(exc) from None

    async def refund(
        self, *, out_refund_no: str, out_trade_no: str, amount: int, total: int, reason: str
    ) -> RefundStatus:
        try:
            result = await self.gateway.refund(
                out_refund_no=out_refund_no,
                out_trade_no=out_trade_no,
                refund_fen=amount,
                total_fen=total,
                reason=reason or None,
            )
        except WeChatPayError as exc:
            raise _refund_error(exc) from None
        return RefundStatus(out_refund_no=out_refund_no, status=result["status"], refund_id=result.get("refund_id"))

    async def query_refund(self, out_refund_no: str) -> RefundStatus | None:
        try:
            found = await self.gateway.query_refund(out_refund_no)
        except WeChatPayError as exc:
            raise _error(exc) from None
        if found is None:
            return None
        return RefundStatus(out_refund_no=out_refund_no, status=found["status"], refund_id=found.get("refund_id"))

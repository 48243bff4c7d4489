"""The TransferGateway (merchant transfer, wechat.md §7.1) over WeChat Pay v3, and its MCHTRANSFER.BILL.FINISHED
notification read into a TransferBill."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.transfers.ports import (
    STATES,
    TransferBill,
    TransferGatewayError,
    TransferResult,
    TransferScene,
)
from payments.wechatpay import TRANSFER_NOTIFICATION, NotificationRejected, WeChatPayError, WeChatPayGateway


def _error(exc: WeChatPayError) -> TransferGatewayError:
    return TransferGatewayError(exc.code, exc.message, retryable=exc.retryable)


def _optional_text(found: Mapping[str, Any], name: str) -> str | None:
    value = found.get(name)
    return value if isinstance(value, str) and value else None


def _result(found: Mapping[str, Any], out_bill_no: str) -> TransferResult:
    state = found.get("state")
    if state not in STATES:
        raise TransferGatewayError("INVALID_RESPONSE", f"unknown transfer state {str(state)[:32]!r}", retryable=True)
    return TransferResult(
        out_bill_no=out_bill_no,
        state=str(state),
        transfer_bill_no=_optional_text(found, "transfer_bill_no"),
        package_info=_optional_text(found, "package_info"),
        fail_reason=_optional_text(found, "fail_reason"),
    )


class WeChatPayTransfers:
    """Adapts WeChatPayGateway's transfer calls to the domain's TransferGateway."""

    def __init__(self, gateway: WeChatPayGateway) -> None:
        self.gateway = gateway

    async def create_transfer(
        self,
        *,
        out_bill_no: str,
        openid: str,
        amount: int,
        remark: str,
        scene: TransferScene,
        user_recv_perception: str | None = None,
        notify_url: str | None = None,
    ) -> TransferResult:
        try:
            found = await self.gateway.create_transfer(
                out_bill_no=out_bill_no,
                openid=openid,
                amount_fen=amount,
                remark=remark,
                scene_id=scene.scene_id,
                report_infos=[{"info_type": kind, "info_content": content} for kind, content in scene.report_infos],
                user_recv_perception=user_recv_perception,
                notify_url=notify_url,
            )
        except WeChatPayError as exc:
            raise _error(exc) from None
        return _result(found, out_bill_no)

    async def query_transfer(self, out_bill_no: str) -> TransferResult | None:
        try:
            found = await self.gateway.query_transfer(out_bill_no)
        except WeChatPayError as exc:
            raise _error(exc) from None
        return None if found is None else _result(found, out_bill_no)

    async def cancel_transfer(self, out_bill_no: str) -> TransferResult:
        try:
            found = await self.gateway.cancel_transfer(out_bill_no)
        except WeChatPayError as exc:
            raise _error(exc) from None
        return _result(found, out_bill_no)


def transfer_bill(gateway: WeChatPayGateway, envelope: Mapping[str, Any]) -> TransferBill:
    """The bill a verified, decrypted notification (``gateway.parse_notification``) tells about.

    Raises NotificationRejected when it is not a transfer notification of this merchant or lacks what it must say.
    """
    if envelope.get("event_type") != TRANSFER_NOTIFICATION:
        raise NotificationRejected("unexpected_event", str(envelope.get("event_type"))[:64])
    resource = envelope.get("resource")
    if not isinstance(resource, dict):
        raise NotificationRejected("malformed", "no resource")
    if resource.get("mchid") != gateway.config.mchid:
        raise NotificationRejected("other_merchant", str(resource.get("mchid"))[:32])
    out_bill_no, state = resource.get("out_bill_no"), resource.get("state")
    if not isinstance(out_bill_no, str) or not out_bill_no or len(out_bill_no) > 32:
        raise NotificationRejected("malformed", "resource.out_bill_no is missing or invalid")
    if state not in STATES:
        raise NotificationRejected("malformed", f"unknown state {str(state)[:32]!r}")
    return TransferBill(
        out_bill_no=out_bill_no,
        state=str(state),
        transfer_bill_no=_optional_text(resource, "transfer_bill_no"),
        fail_reason=_optional_text(resource, "fail_reason"),
    )


def parse_transfer_notification(
    gateway: WeChatPayGateway, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> TransferBill:
    """Verify, decrypt and read a MCHTRANSFER.BILL.FINISHED notification; raises NotificationRejected only."""
    return transfer_bill(gateway, gateway.parse_notification(headers, body, now=now))

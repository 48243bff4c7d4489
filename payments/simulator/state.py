"""Business state of the simulated merchant account: orders, prepay ids, refunds, clock (wechat.md §9.3, §9.4)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httpx

from payments.keys import SimulatorKeys
from payments.simulator.faults import FaultBook
from payments.simulator.models import (
    DEFAULT_PAY_WINDOW,
    MAX_PAY_WINDOW,
    MAX_REFUNDS_PER_ORDER,
    MIN_PAY_WINDOW,
    PREPAY_TTL,
    REFUND_FINAL,
    REFUND_SUMMARY,
    REFUND_WINDOW,
    TRANSFER_CANCELLABLE,
    ApiError,
    Refund,
    Transaction,
    Transfer,
    new_package_info,
    new_prepay_id,
    new_refund_id,
    new_transaction_id,
    new_transfer_bill_no,
    rfc3339,
)
from payments.simulator.notifier import Notification, Notifier
from payments.simulator.signing import Signer
from payments.simulator.validation import validate_jsapi, validate_refund, validate_transfer

PAY_OUTCOMES = frozenset({"SUCCESS", "PAYERROR", "CANCEL"})
REFUND_OUTCOMES = frozenset({"SUCCESS", "CLOSED", "ABNORMAL"})
DEFAULT_FAIL_REASON = "PAYEE_ACCOUNT_ABNORMAL"


class SimulatorState:
    """Everything the simulator knows; reachable as ``app.state.simulator``.

    ``wall()`` is the clock used for signatures (never shifted); ``now()`` adds the offset set through
    ``/__sim/clock/advance`` and drives business TTLs (prepay ids, time_expire, refund window).
    """

    def __init__(
        self,
        keys: SimulatorKeys,
        *,
        clock: Callable[[], float],
        notify_transport: httpx.AsyncBaseTransport | None,
        retry_speedup: float,
        allow_http_notify: bool,
        refund_seconds: float | None = None,
    ) -> None:
        self.keys = keys
        self.signer = Signer(keys)
        self.faults = FaultBook()
        self.allow_http_notify = allow_http_notify
        self._clock = clock
        self.offset = 0.0
        self.notifier = Notifier(self.signer, wall_clock=clock, transport=notify_transport, retry_speedup=retry_speedup)
        self.transactions: dict[str, Transaction] = {}
        self.by_transaction_id: dict[str, Transaction] = {}
        self.prepay_ids: dict[str, tuple[str, float]] = {}
        self.refunds: dict[str, Refund] = {}
        self.transfers: dict[str, Transfer] = {}
        self.refund_seconds = refund_seconds
        """A new refund finishes by itself this long after it was asked for; None: held until finished by hand."""
        self._refund_timers: set[asyncio.Task[None]] = set()

    def forget(self) -> None:
        """Start again with no trades, prepays or refunds (a test whose store was emptied reuses order numbers)."""
        for timer in self._refund_timers:
            timer.cancel()
        self.transactions.clear()
        self.by_transaction_id.clear()
        self.prepay_ids.clear()
        self.refunds.clear()
        self.transfers.clear()

    def wall(self) -> float:
        return self._clock()

    def now(self) -> float:
        return self._clock() + self.offset

    def advance_clock(self, seconds: float) -> float:
        self.offset += seconds
        return self.now()

    async def drain(self) -> None:
        """Wait until every refund due to finish by itself has, and every queued notification is delivered or has
        given up; wrap in ``asyncio.timeout``."""
        while self._refund_timers:
            await asyncio.gather(*list(self._refund_timers), return_exceptions=True)
        await self.notifier.drain()

    async def aclose(self) -> None:
        for timer in self._refund_timers:
            timer.cancel()
        await asyncio.gather(*list(self._refund_timers), return_exceptions=True)
        await self.notifier.aclose()

    def _plan_refund_end(self, refund: Refund) -> None:
        """Finish a new refund by itself, as WeChat Pay does: the planned outcome (faults), else SUCCESS after
        ``refund_seconds``; HOLD (or no ``refund_seconds``) leaves it PROCESSING."""
        outcome = self.faults.next_refund_outcome() or ("SUCCESS" if self.refund_seconds is not None else "HOLD")
        if outcome == "HOLD":
            return
        timer = asyncio.get_running_loop().create_task(self._finish_later(refund.out_refund_no, outcome))
        self._refund_timers.add(timer)
        timer.add_done_callback(self._refund_timers.discard)

    async def _finish_later(self, out_refund_no: str, outcome: str) -> None:
        await asyncio.sleep(self.refund_seconds or 0.0)
        refund = self.refunds.get(out_refund_no)
        if refund is None or refund.status != "PROCESSING":  # forgotten, or finished by hand meanwhile
            return
        with contextlib.suppress(ApiError):
            self.finish_refund(out_refund_no, outcome)

    def check_mchid(self, mchid: Any) -> None:
        if not mchid:
            raise ApiError(400, "PARAM_ERROR", "mchid is required")
        if mchid != self.keys.mchid:
            raise ApiError(400, "MCH_NOT_EXISTS", "mchid does not match the signing merchant")

    def create_prepay(self, data: dict[str, Any]) -> dict[str, Any]:
        order = validate_jsapi(
            data, mchid=self.keys.mchid, appid=self.keys.appid, allow_http_notify=self.allow_http_notify
        )
        now = self.now()
        existing = self.transactions.get(order.out_trade_no)
        if existing is not None:
            if existing.trade_state == "CLOSED":
                raise ApiError(400, "ORDER_CLOSED", "订单已关闭")
            if existing.paid:
                raise ApiError(400, "ORDERPAID", "该订单已支付")
            if existing.fingerprint != order.fingerprint:
                raise ApiError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            if now > existing.time_expire:
                raise ApiError(400, "ORDER_CLOSED", "订单已过期 (time_expire passed); use a new out_trade_no")
            return {"prepay_id": self._current_prepay(existing, now)}
        window = DEFAULT_PAY_WINDOW if order.time_expire is None else order.time_expire - now
        transaction = Transaction(
            out_trade_no=order.out_trade_no,
            appid=order.appid,
            mchid=order.mchid,
            description=order.description,
            notify_url=order.notify_url,
            total=order.total,
            currency=order.currency,
            openid=order.openid,
            attach=order.attach,
            time_expire=now + min(max(window, MIN_PAY_WINDOW), MAX_PAY_WINDOW),
            created_at=now,
            fingerprint=order.fingerprint,
        )
        self.transactions[order.out_trade_no] = transaction
        return {"prepay_id": self._current_prepay(transaction, now)}

    def _current_prepay(self, transaction: Transaction, now: float) -> str:
        current = transaction.current_prepay_id
        if current is not None and self.prepay_ids[current][1] > now:
            return current
        prepay_id = new_prepay_id(now)
        self.prepay_ids[prepay_id] = (transaction.out_trade_no, now + PREPAY_TTL)
        transaction.current_prepay_id = prepay_id
        return prepay_id

    def get_transaction(self, out_trade_no: str | None = None, transaction_id: str | None = None) -> Transaction:
        found = (
            self.by_transaction_id.get(transaction_id) if transaction_id else self.transactions.get(out_trade_no or "")
        )
        if found is None:
            raise ApiError(404, "ORDER_NOT_EXIST", "订单不存在")
        return found

    def close(self, out_trade_no: str) -> None:
        transaction = self.transactions.get(out_trade_no)
        if transaction is None:
            return
        if transaction.paid:
            raise ApiError(400, "ORDERPAID", "订单已支付，不能关闭")
        transaction.trade_state = "CLOSED"

    def simulate_payment(self, spec: dict[str, Any]) -> tuple[Transaction, Notification | None]:
        prepay_id, outcome = spec.get("prepay_id"), spec.get("outcome", "SUCCESS")
        if outcome not in PAY_OUTCOMES:
            raise ApiError(400, "PARAM_ERROR", f"outcome must be one of {sorted(PAY_OUTCOMES)}")
        if not isinstance(prepay_id, str) or prepay_id not in self.prepay_ids:
            raise ApiError(404, "PREPAY_NOT_FOUND", "unknown prepay_id")
        out_trade_no, expires_at = self.prepay_ids[prepay_id]
        transaction = self.transactions[out_trade_no]
        time_stamp, nonce_str, pay_sign = spec.get("timeStamp"), spec.get("nonceStr"), spec.get("paySign")
        if not (isinstance(time_stamp, str) and time_stamp.isdigit()):
            raise ApiError(400, "PARAM_ERROR", "timeStamp must be Unix seconds as a string")
        if not (isinstance(nonce_str, str) and 0 < len(nonce_str) <= 32):
            raise ApiError(400, "PARAM_ERROR", "nonceStr must be 1-32 characters")
        if spec.get("package", f"prepay_id={prepay_id}") != f"prepay_id={prepay_id}":
            raise ApiError(400, "PARAM_ERROR", "package must be prepay_id=<prepay_id>")
        if spec.get("signType", "RSA") != "RSA":
            raise ApiError(400, "PARAM_ERROR", "signType must be RSA")
        package = f"prepay_id={prepay_id}"
        if not isinstance(pay_sign, str) or not self.signer.verify_pay_sign(
            transaction.appid, time_stamp, nonce_str, package, pay_sign
        ):
            raise ApiError(401, "SIGN_ERROR", "paySign does not verify with the merchant key")
        now = self.now()
        if now > expires_at:
            raise ApiError(400, "PREPAY_EXPIRED", "prepay_id is older than 2 hours")
        if transaction.paid:
            raise ApiError(400, "ORDERPAID", "该订单已支付")
        if transaction.trade_state == "CLOSED":
            raise ApiError(400, "ORDER_CLOSED", "订单已关闭")
        if now > transaction.time_expire:
            raise ApiError(400, "ORDER_EXPIRED", "time_expire has passed")
        if outcome == "CANCEL":
            return transaction, None
        if transaction.transaction_id is None:
            transaction.transaction_id = new_transaction_id(now)
            self.by_transaction_id[transaction.transaction_id] = transaction
        if outcome == "PAYERROR":
            transaction.trade_state = "PAYERROR"
            return transaction, None
        transaction.trade_state = "SUCCESS"
        transaction.success_time = now
        note = self.notifier.enqueue(
            event_type="TRANSACTION.SUCCESS",
            summary="支付成功",
            original_type="transaction",
            url=transaction.notify_url,
            resource=transaction.to_api(),
            create_time=now,
            faults=self.faults.next_notification(),
            refs={"out_trade_no": transaction.out_trade_no},
        )
        return transaction, note

    def create_refund(self, data: dict[str, Any]) -> dict[str, Any]:
        req = validate_refund(data, allow_http_notify=self.allow_http_notify)
        transaction = self.by_transaction_id.get(req.transaction_id or "") or self.transactions.get(
            req.out_trade_no or ""
        )
        if transaction is None:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        existing = self.refunds.get(req.out_refund_no)
        if existing is not None:
            same = (existing.out_trade_no, existing.refund, existing.total) == (
                transaction.out_trade_no,
                req.refund,
                req.total,
            )
            if not same:
                raise ApiError(400, "INVALID_REQUEST", "out_refund_no was used with different parameters")
            return existing.to_api()
        now = self.now()
        if not transaction.paid or transaction.transaction_id is None:
            raise ApiError(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if req.total != transaction.total:
            raise ApiError(400, "INVALID_REQUEST", "amount.total does not equal the order total")
        if now - (transaction.success_time or now) > REFUND_WINDOW:
            raise ApiError(400, "INVALID_REQUEST", "订单已超过退款期限 (1 year)")
        if len(transaction.refund_nos) >= MAX_REFUNDS_PER_ORDER:
            raise ApiError(400, "INVALID_REQUEST", "an order can have at most 50 refunds")
        refunded = sum(self.refunds[no].refund for no in transaction.refund_nos if self.refunds[no].status != "CLOSED")
        if refunded + req.refund > transaction.total:
            raise ApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        refund = Refund(
            out_refund_no=req.out_refund_no,
            refund_id=new_refund_id(),
            mchid=transaction.mchid,
            out_trade_no=transaction.out_trade_no,
            transaction_id=transaction.transaction_id,
            refund=req.refund,
            total=req.total,
            currency=req.currency,
            reason=req.reason,
            notify_url=req.notify_url,
            created_at=now,
        )
        self.refunds[refund.out_refund_no] = refund
        transaction.refund_nos.append(refund.out_refund_no)
        transaction.trade_state = "REFUND"
        self._plan_refund_end(refund)
        return refund.to_api()

    def get_refund(self, out_refund_no: str) -> Refund:
        refund = self.refunds.get(out_refund_no)
        if refund is None:
            raise ApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return refund

    def finish_refund(self, out_refund_no: str, status: Any) -> tuple[Refund, Notification]:
        if status not in REFUND_OUTCOMES:
            raise ApiError(400, "PARAM_ERROR", f"status must be one of {sorted(REFUND_OUTCOMES)}")
        refund = self.get_refund(out_refund_no)
        if refund.status in REFUND_FINAL:
            raise ApiError(409, "REFUND_FINAL", f"refund is already {refund.status}")
        now = self.now()
        refund.status = status
        if status == "SUCCESS":
            refund.success_time = now
        transaction = self.transactions[refund.out_trade_no]
        if all(self.refunds[no].status == "CLOSED" for no in transaction.refund_nos):
            transaction.trade_state = "SUCCESS"
        note = self.notifier.enqueue(
            event_type=f"REFUND.{status}",
            summary=REFUND_SUMMARY[status],
            original_type="refund",
            url=refund.notify_url,
            resource=refund.to_notification(),
            create_time=now,
            faults=self.faults.next_notification(),
            refs={"out_trade_no": refund.out_trade_no, "out_refund_no": refund.out_refund_no},
        )
        return refund, note

    def create_transfer(self, data: dict[str, Any], *, sensitive_serial: str | None) -> dict[str, Any]:
        """A new bill waits for the user to confirm (WAIT_USER_CONFIRM, with its package_info); the same out_bill_no
        with the same parameters answers the existing bill, with others is refused."""
        req = validate_transfer(data, appid=self.keys.appid, allow_http_notify=self.allow_http_notify)
        if req.user_name is not None:
            self.signer.decrypt_sensitive(req.user_name, sensitive_serial)
        existing = self.transfers.get(req.out_bill_no)
        if existing is not None:
            if existing.fingerprint != req.fingerprint:
                raise ApiError(400, "INVALID_REQUEST", "out_bill_no was used with different parameters")
            return existing.to_created()
        transfer = Transfer(
            out_bill_no=req.out_bill_no,
            transfer_bill_no=new_transfer_bill_no(),
            appid=req.appid,
            mchid=self.keys.mchid,
            openid=req.openid,
            amount=req.amount,
            remark=req.remark,
            scene_id=req.scene_id,
            notify_url=req.notify_url,
            package_info=new_package_info(),
            created_at=self.now(),
            fingerprint=req.fingerprint,
        )
        self.transfers[transfer.out_bill_no] = transfer
        return transfer.to_created()

    def get_transfer(self, out_bill_no: str) -> Transfer:
        transfer = self.transfers.get(out_bill_no)
        if transfer is None:
            raise ApiError(404, "NOT_FOUND", "记录不存在")
        return transfer

    def cancel_transfer(self, out_bill_no: str) -> dict[str, Any]:
        """Answers CANCELING, as WeChat Pay does; the bill is CANCELLED at once and notified."""
        transfer = self.get_transfer(out_bill_no)
        if transfer.state in ("CANCELING", "CANCELLED"):
            return self._cancel_answer(transfer, transfer.state)
        if transfer.state not in TRANSFER_CANCELLABLE:
            raise ApiError(400, "INVALID_REQUEST", f"当前状态 {transfer.state} 不支持撤销")
        self._finish_transfer(transfer, "CANCELLED", None)
        return self._cancel_answer(transfer, "CANCELING")

    @staticmethod
    def _cancel_answer(transfer: Transfer, state: str) -> dict[str, Any]:
        return {
            "out_bill_no": transfer.out_bill_no,
            "transfer_bill_no": transfer.transfer_bill_no,
            "state": state,
            "update_time": rfc3339(transfer.updated_at or transfer.created_at),
        }

    def settle_transfer(
        self, out_bill_no: str, spec: dict[str, Any], *, confirmed: bool
    ) -> tuple[Transfer, Notification]:
        """The user confirms receipt in ``wx.requestMerchantTransfer`` (SUCCESS), or the bill fails (FAIL with
        ``fail_reason``); either way MCHTRANSFER.BILL.FINISHED is sent to the bill's notify_url."""
        transfer = self.get_transfer(out_bill_no)
        if transfer.state != "WAIT_USER_CONFIRM":
            raise ApiError(409, "TRANSFER_NOT_WAITING", f"the bill is {transfer.state}")
        package_info = spec.get("package_info", transfer.package_info)
        if package_info != transfer.package_info:
            raise ApiError(400, "PARAM_ERROR", "package_info does not belong to this bill")
        if confirmed:
            return transfer, self._finish_transfer(transfer, "SUCCESS", None)
        reason = spec.get("fail_reason", DEFAULT_FAIL_REASON)
        if not isinstance(reason, str) or not reason:
            raise ApiError(400, "PARAM_ERROR", "fail_reason must be a non-empty string")
        return transfer, self._finish_transfer(transfer, "FAIL", reason)

    def _finish_transfer(self, transfer: Transfer, state: str, fail_reason: str | None) -> Notification:
        now = self.now()
        transfer.state = state
        transfer.fail_reason = fail_reason
        transfer.updated_at = now
        return self.notifier.enqueue(
            event_type="MCHTRANSFER.BILL.FINISHED",
            summary="商家转账单据终态通知",
            original_type="mch_payment",
            url=transfer.notify_url,
            resource=transfer.to_notification(),
            create_time=now,
            faults=self.faults.next_notification(),
            refs={"out_bill_no": transfer.out_bill_no},
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "now": self.now(),
            "offset": self.offset,
            "transactions": [t.to_api() for t in self.transactions.values()],
            "refunds": [r.to_api() for r in self.refunds.values()],
            "transfers": [t.to_api() for t in self.transfers.values()],
        }

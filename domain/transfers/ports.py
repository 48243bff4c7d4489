"""What paying a distributor needs from a payment provider: WeChat Pay's merchant transfer (商家转账, wechat.md §7.1).

payments/ implements it. A transfer waits for the user to confirm receipt in the mini-program
(`wx.requestMerchantTransfer` with `package_info`), so its end arrives later, by notification or by query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

ACCEPTED = "ACCEPTED"
PROCESSING = "PROCESSING"
WAIT_USER_CONFIRM = "WAIT_USER_CONFIRM"
TRANSFERING = "TRANSFERING"  # WeChat Pay's spelling
SUCCESS = "SUCCESS"
FAIL = "FAIL"
CANCELING = "CANCELING"
CANCELLED = "CANCELLED"
STATES = frozenset({ACCEPTED, PROCESSING, WAIT_USER_CONFIRM, TRANSFERING, SUCCESS, FAIL, CANCELING, CANCELLED})
FINAL_STATES = frozenset({SUCCESS, FAIL, CANCELLED})
"""Once here a bill never moves again: SUCCESS paid the user, FAIL and CANCELLED paid nothing."""

COMMISSION_SCENE_ID = "1005"
"""佣金报酬: the scene KOC commissions are paid under (it must be granted in the merchant platform)."""


@dataclass(frozen=True)
class TransferScene:
    """A transfer scene and the report lines (`transfer_scene_report_infos`) WeChat Pay requires for it."""

    scene_id: str
    report_infos: tuple[tuple[str, str], ...]

    @classmethod
    def commission(cls, position: str, description: str) -> TransferScene:
        """Scene 1005 佣金报酬 reports 岗位类型 (the payee's role) and 报酬说明 (what the money is for)."""
        return cls(COMMISSION_SCENE_ID, (("岗位类型", position), ("报酬说明", description)))


@dataclass(frozen=True)
class TransferResult:
    out_bill_no: str
    state: str
    """One of STATES."""
    transfer_bill_no: str | None = None
    package_info: str | None = None
    """For `wx.requestMerchantTransfer`, while the state is WAIT_USER_CONFIRM."""
    fail_reason: str | None = None


@dataclass(frozen=True)
class TransferBill:
    """What a MCHTRANSFER.BILL.FINISHED notification says about a bill."""

    out_bill_no: str
    state: str
    transfer_bill_no: str | None
    fail_reason: str | None


class TransferGatewayError(Exception):
    """``retryable``: no answer, 429 or 5xx — the transfer may or may not exist: query it, never re-number it."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


class TransferGateway(Protocol):
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
        """Idempotent per out_bill_no: the same parameters answer the existing bill. Raises TransferGatewayError."""

    async def query_transfer(self, out_bill_no: str) -> TransferResult | None:
        """None: WeChat Pay never got a transfer with this number."""

    async def cancel_transfer(self, out_bill_no: str) -> TransferResult:
        """Only before the user confirms; answers CANCELING or CANCELLED."""

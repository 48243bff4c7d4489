"""The withdrawal sweep: every TRANSFERRING withdrawal is asked about at WeChat Pay. A bill WeChat Pay never got
(the creation went unanswered before it arrived) is created again with the same number; a finished bill finishes
the withdrawal (once, however often the notification also comes)."""

from __future__ import annotations

from datetime import datetime

from domain.transfers.ports import TransferGateway, TransferGatewayError
from domain.withdrawals import service
from domain.withdrawals.models import Withdrawal, WithdrawalStatus

BATCH = 100


async def reconcile_transfers(gateway: TransferGateway, now: datetime, *, batch: int = BATCH) -> int:
    """One pass; how many withdrawals left TRANSFERRING."""
    finished = 0
    for withdrawal in await Withdrawal.filter(status=WithdrawalStatus.TRANSFERRING).order_by("id").limit(batch):
        assert withdrawal.out_bill_no is not None
        try:
            found = await gateway.query_transfer(withdrawal.out_bill_no)
        except TransferGatewayError:
            continue  # asked again next pass
        after = (await service.transfer(withdrawal, gateway, now) if found is None
                 else await service.record(found, now))
        if after is not None and after.status != WithdrawalStatus.TRANSFERRING:
            finished += 1
    return finished

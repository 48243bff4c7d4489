"""The withdrawal sweep: every TRANSFERRING withdrawal is asked about at WeChat Pay. A bill WeChat Pay never got
(the creation went unanswered before it arrived), or one whose package_info Pond never received (a query does not
carry it), is created again with the same number, which answers the same bill; a finished bill finishes
the withdrawal (once, however often the notification also comes)."""

from __future__ import annotations

from datetime import datetime

from domain.transfers.ports import FINAL_STATES, TransferGateway, TransferGatewayError
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
        if found is None or (found.state not in FINAL_STATES and not withdrawal.package_info):
            after: Withdrawal | None = await service.transfer(withdrawal, gateway, now)  # the same number again
        else:
            after = await service.record(found, now)
        if after is not None and after.status != WithdrawalStatus.TRANSFERRING:
            finished += 1
    return finished

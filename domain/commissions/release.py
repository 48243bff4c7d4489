"""The release sweep: a pending commission whose order was completed and whose freeze has passed becomes AVAILABLE.

An order with a refund open (REFUNDING) waits: the refund may still take part of its commission off first. The
order's row is locked while its commissions move, so a refund settling at the same moment goes strictly before or
after (the lock order of every order transaction: the order's row first)."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from domain.balances import service as balances
from domain.columns import column
from domain.commissions.balance import owner
from domain.commissions.earning import by_distributor
from domain.commissions.models import AVAILABLE, PENDING, Commission, CommissionStatus
from domain.commissions.states import mark_withdrawn, net
from domain.orders.models import Order, OrderStatus

SWEEP_BATCH = 200


async def release_due(now: datetime) -> int:
    """Make due commissions available; returns how many moved. Safe to run twice at once and after a crash."""
    order_ids = await column(Commission.filter(status=CommissionStatus.PENDING, available_at__lte=now,
                                               order__status=OrderStatus.COMPLETED)
                             .distinct().order_by("order_id").limit(SWEEP_BATCH), "order_id", int)
    moved = 0
    for order_id in order_ids:
        async with in_transaction():
            order = await Order.filter(id=order_id).select_for_update().get()
            if order.status is not OrderStatus.COMPLETED:
                continue
            due = by_distributor(await Commission.filter(order_id=order_id, status=CommissionStatus.PENDING,
                                                         available_at__lte=now))
            for commission in due:
                if not await Commission.filter(id=commission.id, status=CommissionStatus.PENDING).update(
                        status=CommissionStatus.AVAILABLE):
                    continue
                await balances.shift(owner(commission.distributor_id), PENDING, AVAILABLE, net(commission),
                                     f"c{commission.id}:release", floor=None, note=f"order {order.number}")
                moved += 1
            for distributor_id in sorted({commission.distributor_id for commission in due}):
                await mark_withdrawn(distributor_id)
    return moved

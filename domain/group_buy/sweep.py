"""The group sweep: a forming group past its expiry succeeds by its virtual fill or fails, and a failed group's
members get their money back.

Safe to run twice at once and after a crash: closing a group is a conditional status change under its row lock
(one run closes it), each paid member order is refunded through the refund machinery whose order status move lets
one refund open per order, and every run looks again for the paid orders of FAILED groups that are still PAID
(a run that crashed halfway, or a payment that arrived just before its group failed) and the unpaid orders of
closed groups that are still pending.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.columns import column
from domain.errors import DomainError
from domain.group_buy import states
from domain.group_buy.models import GroupBuyCampaign, GroupBuyGroup, GroupBuySeat, GroupStatus, SeatState
from domain.group_buy.policy import GROUP_FAILED, confirm_members, group_buy_policy
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderStatus
from domain.orders.payment import close_then_cancel
from domain.orders.ports import PaymentGatewayError
from domain.orders.refunds import refund_directly

log = structlog.get_logger("pond.group_buy.sweep")
SWEEP_BATCH = 200
RELEASED_LATELY = timedelta(minutes=2)
"""How far back the sweep (every 30 s) looks for seats released in the database."""
FAILED_REASON = "the group did not fill in time: the full amount goes back"


def reaches_virtual_fill(paid: int, size: int, percent: int | None) -> bool:
    """Whether `paid` of `size` seats reach the campaign's virtual fill threshold (模拟成团)."""
    return percent is not None and paid * 100 >= percent * size


async def _close(deps: OrderDeps, group_id: int, now: datetime) -> bool:
    """Succeed (virtual fill) or fail one expired group, once. False if another run (or a payment) got there."""
    async with in_transaction():
        group = await GroupBuyGroup.filter(id=group_id).select_for_update().first()
        if group is None or group.status is not GroupStatus.FORMING or group.expires_at is None \
                or group.expires_at > now:
            return False
        campaign = await GroupBuyCampaign.get(id=group.campaign_id)
        paid = await GroupBuySeat.filter(group_id=group.id, state=SeatState.PAID).count()
        if reaches_virtual_fill(paid, group.required_size, campaign.virtual_fill_percent):
            await states.move(group, GroupStatus.SUCCEEDED, now, paid_count=paid,
                              virtual_seats=group.required_size - paid)
            await confirm_members(deps, group)
        else:
            await states.move(group, GroupStatus.FAILED, now, paid_count=paid)
    log.info("group closed", group=group_id, status=group.status.value, paid=paid)
    return True


async def _refund_failed_members(deps: OrderDeps) -> int:
    """Every paid order of a FAILED group that is still PAID gets its full refund, once."""
    order_ids = await column(GroupBuySeat.filter(group__status=GroupStatus.FAILED, state=SeatState.PAID,
                                                 order__status=OrderStatus.PAID).order_by("id").limit(SWEEP_BATCH),
                             "order_id", int)
    done = 0
    for order in await Order.filter(id__in=order_ids).order_by("id"):
        try:
            await refund_directly(deps, order, None, FAILED_REASON, GROUP_FAILED)
            done += 1
        except (DomainError, IntegrityError) as exc:
            # Another run opened it first: its order is no longer PAID (or, racing in PostgreSQL, its refund number
            # is taken): this run's transaction changed nothing.
            log.info("group refund skipped", order=order.number, reason=str(exc))
    return done


async def _cancel_unpaid_members(deps: OrderDeps) -> int:
    """Unpaid orders of a group that closed cannot take part any more: cancelled (their seats come back)."""
    order_ids = await column(GroupBuySeat.filter(group__status__in=(GroupStatus.SUCCEEDED, GroupStatus.FAILED),
                                                 state=SeatState.HELD, order__status=OrderStatus.PENDING_PAYMENT)
                             .order_by("id").limit(SWEEP_BATCH), "order_id", int)
    done = 0
    for order in await Order.filter(id__in=order_ids).order_by("id"):
        try:
            await close_then_cancel(deps, order, "group closed")
            done += 1
        except (DomainError, PaymentGatewayError) as exc:
            log.info("group cancel skipped", order=order.number, reason=str(exc))
    return done


async def _forget_released_seats(deps: OrderDeps, now: datetime) -> None:
    """A seat given back in the database but not in the seat store (the process died between the cancel's commit and
    the store's give-back) would refuse joins for good: the store forgets every forming group whose seat came back
    lately, and the next join reloads it from the database."""
    group_ids = await column(GroupBuySeat.filter(state=SeatState.RELEASED, group__status=GroupStatus.FORMING,
                                                 order__cancelled_at__gte=now - RELEASED_LATELY)
                             .distinct().order_by("group_id").limit(SWEEP_BATCH), "group_id", int)
    store = group_buy_policy(deps).seats
    for group_id in group_ids:
        await store.drop(group_id)


async def fail_expired_groups(deps: OrderDeps, now: datetime) -> int:
    """One pass: close the expired forming groups, then settle the members of closed groups, then heal the seat
    store. Returns how many groups and orders it changed."""
    expired = await column(GroupBuyGroup.filter(status=GroupStatus.FORMING, expires_at__lte=now)
                           .order_by("expires_at", "id").limit(SWEEP_BATCH), "id", int)
    changed = 0
    store = group_buy_policy(deps).seats
    for group_id in expired:
        if await _close(deps, group_id, now):
            changed += 1
        await store.drop(group_id)  # the next join reloads it and reads GROUP_CLOSED
    changed += await _refund_failed_members(deps)
    changed += await _cancel_unpaid_members(deps)
    await _forget_released_seats(deps, now)
    return changed

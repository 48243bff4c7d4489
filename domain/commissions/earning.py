"""Commissions react to the order events (domain.orders.events), inside each event's transaction:

- `confirmed` (paid; a group-buy order when its group succeeds): one commission per line and level is earned,
  PENDING, by the order's attribution snapshot (rates of the snapshotted settings version);
- `completed`: the commissions become available `freeze_days` after completion (`release.release_due` moves them);
- `refunded`: a level's commission keeps the share of what the customer still paid (`amounts.kept_after_refunds`);
  the difference comes off PENDING commissions (CANCELLED when nothing is left), or, once they were available or
  withdrawn, is clawed back: a negative entry in `available`, which may go below 0 and nets against later earnings.

Every amount is also an entry in the distributor's balance ledger (domain.commissions.balance), by a reference
unique to the commission and the event, so repeating an event changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from domain import raw_sql
from domain.attribution.models import OrderAttribution
from domain.balances import service as balances
from domain.commissions import amounts
from domain.commissions.balance import owner
from domain.commissions.models import AVAILABLE, CLAWED_BACK, PENDING, Commission, CommissionStatus
from domain.commissions.states import SETTLED, mark_withdrawn, net
from domain.distribution import settings
from domain.distribution.distributors import can_earn
from domain.distribution.models import Distributor
from domain.ledger.service import refunded_of_sale
from domain.orders.events import OrderEvents
from domain.orders.models import Order, OrderLine, Refund


async def earn(order: Order) -> list[Commission]:
    """The order's sale is final: its commissions, once (a repeated call finds them)."""
    # Raw SQL: every paid order asks, and most have no attribution (the ORM's query building cost more than the query)
    attributions = await raw_sql.select(OrderAttribution, 't."order_id" = $1', [order.id])
    if not attributions or await Commission.exists(order_id=order.id):
        return []
    attribution = attributions[0]
    rules = await settings.rules_of_version(attribution.settings_version) or settings.Rules()
    product_rates = {rate.product_id: rate for rate in rules.product_rates}
    lines = await OrderLine.filter(order_id=order.id).order_by("id")
    made: list[Commission] = []
    for level, distributor_id, rate_bp in ((1, attribution.distributor_id, attribution.direct_rate_bp),
                                           (2, attribution.parent_distributor_id, attribution.parent_rate_bp)):
        if distributor_id is None:
            continue
        distributor = await Distributor.get_or_none(id=distributor_id)
        if distributor is None or not can_earn(distributor):
            continue  # disabled meanwhile: earns nothing new
        rates = [_line_rate(line, level, rate_bp, product_rates) for line in lines]
        for line, rate, amount in zip(lines, rates, amounts.earned(rates), strict=True):
            if amount == 0:
                continue
            commission = await Commission.create(
                distributor_id=distributor_id, order_id=order.id, order_line_id=line.id, level=level,
                base=rate.base, rate_bp=rate.rate_bp, fixed_fen=rate.fixed_fen, amount=amount,
                created_at=order.paid_at or attribution.created_at,
            )
            made.append(commission)
    for commission in by_distributor(made):  # balances in one order everywhere: no two transactions wait in a circle
        await balances.move(owner(commission.distributor_id), PENDING, commission.amount, f"c{commission.id}:earn",
                            note=f"order {order.number}")
    if await refunded_of_sale(order):
        await _keep_paid_share(order, f"confirmed-{order.id}")
    return made


def _line_rate(line: OrderLine, level: int, rate_bp: int,
               product_rates: dict[int, settings.ProductRate]) -> amounts.LineRate:
    """A product's own rate replaces the direct distributor's rate; the parent is always paid by its rate."""
    own = product_rates.get(line.product_id) if level == 1 else None
    if own is not None:
        return amounts.LineRate(line.line_total, line.quantity, own.rate_bp, own.fixed_fen)
    return amounts.LineRate(line.line_total, line.quantity, rate_bp)


async def make_available_from_completion(order: Order) -> int:
    """The order was completed: its pending commissions may be withdrawn after the snapshotted freeze."""
    attribution = await OrderAttribution.get_or_none(order_id=order.id)
    if attribution is None or order.completed_at is None:
        return 0
    return await Commission.filter(order_id=order.id, status=CommissionStatus.PENDING).update(
        available_at=order.completed_at + timedelta(days=attribution.freeze_days))


async def _keep_paid_share(order: Order, event: str) -> None:
    """Take off each level's commission what the refunds so far no longer pay for (see the module's rule)."""
    # every line of a level, cancelled ones too: the share kept is of what the level earned in all
    commissions = await Commission.filter(order_id=order.id).order_by("id")
    refunded = await refunded_of_sale(order)
    takes: dict[int, int] = {}
    for level in sorted({commission.level for commission in commissions}):
        rows = [commission for commission in commissions if commission.level == level]
        keep = amounts.kept_after_refunds(sum(row.amount for row in rows), order.money_in, refunded)
        take = sum(net(row) for row in rows) - keep
        for row, off in zip(rows, amounts.spread(take, [net(row) for row in rows]), strict=True):
            if off:
                takes[row.id] = off
    taken = [row for row in by_distributor(commissions) if row.id in takes]
    for row in taken:
        await _take_off(order, row, takes[row.id], event)
    for distributor_id in sorted({row.distributor_id for row in taken if row.status in SETTLED}):
        await mark_withdrawn(distributor_id)


def by_distributor(commissions: list[Commission]) -> list[Commission]:
    """The order every transaction moves commission balances in: by distributor, then commission. A level-1
    distributor of one order may be the level-2 of another (after a rebinding)."""
    return sorted(commissions, key=lambda commission: (commission.distributor_id, commission.id))


async def _take_off(order: Order, commission: Commission, off: int, event: str) -> None:
    account = owner(commission.distributor_id)
    note = f"order {order.number} refunded"
    if commission.status is CommissionStatus.PENDING:
        if not await balances.move(account, PENDING, -off, f"c{commission.id}:{event}", floor=None, note=note):
            return
        commission.reduced += off
        if net(commission) == 0:
            commission.status = CommissionStatus.CANCELLED
        await commission.save(update_fields=["reduced", "status", "updated_at"])
        return
    if not await balances.move(account, AVAILABLE, -off, f"c{commission.id}:{event}", floor=None, note=note):
        return
    await balances.move(account, CLAWED_BACK, off, f"c{commission.id}:{event}:count", floor=None, note=note)
    commission.clawed_back += off
    await commission.save(update_fields=["clawed_back", "updated_at"])


class Commissions(OrderEvents):
    """Earns, frees and takes back commissions as orders move (see the module)."""

    async def confirmed(self, order: Order) -> None:
        await earn(order)

    async def completed(self, order: Order) -> None:
        await make_available_from_completion(order)

    async def refunded(self, order: Order, refund: Refund) -> None:
        await _keep_paid_share(order, f"refund-{refund.id}")

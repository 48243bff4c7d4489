"""The numbers a KOC and a merchant judge a share by: per share link and per distributor, and the merchant's report.

Definitions (one place):
- an order counts once it is paid and while it is not REFUNDED; its GMV is what the customer paid net of refunds
  (WeChat Pay and wallet − refunded);
- a link's orders are those placed through its code (`Order.share_code`); a distributor's are those attributed to it
  as the direct distributor (`OrderAttribution`, written when each order was placed);
- a *new paying customer* of a link or distributor is one whose first paid order ever is one of its orders;
- the *fission coefficient* (裂变系数, K-factor) is the new paying customers that its paying customers brought in turn
  through their own share links, divided by its paying customers (0 without any), rounded to 2 places.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.queryset import QuerySet

from domain.balances.models import Balance, BalanceEntry
from domain.columns import column
from domain.commissions.models import AVAILABLE, CLAWED_BACK, OWNER_KIND, PENDING
from domain.distribution.models import Binding, Distributor, ShareLink
from domain.distribution.team import customers_bound_through
from domain.errors import Invalid
from domain.ledger.service import balances_by_order, kept_of_sale
from domain.orders.models import Order, OrderStatus
from domain.withdrawals.models import Withdrawal, WithdrawalStatus

MAX_REPORT_DAYS = 366
TOP = 10


@dataclass(frozen=True)
class Figures:
    opens: int
    customers_bound: int
    paying_customers: int
    orders: int
    gmv: int
    new_customers: int
    fission_coefficient: float


@dataclass(frozen=True)
class _Counted:
    order_id: int
    customer_id: int
    gmv: int


async def _counted(query: QuerySet[Order]) -> list[_Counted]:
    rows = await query.filter(paid_at__isnull=False).exclude(status=OrderStatus.REFUNDED).values(
        "id", "customer_id", "payable", "wallet_paid")
    return await _kept(rows)


async def _kept(rows: list[dict[str, Any]]) -> list[_Counted]:
    """Each order with what its customer still pays for it (`ledger.kept_of_sale`)."""
    balances = await balances_by_order([row["id"] for row in rows])
    return [_Counted(row["id"], row["customer_id"], kept_of_sale(row["payable"] + row["wallet_paid"],
                                                                 balances.get(row["id"], 0)))
            for row in rows]


async def _first_paid(customer_ids: set[int]) -> dict[int, int]:
    """Each customer's first paid order (by when it was paid)."""
    first: dict[int, int] = {}
    if not customer_ids:
        return first
    rows = await Order.filter(customer_id__in=customer_ids, paid_at__isnull=False).order_by("paid_at", "id") \
        .values_list("customer_id", "id")
    for customer_id, order_id in rows:
        first.setdefault(customer_id, order_id)
    return first


async def _new_customers(orders: list[_Counted]) -> set[int]:
    first = await _first_paid({order.customer_id for order in orders})
    return {order.customer_id for order in orders if first.get(order.customer_id) == order.order_id}


async def _brought_by(customer_ids: set[int]) -> int:
    """New paying customers these customers brought through their own share links."""
    if not customer_ids:
        return 0
    codes = await column(ShareLink.filter(customer_id__in=customer_ids), "code", str)
    if not codes:
        return 0
    return len(await _new_customers(await _counted(Order.filter(share_code__in=codes))))


async def _figures(orders: list[_Counted], opens: int, bound: int) -> Figures:
    payers = {order.customer_id for order in orders}
    brought = await _brought_by(payers)
    return Figures(opens=opens, customers_bound=bound, paying_customers=len(payers), orders=len(orders),
                   gmv=sum(order.gmv for order in orders), new_customers=len(await _new_customers(orders)),
                   fission_coefficient=round(brought / len(payers), 2) if payers else 0.0)


async def link_figures(link: ShareLink) -> Figures:
    orders = await _counted(Order.filter(share_code=link.code))
    return await _figures(orders, link.opens, await customers_bound_through(link))


async def distributor_figures(distributor: Distributor) -> Figures:
    orders = await _counted(Order.filter(attribution__distributor_id=distributor.id))
    opens = sum(await column(ShareLink.filter(customer_id=distributor.customer_id), "opens", int))
    bound = await Binding.filter(distributor_id=distributor.id).count()
    return await _figures(orders, opens, bound)


@dataclass(frozen=True)
class Ranked:
    distributor: Distributor
    gmv: int
    new_customers: int


@dataclass(frozen=True)
class Report:
    top_by_gmv: list[Ranked]
    top_by_new_customers: list[Ranked]
    pending: int
    """Now, over every distributor."""
    available: int
    """Now, over every distributor (net of clawbacks)."""
    paid: int
    """Withdrawals paid out in the range."""
    clawed_back: int
    """Taken back by refunds in the range."""


async def report(start: datetime, end: datetime) -> Report:
    """The merchant's distribution report over orders paid in [start, end)."""
    if start >= end:
        raise Invalid("from must be before to", ["from"])
    if end - start > timedelta(days=MAX_REPORT_DAYS):
        raise Invalid(f"a report covers at most {MAX_REPORT_DAYS} days", ["to"])
    rows = await Order.filter(attribution__isnull=False, paid_at__gte=start, paid_at__lt=end) \
        .exclude(status=OrderStatus.REFUNDED) \
        .values("id", "customer_id", "payable", "wallet_paid", "attribution__distributor_id")
    distributor_of = {row["id"]: row["attribution__distributor_id"] for row in rows}
    by_distributor: dict[int, list[_Counted]] = defaultdict(list)
    for counted in await _kept(rows):
        by_distributor[distributor_of[counted.order_id]].append(counted)
    first = await _first_paid({order.customer_id for orders in by_distributor.values() for order in orders})
    distributors = {d.id: d for d in await Distributor.filter(id__in=list(by_distributor))}
    ranked = [Ranked(distributors[distributor_id], sum(order.gmv for order in orders),
                     len({order.customer_id for order in orders if first.get(order.customer_id) == order.order_id}))
              for distributor_id, orders in by_distributor.items() if distributor_id in distributors]
    held: dict[str, int] = defaultdict(int)
    for bucket, amount in await Balance.filter(owner_kind=OWNER_KIND, bucket__in=(PENDING, AVAILABLE)) \
            .values_list("bucket", "amount"):
        held[bucket] += int(amount)
    paid = sum(await column(Withdrawal.filter(status=WithdrawalStatus.PAID, finished_at__gte=start,
                                              finished_at__lt=end), "amount", int))
    clawed = sum(await column(BalanceEntry.filter(owner_kind=OWNER_KIND, bucket=CLAWED_BACK, created_at__gte=start,
                                                  created_at__lt=end), "amount", int))
    return Report(
        top_by_gmv=sorted(ranked, key=lambda r: (-r.gmv, r.distributor.id))[:TOP],
        top_by_new_customers=sorted(ranked, key=lambda r: (-r.new_customers, -r.gmv, r.distributor.id))[:TOP],
        pending=held[PENDING], available=held[AVAILABLE], paid=paid, clawed_back=clawed)

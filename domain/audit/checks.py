"""The books, checked (`pond audit`, `staffAudit`): each check reads what must agree and names every discrepancy.

- balances: every balance row (commissions now; the wallet and points later) equals the sum of its ledger entries,
  and none is below zero except a distributor's `available` (a clawback may take it there);
- commissions: each distributor's buckets equal its commissions (pending = the pending ones, available + withdrawn =
  the settled ones, clawed back = what refunds took back from them);
- order money: every SUCCEEDED payment has its `pay:` ledger entry of its amount and every such entry a SUCCEEDED
  payment; every SUCCEEDED refund its `refund:` entry of minus its WeChat Pay part and its wallet entries of minus
  its wallet parts; no order holds more than it costs (payments no order could use, on their way back, aside);
  every wallet movement of an order is the mirror of the customer's wallet entry of the same
  reference; each order's wallet part is what was taken from the wallet, its refunded total the sum of its succeeded
  refunds, and its net money on the ledger its payments (WeChat Pay and the wallet parts it holds) minus its refunds;
- WeChat Pay: every payment Pond holds as SUCCEEDED (paid since `since`) is a paid trade at WeChat Pay with the same
  transaction and amount, and no trade Pond still holds as pending (prepaid since `since`, quiet for longer than the
  reconcile sweep waits) was paid there (asked through the payment gateway: the real query API or the simulator);
- stock: a SKU's stock is its last stock movement's `stock_after`, and its `reserved` the units its unpaid orders
  hold plus what flash sales set aside (`domain.flash_sale.units`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from domain.balances.models import Balance, BalanceEntry
from domain.balances.service import mismatches
from domain.catalog.models import Sku, StockMovement
from domain.commissions.models import AVAILABLE, CLAWED_BACK, OWNER_KIND, PENDING, WITHDRAWN, Commission
from domain.commissions.states import SETTLED, net
from domain.inventory.models import Reservation, ReservationState
from domain.ledger.models import LedgerEntry
from domain.ledger.service import REFUND, WALLET_BONUS, WALLET_PRINCIPAL
from domain.orders.models import Order, Payment, PaymentStatus, Refund, RefundStatus
from domain.orders.ports import PaymentGateway, PaymentGatewayError, TradeStatus
from domain.orders.refund_states import SYSTEM, UNSETTLED
from domain.raw_sql import one_snapshot
from domain.selling import units_set_aside
from domain.wallet import spending
from domain.wallet.account import BONUS, PRINCIPAL

WALLET_ACCOUNTS = frozenset({WALLET_PRINCIPAL, WALLET_BONUS})
MAY_GO_NEGATIVE = frozenset({(OWNER_KIND, AVAILABLE)})
"""Buckets a movement may take below zero on purpose: a clawback nets against a distributor's later earnings."""
PAID_AT_WECHAT = frozenset({"SUCCESS", "REFUND"})  # a refunded trade was paid first
RECONCILE_QUIET = timedelta(minutes=10)
"""A pending trade younger than this may still be settling (its notification or the reconcile sweep is due)."""


@dataclass
class Check:
    name: str
    checked: int = 0
    discrepancies: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def wrong(self, message: str) -> None:
        self.discrepancies.append(message)


async def balances() -> Check:
    check = Check("every balance equals its ledger and none is below zero")
    kinds = set(await Balance.all().distinct().values_list("owner_kind", flat=True)) | set(
        await BalanceEntry.all().order_by("owner_kind").distinct().values_list("owner_kind", flat=True))
    for kind in sorted(str(kind) for kind in kinds):
        for owner_id, bucket, held, summed in await mismatches(kind):
            check.wrong(f"{kind} {owner_id} {bucket}: balance {held}, ledger sum {summed}")
    for row in await Balance.all().order_by("id"):
        check.checked += 1
        if row.amount < 0 and (row.owner_kind, row.bucket) not in MAY_GO_NEGATIVE:
            check.wrong(f"{row.owner_kind} {row.owner_id} {row.bucket} is {row.amount}")
    return check


async def commissions() -> Check:
    check = Check("every distributor's commission balance equals its commissions")
    wanted: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for commission in await Commission.all():
        mine = wanted[commission.distributor_id]
        if commission.status.value == "PENDING":
            mine[PENDING] += net(commission)
        elif commission.status in SETTLED:
            mine["settled"] += net(commission)
        mine[CLAWED_BACK] += commission.clawed_back
    held: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in await Balance.filter(owner_kind=OWNER_KIND):
        held[row.owner_id][row.bucket] += int(row.amount)
    for distributor_id in sorted(set(wanted) | set(held)):
        check.checked += 1
        expect, have = wanted[distributor_id], held[distributor_id]
        if have[PENDING] != expect[PENDING]:
            check.wrong(f"distributor {distributor_id}: pending {have[PENDING]}, its commissions {expect[PENDING]}")
        if have[AVAILABLE] + have[WITHDRAWN] != expect["settled"]:
            check.wrong(f"distributor {distributor_id}: available + withdrawn {have[AVAILABLE] + have[WITHDRAWN]}, "
                        f"its settled commissions {expect['settled']}")
        if have[CLAWED_BACK] != expect[CLAWED_BACK]:
            check.wrong(f"distributor {distributor_id}: clawed back {have[CLAWED_BACK]}, "
                        f"its commissions {expect[CLAWED_BACK]}")
    return check


async def order_money() -> Check:
    check = Check("every order's money equals its payments minus its refunds (ledger, payments, refunds, wallet)")
    entries = await LedgerEntry.all().values("reference", "amount", "order_id", "account", "kind")
    ledger = {row["reference"]: (int(row["amount"]), row["order_id"]) for row in entries}
    paid: dict[int, int] = defaultdict(int)
    refunded: dict[int, int] = defaultdict(int)
    succeeded = set()
    for payment in await Payment.filter(status=PaymentStatus.SUCCEEDED):
        paid[payment.order_id] += payment.amount
        succeeded.add(payment.out_trade_no)
        entry = ledger.get(f"pay:{payment.out_trade_no}")
        if entry is None or entry[0] != payment.amount:
            check.wrong(f"payment {payment.out_trade_no}: ledger {entry and entry[0]}, paid {payment.amount}")
    for reference in ledger:
        if reference.startswith("pay:") and reference.removeprefix("pay:") not in succeeded:
            check.wrong(f"ledger {reference} without a SUCCEEDED payment")
    for row in entries:  # the wallet parts an order holds (taken, less given back when it was cancelled)
        if row["account"] in WALLET_ACCOUNTS and row["kind"] != REFUND and row["order_id"] is not None:
            paid[row["order_id"]] += int(row["amount"])
    refund_numbers = set()
    for refund in await Refund.filter(status=RefundStatus.SUCCEEDED):
        refunded[refund.order_id] += refund.amount
        refund_numbers.add(refund.out_refund_no)
        entry = ledger.get(f"refund:{refund.out_refund_no}")
        if (entry[0] if entry else 0) != -refund.wechat_amount:
            check.wrong(f"refund {refund.out_refund_no}: ledger {entry and entry[0]}, refunded through WeChat Pay "
                        f"{refund.wechat_amount}")
        for bucket, part in ((PRINCIPAL, refund.wallet_principal), (BONUS, refund.wallet_bonus)):
            entry = ledger.get(spending.reference(refund.order_id, f"refund:{refund.id}", bucket))
            if (entry[0] if entry else 0) != -part:
                check.wrong(f"refund {refund.out_refund_no}: ledger {entry and entry[0]}, back to the wallet's "
                            f"{bucket} {part}")
    for reference in ledger:
        if reference.startswith("refund:") and reference.removeprefix("refund:") not in refund_numbers:
            check.wrong(f"ledger {reference} without a SUCCEEDED refund")
    for mismatch in await spending.mirror_mismatches():
        check.wrong(mismatch)
    on_ledger: dict[int, int] = defaultdict(int)
    taken: dict[int, int] = defaultdict(int)
    for amount, order_id in ledger.values():
        if order_id is not None:
            on_ledger[order_id] += amount
    for row in entries:
        if row["account"] in WALLET_ACCOUNTS and ":take:" in row["reference"]:
            taken[row["order_id"]] += int(row["amount"])
    giving_back: dict[int, int] = defaultdict(int)  # payments no order could use, on their way back
    for order_id, amount in await Refund.filter(requested_by=SYSTEM, status__in=UNSETTLED).values_list(
            "order_id", "amount"):
        giving_back[order_id] += amount
    for order_id, number, refunded_total, wallet_paid, payable in await Order.all().values_list(
            "id", "number", "refunded_total", "wallet_paid", "payable"):
        check.checked += 1
        if refunded_total != refunded[order_id]:
            check.wrong(f"order {number}: refunded total {refunded_total}, succeeded refunds {refunded[order_id]}")
        if on_ledger[order_id] != paid[order_id] - refunded[order_id]:
            check.wrong(f"order {number}: ledger {on_ledger[order_id]}, payments − refunds "
                        f"{paid[order_id] - refunded[order_id]}")
        if wallet_paid != taken[order_id]:
            check.wrong(f"order {number}: wallet paid {wallet_paid}, taken from the wallet {taken[order_id]}")
        if on_ledger[order_id] - giving_back[order_id] > payable + wallet_paid:
            check.wrong(f"order {number}: holds {on_ledger[order_id] - giving_back[order_id]}, more than it costs "
                        f"({payable + wallet_paid})")
    return check


async def wechat_pay(gateway: PaymentGateway, since: datetime, now: datetime) -> Check:
    check = Check("every trade Pond holds agrees with WeChat Pay")
    for payment in await Payment.filter(status=PaymentStatus.SUCCEEDED, paid_at__gte=since).order_by("id"):
        check.checked += 1
        status = await _query(check, gateway, payment.out_trade_no)
        if status is None:
            continue
        if status.state not in PAID_AT_WECHAT:
            check.wrong(f"payment {payment.out_trade_no} SUCCEEDED in Pond, {status.state} at WeChat Pay")
        elif status.transaction_id != payment.transaction_id or status.amount != payment.amount:
            check.wrong(f"payment {payment.out_trade_no}: Pond {payment.transaction_id}/{payment.amount}, "
                        f"WeChat Pay {status.transaction_id}/{status.amount}")
    quiet = now - RECONCILE_QUIET
    for payment in await Payment.filter(status=PaymentStatus.PENDING, prepay_id__isnull=False, created_at__gte=since,
                                        created_at__lte=quiet).order_by("id"):
        check.checked += 1
        status = await _query(check, gateway, payment.out_trade_no)
        if status is not None and status.state in PAID_AT_WECHAT:
            check.wrong(f"trade {payment.out_trade_no} paid at WeChat Pay, still pending in Pond")
    return check


async def _query(check: Check, gateway: PaymentGateway, out_trade_no: str) -> TradeStatus | None:
    try:
        status = await gateway.query(out_trade_no)
    except PaymentGatewayError as exc:
        check.wrong(f"trade {out_trade_no}: WeChat Pay could not be asked ({exc.code})")
        return None
    if status is None:
        check.wrong(f"trade {out_trade_no}: unknown to WeChat Pay")
    return status


async def stock() -> Check:
    check = Check("stock equals its audit trail (movements, holds, flash sales)")
    held: dict[int, int] = defaultdict(int)
    for sku_id, quantity in await Reservation.filter(state=ReservationState.HELD, flash_item_id__isnull=True) \
            .values_list("sku_id", "quantity"):
        held[sku_id] += quantity
    for sku_id, units in (await units_set_aside()).items():
        held[sku_id] += units
    last: dict[int, int] = {}
    for sku_id, stock_after in await StockMovement.all().order_by("id").values_list("sku_id", "stock_after"):
        last[sku_id] = stock_after
    for sku in await Sku.filter(deleted_at__isnull=True).order_by("id"):
        check.checked += 1
        if sku.reserved != held[sku.id]:
            check.wrong(f"SKU {sku.id}: reserved {sku.reserved}, held by orders and flash sales {held[sku.id]}")
        if sku.id in last and last[sku.id] != sku.stock:
            check.wrong(f"SKU {sku.id}: stock {sku.stock}, last movement {last[sku.id]}")
    return check


async def audit(gateway: PaymentGateway | None, now: datetime, since: timedelta = timedelta(days=2)) -> list[Check]:
    """Every check; the WeChat Pay one only with a gateway to ask (it looks at trades of the last `since`). The books
    are read in one transaction that sees one snapshot, so a shop taking orders meanwhile shows no discrepancy that is
    only a write landing between two reads; WeChat Pay is asked after it (no call out of the process inside a
    transaction)."""
    async with in_transaction():
        await one_snapshot()
        checks = [await balances(), await commissions(), await order_money(), await stock()]
    if gateway is not None:
        checks.append(await wechat_pay(gateway, now - since, now))
    return checks

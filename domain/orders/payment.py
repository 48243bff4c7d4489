"""Paying for an order: prepay outside transactions, and settling a confirmed payment exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain import raw_sql
from domain.balances.service import Insufficient
from domain.columns import column
from domain.errors import DomainError, ErrorCode
from domain.identity.models import Customer
from domain.inventory import holds
from domain.ledger import service as ledger
from domain.orders import notifications, pickup_codes, refund_states, states
from domain.orders.deps import OrderDeps
from domain.orders.kinds import CannotRevive, KindPolicy
from domain.orders.models import Order, OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from domain.orders.notifications import Notice
from domain.orders.numbers import refund_number, trade_number
from domain.orders.ports import PaymentGatewayError, PaymentParams, PrepayRequest
from domain.orders.refund_calls import send_refund
from domain.pricing import coupons
from domain.wallet import spending

log = structlog.get_logger("pond.orders.payment")
PREPAY_REUSE_MARGIN = timedelta(minutes=1)
NEW_TRADE_ATTEMPTS = 3
UNPAYABLE = "payment_failed"
"""The cancel reason of an order checkout placed but could not start paying: it never existed for the customer."""
REFUSED = "payment_refused"
"""The cancel reason of a pending order whose payment its kind no longer accepts (e.g. its group failed)."""
REPLAYED = "replayed"
"""`settle_payment`'s answer to a notification seen before: nothing was done."""
PAID_ORDER = "paid"
"""`settle_payment`'s answer when the payment paid its pending order (nearly every payment): `_apply_payment`
answers it, and `_claim` records a notification with it before knowing."""


@dataclass
class Placed:
    order: Order
    payment: PaymentParams | None


def payment_failed(exc: PaymentGatewayError) -> DomainError:
    return DomainError(ErrorCode.PAYMENT_FAILED, f"WeChat Pay is unavailable ({exc.code}); try again")


@dataclass(frozen=True)
class NewOrder:
    """What the code that has just written an order knows: prepaying it then reads nothing back."""

    openid: str
    titles: list[str]
    trade: Payment | None = None
    """Its first trade, if it was written with the order (`first_trade`)."""


def _description(deps: OrderDeps, order: Order, titles: list[str]) -> str:
    first = titles[0] if titles else order.number
    more = f" 等{len(titles)}件" if len(titles) > 1 else ""
    return f"{deps.shop_name}-{first}{more}"[:127]


async def first_payment(deps: OrderDeps, order: Order, new: NewOrder | None = None) -> Placed:
    """The payment for a pending order: free orders are settled at once, others get a (reused) prepay. `new`: the
    order was written just now by the caller (not a replay), so it has no trade yet."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        return Placed(order, None)
    if order.payable == 0:
        await settle_free(deps, order)
        return Placed(order, None)
    return Placed(order, await prepay(deps, order, new))


async def prepay(deps: OrderDeps, order: Order, new: NewOrder | None = None) -> PaymentParams:
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise DomainError(ErrorCode.INVALID_STATE, f"a {order.status.value} order has nothing to pay", ["orderId"])
    now = deps.clock()
    if order.expires_at <= now:
        raise DomainError(ErrorCode.INVALID_STATE, "the order's payment time is over", ["orderId"])
    if new is None:
        live = await Payment.filter(
            order_id=order.id, status=PaymentStatus.PENDING, prepay_id__isnull=False, prepay_expires_at__gt=now
        ).order_by("-id").first()
        if live is not None and live.prepay_id is not None and live.amount == order.payable:  # the filter: always set
            return deps.gateway.payment_params(live.prepay_id)
        payment = await _open_trade(order)
        customer = await Customer.get(id=order.customer_id)
        titles = await column(order.lines.all(), "title", str)
        new = NewOrder(customer.openid, titles)
    else:
        payment = new.trade or await _first_trade(order)
    request = PrepayRequest(payment.out_trade_no, _description(deps, order, new.titles), order.payable, new.openid,
                            order.expires_at)
    try:
        prepay_id = await deps.gateway.prepay(request)
    except PaymentGatewayError as exc:
        log.warning("prepay failed", order=order.number, code=exc.code)
        raise payment_failed(exc) from None
    payment.prepay_id = prepay_id
    payment.prepay_expires_at = now + timedelta(hours=2)
    payment.updated_at = now
    await raw_sql.update(Payment, {"prepay_id": prepay_id, "prepay_expires_at": payment.prepay_expires_at,
                                   "updated_at": now}, id=payment.id)
    return deps.gateway.payment_params(prepay_id)


def first_trade(order: Order) -> Payment:
    """A new order's first trade, not yet written: the order's code may write it with the order, as `prepay`
    would (`NewOrder.trade`)."""
    trade = Payment(out_trade_no=trade_number(order.number, 1), amount=order.payable)
    trade.order_id = order.id  # None while the order is not written yet
    return trade


async def _first_trade(order: Order) -> Payment:
    """A new order's first trade, without looking for earlier ones (a racing call, if any, collides)."""
    trade = first_trade(order)
    try:
        await trade.save()
        return trade
    except IntegrityError:
        return await _open_trade(order)


async def _open_trade(order: Order) -> Payment:
    """The trade (out_trade_no) to prepay: the order's open one for this amount, or a new one.

    Re-asking WeChat Pay with the same out_trade_no and parameters returns its current prepay_id, so a retry after
    a failed call, an expired prepay_id and concurrent taps all share one trade. Concurrent calls that both create
    one collide on the unique out_trade_no; the loser uses the winner's.
    """
    for _ in range(NEW_TRADE_ATTEMPTS):
        trades = Payment.filter(order_id=order.id)
        trade = await trades.filter(status=PaymentStatus.PENDING, amount=order.payable).order_by("-id").first()
        if trade is not None:
            return trade
        # Numbered after the trades that cannot be reused, so a racing call that just opened one picks the same
        # number and collides instead of opening a second trade.
        attempt = await trades.filter(~Q(status=PaymentStatus.PENDING, amount=order.payable)).count() + 1
        try:
            return await Payment.create(order_id=order.id, out_trade_no=trade_number(order.number, attempt),
                                        amount=order.payable)
        except IntegrityError:
            continue
    raise DomainError(ErrorCode.PAYMENT_FAILED, "the order is being paid from elsewhere; try again", ["orderId"])


async def settle_free(deps: OrderDeps, order: Order) -> None:
    """Nothing is owed: the order is paid at once, unless its kind refuses (then it is cancelled)."""
    policy = deps.policy(order.kind)
    sold: list[int] = []
    async with in_transaction():
        taken = await policy.take_payment(deps, order)
        if taken:
            sold = await _paid(deps, policy, order)
        else:
            await _release(policy, order, REFUSED)
    if taken:
        await policy.after_paid(deps, order, sold)
    else:
        await policy.after_released(deps, order)


async def _paid(deps: OrderDeps, policy: KindPolicy, order: Order) -> list[int]:
    """Inside the payment's transaction, its kind having taken the money: the order is PAID, its held units sold,
    and one collected at a pickup point gets its code. Returns the SKUs whose units were sold."""
    await states.move(order, OrderStatus.PAID)
    sold = await policy.commit_units(order)
    await pickup_codes.issue(order)
    await policy.confirm_sale(deps, order)
    return sold


async def take_from_wallet(order: Order, owed: int) -> None:
    """Inside the order's transaction, after its SKUs' rows: the wallet pays what it can of `owed`, and the order
    owes WeChat Pay the rest."""
    taken = (await spending.take(order, owed)).total
    if taken:
        order.wallet_paid += taken
        order.payable -= taken
        await Order.filter(id=order.id).update(wallet_paid=order.wallet_paid, payable=order.payable)


async def pay_with_wallet(deps: OrderDeps, order: Order) -> Order:
    """`orderPay(useWallet: true)`: a pending order not yet paid from the wallet has the wallet pay what it can; its
    open WeChat Pay trades are closed first, so none for the old amount can be paid afterwards (one paid meanwhile
    settles the order instead). The caller then asks for the payment (`first_payment`): none when the wallet paid
    it all."""
    if not deps.policy(order.kind).takes_wallet:
        raise DomainError(ErrorCode.INVALID, "this order is paid through WeChat Pay only", ["useWallet"])
    if order.status != OrderStatus.PENDING_PAYMENT or order.wallet_paid:
        return order
    if order.expires_at <= deps.clock():
        raise DomainError(ErrorCode.INVALID_STATE, "the order's payment time is over", ["orderId"])
    try:
        settled = await close_open_trades(deps, order)
    except PaymentGatewayError as exc:
        raise payment_failed(exc) from None
    if settled is not None:
        return await Order.get(id=order.id)
    async with in_transaction():
        order = await Order.filter(id=order.id).select_for_update().get()
        if order.status == OrderStatus.PENDING_PAYMENT and not order.wallet_paid:
            await take_from_wallet(order, order.payable)
    return order


async def pay(deps: OrderDeps, order: Order, *, use_wallet: bool = False) -> Placed:
    """`orderPay`: a fresh payment for a pending order (prepay again if the old one expired); with `use_wallet`, the
    wallet pays what it can first, and an order it pays in full is paid at once (no payment to make)."""
    if use_wallet:
        pending = order.status == OrderStatus.PENDING_PAYMENT
        order = await pay_with_wallet(deps, order)
        if pending and order.status == OrderStatus.PAID:
            return Placed(order, None)  # a payment that arrived meanwhile settled it
        if pending and order.status != OrderStatus.PENDING_PAYMENT:  # cancelled meanwhile (or its payment refused)
            raise states.invalid_state(order, OrderStatus.PAID)
    if order.status == OrderStatus.PENDING_PAYMENT and order.payable == 0:
        # nothing left to pay (the wallet paid it all, and the process stopped before settling it): settle it now
        return await first_payment(deps, order)
    return Placed(order, await prepay(deps, order))


async def cancel(deps: OrderDeps, order: Order, reason: str) -> None:
    """Pending → cancelled: its units (and its coupon) back exactly once, in the database and then in the fast
    gates (its kind's policy says which)."""
    policy = deps.policy(order.kind)
    async with in_transaction():
        await _release(policy, order, reason)
    await policy.after_released(deps, order)


async def _release(policy: KindPolicy, order: Order, reason: str) -> None:
    """Inside the cancelling transaction: the order is cancelled and gives back what it held."""
    await states.move(order, OrderStatus.CANCELLED, cancel_reason=reason[:64])
    await policy.release_units(order)
    await coupons.give_back(order.id)
    await spending.release(order)  # balances after the SKUs' rows (the lock order)


async def cancel_unpayable(deps: OrderDeps, order: Order) -> None:
    """Checkout could not get a prepay: the order never existed for the customer; the key may be used again."""
    await cancel(deps, order, UNPAYABLE)
    await Order.filter(id=order.id).update(idempotency_key=None)


async def close_open_trades(deps: OrderDeps, order: Order) -> str | None:
    """Close the order's open prepays at WeChat Pay (outside any transaction), so none can be paid afterwards. One
    found paid meanwhile settles instead: its outcome is returned (None when every trade was closed). Raises
    `PaymentGatewayError` when WeChat Pay cannot close one."""
    for payment in await Payment.filter(order_id=order.id, status=PaymentStatus.PENDING, prepay_id__isnull=False):
        try:
            await deps.gateway.close(payment.out_trade_no)
        except PaymentGatewayError as exc:
            if exc.code != "ORDERPAID":
                raise
            status = await deps.gateway.query(payment.out_trade_no)
            if status is not None and status.state == "SUCCESS":
                return await settle_payment(deps, payment.out_trade_no, status.transaction_id or "", status.amount or 0)
        await Payment.filter(id=payment.id, status=PaymentStatus.PENDING).update(status=PaymentStatus.CLOSED)
    return None


async def close_then_cancel(deps: OrderDeps, order: Order, reason: str) -> str:
    """Close every open prepay first (no external call inside a transaction); a payment found meanwhile settles."""
    settled = await close_open_trades(deps, order)
    if settled is not None:
        return settled
    await cancel(deps, order, reason)
    return "cancelled"


async def settle_payment(deps: OrderDeps, out_trade_no: str, transaction_id: str, amount: int,
                         notice: Notice | None = None) -> str:
    """WeChat Pay confirmed money for one of our trades. Idempotent: returns what happened, changes things once.

    - pending order: paid, held units sold; unless its kind's policy no longer accepts the payment (its group
      failed meanwhile): then cancelled, its units released, and the money refunded in full;
    - order already cancelled (paid late): revived if its units (its seat, its pool's units…) and its coupon (if
      any) are all still there to take back, otherwise refunded in full (a coupon used on another order meanwhile is
      never spent twice);
    - anything already settled: nothing.

    `notice`: the notification that told it, recorded in the same transaction (`domain.orders.notifications`);
    one seen before changes nothing and answers REPLAYED.
    """
    auto_refund: Refund | None = None
    sold: list[int] = []
    async with in_transaction():
        claimed = await _claim(out_trade_no, transaction_id, amount, deps.clock(), notice)
        if claimed is None:
            outcome = await _unclaimed(out_trade_no, amount, notice)
            if notice is not None and outcome != REPLAYED:
                await notifications.record(notice, out_trade_no, outcome)
            return outcome
        payment, order, recorded = claimed
        policy = deps.policy(order.kind)
        outcome, sold = await _apply_payment(deps, policy, order, payment, deps.clock())
        if outcome in ("refund", "refused"):
            auto_refund = await _refund_unwanted_payment(order, payment)
        if notice is not None and outcome != recorded:
            if recorded is None:
                await notifications.record(notice, out_trade_no, outcome)
            else:
                await notifications.correct(notice, outcome)
    if outcome == PAID_ORDER:
        await policy.after_paid(deps, order, sold)
    if outcome == "refused":
        await policy.after_released(deps, order)
    if auto_refund is not None:
        await send_refund(deps, auto_refund)
    log.info("payment settled", order=order.number, out_trade_no=out_trade_no, outcome=outcome)
    return outcome


_PAYMENTS = Payment._meta.db_table
_ORDERS = Order._meta.db_table


async def _claim(out_trade_no: str, transaction_id: str, amount: int, at: datetime,
                 notice: Notice | None) -> tuple[Payment, Order, str | None] | None:
    """Inside the payment's transaction: the trade marked SUCCEEDED, unless it already was, asks another amount, or
    its notification was seen; its money in the ledger; then its order, locked (an expiry cancelling it meanwhile
    finishes first, and this payment then revives it). None when nothing was claimed (`_unclaimed` says why). On
    PostgreSQL one statement, which also records the notification (`notifications.record_sql`) as the payment's most
    likely outcome, PAID_ORDER: the third value is the outcome it recorded, None if it recorded none."""
    reference = f"pay:{out_trade_no}"
    p = raw_sql.Params()
    update = (f'UPDATE "{_PAYMENTS}" SET "status" = {p(PaymentStatus.SUCCEEDED.value)}, '
              f'"transaction_id" = {p(transaction_id)}, "paid_at" = {p(raw_sql.db_value(Payment, "paid_at", at))} '
              f'WHERE "out_trade_no" = {p(out_trade_no)} AND "status" <> {p(PaymentStatus.SUCCEEDED.value)} '
              f'AND "amount" = {p(amount)}')
    if notice is not None:
        update += f" AND NOT {notifications.seen_sql(p, notice.id)}"
    update += ' RETURNING "id", "order_id", "amount"'
    recorded = None
    if raw_sql.postgres():
        entry = ledger.record_sql(p, "paid", "order_id", account=ledger.WECHATPAY, kind=ledger.PAYMENT,
                                  amount=amount, reference=reference)
        noted, noted_column = "", ""
        if notice is not None:  # the relation `paid` is the trade the statement claims
            record = notifications.record_sql(p, notice, out_trade_no, PAID_ORDER, rows="paid")
            noted = f", noted AS ({record} RETURNING 1)"
            noted_column = ', EXISTS (SELECT 1 FROM noted) AS "pond_notification_recorded"'
        rows = await raw_sql.fetch(
            f'WITH paid AS ({update}), entry AS ({entry}){noted} '
            f'SELECT paid."id" AS "payment_id", paid."amount" AS "payment_amount"{noted_column}, o.* '
            f'FROM paid JOIN "{_ORDERS}" o ON o."id" = paid."order_id" FOR UPDATE OF o', *p)
        if not rows:
            return None
        [row] = rows
        if row.pop("pond_notification_recorded", False):  # not when a copy's record may not be replaced
            recorded = PAID_ORDER
        order = Order._init_from_db(**row)
        payment_id, order_id, paid = row["payment_id"], order.id, row["payment_amount"]
    else:
        rows = await raw_sql.fetch(update, *p)
        if not rows:
            return None
        [row] = rows
        payment_id, order_id, paid = row["id"], row["order_id"], row["amount"]
        await ledger.record(account=ledger.WECHATPAY, kind=ledger.PAYMENT, amount=amount, reference=reference,
                            order_id=order_id)
        order = await Order.get(id=order_id)
    payment = Payment(id=payment_id, order_id=order_id, out_trade_no=out_trade_no, amount=paid,
                      status=PaymentStatus.SUCCEEDED, transaction_id=transaction_id, paid_at=at)
    payment._saved_in_db = True
    return payment, order, recorded


async def _unclaimed(out_trade_no: str, amount: int, notice: Notice | None) -> str:
    """Why `_claim` claimed nothing: the notification was seen (REPLAYED), no such trade (NOT_FOUND), another
    amount (INVALID), or the trade was settled already ("duplicate")."""
    p = raw_sql.Params()
    seen = notifications.seen_sql(p, notice.id) if notice is not None else "0"
    [row] = await raw_sql.fetch(f'SELECT {seen} AS "seen", (SELECT "amount" FROM "{_PAYMENTS}" '
                                f'WHERE "out_trade_no" = {p(out_trade_no)}) AS "amount"', *p)
    if row["seen"]:
        return REPLAYED
    if row["amount"] is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no payment {out_trade_no}")
    if amount != row["amount"]:
        raise DomainError(ErrorCode.INVALID, f"paid {amount} fen but the payment asked {row['amount']}")
    return notifications.DUPLICATE


async def _apply_payment(deps: OrderDeps, policy: KindPolicy, order: Order, payment: Payment,
                         at: datetime) -> tuple[str, list[int]]:
    """What the payment does to its order, and the SKUs whose held units it sold."""
    if order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED) and payment.amount != order.payable:
        # a trade for an amount the order no longer owes (opened before the wallet paid part of it): it neither pays
        # nor revives the order, which would then hold the wallet part on top of the whole price
        return "refund", []
    if order.status == OrderStatus.PENDING_PAYMENT:
        if not await policy.take_payment(deps, order):
            await _release(policy, order, REFUSED)
            return "refused", []
        return PAID_ORDER, await _paid(deps, policy, order)
    if order.status == OrderStatus.CANCELLED and order.paid_at is None:
        try:
            async with in_transaction():  # a savepoint: what was retaken before the missing part is undone
                await policy.retake_units(order)
                await coupons.retake(order.id, at)
                await spending.retake(order)
                if not await policy.take_payment(deps, order):
                    raise CannotRevive(f"order {order.number}'s kind refused its late payment")
        except (holds.OutOfStock, coupons.CouponTaken, CannotRevive, Insufficient):
            return "refund", []
        await states.move(order, OrderStatus.PAID)
        await pickup_codes.issue(order)
        await policy.confirm_sale(deps, order)
        return "revived", []
    return "refund", []


async def _refund_unwanted_payment(order: Order, payment: Payment) -> Refund:
    """Money arrived that no order can use (e.g. a second payment): give it all back."""
    sequence = await Refund.filter(order_id=order.id).count() + 1
    refund = await Refund.create(order_id=order.id, payment_id=payment.id,
                                 out_refund_no=refund_number(order.number, sequence),
                                 amount=payment.amount, reason="paid after the order was closed",
                                 status=RefundStatus.PROCESSING, requested_by=refund_states.SYSTEM,
                                 decided_by=refund_states.SYSTEM)
    if order.status == OrderStatus.CANCELLED:
        await states.move(order, OrderStatus.REFUNDING, status_before_refund=OrderStatus.CANCELLED)
    return refund


async def reconcile(deps: OrderDeps, out_trade_no: str) -> str:
    """Ask WeChat Pay about a trade whose notification never came."""
    status = await deps.gateway.query(out_trade_no)
    if status is None or status.state != "SUCCESS":
        return status.state if status else "unknown"
    return await settle_payment(deps, out_trade_no, status.transaction_id or "", status.amount or 0)

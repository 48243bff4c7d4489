"""Refunding a recharge (`rechargeRefund`, staff): the recharge's unspent principal goes back through WeChat Pay and
its bonus leaves the wallet in the same proportion. Bonus money never leaves as cash.

The rule (`terms`), for a recharge that credited principal `P` and bonus `B`, to a wallet now holding principal `p` and
bonus `b`:

- the principal that goes back is what the wallet still holds of it: `back = min(P, p)`;
- the bonus that goes with it is the same share of the recharge's bonus, rounded up: `due = ⌈back × B ÷ P⌉`;
- what the wallet still holds of that bonus leaves it (`min(due, b)`); bonus already spent (`due − b`, if more than
  0) is paid for out of the principal going back, which the shop keeps;
- the customer receives `back − max(0, due − b)` through WeChat Pay, and nothing when that is 0 or less (the refund
  is refused; nothing moves).

So every fen that leaves as cash was principal, and a wallet that spent its bonus first pays that bonus back before
any principal leaves. A recharge is refunded once; a wallet whose principal it refunds may hold other recharges'
money, which stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from domain.balances import service as balances
from domain.errors import DomainError, ErrorCode, Invalid
from domain.orders import refund_states, states
from domain.orders.deps import OrderDeps
from domain.orders.models import Order, OrderKind, OrderStatus, Refund, RefundStatus
from domain.orders.numbers import refund_number
from domain.orders.refund_calls import refund_source, send_refund
from domain.wallet.account import BONUS, PRINCIPAL, locked_wallet, owner
from domain.wallet.models import Recharge


@dataclass(frozen=True)
class Terms:
    principal_out: int
    """What leaves the principal bucket (cash and what pays for spent bonus)."""
    bonus_out: int
    """What leaves the bonus bucket."""
    cash: int
    """What the customer receives through WeChat Pay."""


def terms(principal: int, bonus: int, held_principal: int, held_bonus: int) -> Terms:
    """The module's rule, to the fen."""
    back = max(0, min(principal, held_principal))
    due = -(-back * bonus // principal) if principal else 0
    bonus_out = min(due, max(0, held_bonus))
    return Terms(principal_out=back, bonus_out=bonus_out, cash=back - (due - bonus_out))


async def refund_recharge(deps: OrderDeps, order_id: int, reason: str, actor: str, at: datetime) -> Refund:
    """Staff refund a paid recharge once: NOT_FOUND for another kind of order, INVALID_STATE for one not paid or
    refunded already or with nothing left to give back as cash."""
    if len(reason) > 200:
        raise Invalid("reason must be at most 200 characters", ["reason"])
    async with in_transaction():
        order = await Order.filter(id=order_id, kind=OrderKind.RECHARGE).select_for_update().first()
        recharge = None if order is None else await Recharge.get_or_none(order_id=order.id)
        if order is None or recharge is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no such recharge", ["orderId"])
        if order.status != OrderStatus.PAID or recharge.refunded_at is not None or recharge.credited_at is None:
            raise DomainError(ErrorCode.INVALID_STATE, "only a paid recharge not refunded yet can be refunded",
                              ["orderId"])
        if await Refund.filter(order_id=order.id, status__in=refund_states.UNSETTLED).exists():
            raise DomainError(ErrorCode.DUPLICATE, "a refund of this recharge's order is already open", ["orderId"])
        account = owner(recharge.customer_id)
        held = await locked_wallet(recharge.customer_id)
        agreed = terms(recharge.principal, recharge.bonus, held.principal, held.bonus)
        if agreed.cash <= 0:
            raise DomainError(ErrorCode.INVALID_STATE, "the wallet holds none of this recharge's principal to give "
                              "back (its money was spent)", ["orderId"])
        note = f"recharge {order.number} refunded"
        if agreed.bonus_out:
            await balances.move(account, BONUS, -agreed.bonus_out, f"wallet:recharge:{order.id}:refund:bonus",
                                note=note)
        await balances.move(account, PRINCIPAL, -agreed.principal_out, f"wallet:recharge:{order.id}:refund:principal",
                            note=note)
        await Recharge.filter(id=recharge.id).update(refunded_at=at)
        source = await refund_source(order.id, agreed.cash)
        sequence = await Refund.filter(order_id=order.id).count() + 1
        refund = await Refund.create(order_id=order.id, payment_id=source.id if source else None,
                                     out_refund_no=refund_number(order.number, sequence), amount=agreed.cash,
                                     reason=reason.strip() or "recharge refunded", requested_by=actor,
                                     decided_by=actor, status=RefundStatus.PROCESSING)
        await states.move(order, OrderStatus.REFUNDING, status_before_refund=order.status)
    return await send_refund(deps, refund)

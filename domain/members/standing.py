"""The one rule for a customer's member level: what they have paid, and the level that amount reaches.

What counts as paid: the money of the customer's orders that were paid (`paid_at` set) and are not RECHARGE orders,
on the ledger accounts the customer's own money moves through (`COUNTED_ACCOUNTS`: WeChat Pay and wallet
principal), payments minus refunds. Wallet bonus is the shop's gift and never counts, and neither does a recharge
(its money counts once, when the principal is spent on an order). A refund lowers the amount at once, so a level
reached through an order is lost again if that order is refunded.

A customer holds the highest level whose threshold the amount reaches (none below the lowest threshold), and that
level's discount is their member discount (`MemberDiscount`, used by the pricing engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.functions import Sum

from domain.ledger.models import LedgerEntry
from domain.ledger.service import WALLET_PRINCIPAL, WECHATPAY
from domain.members.models import MemberLevel
from domain.orders.models import OrderKind, Refund
from domain.orders.refund_states import SYSTEM, UNSETTLED
from domain.remembered import remembered

COUNTED_ACCOUNTS = (WECHATPAY, WALLET_PRINCIPAL)
"""Ledger accounts whose order money counts toward levels (the wallet's bonus does not)."""
FULL_PRICE_BP = 10_000


@dataclass(frozen=True)
class MemberDiscount:
    """The customer's level and the basis points it takes off (1 to 9999)."""

    level_id: int
    basis_points: int

    def apply(self, price: int) -> int:
        """The price with the member discount, floored to the fen (never below 0)."""
        return max(price, 0) * (FULL_PRICE_BP - self.basis_points) // FULL_PRICE_BP


@dataclass(frozen=True)
class Standing:
    paid: int
    """Fen paid so far (see the module)."""
    level: MemberLevel | None
    next_level: MemberLevel | None

    @property
    def to_next(self) -> int | None:
        """Fen still to pay to reach `next_level` (None at the top)."""
        return None if self.next_level is None else self.next_level.threshold - self.paid


async def paid_total(customer_id: int) -> int:
    """What the customer has paid that counts toward levels (two queries): the ledger, less what unsettled SYSTEM
    refunds are giving back (as `domain.audit.checks.order_money` sets it aside)."""
    query = LedgerEntry.filter(order__customer_id=customer_id, order__paid_at__isnull=False,
                               order__kind__not=OrderKind.RECHARGE, account__in=COUNTED_ACCOUNTS)
    by_account = await query.group_by("account").annotate(total=Sum("amount")).values_list("account", "total")
    # money no order could use (a second payment, a trade for a stale amount), on its way back: never counted
    returning = await Refund.filter(order__customer_id=customer_id, order__paid_at__isnull=False,
                                    order__kind__not=OrderKind.RECHARGE, requested_by=SYSTEM,
                                    status__in=UNSETTLED).values_list("amount", "wallet_bonus")
    counted = sum(int(total or 0) for _, total in by_account) - sum(int(a) - int(b) for a, b in returning)
    return max(counted, 0)


async def all_levels() -> list[MemberLevel]:
    """Every level, lowest threshold first (remembered between staff changes: `domain.remembered`)."""
    return await remembered("member-levels", _read_levels)


async def _read_levels() -> list[MemberLevel]:
    return await MemberLevel.all().order_by("threshold")


def reached(levels: Sequence[MemberLevel], paid: int) -> tuple[MemberLevel | None, MemberLevel | None]:
    """The level `paid` holds (the highest threshold at or below it) and the next one up, of levels sorted by
    threshold."""
    level = next_level = None
    for candidate in levels:
        if candidate.threshold <= paid:
            level = candidate
        elif next_level is None:
            next_level = candidate
    return level, next_level


async def standing_of(customer_id: int) -> Standing:
    paid = await paid_total(customer_id)
    level, next_level = reached(await all_levels(), paid)
    return Standing(paid, level, next_level)


async def member_prices_exist() -> bool:
    """Whether any level takes something off (else every customer is priced as anyone is)."""
    return any(level.discount_bp > 0 for level in await all_levels())


async def discount_for(customer_id: int | None) -> MemberDiscount | None:
    """The member discount the customer's prices get now; None for nobody (anonymous) and for a level without one.
    While no level has a discount it costs one small query and never sums the customer's payments."""
    if customer_id is None:
        return None
    levels = await all_levels()
    if not any(level.discount_bp > 0 for level in levels):
        return None
    level, _ = reached(levels, await paid_total(customer_id))
    if level is None or level.discount_bp <= 0:
        return None
    return MemberDiscount(level.id, level.discount_bp)


async def discounts_by_customer(customer_ids: Sequence[int]) -> dict[int, MemberDiscount | None]:
    """`discount_for` each customer (a request asks for its own customer only; a flash sale batch for its buyers):
    the levels are read once, and nobody's payments are summed while no level takes anything off."""
    if not customer_ids:
        return {}
    levels = await all_levels()
    if not any(level.discount_bp > 0 for level in levels):
        return dict.fromkeys(customer_ids)
    found: dict[int, MemberDiscount | None] = {}
    for customer_id in customer_ids:
        level, _ = reached(levels, await paid_total(customer_id))
        found[customer_id] = None if level is None or level.discount_bp <= 0 else MemberDiscount(level.id,
                                                                                                   level.discount_bp)
    return found

"""What a RELAY order means at each step: the orders area asks this policy, never the kind."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.orders.kinds import KindPolicy
from domain.orders.models import Order, OrderKind
from domain.relay import entries

if TYPE_CHECKING:
    from domain.orders.deps import OrderDeps


class RelayPolicy(KindPolicy):
    """Units come from the SKU's stock like a normal order's; besides, an entry counts against its relay items' caps
    while it is not cancelled, and gets its public number when paid. The relay price is the offer: no coupons or
    spend-and-save on top."""

    kind = OrderKind.RELAY
    takes_order_promotions = False

    async def release_units(self, order: Order) -> None:
        await entries.give_back_units(order)
        await super().release_units(order)

    async def retake_units(self, order: Order) -> None:
        await entries.retake_units(order)
        await super().retake_units(order)

    async def restock_units(self, order: Order) -> list[int]:
        """Refunded with its goods back on sale: they may be sold through the relay again (its caps)."""
        await entries.give_back_units(order)
        return await super().restock_units(order)

    async def take_payment(self, deps: OrderDeps, order: Order) -> bool:
        """Paid: the entry takes the relay's next public number (in the payment's transaction)."""
        await entries.number(order, deps.clock())
        return True

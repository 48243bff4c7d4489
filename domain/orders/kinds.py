"""What each order kind means at each step of an order's life: one policy per kind, in one place each.

`KindPolicy` is a NORMAL order: its units come from the SKU's stock (held at checkout, sold when paid, back on
sale when cancelled), it ships or is picked up once paid, and it can be refunded once paid. Every other kind
subclasses it in its own selling-mode package (`domain.flash_sale`, `domain.group_buy`, `domain.relay`) and overrides
only what differs. The orders area never asks an order's kind: it asks `deps.policy(order)`.

The hooks run at fixed places:

- inside the order's database transaction (no Redis round trip there): `commit_units`, `release_units`,
  `retake_units`, `take_payment`, `restock_units`, and `confirm_sale` last, after the units are sold (what the
  listeners lock, balances, comes after the SKUs' rows, as in a refund);
- after that transaction committed (the fast gates: counter, pool, seats): `after_paid`, `after_released`;
- before a step, to refuse it with INVALID_STATE and a message that says why: `check_fulfilment` (ship, pickup),
  `check_refund` (a refund opened by the customer or staff).

One lock order for every transaction, so that none waits for another in a circle (PostgreSQL would break the tie by
failing one): the order's row, then the selling mode's rows (a group, a relay, a flash sale), then the SKUs' rows,
then the balances the order events move.
Placing writes the mode's part (`Placement.write`) before it holds the stock; paying takes the money
(`take_payment`) before it sells the units (`commit_units`); a subclass releases or retakes its own part before
calling the base's `release_units` / `retake_units`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from domain.columns import column
from domain.inventory import holds
from domain.inventory.models import Reservation
from domain.orders.holders import holder_of
from domain.orders.models import Order, OrderKind, OrderStatus, Refund

if TYPE_CHECKING:
    from domain.orders.deps import OrderDeps


class CannotRevive(Exception):
    """A payment arrived for a cancelled order whose place is gone (its units, seat or sale): the money goes back."""


class KindPolicy:
    kind: OrderKind = OrderKind.NORMAL
    takes_order_promotions: bool = True
    """Whether spend-and-save and coupons apply (a flash sale or group-buy price is already the promotion)."""
    takes_wallet: bool = True
    """Whether the wallet may pay for it (a recharge is paid through WeChat Pay only)."""

    def payment_window(self, deps: OrderDeps) -> timedelta:
        """How long an unpaid order of this kind holds its units before it expires."""
        return deps.payment_window

    # Inside the order's transaction.

    async def commit_units(self, order: Order) -> list[int]:
        """Paid: the held units are sold. Returns the SKUs they were of (none when nothing was held)."""
        return await holds.commit(order.id)

    async def release_units(self, order: Order) -> None:
        """Cancelled or expired: the held units come back."""
        await holds.release(order.id)

    async def retake_units(self, order: Order) -> None:
        """A payment arrived after the order was cancelled: take its units again, or raise `holds.OutOfStock` or
        `CannotRevive` (the payment is then refunded)."""
        await holds.retake(order.id)

    async def restock_units(self, order: Order) -> list[int]:
        """Refunded in full with its goods back (`goods_come_back`): its sold units go back on sale, once. Returns the
        SKUs whose stock changed (their counters are set from the database after the transaction)."""
        return await holds.restock(order.id)

    async def take_payment(self, deps: OrderDeps, order: Order) -> bool:
        """The order's money arrived (the payment's transaction, the order row locked; for a late payment, after its
        units were retaken): do what being paid means for the kind (a group-buy seat is paid and may fill its group,
        a relay entry takes its number) and answer True, and the order becomes PAID. Answer False to refuse the money
        (e.g. the order's group failed meanwhile): the order is cancelled, or stays so, and the money goes back."""
        return True

    async def confirm_sale(self, deps: OrderDeps, order: Order) -> None:
        """Paid, its units sold (the payment's transaction, last): the sale is final, and whoever listens hears it
        (`OrderEvents.confirmed`). A group-buy's sale is final only once its group succeeds; a recharge is no sale."""
        await deps.events.confirmed(order)

    def goods_come_back(self, order: Order, refund: Refund) -> bool:
        """Whether a refund in full puts the order's units back on sale: a customer asked for the money back before
        the order shipped, so the goods never left the shop. Staff refunding on their own (often because the goods
        are missing) adjust stock themselves."""
        return order.status_before_refund == OrderStatus.PAID and refund.requested_by.startswith("customer:")

    # After the transaction committed.

    async def after_paid(self, deps: OrderDeps, order: Order, sold: list[int]) -> None:
        """The counter's record of the order's units goes: they are sold (`sold`: what `commit_units` answered)."""
        if sold:
            await deps.inventory.forget(holder_of(order), sold)

    async def after_released(self, deps: OrderDeps, order: Order) -> None:
        """The database released the order's units: the counter gives them back (once)."""
        sku_ids = await column(Reservation.filter(order_id=order.id), "sku_id", int)
        await deps.inventory.give_back(holder_of(order), list(sku_ids))

    # Rules.

    async def check_fulfilment(self, order: Order) -> None:
        """Raise INVALID_STATE if the order may not be shipped or handed over yet (beyond being PAID)."""

    async def check_refund(self, order: Order) -> None:
        """Raise INVALID_STATE if no refund may be opened for the order now (beyond its status)."""


NORMAL = KindPolicy()

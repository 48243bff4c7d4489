"""What a FLASH_SALE order means: its units come from its sale's pool, not from the SKU's free stock.

Paid, they are sold like any units (they were counted in `Sku.reserved` while set aside), and the pool keeps them
(they count in the customer's allowance), so the stock counter has nothing to forget. Cancelled or expired while the
sale runs, they go back to the pool; once the sale is settled, to normal stock. A flash sale order takes no
order-level promotions (spend-and-save, coupons) and expires sooner, so unpaid units return while the sale runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.expressions import F

from domain.catalog.models import Sku
from domain.columns import column
from domain.flash_sale.group_commit import GroupCommit
from domain.flash_sale.item_cache import ItemCache
from domain.flash_sale.models import FlashSale, FlashSaleItem
from domain.flash_sale.pool import FlashPool, Take
from domain.flash_sale.turn_batch import TurnBatch
from domain.inventory import holds
from domain.inventory.models import Reservation, ReservationState
from domain.orders.deps import OrderDeps
from domain.orders.holders import holder_of
from domain.orders.kinds import KindPolicy
from domain.orders.models import Order, OrderKind


class FlashSalePolicy(KindPolicy):
    kind = OrderKind.FLASH_SALE
    takes_order_promotions = False

    def __init__(self, pool: FlashPool, payment_minutes: int = 5, writer: GroupCommit[Any, Any] | None = None,
                 admitter: TurnBatch[Any, Take] | None = None) -> None:
        self.pool = pool
        self.payment_minutes = payment_minutes
        self.writer = writer
        """The group commit that writes admitted buys (`domain.flash_sale.batch_write`); None: each alone."""
        self.admitter = admitter
        """What admits the buys of one turn of the event loop together (`domain.flash_sale.admit`); None: each
        alone."""
        self.items = ItemCache()

    def payment_window(self, deps: OrderDeps) -> timedelta:
        return timedelta(minutes=self.payment_minutes)

    async def release_units(self, order: Order) -> None:
        for reservation in await Reservation.filter(order_id=order.id, state=ReservationState.HELD).order_by("sku_id"):
            if await Reservation.filter(id=reservation.id, state=ReservationState.HELD).update(
                state=ReservationState.RELEASED
            ):
                await _back_to_pool(reservation)

    async def retake_units(self, order: Order) -> None:
        released = await Reservation.filter(order_id=order.id, state=ReservationState.RELEASED).order_by("sku_id")
        for reservation in released:
            if await _retake_from_pool(reservation):
                await holds.audit_sale(order.id, reservation)
                reservation.state = ReservationState.COMMITTED
                await reservation.save(update_fields=["state", "updated_at"])
            else:
                await holds.retake_reservation(order.id, reservation)

    async def after_paid(self, deps: OrderDeps, order: Order, sold: list[int]) -> None:
        """The pool keeps the units it sold (they count in the customer's allowance): nothing to forget."""

    async def after_released(self, deps: OrderDeps, order: Order) -> None:
        """Back to the running sale's pool (once), or, for a settled sale, to normal stock, whose counter is set from
        the database."""
        sale_ids = await Reservation.filter(order_id=order.id, flash_item_id__isnull=False) \
            .values_list("flash_item__sale_id", flat=True)
        for sale_id in set(sale_ids):
            sale = await FlashSale.get(id=sale_id)
            if sale.settled_at is None:
                await self.pool.give_back(sale.id, holder_of(order))
            else:
                await deps.inventory.resync(await column(Reservation.filter(order_id=order.id), "sku_id", int))


def flash_policy(deps: OrderDeps) -> FlashSalePolicy:
    """The FLASH_SALE policy the server wired, with the sales' pool."""
    return deps.policy_as(OrderKind.FLASH_SALE, FlashSalePolicy)


def pool_of(deps: OrderDeps) -> FlashPool:
    return flash_policy(deps).pool


async def _sale_of(reservation: Reservation) -> tuple[FlashSaleItem, FlashSale]:
    """The flash item and its sale, the sale row locked (settling takes the same lock)."""
    item = await FlashSaleItem.get(id=reservation.flash_item_id)
    sale = await FlashSale.filter(id=item.sale_id).select_for_update().first()
    assert sale is not None
    return item, sale


async def _back_to_pool(reservation: Reservation) -> None:
    """Released flash units: back to the sale's pool while it runs, to normal stock once it is settled."""
    item, sale = await _sale_of(reservation)
    await FlashSaleItem.filter(id=item.id).update(taken=F("taken") - reservation.quantity)
    if sale.settled_at is not None:
        await Sku.filter(id=reservation.sku_id).update(reserved=F("reserved") - reservation.quantity)


async def _retake_from_pool(reservation: Reservation) -> bool:
    """A late payment for a released flash order: take the units from the pool again if it still has them (they
    are in Sku.reserved, so they leave stock and reserved together). A settled sale's units come from stock: False."""
    item, sale = await _sale_of(reservation)
    if sale.settled_at is not None:
        return False
    if not await FlashSaleItem.filter(id=item.id, taken__lte=F("quantity") - reservation.quantity).update(
        taken=F("taken") + reservation.quantity
    ):
        raise holds.OutOfStock([reservation.sku_id])
    await Sku.filter(id=reservation.sku_id).update(
        stock=F("stock") - reservation.quantity, reserved=F("reserved") - reservation.quantity
    )
    return True

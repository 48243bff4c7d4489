"""How many of each SKU's reserved units flash sales account for (what an audit compares `Sku.reserved` with).

A sale's pool is set aside in `Sku.reserved` when it is created. While the sale is unsettled its SKU holds the
pool less what the pool sold (a paid order's units leave stock and reserved together); once settled, the units
nobody took went back, and only its orders still unpaid hold theirs."""

from __future__ import annotations

from domain.flash_sale.models import FlashSaleItem
from domain.inventory.models import Reservation, ReservationState


async def reserved_by_flash_sales() -> dict[int, int]:
    """SKU id → units of `Sku.reserved` that flash sales hold."""
    held: dict[int, int] = {}
    sold: dict[int, int] = {}
    for item_id, state, quantity in await Reservation.filter(flash_item_id__isnull=False).values_list(
            "flash_item_id", "state", "quantity"):
        if state == ReservationState.HELD:
            held[item_id] = held.get(item_id, 0) + quantity
        elif state in (ReservationState.COMMITTED, ReservationState.RETURNED):
            sold[item_id] = sold.get(item_id, 0) + quantity
    units: dict[int, int] = {}
    for item in await FlashSaleItem.all().select_related("sale"):
        part = held.get(item.id, 0) if item.sale.settled_at else item.quantity - sold.get(item.id, 0)
        units[item.sku_id] = units.get(item.sku_id, 0) + part
    return units

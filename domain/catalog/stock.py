"""Stock on hand: every change is one conditional update plus one audit row, in one transaction."""

from __future__ import annotations

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from domain.catalog.models import Sku, StockMovement
from domain.catalog.rules import MAX_STOCK, check_text
from domain.errors import DomainError, ErrorCode, Invalid, NotFound


def free_units(stock: int, reserved: int) -> int:
    """Units a customer can buy right now: stock on hand minus units held for unpaid orders."""
    return max(stock - reserved, 0)


async def adjust_stock(sku_id: int, delta: int, reason: str, actor: str) -> Sku:
    """Add (or with a negative delta remove) units; never below 0, never lost to a concurrent change."""
    reason = check_text(reason, "reason", ["reason"], required=True, max_length=255)
    if delta == 0:
        raise Invalid("delta must not be 0", ["delta"])
    if abs(delta) > MAX_STOCK:
        raise Invalid(f"delta must be within ±{MAX_STOCK}", ["delta"])
    async with in_transaction():
        query = Sku.filter(id=sku_id, deleted_at__isnull=True)
        if delta < 0:
            query = query.filter(stock__gte=F("reserved") - delta)
        else:
            query = query.filter(stock__lte=MAX_STOCK - delta)
        changed = await query.update(stock=F("stock") + delta)
        if not changed:
            sku = await Sku.get_or_none(id=sku_id, deleted_at__isnull=True)
            if sku is None:
                raise NotFound("SKU", ["skuId"])
            if delta < 0:
                free = free_units(sku.stock, sku.reserved)
                raise DomainError(ErrorCode.INVALID, f"only {free} units are free; cannot remove {-delta}", ["delta"])
            raise Invalid(f"stock may not exceed {MAX_STOCK}", ["delta"])
        await audit(sku_id, delta, reason, actor)
    return await Sku.get(id=sku_id)


async def audit(sku_id: int, delta: int, reason: str, actor: str) -> None:
    """Write the audit row of a stock change just made in the current transaction (the SKU row is locked by it)."""
    [stock_after] = await Sku.filter(id=sku_id).values_list("stock", flat=True)
    await StockMovement.create(sku_id=sku_id, delta=delta, stock_after=stock_after, reason=reason, actor=actor)


async def record_initial_stock(sku: Sku, actor: str) -> None:
    """The opening movement of a new SKU, so the audit trail sums to its stock."""
    if sku.stock:
        await StockMovement.create(
            sku_id=sku.id, delta=sku.stock, stock_after=sku.stock, reason="initial stock", actor=actor
        )

"""Flash sales (秒杀): staff set-up, the window, the pool's truth in the database, and settling a sale that ended.

A sale sets its pool's units aside from normal stock when it is created (they count in `Sku.reserved`, so a normal
checkout cannot sell them). Each buy takes units from the pool (`FlashSaleItem.taken`, raised only while
`taken + quantity <= quantity`) and a flash reservation row records them. While the sale runs, a cancelled or
expired flash order gives its units back to the pool. Once the sale has ended it is settled (`settle`): the units
nobody took go back to normal stock, and later releases go to normal stock too.

An SKU is in at most one flash sale at a time: sales that are not ended and whose windows overlap may not share
an SKU (DUPLICATE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from domain import raw_sql
from domain.catalog.models import Sku
from domain.columns import column
from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid
from domain.flash_sale.models import FlashSale, FlashSaleItem
from domain.flash_sale.policy import flash_policy, pool_of
from domain.flash_sale.pool import Held, PoolState
from domain.inventory.models import Reservation, ReservationState
from domain.orders.deps import OrderDeps
from domain.orders.holders import holder_of
from domain.orders.models import Order
from domain.pagination import Page
from domain.pricing.engine import PriceSource
from domain.pricing.windows import (
    changeable,
    check_offer_skus,
    locked,
    newest_first,
    next_change,
    set_up_errors,
    sku_item_errors,
    utc,
    window,
)

MAX_ITEMS = 100
MAX_LIMIT = 99
OPEN_STATES = (ReservationState.HELD, ReservationState.COMMITTED)


class FlashSaleStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


def status(sale: FlashSale, at: datetime) -> FlashSaleStatus:
    return FlashSaleStatus(window(sale, at))


@dataclass(frozen=True)
class ItemDraft:
    sku_id: int
    price: int
    quantity: int


@dataclass(frozen=True)
class FlashSaleDraft:
    name: str
    starts_at: datetime
    ends_at: datetime
    per_customer_limit: int
    items: list[ItemDraft]


def _check_fields(draft: FlashSaleDraft) -> list[DomainError]:
    errors = set_up_errors(draft.name, draft.starts_at, draft.ends_at)
    if not 1 <= draft.per_customer_limit <= MAX_LIMIT:
        errors.append(Invalid(f"perCustomerLimit must be 1 to {MAX_LIMIT}", ["perCustomerLimit"]))
    errors += sku_item_errors([item.sku_id for item in draft.items], "flash sale", MAX_ITEMS)
    for index, item in enumerate(draft.items):
        where = ["items", str(index)]
        if item.price < 0:
            errors.append(Invalid("the sale price is at least 0 fen", [*where, "price"]))
        if not 1 <= item.quantity <= 1_000_000:
            errors.append(Invalid("the pool holds 1 to 1,000,000 units", [*where, "quantity"]))
    return errors


async def _check_skus(draft: FlashSaleDraft, exclude_id: int | None) -> dict[int, Sku]:
    """Inside the writing transaction (see `windows.check_offer_skus`)."""
    return await check_offer_skus(FlashSaleItem, "sale", "flash sale", [(i.sku_id, i.price) for i in draft.items],
                                  ("price", "sale price"), draft.starts_at, draft.ends_at, exclude_id)


async def _set_aside(sku_id: int, units: int, where: list[str]) -> None:
    """Move units between normal stock and the pool: positive takes free units (or fails), negative gives back."""
    if units > 0:
        moved = await Sku.filter(id=sku_id, stock__gte=F("reserved") + units).update(reserved=F("reserved") + units)
        if not moved:
            sku = await Sku.get(id=sku_id)
            raise DomainError(ErrorCode.SOLD_OUT, f"only {max(sku.stock - sku.reserved, 0)} units are free", where)
    elif units < 0:
        await Sku.filter(id=sku_id).update(reserved=F("reserved") + units)


async def create_flash_sale(draft: FlashSaleDraft, now: datetime) -> FlashSale:
    draft = replace(draft, name=draft.name.strip(), starts_at=utc(draft.starts_at), ends_at=utc(draft.ends_at))
    errors = _check_fields(draft)
    if draft.ends_at <= now:
        errors.append(Invalid("endsAt must be in the future", ["endsAt"]))
    if errors:
        raise DomainErrors(errors)
    async with in_transaction():
        await _check_skus(draft, None)
        sale = await FlashSale.create(name=draft.name, starts_at=draft.starts_at, ends_at=draft.ends_at,
                                      per_customer_limit=draft.per_customer_limit)
        for index, item in enumerate(draft.items):
            await _set_aside(item.sku_id, item.quantity, ["items", str(index), "quantity"])
        await FlashSaleItem.bulk_create([FlashSaleItem(sale_id=sale.id, sku_id=i.sku_id, price=i.price,
                                                       quantity=i.quantity) for i in draft.items])
    return sale


@dataclass(frozen=True)
class FlashSaleChanges:
    """None: leave as is. Items (prices and pool sizes) change only before the sale starts."""

    name: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    per_customer_limit: int | None = None
    items: list[ItemDraft] | None = None


async def update_flash_sale(sale_id: int, changes: FlashSaleChanges, now: datetime) -> FlashSale:
    async with in_transaction():
        sale = await changeable(FlashSale, sale_id, now, "flash sale")
        if status(sale, now) is FlashSaleStatus.ACTIVE and (changes.items is not None or changes.starts_at is not None):
            raise DomainError(ErrorCode.INVALID_STATE, "items and startsAt cannot change once the sale has started",
                              ["items" if changes.items is not None else "startsAt"])
        rows = await FlashSaleItem.filter(sale_id=sale.id).order_by("id")
        draft = FlashSaleDraft(
            name=(changes.name if changes.name is not None else sale.name).strip(),
            starts_at=utc(changes.starts_at) if changes.starts_at is not None else sale.starts_at,
            ends_at=utc(changes.ends_at) if changes.ends_at is not None else sale.ends_at,
            per_customer_limit=changes.per_customer_limit or sale.per_customer_limit,
            items=changes.items if changes.items is not None else [
                ItemDraft(r.sku_id, r.price, r.quantity) for r in rows
            ],
        )
        errors = _check_fields(draft)
        if changes.ends_at is not None and draft.ends_at <= now:
            errors.append(Invalid("endsAt must be in the future", ["endsAt"]))
        if errors:
            raise DomainErrors(errors)
        await _check_skus(draft, sale.id)
        if changes.items is not None:
            await _replace_items(sale, rows, draft.items)
        sale.name, sale.starts_at, sale.ends_at = draft.name, draft.starts_at, draft.ends_at
        sale.per_customer_limit = draft.per_customer_limit
        await sale.save()
    return sale


async def _replace_items(sale: FlashSale, rows: Sequence[FlashSaleItem], items: Sequence[ItemDraft]) -> None:
    """Before the start nothing is taken: give the old pools back to stock, set the new ones aside."""
    for row in rows:
        await _set_aside(row.sku_id, -row.quantity, ["items"])
    await FlashSaleItem.filter(sale_id=sale.id).delete()
    for index, item in enumerate(items):
        await _set_aside(item.sku_id, item.quantity, ["items", str(index), "quantity"])
    await FlashSaleItem.bulk_create([FlashSaleItem(sale_id=sale.id, sku_id=i.sku_id, price=i.price,
                                                   quantity=i.quantity) for i in items])


async def end_flash_sale(sale_id: int, now: datetime) -> FlashSale:
    """Staff end it now: no more buys, and the unsold units go back to normal stock at once."""
    async with in_transaction():
        sale = await changeable(FlashSale, sale_id, now, "flash sale")
        sale.ended_at = now
        await sale.save(update_fields=["ended_at", "updated_at"])
        await _settle_locked(sale, now)
    return sale


async def settle(sale_id: int, now: datetime) -> list[int]:
    """Once a sale has ended: give the units nobody holds or bought back to normal stock, once. Returns the SKUs
    whose stock changed (their counters need a resync)."""
    async with in_transaction():
        sale = await locked(FlashSale, sale_id, "flash sale")
        if sale.settled_at is not None or status(sale, now) is not FlashSaleStatus.ENDED:
            return []
        return await _settle_locked(sale, now)


async def _settle_locked(sale: FlashSale, now: datetime) -> list[int]:
    changed = []
    for item in await FlashSaleItem.filter(sale_id=sale.id).order_by("sku_id"):
        unsold = item.quantity - item.taken
        if unsold > 0:
            await _set_aside(item.sku_id, -unsold, ["items"])
            changed.append(item.sku_id)
    sale.settled_at = now
    await sale.save(update_fields=["settled_at", "updated_at"])
    return changed


async def unsettled_ended(now: datetime) -> list[int]:
    """Sales that ended and still hold their unsold units (the settle sweep's work list)."""
    return await column(FlashSale.filter(Q(ended_at__isnull=False) | Q(ends_at__lte=now), settled_at__isnull=True)
                        .order_by("id"), "id", int)


FLASH_SALE_SOURCE = "FLASH_SALE"
"""The price source kind of a flash sale's price (its id: the sale's)."""


def price_source(item: FlashSaleItem) -> PriceSource:
    """The sale price of one SKU as a candidate for the engine (`engine.PriceSource`)."""
    return PriceSource(FLASH_SALE_SOURCE, item.sale_id, item.price)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def pool_state(sale: FlashSale) -> PoolState:
    """What the sale's pool should hold, from the database: units left, each customer's units and each holder."""
    items = await FlashSaleItem.filter(sale_id=sale.id)
    held = await Reservation.filter(flash_item__sale_id=sale.id, state__in=OPEN_STATES).select_related("order")
    bought: dict[int, int] = {}
    holders: dict[str, Held] = {}
    for reservation in held:
        order = reservation.order
        bought[order.customer_id] = bought.get(order.customer_id, 0) + reservation.quantity
        holders[holder_of(order)] = Held(order.customer_id, reservation.sku_id, reservation.quantity)
    ends = sale.ended_at if sale.ended_at is not None and sale.ended_at < sale.ends_at else sale.ends_at
    return PoolState(sale_id=sale.id, starts_ms=epoch_ms(sale.starts_at), ends_ms=epoch_ms(ends),
                     limit=sale.per_customer_limit,
                     left={item.sku_id: item.quantity - item.taken for item in items},
                     bought=bought, holders=holders)


async def customer_units(sale_id: int, customer_id: int) -> int:
    """Units the customer holds or bought in the sale (inside the buy's transaction: the database's limit guard)."""
    units = await column(Reservation.filter(flash_item__sale_id=sale_id, order__customer_id=customer_id,
                                            state__in=OPEN_STATES), "quantity", int)
    return sum(units)


def units_by_customer_sql(params: raw_sql.Params, sale_ids: Sequence[int], customer_ids: Sequence[int]) -> str:
    """`customer_units` of many customers in many sales as one SELECT of (sale_id, customer_id, units), to be read
    inside another statement. Driven by the customers' orders (PostgreSQL: `= ANY(ARRAY(…))`, an index condition
    whatever the statistics say), never by the sale's reservations, which a sale in full swing adds by the thousand
    faster than statistics follow. On PostgreSQL each customer's orders are found through the index led by
    `customer_id` (one `LATERAL` look-up a customer: unanalysed, the planner would scan the table for them)."""
    table = Order._meta.db_table
    if raw_sql.postgres():
        theirs = (f'= ANY(ARRAY(SELECT t."id" FROM {raw_sql.ids_table(params, customer_ids, "c")} '
                  f'CROSS JOIN LATERAL (SELECT "id" FROM "{table}" WHERE "customer_id" = c."id" OFFSET 0) AS t))')
    else:
        theirs = f'IN (SELECT "id" FROM "{table}" WHERE "customer_id" {raw_sql.among(params, customer_ids)})'
    return (f'SELECT i."sale_id", o."customer_id", SUM(r."quantity") AS "units" FROM "{Reservation._meta.db_table}" r '
            f'JOIN "{FlashSaleItem._meta.db_table}" i ON i."id" = r."flash_item_id" '
            f'JOIN "{Order._meta.db_table}" o ON o."id" = r."order_id" '
            f'WHERE r."order_id" {theirs} AND i."sale_id" {raw_sql.among(params, sale_ids)} '
            f'AND r."state" {raw_sql.among(params, [state.value for state in OPEN_STATES])} '
            'GROUP BY i."sale_id", o."customer_id"')


def take_from_pools_sql(params: raw_sql.Params, more: Mapping[int, int]) -> str:
    """The database's oversell guard for the pools: one UPDATE raising each item's `taken` by `more[item id]` where
    that keeps it within the item's quantity, answering the ids of the items it raised (fewer ids than items: the
    guard refused)."""
    table = FlashSaleItem._meta.db_table
    if raw_sql.postgres():
        rows = f'unnest({params(list(more))}::INT[], {params(list(more.values()))}::INT[]) AS u("item", "more")'
    else:
        rows = "(" + " UNION ALL ".join(f'SELECT {params(item_id)} AS "item", {params(n)} AS "more"'
                                        for item_id, n in more.items()) + ") AS u"
    return (f'UPDATE "{table}" AS i SET "taken" = i."taken" + u."more" FROM {rows} '
            f'WHERE i."id" = u."item" AND i."taken" <= i."quantity" - u."more" RETURNING "id"')


async def sale_items(sale_id: int, sku_id: int) -> FlashSaleItem | None:
    return await FlashSaleItem.get_or_none(sale_id=sale_id, sku_id=sku_id).select_related("sale", "sku__product")


async def flash_sales(status_filter: FlashSaleStatus | None, now: datetime, first: int | None,
                      after: str | None) -> Page[FlashSale]:
    """Newest first, optionally only those SCHEDULED, ACTIVE or ENDED at `now`."""
    return await newest_first(FlashSale, status_filter, now, first, after)


async def items_by_sale(sale_ids: Sequence[int]) -> dict[int, list[FlashSaleItem]]:
    grouped: dict[int, list[FlashSaleItem]] = {}
    for item in await FlashSaleItem.filter(sale_id__in=list(sale_ids)).order_by("id"):
        grouped.setdefault(item.sale_id, []).append(item)
    return grouped


async def sales_by_id(ids: Sequence[int]) -> dict[int, FlashSale]:
    return {sale.id: sale for sale in await FlashSale.filter(id__in=list(ids))}


async def sale_by_product(product_ids: Sequence[int], now: datetime) -> dict[int, FlashSale]:
    """Each product's running flash sale, or else its next one (one query)."""
    items = await FlashSaleItem.filter(sku__product_id__in=list(product_ids), sale__ended_at__isnull=True,
                                       sale__ends_at__gt=now).select_related("sale", "sku")
    found: dict[int, FlashSale] = {}
    for item in sorted(items, key=lambda i: i.sale.starts_at):
        found.setdefault(item.sku.product_id, item.sale)
    return found


async def next_flash_change(after: datetime) -> datetime | None:
    """The earliest start or end of a flash sale that is not ended, strictly after `after`."""
    return await next_change(FlashSale, after)


async def settle_ended(deps: OrderDeps, now: datetime) -> int:
    """The sweep: settle every sale that ended, drop its pool, and set the normal counter of its SKUs."""
    settled = 0
    for sale_id in await unsettled_ended(now):
        changed = await settle(sale_id, now)
        await pool_of(deps).drop(sale_id)
        await deps.inventory.resync(changed)
        settled += 1
    return settled


STRAY_AFTER_SECONDS = 60
"""How long an admitted buy may go without its order before its units are taken for a crashed process's: a batch
is written in milliseconds, and a stopping writer gives up after seconds."""


async def heal_pools(deps: OrderDeps, now: datetime) -> int:
    """The sweep: units a running sale's pool holds for a buy that has no order and was admitted over
    `STRAY_AFTER_SECONDS` ago (its process died between the admit and the commit) go back to the pool. Returns how
    many holders were freed."""
    freed = 0
    pool = pool_of(deps)
    before = epoch_ms(now) - STRAY_AFTER_SECONDS * 1000
    running = FlashSale.filter(settled_at__isnull=True, ended_at__isnull=True, starts_at__lte=now, ends_at__gt=now)
    for sale in await running.order_by("id"):
        held = await pool.holders(sale.id)
        if not held:
            continue
        ordered = (await pool_state(sale)).holders
        for holder, one in held.items():
            if holder not in ordered and 0 < one.at_ms < before and await pool.give_back(sale.id, holder):
                freed += 1
    return freed


async def after_change(deps: OrderDeps, sale: FlashSale, sku_ids: Sequence[int]) -> None:
    """After staff created, changed or ended a sale: the pool reloads on the next attempt, and the normal counter
    of the SKUs follows the units set aside or given back."""
    await pool_of(deps).drop(sale.id)
    flash_policy(deps).items.forget(sale.id)
    await deps.inventory.resync(sorted(set(sku_ids)))

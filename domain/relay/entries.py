"""Joining a relay and its public list: an entry is a RELAY order placed through checkout, numbered when paid.

The numbers form a gapless public sequence: the relay's `RelaySequence.last_seq` is raised in the payment's own
transaction, under that row's lock, so a payment that rolls back takes no number and two payments never share one. An
entry keeps its number when its order is later cancelled or refunded (it shows as cancelled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F, Q

from domain import raw_sql
from domain.columns import cell
from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.identity.models import Customer
from domain.identity.queries import mask_nickname
from domain.orders.checkout import CheckoutRequest, checkout
from domain.orders.delivery import DeliveryChoice
from domain.orders.deps import OrderDeps
from domain.orders.kinds import CannotRevive
from domain.orders.models import Order, OrderKind, OrderLine, OrderStatus
from domain.orders.payment import Placed
from domain.pagination import Page, paginate
from domain.pricing.engine import PriceSource, Quote
from domain.relay.models import Relay, RelayEntry, RelayItem, RelaySequence
from domain.relay.relays import RelayStatus, get_relay, status

KEY_LENGTH: int = getattr(Order._meta.fields_map["idempotency_key"], "max_length")  # noqa: B009 - a CharField's
CANCELLED = (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
"""An entry whose order is in one of these shows as cancelled (it keeps its number)."""


@dataclass(frozen=True)
class JoinRequest:
    customer_id: int
    relay_id: int
    lines: list[tuple[int, int]]
    delivery: DeliveryChoice
    remark: str = ""
    idempotency_key: str | None = None
    use_wallet: bool = False


def ended() -> DomainError:
    return DomainError(ErrorCode.ENDED, "the relay has ended", ["relayId"])


class RelayPlacement:
    """How checkout places a relay order: relay prices, and the items' caps guarded in the order's transaction."""

    kind = OrderKind.RELAY

    def __init__(self, relay: Relay, items: Mapping[int, RelayItem], wanted: Mapping[int, int], at: datetime) -> None:
        self.relay = relay
        self.items = items
        self.wanted = wanted
        self.at = at

    def sources(self) -> Mapping[int, Sequence[PriceSource]]:
        return {sku_id: [PriceSource("RELAY", self.relay.id, self.items[sku_id].price)] for sku_id in self.wanted}

    async def admit(self, deps: OrderDeps, holder: str) -> None:
        """A relay has no fast gate: its caps are counted in the database."""

    async def give_back(self, deps: OrderDeps, holder: str) -> None:
        """Nothing was admitted."""

    async def write(self, order: Order, quote: Quote) -> None:
        # The relay row first (a close or the deadline racing this join wins), then the items in id order.
        counted = await Relay.filter(id=self.relay.id, closed_at__isnull=True, deadline__gt=self.at).update(
            joins=F("joins") + 1)
        if not counted:
            raise ended()
        for sku_id in sorted(self.wanted, key=lambda s: self.items[s].id):
            quantity = self.wanted[sku_id]
            taken = await RelayItem.filter(Q(cap__isnull=True) | Q(sold__lte=F("cap") - quantity),
                                           id=self.items[sku_id].id).update(sold=F("sold") + quantity)
            if not taken:
                raise DomainError(ErrorCode.SOLD_OUT, "the relay has no more of this item", ["lines"])
        await RelayEntry.create(relay_id=self.relay.id, order_id=order.id, customer_id=order.customer_id,
                                units=sum(self.wanted.values()))


def _check_delivery(relay: Relay, delivery: DeliveryChoice) -> None:
    if delivery.pickup_point_id is not None and delivery.pickup_point_id not in relay.pickup_point_ids:
        raise Invalid("the relay is not collected at this pickup point", ["delivery", "pickupPointId"])
    if delivery.address is not None and not relay.address_delivery:
        raise Invalid("the relay is collected at its pickup points only", ["delivery", "address"])


async def _check_join(relay: Relay, request: JoinRequest, at: datetime) -> tuple[dict[int, RelayItem], dict[int, int]]:
    relay_status = status(relay, at)
    if relay_status is RelayStatus.SCHEDULED:
        raise DomainError(ErrorCode.NOT_STARTED, "the relay has not started", ["relayId"])
    if relay_status is RelayStatus.ENDED:
        raise ended()
    items = {item.sku_id: item for item in await RelayItem.filter(relay_id=relay.id)}
    wanted: dict[int, int] = {}
    for index, (sku_id, quantity) in enumerate(request.lines):
        if sku_id not in items:
            raise NotFound("relay item", ["lines", str(index), "skuId"])
        if quantity < 1:
            raise Invalid("quantity must be at least 1", ["lines", str(index), "quantity"])
        wanted[sku_id] = wanted.get(sku_id, 0) + quantity
    if not wanted:
        raise Invalid("an entry needs at least one line", ["lines"])
    units = sum(wanted.values())
    if units < relay.min_units:
        raise Invalid(f"an entry takes at least {relay.min_units} units", ["lines"])
    if units > relay.max_units:
        raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"an entry takes at most {relay.max_units} units", ["lines"])
    _check_delivery(relay, request.delivery)
    return items, wanted


async def _replayed(request: JoinRequest) -> bool:
    """Whether the idempotency key names an order the customer placed already (a key too long to be stored names
    none: checkout refuses it)."""
    key = request.idempotency_key
    if key is None or len(key) > KEY_LENGTH:
        return False
    return await Order.exists(customer_id=request.customer_id, idempotency_key=key)


async def join(deps: OrderDeps, request: JoinRequest) -> Placed:
    """Place the customer's entry (a RELAY order) and start its payment; the same idempotency key replays it."""
    relay = await get_relay(request.relay_id)
    at = deps.clock()
    replayed = await _replayed(request)
    if replayed:  # checkout answers with the first order, whatever the relay's state is now
        items: dict[int, RelayItem] = {}
        wanted: dict[int, int] = {}
    else:
        items, wanted = await _check_join(relay, request, at)
    placement = RelayPlacement(relay, items, wanted, at)
    checkout_request = CheckoutRequest(
        customer_id=request.customer_id, delivery=request.delivery, lines=list(request.lines),
        remark=request.remark, idempotency_key=request.idempotency_key, use_wallet=request.use_wallet, mode=placement,
    )
    return await checkout(deps, checkout_request)


async def _order_lines(order_id: int) -> list[tuple[int, int]]:
    return [(line.sku_id, line.quantity) for line in await OrderLine.filter(order_id=order_id)]


async def give_back_units(order: Order) -> None:
    """Inside the cancelling (or refunding) transaction: the entry's units no longer count against the items' caps."""
    relay_id = await cell(RelayEntry.filter(order_id=order.id).first(), "relay_id", int)
    if relay_id is None:
        return
    for item_id, quantity in await _items_in_lock_order(relay_id, order.id):
        await RelayItem.filter(id=item_id).update(sold=F("sold") - quantity)


async def retake_units(order: Order) -> None:
    """A late payment for a cancelled entry (it joined in time): it counts against the caps again, if they allow."""
    entry = await RelayEntry.get_or_none(order_id=order.id)
    if entry is None:
        return
    # the relay's sequence row first, as a payment takes it before the SKUs: a late payment's number comes last
    await RelaySequence.filter(relay_id=entry.relay_id).select_for_update().first()
    for item_id, quantity in await _items_in_lock_order(entry.relay_id, order.id):
        taken = await RelayItem.filter(Q(cap__isnull=True) | Q(sold__lte=F("cap") - quantity),
                                       id=item_id).update(sold=F("sold") + quantity)
        if not taken:
            raise CannotRevive(f"relay {entry.relay_id} has no more of item {item_id}")


async def _items_in_lock_order(relay_id: int, order_id: int) -> list[tuple[int, int]]:
    """(relay item id, quantity) of the order's lines, in item id order: the order every transaction locks items in."""
    quantities = dict(await _order_lines(order_id))
    items = await RelayItem.filter(relay_id=relay_id, sku_id__in=list(quantities)).order_by("id") \
        .values_list("id", "sku_id")
    return [(item_id, quantities[sku_id]) for item_id, sku_id in items]


async def number(order: Order, at: datetime) -> None:
    """Inside the payment's transaction: the entry gets the relay's next number (once)."""
    # One statement takes the number: it locks the relay's sequence row until the payment commits, so the next
    # payment waits here, then takes the next one. An entry already numbered (or none) takes nothing.
    taken = await raw_sql.fetch(
        "INSERT INTO relay_sequence (relay_id, last_seq) SELECT relay_id, 1 FROM relay_entry"
        " WHERE order_id = $1 AND seq IS NULL"
        " ON CONFLICT (relay_id) DO UPDATE SET last_seq = relay_sequence.last_seq + 1 RETURNING last_seq", order.id)
    if taken:
        await RelayEntry.filter(order_id=order.id, seq__isnull=True).update(seq=taken[0]["last_seq"], paid_at=at)


async def public_entries(relay_id: int, first: int | None, after: str | None) -> Page[RelayEntry]:
    """The numbered list, by number: paid entries only (cancelled ones keep their place)."""
    return await paginate(RelayEntry.filter(relay_id=relay_id, seq__isnull=False), ("seq",), first, after)


async def entries_by_id(ids: Sequence[int]) -> dict[int, RelayEntry]:
    """Entries anyone may read: the numbered ones."""
    return {entry.id: entry for entry in await RelayEntry.filter(id__in=ids, seq__isnull=False)}


async def masked_nicknames(customer_ids: Sequence[int]) -> dict[int, str]:
    """How the customers appear on a public list (张**), never their whole names."""
    rows = await Customer.filter(id__in=customer_ids).values_list("id", "nickname")
    return {customer_id: mask_nickname(nickname) for customer_id, nickname in rows}


def is_cancelled(order_status: OrderStatus) -> bool:
    return order_status in CANCELLED

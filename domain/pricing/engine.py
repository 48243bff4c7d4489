"""The one place a price is computed: catalog, cart and checkout all ask this engine.

A unit costs its SKU's list price, or less while a limited-time discount covers the SKU (`discounted`, the one
rule). A line bought through a selling mode (a flash sale, a group-buy, a relay) has that mode's price as one more
candidate (`PriceSource`), and costs the lowest candidate (`line_price`): a line gets exactly one price source.
Order-level promotions (spend-and-save, one coupon) apply after the lines are priced, so the price a customer
sees is the same number everywhere.

The stacking order, per unit and then per order:

1. The candidates: the list price, a live limited-time discount's price, the selling mode's price (flash sale,
   group-buy, relay).
2. The member discount (`MemberDiscount`, the customer's level, `domain.members.standing`) takes its basis points
   off the list price and the limited-time discount price, floored to the fen per unit, never off a selling
   mode's price (that price is already the promotion). The list price with the member discount is a candidate of
   its own (`MEMBER`, the level's id), listed first, so a promotion becomes a line's source only when it is
   cheaper; a limited-time discount with the member discount stays a `DISCOUNT` line (its per-customer limit
   counts it).
3. The lowest candidate prices the unit (the earlier on a tie); the line is that unit price times the quantity.
4. Spend-and-save, on what the lines come to.
5. One coupon, on what its lines come to after spend-and-save.

The catalog (`salePrice`, `priceRange`, a flash sale's `buyPrice`), the cart and checkout all price through
`line_price` with the same member discount, so product, cart and order agree to the fen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from domain.catalog.models import Sku
from domain.errors import DomainError, ErrorCode
from domain.members.standing import MemberDiscount, discounts_by_customer
from domain.pricing.discounts import DISCOUNT_SOURCE, active_discounts
from domain.pricing.models import CouponKind, DiscountItem, DiscountKind


@dataclass(frozen=True)
class Discount:
    source: str
    """What gave it, e.g. "coupon:12" or "spend-and-save:3"."""
    amount: int


DISCOUNT = DISCOUNT_SOURCE
"""The price source kind of a limited-time discount (its id: the discount's)."""
MEMBER = "MEMBER"
"""The price source kind of the list price with the member discount (its id: the member level's)."""
MEMBER_STACKS_ON = frozenset({DISCOUNT})
"""The candidates the member discount also applies to, besides the list price."""


@dataclass(frozen=True)
class PriceSource:
    """One candidate for a unit's price: what offers it (`kind`, e.g. DISCOUNT, FLASH_SALE, GROUP_BUY, RELAY, and
    the id of that discount, sale, campaign or relay) and the price in fen. A line costs the lowest candidate, or its
    list price when none is lower; the order line records the source that won."""

    kind: str
    id: int
    price: int


@dataclass(frozen=True)
class PricedLine:
    sku: Sku
    quantity: int
    unit_price: int
    discount: int = 0
    source: PriceSource | None = None
    """What set `unit_price` below the list price (None: the list price)."""

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity

    @property
    def total(self) -> int:
        return self.subtotal - self.discount


@dataclass(frozen=True)
class Quote:
    lines: list[PricedLine]
    discounts: list[Discount] = field(default_factory=list)
    """The order-level promotions applied, in the order they were applied; their amounts are spread over the lines."""
    customer_coupon_id: int | None = None
    """The claimed coupon the quote applied: checkout marks it used in the order's transaction."""

    @property
    def subtotal(self) -> int:
        return sum(line.subtotal for line in self.lines)

    @property
    def discount_total(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount_total

    def units_by_source(self, kind: str) -> dict[int, int]:
        """Units priced by each source of one kind (e.g. each limited-time discount), by the source's id."""
        units: dict[int, int] = {}
        for line in self.lines:
            if line.source is not None and line.source.kind == kind:
                units[line.source.id] = units.get(line.source.id, 0) + line.quantity
        return units


def discounted(list_price: int, offer: DiscountItem | None) -> int:
    """The rule: the lower of the list price and the offer's price, floored to the fen, never below 0."""
    if offer is None:
        return max(list_price, 0)
    if offer.kind == DiscountKind.PERCENT:
        price = list_price * (100 - offer.value) // 100
    else:
        price = offer.value
    return max(min(price, list_price), 0)


def unit_price(sku: Sku, offers: Mapping[int, DiscountItem], member: MemberDiscount | None = None) -> int:
    """What one unit of the SKU costs, before order-level promotions, given the live offers (`active_discounts`)
    and the customer's member discount."""
    return line_price(sku, 1, discount_source(sku, offers.get(sku.id)), member).unit_price


def discount_source(sku: Sku, offer: DiscountItem | None) -> list[PriceSource]:
    """A live limited-time discount as a price candidate (none when there is no offer)."""
    if offer is None:
        return []
    return [PriceSource(DISCOUNT, offer.discount_id, discounted(sku.price, offer))]


def line_price(sku: Sku, quantity: int, candidates: Sequence[PriceSource] = (),
               member: MemberDiscount | None = None) -> PricedLine:
    """One line at the lowest of its list price and the candidates (never below 0), with the member discount on the
    list price and the candidates it stacks on (the module's stacking order). Only a candidate below the list price
    is kept as the line's source; on a tie the earlier candidate wins."""
    offered: list[PriceSource] = []
    if member is not None:
        offered.append(PriceSource(MEMBER, member.level_id, member.apply(sku.price)))
    for candidate in candidates:
        price = max(candidate.price, 0)
        if price >= sku.price:
            continue  # no cheaper than the list price: not a source (the member discount alone does better)
        if member is not None and candidate.kind in MEMBER_STACKS_ON:
            price = member.apply(price)
        offered.append(replace(candidate, price=price))
    best: PriceSource | None = None
    for option in offered:
        if option.price < sku.price and (best is None or option.price < best.price):
            best = option
    if best is None:
        return PricedLine(sku=sku, quantity=quantity, unit_price=max(sku.price, 0))
    return PricedLine(sku=sku, quantity=quantity, unit_price=best.price, source=best)


async def quote(
    lines: Sequence[tuple[Sku, int]],
    at: datetime,
    customer_id: int | None = None,
    sources: Mapping[int, Sequence[PriceSource]] | None = None,
) -> Quote:
    """Price the lines as of `at` for the customer (one query for the live discounts, however many lines, and their
    member discount: `members.standing.discount_for`). `sources` maps SKU ids to the price candidates of the selling
    mode the order is placed through (a flash sale, a group-buy, a relay)."""
    return (await quotes([(lines, sources or {}, customer_id)], at))[0]


async def quotes(orders: Sequence[tuple[Sequence[tuple[Sku, int]], Mapping[int, Sequence[PriceSource]], int | None]],
                 at: datetime) -> list[Quote]:
    """`quote` of several orders at once, each with its lines, its sources and its customer (one query for the live
    discounts of them all, and the customers' member discounts together)."""
    offers = await active_discounts(sorted({sku.id for lines, _, _ in orders for sku, _ in lines}), at)
    members = await discounts_by_customer(sorted({customer_id for lines, _, customer_id in orders
                                                  if lines and customer_id is not None}))
    return [
        Quote(lines=[
            line_price(sku, quantity, [*discount_source(sku, offers.get(sku.id)), *sources.get(sku.id, ())],
                       None if customer_id is None else members.get(customer_id))
            for sku, quantity in lines
        ])
        for lines, sources, customer_id in orders
    ]


# Order-level promotions. Spend-and-save first: its threshold is tested on what the lines come to at their line
# prices. Then one coupon: its minimum spend is tested on what its eligible lines come to after spend-and-save.
# Each amount is spread over the lines it covers, so the lines' discounts always add up to the order's.


@dataclass(frozen=True)
class Tier:
    """One tier of a running spend-and-save: spend `threshold` fen, save `amount` fen."""

    promotion_id: int
    threshold: int
    amount: int


@dataclass(frozen=True)
class CouponTerms:
    """What a claimed coupon takes off, as the engine needs it."""

    coupon_id: int
    customer_coupon_id: int
    kind: CouponKind
    value: int
    min_spend: int = 0
    max_discount: int | None = None
    sku_ids: frozenset[int] | None = None
    """The SKUs it covers; None: every line."""


def best_tier(tiers: Sequence[Tier], amount: int) -> Tier | None:
    """The reached tier that saves the most (the lower threshold, then the older promotion, on a tie)."""
    reached = [tier for tier in tiers if 0 < tier.threshold <= amount and tier.amount > 0]
    return min(reached, key=lambda t: (-t.amount, t.threshold, t.promotion_id), default=None)


def next_tier(tiers: Sequence[Tier], amount: int) -> Tier | None:
    """The cheapest tier not reached yet that would save more than the best one reached (for "spend X more")."""
    best = best_tier(tiers, amount)
    saving = best.amount if best else 0
    ahead = [tier for tier in tiers if tier.threshold > amount and tier.amount > saving]
    return min(ahead, key=lambda t: (t.threshold, -t.amount, t.promotion_id), default=None)


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` over `weights` in proportion: each share floored to the fen, then the fen left over go one each
    to the largest remainders (the earlier line on a tie). The shares add up to exactly `amount` (capped at the sum of
    the weights), and no share is above its weight."""
    total = sum(weights)
    amount = min(amount, total)
    if amount <= 0:
        return [0] * len(weights)
    shares = [amount * weight // total for weight in weights]
    remainders = [amount * weight % total for weight in weights]
    left = amount - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return shares


def _spread(lines: list[PricedLine], amount: int, covered: Sequence[int]) -> list[PricedLine]:
    shares = allocate(amount, [lines[i].total for i in covered])
    spread = list(lines)
    for index, share in zip(covered, shares, strict=True):
        spread[index] = replace(spread[index], discount=spread[index].discount + share)
    return spread


def coupon_saving(terms: CouponTerms, lines: Sequence[PricedLine]) -> tuple[int, list[int]]:
    """What the coupon takes off these lines and which lines (indexes) it covers, or raises COUPON_INVALID.

    A percentage is floored to the fen and capped by `max_discount`. It never takes off more than the covered lines
    come to, and a coupon that would save nothing is refused rather than spent."""
    covered = [i for i, line in enumerate(lines) if terms.sku_ids is None or line.sku.id in terms.sku_ids]
    if not covered:
        raise DomainError(ErrorCode.COUPON_INVALID, "the coupon covers none of these items", ["couponCode"])
    base = sum(lines[i].total for i in covered)
    if base < terms.min_spend:
        short = terms.min_spend - base
        message = f"the coupon needs {terms.min_spend} fen of eligible items, {short} fen more"
        raise DomainError(ErrorCode.COUPON_INVALID, message, ["couponCode"])
    if terms.kind == CouponKind.PERCENT:
        saving = base * terms.value // 100
        if terms.max_discount is not None:
            saving = min(saving, terms.max_discount)
    else:
        saving = terms.value
    saving = max(min(saving, base), 0)
    if saving == 0:
        raise DomainError(ErrorCode.COUPON_INVALID, "the coupon saves nothing on this order", ["couponCode"])
    return saving, covered


def apply_order_promotions(quote: Quote, tiers: Sequence[Tier] = (), coupon: CouponTerms | None = None) -> Quote:
    """The order-level promotions on priced lines: the best spend-and-save tier reached, then the coupon (if any).

    Takes its inputs explicitly so a caller can leave them out (a flash sale order gets none of them)."""
    lines = list(quote.lines)
    discounts = list(quote.discounts)
    tier = best_tier(tiers, sum(line.total for line in lines))
    if tier is not None:
        amount = min(tier.amount, sum(line.total for line in lines))
        lines = _spread(lines, amount, range(len(lines)))
        discounts.append(Discount(f"spend-and-save:{tier.promotion_id}", amount))
    if coupon is not None:
        saving, covered = coupon_saving(coupon, lines)
        lines = _spread(lines, saving, covered)
        discounts.append(Discount(f"coupon:{coupon.coupon_id}", saving))
    return Quote(lines=lines, discounts=discounts,
                 customer_coupon_id=coupon.customer_coupon_id if coupon else quote.customer_coupon_id)

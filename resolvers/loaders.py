"""Request-scoped DataLoaders: one batched query per kind of object, however many rows ask."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from domain.catalog import queries
from domain.catalog.models import Category, Product, Sku
from domain.flash_sale import sales as flash_sale
from domain.flash_sale.models import FlashSale, FlashSaleItem
from domain.group_buy import campaigns as group_buy_campaigns
from domain.group_buy import groups as group_buys
from domain.group_buy.models import GroupBuyCampaign, GroupBuyGroup, GroupBuyItem, GroupBuySeat
from domain.identity.queries import mask_nickname
from domain.ledger import service as ledger
from domain.members.levels import levels_by_id
from domain.members.models import MemberLevel
from domain.members.standing import MemberDiscount, discounts_by_customer
from domain.orders import pickup, pickup_codes
from domain.orders import queries as order_queries
from domain.orders.models import Order, OrderLine, PickupPoint, Refund
from domain.pricing.coupons import copies_by_id, coupons_by_id
from domain.pricing.discounts import active_discounts, items_by_discount
from domain.pricing.models import (
    Coupon,
    CustomerCoupon,
    DiscountItem,
    OrderPromotion,
    SpendAndSave,
)
from domain.pricing.promotions import promotions_by_order
from domain.pricing.spend_and_save import spend_and_saves_by_id
from domain.relay import entries as relay_entries
from domain.relay import relays
from domain.relay.models import Relay, RelayEntry, RelayItem

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _keyed(fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]], default: Any = None) -> DataLoader[K, V]:
    async def load(keys: Sequence[K]) -> list[V]:
        found = await fetch(list(keys))
        return [found.get(key, default() if callable(default) else default) for key in keys]

    return DataLoader(load_fn=load)


async def _visible_copies(ids: list[int], customer_id: int | None, *, staff: bool) -> dict[int, CustomerCoupon]:
    if customer_id is None and not staff:
        return {}
    return await copies_by_id(ids, customer_id)


class Loaders:
    """One per request in the GraphQL context; `shop_only` hides what customers may not see. Each loader is built
    the first time a resolver asks for it, so a request pays only for the loaders it uses."""

    def __init__(self, *, shop_only: bool, customer_id: int | None = None) -> None:
        self.shop_only = shop_only
        self.customer_id = customer_id
        self._priced_for: tuple[MemberDiscount | None] | None = None

    @cached_property
    def product(self) -> DataLoader[int, Product | None]:
        return _keyed(lambda ids: queries.products_by_id(ids, shop_only=self.shop_only))

    @cached_property
    def sku(self) -> DataLoader[int, Sku | None]:
        return _keyed(lambda ids: queries.skus_by_id(ids, shop_only=self.shop_only))

    @cached_property
    def skus_by_product(self) -> DataLoader[int, list[Sku]]:
        return _keyed(queries.live_skus_by_product, default=list)

    @cached_property
    def category(self) -> DataLoader[int, Category | None]:
        return _keyed(queries.categories_by_id)

    @cached_property
    def children(self) -> DataLoader[int, list[Category]]:
        return _keyed(queries.children_by_parent, default=list)

    @cached_property
    def order_lines(self) -> DataLoader[int, list[OrderLine]]:
        return _keyed(order_queries.lines_by_order, default=list)

    @cached_property
    def offer(self) -> DataLoader[int, DiscountItem | None]:
        """The live limited-time discount item of each SKU id, with its discount."""
        return _keyed(lambda ids: active_discounts(ids, datetime.now(UTC)))

    @cached_property
    def member_discount(self) -> DataLoader[int, MemberDiscount | None]:
        """The member discount of a customer (the request's own), as the pricing engine applies it."""
        return _keyed(discounts_by_customer)

    @cached_property
    def member_level(self) -> DataLoader[int, MemberLevel | None]:
        return _keyed(levels_by_id)

    def price_for(self, member: MemberDiscount | None) -> None:
        """Price this request for that member discount, whoever calls (the catalog cache decided its audience)."""
        self._priced_for = (member,)

    async def member_discount_of_caller(self) -> MemberDiscount | None:
        """The member discount the request's prices get: none for anonymous callers and staff."""
        if self._priced_for is not None:
            return self._priced_for[0]
        if self.customer_id is None or not self.shop_only:
            return None
        return await self.member_discount.load(self.customer_id)

    @cached_property
    def discount_items(self) -> DataLoader[int, list[DiscountItem]]:
        return _keyed(items_by_discount, default=list)

    @cached_property
    def order(self) -> DataLoader[int, Order | None]:
        return _keyed(order_queries.orders_by_id)

    @cached_property
    def order_parts(self) -> DataLoader[int, list[ledger.Part]]:
        return _keyed(ledger.parts_by_order, default=list)

    @cached_property
    def order_refunds(self) -> DataLoader[int, list[Refund]]:
        return _keyed(order_queries.refunds_by_order, default=list)

    @cached_property
    def coupon(self) -> DataLoader[int, Coupon | None]:
        return _keyed(coupons_by_id)

    @cached_property
    def customer_coupon(self) -> DataLoader[int, CustomerCoupon | None]:
        """Claimed coupons: a customer's own, or any for staff."""
        return _keyed(lambda ids: _visible_copies(ids, self.customer_id, staff=not self.shop_only))

    @cached_property
    def spend_and_save(self) -> DataLoader[int, SpendAndSave | None]:
        return _keyed(spend_and_saves_by_id)

    @cached_property
    def order_promotions(self) -> DataLoader[int, list[OrderPromotion]]:
        return _keyed(promotions_by_order, default=list)

    @cached_property
    def flash_sale_by_product(self) -> DataLoader[int, FlashSale | None]:
        """Each product's running flash sale, or else its next one."""
        return _keyed(lambda ids: flash_sale.sale_by_product(ids, datetime.now(UTC)))

    @cached_property
    def flash_sale(self) -> DataLoader[int, FlashSale | None]:
        return _keyed(flash_sale.sales_by_id)

    @cached_property
    def flash_items(self) -> DataLoader[int, list[FlashSaleItem]]:
        return _keyed(flash_sale.items_by_sale, default=list)

    @cached_property
    def group_buy_campaign(self) -> DataLoader[int, GroupBuyCampaign | None]:
        return _keyed(group_buy_campaigns.campaigns_by_id)

    @cached_property
    def group_buy_items(self) -> DataLoader[int, list[GroupBuyItem]]:
        return _keyed(group_buy_campaigns.items_by_campaign, default=list)

    @cached_property
    def group_buy_by_product(self) -> DataLoader[int, GroupBuyCampaign | None]:
        """Each product's running group-buy campaign."""
        return _keyed(lambda ids: group_buy_campaigns.running_by_product(ids, datetime.now(UTC)))

    @cached_property
    def group_buy(self) -> DataLoader[int, GroupBuyGroup | None]:
        """Groups anyone may see (a group whose leader never paid is none)."""
        return _keyed(group_buys.groups_by_id)

    @cached_property
    def group_buy_seats(self) -> DataLoader[int, list[GroupBuySeat]]:
        return _keyed(group_buys.seats_by_group, default=list)

    @cached_property
    def open_group_buys(self) -> DataLoader[int, list[GroupBuyGroup]]:
        """Each campaign's forming groups, closest to full first (the longest list a query may ask for)."""
        return _keyed(lambda ids: group_buys.open_groups(ids, 100), default=list)

    @cached_property
    def group_buy_by_order(self) -> DataLoader[int, GroupBuyGroup | None]:
        """The group each group-buy order holds its seat in (once the group has opened)."""
        return _keyed(group_buys.group_by_order)

    @cached_property
    def relay(self) -> DataLoader[int, Relay | None]:
        return _keyed(relays.relays_by_id)

    @cached_property
    def relay_entry_count(self) -> DataLoader[int, int]:
        return _keyed(relays.entry_counts, default=int)

    @cached_property
    def relay_items(self) -> DataLoader[int, list[RelayItem]]:
        return _keyed(relays.items_by_relay, default=list)

    @cached_property
    def relay_entry(self) -> DataLoader[int, RelayEntry | None]:
        """Entries on a relay's public list."""
        return _keyed(relay_entries.entries_by_id)

    @cached_property
    def masked_nickname(self) -> DataLoader[int, str]:
        """Customers as a public list shows them (张**)."""
        return _keyed(relay_entries.masked_nicknames, default=lambda: mask_nickname(""))

    @cached_property
    def pickup_point(self) -> DataLoader[int, PickupPoint | None]:
        return _keyed(pickup.points_by_id)

    @cached_property
    def pickup_code(self) -> DataLoader[int, str | None]:
        """Each order's pickup code, if it has one (the resolver decides who may see it)."""
        return _keyed(pickup_codes.codes_by_order)

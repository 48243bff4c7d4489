"""Flash sales (秒杀): what shoppers see and buy, and the staff set-up."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission

from domain.flash_sale import models
from domain.flash_sale import sales as domain_flash_sale
from resolvers import flash_sale
from resolvers.permissions import CanManageGoods, IsCustomer
from schema.catalog import Sku
from schema.core import Connection, Money, UserError, connection, model_node, money_field, payload
from schema.orders import DeliveryInput, Order, PaymentRequest, placed_payload

# Domain enums under their GraphQL names: strawberry.enum marks the class itself, so each name stays a type.
FlashSaleStatus = domain_flash_sale.FlashSaleStatus
strawberry.enum(FlashSaleStatus, name="FlashSaleStatus")


@strawberry.type(description="One SKU of a flash sale: its sale price and its own pool of units")
class FlashSaleItem:
    price: Money = money_field("price", "The flash sale price of one unit")
    quantity: int = strawberry.field(description="Units in the sale's pool")

    @strawberry.field(description="Units of the pool not yet held or sold (may lag a moment behind the buying)")
    def remaining(self, root: strawberry.Parent[models.FlashSaleItem]) -> int:
        return max(root.quantity - root.taken, 0)

    @strawberry.field(description="What one unit costs the caller when bought through the sale now: the lowest of "
                      "the sale price and the SKU's list or limited-time discount price with the caller's member "
                      "discount (none off the sale price)")
    async def buy_price(self, root: strawberry.Parent[models.FlashSaleItem], info: Info) -> Money:
        return Money(amount=await flash_sale.item_buy_price(info.context, root))

    @strawberry.field
    async def sku(self, root: strawberry.Parent[models.FlashSaleItem], info: Info) -> Sku | None:
        return await flash_sale.item_sku(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type(description="A flash sale (秒杀): a window, a pool per SKU and a per-customer limit")
class FlashSale(relay.Node):
    id: relay.NodeID[int]
    name: str
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None = strawberry.field(description="Set when staff ended it early (flashSaleEnd)")
    per_customer_limit: int = strawberry.field(description="Units one customer may buy in this sale, all SKUs")
    is_type_of = model_node(models.FlashSale)

    @strawberry.field
    def status(self, root: strawberry.Parent[models.FlashSale]) -> FlashSaleStatus:
        return flash_sale.sale_status(root)

    @strawberry.field
    async def items(self, root: strawberry.Parent[models.FlashSale], info: Info) -> list[FlashSaleItem]:
        return await flash_sale.sale_items(info.context, root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str], required: bool = False) -> list[Any]:
        return await flash_sale.flash_sale_nodes(info.context, [int(i) for i in node_ids])


@strawberry.type
class FlashSaleConnection(Connection[FlashSale]):
    pass


@strawberry.input(description="price: fen, below the SKU's list price. quantity: units set aside from its stock")
class FlashSaleItemInput:
    sku_id: strawberry.ID
    price: int
    quantity: int


@strawberry.input(description="Times are stored in UTC. An SKU may be in only one live flash sale at a time")
class FlashSaleCreateInput:
    name: str
    starts_at: datetime
    ends_at: datetime
    per_customer_limit: int
    items: list[FlashSaleItemInput]


@strawberry.input(description="Only the given fields change. items (replacing them all) and startsAt only before "
                  "the sale starts")
class FlashSaleUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    per_customer_limit: int | None = strawberry.UNSET
    items: list[FlashSaleItemInput] | None = strawberry.UNSET


@strawberry.input
class FlashSaleEndInput:
    id: strawberry.ID


@strawberry.input(description="delivery: omitted, the delivery of the customer's latest order is used. "
                  "The same idempotencyKey returns the first order")
class FlashSaleBuyInput:
    flash_sale_id: strawberry.ID
    sku_id: strawberry.ID
    quantity: int = 1
    idempotency_key: str | None = None
    delivery: DeliveryInput | None = None
    remark: str = ""


@strawberry.type
class FlashSalePayload:
    flash_sale: FlashSale | None
    errors: list[UserError]


@strawberry.type
class FlashSaleBuyPayload:
    order: Order | None = strawberry.field(description="The created order, PENDING_PAYMENT, written in a group "
                                           "commit with other buyers' orders")
    payment: PaymentRequest | None = strawberry.field(description="Always null: the race calls no WeChat Pay; pay "
                                                      "the order with orderPay")
    errors: list[UserError]


goods: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class FlashSaleQuery:
    @strawberry.field(description="Newest first, optionally only SCHEDULED, ACTIVE or ENDED ones")
    async def flash_sales(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: FlashSaleStatus | None = None,
    ) -> FlashSaleConnection:
        page = await flash_sale.flash_sales(info.context, first, after, status)
        return connection(page, FlashSaleConnection)


async def buy_payload(ctx: Any, input: FlashSaleBuyInput) -> FlashSaleBuyPayload:
    """`flashSaleBuy`'s answer to a converted input: what the mutation returns, and what `server.flash_buy_lane`
    returns for it when it runs a buy without strawberry's field machinery (it has checked `IsCustomer` itself)."""
    return placed_payload(FlashSaleBuyPayload, await flash_sale.flash_sale_buy(ctx, input))


@strawberry.type
class FlashSaleMutation:
    @strawberry.mutation(permission_classes=[IsCustomer], description="Buys from the sale's own pool: NOT_STARTED, "
                         "ENDED, SOLD_OUT or LIMIT_EXCEEDED when it cannot, and then nothing is created")
    async def flash_sale_buy(self, info: Info, input: FlashSaleBuyInput) -> FlashSaleBuyPayload:
        return await buy_payload(info.context, input)

    @strawberry.mutation(permission_classes=goods, description="Sets the pools' units aside from stock. An SKU in "
                         "an overlapping sale: DUPLICATE. Not enough free units: SOLD_OUT")
    async def flash_sale_create(self, info: Info, input: FlashSaleCreateInput) -> FlashSalePayload:
        return payload(FlashSalePayload, "flash_sale", await flash_sale.flash_sale_create(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Refused (INVALID_STATE) once the sale has ended")
    async def flash_sale_update(self, info: Info, input: FlashSaleUpdateInput) -> FlashSalePayload:
        return payload(FlashSalePayload, "flash_sale", await flash_sale.flash_sale_update(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Ends it now: unsold units go back to normal stock")
    async def flash_sale_end(self, info: Info, input: FlashSaleEndInput) -> FlashSalePayload:
        return payload(FlashSalePayload, "flash_sale", await flash_sale.flash_sale_end(info.context, input))

"""The customer's cart: one per customer, priced live on every read."""

from __future__ import annotations

import strawberry
from strawberry import Info

from domain.pricing.engine import PricedLine
from domain.pricing.promotions import CouponOption
from resolvers import cart
from resolvers.cart import CartView
from resolvers.permissions import IsCustomer
from schema.catalog import Sku
from schema.core import Money, UserError, money_field, payload
from schema.coupons import CustomerCoupon
from schema.spend_and_save import SpendAndSaveHint


@strawberry.type(description="One SKU in the cart, at today's price")
class CartLine:
    quantity: int

    @strawberry.field
    def sku(self, line: strawberry.Parent[PricedLine]) -> Sku:
        return line.sku  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    unit_price: Money = money_field("unit_price", "What one unit costs now")

    discount: Money = money_field("discount", "The order-level promotions (spend-and-save) spread onto this line")

    line_total: Money = money_field("total", "unitPrice × quantity − discount")


@strawberry.type(description="A promotion that lowers the cart's total")
class CartDiscount:
    source: str = strawberry.field(description='What gave it, e.g. "coupon:12"')

    amount: Money = money_field("amount")


@strawberry.type(description="One of the customer's coupons that checkout would accept for the cart as it is")
class CartCoupon:
    @strawberry.field
    def customer_coupon(self, option: strawberry.Parent[CouponOption]) -> CustomerCoupon:
        return option.copy  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    saving: Money = money_field("saving", "What it would take off, on top of spend-and-save")


@strawberry.type(description="The customer's cart, kept across logins and priced live")
class Cart:
    lines: list[CartLine] = strawberry.field(description="Lines that can be bought, in the order they were added")
    unavailable_lines: list[CartLine] = strawberry.field(
        description="Lines whose SKU was deleted or whose product is off sale (已失效); not in the totals"
    )

    subtotal: Money = money_field("subtotal")

    @strawberry.field
    def discounts(self, view: strawberry.Parent[CartView]) -> list[CartDiscount]:
        return view.discounts  # type: ignore[return-value]  # an engine Discount, resolved to its GraphQL type by strawberry

    total: Money = money_field("total")

    @strawberry.field(description="The next spend-and-save tier within reach (凑单), null if none is running or the "
                      "best tier is reached")
    def next_spend_and_save_tier(self, view: strawberry.Parent[CartView]) -> SpendAndSaveHint | None:
        return cart.spend_more(view)  # type: ignore[return-value]  # a SpendMore, resolved to its GraphQL type by strawberry

    @strawberry.field(description="The customer's coupons checkout would accept for this cart (pass one's code as "
                      "checkout's couponCode), biggest saving first. Not applied to the totals")
    async def coupons(self, view: strawberry.Parent[CartView]) -> list[CartCoupon]:
        return await cart.cart_coupons(view)  # type: ignore[return-value]  # a CouponOption, resolved to its GraphQL type by strawberry

    @strawberry.field(description="Units in `lines`")
    def quantity(self, view: strawberry.Parent[CartView]) -> int:
        return view.quantity


@strawberry.input
class CartAddItemInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input(description="Set the quantity of a line already in the cart")
class CartUpdateItemInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input(description="SKUs not in the cart are ignored")
class CartRemoveItemsInput:
    sku_ids: list[strawberry.ID]


@strawberry.type
class CartPayload:
    cart: Cart | None
    errors: list[UserError]


@strawberry.type
class CartQuery:
    @strawberry.field(permission_classes=[IsCustomer], description="The logged-in customer's cart")
    async def cart(self, info: Info) -> Cart:
        return await cart.cart(info.context)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type
class CartMutation:
    @strawberry.mutation(permission_classes=[IsCustomer], description="Adds onto the SKU's line if it has one")
    async def cart_add_item(self, info: Info, input: CartAddItemInput) -> CartPayload:
        return payload(CartPayload, "cart", await cart.cart_add_item(info.context, input))

    @strawberry.mutation(permission_classes=[IsCustomer])
    async def cart_update_item(self, info: Info, input: CartUpdateItemInput) -> CartPayload:
        return payload(CartPayload, "cart", await cart.cart_update_item(info.context, input))

    @strawberry.mutation(permission_classes=[IsCustomer])
    async def cart_remove_items(self, info: Info, input: CartRemoveItemsInput) -> CartPayload:
        return payload(CartPayload, "cart", await cart.cart_remove_items(info.context, input))

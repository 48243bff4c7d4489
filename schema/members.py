"""Member levels (会员等级): `memberLevels`, `me.memberLevel`, and staff's `staffMemberLevels` and
`memberLevelCreate/Update/Delete`."""

from __future__ import annotations

import strawberry
from strawberry import relay
from strawberry.permission import BasePermission
from strawberry.types import Info

from domain.members import models
from domain.members.standing import Standing
from resolvers import members as resolve
from resolvers.permissions import CanManageGoods, IsStaff
from schema.core import Money, UserError, deleted_payload, model_node, money_field, payload


@strawberry.type(description="A member level: reached at `threshold` paid in all (WeChat Pay and wallet principal "
                 "on orders, net of refunds, recharges not counted), it takes `discountBasisPoints` off list and "
                 "limited-time discount prices (never off flash sale, group-buy or relay prices)")
class MemberLevel(relay.Node):
    id: relay.NodeID[int]
    name: str
    threshold: Money = money_field("threshold", "Paid in all that reaches the level")
    is_type_of = model_node(models.MemberLevel)

    @strawberry.field(description="Basis points off, e.g. 500 = 5% off (95折); 0: none")
    def discount_basis_points(self, root: strawberry.Parent[models.MemberLevel]) -> int:
        return root.discount_bp


@strawberry.type(description="My member level and how far the next one is")
class MemberStanding:
    _standing: strawberry.Private[Standing]

    @strawberry.field(description="The level I hold (null below the lowest threshold)")
    def level(self) -> MemberLevel | None:
        return self._standing.level  # type: ignore[return-value]  # a model, resolved by strawberry

    @strawberry.field(description="What I have paid that counts toward levels")
    def paid(self) -> Money:
        return Money(amount=self._standing.paid)

    @strawberry.field(description="The next level up (null at the top)")
    def next_level(self) -> MemberLevel | None:
        return self._standing.next_level  # type: ignore[return-value]  # a model, resolved by strawberry

    @strawberry.field(description="What I still have to pay to reach the next level (null at the top)")
    def amount_to_next_level(self) -> Money | None:
        missing = self._standing.to_next
        return None if missing is None else Money(amount=missing)


async def standing_view(info: Info, customer_id: int) -> MemberStanding | None:
    found = await resolve.standing_of(info.context, customer_id)
    return None if found is None else MemberStanding(_standing=found)


@strawberry.input(description="name 1 to 20 characters (trimmed), threshold 0 to 1000000000 fen and unique, "
                  "discountBasisPoints 0 to 9999")
class MemberLevelCreateInput:
    name: str
    threshold: int
    discount_basis_points: int


@strawberry.input(description="Only the given fields change")
class MemberLevelUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    threshold: int | None = strawberry.UNSET
    discount_basis_points: int | None = strawberry.UNSET


@strawberry.input
class MemberLevelDeleteInput:
    id: strawberry.ID


@strawberry.type
class MemberLevelPayload:
    member_level: MemberLevel | None
    errors: list[UserError]


@strawberry.type
class MemberLevelDeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class MembersQuery:
    @strawberry.field(description="Every member level, lowest threshold first (at most 20)")
    async def member_levels(self) -> list[MemberLevel]:
        return await resolve.all_levels()  # type: ignore[return-value]  # models, resolved by strawberry

    @strawberry.field(permission_classes=[IsStaff], description="Every member level, lowest threshold first "
                      "(at most 20)")
    async def staff_member_levels(self) -> list[MemberLevel]:
        return await resolve.all_levels()  # type: ignore[return-value]  # models, resolved by strawberry


goods: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class MembersMutation:
    @strawberry.mutation(permission_classes=goods, description="Every bad field is INVALID with its path; a "
                         "threshold another level has is DUPLICATE; more than 20 levels LIMIT_EXCEEDED")
    async def member_level_create(self, info: Info, input: MemberLevelCreateInput) -> MemberLevelPayload:
        return payload(MemberLevelPayload, "member_level", await resolve.level_create(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Prices from now on use the new terms; placed "
                         "orders keep theirs")
    async def member_level_update(self, info: Info, input: MemberLevelUpdateInput) -> MemberLevelPayload:
        return payload(MemberLevelPayload, "member_level", await resolve.level_update(info.context, input))

    @strawberry.mutation(permission_classes=goods, description="Its holders fall to the level below (if any)")
    async def member_level_delete(self, info: Info, input: MemberLevelDeleteInput) -> MemberLevelDeletePayload:
        return deleted_payload(MemberLevelDeletePayload, "MemberLevel",
                               await resolve.level_delete(info.context, input))

"""Customers and staff: logging in and reading who you are."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Info, relay

from domain.identity import models
from domain.identity.queries import mask_phone
from resolvers import addresses as resolve_addresses
from resolvers import distribution, group_buy, identity
from resolvers import points as resolve_points
from resolvers.outcome import Outcome
from resolvers.permissions import IsCustomer, IsSignedIn, IsStaff
from schema.core import UserError, connection, model_node, user_errors
from schema.group_buy import GroupBuyConnection, GroupBuyStatus

if TYPE_CHECKING:
    from schema.addresses import SavedAddress
    from schema.distribution import MyDistributor, ShareLinkConnection
    from schema.members import MemberStanding
    from schema.points import PointsEntryConnection, SignIn
    from schema.wallet import Wallet

# Domain enums under their GraphQL names: strawberry.enum marks the class itself, so each name stays a type.
StaffRole = models.StaffRole
strawberry.enum(StaffRole, name="StaffRole")


@strawberry.type(description="A shopper, known by their WeChat openid")
class Customer(relay.Node):
    id: relay.NodeID[int]
    nickname: str
    avatar_url: str
    created_at: datetime
    blocked: bool = strawberry.field(description="Blocked by the store: tokens refused, logins refused")
    is_type_of = model_node(models.Customer)

    @strawberry.field(description="Masked, e.g. 138****8000")
    def phone(self, root: strawberry.Parent[models.Customer]) -> str | None:
        return mask_phone(root.phone) or None

    @strawberry.field(description="The groups the customer holds a seat in, newest first (only on `me`)")
    async def group_buys(
        self,
        root: strawberry.Parent[models.Customer],
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: GroupBuyStatus | None = None,
    ) -> GroupBuyConnection | None:
        page = await group_buy.my_groups(info.context, root.id, first, after, status)
        return None if page is None else connection(page, GroupBuyConnection)

    @strawberry.field(description="My distributor side: null unless I am an approved distributor (and for anyone "
                      "but myself)")
    async def distributor(
        self, root: strawberry.Parent[models.Customer], info: Info
    ) -> Annotated[MyDistributor, strawberry.lazy("schema.distribution")] | None:
        if info.context.customer_id != root.id:
            return None
        return await distribution.my_distributor(info.context, approved_only=True)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="My distributor application in any state (PENDING, REJECTED with its reason, "
                      "APPROVED); null before I apply and for anyone but myself")
    async def distributor_application(
        self, root: strawberry.Parent[models.Customer], info: Info
    ) -> Annotated[MyDistributor, strawberry.lazy("schema.distribution")] | None:
        if info.context.customer_id != root.id:
            return None
        return await distribution.my_distributor(info.context, approved_only=False)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="My share links, newest first (empty for anyone but myself)")
    async def share_links(
        self, root: strawberry.Parent[models.Customer], info: Info, first: int | None = 20, after: str | None = None
    ) -> Annotated[ShareLinkConnection, strawberry.lazy("schema.distribution")] | None:
        if info.context.customer_id != root.id:
            return None
        from schema.distribution import ShareLinkConnection

        return connection(await distribution.my_share_links(info.context, first, after), ShareLinkConnection)

    @strawberry.field(description="My points (积分); null for anyone but myself")
    async def points(self, root: strawberry.Parent[models.Customer], info: Info) -> int | None:
        return await resolve_points.points(info.context, root.id)

    @strawberry.field(description="My points movements, newest first; null for anyone but myself")
    async def points_ledger(
        self, root: strawberry.Parent[models.Customer], info: Info, first: int | None = 20, after: str | None = None
    ) -> Annotated[PointsEntryConnection, strawberry.lazy("schema.points")] | None:
        from schema.points import PointsEntryConnection, points_entry

        page = await resolve_points.points_ledger(info.context, root.id, first, after)
        if page is None:
            return None
        return connection(page.map(points_entry), PointsEntryConnection)

    @strawberry.field(description="My address book, the default first; null for anyone but myself")
    async def addresses(
        self, root: strawberry.Parent[models.Customer], info: Info
    ) -> list[Annotated[SavedAddress, strawberry.lazy("schema.addresses")]] | None:
        return await resolve_addresses.addresses_of(info.context, root.id)  # type: ignore[return-value]  # models, resolved by strawberry

    @strawberry.field(description="My member level and the progress to the next; null for anyone but myself")
    async def member_level(
        self, root: strawberry.Parent[models.Customer], info: Info
    ) -> Annotated[MemberStanding, strawberry.lazy("schema.members")] | None:
        from schema.members import standing_view

        return await standing_view(info, root.id)

    @strawberry.field(description="My stored value; null for anyone but myself")
    async def wallet(
        self, root: strawberry.Parent[models.Customer], info: Info
    ) -> Annotated[Wallet, strawberry.lazy("schema.wallet")] | None:
        from schema.wallet import wallet_view

        return await wallet_view(info, root.id)

    @strawberry.field(description="My sign-in today (the store's calendar), or null")
    async def signed_in_today(
        self, root: strawberry.Parent[models.Customer], info: Info
    ) -> Annotated[SignIn, strawberry.lazy("schema.points")] | None:
        from schema.points import sign_in_view

        return sign_in_view(await resolve_points.signed_in_today(info.context, root.id))


@strawberry.type(description="A member of the merchant's staff")
class Staff(relay.Node):
    id: relay.NodeID[int]
    username: str
    role: StaffRole
    active: bool = strawberry.field(description="A deactivated member cannot log in and their tokens are refused")
    is_type_of = model_node(models.Staff)


@strawberry.input
class LoginInput:
    code: str = strawberry.field(description="The code from wx.login()")
    share_code: str | None = strawberry.field(default=None, description="The share a first login came through")


@strawberry.input
class StaffLoginInput:
    username: str
    password: str


@strawberry.type
class LoginPayload:
    token: str | None
    customer: Customer | None
    errors: list[UserError]


@strawberry.type
class StaffLoginPayload:
    token: str | None
    staff: Staff | None
    errors: list[UserError]


def _session(outcome: Outcome[identity.Session]) -> tuple[str | None, object | None]:
    if outcome.errors or outcome.value is None:
        return None, None
    return outcome.value.token, outcome.value.account


@strawberry.type
class TokenRefreshPayload:
    token: str | None = strawberry.field(description="A new token for the same account, with a fresh expiry")
    errors: list[UserError]


@strawberry.type
class IdentityQuery:
    @strawberry.field(permission_classes=[IsCustomer], description="The logged-in customer")
    async def me(self, info: Info) -> Customer | None:
        return await identity.me(info.context)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(permission_classes=[IsStaff], description="The logged-in staff member")
    async def staff_me(self, info: Info) -> Staff | None:
        return await identity.staff_me(info.context)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(description="Exchange a wx.login code for a customer token")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        outcome = await identity.login(info.context, input)
        token, customer = _session(outcome)
        return LoginPayload(token=token, customer=customer, errors=user_errors(outcome.errors))  # type: ignore[arg-type]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.mutation(permission_classes=[IsSignedIn], description="Trade a valid customer or staff token "
                         "for a new one before it expires (the mini-program keeps its session without wx.login)")
    def token_refresh(self, info: Info) -> TokenRefreshPayload:
        return TokenRefreshPayload(token=identity.token_refresh(info.context), errors=[])

    @strawberry.mutation(description="Staff token for the merchant console")
    async def staff_login(self, info: Info, input: StaffLoginInput) -> StaffLoginPayload:
        outcome = await identity.staff_login(info.context, input)
        token, staff = _session(outcome)
        return StaffLoginPayload(token=token, staff=staff, errors=user_errors(outcome.errors))  # type: ignore[arg-type]  # a model, resolved to its GraphQL type by strawberry

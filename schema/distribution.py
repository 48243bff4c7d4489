"""Distribution (分销): applying and the distributor's own view, staff decisions and settings, share links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission

from domain.distribution import models
from domain.distribution.settings import SettingsInForce
from domain.identity.queries import mask_nickname, mask_phone
from resolvers import distribution
from resolvers.permissions import CanManageGoods, IsCustomer, IsOwner
from schema.commissions import (
    CommissionConnection,
    CommissionStatus,
    DistributorFigures,
    DistributorSummary,
    WithdrawalConnection,
    commission_view,
    figures_view,
)
from schema.core import Connection, Money, UserError, connection, model_node, payload, user_errors
from schema.identity import Customer
from schema.orders import OrderKind

# Domain enums under their GraphQL names: strawberry.enum marks the class itself, so each name stays a type.
DistributorStatus = models.DistributorStatus
strawberry.enum(DistributorStatus, name="DistributorStatus")
BindingMode = models.BindingMode
strawberry.enum(BindingMode, name="BindingMode", description="FIRST_TOUCH: the first distributor keeps the "
                "customer. WINDOW: for windowDays, then a new share may rebind. LAST_TOUCH: the latest share binds")


@strawberry.type(description="What a share points at, for routing: kind is Product, GroupBuy, Relay or Shop")
class ShareTarget:
    kind: str
    id: strawberry.ID | None = strawberry.field(description="Null for the shop itself")


def share_target(link: models.ShareLink) -> ShareTarget:
    target_id = distribution.target_id(link)
    return ShareTarget(kind=link.target_kind, id=None if target_id is None else strawberry.ID(str(target_id)))


@strawberry.type(description="A customer's share of a product, a group or a relay")
class ShareLink:
    code: str = strawberry.field(description="At most 32 characters of [0-9A-Za-z]: a mini-program code's scene")
    opens: int
    created_at: datetime

    @strawberry.field(description="The mini-program page to open, with the code as its scene")
    def path(self, root: strawberry.Parent[models.ShareLink]) -> str:
        return distribution.share_path(root)

    @strawberry.field
    def target(self, root: strawberry.Parent[models.ShareLink]) -> ShareTarget:
        return share_target(root)

    @strawberry.field(description="Customers this link bound")
    async def customers_bound(self, root: strawberry.Parent[models.ShareLink]) -> int:
        return await distribution.customers_bound(root)

    @strawberry.field(description="Paid orders placed through this link, not refunded in full")
    async def orders(self, root: strawberry.Parent[models.ShareLink]) -> int:
        return (await distribution.link_figures(root)).orders

    @strawberry.field(description="What those orders paid, net of refunds")
    async def gmv(self, root: strawberry.Parent[models.ShareLink]) -> Money:
        return Money(amount=(await distribution.link_figures(root)).gmv)

    @strawberry.field(description="Distinct customers of those orders")
    async def paying_customers(self, root: strawberry.Parent[models.ShareLink]) -> int:
        return (await distribution.link_figures(root)).paying_customers

    @strawberry.field(description="Those whose first paid order ever came through this link")
    async def new_customers(self, root: strawberry.Parent[models.ShareLink]) -> int:
        return (await distribution.link_figures(root)).new_customers

    @strawberry.field(description="裂变系数: new paying customers its paying customers brought through their own "
                      "links, per paying customer (2 places)")
    async def fission_coefficient(self, root: strawberry.Parent[models.ShareLink]) -> float:
        return (await distribution.link_figures(root)).fission_coefficient


@strawberry.type
class ShareLinkConnection(Connection[ShareLink]):
    pass


@strawberry.type(description="A customer bound to me (level 1) or to my team (level 2)")
class TeamMember:
    bound_at: datetime

    @strawberry.field(description="Masked, e.g. 张**")
    async def nickname(self, root: strawberry.Parent[models.Binding], info: Info) -> str:
        customer = await distribution.member_customer(info.context, root)
        return mask_nickname(customer.nickname if customer is not None else "")


@strawberry.type
class TeamMemberConnection(Connection[TeamMember]):
    pass


@strawberry.type(description="My application and, once approved, my distributor side")
class MyDistributor:
    status: DistributorStatus
    enabled: bool
    level: int
    reject_reason: str
    applied_at: datetime

    @strawberry.field(description="My share of the whole shop (null until approved)")
    async def share_code(self, root: strawberry.Parent[models.Distributor]) -> str | None:
        return await distribution.share_code(root)

    @strawberry.field
    async def summary(self, root: strawberry.Parent[models.Distributor]) -> DistributorSummary:
        team = await distribution.summary(root)
        money = await distribution.commission_summary(root)
        return DistributorSummary(
            team_size=team.team_size, second_level_size=team.second_level_size,
            pending=Money(amount=money.pending), available=Money(amount=money.available),
            withdrawn=Money(amount=money.withdrawn), clawed_back=Money(amount=money.clawed_back),
            lifetime=Money(amount=money.lifetime))

    @strawberry.field(description="How my shares do (orders attributed to me as the direct distributor)")
    async def figures(self, root: strawberry.Parent[models.Distributor]) -> DistributorFigures:
        return figures_view(await distribution.distributor_figures(root))

    @strawberry.field(description="My commissions, newest first, optionally one status")
    async def commissions(self, root: strawberry.Parent[models.Distributor], first: int | None = 20,
                          after: str | None = None, status: CommissionStatus | None = None) -> CommissionConnection:
        page, earned_on = await distribution.my_commissions(root, status, first, after)
        return connection(page.map(lambda row: commission_view(row, earned_on)), CommissionConnection)

    @strawberry.field(description="level 1: bound to me. level 2: bound to my team. Latest first")
    async def team(self, root: strawberry.Parent[models.Distributor], first: int | None = 20,
                   after: str | None = None, level: int = 1) -> TeamMemberConnection:
        return connection(await distribution.my_team(root, level, first, after), TeamMemberConnection)

    @strawberry.field(description="My withdrawals, newest first")
    async def withdrawals(self, root: strawberry.Parent[models.Distributor], first: int | None = 20,
                          after: str | None = None) -> WithdrawalConnection:
        return connection(await distribution.my_withdrawals(root, first, after), WithdrawalConnection)

    @strawberry.field(description="My share links, newest first")
    async def share_links(self, root: strawberry.Parent[models.Distributor], first: int | None = 20,
                          after: str | None = None) -> ShareLinkConnection:
        return connection(await distribution.my_links(root, first, after), ShareLinkConnection)


@strawberry.type(description="A customer's application to sell for the shop (KOC), as staff see it")
class Distributor(relay.Node):
    id: relay.NodeID[int]
    status: DistributorStatus
    enabled: bool = strawberry.field(description="Only an approved, enabled distributor binds customers")
    level: int
    real_name: str
    reason: str
    reject_reason: str
    applied_at: datetime
    decided_at: datetime | None
    is_type_of = model_node(models.Distributor)

    @strawberry.field(description="Masked, e.g. 138****8000")
    def phone(self, root: strawberry.Parent[models.Distributor]) -> str:
        return mask_phone(root.phone)

    @strawberry.field
    async def customer(self, root: strawberry.Parent[models.Distributor]) -> Customer | None:
        return await distribution.distributor_customer(root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry

    @strawberry.field(description="How its shares do")
    async def figures(self, root: strawberry.Parent[models.Distributor]) -> DistributorFigures:
        return figures_view(await distribution.distributor_figures(root))


@strawberry.type
class DistributorConnection(Connection[Distributor]):
    pass


@strawberry.type(description="One distributor level's own rates, in basis points")
class DistributorLevelRates:
    level: int
    name: str
    direct_rate_bp: int
    parent_rate_bp: int


@strawberry.type(description="A product's own rate: rateBp of the line, or fixedFen per unit")
class ProductDistributionRate:
    product_id: strawberry.ID
    rate_bp: int | None
    fixed_fen: int | None


@strawberry.type(description="The distribution rules in force. Rates in basis points (100 = 1%), money in fen")
class DistributionSettings:
    version: int = strawberry.field(description="Raised on every change (0: never saved, distribution off)")
    enabled: bool
    levels: int = strawberry.field(description="1: only the direct distributor earns. 2: its parent too")
    direct_rate_bp: int
    parent_rate_bp: int
    distributor_levels: list[DistributorLevelRates]
    earning_kinds: list[OrderKind]
    self_purchase_earns: bool
    binding_mode: BindingMode
    window_days: int
    freeze_days: int = strawberry.field(description="Days after completion before a commission can be withdrawn")
    withdrawal_minimum: int
    withdrawal_fee_bp: int
    product_rates: list[ProductDistributionRate]
    referral_referrer_coupon_id: strawberry.ID | None = strawberry.field(
        description="The coupon a referrer receives for a referred customer's first completed order; null: off")
    referral_new_customer_coupon_id: strawberry.ID | None = strawberry.field(
        description="The coupon the referred customer also receives then; null: none")


def settings_view(found: SettingsInForce | None) -> DistributionSettings | None:
    if found is None:
        return None
    rules = found.rules
    return DistributionSettings(
        version=found.version, enabled=rules.enabled, levels=rules.levels, direct_rate_bp=rules.direct_rate_bp,
        parent_rate_bp=rules.parent_rate_bp,
        distributor_levels=[DistributorLevelRates(level=item.level, name=item.name,
                                                  direct_rate_bp=item.direct_rate_bp,
                                                  parent_rate_bp=item.parent_rate_bp)
                            for item in rules.distributor_levels],
        earning_kinds=[OrderKind(kind) for kind in rules.earning_kinds],
        self_purchase_earns=rules.self_purchase_earns, binding_mode=rules.binding_mode,
        window_days=rules.window_days, freeze_days=rules.freeze_days, withdrawal_minimum=rules.withdrawal_minimum,
        withdrawal_fee_bp=rules.withdrawal_fee_bp,
        product_rates=[ProductDistributionRate(product_id=strawberry.ID(str(relay.GlobalID("Product",
                                                                                           str(item.product_id)))),
                                               rate_bp=item.rate_bp, fixed_fen=item.fixed_fen)
                       for item in rules.product_rates],
        referral_referrer_coupon_id=_coupon_gid(rules.referral_referrer_coupon_id),
        referral_new_customer_coupon_id=_coupon_gid(rules.referral_new_customer_coupon_id),
    )


def _coupon_gid(coupon_id: int | None) -> strawberry.ID | None:
    return None if coupon_id is None else strawberry.ID(str(relay.GlobalID("Coupon", str(coupon_id))))


@strawberry.input
class DistributorApplyInput:
    real_name: str
    phone: str = strawberry.field(description="An 11-digit mainland mobile number")
    reason: str = ""


@strawberry.input
class DistributorApproveInput:
    id: strawberry.ID


@strawberry.input
class DistributorRejectInput:
    id: strawberry.ID
    reason: str


@strawberry.input(description="Disable an approved distributor (its shares stop binding) or enable it again")
class DistributorSetEnabledInput:
    id: strawberry.ID
    enabled: bool


@strawberry.input
class DistributorLevelInput:
    level: int
    name: str
    direct_rate_bp: int
    parent_rate_bp: int = 0


@strawberry.input(description="Exactly one of rateBp (of the line) and fixedFen (per unit)")
class ProductDistributionRateInput:
    product_id: strawberry.ID
    rate_bp: int | None = None
    fixed_fen: int | None = None


@strawberry.input(description="Only the given fields change; lists replace the old ones. Rates 0 to 5000 bp")
class DistributionSettingsUpdateInput:
    enabled: bool | None = strawberry.UNSET
    levels: int | None = strawberry.UNSET
    direct_rate_bp: int | None = strawberry.UNSET
    parent_rate_bp: int | None = strawberry.UNSET
    distributor_levels: list[DistributorLevelInput] | None = strawberry.UNSET
    earning_kinds: list[OrderKind] | None = strawberry.UNSET
    self_purchase_earns: bool | None = strawberry.UNSET
    binding_mode: BindingMode | None = strawberry.UNSET
    window_days: int | None = strawberry.UNSET
    freeze_days: int | None = strawberry.UNSET
    withdrawal_minimum: int | None = strawberry.UNSET
    withdrawal_fee_bp: int | None = strawberry.UNSET
    product_rates: list[ProductDistributionRateInput] | None = strawberry.UNSET
    referral_referrer_coupon_id: strawberry.ID | None = strawberry.UNSET
    referral_new_customer_coupon_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input(description="Exactly one target")
class ShareLinkCreateInput:
    product_id: strawberry.ID | None = strawberry.UNSET
    group_id: strawberry.ID | None = strawberry.UNSET
    relay_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input
class ShareLinkOpenInput:
    code: str


@strawberry.type
class DistributorApplyPayload:
    distributor: MyDistributor | None
    errors: list[UserError]


@strawberry.type
class DistributorPayload:
    distributor: Distributor | None
    errors: list[UserError]


@strawberry.type
class DistributionSettingsPayload:
    settings: DistributionSettings | None
    errors: list[UserError]


@strawberry.type
class ShareLinkPayload:
    share_link: ShareLink | None
    errors: list[UserError]


@strawberry.type
class ShareLinkOpenPayload:
    target: ShareTarget | None
    errors: list[UserError]


staff: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class DistributionQuery:
    @strawberry.field(permission_classes=staff, description="Newest application first, optionally one status")
    async def staff_distributors(self, info: Info, first: int | None = 20, after: str | None = None,
                                 status: DistributorStatus | None = None) -> DistributorConnection:
        return connection(await distribution.staff_distributors(first, after, status), DistributorConnection)

    @strawberry.field(permission_classes=staff, description="The distribution rules in force")
    async def distribution_settings(self, info: Info) -> DistributionSettings:
        found = settings_view(await distribution.distribution_settings())
        assert found is not None
        return found


def _distributor_payload(cls: Any, outcome: Any) -> Any:
    return payload(cls, "distributor", outcome)


@strawberry.type
class DistributionMutation:
    @strawberry.mutation(permission_classes=[IsCustomer], description="One application per customer; again only "
                         "after a rejection (else DUPLICATE)")
    async def distributor_apply(self, info: Info, input: DistributorApplyInput) -> DistributorApplyPayload:
        return _distributor_payload(DistributorApplyPayload, await distribution.distributor_apply(info.context, input))

    @strawberry.mutation(permission_classes=staff, description="A PENDING application only (else INVALID_STATE)")
    async def distributor_approve(self, info: Info, input: DistributorApproveInput) -> DistributorPayload:
        return _distributor_payload(DistributorPayload, await distribution.distributor_approve(info.context, input))

    @strawberry.mutation(permission_classes=staff, description="A PENDING application only, with a reason")
    async def distributor_reject(self, info: Info, input: DistributorRejectInput) -> DistributorPayload:
        return _distributor_payload(DistributorPayload, await distribution.distributor_reject(info.context, input))

    @strawberry.mutation(permission_classes=staff, description="An APPROVED distributor only")
    async def distributor_set_enabled(self, info: Info, input: DistributorSetEnabledInput) -> DistributorPayload:
        return _distributor_payload(DistributorPayload,
                                    await distribution.distributor_set_enabled(info.context, input))

    @strawberry.mutation(permission_classes=[IsOwner], description="Saves the rules as a new version; every "
                         "problem is reported (INVALID with its field) and then nothing changes")
    async def distribution_settings_update(self, info: Info,
                                           input: DistributionSettingsUpdateInput) -> DistributionSettingsPayload:
        outcome = await distribution.distribution_settings_update(info.context, input)
        return DistributionSettingsPayload(settings=None if outcome.errors else settings_view(outcome.value),
                                           errors=user_errors(outcome.errors))

    @strawberry.mutation(permission_classes=[IsCustomer], description="My link to one target (the same link "
                         "every time). Only an approved, enabled distributor's links bind those who open them")
    async def share_link_create(self, info: Info, input: ShareLinkCreateInput) -> ShareLinkPayload:
        return payload(ShareLinkPayload, "share_link", await distribution.share_link_create(info.context, input))

    @strawberry.mutation(description="Records an open (anonymous allowed) and answers the target for routing. A "
                         "logged-in customer may be bound to the sharer. Unknown code: NOT_FOUND")
    async def share_link_open(self, info: Info, input: ShareLinkOpenInput) -> ShareLinkOpenPayload:
        outcome = await distribution.share_link_open(info.context, input)
        link = outcome.value
        target = None if outcome.errors or link is None else share_target(link)
        return ShareLinkOpenPayload(target=target, errors=user_errors(outcome.errors))

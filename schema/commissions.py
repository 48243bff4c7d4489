"""Distribution's money (分销): commissions, the distributor's summary and figures, withdrawals paid by the merchant
transfer, referral rewards and the merchant's report. Applying, links, settings and the distributor's own view:
`schema/distribution.py`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import Info, relay
from strawberry.permission import BasePermission

from domain.commissions import models as commission_models
from domain.withdrawals import models as withdrawal_models
from resolvers import distribution
from resolvers.permissions import CanManageGoods, CanManageMoney, IsCustomer
from schema.core import Connection, Money, UserError, connection, model_node, money_field, payload
from schema.orders import staff_only

if TYPE_CHECKING:
    from schema.distribution import Distributor

WithdrawalStatus = withdrawal_models.WithdrawalStatus
strawberry.enum(WithdrawalStatus, name="WithdrawalStatus", description="REQUESTED until staff decide; "
                "TRANSFERRING while WeChat Pay's merchant transfer pays it; then PAID, or FAILED (given back). "
                "REJECTED: given back")

@strawberry.type(description="Team sizes and commission totals, each a sum of my commission ledger")
class DistributorSummary:
    team_size: int = strawberry.field(description="Customers bound to me")
    second_level_size: int = strawberry.field(description="Customers bound to my team's distributors")
    pending: Money = strawberry.field(description="Earned on orders not completed and frozen long enough yet")
    available: Money = strawberry.field(description="May be withdrawn; negative while clawbacks exceed it")
    withdrawn: Money = strawberry.field(description="Taken by withdrawals (paying or paid)")
    clawed_back: Money = strawberry.field(description="Taken back by refunds after it was available")
    lifetime: Money = strawberry.field(description="Earned and kept: pending + available + withdrawn")


@strawberry.type(description="How my shares (or a share link) do: opens, customers, orders and GMV")
class DistributorFigures:
    opens: int
    customers_bound: int
    paying_customers: int = strawberry.field(description="Distinct customers of my paid orders not refunded in full")
    orders: int
    gmv: Money = strawberry.field(description="What those orders paid, net of refunds")
    new_customers: int = strawberry.field(description="Those whose first paid order ever was one of mine")
    fission_coefficient: float = strawberry.field(description="裂变系数: new paying customers my paying customers "
                                                  "brought through their own links, per paying customer")


def figures_view(found: Any) -> DistributorFigures:
    return DistributorFigures(opens=found.opens, customers_bound=found.customers_bound,
                              paying_customers=found.paying_customers, orders=found.orders,
                              gmv=Money(amount=found.gmv), new_customers=found.new_customers,
                              fission_coefficient=found.fission_coefficient)


CommissionStatus = commission_models.CommissionStatus
strawberry.enum(CommissionStatus, name="CommissionStatus", description="PENDING until the order completes and its "
                "freeze passes; AVAILABLE to withdraw; WITHDRAWN once withdrawals cover it; CANCELLED by a full "
                "refund before that")


@strawberry.type(description="A commission on one order line at one level")
class Commission:
    id: strawberry.ID
    order_number: str
    product_title: str
    level: int = strawberry.field(description="1: my customer bought. 2: my team's customer bought")
    base: Money = strawberry.field(description="What the line cost the customer after discounts")
    rate_bp: int | None = strawberry.field(description="The rate applied, in basis points (null: fixed per unit)")
    fixed_fen: int | None = strawberry.field(description="Fen per unit, when the product pays a fixed amount")
    amount: Money = strawberry.field(description="Earned when the order was confirmed")
    reduced: Money = strawberry.field(description="Taken off by refunds before it was available")
    clawed_back: Money = strawberry.field(description="Taken back by refunds after it was available")
    net: Money
    status: CommissionStatus
    available_at: datetime | None = strawberry.field(description="When the freeze ends (set once the order completes)")
    created_at: datetime


def commission_view(row: commission_models.Commission, earned_on: Any) -> Commission:
    on = earned_on.get(row.id)
    return Commission(
        id=strawberry.ID(str(relay.GlobalID("Commission", str(row.id)))), order_number=on.order_number if on else "",
        product_title=on.title if on else "", level=row.level, base=Money(amount=row.base), rate_bp=row.rate_bp,
        fixed_fen=row.fixed_fen, amount=Money(amount=row.amount), reduced=Money(amount=row.reduced),
        clawed_back=Money(amount=row.clawed_back), net=Money(amount=row.amount - row.reduced - row.clawed_back),
        status=row.status, available_at=row.available_at, created_at=row.created_at)


@strawberry.type
class CommissionConnection(Connection[Commission]):
    pass


@strawberry.type(description="A withdrawal of commission, paid by WeChat Pay's merchant transfer")
class Withdrawal(relay.Node):
    id: relay.NodeID[int]
    status: WithdrawalStatus
    amount: Money = money_field("amount", "Taken from the available commission")
    fee: Money = money_field("fee", "What the shop keeps: the payout is amount − fee")
    transfer_state: str = strawberry.field(description="WeChat Pay's last word on the transfer bill ('' before it)")
    fail_reason: str
    reject_reason: str
    requested_at: datetime
    decided_at: datetime | None
    finished_at: datetime | None
    is_type_of = model_node(withdrawal_models.Withdrawal)

    @strawberry.field(description="The payout: amount − fee")
    def payout(self, root: strawberry.Parent[withdrawal_models.Withdrawal]) -> Money:
        return Money(amount=root.amount - root.fee)

    @strawberry.field(description="For wx.requestMerchantTransfer, once WeChat Pay gives it and while the transfer "
                      "waits for the user (null otherwise)")
    def package_info(self, root: strawberry.Parent[withdrawal_models.Withdrawal]) -> str | None:
        return root.package_info if root.status == WithdrawalStatus.TRANSFERRING else None

    @staff_only("Who withdraws (staff only; null for customers)")
    async def distributor(
        self, root: strawberry.Parent[withdrawal_models.Withdrawal]
    ) -> Annotated[Distributor, strawberry.lazy("schema.distribution")] | None:
        return await distribution.withdrawal_distributor(root)  # type: ignore[return-value]  # a model, resolved to its GraphQL type by strawberry


@strawberry.type
class WithdrawalConnection(Connection[Withdrawal]):
    pass


@strawberry.input(description="amount in fen, at least the withdrawal minimum. The same idempotencyKey again "
                  "answers the same withdrawal (with another amount: DUPLICATE); without one every call is new")
class CommissionWithdrawInput:
    amount: int
    idempotency_key: str | None = None


@strawberry.input
class WithdrawalApproveInput:
    withdrawal_id: strawberry.ID


@strawberry.input
class WithdrawalRejectInput:
    withdrawal_id: strawberry.ID
    reason: str


@strawberry.type
class WithdrawalPayload:
    withdrawal: Withdrawal | None
    errors: list[UserError]


@strawberry.type(description="A distributor's place in the report")
class RankedDistributor:
    distributor: Annotated[Distributor, strawberry.lazy("schema.distribution")]
    gmv: Money
    new_customers: int


@strawberry.type(description="Top distributors by GMV and by new paying customers among orders paid in the range, "
                 "and the commission totals")
class DistributionReport:
    top_by_gmv: list[RankedDistributor]
    top_by_new_customers: list[RankedDistributor]
    pending: Money = strawberry.field(description="Now, over every distributor")
    available: Money = strawberry.field(description="Now, over every distributor, net of clawbacks")
    paid: Money = strawberry.field(description="Withdrawals paid out in the range")
    clawed_back: Money = strawberry.field(description="Taken back by refunds in the range")


def report_view(found: Any) -> DistributionReport:
    def ranked(rows: Any) -> list[RankedDistributor]:
        return [RankedDistributor(distributor=row.distributor, gmv=Money(amount=row.gmv),
                                  new_customers=row.new_customers) for row in rows]

    return DistributionReport(top_by_gmv=ranked(found.top_by_gmv), top_by_new_customers=ranked(
        found.top_by_new_customers), pending=Money(amount=found.pending), available=Money(amount=found.available),
        paid=Money(amount=found.paid), clawed_back=Money(amount=found.clawed_back))


@strawberry.type(description="A referral reward (荐客有礼): what a referred customer's first completed order gave")
class ReferralReward:
    referred_customer_id: strawberry.ID
    referrer_customer_id: strawberry.ID
    order_id: strawberry.ID
    referrer_coupon_id: strawberry.ID | None = strawberry.field(description="The coupon copy the referrer received")
    referred_coupon_id: strawberry.ID | None = strawberry.field(description="The copy the new customer received")
    created_at: datetime


def _gid(kind: str, value: int | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(relay.GlobalID(kind, str(value))))


def reward_view(row: Any) -> ReferralReward:
    return ReferralReward(
        referred_customer_id=strawberry.ID(str(relay.GlobalID("Customer", str(row.referred_customer_id)))),
        referrer_customer_id=strawberry.ID(str(relay.GlobalID("Customer", str(row.referrer_customer_id)))),
        order_id=strawberry.ID(str(relay.GlobalID("Order", str(row.order_id)))),
        referrer_coupon_id=_gid("CustomerCoupon", row.referrer_coupon_id),
        referred_coupon_id=_gid("CustomerCoupon", row.referred_coupon_id), created_at=row.created_at)


@strawberry.type
class ReferralRewardConnection(Connection[ReferralReward]):
    pass



staff: list[type[BasePermission]] = [CanManageGoods]


@strawberry.type
class CommissionQuery:
    @strawberry.field(permission_classes=staff, description="Referral rewards given, newest first")
    async def staff_referral_rewards(self, info: Info, first: int | None = 20,
                                     after: str | None = None) -> ReferralRewardConnection:
        page = await distribution.staff_referral_rewards(first, after)
        return connection(page.map(reward_view), ReferralRewardConnection)

    @strawberry.field(permission_classes=[CanManageMoney], description="Withdrawals, newest first, optionally one "
                      "status")
    async def staff_withdrawals(self, info: Info, first: int | None = 20, after: str | None = None,
                                status: WithdrawalStatus | None = None) -> WithdrawalConnection:
        return connection(await distribution.staff_withdrawals(first, after, status), WithdrawalConnection)

    @strawberry.field(permission_classes=[CanManageMoney], description="Orders paid in [from, to): at most 366 days "
                      "(else INVALID, as a GraphQL error)")
    async def staff_distribution_report(self, info: Info, from_: Annotated[datetime, strawberry.argument(name="from")],
                                        to: datetime) -> DistributionReport:
        return report_view(await distribution.distribution_report(from_, to))



@strawberry.type
class CommissionMutation:
    @strawberry.mutation(permission_classes=[IsCustomer], description="An approved distributor withdraws from its "
                         "available commission (INSUFFICIENT_BALANCE when it holds less, INVALID below the minimum)")
    async def commission_withdraw(self, info: Info, input: CommissionWithdrawInput) -> WithdrawalPayload:
        return payload(WithdrawalPayload, "withdrawal", await distribution.commission_withdraw(info.context, input))

    @strawberry.mutation(permission_classes=[CanManageMoney], description="A REQUESTED withdrawal only: WeChat Pay's "
                         "merchant transfer pays amount − fee (the withdrawal is TRANSFERRING until it ends)")
    async def withdrawal_approve(self, info: Info, input: WithdrawalApproveInput) -> WithdrawalPayload:
        return payload(WithdrawalPayload, "withdrawal", await distribution.withdrawal_approve(info.context, input))

    @strawberry.mutation(permission_classes=[CanManageMoney], description="A REQUESTED withdrawal only, with a "
                         "reason: the amount goes back to the available commission")
    async def withdrawal_reject(self, info: Info, input: WithdrawalRejectInput) -> WithdrawalPayload:
        return payload(WithdrawalPayload, "withdrawal", await distribution.withdrawal_reject(info.context, input))

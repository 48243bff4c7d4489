"""Distribution: applying, staff decisions and settings, share links and binding. Decode IDs, call the domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from strawberry import UNSET, relay

from domain.commissions import balance as commission_balance
from domain.commissions import queries as commission_queries
from domain.commissions.models import Commission, CommissionStatus
from domain.distribution import binding, distributors, figures, links, settings, targets, team
from domain.distribution.distributors import Application
from domain.distribution.models import Binding, BindingMode, Distributor, DistributorStatus, ShareLink
from domain.distribution.settings import DistributorLevel, ProductRate, SettingsInForce
from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.identity.models import Customer
from domain.pagination import Page
from domain.referral import rewards as referral_rewards
from domain.referral.models import ReferralReward
from domain.transfers.ports import TransferGateway
from domain.withdrawals import service as withdrawals
from domain.withdrawals.models import Withdrawal, WithdrawalStatus
from resolvers.catalog_staff import _changed
from resolvers.context import Context
from resolvers.orders import customer_id
from resolvers.outcome import Outcome, attempt, decode_id

TARGET_FIELDS = (("product_id", "productId", targets.PRODUCT), ("group_id", "groupId", targets.GROUP),
                 ("relay_id", "relayId", targets.RELAY))
SETTINGS_FIELDS = ("enabled", "levels", "direct_rate_bp", "parent_rate_bp", "self_purchase_earns", "window_days",
                   "freeze_days", "withdrawal_minimum", "withdrawal_fee_bp")


def clock(ctx: Context) -> datetime:
    """The shop's clock (tests move it through OrderDeps.clock)."""
    return ctx.services.orders.clock()


async def distributor_apply(ctx: Context, data: Any) -> Outcome[Distributor]:
    application = Application(real_name=data.real_name, phone=data.phone, reason=data.reason)
    return await attempt(distributors.apply(customer_id(ctx), application, clock(ctx)))


async def distributor_approve(ctx: Context, data: Any) -> Outcome[Distributor]:
    async def run() -> Distributor:
        return await distributors.approve(decode_id(data.id, "Distributor"), clock(ctx))

    return await attempt(run())


async def distributor_reject(ctx: Context, data: Any) -> Outcome[Distributor]:
    async def run() -> Distributor:
        return await distributors.reject(decode_id(data.id, "Distributor"), data.reason, clock(ctx))

    return await attempt(run())


async def distributor_set_enabled(ctx: Context, data: Any) -> Outcome[Distributor]:
    async def run() -> Distributor:
        return await distributors.set_enabled(decode_id(data.id, "Distributor"), data.enabled)

    return await attempt(run())


async def staff_distributors(first: int | None, after: str | None, status: Any) -> Page[Distributor]:
    wanted = None if status is None else DistributorStatus(status.value)
    return await distributors.distributors(wanted, first, after)


async def distribution_settings() -> SettingsInForce:
    return await settings.current()


def _product_rate(item: Any) -> ProductRate:
    try:
        product_id = decode_id(item.product_id, "Product")
    except NotFound:
        product_id = 0  # names no product: the settings' validation reports it with every other problem
    return ProductRate(product_id=product_id, rate_bp=item.rate_bp, fixed_fen=item.fixed_fen)


async def distribution_settings_update(ctx: Context, data: Any) -> Outcome[SettingsInForce]:
    async def run() -> SettingsInForce:
        changes: dict[str, Any] = {name: getattr(data, name) for name in SETTINGS_FIELDS
                                   if getattr(data, name) not in (UNSET, None)}
        if data.binding_mode not in (UNSET, None):
            changes["binding_mode"] = BindingMode(data.binding_mode.value)
        if data.earning_kinds not in (UNSET, None):
            changes["earning_kinds"] = tuple(kind.value for kind in data.earning_kinds)
        if data.distributor_levels not in (UNSET, None):
            changes["distributor_levels"] = tuple(
                DistributorLevel(level=item.level, name=item.name, direct_rate_bp=item.direct_rate_bp,
                                 parent_rate_bp=item.parent_rate_bp) for item in data.distributor_levels)
        if data.product_rates not in (UNSET, None):
            changes["product_rates"] = tuple(_product_rate(item) for item in data.product_rates)
        for name, field in (("referral_referrer_coupon_id", "referralReferrerCouponId"),
                            ("referral_new_customer_coupon_id", "referralNewCustomerCouponId")):
            value = getattr(data, name)
            if value is not UNSET:  # null turns the coupon off
                changes[name] = None if value is None else decode_id(value, "Coupon", field)
        return await settings.update(changes)

    return await _changed(ctx, await attempt(run()))  # the settings in force are remembered between staff changes


def _target(data: Any) -> tuple[str, int]:
    given = [(attribute, name, kind) for attribute, name, kind in TARGET_FIELDS
             if getattr(data, attribute) not in (UNSET, None)]
    if len(given) != 1:
        raise Invalid("give exactly one of productId, groupId and relayId", ["productId"])
    attribute, name, kind = given[0]
    return kind, decode_id(getattr(data, attribute), kind, name)


async def share_link_create(ctx: Context, data: Any) -> Outcome[ShareLink]:
    async def run() -> ShareLink:
        kind, target_id = _target(data)
        return await links.create(customer_id(ctx), kind, target_id, clock(ctx))

    return await attempt(run())


async def share_link_open(ctx: Context, data: Any) -> Outcome[ShareLink]:
    """Records the open; a logged-in customer is bound through it when the rules allow (never failing the open)."""
    async def run() -> ShareLink:
        at = clock(ctx)
        link = await links.record_open(data.code, ctx.customer_id, at)
        if ctx.customer_id is not None:
            await binding.bind(ctx.customer_id, link.code, at)
        return link

    return await attempt(run())


async def bind_at_login(ctx: Context, customer: Customer, share_code: str | None) -> None:
    if share_code:
        await binding.bind(customer.id, share_code, clock(ctx))


def target_id(link: ShareLink) -> relay.GlobalID | None:
    return None if link.target_kind == targets.SHOP else relay.GlobalID(link.target_kind, str(link.target_id))


def share_path(link: ShareLink) -> str:
    return targets.path(link.target_kind, link.code)


async def my_distributor(ctx: Context, *, approved_only: bool) -> Distributor | None:
    """The signed-in customer's distributor record; with `approved_only`, only once approved (api.md's
    `me.distributor`)."""
    found = ctx.customer_id
    distributor = None if found is None else await distributors.of_customer(found)
    if distributor is None or (approved_only and distributor.status != DistributorStatus.APPROVED):
        return None
    return distributor


async def share_code(distributor: Distributor) -> str | None:
    return await distributors.shop_link_code(distributor)


async def my_team(distributor: Distributor, level: int, first: int | None, after: str | None) -> Page[Binding]:
    return await team.team(distributor, level, first, after)


async def my_links(distributor: Distributor, first: int | None, after: str | None) -> Page[ShareLink]:
    return await links.links_of(distributor.customer_id, first, after)


async def my_share_links(ctx: Context, first: int | None, after: str | None) -> Page[ShareLink]:
    return await links.links_of(customer_id(ctx), first, after)


async def summary(distributor: Distributor) -> team.Summary:
    return await team.summary(distributor)


async def customers_bound(link: ShareLink) -> int:
    return await team.customers_bound_through(link)


async def member_customer(ctx: Context, member: Binding) -> Customer | None:
    return await Customer.get_or_none(id=member.customer_id)


async def distributor_customer(distributor: Distributor) -> Customer | None:
    return await Customer.get_or_none(id=distributor.customer_id)


def _transfers(ctx: Context) -> TransferGateway:
    found = ctx.services.orders.transfers
    if found is None:
        raise DomainError(ErrorCode.INVALID_STATE, "no merchant transfer is configured")
    return found


async def commission_withdraw(ctx: Context, data: Any) -> Outcome[Withdrawal]:
    async def run() -> Withdrawal:
        distributor = await my_distributor(ctx, approved_only=True)
        if distributor is None:
            raise DomainError(ErrorCode.INVALID_STATE, "only an approved distributor withdraws")
        key = data.idempotency_key or uuid.uuid4().hex
        return await withdrawals.request(distributor, data.amount, key, clock(ctx))

    return await attempt(run())


async def withdrawal_approve(ctx: Context, data: Any) -> Outcome[Withdrawal]:
    async def run() -> Withdrawal:
        withdrawal_id = decode_id(data.withdrawal_id, "Withdrawal", "withdrawalId")
        return await withdrawals.approve(withdrawal_id, ctx.actor, _transfers(ctx), clock(ctx))

    return await attempt(run())


async def withdrawal_reject(ctx: Context, data: Any) -> Outcome[Withdrawal]:
    async def run() -> Withdrawal:
        withdrawal_id = decode_id(data.withdrawal_id, "Withdrawal", "withdrawalId")
        return await withdrawals.reject(withdrawal_id, data.reason, ctx.actor, clock(ctx))

    return await attempt(run())


async def my_withdrawals(distributor: Distributor, first: int | None, after: str | None) -> Page[Withdrawal]:
    return await withdrawals.of_distributor(distributor.id, first, after)


async def staff_withdrawals(first: int | None, after: str | None, status: Any) -> Page[Withdrawal]:
    return await withdrawals.withdrawals(None if status is None else WithdrawalStatus(status.value), first, after)


async def withdrawal_distributor(withdrawal: Withdrawal) -> Distributor | None:
    return await Distributor.get_or_none(id=withdrawal.distributor_id)


async def link_figures(link: ShareLink) -> figures.Figures:
    """Computed once per link object in a request (its fields all read it)."""
    cached = getattr(link, "_pond_figures", None)
    if cached is None:
        cached = await figures.link_figures(link)
        link._pond_figures = cached
    return cached


async def distributor_figures(distributor: Distributor) -> figures.Figures:
    return await figures.distributor_figures(distributor)


async def commission_summary(distributor: Distributor) -> commission_balance.Summary:
    return await commission_balance.summary(distributor.id)


async def my_commissions(distributor: Distributor, status: Any, first: int | None,
                         after: str | None) -> tuple[Page[Commission], dict[int, commission_queries.EarnedOn]]:
    wanted = None if status is None else CommissionStatus(status.value)
    page = await commission_queries.commissions_of(distributor.id, wanted, first, after)
    return page, await commission_queries.earned_on(page.items)


async def distribution_report(start: datetime, end: datetime) -> figures.Report:
    return await figures.report(start, end)


async def staff_referral_rewards(first: int | None, after: str | None) -> Page[ReferralReward]:
    return await referral_rewards.staff_rewards(first, after)

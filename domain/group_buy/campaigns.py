"""Group-buy campaigns: staff set-up, the window, and which campaign runs on a product.

A campaign sells the SKUs of one product at a group price (and an optional lower leader price) to groups of
`group_size` customers. It sets no units aside: every order takes its units from the SKU's own stock through the
checkout's reservation, so a campaign can never oversell. An SKU is in at most one live campaign at a time
(campaigns not ended whose windows overlap may not share an SKU: DUPLICATE). Its items cannot change once a group
exists (the groups' orders were priced by them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from tortoise.transactions import in_transaction

from domain.catalog.models import Sku
from domain.columns import column
from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid, NotFound
from domain.group_buy.models import GroupBuyCampaign, GroupBuyGroup, GroupBuyItem, GroupStatus
from domain.pagination import Page
from domain.pricing.windows import (
    MAX_NAME,
    changeable,
    check_offer_skus,
    newest_first,
    running,
    sku_item_errors,
    utc,
    window,
)

MAX_ITEMS = 100
MIN_GROUP_SIZE, MAX_GROUP_SIZE = 2, 50
MIN_GROUP_HOURS, MAX_GROUP_HOURS = 1, 72
MAX_UNITS = 99
"""The most units of a campaign one order (and one customer) may take: checkout's own per-line maximum."""


class CampaignStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


def status(campaign: GroupBuyCampaign, at: datetime) -> CampaignStatus:
    return CampaignStatus(window(campaign, at))


def closes_at(campaign: GroupBuyCampaign) -> datetime:
    """When the campaign stops: its end, or earlier if staff ended it."""
    if campaign.ended_at is not None and campaign.ended_at < campaign.ends_at:
        return campaign.ended_at
    return campaign.ends_at


@dataclass(frozen=True)
class ItemDraft:
    sku_id: int
    group_price: int
    leader_price: int | None = None


@dataclass(frozen=True)
class CampaignDraft:
    title: str
    starts_at: datetime
    ends_at: datetime
    group_size: int
    group_hours: int
    per_customer_limit: int
    per_order_max: int
    items: list[ItemDraft]
    virtual_fill_percent: int | None = None


def _check_fields(draft: CampaignDraft) -> list[DomainError]:
    errors: list[DomainError] = []
    if not 1 <= len(draft.title) <= MAX_NAME:
        errors.append(Invalid(f"title must be 1 to {MAX_NAME} characters", ["title"]))
    if draft.ends_at <= draft.starts_at:
        errors.append(Invalid("endsAt must be after startsAt", ["endsAt"]))
    if not MIN_GROUP_SIZE <= draft.group_size <= MAX_GROUP_SIZE:
        errors.append(Invalid(f"groupSize must be {MIN_GROUP_SIZE} to {MAX_GROUP_SIZE}", ["groupSize"]))
    if not MIN_GROUP_HOURS <= draft.group_hours <= MAX_GROUP_HOURS:
        errors.append(Invalid(f"groupHours must be {MIN_GROUP_HOURS} to {MAX_GROUP_HOURS}", ["groupHours"]))
    if not 1 <= draft.per_customer_limit <= MAX_UNITS:
        errors.append(Invalid(f"perCustomerLimit must be 1 to {MAX_UNITS}", ["perCustomerLimit"]))
    if not 1 <= draft.per_order_max <= MAX_UNITS:
        errors.append(Invalid(f"perOrderMax must be 1 to {MAX_UNITS}", ["perOrderMax"]))
    elif 1 <= draft.per_customer_limit < draft.per_order_max:
        errors.append(Invalid("perOrderMax cannot exceed perCustomerLimit", ["perOrderMax"]))
    if draft.virtual_fill_percent is not None and not 1 <= draft.virtual_fill_percent <= 100:
        errors.append(Invalid("virtualFillPercent must be 1 to 100", ["virtualFillPercent"]))
    errors += sku_item_errors([item.sku_id for item in draft.items], "group-buy campaign", MAX_ITEMS)
    for index, item in enumerate(draft.items):
        where = ["items", str(index)]
        if item.group_price < 1:
            errors.append(Invalid("the group price is at least 1 fen", [*where, "groupPrice"]))
        if item.leader_price is not None and not 1 <= item.leader_price < item.group_price:
            errors.append(Invalid("the leader price is at least 1 fen and below the group price",
                                  [*where, "leaderPrice"]))
    return errors


async def _check_skus(draft: CampaignDraft, exclude_id: int | None) -> int:
    """Inside the writing transaction (see `windows.check_offer_skus`), its SKUs all of one product. Returns the
    product id."""
    product_ids = set(await column(Sku.filter(id__in=[item.sku_id for item in draft.items], deleted_at__isnull=True),
                                   "product_id", int))

    def one_product(sku: Sku) -> DomainError | None:
        return None if len(product_ids) == 1 else Invalid("a campaign's SKUs all belong to one product")

    found = await check_offer_skus(GroupBuyItem, "campaign", "group-buy campaign",
                                   [(item.sku_id, item.group_price) for item in draft.items],
                                   ("groupPrice", "group price"), draft.starts_at, draft.ends_at, exclude_id,
                                   also=one_product)
    return next(iter(found.values())).product_id


def _normalized(draft: CampaignDraft) -> CampaignDraft:
    return replace(draft, title=draft.title.strip(), starts_at=utc(draft.starts_at), ends_at=utc(draft.ends_at))


def _item_rows(campaign_id: int, items: Sequence[ItemDraft]) -> list[GroupBuyItem]:
    return [GroupBuyItem(campaign_id=campaign_id, sku_id=item.sku_id, group_price=item.group_price,
                         leader_price=item.leader_price) for item in items]


async def create_campaign(draft: CampaignDraft, now: datetime) -> GroupBuyCampaign:
    draft = _normalized(draft)
    errors = _check_fields(draft)
    if draft.ends_at <= now:
        errors.append(Invalid("endsAt must be in the future", ["endsAt"]))
    if errors:
        raise DomainErrors(errors)
    async with in_transaction():
        product_id = await _check_skus(draft, None)
        campaign = await GroupBuyCampaign.create(
            title=draft.title, product_id=product_id, starts_at=draft.starts_at, ends_at=draft.ends_at,
            group_size=draft.group_size, group_hours=draft.group_hours, per_customer_limit=draft.per_customer_limit,
            per_order_max=draft.per_order_max, virtual_fill_percent=draft.virtual_fill_percent,
        )
        await GroupBuyItem.bulk_create(_item_rows(campaign.id, draft.items))
    return campaign


@dataclass(frozen=True)
class CampaignChanges:
    """None: leave as is (virtual_fill_percent: `clear_virtual_fill` removes it). Items change only while no group
    exists."""

    title: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    group_size: int | None = None
    group_hours: int | None = None
    per_customer_limit: int | None = None
    per_order_max: int | None = None
    virtual_fill_percent: int | None = None
    clear_virtual_fill: bool = False
    items: list[ItemDraft] | None = None


def _pick(change: int | None, current: int) -> int:
    return current if change is None else change


async def update_campaign(campaign_id: int, changes: CampaignChanges, now: datetime) -> GroupBuyCampaign:
    async with in_transaction():
        campaign = await changeable(GroupBuyCampaign, campaign_id, now, "group-buy campaign")
        if changes.items is not None and await GroupBuyGroup.filter(campaign_id=campaign.id).exists():
            raise DomainError(ErrorCode.INVALID_STATE, "items cannot change once a group has been started",
                              ["items"])
        rows = await GroupBuyItem.filter(campaign_id=campaign.id).order_by("id")
        virtual = changes.virtual_fill_percent if changes.virtual_fill_percent is not None \
            else campaign.virtual_fill_percent
        draft = _normalized(CampaignDraft(
            title=changes.title if changes.title is not None else campaign.title,
            starts_at=changes.starts_at or campaign.starts_at,
            ends_at=changes.ends_at or campaign.ends_at,
            group_size=_pick(changes.group_size, campaign.group_size),
            group_hours=_pick(changes.group_hours, campaign.group_hours),
            per_customer_limit=_pick(changes.per_customer_limit, campaign.per_customer_limit),
            per_order_max=_pick(changes.per_order_max, campaign.per_order_max),
            virtual_fill_percent=None if changes.clear_virtual_fill else virtual,
            items=changes.items if changes.items is not None else [
                ItemDraft(r.sku_id, r.group_price, r.leader_price) for r in rows
            ],
        ))
        errors = _check_fields(draft)
        if changes.ends_at is not None and draft.ends_at <= now:
            errors.append(Invalid("endsAt must be in the future", ["endsAt"]))
        if errors:
            raise DomainErrors(errors)
        product_id = await _check_skus(draft, campaign.id)
        if changes.items is not None:
            await GroupBuyItem.filter(campaign_id=campaign.id).delete()
            await GroupBuyItem.bulk_create(_item_rows(campaign.id, draft.items))
        campaign.title, campaign.starts_at, campaign.ends_at = draft.title, draft.starts_at, draft.ends_at
        campaign.product_id = product_id
        campaign.group_size, campaign.group_hours = draft.group_size, draft.group_hours
        campaign.per_customer_limit, campaign.per_order_max = draft.per_customer_limit, draft.per_order_max
        campaign.virtual_fill_percent = draft.virtual_fill_percent
        await campaign.save()
        await _cap_groups(campaign)
    return campaign


async def _cap_groups(campaign: GroupBuyCampaign) -> None:
    """A group never outlives its campaign: forming groups expire by the campaign's end at the latest."""
    await GroupBuyGroup.filter(campaign_id=campaign.id, status=GroupStatus.FORMING,
                               expires_at__gt=closes_at(campaign)).update(expires_at=closes_at(campaign))


async def end_campaign(campaign_id: int, now: datetime) -> GroupBuyCampaign:
    """Staff end it now: no group starts or is joined any more, and the forming groups expire now (the sweep then
    settles them: succeeded by their virtual fill, or failed and refunded)."""
    async with in_transaction():
        campaign = await changeable(GroupBuyCampaign, campaign_id, now, "group-buy campaign")
        campaign.ended_at = now
        await campaign.save(update_fields=["ended_at", "updated_at"])
        await _cap_groups(campaign)
    return campaign


async def campaigns(status_filter: CampaignStatus | None, now: datetime, first: int | None,
                    after: str | None) -> Page[GroupBuyCampaign]:
    """Staff's list, newest first, optionally only those SCHEDULED, ACTIVE or ENDED at `now`."""
    return await newest_first(GroupBuyCampaign, status_filter, now, first, after)


async def campaigns_by_id(ids: Sequence[int]) -> dict[int, GroupBuyCampaign]:
    return {campaign.id: campaign for campaign in await GroupBuyCampaign.filter(id__in=list(ids))}


async def items_by_campaign(campaign_ids: Sequence[int]) -> dict[int, list[GroupBuyItem]]:
    grouped: dict[int, list[GroupBuyItem]] = {}
    for item in await GroupBuyItem.filter(campaign_id__in=list(campaign_ids)).order_by("id"):
        grouped.setdefault(item.campaign_id, []).append(item)
    return grouped


async def running_by_product(product_ids: Sequence[int], now: datetime) -> dict[int, GroupBuyCampaign]:
    """Each product's running campaign (one query); products without one are absent."""
    found: dict[int, GroupBuyCampaign] = {}
    for campaign in await GroupBuyCampaign.filter(running(now), product_id__in=list(product_ids)).order_by("id"):
        found.setdefault(campaign.product_id, campaign)
    return found


async def running_item(campaign_id: int, sku_id: int, now: datetime, field: str) -> tuple[GroupBuyCampaign,
                                                                                        GroupBuyItem]:
    """The campaign (NOT_FOUND, NOT_STARTED or ENDED) and its item for the SKU (NOT_FOUND on skuId)."""
    item = await GroupBuyItem.filter(campaign_id=campaign_id, sku_id=sku_id).select_related("campaign").first()
    campaign = item.campaign if item is not None else await GroupBuyCampaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise NotFound("group-buy campaign", [field])
    at = status(campaign, now)
    if at is CampaignStatus.SCHEDULED:
        raise DomainError(ErrorCode.NOT_STARTED, "the group-buy campaign has not started", [field])
    if at is CampaignStatus.ENDED:
        raise DomainError(ErrorCode.ENDED, "the group-buy campaign has ended", [field])
    if item is None:
        raise NotFound("SKU in this group-buy campaign", ["skuId"])
    return campaign, item

"""Spend-and-save (满减): the staff set-up and what is running now. Decode IDs, call the pricing domain."""

from __future__ import annotations

from typing import Any

from domain.pagination import Page
from domain.pricing import spend_and_save
from domain.pricing.models import SpendAndSave
from domain.pricing.spend_and_save import SpendAndSaveChanges, SpendAndSaveDraft, SpendAndSaveStatus, TierDraft
from resolvers.catalog_staff import _changed
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id, given, now


def _tiers(tiers: Any) -> list[TierDraft]:
    return [TierDraft(tier.threshold, tier.amount) for tier in tiers]


async def spend_and_save_create(ctx: Context, data: Any) -> Outcome[SpendAndSave]:
    async def run() -> SpendAndSave:
        draft = SpendAndSaveDraft(data.name, data.starts_at, data.ends_at, _tiers(data.tiers))
        return await spend_and_save.create_spend_and_save(draft, now())

    return await _changed(ctx, await attempt(run()))


async def spend_and_save_update(ctx: Context, data: Any) -> Outcome[SpendAndSave]:
    async def run() -> SpendAndSave:
        promotion_id = decode_id(data.id, "SpendAndSave")
        tiers = given(data.tiers)
        changes = SpendAndSaveChanges(
            name=given(data.name),
            starts_at=given(data.starts_at),
            ends_at=given(data.ends_at),
            tiers=None if tiers is None else _tiers(tiers),
        )
        return await spend_and_save.update_spend_and_save(promotion_id, changes, now())

    return await _changed(ctx, await attempt(run()))


async def spend_and_save_end(ctx: Context, data: Any) -> Outcome[SpendAndSave]:
    async def run() -> SpendAndSave:
        return await spend_and_save.end_spend_and_save(decode_id(data.id, "SpendAndSave"), now())

    return await _changed(ctx, await attempt(run()))


async def staff_spend_and_saves(first: int | None, after: str | None, status: Any) -> Page[SpendAndSave]:
    wanted = None if status is None else SpendAndSaveStatus(status.value)
    return await spend_and_save.staff_spend_and_saves(wanted, now(), first, after)


async def running_spend_and_saves() -> list[SpendAndSave]:
    return await spend_and_save.running(now())


def status(promotion: SpendAndSave) -> SpendAndSaveStatus:
    return spend_and_save.status(promotion, now())


def tiers(promotion: SpendAndSave) -> list[TierDraft]:
    return spend_and_save.tiers_of(promotion)


async def nodes(ids: list[int]) -> list[SpendAndSave | None]:
    found = await spend_and_save.spend_and_saves_by_id(ids)
    return [found.get(i) for i in ids]

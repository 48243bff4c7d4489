"""Member levels: my level and progress, the levels, and staff's set-up."""

from __future__ import annotations

from typing import Any

from domain.members import levels, standing
from domain.members.models import MemberLevel
from resolvers.catalog_staff import _changed
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id, given


async def standing_of(ctx: Context, customer_id: int) -> standing.Standing | None:
    return await standing.standing_of(customer_id) if ctx.customer_id == customer_id else None


async def all_levels() -> list[MemberLevel]:
    return await standing.all_levels()


async def level_create(ctx: Context, data: Any) -> Outcome[MemberLevel]:
    draft = levels.LevelDraft(data.name, data.threshold, data.discount_basis_points)
    return await _changed(ctx, await attempt(levels.create(draft)))


async def level_update(ctx: Context, data: Any) -> Outcome[MemberLevel]:
    async def run() -> MemberLevel:
        changes = levels.LevelChanges(name=given(data.name), threshold=given(data.threshold),
                                      discount_bp=given(data.discount_basis_points))
        return await levels.update(decode_id(data.id, "MemberLevel"), changes)

    return await _changed(ctx, await attempt(run()))


async def level_delete(ctx: Context, data: Any) -> Outcome[int]:
    async def run() -> int:
        return await levels.delete(decode_id(data.id, "MemberLevel"))

    return await _changed(ctx, await attempt(run()))

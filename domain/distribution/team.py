"""What a distributor sees of their own: their team and the numbers of their links."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Subquery

from domain.distribution.models import Binding, BindingChange, Distributor, ShareLink
from domain.errors import Invalid
from domain.pagination import Page, paginate


async def team(distributor: Distributor, level: int, first: int | None, after: str | None) -> Page[Binding]:
    """Level 1: the customers bound to the distributor. Level 2: the customers bound to those of them who are
    distributors themselves. Most recently bound first."""
    if level == 1:
        query = Binding.filter(distributor_id=distributor.id)
    elif level == 2:
        direct = Binding.filter(distributor_id=distributor.id).values("customer_id")
        query = Binding.filter(distributor__customer_id__in=Subquery(direct))
    else:
        raise Invalid("level is 1 or 2", ["level"])
    return await paginate(query, ["id"], first, after, descending=True)


@dataclass(frozen=True)
class Summary:
    team_size: int
    second_level_size: int


async def summary(distributor: Distributor) -> Summary:
    """Team sizes. Commission totals are added beside these when commissions are recorded (a later change)."""
    direct = Binding.filter(distributor_id=distributor.id)
    second = Binding.filter(distributor__customer_id__in=Subquery(direct.values("customer_id")))
    return Summary(team_size=await direct.count(), second_level_size=await second.count())


async def customers_bound_through(link: ShareLink) -> int:
    """Distinct customers this link ever bound (rebinding elsewhere later does not take them off)."""
    changes = BindingChange.filter(link_id=link.id).order_by("customer_id").distinct()
    return len(await changes.values_list("customer_id", flat=True))

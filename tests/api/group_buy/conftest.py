"""Group-buys set up as staff do, started, joined and paid as the mini-program does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio

from domain.catalog.models import Sku
from tests.fixtures.catalog import gid
from tests.fixtures.orders import ADDRESS, ERRORS, ORDER_FIELDS, PAYMENT_FIELDS, Shop
from tests.support.graphql import GraphQLClient

CAMPAIGN_FIELDS = """id title status startsAt endsAt endedAt groupSize groupHours perCustomerLimit perOrderMax
  virtualFillPercent product { id } items { groupPrice { amount } leaderPrice { amount } sku { id } }"""
CAMPAIGN_PAYLOAD = f"groupBuyCampaign {{ {CAMPAIGN_FIELDS} }} {ERRORS}"
CREATE = f"mutation($i: GroupBuyCampaignCreateInput!) {{ groupBuyCampaignCreate(input: $i) {{ {CAMPAIGN_PAYLOAD} }} }}"
UPDATE = f"mutation($i: GroupBuyCampaignUpdateInput!) {{ groupBuyCampaignUpdate(input: $i) {{ {CAMPAIGN_PAYLOAD} }} }}"
END = f"mutation($i: GroupBuyCampaignEndInput!) {{ groupBuyCampaignEnd(input: $i) {{ {CAMPAIGN_PAYLOAD} }} }}"
GROUP_FIELDS = """id status requiredSize paidCount seatsLeft expiresAt shareCode campaign { id }
  members { nickname avatarUrl leader virtual }"""
START = f"""mutation($i: GroupBuyStartInput!) {{ groupBuyStart(input: $i) {{
  order {{ {ORDER_FIELDS} }} payment {{ {PAYMENT_FIELDS} }} group {{ id shareCode status seatsLeft paidCount
  members {{ leader }} }} {ERRORS} }} }}"""
JOIN = f"""mutation($i: GroupBuyJoinInput!) {{ groupBuyJoin(input: $i) {{
  order {{ {ORDER_FIELDS} }} payment {{ {PAYMENT_FIELDS} }} group {{ id }} {ERRORS} }} }}"""
GROUP = f"query($id: ID!) {{ groupBuy(id: $id) {{ {GROUP_FIELDS} }} }}"
STAFF_CAMPAIGNS = f"""query($status: GroupBuyCampaignStatus) {{ staffGroupBuyCampaigns(status: $status) {{
  totalCount edges {{ node {{ {CAMPAIGN_FIELDS} }} }} }} }}"""


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def campaign_input(*items: tuple[Sku, int, int | None], starts: float = -60, ends: float = 7 * 86400,
                   size: int = 3, hours: int = 24, limit: int = 5, per_order: int = 2, **extra: Any) -> dict[str, Any]:
    """items as (SKU, group price, leader price or None)."""
    return {
        "title": "三人团", "startsAt": at(starts), "endsAt": at(ends), "groupSize": size, "groupHours": hours,
        "perCustomerLimit": limit, "perOrderMax": per_order,
        "items": [{"skuId": gid("Sku", sku.id), "groupPrice": price, "leaderPrice": leader}
                  for sku, price, leader in items],
        **extra,
    }


@dataclass
class GroupDesk:
    """Staff and shoppers around group-buys."""

    shop: Shop
    gql: GraphQLClient
    staff_token: str
    issue_customer_token: Callable[[str], Awaitable[str]]

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        return (await self.gql.data(CREATE, {"i": data}, self.staff_token))["groupBuyCampaignCreate"]

    async def campaign(self, *items: tuple[Sku, int, int | None], **options: Any) -> dict[str, Any]:
        created = await self.create(campaign_input(*items, **options))
        assert created["errors"] == [], created["errors"]
        return created["groupBuyCampaign"]

    async def update(self, data: dict[str, Any]) -> dict[str, Any]:
        return (await self.gql.data(UPDATE, {"i": data}, self.staff_token))["groupBuyCampaignUpdate"]

    async def end(self, campaign: dict[str, Any]) -> dict[str, Any]:
        return (await self.gql.data(END, {"i": {"id": campaign["id"]}}, self.staff_token))["groupBuyCampaignEnd"]

    async def start(self, token: str, campaign: dict[str, Any], sku: Sku, quantity: int = 1, **fields: Any) -> dict:
        data: dict[str, Any] = {"campaignId": campaign["id"], "skuId": gid("Sku", sku.id), "quantity": quantity,
                                "delivery": {"address": ADDRESS}}
        data.update(fields)
        return (await self.gql.data(START, {"i": data}, token))["groupBuyStart"]

    async def join(self, token: str, group: dict[str, Any] | None, sku: Sku, quantity: int = 1, **fields: Any) -> dict:
        data: dict[str, Any] = {"skuId": gid("Sku", sku.id), "quantity": quantity, "delivery": {"address": ADDRESS}}
        if group is not None:
            data["groupId"] = group["id"]
        data.update(fields)
        return (await self.gql.data(JOIN, {"i": data}, token))["groupBuyJoin"]

    async def read(self, group: dict[str, Any], token: str | None = None) -> dict[str, Any] | None:
        return (await self.gql.data(GROUP, {"id": group["id"]}, token))["groupBuy"]

    async def customer(self, name: str) -> str:
        return await self.issue_customer_token(name)

    async def open_group(self, campaign: dict[str, Any], sku: Sku, leader: str | None = None) -> dict[str, Any]:
        """A group whose leader has paid (FORMING)."""
        started = await self.start(leader or await self.customer("o-leader"), campaign, sku)
        assert started["errors"] == [], started["errors"]
        await self.shop.pay(started["payment"])
        return started["group"]

    async def paid_member(self, group: dict[str, Any], sku: Sku, name: str) -> dict[str, Any]:
        joined = await self.join(await self.customer(name), group, sku)
        assert joined["errors"] == [], joined["errors"]
        await self.shop.pay(joined["payment"])
        return joined["order"]


@pytest_asyncio.fixture
async def desk(shop: Shop, gql: GraphQLClient, operator_token: str, issue_customer_token) -> GroupDesk:
    return GroupDesk(shop=shop, gql=gql, staff_token=operator_token, issue_customer_token=issue_customer_token)

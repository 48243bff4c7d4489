"""Distribution through the API: customers who apply and share, the owner who sets the rules, a clock to move."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette

from domain.distribution.binding import distributor_of
from domain.identity.models import Customer
from tests.support.graphql import GraphQLClient

APPLY = """mutation($i: DistributorApplyInput!) { distributorApply(input: $i) {
  distributor { status level shareCode rejectReason } errors { code field } } }"""
APPROVE = """mutation($i: DistributorApproveInput!) { distributorApprove(input: $i) {
  distributor { id status enabled } errors { code field } } }"""
REJECT = """mutation($i: DistributorRejectInput!) { distributorReject(input: $i) {
  distributor { id status rejectReason } errors { code field } } }"""
SET_ENABLED = """mutation($i: DistributorSetEnabledInput!) { distributorSetEnabled(input: $i) {
  distributor { id enabled } errors { code field } } }"""
STAFF_LIST = """query($s: DistributorStatus) { staffDistributors(status: $s) { totalCount
  edges { node { id status realName phone customer { id } } } } }"""
SETTINGS_UPDATE = """mutation($i: DistributionSettingsUpdateInput!) { distributionSettingsUpdate(input: $i) {
  settings { version enabled levels directRateBp parentRateBp bindingMode windowDays freezeDays earningKinds
    selfPurchaseEarns withdrawalMinimum withdrawalFeeBp distributorLevels { level name directRateBp parentRateBp }
    productRates { productId rateBp fixedFen } }
  errors { code field } } }"""
SHARE = """mutation($i: ShareLinkCreateInput!) { shareLinkCreate(input: $i) {
  shareLink { code path opens customersBound orders gmv { amount } target { kind id } } errors { code field } } }"""
OPEN = """mutation($code: String!) { shareLinkOpen(input: {code: $code}) {
  target { kind id } errors { code field } } }"""
MY_DISTRIBUTOR = """{ me { distributor { status shareCode summary { teamSize secondLevelSize }
  team { totalCount edges { node { nickname } } } level2: team(level: 2) { totalCount edges { node { nickname } } }
  shareLinks { totalCount edges { node { code opens customersBound } } } } } }"""


@dataclass
class Person:
    token: str
    id: int
    share_code: str | None = None
    distributor_id: str | None = None


class Distribution:
    def __init__(self, app: Starlette, gql: GraphQLClient, owner: str) -> None:
        self.app, self.gql, self.owner = app, gql, owner
        self.n = 0

    async def customer(self, nickname: str = "") -> Person:
        self.n += 1
        customer = await Customer.create(openid=f"o-dist-{self.n}", nickname=nickname or f"客户{self.n}")
        return Person(self.app.state.services.tokens.issue_customer(customer.id), customer.id)

    async def settings(self, **fields: Any) -> dict[str, Any]:
        return (await self.gql.data(SETTINGS_UPDATE, {"i": fields}, self.owner))["distributionSettingsUpdate"]

    async def turn_on(self, mode: str = "FIRST_TOUCH", **fields: Any) -> None:
        assert (await self.settings(enabled=True, bindingMode=mode, **fields))["errors"] == []

    async def apply(self, person: Person, **fields: Any) -> dict[str, Any]:
        values = {"realName": "张三", "phone": "13800138000", "reason": "朋友多", **fields}
        return (await self.gql.data(APPLY, {"i": values}, person.token))["distributorApply"]

    async def staff(self, query: str, values: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        data = await self.gql.data(query, {"i": values}, token or self.owner)
        return next(iter(data.values()))

    async def distributor(self, nickname: str = "") -> Person:
        """A customer who applied and was approved, with their shop share code."""
        return await self.distributor_from(await self.customer(nickname))

    async def distributor_from(self, person: Person) -> Person:
        """This customer applies and is approved."""
        assert (await self.apply(person))["errors"] == []
        listed = await self.gql.data(STAFF_LIST, {"s": "PENDING"}, self.owner)
        mine = [edge["node"]["id"] for edge in listed["staffDistributors"]["edges"]]
        approved = await self.staff(APPROVE, {"id": mine[0]})
        assert approved["errors"] == [], approved
        person.distributor_id = approved["distributor"]["id"]
        person.share_code = (await self.me(person))["shareCode"]
        return person

    async def me(self, person: Person) -> Any:
        return (await self.gql.data(MY_DISTRIBUTOR, token=person.token))["me"]["distributor"]

    async def open(self, code: str, person: Person | None = None) -> dict[str, Any]:
        return (await self.gql.data(OPEN, {"code": code}, person.token if person else None))["shareLinkOpen"]

    async def bound_to(self, person: Person) -> int | None:
        found = await distributor_of(person.id)
        return None if found is None else found.customer_id


@pytest.fixture
def dist(app: Starlette, gql: GraphQLClient, owner_token: str) -> Distribution:
    return Distribution(app, gql, owner_token)

"""Commission withdrawals through the API: the customer's request, staff decisions, and WeChat Pay's merchant
transfer (the embedded simulator) paying or failing them, notified and swept, each outcome applied once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from domain.balances import service as balances
from domain.commissions import balance
from domain.commissions.models import OWNER_KIND
from domain.distribution.models import Distributor
from domain.transfers.ports import TransferBill
from domain.withdrawals.models import Withdrawal, WithdrawalStatus
from server.wiring import withdrawal_transfer_finished
from tests.api.distribution.conftest import Distribution, Person
from tests.fixtures.catalog import gid
from tests.fixtures.orders_paid import PayFlow
from tests.support.graphql import GraphQLClient, error_codes
from workers.sweeps import reconcile_withdrawals

FIELDS = "id status amount { amount } fee { amount } payout { amount } packageInfo transferState failReason"
WITHDRAW = f"""mutation($i: CommissionWithdrawInput!) {{ commissionWithdraw(input: $i) {{
  withdrawal {{ {FIELDS} }} errors {{ code field }} }} }}"""
APPROVE = f"""mutation($i: WithdrawalApproveInput!) {{ withdrawalApprove(input: $i) {{
  withdrawal {{ {FIELDS} }} errors {{ code field }} }} }}"""
REJECT = f"""mutation($i: WithdrawalRejectInput!) {{ withdrawalReject(input: $i) {{
  withdrawal {{ {FIELDS} rejectReason }} errors {{ code field }} }} }}"""
STAFF_LIST = """query($s: WithdrawalStatus) { staffWithdrawals(status: $s) { totalCount
  edges { node { id status amount { amount } distributor { id } } } } }"""
MINE = """{ me { distributor { withdrawals { totalCount edges { node { id status packageInfo } } } } } }"""
MINE_WHO = """{ me { distributor { withdrawals { edges { node { distributor { id } } } } } } }"""


class Desk:
    def __init__(self, dist: Distribution, gql: GraphQLClient, finance: str, flow: PayFlow) -> None:
        self.dist, self.gql, self.finance, self.flow = dist, gql, finance, flow

    async def koc(self, earned: int) -> Person:
        person = await self.dist.distributor()
        found = await Distributor.get(customer_id=person.id)
        async with in_transaction():
            await balances.move(balance.owner(found.id), "available", earned, f"earned:{found.id}", floor=None)
        return person

    async def withdraw(self, person: Person, amount: int, key: str | None = "k1") -> dict[str, Any]:
        values: dict[str, Any] = {"amount": amount, "idempotencyKey": key}
        return (await self.gql.data(WITHDRAW, {"i": values}, person.token))["commissionWithdraw"]

    async def decide(self, query: str, values: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        data = await self.gql.data(query, {"i": values}, token or self.finance)
        return next(iter(data.values()))

    async def approve(self, withdrawal_id: str) -> dict[str, Any]:
        return await self.decide(APPROVE, {"withdrawalId": withdrawal_id})

    async def sweep(self) -> int:
        deps = self.dist.app.state.runtime.services.orders
        return await reconcile_withdrawals(deps, deps.clock())


@pytest.fixture
def desk(dist: Distribution, gql: GraphQLClient, finance_token: str, pay_flow: PayFlow) -> Desk:
    return Desk(dist, gql, finance_token, pay_flow)


async def held(person: Person) -> tuple[int, int]:
    found = await balance.summary((await Distributor.get(customer_id=person.id)).id)
    return found.available, found.withdrawn


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


async def test_fifty_concurrent_withdrawals_of_the_whole_balance_leave_exactly_one(desk: Desk) -> None:
    koc = await desk.koc(3000)
    outcomes = await asyncio.gather(*[desk.withdraw(koc, 3000, f"k{i}") for i in range(50)])
    won = [o for o in outcomes if o["withdrawal"] is not None]
    assert len(won) == 1 and won[0]["withdrawal"]["status"] == "REQUESTED"
    assert sorted({code for o in outcomes for code in codes(o)}) == ["INSUFFICIENT_BALANCE"]
    assert await held(koc) == (0, 3000)
    assert await balances.mismatches(OWNER_KIND) == []


async def test_a_replay_the_minimum_and_more_than_available(desk: Desk) -> None:
    assert (await desk.dist.settings(withdrawalMinimum=200, withdrawalFeeBp=100))["errors"] == []
    koc = await desk.koc(1000)
    first = await desk.withdraw(koc, 500)
    assert first["withdrawal"]["fee"] == {"amount": 5} and first["withdrawal"]["payout"] == {"amount": 495}
    again = await desk.withdraw(koc, 500)
    assert again["withdrawal"]["id"] == first["withdrawal"]["id"]
    assert codes(await desk.withdraw(koc, 600)) == ["DUPLICATE"]
    assert codes(await desk.withdraw(koc, 199, "low")) == ["INVALID"]
    assert codes(await desk.withdraw(koc, 501, "high")) == ["INSUFFICIENT_BALANCE"]
    assert await held(koc) == (500, 500)
    stranger = await desk.dist.customer()
    assert codes(await desk.withdraw(stranger, 500)) == ["INVALID_STATE"]


async def test_reject_gives_back_once_and_only_finance_or_owner_decide(desk: Desk, operator_token: str) -> None:
    koc = await desk.koc(1000)
    taken = (await desk.withdraw(koc, 800))["withdrawal"]
    values = {"withdrawalId": taken["id"], "reason": "资料不全"}
    for token in (operator_token, koc.token):
        assert error_codes(await desk.gql(REJECT, {"i": values}, token)) == ["FORBIDDEN"]
        assert error_codes(await desk.gql(APPROVE, {"i": {"withdrawalId": taken["id"]}}, token)) == ["FORBIDDEN"]
        assert error_codes(await desk.gql(STAFF_LIST, {}, token)) == ["FORBIDDEN"]
    rejected = await desk.decide(REJECT, values)
    assert rejected["withdrawal"]["status"] == "REJECTED" and rejected["withdrawal"]["rejectReason"] == "资料不全"
    assert codes(await desk.decide(REJECT, values)) == ["INVALID_STATE"]
    assert codes(await desk.approve(taken["id"])) == ["INVALID_STATE"]
    assert codes(await desk.approve(gid("Withdrawal", 999999))) == ["NOT_FOUND"]
    assert await held(koc) == (1000, 0)
    listed = (await desk.gql.data(STAFF_LIST, {"s": "REJECTED"}, desk.dist.owner))["staffWithdrawals"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["distributor"] == {"id": koc.distributor_id}
    assert (await desk.gql.data(STAFF_LIST, {"s": "REQUESTED"}, desk.finance))["staffWithdrawals"]["totalCount"] == 0


async def test_success_notified_again_and_swept_pays_once(desk: Desk) -> None:
    koc = await desk.koc(1500)
    taken = (await desk.withdraw(koc, 1500))["withdrawal"]
    approved = (await desk.approve(taken["id"]))["withdrawal"]
    assert approved["status"] == "TRANSFERRING" and approved["transferState"] == "WAIT_USER_CONFIRM"
    mine = (await desk.gql.data(MINE, token=koc.token))["me"]["distributor"]["withdrawals"]["edges"][0]["node"]
    assert mine["packageInfo"] == approved["packageInfo"] and mine["packageInfo"]
    row = await Withdrawal.get(distributor__customer_id=koc.id)
    assert row.out_bill_no is not None and row.out_bill_no.isalnum() and len(row.out_bill_no) <= 32
    await desk.flow.finish_transfer(row.out_bill_no)
    assert (await Withdrawal.get(id=row.id)).status == WithdrawalStatus.PAID
    bill = TransferBill(row.out_bill_no, "SUCCESS", row.transfer_bill_no, None)
    again = await asyncio.gather(withdrawal_transfer_finished(bill), withdrawal_transfer_finished(bill),
                                 desk.sweep())
    assert again[:2] == ["withdrawal:PAID", "withdrawal:PAID"] and again[2] == 0
    assert await held(koc) == (0, 1500)
    assert await balances.mismatches(OWNER_KIND) == []


async def test_a_failed_transfer_gives_back_once_when_notified_twice_and_swept(desk: Desk) -> None:
    koc = await desk.koc(1200)
    taken = (await desk.withdraw(koc, 1000))["withdrawal"]
    await desk.approve(taken["id"])
    row = await Withdrawal.get(distributor__customer_id=koc.id)
    assert row.out_bill_no is not None
    await desk.flow.faults(duplicate=3)
    await desk.flow.finish_transfer(row.out_bill_no, "reject", fail_reason="ACCOUNT_FROZEN")
    bill = TransferBill(row.out_bill_no, "FAIL", row.transfer_bill_no, "ACCOUNT_FROZEN")
    await asyncio.gather(withdrawal_transfer_finished(bill), withdrawal_transfer_finished(bill), desk.sweep())
    found = await Withdrawal.get(id=row.id)
    assert (found.status, found.fail_reason) == (WithdrawalStatus.FAILED, "ACCOUNT_FROZEN")
    assert await held(koc) == (1200, 0)
    assert await balances.mismatches(OWNER_KIND) == []
    mine = (await desk.gql.data(MINE, token=koc.token))["me"]["distributor"]["withdrawals"]["edges"][0]["node"]
    assert mine == {"id": taken["id"], "status": "FAILED", "packageInfo": None}


@pytest.mark.parametrize("took_effect", [True, False])
async def test_an_unanswered_transfer_is_finished_by_the_sweep_under_the_same_number(desk: Desk,
                                                                                      took_effect: bool) -> None:
    koc = await desk.koc(900)
    taken = (await desk.withdraw(koc, 900))["withdrawal"]
    await desk.flow.faults(api_error="SYSTEM_ERROR", after_commit=took_effect, endpoint="transfer")
    approved = (await desk.approve(taken["id"]))["withdrawal"]
    assert (approved["status"], approved["packageInfo"]) == ("TRANSFERRING", None)
    row = await Withdrawal.get(distributor__customer_id=koc.id)
    assert row.out_bill_no is not None and row.package_info is None
    assert await desk.sweep() == 0  # now known to WeChat Pay, waiting for the user
    swept = await Withdrawal.get(id=row.id)
    assert swept.out_bill_no == row.out_bill_no and swept.package_info and swept.transfer_bill_no
    sim = desk.flow.app.state.runtime.simulators.wechatpay.state.simulator
    assert list(sim.transfers) == [row.out_bill_no]
    await desk.flow.faults(drop=True)  # the notification never arrives: the sweep finds the bill paid
    await desk.flow.finish_transfer(row.out_bill_no)
    assert await desk.sweep() == 1
    assert (await Withdrawal.get(id=row.id)).status == WithdrawalStatus.PAID
    assert await held(koc) == (0, 900)


async def test_a_customer_sees_only_their_own_withdrawals(desk: Desk) -> None:
    koc, other = await desk.koc(500), await desk.koc(500)
    taken = (await desk.withdraw(koc, 500))["withdrawal"]
    theirs = (await desk.gql.data(MINE, token=other.token))["me"]["distributor"]["withdrawals"]
    assert theirs == {"totalCount": 0, "edges": []}
    mine = (await desk.gql.data(MINE_WHO, token=koc.token))["me"]["distributor"]["withdrawals"]["edges"]
    assert mine == [{"node": {"distributor": None}}]
    node = await desk.gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": taken["id"]}, other.token)
    assert node == {"node": None}
    assert error_codes(await desk.gql(STAFF_LIST, {}, other.token)) == ["FORBIDDEN"]

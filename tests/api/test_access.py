"""Access can be taken back: deactivation, role changes and blocking take effect on the account's next request."""

from __future__ import annotations

import asyncio

import pytest

from domain.identity.models import Customer, Staff, StaffRole
from domain.identity.service import create_staff
from tests.fixtures.catalog import gid
from tests.support.graphql import count_queries, error_codes

STAFF_ME = "{ staffMe { username role } }"
ME = "{ me { id } }"
REFRESH = "mutation { tokenRefresh { token errors { code } } }"
DEACTIVATE = """mutation($id: ID!) { staffDeactivate(input: {staffId: $id}) {
  staff { username role active } errors { code message field } } }"""
ROLE_CHANGE = """mutation($id: ID!, $role: StaffRole!) { staffRoleChange(input: {staffId: $id, role: $role}) {
  staff { username role active } errors { code message field } } }"""
BLOCK = """mutation($id: ID!, $blocked: Boolean!) { customerBlock(input: {customerId: $id, blocked: $blocked}) {
  customer { id blocked } errors { code message } } }"""
LOGIN = "mutation($code: String!) { login(input: {code: $code}) { token errors { code message } } }"
STAFF_LOGIN = """mutation($u: String!, $p: String!) { staffLogin(input: {username: $u, password: $p}) {
  token errors { code message } } }"""
PASSWORD = "s3cret-pass"


def staff_id(app, token: str) -> int:
    return app.state.services.tokens.decode(token).id


async def staff_token(gql, username: str, role: StaffRole) -> str:
    await create_staff(username, PASSWORD, role)
    token = (await gql.data(STAFF_LOGIN, {"u": username, "p": PASSWORD}))["staffLogin"]["token"]
    assert token
    return token


async def test_a_deactivated_member_is_refused_on_the_next_request_and_cannot_log_in(gql, app, owner_token):
    operator = await staff_token(gql, "olivia", StaffRole.OPERATOR)
    assert (await gql.data(STAFF_ME, token=operator))["staffMe"]["username"] == "olivia"
    await gql.data(STAFF_ME, token=operator)  # the standing is now cached: the change must still be seen at once

    done = (await gql.data(DEACTIVATE, {"id": gid("Staff", staff_id(app, operator))}, owner_token))["staffDeactivate"]

    assert done == {"staff": {"username": "olivia", "role": "OPERATOR", "active": False}, "errors": []}
    assert error_codes(await gql(STAFF_ME, token=operator)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(REFRESH, token=operator)) == ["UNAUTHENTICATED"]
    login = (await gql.data(STAFF_LOGIN, {"u": "olivia", "p": PASSWORD}))["staffLogin"]
    assert login["token"] is None and login["errors"][0]["code"] == "LOGIN_FAILED"


async def test_a_role_change_ends_the_old_tokens_and_the_next_login_carries_the_new_role(gql, app, owner_token):
    operator = await staff_token(gql, "oscar", StaffRole.OPERATOR)
    await gql.data(STAFF_ME, token=operator)

    changed = (await gql.data(ROLE_CHANGE, {"id": gid("Staff", staff_id(app, operator)), "role": "FINANCE"},
                              owner_token))["staffRoleChange"]

    assert changed == {"staff": {"username": "oscar", "role": "FINANCE", "active": True}, "errors": []}
    assert error_codes(await gql(STAFF_ME, token=operator)) == ["UNAUTHENTICATED"]
    fresh = (await gql.data(STAFF_LOGIN, {"u": "oscar", "p": PASSWORD}))["staffLogin"]["token"]
    assert (await gql.data(STAFF_ME, token=fresh))["staffMe"] == {"username": "oscar", "role": "FINANCE"}
    refreshed = (await gql.data(REFRESH, token=fresh))["tokenRefresh"]["token"]
    assert (await gql.data(STAFF_ME, token=refreshed))["staffMe"]["role"] == "FINANCE"


async def test_changing_to_the_same_role_keeps_the_tokens(gql, app, owner_token):
    operator = await staff_token(gql, "otto", StaffRole.OPERATOR)
    same = await gql.data(ROLE_CHANGE, {"id": gid("Staff", staff_id(app, operator)), "role": "OPERATOR"}, owner_token)
    assert same["staffRoleChange"]["errors"] == []
    assert (await gql.data(STAFF_ME, token=operator))["staffMe"]["username"] == "otto"


async def test_a_token_for_a_staff_id_that_does_not_exist_is_unauthenticated(gql, app, db):
    ghost = app.state.services.tokens.issue_staff(424242, StaffRole.OWNER)
    assert error_codes(await gql(STAFF_ME, token=ghost)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(REFRESH, token=ghost)) == ["UNAUTHENTICATED"]
    ghost_customer = app.state.services.tokens.issue_customer(434343)
    assert error_codes(await gql(ME, token=ghost_customer)) == ["UNAUTHENTICATED"]


async def test_a_deleted_member_is_refused_after_the_cache_expires(gql, app, monkeypatch):
    operator = await staff_token(gql, "ophelia", StaffRole.OPERATOR)
    await gql.data(STAFF_ME, token=operator)
    await Staff.filter(username="ophelia").delete()  # behind Pond's back: no notice to the cache
    app.state.services.access.clear()  # what the expiry does a few seconds later
    assert error_codes(await gql(STAFF_ME, token=operator)) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize("mutation", ["deactivate", "demote"])
async def test_the_last_active_owner_cannot_deactivate_or_demote_themselves(gql, app, owner_token, mutation):
    me = gid("Staff", staff_id(app, owner_token))
    query, variables = (DEACTIVATE, {"id": me}) if mutation == "deactivate" else (ROLE_CHANGE, {"id": me,
                                                                                                "role": "OPERATOR"})
    answer = next(iter((await gql.data(query, variables, owner_token)).values()))
    assert answer["staff"] is None and answer["errors"][0]["code"] == "INVALID_STATE"
    assert "at least one active owner" in answer["errors"][0]["message"]
    owner = await Staff.get(id=staff_id(app, owner_token))
    assert owner.active and owner.role == StaffRole.OWNER and owner.token_version == 0
    assert (await gql.data(STAFF_ME, token=owner_token))["staffMe"]["role"] == "OWNER"


async def test_an_owner_may_step_down_while_another_active_owner_remains(gql, app, owner_token):
    await staff_token(gql, "second-owner", StaffRole.OWNER)
    me = gid("Staff", staff_id(app, owner_token))
    answer = (await gql.data(ROLE_CHANGE, {"id": me, "role": "OPERATOR"}, owner_token))["staffRoleChange"]
    assert answer["errors"] == [] and answer["staff"]["role"] == "OPERATOR"
    assert error_codes(await gql(STAFF_ME, token=owner_token)) == ["UNAUTHENTICATED"]


async def test_two_owners_deactivating_each_other_at_once_leave_one_active_owner(gql, app, owner_token):
    other = await staff_token(gql, "co-owner", StaffRole.OWNER)
    answers = await asyncio.gather(
        gql(DEACTIVATE, {"id": gid("Staff", staff_id(app, other))}, owner_token),
        gql(DEACTIVATE, {"id": gid("Staff", staff_id(app, owner_token))}, other),
    )
    # the loser is refused by the last-owner rule, or at the door when the winner's change landed first
    outcomes = sorted(error_codes(answer)[0] if "errors" in answer else
                      (answer["data"]["staffDeactivate"]["errors"] or [{"code": "ok"}])[0]["code"]
                      for answer in answers)
    assert outcomes in (["INVALID_STATE", "ok"], ["UNAUTHENTICATED", "ok"])
    assert await Staff.filter(role=StaffRole.OWNER, active=True).count() == 1


@pytest.mark.parametrize("who", ["operator", "finance", "customer"])
async def test_only_owners_manage_staff(gql, app, who, operator_token, finance_token, customer_token):
    token = {"operator": operator_token, "finance": finance_token, "customer": customer_token}[who]
    target = gid("Staff", staff_id(app, operator_token))
    for query, variables in ((DEACTIVATE, {"id": target}), (ROLE_CHANGE, {"id": target, "role": "OWNER"})):
        assert error_codes(await gql(query, variables, token)) == ["FORBIDDEN"]
    assert await Staff.filter(active=True).count() == 2 and await Staff.filter(role=StaffRole.OWNER).count() == 0


async def test_an_unknown_staff_id_is_not_found(gql, owner_token):
    for query, variables in ((DEACTIVATE, {"id": gid("Staff", 999)}),
                             (ROLE_CHANGE, {"id": gid("Customer", 1), "role": "FINANCE"})):
        answer = next(iter((await gql.data(query, variables, owner_token)).values()))
        assert answer["errors"][0]["code"] == "NOT_FOUND" and answer["errors"][0]["field"] == ["staffId"]


async def test_a_blocked_customer_is_refused_at_once_cannot_log_in_and_can_after_unblocking(gql, operator_token):
    token = (await gql.data(LOGIN, {"code": "mallory#1"}))["login"]["token"]
    me = (await gql.data(ME, token=token))["me"]["id"]

    blocked = (await gql.data(BLOCK, {"id": me, "blocked": True}, operator_token))["customerBlock"]

    assert blocked == {"customer": {"id": me, "blocked": True}, "errors": []}
    assert error_codes(await gql(ME, token=token)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(REFRESH, token=token)) == ["UNAUTHENTICATED"]
    refused = (await gql.data(LOGIN, {"code": "mallory#2"}))["login"]
    assert refused["token"] is None
    assert refused["errors"] == [{"code": "LOGIN_FAILED", "message": "this account has been blocked by the store"}]

    await gql.data(BLOCK, {"id": me, "blocked": False}, operator_token)
    again = (await gql.data(LOGIN, {"code": "mallory#3"}))["login"]["token"]
    assert (await gql.data(ME, token=again))["me"]["id"] == me


async def test_finance_staff_and_customers_cannot_block_customers(gql, finance_token, customer_token):
    customer = await Customer.get(openid="o-customer-a")
    for token in (finance_token, customer_token):
        assert error_codes(await gql(BLOCK, {"id": gid("Customer", customer.id), "blocked": True}, token)) == [
            "FORBIDDEN"]
    assert not (await Customer.get(id=customer.id)).blocked
    assert (await gql.data(ME, token=customer_token))["me"]["id"] == gid("Customer", customer.id)


async def test_the_token_check_reads_the_account_once_then_serves_it_from_the_cache(gql, app, owner_token):
    app.state.services.access.clear()
    with count_queries() as cold:
        await gql.data("{ staffMe { username } }", token=owner_token)
    with count_queries() as warm:
        await gql.data("{ staffMe { username } }", token=owner_token)
    assert len(cold) == 2 and len(warm) == 1  # staffMe's own read, plus one account check on the first request only


STAFF_MEMBERS = """query($after: String) { staffMembers(first: 2, after: $after) { totalCount
  edges { node { id username role active } } pageInfo { hasNextPage endCursor } } }"""


async def test_owners_list_every_staff_account_to_find_whom_to_change(gql, app, owner_token, operator_token,
                                                                      finance_token):
    await gql.data(DEACTIVATE, {"id": gid("Staff", staff_id(app, finance_token))}, owner_token)
    first = (await gql.data(STAFF_MEMBERS, {}, owner_token))["staffMembers"]
    rest = (await gql.data(STAFF_MEMBERS, {"after": first["pageInfo"]["endCursor"]}, owner_token))["staffMembers"]
    members = [edge["node"] for edge in first["edges"] + rest["edges"]]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] and not rest["pageInfo"]["hasNextPage"]
    assert [(m["username"], m["role"], m["active"]) for m in members] == [
        ("owner-1", "OWNER", True), ("operator-1", "OPERATOR", True), ("finance-1", "FINANCE", False)]
    assert members[1]["id"] == gid("Staff", staff_id(app, operator_token))
    assert error_codes(await gql(STAFF_MEMBERS, {}, operator_token)) == ["FORBIDDEN"]

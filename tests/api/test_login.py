"""Logging in: WeChat codes through the code2Session simulator, staff passwords, signed expiring tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.identity.models import Customer, StaffRole
from domain.identity.service import create_staff
from domain.identity.tokens import TokenService
from tests.conftest import TEST_SECRET
from tests.support.graphql import error_codes

LOGIN = """mutation($code: String!) { login(input: {code: $code}) {
  token customer { id nickname } errors { code message field } } }"""
STAFF_LOGIN = """mutation($u: String!, $p: String!) { staffLogin(input: {username: $u, password: $p}) {
  token staff { username role } errors { code } } }"""
ME = "{ me { id phone } }"


async def test_a_wechat_code_logs_in_and_the_token_reads_me(gql):
    payload = (await gql.data(LOGIN, {"code": "alice#1"}))["login"]
    assert payload["errors"] == [] and payload["token"]
    me = (await gql.data(ME, token=payload["token"]))["me"]
    assert me["id"] == payload["customer"]["id"]
    assert await Customer.all().count() == 1


async def test_the_same_wechat_user_is_the_same_customer_across_codes(gql):
    first = (await gql.data(LOGIN, {"code": "bob#1"}))["login"]["customer"]["id"]
    second = (await gql.data(LOGIN, {"code": "bob#2"}))["login"]["customer"]["id"]
    other = (await gql.data(LOGIN, {"code": "carol#1"}))["login"]["customer"]["id"]
    assert first == second != other


async def test_a_reused_code_fails_with_login_failed_and_no_token(gql):
    await gql.data(LOGIN, {"code": "dave#1"})
    payload = (await gql.data(LOGIN, {"code": "dave#1"}))["login"]
    assert payload["token"] is None and payload["customer"] is None
    assert payload["errors"][0]["code"] == "LOGIN_FAILED"
    assert "40163" in payload["errors"][0]["message"]


async def test_a_malformed_code_fails_with_40029(gql):
    payload = (await gql.data(LOGIN, {"code": "no spaces allowed!"}))["login"]
    assert payload["token"] is None
    assert payload["errors"][0]["code"] == "LOGIN_FAILED" and "40029" in payload["errors"][0]["message"]
    assert await Customer.all().count() == 0


async def test_logins_over_the_limit_per_client_are_rate_limited(gql, app):
    services = app.state.services
    limit, services.login_rate_limit = services.login_rate_limit, 3
    try:
        results = [(await gql.data(LOGIN, {"code": f"eve#{i}"}))["login"] for i in range(5)]
    finally:
        services.login_rate_limit = limit
    assert [bool(r["token"]) for r in results] == [True, True, True, False, False]
    assert results[3]["errors"][0]["code"] == "RATE_LIMITED"


async def test_staff_log_in_with_a_password_and_wrong_ones_fail_the_same_way(gql, db):
    await create_staff("boss", "s3cret-pass", StaffRole.OWNER)
    ok = (await gql.data(STAFF_LOGIN, {"u": "boss", "p": "s3cret-pass"}))["staffLogin"]
    assert ok["staff"] == {"username": "boss", "role": "OWNER"} and ok["token"]
    staff_me = await gql.data("{ staffMe { username } }", token=ok["token"])
    assert staff_me == {"staffMe": {"username": "boss"}}
    for username, password in [("boss", "wrong-pass"), ("nobody", "s3cret-pass")]:
        failed = (await gql.data(STAFF_LOGIN, {"u": username, "p": password}))["staffLogin"]
        assert failed == {"token": None, "staff": None, "errors": [{"code": "LOGIN_FAILED"}]}


async def test_me_needs_a_customer_token(gql, owner_token):
    assert error_codes(await gql(ME)) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(ME, token=owner_token)) == ["FORBIDDEN"]


async def test_an_expired_token_is_unauthenticated(gql, app, db):
    customer = await Customer.create(openid="o-expired")
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    past = TokenService(TEST_SECRET, timedelta(seconds=1), timedelta(seconds=1), clock=lambda: long_ago)
    token = past.issue_customer(customer.id)
    assert error_codes(await gql(ME, token=token)) == ["UNAUTHENTICATED"]


async def test_phone_is_masked(gql, issue_customer_token):
    token = await issue_customer_token("o-phone")
    await Customer.filter(openid="o-phone").update(phone="13812348000")
    assert (await gql.data(ME, token=token))["me"]["phone"] == "138****8000"


REFRESH = "mutation { tokenRefresh { token errors { code } } }"


async def test_token_refresh_gives_the_same_account_a_new_token(gql, customer_token, owner_token):
    for token, me in ((customer_token, "me { id }"), (owner_token, "staffMe { id role }")):
        before = (await gql.data(f"{{ {me} }}", None, token))
        fresh = (await gql.data(REFRESH, None, token))["tokenRefresh"]
        assert fresh["errors"] == [] and fresh["token"]
        assert (await gql.data(f"{{ {me} }}", None, fresh["token"])) == before


async def test_token_refresh_needs_a_valid_token(gql):
    assert (await gql(REFRESH))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    answer = await gql(REFRESH, None, "not-a-token")
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

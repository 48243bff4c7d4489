from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.errors import DomainError, ErrorCode
from domain.identity.models import Customer
from domain.identity.ports import LoginRejected, WeChatIdentity
from domain.identity.service import login_customer, login_customer_with_status
from server.wechat_sessions import WeChatClientSessions
from tests.domain.identity.conftest import APPID
from wechat.simulator import openid_for, unionid_for

pytestmark = pytest.mark.usefixtures("db")

ROOT = Path(__file__).resolve().parents[3]
OUTER_LAYERS = {"schema", "resolvers", "payments", "workers", "wechat", "server"}


class ScriptedSessions:
    """A stand-in WeChat that answers from a list and records every code it was asked about."""

    def __init__(self, *answers: WeChatIdentity | LoginRejected) -> None:
        self.answers = list(answers)
        self.codes: list[str] = []

    async def code2session(self, code: str) -> WeChatIdentity:
        self.codes.append(code)
        answer = self.answers.pop(0)
        if isinstance(answer, LoginRejected):
            raise answer
        return answer


async def test_a_first_login_creates_the_customer_with_openid_unionid_and_login_time(
    wechat_sessions: WeChatClientSessions,
) -> None:
    before = datetime.now(UTC)

    customer = await login_customer(wechat_sessions, "alice#1")

    stored = await Customer.get(id=customer.id)
    assert stored.openid == openid_for(APPID, "alice")
    assert stored.unionid == unionid_for("alice")
    assert stored.last_login_at is not None
    assert before - timedelta(seconds=1) <= stored.last_login_at <= datetime.now(UTC)
    assert stored.last_login_at.utcoffset() == timedelta(0)


async def test_logging_in_again_returns_the_same_customer_and_updates_the_login_time(
    wechat_sessions: WeChatClientSessions,
) -> None:
    first = await login_customer(wechat_sessions, "alice#1")
    await asyncio.sleep(0.01)
    second = await login_customer(wechat_sessions, "alice#2")

    assert second.id == first.id
    assert await Customer.all().count() == 1
    stored = await Customer.get(id=first.id)
    assert first.last_login_at is not None and stored.last_login_at is not None
    assert stored.last_login_at > first.last_login_at


async def test_different_wechat_users_become_different_customers(wechat_sessions: WeChatClientSessions) -> None:
    alice = await login_customer(wechat_sessions, "alice#1")
    bob = await login_customer(wechat_sessions, "bob#1")

    assert alice.id != bob.id
    assert sorted(await Customer.all().values_list("openid", flat=True)) == sorted(
        [openid_for(APPID, "alice"), openid_for(APPID, "bob")]
    )


async def test_twenty_concurrent_first_logins_of_one_user_create_exactly_one_customer(
    wechat_sessions: WeChatClientSessions,
) -> None:
    results = await asyncio.gather(*(login_customer_with_status(wechat_sessions, f"carol#{n}") for n in range(20)))

    assert await Customer.all().count() == 1
    assert {customer.id for customer, _ in results} == {(await Customer.get(openid=openid_for(APPID, "carol"))).id}
    assert sum(created for _, created in results) == 1


async def test_a_login_that_loses_the_creation_race_reads_the_winners_row(monkeypatch: pytest.MonkeyPatch) -> None:
    winner = await Customer.create(openid="oRaced", unionid=None)

    async def not_there_yet(**_: object) -> None:
        return None

    monkeypatch.setattr(Customer, "get_or_none", not_there_yet)
    customer, created = await login_customer_with_status(ScriptedSessions(WeChatIdentity("oRaced", "uRaced")), "c")

    assert created is False
    assert customer.id == winner.id
    stored = await Customer.get(id=winner.id)
    assert stored.unionid == "uRaced"
    assert stored.last_login_at is not None
    assert await Customer.all().count() == 1


async def test_a_unionid_that_becomes_known_later_is_filled_in() -> None:
    sessions = ScriptedSessions(WeChatIdentity("oLate", None), WeChatIdentity("oLate", "uLate"))

    first = await login_customer(sessions, "code-1")
    assert (await Customer.get(id=first.id)).unionid is None
    await login_customer(sessions, "code-2")

    assert (await Customer.get(id=first.id)).unionid == "uLate"


async def test_a_login_without_unionid_keeps_the_known_unionid() -> None:
    sessions = ScriptedSessions(WeChatIdentity("oKeep", "uKeep"), WeChatIdentity("oKeep", None))

    customer = await login_customer(sessions, "code-1")
    await login_customer(sessions, "code-2")

    assert (await Customer.get(id=customer.id)).unionid == "uKeep"


@pytest.mark.parametrize(
    ("code", "errcode"),
    [("alice!!", 40029), ("risky-eve#1", 40226), ("busy#1", -1)],
)
async def test_codes_wechat_refuses_fail_with_login_failed_naming_the_errcode(
    wechat_sessions: WeChatClientSessions, code: str, errcode: int
) -> None:
    with pytest.raises(DomainError) as caught:
        await login_customer(wechat_sessions, code)

    assert caught.value.code is ErrorCode.LOGIN_FAILED
    assert f"({errcode})" in caught.value.message
    assert await Customer.all().count() == 0


async def test_a_reused_code_fails_with_login_failed_40163(wechat_sessions: WeChatClientSessions) -> None:
    await login_customer(wechat_sessions, "dave#1")

    with pytest.raises(DomainError) as caught:
        await login_customer(wechat_sessions, "dave#1")

    assert caught.value.code is ErrorCode.LOGIN_FAILED
    assert caught.value.message.startswith("WeChat rejected the login code (40163)")
    assert await Customer.all().count() == 1


@pytest.mark.parametrize("code", ["", "   ", "x" * 129])
async def test_an_empty_or_overlong_code_fails_without_asking_wechat(code: str) -> None:
    sessions = ScriptedSessions(WeChatIdentity("oNever", None))

    with pytest.raises(DomainError) as caught:
        await login_customer(sessions, code)

    assert caught.value.code is ErrorCode.LOGIN_FAILED
    assert sessions.codes == []
    assert await Customer.all().count() == 0


async def test_a_128_character_code_is_sent_to_wechat() -> None:
    sessions = ScriptedSessions(WeChatIdentity("oLong", None))

    customer = await login_customer(sessions, "y" * 128)

    assert sessions.codes == ["y" * 128]
    assert customer.openid == "oLong"


async def test_the_adapter_maps_wechat_errors_to_login_rejected_with_a_safe_message(
    wechat_sessions: WeChatClientSessions,
) -> None:
    with pytest.raises(LoginRejected) as caught:
        await wechat_sessions.code2session("bad code!")

    assert caught.value.errcode == 40029
    assert caught.value.message == "the login code is invalid or expired"
    assert caught.value.__cause__ is None
    assert "rid" not in str(caught.value)


async def test_the_adapter_returns_only_openid_and_unionid(wechat_sessions: WeChatClientSessions) -> None:
    identity = await wechat_sessions.code2session("erin#1")

    assert identity == WeChatIdentity(openid=openid_for(APPID, "erin"), unionid=unionid_for("erin"))
    assert [f.name for f in dataclasses.fields(identity)] == ["openid", "unionid"]


def test_the_identity_domain_loads_no_outer_layer() -> None:
    probe = (
        "import sys, domain.identity.service, domain.identity.tokens, domain.identity.ports;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & OUTER))"
    ).replace("OUTER", repr(OUTER_LAYERS))

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)

    assert result.stdout.strip() == "[]"

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from domain.errors import DomainError, ErrorCode, Invalid
from domain.identity import service
from domain.identity.models import Staff, StaffRole
from domain.identity.passwords import needs_rehash, verify_password
from domain.identity.service import authenticate_staff, create_staff

pytestmark = pytest.mark.usefixtures("db")

PASSWORD = "s3cret-password"


async def test_creating_staff_stores_a_hash_that_verifies_the_password() -> None:
    staff = await create_staff("olivia.owner", PASSWORD, StaffRole.OWNER)

    stored = await Staff.get(id=staff.id)
    assert stored.username == "olivia.owner"
    assert stored.role is StaffRole.OWNER
    assert stored.active is True
    assert PASSWORD not in stored.password_hash
    assert verify_password(stored.password_hash, PASSWORD) is True


async def test_a_role_given_as_text_is_accepted() -> None:
    staff = await create_staff("fiona", PASSWORD, "FINANCE")

    assert (await Staff.get(id=staff.id)).role is StaffRole.FINANCE


async def test_a_duplicate_username_is_reported_as_duplicate_and_changes_nothing() -> None:
    first = await create_staff("olivia", PASSWORD, StaffRole.OWNER)

    with pytest.raises(DomainError) as caught:
        await create_staff("olivia", "another-password", StaffRole.OPERATOR)

    assert caught.value.code is ErrorCode.DUPLICATE
    assert caught.value.field == ["username"]
    assert await Staff.all().count() == 1
    assert verify_password((await Staff.get(id=first.id)).password_hash, PASSWORD) is True


async def test_a_duplicate_username_that_slips_past_the_check_is_still_duplicate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await create_staff("olivia", PASSWORD, StaffRole.OWNER)

    async def says_free(**_: object) -> bool:
        return False

    monkeypatch.setattr(Staff, "exists", says_free)
    with pytest.raises(DomainError) as caught:
        await create_staff("olivia", PASSWORD, StaffRole.OWNER)

    assert caught.value.code is ErrorCode.DUPLICATE
    assert await Staff.all().count() == 1


@pytest.mark.parametrize("username", ["ab", "x" * 65, "has space", "semi;colon", "名字名字", ""])
async def test_a_malformed_username_is_invalid(username: str) -> None:
    with pytest.raises(Invalid) as caught:
        await create_staff(username, PASSWORD, StaffRole.OPERATOR)

    assert caught.value.field == ["username"]
    assert await Staff.all().count() == 0


@pytest.mark.parametrize("username", ["abc", "A.b-c_9", "x" * 64])
async def test_usernames_of_3_to_64_allowed_characters_are_accepted(username: str) -> None:
    staff = await create_staff(username, PASSWORD, StaffRole.OPERATOR)

    assert (await Staff.get(id=staff.id)).username == username


@pytest.mark.parametrize("password", ["short", "p" * 129])
async def test_a_password_outside_the_length_rules_is_invalid(password: str) -> None:
    with pytest.raises(Invalid) as caught:
        await create_staff("oscar", password, StaffRole.OPERATOR)

    assert caught.value.field == ["password"]
    assert await Staff.all().count() == 0


async def test_an_unknown_role_is_invalid() -> None:
    with pytest.raises(Invalid) as caught:
        await create_staff("oscar", PASSWORD, "JANITOR")

    assert caught.value.field == ["role"]
    assert await Staff.all().count() == 0


async def test_the_right_credentials_authenticate_the_staff_member() -> None:
    created = await create_staff("olivia", PASSWORD, StaffRole.OWNER)

    staff = await authenticate_staff("olivia", PASSWORD)

    assert (staff.id, staff.role) == (created.id, StaffRole.OWNER)


async def login_failure(username: str, password: str) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await authenticate_staff(username, password)
    return caught.value


async def test_a_wrong_password_an_unknown_user_and_an_inactive_user_fail_identically() -> None:
    await create_staff("olivia", PASSWORD, StaffRole.OWNER)
    inactive = await create_staff("ivan", PASSWORD, StaffRole.OPERATOR)
    await Staff.filter(id=inactive.id).update(active=False)

    failures = [
        await login_failure("olivia", "wrong-password"),
        await login_failure("nobody", PASSWORD),
        await login_failure("ivan", PASSWORD),
        await login_failure("bad name!", PASSWORD),
    ]

    assert {(f.code, f.message, tuple(f.field or ())) for f in failures} == {
        (ErrorCode.LOGIN_FAILED, "wrong username or password", ())
    }


async def test_an_unknown_user_still_costs_one_password_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []

    def recording_verify(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return verify_password(password_hash, password)

    monkeypatch.setattr(service, "verify_password", recording_verify)
    await login_failure("nobody", PASSWORD)

    assert len(checked) == 1
    assert checked[0].startswith("$argon2id$")
    assert needs_rehash(checked[0]) is False


async def test_a_login_with_a_weak_hash_upgrades_it() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    staff = await Staff.create(username="legacy", password_hash=weak, role=StaffRole.OPERATOR)

    await authenticate_staff("legacy", PASSWORD)

    upgraded = (await Staff.get(id=staff.id)).password_hash
    assert upgraded != weak
    assert needs_rehash(upgraded) is False
    assert verify_password(upgraded, PASSWORD) is True


async def test_a_failed_login_with_a_weak_hash_leaves_it_alone() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    staff = await Staff.create(username="legacy", password_hash=weak, role=StaffRole.OPERATOR)

    await login_failure("legacy", "wrong-password")

    assert (await Staff.get(id=staff.id)).password_hash == weak

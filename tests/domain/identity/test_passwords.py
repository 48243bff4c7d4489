from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from domain.errors import ErrorCode, Invalid
from domain.identity.passwords import hash_password, needs_rehash, validate_new_password, verify_password


def test_a_hashed_password_verifies_and_is_not_stored_in_clear() -> None:
    hashed = hash_password("correct horse battery")

    assert hashed.startswith("$argon2id$")
    assert "correct horse battery" not in hashed
    assert verify_password(hashed, "correct horse battery") is True


def test_hashing_the_same_password_twice_gives_different_salted_hashes() -> None:
    assert hash_password("same password") != hash_password("same password")


def test_a_wrong_password_does_not_verify() -> None:
    hashed = hash_password("correct horse battery")

    assert verify_password(hashed, "correct horse battery!") is False
    assert verify_password(hashed, "") is False


@pytest.mark.parametrize("broken", ["", "not-a-hash", "$argon2id$v=19$m=65536,t=3,p=4$garbage", "$2b$12$bcryptlike"])
def test_a_malformed_hash_verifies_as_false_instead_of_raising(broken: str) -> None:
    assert verify_password(broken, "whatever password") is False


def test_a_fresh_hash_does_not_need_rehashing_but_a_weaker_one_does() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("old password")

    assert needs_rehash(hash_password("new password")) is False
    assert needs_rehash(weak) is True
    assert verify_password(weak, "old password") is True


def test_a_malformed_hash_needs_rehashing() -> None:
    assert needs_rehash("not-a-hash") is True


@pytest.mark.parametrize("password", ["x" * 8, "p" * 128, "长密码长密码长密码"])
def test_passwords_between_8_and_128_characters_are_accepted(password: str) -> None:
    validate_new_password(password)  # raises PasswordRejected for a bad one


@pytest.mark.parametrize("password", ["", "1234567", "p" * 129])
def test_passwords_outside_8_to_128_characters_are_invalid(password: str) -> None:
    with pytest.raises(Invalid) as caught:
        validate_new_password(password)

    assert caught.value.code is ErrorCode.INVALID
    assert caught.value.field == ["password"]

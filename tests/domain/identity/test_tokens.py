from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from domain.identity.models import StaffRole
from domain.identity.tokens import Principal, TokenService

SECRET = "tokens-test-secret-0123456789abcdef"
OTHER_SECRET = "another-secret-0123456789abcdef-xyz"
START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tokens(clock: FakeClock) -> TokenService:
    return TokenService(SECRET, customer_ttl=timedelta(days=30), staff_ttl=timedelta(hours=12), clock=clock)


def forge(claims: dict[str, object], secret: str = SECRET) -> str:
    base: dict[str, object] = {
        "sub": "7",
        "kind": "customer",
        "role": None,
        "iat": int(START.timestamp()),
        "exp": int((START + timedelta(hours=1)).timestamp()),
        "iss": "pond",
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not ...}, secret, algorithm="HS256")


def test_a_customer_token_decodes_to_the_customer(tokens: TokenService) -> None:
    assert tokens.decode(tokens.issue_customer(42)) == Principal(kind="customer", id=42, role=None)


def test_a_staff_token_decodes_to_the_staff_member_and_role(tokens: TokenService) -> None:
    token = tokens.issue_staff(5, StaffRole.FINANCE)

    assert tokens.decode(token) == Principal(kind="staff", id=5, role=StaffRole.FINANCE)


def test_tokens_carry_the_documented_claims(tokens: TokenService) -> None:
    token = tokens.issue_staff(5, StaffRole.OWNER, 3)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer="pond", options={"verify_exp": False})

    assert claims == {
        "sub": "5",
        "kind": "staff",
        "role": "OWNER",
        "iat": int(START.timestamp()),
        "exp": int((START + timedelta(hours=12)).timestamp()),
        "iss": "pond",
        "ver": 3,
    }


def test_a_staff_token_carries_its_version_and_one_without_reads_as_version_0(tokens: TokenService) -> None:
    assert tokens.decode(tokens.issue_staff(5, StaffRole.OWNER, 7)) == Principal("staff", 5, StaffRole.OWNER, 7)
    older = forge({"sub": "5", "kind": "staff", "role": "OWNER"})
    assert tokens.decode(older) == Principal("staff", 5, StaffRole.OWNER, 0)
    for bad in (-1, "1", True, 1.5):
        assert tokens.decode(forge({"sub": "5", "kind": "staff", "role": "OWNER", "ver": bad})) is None


def test_a_customer_token_expires_after_the_customer_ttl(tokens: TokenService, clock: FakeClock) -> None:
    token = tokens.issue_customer(42)

    clock.now = START + timedelta(days=30) - timedelta(seconds=1)
    assert tokens.decode(token) == Principal("customer", 42, None)
    clock.now = START + timedelta(days=30)
    assert tokens.decode(token) is None


def test_a_staff_token_expires_after_the_staff_ttl(tokens: TokenService, clock: FakeClock) -> None:
    token = tokens.issue_staff(5, StaffRole.OPERATOR)

    clock.now = START + timedelta(hours=12, seconds=1)
    assert tokens.decode(token) is None


def test_a_token_issued_in_the_future_is_rejected(tokens: TokenService, clock: FakeClock) -> None:
    token = tokens.issue_customer(42)

    clock.now = START - timedelta(hours=1)
    assert tokens.decode(token) is None


def test_a_tampered_payload_is_rejected(tokens: TokenService) -> None:
    header, _payload, signature = tokens.issue_customer(42).split(".")
    forged_payload = jwt.utils.base64url_encode(
        b'{"sub":"1","kind":"staff","role":"OWNER","iat":1735732800,"exp":1999999999,"iss":"pond"}'
    ).decode()

    assert tokens.decode(f"{header}.{forged_payload}.{signature}") is None


def test_a_tampered_signature_is_rejected(tokens: TokenService) -> None:
    token = tokens.issue_customer(42)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]

    assert tokens.decode(flipped) is None


def test_a_token_signed_with_another_secret_is_rejected(tokens: TokenService, clock: FakeClock) -> None:
    other = TokenService(OTHER_SECRET, timedelta(days=30), timedelta(hours=12), clock=clock)

    assert tokens.decode(other.issue_customer(42)) is None
    assert other.decode(tokens.issue_customer(42)) is None


def test_an_unsigned_alg_none_token_is_rejected(tokens: TokenService) -> None:
    unsigned = jwt.encode({"sub": "1", "kind": "staff", "role": "OWNER"}, "", algorithm="none")

    assert tokens.decode(unsigned) is None


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "someone-else"},
        {"iss": ...},
        {"kind": "admin"},
        {"kind": ...},
        {"kind": "staff", "role": None},
        {"kind": "staff", "role": "JANITOR"},
        {"kind": "customer", "role": "OWNER"},
        {"sub": "abc"},
        {"sub": "0"},
        {"sub": "-3"},
        {"sub": ...},
        {"exp": ...},
        {"iat": ...},
    ],
)
def test_tokens_with_wrong_or_missing_claims_are_rejected(tokens: TokenService, claims: dict[str, object]) -> None:
    assert tokens.decode(forge({"kind": "staff", "role": "OWNER"})) == Principal("staff", 7, StaffRole.OWNER)
    assert tokens.decode(forge(claims)) is None


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "x" * 5000, "ey.ey.ey"])
def test_malformed_tokens_decode_to_none(tokens: TokenService, garbage: str) -> None:
    assert tokens.decode(garbage) is None


def test_a_short_secret_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenService("short", timedelta(days=1), timedelta(hours=1))


def test_the_secret_does_not_appear_in_the_services_repr(tokens: TokenService) -> None:
    assert SECRET not in repr(tokens)

"""Bearer tokens: HS256 JWTs naming a customer or a staff member (with their role)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeGuard

import jwt

from domain.identity.models import StaffRole

ISSUER = "pond"
ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
_REQUIRED_CLAIMS = ["sub", "kind", "iat", "exp", "iss"]
_ID_RE = re.compile(r"[1-9][0-9]{0,17}")
_IAT_LEEWAY_SECONDS = 60
_ROLE_VALUES = frozenset(role.value for role in StaffRole)

PrincipalKind = Literal["customer", "staff"]


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    id: int
    role: StaffRole | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TokenService:
    def __init__(
        self,
        secret: str,
        customer_ttl: timedelta,
        staff_ttl: timedelta,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")
        if customer_ttl <= timedelta(0) or staff_ttl <= timedelta(0):
            raise ValueError("token lifetimes must be positive")
        self._secret = secret
        self._customer_ttl = customer_ttl
        self._staff_ttl = staff_ttl
        self._clock = clock

    def __repr__(self) -> str:
        return f"TokenService(customer_ttl={self._customer_ttl!r}, staff_ttl={self._staff_ttl!r})"

    def issue_customer(self, customer_id: int) -> str:
        return self._issue("customer", customer_id, None, self._customer_ttl)

    def issue_staff(self, staff_id: int, role: StaffRole) -> str:
        return self._issue("staff", staff_id, StaffRole(role), self._staff_ttl)

    def decode(self, token: str) -> Principal | None:
        """The token's principal, or None if it is expired, tampered with, foreign or malformed. Never raises."""
        if not isinstance(token, str) or not token:
            return None
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        return self._principal(claims)

    def _issue(self, kind: PrincipalKind, subject_id: int, role: StaffRole | None, ttl: timedelta) -> str:
        if isinstance(subject_id, bool) or not isinstance(subject_id, int) or subject_id <= 0:
            raise ValueError("the subject id must be a positive integer")
        now = self._now()
        claims: dict[str, Any] = {
            "sub": str(subject_id),
            "kind": kind,
            "role": role.value if role is not None else None,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "iss": ISSUER,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def _principal(self, claims: dict[str, Any]) -> Principal | None:
        now = int(self._now().timestamp())
        exp, iat = claims.get("exp"), claims.get("iat")
        if not _is_int(exp) or not _is_int(iat) or now >= exp or iat > now + _IAT_LEEWAY_SECONDS:
            return None
        sub = claims.get("sub")
        if not isinstance(sub, str) or _ID_RE.fullmatch(sub) is None:
            return None
        kind, role = claims.get("kind"), claims.get("role")
        if kind == "customer" and role is None:
            return Principal("customer", int(sub), None)
        if kind == "staff" and isinstance(role, str) and role in _ROLE_VALUES:
            return Principal("staff", int(sub), StaffRole(role))
        return None

    def _now(self) -> datetime:
        now = self._clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)

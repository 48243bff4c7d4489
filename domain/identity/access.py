"""Whether a signed token still opens the door: the account's standing, read once per request (cached by the server).

A token names an account; the account's row decides. A staff token works while the member is active and its
version is the member's current token version (deactivation and role changes raise it). A customer token works
while the customer is not blocked. An account that does not exist admits nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain import raw_sql
from domain.identity.models import Customer, Staff, StaffRole
from domain.identity.tokens import Principal, PrincipalKind


@dataclass(frozen=True)
class Standing:
    allowed: bool
    role: StaffRole | None = None
    token_version: int = 0


async def standing(kind: PrincipalKind, account_id: int) -> Standing | None:
    """One primary-key read; None when the account does not exist."""
    if kind == "staff":
        rows = await Staff.filter(id=account_id).values("active", "role", "token_version")
        if not rows:
            return None
        row = rows[0]
        return Standing(allowed=bool(row["active"]), role=StaffRole(row["role"]), token_version=row["token_version"])
    # Raw SQL: a customer's first request reads this, and the ORM's query building cost more than the query
    rows = await raw_sql.fetch(f'SELECT "blocked" FROM "{Customer._meta.db_table}" WHERE "id" = $1', account_id)
    return Standing(allowed=not rows[0]["blocked"]) if rows else None


def admit(principal: Principal, current: Standing | None) -> Principal | None:
    """The principal the request acts as (a staff member's role as it is now), or None: treat it as no token."""
    if current is None or not current.allowed:
        return None
    if principal.kind == "customer":
        return principal
    if principal.version != current.token_version or current.role is None:
        return None
    return Principal("staff", principal.id, current.role, current.token_version)

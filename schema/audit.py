"""`staffAudit`: the books checked (the same checks as `pond audit`, WeChat Pay's trades included)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.audit.checks import Check
from resolvers import audit
from resolvers.permissions import CanManageMoney


@strawberry.type(description="One check of the books and what it found wrong")
class AuditCheck:
    name: str
    checked: int = strawberry.field(description="How many things (rows, orders, trades, SKUs) it looked at")
    ok: bool
    discrepancies: list[str]


@strawberry.type(description="The books checked: ok when no check found anything wrong")
class AuditReport:
    ok: bool
    checks: list[AuditCheck]


def _report(checks: list[Check]) -> AuditReport:
    return AuditReport(ok=all(check.ok for check in checks),
                       checks=[AuditCheck(name=check.name, checked=check.checked, ok=check.ok,
                                          discrepancies=check.discrepancies) for check in checks])


@strawberry.type
class AuditQuery:
    @strawberry.field(permission_classes=[CanManageMoney], description="Balances against their ledgers, commissions, "
                      "every order's money, stock, and the trades of the last `days` (1 to 31) at WeChat Pay. "
                      "INVALID for days out of range (as a GraphQL error)")
    async def staff_audit(self, info: Info, days: int = 2) -> AuditReport:
        return _report(await audit.staff_audit(info.context, days))

"""`pond audit`: the books checked by `domain.audit.checks`, from the command line, through the same wiring as the
server (so with real merchant keys the trades are asked of WeChat Pay itself).

With the built-in simulator, WeChat Pay lives inside the running server's process and this command cannot see it:
the trades are left out (said on the first line), and `staffAudit` on that server includes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.audit.checks import Check, audit
from server.settings import Settings
from server.wiring import no_notifications, runtime, simulators


def report(checks: list[Check]) -> list[str]:
    """One line per check (`ok` or `FAIL`), then one per discrepancy."""
    lines = []
    for check in checks:
        lines.append(f"{'ok  ' if check.ok else 'FAIL'}  {check.name} ({check.checked} checked)")
        lines.extend(f"      - {discrepancy}" for discrepancy in check.discrepancies)
    return lines


async def run_audit(settings: Settings, days: int) -> tuple[list[str], bool]:
    quiet = settings.model_copy(update={"seed_demo": False})
    async with runtime(quiet, simulators(quiet, no_notifications)) as running:
        gateway = None if quiet.simulated_wechatpay else running.services.orders.gateway
        checks = await audit(gateway, datetime.now(UTC), timedelta(days=days))
    lines = report(checks)
    if gateway is None:
        lines.insert(0, "note  WeChat Pay is simulated inside the server: its trades are checked by staffAudit there")
    return lines, all(check.ok for check in checks)

"""`pond worker` for bench/chaos.py: the same sweeps, run every SWEEP_SECONDS with their clock SKEW ahead.

The sweeps wait minutes on purpose (a payment is reconciled 2 minutes after its prepay, a refund 5 after it was
sent, a failed refund retried 1 minute later); a chaos run lasts seconds. Running each sweep as if it were SKEW
later compresses those waits without touching Pond's code; SKEW stays below the order payment window (15 minutes),
so no order is expired early. Started as `python -c "…; _work()" worker`.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime, timedelta

from domain.orders.deps import OrderDeps
from workers.sweeps import SweepFunction

SWEEP_SECONDS = 2
SKEW = timedelta(minutes=6)


def _skewed(run: SweepFunction) -> SweepFunction:
    async def skewed(deps: OrderDeps, now: datetime) -> int:
        return await run(deps, now + SKEW)

    return skewed


def _work() -> None:
    from server import worker as saq_worker
    from server.cli import cli
    from workers.sweeps import SWEEPS

    fast = tuple(dataclasses.replace(s, cron=f"* * * * * */{SWEEP_SECONDS}", run=_skewed(s.run)) for s in SWEEPS)
    assert saq_worker.create_worker.__kwdefaults__ is not None
    saq_worker.create_worker.__kwdefaults__["sweeps"] = fast
    cli(args=sys.argv[1:], prog_name="pond")

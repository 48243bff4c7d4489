"""The sweeps: each one calls a single idempotent domain function over the database, and nothing else.

A lost or crashed run delays nothing past the next run, so every schedule below is only how long work may wait.
`pond worker` runs them on `cron` (saq); the embedded server runs them every `POND_SWEEP_SECONDS` (in_process).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from domain.commissions import release
from domain.flash_sale import sales as flash_settlement
from domain.group_buy import sweep as group_buy_sweep
from domain.inventory.sweeps import resync_stock
from domain.orders import lifecycle, refund_calls
from domain.orders.deps import OrderDeps
from domain.withdrawals import sweep as withdrawal_sweep

SweepFunction = Callable[[OrderDeps, datetime], Awaitable[int]]


@dataclass(frozen=True)
class Sweep:
    name: str
    """Also the saq function name and its cron job key (`cron:<name>`)."""
    cron: str
    """When the saq worker enqueues it (croniter; a sixth field is seconds)."""
    run: SweepFunction
    """`await run(deps, now)` does one pass and returns how many things it changed."""


async def expire_orders(deps: OrderDeps, now: datetime) -> int:
    return await lifecycle.expire_due(deps, now)


async def auto_confirm_orders(deps: OrderDeps, now: datetime) -> int:
    return await lifecycle.auto_confirm_due(deps, now)


async def reconcile_payments(deps: OrderDeps, now: datetime) -> int:
    return await lifecycle.reconcile_due(deps, now)


async def reconcile_refunds(deps: OrderDeps, now: datetime) -> int:
    return await refund_calls.reconcile_refunds(deps, now)


async def retry_refunds(deps: OrderDeps, now: datetime) -> int:
    return await refund_calls.retry_due(deps, now)


async def settle_flash_sales(deps: OrderDeps, now: datetime) -> int:
    return await flash_settlement.settle_ended(deps, now)


async def heal_flash_pools(deps: OrderDeps, now: datetime) -> int:
    return await flash_settlement.heal_pools(deps, now)


async def fail_expired_groups(deps: OrderDeps, now: datetime) -> int:
    return await group_buy_sweep.fail_expired_groups(deps, now)


async def release_commissions(deps: OrderDeps, now: datetime) -> int:
    return await release.release_due(now)


async def resync_stock_counts(deps: OrderDeps, now: datetime) -> int:
    return await resync_stock(deps)


async def reconcile_withdrawals(deps: OrderDeps, now: datetime) -> int:
    if deps.transfers is None:
        return 0
    return await withdrawal_sweep.reconcile_transfers(deps.transfers, now)


SWEEPS: tuple[Sweep, ...] = (
    Sweep("expire_orders", "* * * * * */30", expire_orders),
    Sweep("reconcile_payments", "* * * * *", reconcile_payments),
    Sweep("reconcile_refunds", "*/2 * * * *", reconcile_refunds),
    Sweep("auto_confirm_orders", "*/10 * * * *", auto_confirm_orders),
    Sweep("resync_stock", "*/5 * * * *", resync_stock_counts),
    Sweep("settle_flash_sales", "* * * * *", settle_flash_sales),
    Sweep("heal_flash_pools", "* * * * *", heal_flash_pools),
    Sweep("retry_refunds", "* * * * *", retry_refunds),
    Sweep("fail_expired_groups", "* * * * * */30", fail_expired_groups),
    Sweep("release_commissions", "*/5 * * * *", release_commissions),
    Sweep("reconcile_withdrawals", "*/2 * * * *", reconcile_withdrawals),
)

"""Binding (锁客): which distributor a customer belongs to, set through a share.

Every way in (a login with a share code, opening a share, later a checkout with one) calls `bind`, which never
fails the caller: a share that may not bind is simply ignored."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from domain.distribution import settings
from domain.distribution.distributors import can_bind
from domain.distribution.links import well_formed
from domain.distribution.models import Binding, BindingChange, BindingMode, Distributor, ShareLink
from domain.raw_sql import one_at_a_time

BINDING_LOCK = 0x706F6E64  # "pond": the advisory lock every binding write holds
MAX_CHAIN = 1000
"""A chain longer than this is treated as a cycle (it cannot be real: each link is a customer who was shared to)."""


async def bind(customer_id: int, share_code: str, at: datetime) -> bool:
    """Bind the customer to the distributor behind the share if the rules allow; True when this call (re)bound.

    Refused quietly: distribution off, an unknown code, a sharer who is not an approved, enabled distributor, the
    customer themself, a distributor whose chain of parents contains the customer (a cycle), and a customer already
    bound whom the binding mode keeps (FIRST_TOUCH always, WINDOW until `window_days` after binding).

    Bindings are written one at a time (`BINDING_LOCK`), the chain checked again under the lock: two customers binding
    to each other at the same moment (or around a longer loop) would each find no cycle and together make one."""
    if not well_formed(share_code):
        return False
    link = await ShareLink.get_or_none(code=share_code)
    if link is None or link.customer_id == customer_id:
        return False
    rules = (await settings.current()).rules
    if not rules.enabled:
        return False
    distributor = await Distributor.get_or_none(customer_id=link.customer_id)
    if distributor is None or not can_bind(distributor):
        return False
    existing = await Binding.get_or_none(customer_id=customer_id)
    if existing is not None and (existing.distributor_id == distributor.id or not _may_rebind(rules, existing, at)):
        return False  # the common case answered without the lock
    async with in_transaction():
        await one_at_a_time(BINDING_LOCK)
        if await _chain_contains(distributor, customer_id):
            return False
        existing = await Binding.get_or_none(customer_id=customer_id)
        if existing is None:
            await Binding.create(customer_id=customer_id, distributor_id=distributor.id, link_id=link.id, bound_at=at)
            await _record(customer_id, distributor.id, None, link, at)
            return True
        if existing.distributor_id == distributor.id or not _may_rebind(rules, existing, at):
            return False
        await Binding.filter(id=existing.id).update(distributor_id=distributor.id, link_id=link.id, bound_at=at)
        await _record(customer_id, distributor.id, existing.distributor_id, link, at)
    return True


def _may_rebind(rules: settings.Rules, existing: Binding, at: datetime) -> bool:
    if rules.binding_mode == BindingMode.LAST_TOUCH:
        return True
    if rules.binding_mode == BindingMode.WINDOW:
        return at >= existing.bound_at + timedelta(days=rules.window_days)
    return False


async def _record(customer_id: int, distributor_id: int, previous: int | None, link: ShareLink, at: datetime) -> None:
    await BindingChange.create(customer_id=customer_id, distributor_id=distributor_id,
                               previous_distributor_id=previous, link_id=link.id, code=link.code, bound_at=at)


async def _chain_contains(distributor: Distributor, customer_id: int) -> bool:
    """Whether the customer is this distributor or one of its parents (the distributor each one is bound to)."""
    current: Distributor | None = distributor
    seen: set[int] = set()
    while current is not None:
        if current.customer_id == customer_id or current.id in seen or len(seen) >= MAX_CHAIN:
            return True
        seen.add(current.id)
        parent = await Binding.get_or_none(customer_id=current.customer_id)
        current = None if parent is None else await Distributor.get_or_none(id=parent.distributor_id)
    return False


async def distributor_of(customer_id: int) -> Distributor | None:
    """The distributor the customer is bound to now (checkout and commissions will read it)."""
    binding = await Binding.get_or_none(customer_id=customer_id)
    return None if binding is None else await Distributor.get_or_none(id=binding.distributor_id)


async def parent_of(distributor: Distributor) -> Distributor | None:
    """A distributor's parent: the distributor it is bound to as a customer."""
    return await distributor_of(distributor.customer_id)

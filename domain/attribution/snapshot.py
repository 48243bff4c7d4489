"""Attribution: when an order is created it is bound to whom it earns for, once (the snapshot in `OrderAttribution`).

Told through the order events seam (`Attribution.placed`, inside the order's transaction): a share code given at
checkout first binds the customer (as opening the share would), then the snapshot records the share, the direct
distributor, its parent (two levels) and the rates in force, with the settings' version (which holds the products'
own rates). A later rebinding or a change of the settings never changes an order's commission.

Who earns, in one rule (`earners`):
- the direct distributor is the one the customer is bound to; a customer who is an approved, enabled distributor
  earns on their own purchases instead only when the settings say so (`self_purchase_earns`);
- the parent (with `levels == 2`) is the distributor the direct one is bound to, never the buyer;
- only an approved, enabled distributor earns; nobody earns on an order of a kind the settings leave out.
Rates: a distributor whose level has its own rates (`distributor_levels`) is paid by them (the direct rate by the
direct distributor's level, the parent rate by the parent's level), everyone else by the shop's rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.attribution.models import OrderAttribution
from domain.distribution import binding, settings
from domain.distribution.distributors import can_earn
from domain.distribution.links import well_formed
from domain.distribution.models import Distributor, ShareLink
from domain.orders.events import OrderEvents
from domain.orders.models import Order


@dataclass(frozen=True)
class Earners:
    direct: Distributor
    parent: Distributor | None


async def earners(customer_id: int, rules: settings.Rules) -> Earners | None:
    """Who earns on an order the customer places now (see the module's rule), or None."""
    own = await Distributor.get_or_none(customer_id=customer_id)
    if rules.self_purchase_earns and own is not None and can_earn(own):
        direct: Distributor | None = own
    else:
        direct = await binding.distributor_of(customer_id)
    if direct is None or not can_earn(direct) or direct.customer_id == customer_id and not rules.self_purchase_earns:
        return None
    parent = await binding.parent_of(direct) if rules.levels == 2 else None
    if parent is not None and (not can_earn(parent) or parent.customer_id == customer_id):
        parent = None
    return Earners(direct, parent)


def _level_rates(rules: settings.Rules, level: int) -> settings.DistributorLevel | None:
    return next((found for found in rules.distributor_levels if found.level == level), None)


async def snapshot(order: Order, at: datetime,
                   in_force: settings.SettingsInForce | None = None) -> OrderAttribution | None:
    """Write the order's attribution, once; None when the order earns nobody anything. `in_force`: the settings, if
    the caller read them already."""
    in_force = in_force or await settings.current()
    rules = in_force.rules
    if not rules.enabled or order.kind.value not in rules.earning_kinds:
        return None
    found = await earners(order.customer_id, rules)
    if found is None:
        return None
    direct_level = _level_rates(rules, found.direct.level)
    direct_rate = direct_level.direct_rate_bp if direct_level else rules.direct_rate_bp
    parent_rate = 0
    if found.parent is not None:
        parent_level = _level_rates(rules, found.parent.level)
        parent_rate = parent_level.parent_rate_bp if parent_level else rules.parent_rate_bp
    link = None
    if order.share_code and well_formed(order.share_code):
        link = await ShareLink.get_or_none(code=order.share_code)
    new_customer = not await Order.filter(customer_id=order.customer_id, paid_at__isnull=False).exists()
    attribution, _ = await OrderAttribution.get_or_create(order_id=order.id, defaults=dict(
        share_code=link.code if link else None, link_id=link.id if link else None,
        distributor_id=found.direct.id, parent_distributor_id=found.parent.id if found.parent else None,
        settings_version=in_force.version, direct_rate_bp=direct_rate, parent_rate_bp=parent_rate,
        freeze_days=rules.freeze_days, new_customer=new_customer, created_at=at,
    ))
    return attribution


class Attribution(OrderEvents):
    """Binds through the order's share code and snapshots the order's attribution when it is placed."""

    async def placed(self, order: Order) -> None:
        await self._placed(order, None)

    async def placed_all(self, orders: Sequence[Order]) -> None:
        """The settings read once for all of them (they were written in one transaction)."""
        in_force = await settings.current()
        for order in orders:
            await self._placed(order, in_force)

    async def _placed(self, order: Order, in_force: settings.SettingsInForce | None) -> None:
        at = order.created_at
        if order.share_code:
            await binding.bind(order.customer_id, order.share_code, at)
        await snapshot(order, at, in_force)

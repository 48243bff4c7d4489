"""The ways the store sells, put together: each selling mode's order policy, what a share may point at, and when a
catalog price next changes.

The one module that knows every selling mode (`domain.flash_sale`, `domain.group_buy`, `domain.relay`): the orders
area asks `OrderDeps.policy(kind)` and never imports a mode, and no mode imports another. The server builds the table
with the gateways the modes need (`server/wiring.py`).
"""

from __future__ import annotations

from datetime import datetime

from domain.distribution import targets
from domain.flash_sale.policy import FlashSalePolicy
from domain.flash_sale.pool import FlashPool
from domain.flash_sale.sales import next_flash_change
from domain.group_buy.groups import groups_by_id
from domain.group_buy.policy import GroupBuyPolicy
from domain.group_buy.seats import SeatStore
from domain.orders.events import Listeners, OrderEvents
from domain.orders.kinds import NORMAL, KindPolicy
from domain.orders.models import OrderKind
from domain.pricing.discounts import next_price_change as next_discount_change
from domain.referral.rewards import ReferralRewards
from domain.relay.policy import RelayPolicy
from domain.relay.relays import relays_by_id


def register_share_targets() -> None:
    """Let a share point at a group anyone may see or a relay that exists (distribution imports no selling mode)."""
    targets.register(targets.GROUP, _visible_group)
    targets.register(targets.RELAY, _relay_exists)


async def _visible_group(group_id: int) -> bool:
    return bool(await groups_by_id([group_id]))


async def _relay_exists(relay_id: int) -> bool:
    return bool(await relays_by_id([relay_id]))


def order_policies(*, flash_pool: FlashPool, group_buy_seats: SeatStore, flash_payment_minutes: int = 5,
                   group_buy_payment_minutes: int = 5) -> dict[OrderKind, KindPolicy]:
    """What each order kind means, with the fast gates its mode uses and its payment window."""
    return {
        OrderKind.NORMAL: NORMAL,
        OrderKind.FLASH_SALE: FlashSalePolicy(flash_pool, flash_payment_minutes),
        OrderKind.GROUP_BUY: GroupBuyPolicy(group_buy_seats, group_buy_payment_minutes),
        OrderKind.RELAY: RelayPolicy(),
    }


async def next_price_change(after: datetime) -> datetime | None:
    """The next moment a catalog price may change by itself: a limited-time discount or a flash sale starting or
    ending. A cached catalog answer must not outlive it."""
    moments = [m for m in (await next_discount_change(after), await next_flash_change(after)) if m is not None]
    return min(moments) if moments else None


def order_events() -> OrderEvents:
    """The listeners of every order's life (domain/orders/events.py)."""
    return Listeners([ReferralRewards()])

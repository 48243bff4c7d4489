"""The ways the store sells, put together: each selling mode's order policy, who hears of an order's life
(attribution, commissions), what a share may point at, and when a catalog price next changes.

The one module that knows every selling mode (`domain.flash_sale`, `domain.group_buy`, `domain.relay`): the orders
area asks `OrderDeps.policy(kind)` and never imports a mode, and no mode imports another. The server builds the table
with the gateways the modes need (`server/wiring.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.attribution.snapshot import Attribution
from domain.commissions.earning import Commissions
from domain.distribution import targets
from domain.flash_sale.admit import MAX_ADMITTED, Attempt, abandoned, admit_batch
from domain.flash_sale.batch_write import abandon, write_batch
from domain.flash_sale.group_commit import GroupCommit
from domain.flash_sale.policy import FlashSalePolicy
from domain.flash_sale.pool import FlashPool, Take
from domain.flash_sale.sales import next_flash_change
from domain.flash_sale.turn_batch import TurnBatch
from domain.flash_sale.units import reserved_by_flash_sales
from domain.group_buy.groups import groups_by_id
from domain.group_buy.policy import GroupBuyPolicy
from domain.group_buy.seats import SeatStore
from domain.orders.events import Listeners, OrderEvents
from domain.orders.kinds import NORMAL, KindPolicy
from domain.orders.models import OrderKind
from domain.points.account import Points
from domain.pricing.discounts import next_price_change as next_discount_change
from domain.referral.rewards import ReferralRewards
from domain.relay.policy import RelayPolicy
from domain.relay.relays import relays_by_id
from domain.wallet.recharge import RechargePolicy


def register_share_targets() -> None:
    """Let a share point at a group anyone may see or a relay that exists (distribution imports no selling mode)."""
    targets.register(targets.GROUP, _visible_group)
    targets.register(targets.RELAY, _relay_exists)


async def _visible_group(group_id: int) -> bool:
    return bool(await groups_by_id([group_id]))


async def _relay_exists(relay_id: int) -> bool:
    return bool(await relays_by_id([relay_id]))


def flash_writer() -> GroupCommit[Any, Any]:
    """The group commit that writes flash sale buys (not running: the server starts and stops it with the app)."""
    return GroupCommit(write_batch, abandon=abandon, name="pond-flash-writer")


def flash_admitter() -> TurnBatch[Attempt, Take]:
    """What admits the flash sale buys of one turn of the event loop together (`domain.flash_sale.admit`)."""
    return TurnBatch(admit_batch, abandoned=abandoned, max_batch=MAX_ADMITTED)


def order_policies(*, flash_pool: FlashPool, group_buy_seats: SeatStore, flash_payment_minutes: int = 5,
                   group_buy_payment_minutes: int = 5, flash_writer: GroupCommit[Any, Any] | None = None,
                   flash_admitter: TurnBatch[Attempt, Take] | None = None) -> dict[OrderKind, KindPolicy]:
    """What each order kind means, with the fast gates its mode uses and its payment window."""
    return {
        OrderKind.NORMAL: NORMAL,
        OrderKind.FLASH_SALE: FlashSalePolicy(flash_pool, flash_payment_minutes, flash_writer, flash_admitter),
        OrderKind.GROUP_BUY: GroupBuyPolicy(group_buy_seats, group_buy_payment_minutes),
        OrderKind.RELAY: RelayPolicy(),
        OrderKind.RECHARGE: RechargePolicy(),
    }


def order_events() -> OrderEvents:
    """Who hears of an order's life, in this order: attribution (a placed order's snapshot), commissions, points,
    referral rewards."""
    return Listeners([Attribution(), Commissions(), Points(), ReferralRewards()])


async def units_set_aside() -> dict[int, int]:
    """SKU id → units of `Sku.reserved` the selling modes hold beyond orders' own holds (a flash sale's pool; group-buys
    and relays take theirs through orders): what an audit adds to the held reservations."""
    return await reserved_by_flash_sales()


async def next_price_change(after: datetime) -> datetime | None:
    """The next moment a catalog price may change by itself: a limited-time discount or a flash sale starting or
    ending. A cached catalog answer must not outlive it."""
    moments = [m for m in (await next_discount_change(after), await next_flash_change(after)) if m is not None]
    return min(moments) if moments else None

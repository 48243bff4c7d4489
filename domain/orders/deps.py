"""What the orders area is wired with: inventory, the payment provider and the shop's timing rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from domain.inventory.service import Inventory
from domain.orders.events import NOBODY, OrderEvents
from domain.orders.kinds import NORMAL, KindPolicy
from domain.orders.models import OrderKind
from domain.orders.ports import PaymentGateway
from domain.transfers.ports import TransferGateway

P = TypeVar("P", bound=KindPolicy)


def utc_now() -> datetime:
    return datetime.now(UTC)


def ignore_refund_failure(code: str) -> None:
    """The default `OrderDeps.refund_failed`: nothing counts failed refunds (the server counts them in a metric)."""


@dataclass
class OrderDeps:
    inventory: Inventory
    gateway: PaymentGateway
    payment_minutes: int = 15
    auto_confirm_days: int = 7
    shop_name: str = "Pond"
    max_pending_orders: int = 5
    clock: Callable[[], datetime] = field(default=utc_now)
    refund_failed: Callable[[str], None] = field(default=ignore_refund_failure)
    """Told the reason code of every refund that ends FAILED (besides the error-level log line)."""
    policies: Mapping[OrderKind, KindPolicy] = field(default_factory=lambda: {OrderKind.NORMAL: NORMAL})
    """What each order kind means (`domain.selling.order_policies` builds the full table)."""
    events: OrderEvents = NOBODY
    """Who hears of orders being placed, confirmed, completed and refunded (`domain.orders.events`)."""
    transfers: TransferGateway | None = None
    """The merchant transfer that pays commission withdrawals (None: withdrawals cannot be approved)."""

    def policy(self, kind: OrderKind) -> KindPolicy:
        """What orders of this kind mean (`deps.policy(order.kind)`)."""
        try:
            return self.policies[kind]
        except KeyError:
            raise LookupError(f"no policy for {kind} orders: see domain.selling.order_policies") from None

    def policy_as(self, kind: OrderKind, wanted: type[P]) -> P:
        """The wired policy of `kind`, which a selling mode knows to be its own class (with its fast gates)."""
        policy = self.policy(kind)
        if not isinstance(policy, wanted):
            raise LookupError(f"the {kind} policy is not a {wanted.__name__}: see domain.selling.order_policies")
        return policy

    @property
    def payment_window(self) -> timedelta:
        return timedelta(minutes=self.payment_minutes)

"""Commission arithmetic, to the fen, with no database: what each line earns, and what refunds take off.

Both split with the pricing engine's largest-remainder rule (`engine.allocate`): each share floored to the fen, the
fen left over one each to the largest remainders (the earlier line on a tie), the shares adding up exactly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.pricing.engine import allocate

BP = 10_000


@dataclass(frozen=True)
class LineRate:
    """What one order line earns at one level: a rate of its base in basis points, or fixed fen per unit."""

    base: int
    """fen: what the line cost the customer after every discount"""
    quantity: int
    rate_bp: int | None = None
    fixed_fen: int | None = None

    def exact(self) -> int:
        """The line's exact commission in 1/10000 fen."""
        if self.fixed_fen is not None:
            return min(self.fixed_fen * self.quantity, self.base) * BP  # never more than the line sold for
        return self.base * (self.rate_bp or 0)


def earned(lines: Sequence[LineRate]) -> list[int]:
    """Each line's commission at one level: the exact total floored to the fen, split over the lines in proportion
    to their exact commissions."""
    exact = [line.exact() for line in lines]
    return allocate(sum(exact) // BP, exact)


def kept_after_refunds(earned_total: int, paid: int, refunded: int) -> int:
    """What a level's commission on an order is worth once `refunded` of the `paid` fen went back: in proportion,
    rounded down (so a refund in full leaves 0, and no refund leaves it whole)."""
    if paid <= 0:
        return 0
    return earned_total * max(paid - refunded, 0) // paid


def spread(take: int, nets: Sequence[int]) -> list[int]:
    """Take `take` fen off shares now worth `nets`, in proportion, never more than a share has."""
    return allocate(take, nets)

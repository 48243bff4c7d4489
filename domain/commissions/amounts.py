"""Commission arithmetic, to the fen, with no database: what each line earns, and what refunds take off.

Largest remainder: a set of exact shares is rounded so that their sum is the floor of the exact total; each share
gets its floor and the fen left over go one each to the shares with the largest fractional parts (ties: the first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

BP = 10_000


def largest_remainder(shares: Sequence[Fraction]) -> list[int]:
    """Round exact non-negative shares to whole fen whose sum is the floor of their exact sum."""
    floors = [int(share) for share in shares]  # int() floors a non-negative Fraction
    left = int(sum(shares, Fraction(0))) - sum(floors)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return floors


@dataclass(frozen=True)
class LineRate:
    """What one order line earns at one level: a rate of its base in basis points, or fixed fen per unit."""

    base: int
    """fen: what the line cost the customer after every discount"""
    quantity: int
    rate_bp: int | None = None
    fixed_fen: int | None = None

    def exact(self) -> Fraction:
        if self.fixed_fen is not None:
            return Fraction(min(self.fixed_fen * self.quantity, self.base))  # never more than the line sold for
        return Fraction(self.base * (self.rate_bp or 0), BP)


def earned(lines: Sequence[LineRate]) -> list[int]:
    """Each line's commission at one level; the sum is the floor of the exact total."""
    return largest_remainder([line.exact() for line in lines])


def kept_after_refunds(earned_total: int, paid: int, refunded: int) -> int:
    """What a level's commission on an order is worth once `refunded` of the `paid` fen went back: in proportion,
    rounded down (so a refund in full leaves 0, and no refund leaves it whole)."""
    if paid <= 0:
        return 0
    kept = max(paid - refunded, 0)
    return earned_total * kept // paid


def spread(take: int, nets: Sequence[int]) -> list[int]:
    """Take `take` fen off shares now worth `nets`, in proportion (largest remainder), never more than a share has."""
    total = sum(nets)
    if take <= 0 or total <= 0:
        return [0] * len(nets)
    take = min(take, total)
    return largest_remainder([Fraction(take * net, total) for net in nets])

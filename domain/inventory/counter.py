"""The fast stock gate in front of the database: answers "sold out" without touching PostgreSQL.

Two implementations share this interface: `RedisStockCounter` (Lua, one slot) for production and
`MemoryStockCounter` for the embedded single-process server. Neither is the truth: the database's
conditional update on `Sku.reserved` is (see `domain.inventory.holds`). A counter may briefly admit more than
the database will accept (harmless: the database refuses) and is rebuilt from the database whenever a SKU's
count is missing (a Redis flush or restart).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Admission:
    """The counter's answer for one holder's lines."""

    admitted: bool
    sold_out: list[int] = field(default_factory=list)
    already_held: bool = False
    """Admitted because this holder already held units (a repeated call): nothing was taken this time."""
    missing: list[int] = field(default_factory=list)
    """SKUs the counter knows nothing about: load them from the database and ask again."""


class StockCounter(Protocol):
    async def admit(self, holder: str, lines: Mapping[int, int], ttl_seconds: int) -> Admission:
        """Take units for every line or none. Asking again for the same holder admits again without taking twice
        (and says `already_held`)."""

    async def give_back(self, holder: str) -> bool:
        """Return the holder's units (cancelled or expired order). True only for the call that returned them."""

    async def forget(self, holder: str) -> bool:
        """The holder paid: its units are gone for good; drop the record so give_back becomes a no-op."""

    async def load(self, counts: Mapping[int, int]) -> None:
        """Set SKUs' counts where the counter has none (never overwrites a live count)."""

    async def reset(self, counts: Mapping[int, int]) -> None:
        """Overwrite SKUs' counts with the database's (resync after staff changes or drift)."""

    async def counts(self, sku_ids: list[int]) -> dict[int, int | None]:
        """Current counts; None where unknown."""

"""The fast stock gate in front of the database: answers "sold out" without touching PostgreSQL.

Two implementations share this interface: `RedisStockCounter` (Lua, one hash tag per SKU) for production and
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


@dataclass(frozen=True)
class Reading:
    """A SKU's count and its version, read together. The version changes whenever units come back (give_back),
    and on load and reset; None (with `units`) where the counter knows nothing of the SKU."""

    units: int | None
    version: int | None


class StockCounter(Protocol):
    async def admit(self, holder: str, lines: Mapping[int, int], ttl_seconds: int) -> Admission:
        """Take units for every line or none. Asking again for the same holder admits again without taking twice
        (and says `already_held`)."""

    async def give_back(self, holder: str, sku_ids: list[int]) -> bool:
        """Return the holder's units (cancelled or expired order); `sku_ids`: the SKUs it was admitted for. True
        only for the call that returned them."""

    async def forget(self, holder: str, sku_ids: list[int]) -> bool:
        """The holder paid: its units are gone for good; drop the record so give_back becomes a no-op."""

    async def load(self, counts: Mapping[int, int]) -> None:
        """Set SKUs' counts where the counter has none (never overwrites a live count)."""

    async def read(self, sku_ids: list[int]) -> dict[int, Reading]:
        """Each SKU's count and version (see Reading)."""

    async def reset(self, counts: Mapping[int, int], seen: Mapping[int, int | None]) -> list[int]:
        """Overwrite SKUs' counts with the database's, but only where the version is still the one `read` gave
        before the database was read (`seen`): a give-back that landed in between is never overwritten. Returns
        the SKUs written; the others are left alone for the caller to read again."""

    async def counts(self, sku_ids: list[int]) -> dict[int, int | None]:
        """Current counts; None where unknown."""

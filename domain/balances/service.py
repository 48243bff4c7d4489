"""Moving a balance: an entry and its balance row, together and once.

Call `move` inside the transaction that does whatever the movement is for. A movement that would take a bucket below
its floor raises `Insufficient` (the caller's transaction then rolls back, entry included); one whose reference was
already recorded answers False and changes nothing, so every caller may simply repeat itself."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from domain.balances.models import Balance, BalanceEntry


@dataclass(frozen=True)
class Owner:
    kind: str
    id: int


class Insufficient(Exception):
    """The bucket holds less than the movement takes (below its floor)."""

    def __init__(self, owner: Owner, bucket: str, amount: int) -> None:
        super().__init__(f"{owner.kind} {owner.id}'s {bucket} cannot give {-amount}")
        self.owner, self.bucket, self.amount = owner, bucket, amount


async def move(owner: Owner, bucket: str, amount: int, reference: str, *, floor: int | None = 0,
               note: str = "") -> bool:
    """Add `amount` (signed) to the owner's bucket under a unique `reference`. `floor`: the least the bucket may
    hold afterwards (None: no floor, e.g. a clawback that may leave it negative; a bucket already below the floor may
    still receive). True when moved, False when the reference was already recorded. The entry and the balance row
    are written in one savepoint, so `Insufficient` leaves neither behind, whatever the caller does next."""
    try:
        async with in_transaction():
            await BalanceEntry.create(owner_kind=owner.kind, owner_id=owner.id, bucket=bucket, amount=amount,
                                      reference=reference, note=note[:120])
            await _apply(owner, bucket, amount, floor)
    except IntegrityError:
        if await BalanceEntry.exists(reference=reference):
            return False
        raise
    return True


async def _apply(owner: Owner, bucket: str, amount: int, floor: int | None) -> None:
    rows = Balance.filter(owner_kind=owner.kind, owner_id=owner.id, bucket=bucket)
    guarded = rows if floor is None or amount >= 0 else rows.filter(amount__gte=floor - amount)
    if await guarded.update(amount=F("amount") + amount):
        return
    if await rows.exists() or (floor is not None and amount < floor):
        raise Insufficient(owner, bucket, amount)
    try:
        async with in_transaction():
            await Balance.create(owner_kind=owner.kind, owner_id=owner.id, bucket=bucket, amount=amount)
    except IntegrityError:  # created meanwhile by a concurrent first movement: add to it under the same guard
        if not await guarded.update(amount=F("amount") + amount):
            raise Insufficient(owner, bucket, amount) from None


async def shift(owner: Owner, source: str, target: str, amount: int, reference: str, *, floor: int | None = 0,
                note: str = "") -> bool:
    """Move `amount` from one bucket to another (two entries, `reference` + ':-' and ':+'): the source keeps its
    floor. True when moved, False when already moved.

    The two balance rows are written in the order of their bucket names, whichever way the money goes, so two
    transactions moving money between the same buckets in opposite directions never wait for each other in a circle.
    """
    moves = sorted([(source, -amount, f"{reference}:-", floor), (target, amount, f"{reference}:+", None)])
    for bucket, signed, entry, bucket_floor in moves:
        if not await move(owner, bucket, signed, entry, floor=bucket_floor, note=note):
            return False  # both entries are written in one transaction: the first found means both were
    return True


async def locked(owner: Owner, bucket: str) -> int:
    """Inside a transaction: the bucket's amount, its row locked until the transaction ends (so what is taken next,
    decided from it, cannot meet a concurrent take)."""
    row = await Balance.filter(owner_kind=owner.kind, owner_id=owner.id, bucket=bucket).select_for_update().first()
    return 0 if row is None else int(row.amount)


async def balances(owner: Owner) -> dict[str, int]:
    """Every bucket of the owner that ever moved, by name."""
    rows = await Balance.filter(owner_kind=owner.kind, owner_id=owner.id).values("bucket", "amount")
    return {row["bucket"]: int(row["amount"]) for row in rows}


async def mismatches(owner_kind: str) -> list[tuple[int, str, int, int]]:
    """(owner id, bucket, balance, sum of entries) for every bucket of this kind of owner whose row is not the sum
    of its entries: what an audit reports."""
    sums: dict[tuple[int, str], int] = {}
    for row in await BalanceEntry.filter(owner_kind=owner_kind).values("owner_id", "bucket", "amount"):
        key = (row["owner_id"], row["bucket"])
        sums[key] = sums.get(key, 0) + int(row["amount"])
    held = {(row["owner_id"], row["bucket"]): int(row["amount"])
            for row in await Balance.filter(owner_kind=owner_kind).values("owner_id", "bucket", "amount")}
    return [(owner_id, bucket, held.get((owner_id, bucket), 0), sums.get((owner_id, bucket), 0))
            for owner_id, bucket in sorted(set(sums) | set(held))
            if held.get((owner_id, bucket), 0) != sums.get((owner_id, bucket), 0)]

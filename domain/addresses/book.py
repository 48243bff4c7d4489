"""Keeping the address book: at most MAX_ADDRESSES per customer and exactly one default while there is any.

Every change locks the customer's row first, so concurrent changes of one book go one at a time: the first address
becomes the default, making another the default clears the old one, and deleting the default promotes the most
recently saved of the rest."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from domain.addresses.models import SavedAddress
from domain.addresses.rules import Address, checked
from domain.errors import DomainError, ErrorCode, Invalid, NotFound
from domain.identity.models import Customer

MAX_ADDRESSES = 20
SNAPSHOT_FIELDS = ("name", "phone", "province", "city", "district", "detail")


async def _lock(customer_id: int) -> None:
    if await Customer.filter(id=customer_id).select_for_update(no_key=True).first() is None:
        raise NotFound("customer")


async def _own(customer_id: int, address_id: int, field: str = "id") -> SavedAddress:
    found = await SavedAddress.get_or_none(id=address_id, customer_id=customer_id)
    if found is None:  # another customer's address reads as missing
        raise NotFound("address", [field])
    return found


async def addresses_of(customer_id: int) -> list[SavedAddress]:
    """The default first, then the most recently saved."""
    return await SavedAddress.filter(customer_id=customer_id).order_by("-is_default", "-id")


async def create(customer_id: int, address: Address, make_default: bool) -> SavedAddress:
    fields = checked(address, [])
    async with in_transaction():
        await _lock(customer_id)
        held = await SavedAddress.filter(customer_id=customer_id).count()
        if held >= MAX_ADDRESSES:
            raise DomainError(ErrorCode.LIMIT_EXCEEDED, f"at most {MAX_ADDRESSES} addresses: delete one first")
        default = make_default or held == 0
        if default:
            await SavedAddress.filter(customer_id=customer_id, is_default=True).update(is_default=False)
        return await SavedAddress.create(customer_id=customer_id, is_default=default, **fields)


async def update(customer_id: int, address_id: int, address: Address, make_default: bool) -> SavedAddress:
    fields = checked(address, [])
    async with in_transaction():
        await _lock(customer_id)
        found = await _own(customer_id, address_id)
        if make_default and not found.is_default:
            await SavedAddress.filter(customer_id=customer_id, is_default=True).update(is_default=False)
            fields["is_default"] = True
        found.update_from_dict(fields)
        await found.save()
        return found


async def delete(customer_id: int, address_id: int) -> int:
    async with in_transaction():
        await _lock(customer_id)
        found = await _own(customer_id, address_id)
        await found.delete()
        if found.is_default:
            latest = await SavedAddress.filter(customer_id=customer_id).order_by("-id").first()
            if latest is not None:
                await SavedAddress.filter(id=latest.id).update(is_default=True)
    return address_id


async def snapshot(customer_id: int, address_id: int | None, path: list[str]) -> dict[str, Any]:
    """What an order keeps of a saved address (`address_id`, or the default when None): NOT_FOUND, or INVALID for a
    customer without a default, under `path`."""
    if address_id is None:
        found = await SavedAddress.get_or_none(customer_id=customer_id, is_default=True)
        if found is None:
            raise Invalid("give a delivery: you have no default address", path)
    else:
        found = await SavedAddress.get_or_none(id=address_id, customer_id=customer_id)
        if found is None:
            raise NotFound("address", path)
    return {field: getattr(found, field) for field in SNAPSHOT_FIELDS}

"""The address book: my addresses, and saving, changing and deleting them."""

from __future__ import annotations

from typing import Any

from domain.addresses import book
from domain.addresses.models import SavedAddress
from domain.addresses.rules import Address
from resolvers.context import Context
from resolvers.outcome import Outcome, attempt, decode_id
from resolvers.permissions import customer_id_of


async def addresses_of(ctx: Context, customer_id: int) -> list[SavedAddress] | None:
    return await book.addresses_of(customer_id) if ctx.customer_id == customer_id else None


def _address(data: Any) -> Address:
    return Address(data.name, data.phone, data.province, data.city, data.district, data.detail)


async def address_create(ctx: Context, data: Any) -> Outcome[SavedAddress]:
    async def run() -> SavedAddress:
        return await book.create(customer_id_of(ctx), _address(data), bool(data.is_default))

    return await attempt(run())


async def address_update(ctx: Context, data: Any) -> Outcome[SavedAddress]:
    async def run() -> SavedAddress:
        address_id = decode_id(data.id, "SavedAddress")
        return await book.update(customer_id_of(ctx), address_id, _address(data), bool(data.is_default))

    return await attempt(run())


async def address_delete(ctx: Context, data: Any) -> Outcome[int]:
    async def run() -> int:
        return await book.delete(customer_id_of(ctx), decode_id(data.id, "SavedAddress"))

    return await attempt(run())

"""Share links: minting one per customer and target, and recording who opened it."""

from __future__ import annotations

import secrets
import string
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from domain.distribution import targets
from domain.distribution.models import ShareLink, ShareOpen
from domain.errors import NotFound
from domain.pagination import Page, paginate

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 16
"""62**16 is about 2**95: unguessable, and short enough for a mini-program code's 32-character scene."""
MAX_CODE_LENGTH = 32


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def well_formed(code: object) -> bool:
    return isinstance(code, str) and 0 < len(code) <= MAX_CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


async def create(customer_id: int, kind: str, target_id: int, at: datetime) -> ShareLink:
    """The customer's link to the target: the same one every time. A missing target is NOT_FOUND."""
    if kind != targets.SHOP and not await targets.exists(kind, target_id):
        raise NotFound(kind, [{"Product": "productId", "GroupBuy": "groupId", "Relay": "relayId"}[kind]])
    link = await ShareLink.get_or_none(customer_id=customer_id, target_kind=kind, target_id=target_id)
    if link is not None:
        return link
    try:
        async with in_transaction():
            return await ShareLink.create(code=new_code(), customer_id=customer_id, target_kind=kind,
                                          target_id=target_id, created_at=at)
    except IntegrityError:  # the same customer and target at the same time: one link, the other's
        return await ShareLink.get(customer_id=customer_id, target_kind=kind, target_id=target_id)


async def by_code(code: str) -> ShareLink:
    link = await ShareLink.get_or_none(code=code) if well_formed(code) else None
    if link is None:
        raise NotFound("share", ["code"])
    return link


async def record_open(code: str, customer_id: int | None, at: datetime) -> ShareLink:
    link = await by_code(code)
    async with in_transaction():
        await ShareOpen.create(link_id=link.id, customer_id=customer_id, opened_at=at)
        await ShareLink.filter(id=link.id).update(opens=F("opens") + 1)
    link.opens += 1
    return link


async def links_of(customer_id: int, first: int | None, after: str | None) -> Page[ShareLink]:
    """The customer's own links, newest first."""
    return await paginate(ShareLink.filter(customer_id=customer_id), ["id"], first, after, descending=True)

"""A share's mini-program code image: drawn by WeChat on first request, then served from the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.distribution import links, targets
from domain.distribution.models import ShareCodeImage

Draw = Callable[[str, str], Awaitable[bytes]]
"""(scene, page) → PNG bytes: wxacode.getUnlimited behind the server's WeChat client."""


async def code_image(code: str, draw: Draw) -> bytes:
    """The PNG for the share `code` (NOT_FOUND when there is none); WeChat is asked only when none is stored."""
    link = await links.by_code(code)
    stored = await ShareCodeImage.get_or_none(link_id=link.id)
    if stored is not None:
        return bytes(stored.png)
    png = await draw(link.code, targets.PAGES[link.target_kind])
    try:
        async with in_transaction():
            await ShareCodeImage.create(link_id=link.id, png=png)
    except IntegrityError:  # a concurrent first request stored it: both images show the same code
        pass
    return png

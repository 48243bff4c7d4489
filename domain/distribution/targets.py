"""What a share may point at. A product is checked here; the group-buy and relay packages' checks are registered by
`domain.selling.register_share_targets` (the server calls it at start-up), since distribution imports no selling
mode; until then a group or relay id is taken on its decoded type alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.catalog.models import Product

PRODUCT = "Product"
GROUP = "GroupBuy"
"""The GraphQL type of a group (its global ids are `GroupBuy:<id>`)."""
RELAY = "Relay"
SHOP = "Shop"
KINDS = (PRODUCT, GROUP, RELAY)

Exists = Callable[[int], Awaitable[bool]]


async def _product_exists(product_id: int) -> bool:
    return await Product.exists(id=product_id, published=True, deleted_at__isnull=True)


async def _unchecked(target_id: int) -> bool:
    return True


_checks: dict[str, Exists] = {PRODUCT: _product_exists, GROUP: _unchecked, RELAY: _unchecked}

PAGES = {
    PRODUCT: "pages/product/index",
    GROUP: "pages/group-buy/index",
    RELAY: "pages/relay/index",
    SHOP: "pages/index/index",
}


def register(kind: str, exists: Exists) -> None:
    """Let a selling package say whether one of its objects exists (a share of a missing one is NOT_FOUND)."""
    if kind not in (GROUP, RELAY):
        raise ValueError(f"unknown share target {kind}")
    _checks[kind] = exists


async def exists(kind: str, target_id: int) -> bool:
    return await _checks[kind](target_id)


def path(kind: str, code: str) -> str:
    """Where the mini-program opens the share: the target's page, with the code as its `scene`."""
    return f"{PAGES[kind]}?scene={code}"

"""The category tree the mini-program browses."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from domain.catalog.models import Category, Product
from domain.catalog.rules import check_text
from domain.columns import cell
from domain.errors import DomainError, ErrorCode, Invalid, NotFound

MAX_DEPTH = 3


async def get_category(category_id: int, field: str = "id") -> Category:
    category = await Category.get_or_none(id=category_id)
    if category is None:
        raise NotFound("category", [field])
    return category


async def _depth(parent_id: int | None) -> int:
    depth = 0
    while parent_id is not None:
        depth += 1
        parent_id = await cell(Category.get_or_none(id=parent_id), "parent_id", int)
    return depth


async def create_category(name: str, parent_id: int | None = None, sort_order: int = 0, image: str = "") -> Category:
    name = check_text(name, "name", ["name"], required=True, max_length=64)
    if parent_id is not None:
        await get_category(parent_id, "parentId")
        if await _depth(parent_id) >= MAX_DEPTH:
            raise Invalid(f"categories nest at most {MAX_DEPTH} levels", ["parentId"])
    return await Category.create(name=name, parent_id=parent_id, sort_order=sort_order, image=image)


async def update_category(
    category_id: int,
    *,
    name: str | None = None,
    parent_id: int | None = None,
    move_to_root: bool = False,
    sort_order: int | None = None,
    image: str | None = None,
) -> Category:
    category = await get_category(category_id)
    if name is not None:
        category.name = check_text(name, "name", ["name"], required=True, max_length=64)
    if move_to_root:
        category.parent_id = None
    elif parent_id is not None:
        await get_category(parent_id, "parentId")
        if await _is_descendant_or_self(parent_id, category.id):
            raise Invalid("a category cannot be moved under itself or its descendants", ["parentId"])
        category.parent_id = parent_id
    if sort_order is not None:
        category.sort_order = sort_order
    if image is not None:
        category.image = image
    await category.save()
    return category


async def _is_descendant_or_self(candidate_id: int, ancestor_id: int) -> bool:
    current: int | None = candidate_id
    while current is not None:
        if current == ancestor_id:
            return True
        current = await cell(Category.get_or_none(id=current), "parent_id", int)
    return False


async def delete_category(category_id: int) -> None:
    async with in_transaction():
        category = await get_category(category_id)
        if await Category.filter(parent_id=category.id).exists():
            raise DomainError(ErrorCode.IN_USE, "the category still has subcategories", ["id"])
        if await Product.filter(category_id=category.id, deleted_at__isnull=True).exists():
            raise DomainError(ErrorCode.IN_USE, "the category still has products", ["id"])
        if await Product.filter(category_id=category.id).exists():
            raise DomainError(ErrorCode.IN_USE, "deleted products kept for past orders still use it", ["id"])
        await category.delete()


async def all_categories() -> list[Category]:
    return await Category.all().order_by("sort_order", "id")


async def with_descendants(category_id: int) -> list[int]:
    """The category and everything below it: the catalog filter a shopper expects from a top-level tab."""
    rows = await Category.all().values_list("id", "parent_id")
    children: dict[int | None, list[int]] = {}
    for cid, parent in rows:
        children.setdefault(parent, []).append(cid)
    found, stack = [], [category_id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found

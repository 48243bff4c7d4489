"""The conventions every area uses: Money, UserError/ErrorCode, Relay connections, payload helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry
from strawberry import relay

from domain.errors import DomainError
from domain.errors import ErrorCode as DomainErrorCode
from domain.pagination import Page
from resolvers.outcome import Outcome

T = TypeVar("T")
P = TypeVar("P")

# Domain enums under their GraphQL names: strawberry.enum marks the class itself, so each name stays a type.
ErrorCode = DomainErrorCode
strawberry.enum(ErrorCode, name="ErrorCode", description="Stable codes for business outcomes")


@strawberry.type(description="An amount of money in integer fen (1 CNY = 100 fen)")
class Money:
    amount: int
    currency: str = "CNY"


def money_field(attribute: str, description: str | None = None) -> Any:
    """A `Money!` field read from an integer-fen attribute of the object being rendered."""

    def resolve(root: strawberry.Parent[Any]) -> Money:
        return Money(amount=getattr(root, attribute))

    return strawberry.field(resolver=resolve, description=description)


@strawberry.type(description="Money range over a product's SKUs")
class PriceRange:
    min: Money
    max: Money


@strawberry.type(description="An expected failure: nothing was changed")
class UserError:
    field: list[str] | None
    code: ErrorCode
    message: str


def user_errors(errors: list[DomainError]) -> list[UserError]:
    return [UserError(field=e.field, code=e.code, message=e.message) for e in errors]


def payload(cls: Callable[..., P], name: str, outcome: Outcome[Any]) -> P:
    """Build `cls(name=value, errors=[])` or `cls(name=None, errors=[...])`."""
    return cls(**{name: outcome.value if not outcome.errors else None}, errors=user_errors(outcome.errors))


def deleted_payload(cls: Callable[..., P], type_name: str, outcome: Outcome[int]) -> P:
    deleted = None if outcome.errors or outcome.value is None else relay.GlobalID(type_name, str(outcome.value))
    return cls(deleted_id=deleted, errors=user_errors(outcome.errors))


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: relay.PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of items matching the filter, across all pages")
    async def total_count(self) -> int:
        return await self._count()


def connection(page: Page[Any], cls: type[Connection[Any]] = Connection) -> Any:
    edges = [Edge(cursor=c, node=n) for c, n in zip(page.cursors, page.items, strict=True)]
    info = relay.PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )
    return cls(edges=edges, page_info=info, _count=page.count)


def model_node(model: type) -> Any:
    """`is_type_of` for a Node rendered straight from a Tortoise model instance (no per-row copying)."""
    return classmethod(lambda cls, obj, info: isinstance(obj, (cls, model)))

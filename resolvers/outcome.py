"""A mutation's result before it becomes a payload: the object, or the business errors that stopped it."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from strawberry import UNSET, relay

from domain.errors import DomainError, DomainErrors, NotFound

T = TypeVar("T")
MAX_ID = 2**31 - 1  # primary keys are 32-bit integers: a bigger number names nothing


@dataclass
class Outcome(Generic[T]):
    value: T | None = None
    errors: list[DomainError] = field(default_factory=list)


async def attempt(work: Awaitable[T]) -> Outcome[T]:
    """Run one domain call; expected failures become errors, anything else propagates (and is masked)."""
    try:
        return Outcome(value=await work)
    except DomainErrors as exc:
        return Outcome(errors=exc.errors)
    except DomainError as exc:
        return Outcome(errors=[exc])


def decode_id(global_id: relay.GlobalID | str | None, type_name: str, field: str = "id") -> int:
    """A Relay ID of the expected type, as its integer key; any other ID reads as not found."""
    if global_id is None:
        raise NotFound(type_name, [field])
    if isinstance(global_id, str):
        try:
            global_id = relay.GlobalID.from_id(global_id)
        except Exception:  # noqa: BLE001 - any undecodable ID is simply not found
            raise NotFound(type_name, [field]) from None
    node_id = global_id.node_id
    if global_id.type_name != type_name or not node_id.isdigit() or len(node_id) > 10 or int(node_id) > MAX_ID:
        raise NotFound(type_name, [field])
    return int(node_id)


def given(value: Any) -> Any:
    """An optional input field: None when the client left it out (UNSET)."""
    return None if value is UNSET else value


def now() -> datetime:
    """The moment a resolver hands the domain, in UTC."""
    return datetime.now(UTC)


def under(field: str, error: DomainError) -> DomainError:
    """The same error with its field path under `field` (an input decoded inside another, e.g. `delivery`)."""
    return DomainError(error.code, error.message, [field, *(error.field or [])])

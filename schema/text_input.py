"""One rule for every text a client sends: no NUL character (PostgreSQL cannot store or compare one).

Checked on each field's arguments once they are coerced, so inline literals and variables, at any depth of an input
object or list, meet the same rule on every backend. A mutation answers its payload with an INVALID UserError; a
query answers a GraphQL error whose extensions.code is INVALID. Either way nothing runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass
from typing import Any

from graphql import GraphQLResolveInfo, OperationType, get_nullable_type
from strawberry.extensions import SchemaExtension
from strawberry.types.base import StrawberryObjectDefinition

from domain.errors import Invalid
from schema.core import user_errors

NUL = "\x00"
MESSAGE = "text must not contain a NUL character (\\u0000)"


def nul_paths(value: Any, path: tuple[str, ...]) -> Iterator[list[str]]:
    """The path of every string in `value` that holds a NUL (input objects are dataclasses)."""
    if isinstance(value, str):
        if NUL in value:
            yield list(path)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from nul_paths(item, (*path, str(key)))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from nul_paths(item, (*path, str(index)))
    elif is_dataclass(value) and not isinstance(value, type):
        for member in fields(value):
            yield from nul_paths(getattr(value, member.name), (*path, _camel(member.name)))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class RefuseNulText(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: GraphQLResolveInfo, *args: Any, **kwargs: Any) -> Any:
        if not kwargs:
            return _next(root, info, *args, **kwargs)
        found = next(nul_paths(kwargs, ()), None)
        if found is None:
            return _next(root, info, *args, **kwargs)
        # A mutation's one `input` argument is left out of the path, as the resolvers' own errors do.
        field = found[1:] if found[0] == "input" and len(found) > 1 else [_camel(found[0]), *found[1:]]
        error = Invalid(MESSAGE, field)
        payload = _payload_type(info)
        if payload is None:
            raise error
        return _with_errors(payload, error)


def _payload_type(info: GraphQLResolveInfo) -> type | None:
    """The payload class (a type with an `errors` field) a root mutation field returns, if it returns one."""
    if info.operation.operation != OperationType.MUTATION or info.path.prev is not None:
        return None
    named = get_nullable_type(info.return_type)
    definition = getattr(named, "extensions", {}).get("strawberry-definition")
    if not isinstance(definition, StrawberryObjectDefinition):
        return None
    if not any(f.python_name == "errors" for f in definition.fields):
        return None
    return definition.origin


def _with_errors(payload: type, error: Invalid) -> Any:
    definition: StrawberryObjectDefinition = payload.__strawberry_definition__  # type: ignore[attr-defined]
    empty = {f.python_name: None for f in definition.fields if f.base_resolver is None and f.python_name != "errors"}
    return payload(**empty, errors=user_errors([error]))

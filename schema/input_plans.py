"""Input objects built from a plan made once per type, through strawberry's `from_input` hook.

For every input object in every request, strawberry's generic conversion resolves each field's type, turns each
field's name into its GraphQL name and asks what kind of type it is, field by field (about 90 µs for
`FlashSaleBuyInput`: a seventh of a trivial request). All of that is the same for every request, so `plan_inputs`
works it out once per input type when the schema is built, and sets the type's `from_input` (strawberry's hook for
types that build their own value) to a function that only copies the values across.

It changes nothing strawberry decides: fields whose value strawberry hands over unchanged (scalars, optional or
not, but `GlobalID`, which it decodes) are copied; every other field (nested inputs, lists, enums, `Maybe`, global
ids) is converted by strawberry itself (`InputContext.convert`), and nested inputs then use their own plan. Fields
the client left out get strawberry's implicit None or the class's default, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from graphql import is_input_object_type
from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryMaybe, StrawberryObjectDefinition, StrawberryOptional, StrawberryType

FromInput = Callable[[type, Mapping[str, Any], InputContext], Any]


def plan_inputs(schema: strawberry.Schema) -> None:
    """Give every input object of the schema that builds no value of its own a planned `from_input`."""
    registry = schema.schema_converter.scalar_registry
    for graphql_type in schema._schema.type_map.values():
        if not is_input_object_type(graphql_type):
            continue
        definition = graphql_type.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if isinstance(definition, StrawberryObjectDefinition) and definition.from_input is None:
            definition.from_input = _planned(definition, registry, schema.config)


def _planned(definition: StrawberryObjectDefinition, registry: Mapping[object, Any],
             config: strawberry.schema.config.StrawberryConfig) -> FromInput:
    implicit_none = {field.python_name: None for field in definition.fields
                     if field.default_value is MISSING and field.default_factory is MISSING}
    steps: list[tuple[str, str, Any]] = []
    for field in definition.fields:
        field_type = field.resolve_type(type_definition=definition)
        converted = None if _handed_over(field_type, registry) else field_type
        steps.append((config.name_converter.from_field(field), field.python_name, converted))

    def from_input(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
        kwargs: dict[str, Any] = dict(implicit_none)
        for graphql_name, python_name, field_type in steps:
            if graphql_name in value:
                item = value[graphql_name]
                kwargs[python_name] = item if field_type is None else context.convert(item, field_type, graphql_name)
        return cls(**kwargs)

    return from_input


def _handed_over(field_type: Any, registry: Mapping[object, Any]) -> bool:
    """Whether strawberry's conversion returns a value of this type as it is (and None for an optional one)."""
    if isinstance(field_type, StrawberryMaybe):
        return False
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    return (field_type is not GlobalID and not isinstance(field_type, StrawberryType)
            and is_scalar(field_type, registry))

"""Every input object of the schema is built by its plan (schema/input_plans.py) exactly as strawberry's own
conversion builds it, with every field given and with only the required ones."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    is_input_object_type,
)
from graphql.utilities import coerce_input_value
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_argument

from schema import schema

SCALARS = {"String": "a text", "ID": "U2t1OjQy", "Int": 7, "Float": 1.5, "Boolean": True,
           "DateTime": "2026-12-05T04:00:00+00:00", "Date": "2026-12-05", "JSON": {"k": 1}}
INPUTS = sorted(name for name, t in schema._schema.type_map.items() if is_input_object_type(t))


def sample(graphql_type: Any, every_field: bool, depth: int = 0) -> Any:
    if isinstance(graphql_type, GraphQLNonNull):
        return sample(graphql_type.of_type, every_field, depth)
    if isinstance(graphql_type, GraphQLList):
        return [sample(graphql_type.of_type, every_field, depth)]
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    if isinstance(graphql_type, GraphQLScalarType):
        return SCALARS[graphql_type.name]
    assert isinstance(graphql_type, GraphQLInputObjectType)
    return {name: sample(field.type, every_field, depth + 1) for name, field in graphql_type.fields.items()
            if isinstance(field.type, GraphQLNonNull) or (every_field and depth < 3)}


def build(definition: Any, value: Any, planned: bool) -> Any:
    """The input as strawberry builds it, with or without the type's (and nested types') plans."""
    saved = {}
    if not planned:
        for t in schema._schema.type_map.values():
            d = getattr(t, "extensions", {}).get(GraphQLCoreConverter.DEFINITION_BACKREF) \
                if is_input_object_type(t) else None
            if d is not None:
                saved[d], d.from_input = d.from_input, None
    try:
        return convert_argument(value, definition.origin, schema.schema_converter.scalar_registry, schema.config)
    finally:
        for d, from_input in saved.items():
            d.from_input = from_input


@pytest.mark.parametrize("every_field", [True, False], ids=["every field", "required fields"])
@pytest.mark.parametrize("name", INPUTS)
def test_a_planned_input_is_the_input_strawberry_builds(name, every_field):
    graphql_type = schema._schema.type_map[name]
    definition = graphql_type.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
    assert definition.from_input is not None, "planned"
    value = coerce_input_value(sample(graphql_type, every_field), graphql_type)
    assert value is not Undefined, f"the sample of {name} is not a valid input"

    assert build(definition, value, planned=True) == build(definition, value, planned=False)

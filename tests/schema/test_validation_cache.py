"""Validation remembered by the query's text (`schema.validation_cache`)."""

from __future__ import annotations

from graphql import parse

from schema import build_schema, schema
from schema.validation_cache import _Asked, _validated

INTROSPECTION = "{ __schema { queryType { name } } }"


async def test_an_invalid_document_is_refused_the_same_way_every_time():
    query = "query Twice { noSuchField }"
    first = await schema.execute(query)
    again = await schema.execute(query)
    assert first.errors and again.errors
    assert [e.message for e in first.errors] == [e.message for e in again.errors]
    assert "noSuchField" in first.errors[0].message


async def test_the_same_text_is_validated_again_for_another_schema_or_other_rules():
    assert (await schema.execute(INTROSPECTION)).errors is None
    closed = build_schema(introspection=False)  # another schema, one more rule
    refused = await closed.execute(INTROSPECTION)
    assert refused.errors and "introspection" in refused.errors[0].message.lower()
    assert (await schema.execute(INTROSPECTION)).errors is None  # the first schema's answer is still its own


class _Unhashable:
    def __hash__(self) -> int:
        raise AssertionError("the syntax tree was hashed")


def test_finding_the_answer_never_walks_the_syntax_tree():
    graphql_schema = schema._schema
    document = parse("{ __typename }")
    asked = _Asked("{ __typename }", graphql_schema, (), document)
    assert _validated(asked) == []
    twin = _Asked("{ __typename }", graphql_schema, (), _Unhashable())
    assert hash(twin) == hash(asked) and twin == asked
    assert _validated(twin) == []  # found by the text: the unhashable tree was never looked at

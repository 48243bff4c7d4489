"""Validation remembered by the query's text, not by its syntax tree.

strawberry's `ValidationCache` keys its LRU cache on the parsed document. graphql-core's syntax nodes are frozen
dataclasses, and a dataclass's hash is worked out anew on every call, down the whole tree: every request paid a walk
of its document just to find the cached answer (a `flashSaleBuy` document: about 35 µs, a twentieth of a trivial
request; larger documents pay more). The text says the same as the tree, and a string's hash is one pass in C.

What validation answers depends on the document, the schema and the rules, so the key holds all three: the text,
the schema (by identity) and the rule classes. `ParserCache` hands back one document per text, so the document the
answer was worked out on is the one the text names.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_DOCUMENTS = 1024


class _Asked:
    """What validation was asked: equal to another when text, schema and rules are the same (the document rides
    along, unhashed)."""

    __slots__ = ("text", "schema", "rules", "document", "_hash")

    def __init__(self, text: str, schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...],
                 document: DocumentNode) -> None:
        self.text, self.schema, self.rules, self.document = text, schema, rules, document
        self._hash = hash((text, id(schema), rules))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _Asked) and self.text == other.text and self.schema is other.schema
                and self.rules == other.rules)


@lru_cache(maxsize=MAX_DOCUMENTS)
def _validated(asked: _Asked) -> list[GraphQLError]:
    return validate_document(asked.schema, asked.document, asked.rules)


class ValidationByText(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.graphql_document is not None and context.validation_rules:
            context.pre_execution_errors = _validated(_Asked(context.query, context.schema._schema,
                                                             tuple(context.validation_rules),
                                                             context.graphql_document))
        yield  # otherwise strawberry validates as it would without this extension

"""A crowd on a sold-out flash sale SKU, answered before GraphQL runs.

`flashSaleBuy` refuses a buyer the process knows the SKU is sold out for with the same payload every time: order and
payment null, one SOLD_OUT error. The bytes of that answer depend on the document (its selection, aliases,
`__typename`s) and never on the variables. So once strawberry has answered a document that way, `SoldOutAnswers`
keeps the answer and sends it again for the same document whenever the same rules say SOLD_OUT, without executing
GraphQL (a crowd on a sold-out sale then costs about what a trivial request does):

- the variable is coerced and converted by graphql-core's and strawberry's own functions, and the NUL rule applied;
- `resolvers.flash_sale.flash_sale_buy_sold_out` decides, by the resolver's own request building and the domain's
  `refused_at_once`, and checks the bearer token as for any request (`principal_of`: signature, then the access
  gate) only once the SKU is known sold out: it changes nothing (a sold-out mark past its time is left for the
  attempt GraphQL runs, which asks the pool).

Anything else goes on to GraphQL unchanged: another operation, a document of another shape, an input GraphQL would
refuse or answer otherwise, a caller who may not buy. A document qualifies when it is one mutation whose only field
is `flashSaleBuy(input: $v)` with `$v: FlashSaleBuyInput!` its only variable and no directive anywhere, so nothing in
its answer depends on the variables but through the resolver. Its answer is learnt from GraphQL itself: requests of
the document run through GraphQL until one is answered SOLD_OUT (every SOLD_OUT a buy answers is the same payload),
and that answer is kept.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import strawberry
from graphql import (
    FieldNode,
    GraphQLError,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    VariableNode,
    parse,
)
from graphql.utilities import coerce_input_value
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import StrawberryArgument, convert_argument

from resolvers.flash_sale import flash_sale_buy_sold_out
from schema.text_input import nul_paths
from server.graphql_app import capture, principal_of
from server.observability import OUTCOME_OK, count_operation, operation_label
from server.request_limits import read_body, replay

FIELD = "flashSaleBuy"
INPUT_TYPE = "FlashSaleBuyInput"
MAX_ANSWERS = 64
"""Documents whose SOLD_OUT answer is kept (a mini-program sends one or two; more are run through GraphQL)."""
MAX_QUERY_CHARACTERS = 4096


@dataclass(frozen=True)
class _Shape:
    """A document that qualifies: the name of its one variable and its operation's metrics label."""

    variable: str
    label: str


@lru_cache(maxsize=256)
def _shape(query: str, operation_name: str | None) -> _Shape | None:
    if len(query) > MAX_QUERY_CHARACTERS or FIELD not in query or "@" in query:  # "@": any directive
        return None
    try:
        document = parse(query)
    except GraphQLError:
        return None
    if len(document.definitions) != 1 or not isinstance(document.definitions[0], OperationDefinitionNode):
        return None
    operation = document.definitions[0]
    name = operation.name.value if operation.name else None
    if operation.operation != OperationType.MUTATION or operation_name not in (None, name):
        return None
    selections, variables = operation.selection_set.selections, operation.variable_definitions or ()
    if len(variables) != 1 or len(selections) != 1:
        return None
    variable = variables[0]
    declared = variable.type
    if not (isinstance(declared, NonNullTypeNode) and isinstance(declared.type, NamedTypeNode)
            and declared.type.name.value == INPUT_TYPE and variable.default_value is None):
        return None
    field = selections[0]
    if not isinstance(field, FieldNode) or field.name.value != FIELD or len(field.arguments or ()) != 1:
        return None
    argument = (field.arguments or ())[0]
    if argument.name.value != "input" or not isinstance(argument.value, VariableNode) \
            or argument.value.name.value != variable.variable.name.value:
        return None
    return _Shape(variable.variable.name.value, operation_label(operation_name or name or FIELD))


class SoldOutAnswers:
    """ASGI wrapper around the GraphQL endpoint; see the module's docstring."""

    def __init__(self, app: ASGIApp, schema: strawberry.Schema) -> None:
        self.app = app
        graphql_argument = schema._schema.mutation_type.fields[FIELD].args["input"]  # type: ignore[union-attr]
        self._input_type = graphql_argument.type
        self._argument: StrawberryArgument = graphql_argument.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
        self._scalars = schema.schema_converter.scalar_registry
        self._config = schema.config
        self._answers: dict[tuple[str, str | None], bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        started = time.perf_counter()
        request = self._request(scope, body) if FIELD.encode() in body else None
        if request is None:
            await self.app(scope, replay(body), send)
            return
        key, shape, value = request
        answer = self._answers.get(key)
        if answer is not None:
            if await self._sold_out(scope, value):
                await _send_json(send, answer)
                count_operation(shape.label, OperationType.MUTATION.value, OUTCOME_OK, started)
            else:
                await self.app(scope, replay(body), send)
            return
        if len(self._answers) >= MAX_ANSWERS:
            await self.app(scope, replay(body), send)
            return
        captured = await capture(self.app, scope, replay(body))  # to learn the document's SOLD_OUT answer
        if captured.status == 200 and _sold_out_answer(captured.body):
            self._answers[key] = captured.body
        await captured.forward(send)

    def _request(self, scope: Scope, body: bytes) -> tuple[tuple[str, str | None], _Shape, Any] | None:
        """(the document's key, its shape, the variable's value) for a JSON POST of a qualifying document."""
        if b"application/json" not in dict(scope["headers"]).get(b"content-type", b""):
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or not data.keys() <= {"query", "operationName", "variables"}:
            return None
        query, name, variables = data.get("query"), data.get("operationName"), data.get("variables")
        if not isinstance(query, str) or not (name is None or isinstance(name, str)) \
                or not isinstance(variables, dict):
            return None
        shape = _shape(query, name)
        if shape is None or variables.keys() != {shape.variable}:
            return None
        return (query, name), shape, variables[shape.variable]

    async def _sold_out(self, scope: Scope, value: Any) -> bool:
        coerced = coerce_input_value(value, self._input_type)
        if coerced is Undefined:
            return False
        data = convert_argument(coerced, self._argument.type, self._scalars, self._config)
        if next(nul_paths(data, ()), None) is not None:
            return False
        services = scope["app"].state.services
        return await flash_sale_buy_sold_out(services, lambda: principal_of(HTTPConnection(scope), services), data)


def _sold_out_answer(body: bytes) -> bool:
    """Whether GraphQL's answer is the SOLD_OUT payload (every SOLD_OUT a buy answers is the same payload)."""
    if body.count(b'"SOLD_OUT"') != 1:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return (isinstance(answer, dict) and answer.keys() == {"data"} and isinstance(answer["data"], dict)
            and len(answer["data"]) == 1)


async def _send_json(send: Send, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""`flashSaleBuy` answered by a lane beside strawberry's: a crowd on a flash sale costs little more than the buy.

A buy's own work (the token, the pool's one script, its share of a group commit) is about half of what a succeeding
`flashSaleBuy` cost when strawberry ran it; the rest was the GraphQL machinery around one field: the body parsed
twice more, every extension's hooks, the permission and argument extensions, the input converted again. The lane
runs a qualifying document's buy through the same functions GraphQL calls, and only those:

- the variable is coerced and converted by graphql-core's and strawberry's own functions, and the NUL rule applied
  (`schema.text_input.nul_paths`);
- the caller is checked by `principal_of` and `acts_as_customer`, the `IsCustomer` rule;
- the root field's value is `schema.flash_sale.buy_payload`, what the mutation itself returns, and the rest of the
  answer (the order's fields, `__typename`s, aliases) is completed by graphql-core's executor over Pond's schema,
  with strawberry's execution context, so every field below the root resolves as it does in GraphQL;
- execution errors are answered as the schema's extensions answer them (`schema.answered_errors`), and the
  operation is counted in the same metrics.

A crowd on a sold-out SKU costs less still: once GraphQL or the lane has answered a document SOLD_OUT (every SOLD_OUT
a buy answers is the same payload: its bytes depend on the document, never on the variables), the lane sends those
bytes again whenever `resolvers.flash_sale.flash_sale_buy_sold_out` says the process knows the SKU is sold out for
that buyer, without executing anything; the token is then checked only once the SKU is known sold out.

Anything else goes on to GraphQL unchanged: another operation, a document of another shape, a document GraphQL has not
yet executed in this process (the lane runs only documents GraphQL has validated and executed: the first request of a
document always goes through GraphQL), an input GraphQL would refuse or answer otherwise, a caller who may not buy.
A document qualifies when it is one mutation whose only field is `flashSaleBuy(input: $v)` with `$v:
FlashSaleBuyInput!` its only variable, no directive and no string holding a NUL anywhere, so nothing in its answer
depends on the variables but through the root field, and no argument below it carries text the NUL rule would
refuse.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import strawberry
from graphql import (
    BREAK,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    Undefined,
    VariableNode,
    Visitor,
    execute,
    parse,
    visit,
)
from graphql.utilities import coerce_input_value
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.http import process_result
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import StrawberryArgument, convert_argument
from strawberry.utils.await_maybe import await_maybe

from domain.identity.tokens import Principal
from resolvers.flash_sale import flash_sale_buy_sold_out
from resolvers.permissions import acts_as_customer
from schema import answered_errors
from schema.flash_sale import buy_payload
from schema.text_input import nul_paths
from server.graphql_app import capture, principal_of, request_context
from server.observability import OUTCOME_ERROR, OUTCOME_OK, count_operation, operation_label
from server.request_limits import parsed_request, read_body, replay

FIELD = "flashSaleBuy"
INPUT_TYPE = "FlashSaleBuyInput"
MAX_DOCUMENTS = 64
"""Documents the lane keeps (a mini-program sends one or two; the least recently used beyond them is forgotten)."""
MAX_QUERY_CHARACTERS = 4096


@dataclass(frozen=True)
class _Shape:
    """A document that qualifies: its syntax tree, the name of its one variable and its operation's metrics label."""

    document: DocumentNode
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
    if _nul_text(document):  # text below the root the NUL rule (`RefuseNulText`) may refuse
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
    return _Shape(document, variable.variable.name.value, operation_label(operation_name or name or FIELD))


class FlashBuyLane:
    """ASGI wrapper around the GraphQL endpoint; see the module's docstring."""

    def __init__(self, app: ASGIApp, schema: strawberry.Schema) -> None:
        self.app = app
        self._schema = schema
        graphql_argument = schema._schema.mutation_type.fields[FIELD].args["input"]  # type: ignore[union-attr]
        self._input_type = graphql_argument.type
        self._argument: StrawberryArgument = graphql_argument.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
        self._scalars = schema.schema_converter.scalar_registry
        self._config = schema.config
        self._execution = {**execution_context_class_kwargs(schema.execution_context_class),
                           "is_awaitable": optimized_is_awaitable}  # as strawberry's own `execute` call
        self._executed: OrderedDict[tuple[str, str | None], None] = OrderedDict()
        """Documents GraphQL has executed (so validated) in this process, the most recently used last: the lane runs
        them. At most MAX_DOCUMENTS: the one used least recently is forgotten (and learnt again if it comes back)."""
        self._sold_out: dict[tuple[str, str | None], bytes] = {}

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
        key, shape, variables = request
        if key not in self._executed:
            await self._learn(key, scope, body, send)
            return
        self._executed.move_to_end(key)
        data = self._converted(variables[shape.variable], b"\\u0000" in body)
        if data is None:
            await self.app(scope, replay(body), send)
            return
        connection = HTTPConnection(scope)
        services = scope["app"].state.services
        caller = _Caller(lambda: principal_of(connection, services))
        answer = self._sold_out.get(key)
        if answer is not None and await flash_sale_buy_sold_out(services, caller, data):
            await _send_json(send, answer)
            count_operation(shape.label, OperationType.MUTATION.value, OUTCOME_OK, started)
            return
        principal = await caller()
        if not acts_as_customer(principal):  # GraphQL answers the `IsCustomer` refusal
            await self.app(scope, replay(body), send)
            return
        result = await self._execute(shape, key[1], variables, request_context(connection, Response(), services,
                                                                                 principal), data)
        answer = self._encoded(result)
        if not result.errors and key not in self._sold_out and _sold_out_answer(answer):
            self._sold_out[key] = answer
        await _send_json(send, answer)
        count_operation(shape.label, OperationType.MUTATION.value, OUTCOME_ERROR if result.errors else OUTCOME_OK,
                        started)

    async def _learn(self, key: tuple[str, str | None], scope: Scope, body: bytes, send: Send) -> None:
        """The document run through GraphQL, which validates it: once it has executed, the lane runs it."""
        captured = await capture(self.app, scope, replay(body))
        if captured.status == 200:
            answer = captured.body
            if _executed(answer):
                self._executed[key] = None
                if _sold_out_answer(answer):
                    self._sold_out[key] = answer
                while len(self._executed) > MAX_DOCUMENTS:
                    forgotten, _ = self._executed.popitem(last=False)
                    self._sold_out.pop(forgotten, None)
        await captured.forward(send)

    def _request(self, scope: Scope, body: bytes) -> tuple[tuple[str, str | None], _Shape, dict[str, Any]] | None:
        """(the document's key, its shape, the variables) for a JSON POST of a qualifying document."""
        if not _json_body(dict(scope["headers"]).get(b"content-type", b"")):
            return None
        data, _ = parsed_request(body)  # a body `GraphQLRequestShape` refuses is left to it
        if data is None or not data.keys() <= {"query", "operationName", "variables"}:
            return None
        query, name, variables = data.get("query"), data.get("operationName"), data.get("variables")
        if not isinstance(query, str) or not (name is None or isinstance(name, str)) \
                or not isinstance(variables, dict):
            return None
        shape = _shape(query, name)
        if shape is None or variables.keys() != {shape.variable}:
            return None
        return (query, name), shape, variables

    def _converted(self, value: Any, may_hold_nul: bool) -> Any | None:
        """The input as the resolver receives it, or None where GraphQL would refuse it or answer otherwise.
        `may_hold_nul`: the body has a `\\u0000` escape, the only way JSON carries a NUL (`json.loads` refuses a
        raw control character in a string), so a body without one needs no walk of its text for the NUL rule."""
        coerced = coerce_input_value(value, self._input_type)
        if coerced is Undefined:
            return None
        data = convert_argument(coerced, self._argument.type, self._scalars, self._config)
        if may_hold_nul and next(nul_paths(data, ()), None) is not None:
            return None
        return data

    async def _execute(self, shape: _Shape, operation_name: str | None, variables: dict[str, Any], context: Any,
                       data: Any) -> ExecutionResult:
        def root_field(next_: Callable[..., Any], root: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
            if info.path.prev is None:  # flashSaleBuy itself, its input converted above
                return buy_payload(context, data)
            return next_(root, info, **arguments)

        result = await await_maybe(execute(self._schema._schema, shape.document, context_value=context,
                                           variable_values=variables, operation_name=operation_name,
                                           middleware=[root_field], **self._execution))
        if result.errors:
            result.errors = answered_errors(self._schema, result.errors)
        return result

    @staticmethod
    def _encoded(result: ExecutionResult) -> bytes:
        """The body strawberry's view answers for the result (its `process_result` and `encode_json`)."""
        return json.dumps(process_result(result), separators=(",", ":")).encode()


class _Caller:
    """The request's caller, asked for at most once."""

    def __init__(self, ask: Callable[[], Awaitable[Principal | None]]) -> None:
        self._ask = ask
        self._asked = False
        self._principal: Principal | None = None

    async def __call__(self) -> Principal | None:
        if not self._asked:
            self._principal = await self._ask()
            self._asked = True
        return self._principal


def _nul_text(document: DocumentNode) -> bool:
    """Whether a string anywhere in the document holds a NUL (written `\\u0000` or `\\u{0}`, or raw)."""
    found = []

    class Nul(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
            if "\x00" in node.value:
                found.append(node)
                return BREAK
            return None

    visit(document, Nul())
    return bool(found)


@lru_cache(maxsize=64)
def _json_body(content_type: bytes) -> bool:
    """Whether strawberry's view reads a body of this content type as JSON (its own parsing of the header)."""
    return "application/json" in parse_content_type(content_type.decode("latin-1"))[0]


def _executed(body: bytes) -> bool:
    """Whether GraphQL's answer is an executed `flashSaleBuy`: a payload, so the document passed validation."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    data = answer.get("data") if isinstance(answer, dict) else None
    return isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), dict)


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

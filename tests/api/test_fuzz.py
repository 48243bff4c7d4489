"""Schema-driven fuzz: every root Query and Mutation field, as anonymous, customer and staff (OWNER) callers.

Nothing may answer 5xx, every body is GraphQL JSON, and no error message carries an exception's text: a message is a
validation / permission / business message, or exactly "Internal server error" - and that one fails the test too,
because the mask only hides a bug from the client, it does not excuse it.

How the documents are made: schemathesis loads the schema the *running* app introspects to
(``schemathesis.graphql.from_dict``), and its per-operation case strategy (``schema["Mutation"]["skuCreate"]
.as_strategy()``, hypothesis-graphql underneath) generates positive (valid) and negative (one schema violation each)
documents. Schemathesis's own runner is not used: it is synchronous and calls an ASGI app through Starlette's
TestClient, which runs the app on a portal thread with its own event loop, while the ``app`` fixture's database
pool, Redis client and caches belong to the session event loop. So a derandomized hypothesis run
(``derandomize=True, database=None``, generate phase only) merely *collects* the documents - the same ones on every
run - and the async test sends each through the ``gql`` client (httpx over ASGITransport) in the session loop, like
every other API test. Each operation's documents are generated once per session and replayed for every caller and
on both backends.

Hitting real rows: random ``ID`` literals almost never name a row, so schemathesis's dictionaries bind every ``ID``
argument (nested input fields included): half of the time it holds the global ID of a seeded row of the type the
argument expects (two categories, a published and a draft product, their four SKUs; elsewhere also the customer and
the staff member), or an awkward one (a node id no integer column holds, negative, not a number, of no type). The
seeded IDs differ between runs and backends, so the documents carry placeholders, swapped for the real IDs just
before sending. Pagination cursors (out-of-range and ill-typed values), product searches (seeded titles, LIKE
wildcards, quotes), login codes and the staff credentials get small dictionaries of their own, so the success paths
(a real login, a later page) are fuzzed too. Schemathesis's harvesting of literals from loaded Python modules is
switched off: it would make the documents depend on what else the run imported.

Deliberate slowness is taken out (``no_deliberate_waits``): the argon2 dummy hash ``staffLogin`` checks unknown
usernames against is a cheap one, and the WeChat client's back-off after a "busy" answer does not sleep. The code
paths are the same, and the file stays within its budget of a minute per backend.

The test runs per root field and sends each valid document as every caller (an invalid one once: validation rejects
it before the caller matters), so a failure names the field (``[real-Mutation.productCreate]``), and its report
gives, per distinct bug, the offending document, the caller and the traceback the server logged for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import graphql
import hypothesis
import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from starlette.applications import Starlette
from strawberry.relay import to_base64

from domain.catalog import categories
from domain.catalog.models import Category, Sku
from domain.identity import service as identity_service
from domain.identity.models import Customer, Staff
from domain.pagination import encode_cursor
from schema import INTERNAL_ERROR, build_schema
from tests.fixtures.accounts import STAFF_PASSWORD
from tests.fixtures.catalog import MakeProduct, gid
from tests.support.graphql import GraphQLClient
from wechat import client as wechat_client

POSITIVE_EXAMPLES = 24
NEGATIVE_EXAMPLES = 8
BINDING_PROBABILITY = 0.5
CALLERS = ("anonymous", "customer", "staff")
#: A negative document breaks the schema, so validation refuses it before the caller matters: sent once.
NEGATIVE_CALLERS = ("anonymous",)
MAX_REPORTED = 3

#: Every root field of the schema `create_app` builds (the test checks the running app serves exactly these).
_BUILT = build_schema()._schema
ROOT_FIELDS = [
    f"{root.name}.{name}" for root in (_BUILT.query_type, _BUILT.mutation_type) if root for name in root.fields
]

#: The type of each seeded row, in the order `seed` returns their global IDs; documents carry placeholders for them.
SEEDED = ("Category", "Category", "Product", "Product", "Sku", "Sku", "Sku", "Sku", "Customer", "Staff")
PLACEHOLDER_LITERAL = re.compile(r'"pond-fuzz-id-(\d+)"')
ID_TYPES = ("Category", "Product", "Sku")
#: Node ids a database column cannot hold, or that are no number at all.
AWKWARD_NODE_IDS = ("99999999999", "99999999999999999999999999", "-1", "0", "1.5", "abc", "")


def id_dictionary(type_name: str | None) -> list[str | int]:
    """IDs for an argument that expects `type_name` (None: any): the seeded rows of that type, awkward IDs of that
    type, and a few that are wrong whatever the type."""
    seeded = [f"pond-fuzz-id-{i}" for i, seeded_type in enumerate(SEEDED) if type_name in (None, seeded_type)]
    awkward = [to_base64(t, n) for t in ([type_name] if type_name else ID_TYPES) for n in AWKWARD_NODE_IDS]
    return [*seeded, *awkward, to_base64("Nope", "1"), "Product:1", ""]


def expected_id_type(path: str) -> str | None:
    """Which type an `ID` argument names, judged by its name (`skuId`) or else its root field's (`skuDelete`)."""
    root_field, _, rest = path.split(".", 1)[1].partition(".")
    argument = rest.rsplit(".", 1)[-1]
    named = {"categoryId": "Category", "parentId": "Category", "productId": "Product", "skuId": "Sku"}
    if argument in named:
        return named[argument]
    return next((t for t in ID_TYPES if root_field.startswith(t.lower())), None)


DICTIONARIES: dict[str, list[str | int]] = {
    **{f"ids-{t}": id_dictionary(t) for t in ID_TYPES},
    "ids": id_dictionary(None),
    "cursors": [
        encode_cursor([0, 1]),
        encode_cursor([0, 2**31]),
        encode_cursor([10**20, 1]),
        encode_cursor([-(2**63), 1]),
        encode_cursor([1]),
        encode_cursor(["0", 1]),
        encode_cursor([True, 1]),
        encode_cursor([0.5, 1]),
        "bnVsbA==",  # null
        "e30=",  # {}
    ],
    "search-terms": ["脐橙", "草稿", "%", "_", "\\", "'", "%' OR 1=1 --", " "],
    "login-codes": ["fuzz-shopper", "fuzz-shopper#1", "fuzz-shopper#2", "busy", "bad code!"],
    "usernames": ["owner-1", "nobody-here", "ghost"],
    "passwords": [STAFF_PASSWORD, "wrong password"],
}
STRING_BINDINGS = {
    "*.*.after": "cursors",
    "*.*.search": "search-terms",
    "Mutation.login.input.code": "login-codes",
    "Mutation.staffLogin.input.username": "usernames",
    "Mutation.staffLogin.input.password": "passwords",
}

#: What an exception's text looks like, as opposed to a message written for the client.
LEAK_PATTERNS = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"Traceback \(most recent call last\)",
        r"\b[A-Z]\w*(Error|Exception|Warning)\b\s*[(:]",  # KeyError('x'), IntegrityError: ...
        r"\b\w*(Error|Exception)\(",
        r"File \"[^\"]+\", line \d+",
        r"(/[\w.-]+)+\.py\b",
        r"\bsite-packages\b",
        r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s.+\sSET|DELETE\s+FROM)\b",
        r"\b(sqlite3?|asyncpg|psycopg|tortoise|pypika|aiosqlite)\b",
        r"\b(violates|duplicate key value|syntax error at or near|no such (table|column)|UNIQUE constraint)\b",
        r"\bredis\b",
        r"object has no attribute|is not subscriptable|unsupported operand|takes \d+ positional argument",
        r"NoneType",
    )
]


def leaked(message: str) -> str | None:
    """The pattern an error message matches if it carries an exception's text, else None."""
    for pattern in LEAK_PATTERNS:
        if pattern.search(message):
            return pattern.pattern
    return None


@dataclass
class Finding:
    kind: str
    caller: str
    document: str
    detail: str
    logged: list[str] = field(default_factory=list)

    @property
    def signature(self) -> tuple[str, str]:
        """The same bug, whichever document or caller hit it: the kind and the last line the server logged."""
        last = self.logged[-1].strip().splitlines()[-1] if self.logged else self.detail
        return self.kind, re.sub(r"\d+", "N", last)

    def render(self) -> str:
        logged = "\n".join(self.logged) or "(nothing logged)"
        return f"--- {self.kind} as {self.caller}: {self.detail}\n{self.document.strip()}\n--- server log:\n{logged}"


class _ErrorLog(logging.Handler):
    """Errors the server logs while answering one request (strawberry logs each one, traceback included)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + "".join(traceback.format_exception(record.exc_info[1])).rstrip()
        self.records.append(text)


@contextmanager
def server_errors() -> Iterator[_ErrorLog]:
    """Collects what the server logs at ERROR. Strawberry's records (one per GraphQL error, rejected fuzz documents
    included) go only to the collector, not on to pytest's log capture, so a failure's output stays readable."""
    handler = _ErrorLog()
    root, execution = logging.getLogger(), logging.getLogger("strawberry.execution")
    propagate = execution.propagate
    root.addHandler(handler)
    execution.addHandler(handler)
    execution.propagate = False
    try:
        yield handler
    finally:
        execution.propagate = propagate
        execution.removeHandler(handler)
        root.removeHandler(handler)


def id_arguments(schema: graphql.GraphQLSchema) -> list[str]:
    """Every root-field argument path that holds an `ID`, nested input fields included (`Mutation.x.input.id`)."""

    def walk(type_: graphql.GraphQLInputType, path: str, seen: frozenset[str]) -> Iterator[str]:
        named = graphql.get_named_type(type_)
        nullable = graphql.get_nullable_type(type_)
        if isinstance(nullable, graphql.GraphQLList):
            yield from walk(nullable.of_type, f"{path}[*]", seen)
        elif named is graphql.GraphQLID:
            yield path
        elif isinstance(named, graphql.GraphQLInputObjectType) and named.name not in seen:
            for name, input_field in named.fields.items():
                yield from walk(input_field.type, f"{path}.{name}", seen | {named.name})

    paths: list[str] = []
    for root in filter(None, (schema.query_type, schema.mutation_type)):
        for field_name, root_field in root.fields.items():
            for argument, definition in root_field.args.items():
                paths += walk(definition.type, f"{root.name}.{field_name}.{argument}", frozenset())
    return paths


def fuzz_schema(introspection: dict[str, Any]) -> Any:
    """Schemathesis's view of the app, with the dictionaries bound to the arguments they fit."""
    # the app's answer to graphql-core's own introspection query, so it has that query's shape
    client_schema = graphql.build_client_schema(cast(graphql.IntrospectionQuery, introspection))
    bindings = {path: f"ids-{t}" if (t := expected_id_type(path)) else "ids" for path in id_arguments(client_schema)}
    bindings |= STRING_BINDINGS
    config = SchemathesisConfig.from_dict(
        {
            # Literals harvested from whatever modules are loaded would make the documents depend on the run.
            "analysis": {"constants": {"enabled": False}},
            "dictionaries": {name: {"values": values} for name, values in DICTIONARIES.items()},
            "parameters": {
                key: {"dictionary": name, "probability": BINDING_PROBABILITY} for key, name in bindings.items()
            },
        }
    )
    return schemathesis.graphql.from_dict(introspection, config=config)


def generate(operation: Any, mode: GenerationMode, examples: int) -> list[str]:
    """Up to `examples` distinct documents for one operation, the same on every run."""
    documents: list[str] = []

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        documents.append(case.body)

    collect()
    return list(dict.fromkeys(documents))


_schemas: dict[int, tuple[str, Any]] = {}
_documents: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}


async def documents_for(app: Starlette, gql: GraphQLClient, operation: str) -> list[tuple[str, tuple[str, ...]]]:
    """The fuzzed documents for `operation`, each with the callers to send it as, generated from the running app's
    schema once per session."""
    if id(app) not in _schemas:
        introspection = await gql.data(graphql.get_introspection_query())
        digest = hashlib.sha256(json.dumps(introspection, sort_keys=True).encode()).hexdigest()
        _schemas[id(app)] = digest, fuzz_schema(introspection)
    digest, schema = _schemas[id(app)]
    served = {f"{root}.{name}" for root in schema for name in schema[root]}
    assert served == set(ROOT_FIELDS), "the running app's root fields differ from build_schema()'s"
    if (digest, operation) not in _documents:
        root, name = operation.split(".")
        api_operation = schema[root][name]
        positive = generate(api_operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES)
        negative = generate(api_operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)
        _documents[digest, operation] = [(d, CALLERS) for d in positive] + [(d, NEGATIVE_CALLERS) for d in negative]
    return _documents[digest, operation]


async def seed(make_product: MakeProduct, fruit: Category) -> list[str]:
    """Rows for the fuzzed IDs to land on: their global IDs, one per entry of SEEDED."""
    citrus = await categories.create_category("柑橘", parent_id=fruit.id)
    published = await make_product("赣南脐橙", category=citrus)
    draft = await make_product("草稿商品", published=False)
    ids = [gid("Category", fruit.id), gid("Category", citrus.id), gid("Product", published.id)]
    ids += [gid("Product", draft.id)]
    ids += [gid("Sku", s.id) for s in await Sku.filter(product_id__in=[published.id, draft.id]).order_by("id")]
    ids += [gid("Customer", c.id) for c in await Customer.all()]
    ids += [gid("Staff", s.id) for s in await Staff.all()]
    assert len(ids) == len(SEEDED), ids
    return ids


def with_ids(document: str, ids: list[str]) -> str:
    return PLACEHOLDER_LITERAL.sub(lambda match: json.dumps(ids[int(match.group(1))]), document)


def check(response: Any, caller: str, document: str, logged: list[str]) -> list[Finding]:
    def finding(kind: str, detail: str) -> Finding:
        return Finding(kind, caller, document, detail, list(logged))

    if response.status_code >= 500:
        return [finding("HTTP 5xx", f"status {response.status_code}: {response.text[:300]}")]
    try:
        body = response.json()
    except json.JSONDecodeError:
        return [finding("non-JSON body", f"status {response.status_code}: {response.text[:300]!r}")]
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        return [finding("not a GraphQL response", f"status {response.status_code}: {str(body)[:300]}")]
    found = []
    for error in body.get("errors") or []:
        message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
        if message == INTERNAL_ERROR:
            found.append(finding("internal error (masked)", f"at path {error.get('path')}"))
        elif pattern := leaked(message):
            found.append(finding("unmasked internal error", f"{message[:300]!r} matches /{pattern}/"))
    return found


@pytest.fixture
def no_deliberate_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same code paths without the deliberate slowness: a cheap argon2 dummy hash for unknown staff usernames, and
    no back-off sleeps when the WeChat simulator answers "busy"."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pond-dummy-password-for-constant-timing")
    monkeypatch.setattr(identity_service, "_dummy_hash", cheap)

    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(wechat_client, "_sleep", no_sleep)


@pytest.mark.parametrize("operation", ROOT_FIELDS)
async def test_fuzzed_operation_never_fails_or_leaks(
    app: Starlette,
    gql: GraphQLClient,
    make_product: MakeProduct,
    fruit: Category,
    customer_token: str,
    owner_token: str,
    no_deliberate_waits: None,
    operation: str,
) -> None:
    documents = await documents_for(app, gql, operation)
    ids = await seed(make_product, fruit)
    tokens = {"anonymous": None, "customer": customer_token, "staff": owner_token}

    findings: list[Finding] = []
    for template, callers in documents:
        document = with_ids(template, ids)
        for caller in callers:
            with server_errors() as log:
                response = await gql.raw(document, token=tokens[caller])
            findings += check(response, caller, document, log.records)

    if findings:
        internal = sum(f.kind == "internal error (masked)" for f in findings)
        distinct: dict[tuple[str, str], Finding] = {}
        for finding in findings:
            distinct.setdefault(finding.signature, finding)
        report = "\n".join(f.render() for f in list(distinct.values())[:MAX_REPORTED])
        pytest.fail(
            f"BUG: {len(findings)} finding(s) ({internal} 'Internal server error') from {len(documents)} fuzzed "
            f"documents for {operation}; {len(distinct)} distinct, "
            f"the first {min(len(distinct), MAX_REPORTED)} here:\n{report}",
            pytrace=False,
        )


STRING_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def with_nul_text(document: str) -> str:
    """The same document with a NUL (escaped as GraphQL writes it) at the end of every string literal."""
    return STRING_LITERAL.sub(lambda match: f'"{match.group(1)}\\u0000"', document)


@pytest.mark.parametrize("operation", ROOT_FIELDS)
async def test_nul_text_in_fuzzed_operations_is_refused_never_a_fault(
    app: Starlette,
    gql: GraphQLClient,
    make_product: MakeProduct,
    fruit: Category,
    customer_token: str,
    owner_token: str,
    no_deliberate_waits: None,
    operation: str,
) -> None:
    documents = [(d, c) for d, c in await documents_for(app, gql, operation) if STRING_LITERAL.search(d)]
    ids = await seed(make_product, fruit)
    tokens = {"anonymous": None, "customer": customer_token, "staff": owner_token}
    findings: list[Finding] = []
    for template, callers in documents[:POSITIVE_EXAMPLES // 2]:
        document = with_nul_text(with_ids(template, ids))
        for caller in callers:
            with server_errors() as log:
                response = await gql.raw(document, token=tokens[caller])
            findings += check(response, caller, document, log.records)
    assert not findings, "\n".join(f.render() for f in findings[:MAX_REPORTED])


HOSTILE_BODIES = {
    "oversized": b'{"query": "{ __typename }", "pad": "' + b"x" * (1024 * 1024) + b'"}',
    "array": b'[{"query": "{ __typename }"}]',
    "string": b'"{ __typename }"',
    "number": b"1",
    "not UTF-8": b'{"query": "{ __typename \xff }"}',
    "operationName a number": b'{"query": "{ __typename }", "operationName": 1}',
    "operationName an object": b'{"query": "{ __typename }", "operationName": {}}',
    "query a list": b'{"query": ["{ __typename }"]}',
    "variables a string": b'{"query": "{ __typename }", "variables": "x"}',
    "NUL in a variable": b'{"query": "query($s: String) { products(search: $s) { totalCount } }",'
    b' "variables": {"s": "\\u0000"}}',
}


@pytest.mark.parametrize("name", HOSTILE_BODIES)
async def test_hostile_bodies_are_client_errors_never_a_fault(gql: GraphQLClient, name: str) -> None:
    with server_errors() as log:
        response = await gql.http.post(
            "/graphql", content=HOSTILE_BODIES[name], headers={"content-type": "application/json"}
        )
    assert response.status_code < 500, response.text
    assert not log.records, log.records
    body = response.json()
    if response.status_code == 200:
        assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID"], body
    else:
        assert 400 <= response.status_code < 500 and body["errors"][0]["message"], body

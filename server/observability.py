"""Logging, request ids and Prometheus metrics.

* ``configure_logging`` renders structlog events and stdlib records (uvicorn, tortoise, ...) as one JSON object per
  line on stdout.
* ``RequestIdMiddleware`` gives each HTTP request an id (bound into the log context and echoed in ``x-request-id``),
  writes one access line and records the HTTP metrics. Wrap it around the whole Starlette app
  (``app = RequestIdMiddleware(Starlette(...))``) so that it also sees the 500s sent by Starlette's error middleware.
* ``MetricsExtension`` records one sample per GraphQL operation.
* ``metrics_endpoint`` serves the default Prometheus registry.

Label values are kept bounded: HTTP paths are route templates or a small allow-list, methods a fixed set, GraphQL
operation names sanitised, capped in length and in number of distinct values.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TextIO

import structlog
from graphql.language import FieldNode, OperationDefinitionNode
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from domain.flash_sale.group_commit import GroupCommit, WriterCounts

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "GRAPHQL_OPERATIONS",
    "GRAPHQL_OPERATION_DURATION",
    "GROUP_COMMITS",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_DURATION",
    "KNOWN_PATHS",
    "OUTCOME_ERROR",
    "OUTCOME_OK",
    "OUTCOME_USER_ERROR",
    "REFUND_FAILURES",
    "REQUEST_ID_HEADER",
    "MetricsExtension",
    "RequestIdMiddleware",
    "configure_logging",
    "count_refund_failure",
    "current_request_id",
    "metrics_endpoint",
]

# --------------------------------------------------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------------------------------------------------

#: Loggers that log full URLs (the code2Session URL carries the WeChat app secret): only warnings and above.
_QUIET_LOGGERS = ("httpx", "httpcore")
#: uvicorn's own handlers are dropped so its records go through the root (JSON) handler.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class _StdoutHandler(logging.StreamHandler):
    """A stream handler that always writes to the *current* ``sys.stdout`` (so it follows redirection)."""

    pond_handler = True

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__/setStream assign it; ignore.
        pass


def _parse_level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    mapping = logging.getLevelNamesMapping()
    try:
        return mapping[level.strip().upper()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r}") from None


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Route structlog and stdlib logging to stdout, one JSON object per line (or console lines if not ``json``).

    Every line has ``timestamp`` (ISO 8601, UTC), ``level``, ``event``, ``logger`` and the context variables bound with
    ``structlog.contextvars`` (e.g. ``request_id``). Calling it again replaces the previous configuration.

    Run uvicorn with ``log_config=None`` (or call this after uvicorn set up logging): uvicorn's handlers are removed
    and its records propagate to the root handler; ``uvicorn.access`` is raised to WARNING because
    ``RequestIdMiddleware`` writes the access line.
    """
    numeric_level = _parse_level(level)

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a logger used before configure_logging() (imports, tests) must still pick up this config.
        cache_logger_on_first_use=False,
    )

    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False) if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        final.append(structlog.processors.format_exc_info)
    final.append(renderer)
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)

    handler = _StdoutHandler()
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "pond_handler", False):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(numeric_level)

    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _UVICORN_LOGGERS:
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


# --------------------------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "pond_http_requests_total",
    "HTTP requests by method, route template and status code.",
    ["method", "path", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "pond_http_request_duration_seconds",
    "HTTP request duration in seconds, by method and route template.",
    ["method", "path"],
)
GRAPHQL_OPERATIONS = Counter(
    "pond_graphql_operations_total",
    "GraphQL operations by operation name, type and outcome (ok | user_error | error).",
    ["operation", "type", "outcome"],
)
GRAPHQL_OPERATION_DURATION = Histogram(
    "pond_graphql_operation_duration_seconds",
    "GraphQL operation duration in seconds, by operation name and type.",
    ["operation", "type"],
)

REFUND_FAILURES = Counter(
    "pond_refund_failures_total",
    "Refunds that ended FAILED (the customer's money stayed with the merchant), by WeChat Pay's reason.",
    ["reason"],
)
#: Reasons kept as their own label value; any other is counted as "other" (labels stay bounded).
REFUND_FAILURE_REASONS = frozenset(
    {"NOT_ENOUGH", "SYSTEM_ERROR", "FREQUENCY_LIMITED", "NETWORK", "INVALID_RESPONSE_SIGNATURE", "CLOSED",
     "ABNORMAL", "INVALID_REQUEST", "PARAM_ERROR", "NO_AUTH", "SIGN_ERROR", "NO_TRADE"}
)


def count_refund_failure(reason: str) -> None:
    """`OrderDeps.refund_failed`: one more failed refund in the metric."""
    label = reason if reason in REFUND_FAILURE_REASONS else _OTHER
    REFUND_FAILURES.labels(reason=label).inc()


_GROUP_COMMIT_HELP = {
    "batches": "Batches a group commit writer handed to its batch function.",
    "entries": "Entries (flash sale buys) in those batches, whatever each was answered.",
    "busy_seconds": "Seconds a group commit writer spent writing batches (at the wall clock's pace, the writer is "
                    "the bottleneck of its requests).",
    "queued_seconds": "Seconds entries waited in the queue for their batch to start, summed over the entries.",
}


class GroupCommitCollector(Collector):
    """The group commit writers' counts (`domain.flash_sale.group_commit.WriterCounts`, one counter a field) labelled
    by writer, read when /metrics is scraped. Each app's writer is watched while the app runs (`watch`); a writer no
    longer watched leaves its counts to its name's total, so a counter never goes down."""

    def __init__(self) -> None:
        self._writers: dict[int, GroupCommit[Any, Any]] = {}
        self._retired: dict[str, dict[str, float]] = {}

    def watch(self, writer: GroupCommit[Any, Any]) -> Callable[[], None]:
        """Export `writer`'s counts; call the answer once the writer has stopped."""
        self._writers[id(writer)] = writer

        def unwatch() -> None:
            if self._writers.pop(id(writer), None) is not None:
                self._add(self._retired, writer)

        return unwatch

    @staticmethod
    def _add(totals: dict[str, dict[str, float]], writer: GroupCommit[Any, Any]) -> None:
        mine = totals.setdefault(writer.name, {})
        for field in dataclasses.fields(writer.counts):
            mine[field.name] = mine.get(field.name, 0.0) + getattr(writer.counts, field.name)

    def collect(self) -> Iterator[CounterMetricFamily]:
        totals = {name: dict(counts) for name, counts in self._retired.items()}
        for writer in list(self._writers.values()):
            self._add(totals, writer)
        families = {field.name: CounterMetricFamily(f"pond_group_commit_{field.name}",
                                                    _GROUP_COMMIT_HELP[field.name], labels=["writer"])
                    for field in dataclasses.fields(WriterCounts)}
        for name, counts in sorted(totals.items()):
            for what, family in families.items():
                family.add_metric([name], counts.get(what, 0.0))
        yield from families.values()


GROUP_COMMITS = GroupCommitCollector()
REGISTRY.register(GROUP_COMMITS)


OUTCOME_OK = "ok"
OUTCOME_USER_ERROR = "user_error"
OUTCOME_ERROR = "error"

#: Raw paths allowed as a label when no Starlette route matched; anything else becomes "other".
KNOWN_PATHS = frozenset(
    {
        "/graphql",
        "/healthz",
        "/readyz",
        "/metrics",
        "/payments/wechat/notify",
        "/payments/wechat/refund-notify",
    }
)
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_OTHER = "other"


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: the default Prometheus registry in the text exposition format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# --------------------------------------------------------------------------------------------------------------------
# Request id middleware
# --------------------------------------------------------------------------------------------------------------------

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_HEADER_BYTES = REQUEST_ID_HEADER.encode("latin-1")
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_MAX_LOGGED_PATH = 512

_request_id: ContextVar[str | None] = ContextVar("pond_request_id", default=None)
_access_log = structlog.stdlib.get_logger("pond.access")


def current_request_id() -> str | None:
    """The id of the HTTP request being handled in this context, or None outside a request."""
    return _request_id.get()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == _REQUEST_ID_HEADER_BYTES:
            candidate = value.decode("latin-1")
            return candidate if _REQUEST_ID_RE.fullmatch(candidate) else None
    return None


def _path_label(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        # Inside a Mount the route's path is relative; prepend the mount prefix (root_path minus the app's own).
        prefix = ""
        app_root_path = scope.get("app_root_path")
        if app_root_path is not None:
            root_path = scope.get("root_path", "")
            if root_path.startswith(app_root_path):
                prefix = root_path[len(app_root_path) :]
        label = prefix + template
        return label or "/"
    path = scope.get("path", "")
    return path if path in KNOWN_PATHS else _OTHER


class RequestIdMiddleware:
    """Pure ASGI middleware: request id, access log line and HTTP metrics for ``http`` scopes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        header_value = request_id.encode("latin-1")
        status = 0
        failed = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _REQUEST_ID_HEADER_BYTES]
                headers.append((_REQUEST_ID_HEADER_BYTES, header_value))
                message = {**message, "headers": headers}
            await send(message)

        var_token = _request_id.set(request_id)
        log_tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            failed = True
            raise
        finally:
            elapsed = time.perf_counter() - start
            if status == 0:  # nothing sent: the server (or Starlette's error middleware) answers 500
                status = 500
            method = scope.get("method", "")
            method_label = method if method in _KNOWN_METHODS else _OTHER
            path_label = _path_label(scope)
            HTTP_REQUESTS.labels(method=method_label, path=path_label, status=str(status)).inc()
            HTTP_REQUEST_DURATION.labels(method=method_label, path=path_label).observe(elapsed)
            client = scope.get("client")
            fields = {
                "method": method,
                "path": scope.get("path", "")[:_MAX_LOGGED_PATH],
                # read after the app ran: create_app's proxy-header middleware resolves it in this same scope
                "client": client[0] if client else None,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            }
            if failed:
                _access_log.error("request", exc_info=True, **fields)
            else:
                _access_log.info("request", **fields)
            structlog.contextvars.reset_contextvars(**log_tokens)
            _request_id.reset(var_token)


# --------------------------------------------------------------------------------------------------------------------
# GraphQL metrics
# --------------------------------------------------------------------------------------------------------------------

_MAX_OPERATION_LABEL_LENGTH = 64
#: Operation names come from clients; past this many distinct values new names are counted as "other".
MAX_OPERATION_LABELS = 500
_operation_labels: set[str] = set()
_operation_labels_lock = threading.Lock()
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _bounded_operation_label(name: str) -> str:
    label = _LABEL_UNSAFE.sub("_", name)[:_MAX_OPERATION_LABEL_LENGTH]
    if not label:
        return "anonymous"
    with _operation_labels_lock:
        if label in _operation_labels:
            return label
        if len(_operation_labels) >= MAX_OPERATION_LABELS:
            return _OTHER
        _operation_labels.add(label)
        return label


def count_operation(label: str, op_type: str, outcome: str, started: float) -> None:
    """One GraphQL operation answered: `label` from `operation_label`, `started` a `time.perf_counter()`."""
    GRAPHQL_OPERATIONS.labels(operation=label, type=op_type, outcome=outcome).inc()
    GRAPHQL_OPERATION_DURATION.labels(operation=label, type=op_type).observe(time.perf_counter() - started)


def operation_label(name: str | None) -> str:
    """The metrics label of an operation: its name (the request's, else the document's), else its first root field."""
    return _bounded_operation_label(name) if name else "anonymous"


class MetricsExtension(SchemaExtension):
    """Counts GraphQL operations and times them (``pond_graphql_operation*`` metrics).

    Pass the class (not an instance) to ``strawberry.Schema(extensions=[MetricsExtension])``. Subclasses can override
    ``classify_outcome`` (e.g. to report ``user_error`` for payload UserErrors).
    """

    def on_operation(self) -> Iterator[None]:
        start = time.perf_counter()
        raised = False
        try:
            yield
        except Exception:
            raised = True
            raise
        finally:
            outcome = OUTCOME_ERROR if raised else self.classify_outcome()
            count_operation(self.operation_label(), self.operation_type_label(), outcome, start)

    def operation_label(self) -> str:
        ctx = self.execution_context
        name = ctx.operation_name
        if not name:
            name = self._first_root_field(ctx.graphql_document, ctx.operation_name)
        return operation_label(name)

    def operation_type_label(self) -> str:
        try:
            return self.execution_context.operation_type.value
        except RuntimeError:  # parse error or unknown operation name: no document/definition
            return "unknown"

    def classify_outcome(self) -> str:
        ctx = self.execution_context
        result_errors = getattr(ctx.result, "errors", None)
        if result_errors or ctx.pre_execution_errors:
            return OUTCOME_ERROR
        return OUTCOME_OK

    @staticmethod
    def _first_root_field(document: Any, operation_name: str | None) -> str | None:
        if document is None:
            return None
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            if operation_name is not None and (definition.name is None or definition.name.value != operation_name):
                continue
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode):
                    return selection.name.value
            return None
        return None

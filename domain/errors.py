"""Business outcomes every area can report; GraphQL exposes the codes as its ErrorCode enum."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum


class ErrorCode(Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    SOLD_OUT = "SOLD_OUT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    NOT_STARTED = "NOT_STARTED"
    ENDED = "ENDED"
    INVALID_STATE = "INVALID_STATE"
    DUPLICATE = "DUPLICATE"
    COUPON_INVALID = "COUPON_INVALID"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    GROUP_FULL = "GROUP_FULL"
    GROUP_CLOSED = "GROUP_CLOSED"
    LOGIN_FAILED = "LOGIN_FAILED"
    RATE_LIMITED = "RATE_LIMITED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    IN_USE = "IN_USE"


class DomainError(Exception):
    """An expected business failure: nothing was changed."""

    def __init__(self, code: ErrorCode, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = list(field) if field else None


class NotFound(DomainError):
    def __init__(self, what: str, field: Sequence[str] | None = None) -> None:
        super().__init__(ErrorCode.NOT_FOUND, f"{what} not found", field)


class Invalid(DomainError):
    def __init__(self, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__(ErrorCode.INVALID, message, field)


class DomainErrors(Exception):
    """Several input problems found at once (validation); nothing was changed."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)

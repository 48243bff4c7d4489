"""Logging in: customers through WeChat's code2Session, staff with a username and password."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.errors import DomainError, ErrorCode, Invalid
from domain.identity.models import Customer, Staff, StaffRole
from domain.identity.passwords import hash_password, needs_rehash, validate_new_password, verify_password
from domain.identity.ports import LoginRejected, WeChatSessions

MAX_CODE_LENGTH = 128
USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{3,64}")
STAFF_LOGIN_FAILED = "wrong username or password"
CUSTOMER_BLOCKED = "this account has been blocked by the store"

_dummy_hash: str | None = None


async def login_customer(sessions: WeChatSessions, code: str) -> Customer:
    """The customer behind a ``wx.login`` code, created on their first login."""
    customer, _created = await login_customer_with_status(sessions, code)
    return customer


async def login_customer_with_status(sessions: WeChatSessions, code: str) -> tuple[Customer, bool]:
    """Like login_customer, plus whether this call created the customer (True for exactly one first login)."""
    if not isinstance(code, str) or not code.strip() or len(code) > MAX_CODE_LENGTH:
        raise DomainError(ErrorCode.LOGIN_FAILED, "the login code is missing or malformed", field=["code"])
    try:
        identity = await sessions.code2session(code)
    except LoginRejected as exc:
        raise DomainError(
            ErrorCode.LOGIN_FAILED, f"WeChat rejected the login code ({exc.errcode}): {exc.message}", field=["code"]
        ) from None
    now = datetime.now(UTC)
    customer = await Customer.get_or_none(openid=identity.openid)
    if customer is None:
        try:
            # Its own (nested: savepoint) transaction, so a lost race leaves a caller's transaction usable.
            async with in_transaction():
                customer = await Customer.create(openid=identity.openid, unionid=identity.unionid, last_login_at=now)
            return customer, True
        except IntegrityError:
            # Another first login of the same openid won the race: use its row.
            customer = await Customer.get(openid=identity.openid)
    if customer.blocked:
        raise DomainError(ErrorCode.LOGIN_FAILED, CUSTOMER_BLOCKED, field=["code"])
    update_fields = ["last_login_at"]
    customer.last_login_at = now
    if identity.unionid and not customer.unionid:
        customer.unionid = identity.unionid
        update_fields.append("unionid")
    await customer.save(update_fields=update_fields)
    return customer, False


async def create_staff(username: str, password: str, role: StaffRole | str) -> Staff:
    if not isinstance(username, str) or USERNAME_RE.fullmatch(username) is None:
        raise Invalid("username must be 3 to 64 letters, digits, '_', '.' or '-'", field=["username"])
    validate_new_password(password)
    try:
        staff_role = StaffRole(role)
    except ValueError:
        raise Invalid(f"unknown role {role!r}", field=["role"]) from None
    if await Staff.exists(username=username):
        raise _duplicate_username()
    try:
        password_hash = await asyncio.to_thread(hash_password, password)
        return await Staff.create(username=username, password_hash=password_hash, role=staff_role)
    except IntegrityError:
        raise _duplicate_username() from None


async def authenticate_staff(username: str, password: str) -> Staff:
    """The active staff member with these credentials; any failure is the same LOGIN_FAILED in the same time."""
    staff = None
    if isinstance(username, str) and USERNAME_RE.fullmatch(username):
        staff = await Staff.get_or_none(username=username)
    if not isinstance(password, str):
        password = ""
    # Argon2 is deliberately slow: run it off the event loop, and always run it once so timing says nothing.
    known_hash = staff.password_hash if staff is not None else await _dummy_password_hash()
    matches = await asyncio.to_thread(verify_password, known_hash, password)
    if staff is None or not matches or not staff.active:
        raise DomainError(ErrorCode.LOGIN_FAILED, STAFF_LOGIN_FAILED)
    if needs_rehash(staff.password_hash):
        staff.password_hash = await asyncio.to_thread(hash_password, password)
        await staff.save(update_fields=["password_hash"])
    return staff


def _duplicate_username() -> DomainError:
    return DomainError(ErrorCode.DUPLICATE, "a staff member with this username already exists", field=["username"])


async def _dummy_password_hash() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await asyncio.to_thread(hash_password, "pond-dummy-password-for-constant-timing")
    return _dummy_hash

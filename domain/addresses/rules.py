"""What a postal address must be (one rule for an address typed at checkout and one saved in the book)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain.errors import DomainErrors, Invalid

PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")
LIMITS = {"name": 32, "province": 32, "city": 32, "district": 32, "detail": 200}


@dataclass(frozen=True)
class Address:
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str


def checked(address: Address, path: list[str]) -> dict[str, Any]:
    """The address's fields, trimmed; every bad field is INVALID under `path` (all reported at once)."""
    problems: list[Invalid] = []
    values: dict[str, Any] = {}
    for field, limit in LIMITS.items():
        value = str(getattr(address, field)).strip()
        if not 1 <= len(value) <= limit:
            problems.append(Invalid(f"{field} must be 1 to {limit} characters", [*path, field]))
        values[field] = value
    phone = address.phone.strip()
    if not PHONE.match(phone):
        problems.append(Invalid("phone is not a phone number", [*path, "phone"]))
    values["phone"] = phone
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise DomainErrors(problems)
    return {key: values[key] for key in ("name", "phone", "province", "city", "district", "detail")}

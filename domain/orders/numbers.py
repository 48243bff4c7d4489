"""Readable, unique order numbers that are also valid WeChat Pay out_trade_no values ([0-9A-Za-z_-])."""

from __future__ import annotations

import secrets
from datetime import datetime


def order_number(at: datetime, prefix: str = "P") -> str:
    """e.g. P2611230412-583921: the UTC minute it was placed, then six random digits."""
    return f"{prefix}{at:%y%m%d%H%M}{secrets.randbelow(10**6):06d}"


def trade_number(order_number: str, attempt: int) -> str:
    return f"{order_number}_{attempt}"


def refund_number(order_number: str, sequence: int) -> str:
    return f"{order_number}R{sequence}"


def resent_refund_number(out_refund_no: str, attempt: int) -> str:
    """A refund WeChat Pay closed is sent again under a new number (the old one stays closed there): the first
    number, then `-<attempt>`."""
    return f"{out_refund_no.split('-', 1)[0]}-{attempt}"

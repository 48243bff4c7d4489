"""What the identity area needs from the outside world; outer layers provide the implementations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class WeChatIdentity:
    openid: str
    unionid: str | None


class LoginRejected(Exception):
    """WeChat refused a login code. ``message`` is safe to show to the user; ``errcode`` is WeChat's number."""

    def __init__(self, errcode: int, message: str = "WeChat rejected the login code") -> None:
        super().__init__(errcode, message)
        self.errcode = errcode
        self.message = message

    def __str__(self) -> str:
        return f"{self.message} ({self.errcode})"


class WeChatSessions(Protocol):
    async def code2session(self, code: str) -> WeChatIdentity:
        """Exchange a ``wx.login`` code for the user's identity; raises LoginRejected."""
        ...

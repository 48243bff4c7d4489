"""Adapter: domain.identity's WeChatSessions port over wechat.client.WeChatClient."""

from __future__ import annotations

from domain.identity.ports import LoginRejected, WeChatIdentity
from wechat.client import SYSTEM_BUSY, WeChatApiError, WeChatClient

# User-safe explanations; WeChat's own errmsg (request ids, internal wording) never reaches users.
_MESSAGES = {
    SYSTEM_BUSY: "WeChat is busy, please try again",
    40029: "the login code is invalid or expired",
    40163: "the login code was already used",
    40226: "this WeChat account is not allowed to log in",
    45011: "too many login attempts, please try again in a minute",
}
_DEFAULT_MESSAGE = "WeChat rejected the login code"


class WeChatClientSessions:
    """Implements domain.identity.ports.WeChatSessions; the session_key is dropped here and goes nowhere."""

    def __init__(self, client: WeChatClient) -> None:
        self._client = client

    async def code2session(self, code: str) -> WeChatIdentity:
        try:
            session = await self._client.code2session(code)
        except WeChatApiError as exc:
            raise LoginRejected(exc.errcode, _MESSAGES.get(exc.errcode, _DEFAULT_MESSAGE)) from None
        return WeChatIdentity(openid=session.openid, unionid=session.unionid)

    async def aclose(self) -> None:
        await self._client.aclose()

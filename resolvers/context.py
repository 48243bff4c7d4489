"""What every resolver can reach: the caller, the request's loaders and the wired-in services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.identity.ports import WeChatSessions
from domain.identity.tokens import Principal, PrincipalKind, TokenService
from domain.orders.deps import OrderDeps
from resolvers.loaders import Loaders


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> bool: ...

    async def undo(self, key: str, window_seconds: int) -> None: ...


class AccessGate(Protocol):
    """Whether a signed token's account may still act (server.access_cache), and telling it about changes."""

    async def admit(self, principal: Principal) -> Principal | None: ...

    async def changed(self, kind: PrincipalKind, account_id: int) -> None: ...


@dataclass
class Services:
    """Long-lived collaborators, built once by app.py."""

    tokens: TokenService
    wechat: WeChatSessions
    rate_limiter: RateLimiter
    catalog_changed: Callable[[], Awaitable[None]]
    orders: OrderDeps
    access: AccessGate
    login_rate_limit: int = 20
    staff_login_failures: int = 10
    checkout_rate_limit: int = 10


@dataclass
class Context:
    services: Services
    principal: Principal | None
    client_ip: str = "unknown"
    request: Any = None
    response: Any = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(shop_only=not self.is_staff, customer_id=self.customer_id)

    @property
    def is_staff(self) -> bool:
        return self.principal is not None and self.principal.kind == "staff"

    @property
    def customer_id(self) -> int | None:
        principal = self.principal
        return principal.id if principal is not None and principal.kind == "customer" else None

    @property
    def actor(self) -> str:
        principal = self.principal
        return f"{principal.kind}:{principal.id}" if principal is not None else "anonymous"

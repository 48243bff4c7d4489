"""Who may call what: permission classes put on fields, so resolver bodies carry no auth code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from strawberry import Info
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.permission import BasePermission

from domain.identity.models import StaffRole

if TYPE_CHECKING:
    from domain.identity.tokens import Principal
    from resolvers.context import Context


def unauthenticated() -> StrawberryGraphQLError:
    return StrawberryGraphQLError("Authentication required", extensions={"code": "UNAUTHENTICATED"})


def customer_id_of(ctx: Context) -> int:
    """The signed-in customer's id, in a resolver that `IsCustomer` guards (this keeps the type honest)."""
    customer_id = ctx.customer_id
    if customer_id is None:
        raise unauthenticated()
    return customer_id


def forbidden() -> StrawberryGraphQLError:
    return StrawberryGraphQLError("Not allowed for this account", extensions={"code": "FORBIDDEN"})


class IsSignedIn(BasePermission):
    """Any valid token, customer or staff."""

    message = "Authentication required"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.principal is None:
            raise unauthenticated()
        return True


def acts_as_customer(principal: Principal | None) -> bool:
    """Whether the caller may use a customer's fields (`IsCustomer`)."""
    return principal is not None and principal.kind == "customer"


class IsCustomer(BasePermission):
    message = "Authentication required"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if not acts_as_customer(principal):
            raise unauthenticated() if principal is None else forbidden()
        return True


class _StaffRoles(BasePermission):
    roles: ClassVar[frozenset[StaffRole]] = frozenset(StaffRole)
    message = "Authentication required"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is None:
            raise unauthenticated()
        if principal.kind != "staff" or principal.role not in self.roles:
            raise forbidden()
        return True


class IsStaff(_StaffRoles):
    """Any staff role."""


class CanManageGoods(_StaffRoles):
    roles = frozenset({StaffRole.OWNER, StaffRole.OPERATOR})


class CanFulfilOrders(_StaffRoles):
    """Shipping orders and running pickup points."""

    roles = frozenset({StaffRole.OWNER, StaffRole.OPERATOR})


class CanManageMoney(_StaffRoles):
    """Refunds: deciding on customers' requests and refunding on the shop's own initiative."""

    roles = frozenset({StaffRole.OWNER, StaffRole.FINANCE})


class ShownToStaff(BasePermission):
    """For fields others read as null (with `fail_silently`): refuses quietly instead of raising."""

    message = "Only staff see this"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        return principal is not None and principal.kind == "staff"


class IsOwner(_StaffRoles):
    """Staff accounts: who works here and with which role."""

    roles = frozenset({StaffRole.OWNER})


class CanBlockCustomers(_StaffRoles):
    roles = frozenset({StaffRole.OWNER, StaffRole.OPERATOR})

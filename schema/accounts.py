"""Taking access back: deactivating staff, changing their role, blocking customers."""

from __future__ import annotations

import strawberry
from strawberry import Info

from resolvers import accounts
from resolvers.permissions import CanBlockCustomers, IsOwner
from schema.core import Connection, UserError, connection, payload
from schema.identity import Customer, Staff, StaffRole


@strawberry.input
class StaffDeactivateInput:
    staff_id: strawberry.ID


@strawberry.input
class StaffRoleChangeInput:
    staff_id: strawberry.ID
    role: StaffRole


@strawberry.input
class CustomerBlockInput:
    customer_id: strawberry.ID
    blocked: bool


@strawberry.type
class StaffPayload:
    staff: Staff | None
    errors: list[UserError]


@strawberry.type
class CustomerPayload:
    customer: Customer | None
    errors: list[UserError]


@strawberry.type
class StaffConnection(Connection[Staff]):
    pass


@strawberry.type
class AccountsQuery:
    @strawberry.field(permission_classes=[IsOwner], description="Every staff account, deactivated ones included, "
                      "oldest first")
    async def staff_members(self, info: Info, first: int | None = 20, after: str | None = None) -> StaffConnection:
        return connection(await accounts.staff_members(info.context, first, after), StaffConnection)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(permission_classes=[IsOwner], description="The member can no longer log in and their "
                         "tokens stop working on their next request; the store keeps at least one active owner")
    async def staff_deactivate(self, info: Info, input: StaffDeactivateInput) -> StaffPayload:
        return payload(StaffPayload, "staff", await accounts.staff_deactivate(info.context, input))

    @strawberry.mutation(permission_classes=[IsOwner], description="The member's tokens stop working on their next "
                         "request; they log in again with the new role. The store keeps at least one active owner")
    async def staff_role_change(self, info: Info, input: StaffRoleChangeInput) -> StaffPayload:
        return payload(StaffPayload, "staff", await accounts.staff_role_change(info.context, input))

    @strawberry.mutation(permission_classes=[CanBlockCustomers], description="A blocked customer's tokens stop "
                         "working on their next request and their logins fail (LOGIN_FAILED); unblocking lets them "
                         "log in again")
    async def customer_block(self, info: Info, input: CustomerBlockInput) -> CustomerPayload:
        return payload(CustomerPayload, "customer", await accounts.customer_block(info.context, input))

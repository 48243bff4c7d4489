"""The root schema: each area's Query and Mutation merged, with the limits every request passes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import strawberry
import structlog
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from domain.errors import DomainError
from schema.accounts import AccountsMutation, AccountsQuery
from schema.addresses import AddressMutation
from schema.audit import AuditQuery
from schema.cart import CartMutation, CartQuery
from schema.catalog import CatalogQuery
from schema.catalog_staff import CatalogStaffMutation, CatalogStaffQuery
from schema.commissions import CommissionMutation, CommissionQuery
from schema.coupons import CouponMutation, CouponQuery, CouponStaffMutation, CouponStaffQuery
from schema.discounts import DiscountStaffMutation, DiscountStaffQuery
from schema.distribution import DistributionMutation, DistributionQuery
from schema.flash_sale import FlashSaleMutation, FlashSaleQuery
from schema.group_buy import GroupBuyMutation, GroupBuyQuery
from schema.identity import IdentityMutation, IdentityQuery
from schema.input_plans import plan_inputs
from schema.members import MembersMutation, MembersQuery
from schema.orders import OrderMutation, OrderQuery
from schema.orders_staff import OrderStaffMutation, OrderStaffQuery
from schema.pickup import PickupMutation, PickupQuery
from schema.points import PointsMutation, PointsQuery
from schema.relay import RelayMutation, RelayQuery
from schema.spend_and_save import SpendAndSaveMutation, SpendAndSaveQuery
from schema.text_input import RefuseNulText
from schema.validation_cache import ValidationByText
from schema.wallet import WalletMutation, WalletQuery

MAX_DEPTH = 10
MAX_TOKENS = 2000
MAX_ALIASES = 30
INTERNAL_ERROR = "Internal server error"
client_errors = structlog.get_logger("pond.graphql.client_errors")

Query = merge_types(
    "Query",
    (
        CatalogQuery,
        CatalogStaffQuery,
        AuditQuery,
        DiscountStaffQuery,
        FlashSaleQuery,
        GroupBuyQuery,
        IdentityQuery,
        AccountsQuery,
        CartQuery,
        OrderQuery,
        OrderStaffQuery,
        PickupQuery,
        PointsQuery,
        MembersQuery,
        WalletQuery,
        CouponQuery,
        CouponStaffQuery,
        SpendAndSaveQuery,
        RelayQuery,
        DistributionQuery,
        CommissionQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        IdentityMutation,
        AccountsMutation,
        CatalogStaffMutation,
        DiscountStaffMutation,
        FlashSaleMutation,
        GroupBuyMutation,
        CartMutation,
        OrderMutation,
        OrderStaffMutation,
        PickupMutation,
        PointsMutation,
        MembersMutation,
        WalletMutation,
        AddressMutation,
        CouponMutation,
        CouponStaffMutation,
        SpendAndSaveMutation,
        RelayMutation,
        DistributionMutation,
        CommissionMutation,
    ),
)


def _with_code(error: GraphQLError) -> None:
    original = error.original_error
    if isinstance(original, DomainError):
        error.extensions = {**(error.extensions or {}), "code": original.code.value}
        if original.field:
            error.extensions["field"] = original.field


class DomainErrorCodes(SchemaExtension):
    """A business error raised by a query (e.g. a bad cursor) reaches the client with its code, unmasked."""

    def on_operation(self):
        yield
        result = self.execution_context.result
        for error in getattr(result, "errors", None) or []:
            _with_code(error)


def _is_internal(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, (GraphQLError, DomainError))


def _masked() -> MaskErrors:
    return MaskErrors(should_mask_error=_is_internal, error_message=INTERNAL_ERROR)


def answered_errors(schema: strawberry.Schema, errors: list[GraphQLError]) -> list[GraphQLError]:
    """Execution errors as the schema's extensions answer them, for a caller that executed a document without them
    (`server.flash_buy_lane`): processed as strawberry processes them after executing (`_process_errors`: field
    suggestions as configured, then `process_errors`, which logs), business errors with their code, Pond's own
    faults masked."""
    schema._process_errors(errors)
    mask = _masked()
    answered = []
    for error in errors:
        _with_code(error)
        answered.append(mask.anonymise_error(error) if _is_internal(error) else error)
    return answered


class PondSchema(strawberry.Schema):
    """Logs a client's mistakes (validation, permissions, business errors) at info without a traceback; only Pond's
    own faults are errors, with theirs."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        internal = [error for error in errors if _is_internal(error)]
        for error in errors:
            if not _is_internal(error):
                client_errors.info("client error", message=error.message, path=error.path,
                                   code=(error.extensions or {}).get("code"))
        super().process_errors(internal, execution_context)


def build_schema(
    extra_extensions: Sequence[Callable[[], SchemaExtension] | type[SchemaExtension]] = (),
    *,
    introspection: bool = True,
) -> strawberry.Schema:
    # Depth and alias limits are validation rules. QueryDepthLimiter/MaxAliasesLimiter would mint new rule classes
    # for every request, and ValidationByText keys on the rules, so it would never hit: build the classes once.
    limits: list[type[ASTValidationRule]] = [depth_rule(MAX_DEPTH, None), alias_rule(MAX_ALIASES)]
    extensions: list[Any] = [
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=1024),
        ValidationByText,
        _masked,
        DomainErrorCodes,
        RefuseNulText,
        *extra_extensions,
    ]
    if not introspection:
        from strawberry.extensions import DisableIntrospection

        extensions.append(DisableIntrospection)
    built = PondSchema(query=Query, mutation=Mutation, extensions=extensions)
    plan_inputs(built)
    return built


schema = build_schema()

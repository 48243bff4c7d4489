"""schema.graphql at the repo root is the contract the frontends read: it must match the code."""

from __future__ import annotations

from pathlib import Path

from strawberry.printer import print_schema

from schema import schema

EXPORTED = Path(__file__).resolve().parents[1] / "schema.graphql"
EXPORT_COMMAND = "strawberry export-schema schema:schema --output schema.graphql"


def test_exported_schema_is_current():
    assert EXPORTED.read_text().strip() == print_schema(schema).strip(), f"stale schema.graphql: run `{EXPORT_COMMAND}`"


def test_api_contract_names_are_present():
    sdl = EXPORTED.read_text()
    for name in ("productCreate", "productPublish", "skuCreate", "stockAdjust", "staffProducts", "staffLogin",
                 "login(input: LoginInput!)", "priceRange", "totalCount", "interface Node", "type UserError",
                 "enum ErrorCode", "RATE_LIMITED", "type Money"):
        assert name in sdl, name

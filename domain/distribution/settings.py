"""The distribution rules: reading the version in force and changing them (validated, one new version each time).

A product's own rate is kept in the rules, keyed by product id (`product_rates`), so one version snapshots every
rate an order needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from tortoise.transactions import in_transaction

from domain.catalog.models import Product
from domain.distribution.models import BindingMode, DistributionSettings, DistributionSettingsVersion
from domain.errors import DomainErrors, Invalid
from domain.orders.models import OrderKind
from domain.pricing.models import Coupon
from domain.remembered import changed, remembered

MAX_RATE_BP = 5000
"""No distributor earns more than half of what a line sells for."""
MAX_DAYS = 3650
MAX_LEVELS = 10
MAX_FEN = 100_000_000
EARNING_KINDS = frozenset({OrderKind.NORMAL, OrderKind.GROUP_BUY, OrderKind.RELAY, OrderKind.FLASH_SALE})


@dataclass(frozen=True)
class DistributorLevel:
    level: int
    name: str
    direct_rate_bp: int
    parent_rate_bp: int


@dataclass(frozen=True)
class ProductRate:
    """A product's own rate: a percentage of the line in basis points, or fixed fen per unit (exactly one)."""

    product_id: int
    rate_bp: int | None = None
    fixed_fen: int | None = None


@dataclass(frozen=True)
class Rules:
    enabled: bool = False
    levels: int = 1
    direct_rate_bp: int = 1000
    parent_rate_bp: int = 0
    distributor_levels: tuple[DistributorLevel, ...] = ()
    earning_kinds: tuple[str, ...] = (OrderKind.NORMAL.value, OrderKind.GROUP_BUY.value, OrderKind.RELAY.value)
    self_purchase_earns: bool = False
    binding_mode: BindingMode = BindingMode.FIRST_TOUCH
    window_days: int = 30
    freeze_days: int = 7
    withdrawal_minimum: int = 100
    withdrawal_fee_bp: int = 0
    product_rates: tuple[ProductRate, ...] = field(default=())
    referral_referrer_coupon_id: int | None = None
    referral_new_customer_coupon_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["binding_mode"] = self.binding_mode.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rules:
        return cls(
            **{
                **data,
                "binding_mode": BindingMode(data["binding_mode"]),
                "distributor_levels": tuple(DistributorLevel(**level) for level in data["distributor_levels"]),
                "earning_kinds": tuple(data["earning_kinds"]),
                "product_rates": tuple(ProductRate(**rate) for rate in data["product_rates"]),
            }
        )


@dataclass(frozen=True)
class SettingsInForce:
    version: int
    rules: Rules


async def current() -> SettingsInForce:
    """The rules in force; version 0 (distribution off, the defaults) until the owner first saves them (remembered
    between staff changes: `domain.remembered`)."""
    return await remembered("distribution-settings", _read_current)


async def _read_current() -> SettingsInForce:
    row = await DistributionSettings.first()
    if row is None:
        return SettingsInForce(0, Rules())
    return SettingsInForce(row.version, Rules.from_json(row.rules))


async def rules_of_version(version: int) -> Rules | None:
    """The rules of one version, for whatever snapshotted it (an order's commission)."""
    if version == 0:
        return Rules()
    row = await DistributionSettingsVersion.get_or_none(version=version)
    return None if row is None else Rules.from_json(row.rules)


async def update(changes: dict[str, Any]) -> SettingsInForce:
    """Apply `changes` (field name → new value; names of Rules) to the rules in force and save them as a new
    version. Every problem is reported at once (INVALID with the field), and then nothing changes."""
    unknown = sorted(set(changes) - set(Rules.__dataclass_fields__))
    if unknown:
        raise Invalid(f"unknown settings {unknown}", [unknown[0]])
    async with in_transaction():
        row = await DistributionSettings.select_for_update().first()
        rules = Rules() if row is None else Rules.from_json(row.rules)
        new_rules = replace(rules, **changes)
        await _validate(new_rules)
        if row is None:
            row = await DistributionSettings.create(version=1, rules=new_rules.to_json())
        else:
            row.version += 1
            row.rules = new_rules.to_json()
            await row.save(update_fields=["version", "rules", "updated_at"])
        await DistributionSettingsVersion.create(version=row.version, rules=new_rules.to_json())
    changed()
    return SettingsInForce(row.version, new_rules)


async def _validate(rules: Rules) -> None:
    problems: list[Invalid] = []

    def check(ok: bool, message: str, *path: str) -> None:
        if not ok:
            problems.append(Invalid(message, list(path)))

    def rate(value: int, *path: str) -> None:
        check(0 <= value <= MAX_RATE_BP, f"a rate is 0 to {MAX_RATE_BP} basis points", *path)

    check(rules.levels in (1, 2), "levels is 1 or 2", "levels")
    for coupon_id, name in ((rules.referral_referrer_coupon_id, "referralReferrerCouponId"),
                            (rules.referral_new_customer_coupon_id, "referralNewCustomerCouponId")):
        check(coupon_id is None or await Coupon.exists(id=coupon_id), "no such coupon", name)
    rate(rules.direct_rate_bp, "directRateBp")
    rate(rules.parent_rate_bp, "parentRateBp")
    check(rules.levels == 2 or rules.parent_rate_bp == 0, "a parent rate needs two levels", "parentRateBp")
    check(rules.direct_rate_bp + rules.parent_rate_bp <= MAX_RATE_BP,
          f"the direct and parent rates together are at most {MAX_RATE_BP} basis points", "parentRateBp")
    check(len(rules.distributor_levels) <= MAX_LEVELS, f"at most {MAX_LEVELS} distributor levels",
          "distributorLevels")
    seen_levels: set[int] = set()
    for i, level in enumerate(rules.distributor_levels):
        at = ("distributorLevels", str(i))
        check(1 <= level.level <= MAX_LEVELS and level.level not in seen_levels,
              f"a level is a distinct number from 1 to {MAX_LEVELS}", *at, "level")
        seen_levels.add(level.level)
        check(0 < len(level.name.strip()) <= 32, "a level's name is 1 to 32 characters", *at, "name")
        rate(level.direct_rate_bp, *at, "directRateBp")
        rate(level.parent_rate_bp, *at, "parentRateBp")
        check(level.direct_rate_bp + level.parent_rate_bp <= MAX_RATE_BP,
              f"the direct and parent rates together are at most {MAX_RATE_BP} basis points", *at, "parentRateBp")
    known = {kind.value for kind in EARNING_KINDS}
    check(set(rules.earning_kinds) <= known and len(set(rules.earning_kinds)) == len(rules.earning_kinds),
          f"earning kinds are distinct ones of {sorted(known)}", "earningKinds")
    check(1 <= rules.window_days <= MAX_DAYS, f"the window is 1 to {MAX_DAYS} days", "windowDays")
    check(0 <= rules.freeze_days <= 365, "freeze days are 0 to 365", "freezeDays")
    check(0 <= rules.withdrawal_minimum <= MAX_FEN, "the withdrawal minimum is 0 to 1,000,000 yuan in fen",
          "withdrawalMinimum")
    check(0 <= rules.withdrawal_fee_bp <= 10_000, "the withdrawal fee is 0 to 10000 basis points", "withdrawalFeeBp")
    seen_products: set[int] = set()
    for i, product_rate in enumerate(rules.product_rates):
        at = ("productRates", str(i))
        check((product_rate.rate_bp is None) != (product_rate.fixed_fen is None),
              "give exactly one of rateBp and fixedFen", *at)
        if product_rate.rate_bp is not None:
            rate(product_rate.rate_bp, *at, "rateBp")
        if product_rate.fixed_fen is not None:
            check(0 <= product_rate.fixed_fen <= MAX_FEN, "a fixed amount is 0 to 1,000,000 yuan in fen",
                  *at, "fixedFen")
        check(product_rate.product_id not in seen_products, "one rate per product", *at, "productId")
        seen_products.add(product_rate.product_id)
    wanted = {product_rate.product_id for product_rate in rules.product_rates}
    if wanted:
        found = {row["id"] for row in await Product.filter(id__in=wanted, deleted_at__isnull=True).values("id")}
        for i, product_rate in enumerate(rules.product_rates):
            check(product_rate.product_id in found, "no such product", "productRates", str(i), "productId")
    if problems:
        raise DomainErrors(problems)

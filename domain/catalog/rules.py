"""What a valid catalog entry is: one home for every field rule the merchant's input must pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from domain.errors import DomainError, DomainErrors, ErrorCode, Invalid

MAX_PRICE = 100_000_000  # 1,000,000 CNY in fen: above any real mini-program item, far below Int overflow
MAX_STOCK = 10_000_000
MAX_IMAGES = 20
MAX_SPECS = 5


@dataclass(frozen=True)
class Spec:
    name: str
    value: str


@dataclass
class SkuDraft:
    specs: list[Spec]
    price: int
    original_price: int | None = None
    stock: int = 0
    barcode: str = ""
    weight: int = 0


@dataclass
class ProductDraft:
    title: str
    category_id: int
    subtitle: str = ""
    images: list[str] = field(default_factory=list)
    description: str = ""
    sort_order: int = 0
    skus: list[SkuDraft] = field(default_factory=list)


def spec_key(specs: Sequence[Spec]) -> str:
    """Order-insensitive identity of a spec combination: 颜色=红/尺码=M equals 尺码=M/颜色=红."""
    return "/".join(f"{s.name}={s.value}" for s in sorted(specs, key=lambda s: s.name))


def check_text(value: str, name: str, path: list[str | int], *, required: bool, max_length: int) -> str:
    value = value.strip()
    if required and not value:
        raise Invalid(f"{name} must not be empty", _path(path))
    if len(value) > max_length:
        raise Invalid(f"{name} must be at most {max_length} characters", _path(path))
    return value


def check_price(value: int, path: list[str | int], *, name: str = "price") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PRICE:
        raise Invalid(f"{name} must be a whole number of fen between 0 and {MAX_PRICE}", _path(path))
    return value


def check_specs(specs: Sequence[Spec], path: list[str | int]) -> list[Spec]:
    if len(specs) > MAX_SPECS:
        raise Invalid(f"at most {MAX_SPECS} specs per SKU", _path(path))
    cleaned = [
        Spec(
            check_text(s.name, "spec name", [*path, i, "name"], required=True, max_length=16),
            check_text(s.value, "spec value", [*path, i, "value"], required=True, max_length=32),
        )
        for i, s in enumerate(specs)
    ]
    if len({s.name for s in cleaned}) != len(cleaned):
        raise Invalid("a spec name may appear once per SKU", _path(path))
    return cleaned


def check_sku(draft: SkuDraft, path: list[str | int]) -> SkuDraft:
    draft.specs = check_specs(draft.specs, [*path, "specs"])
    draft.price = check_price(draft.price, [*path, "price"])
    if draft.original_price is not None:
        check_price(draft.original_price, [*path, "originalPrice"], name="originalPrice")
        if draft.original_price < draft.price:
            raise Invalid("originalPrice must not be below price", _path([*path, "originalPrice"]))
    if not 0 <= draft.stock <= MAX_STOCK:
        raise Invalid(f"stock must be between 0 and {MAX_STOCK}", _path([*path, "stock"]))
    if not 0 <= draft.weight <= 1_000_000:
        raise Invalid("weight must be between 0 and 1,000,000 grams", _path([*path, "weight"]))
    draft.barcode = check_text(draft.barcode, "barcode", [*path, "barcode"], required=False, max_length=64)
    return draft


def check_images(images: Sequence[str], path: list[str | int]) -> list[str]:
    if len(images) > MAX_IMAGES:
        raise Invalid(f"at most {MAX_IMAGES} images", _path(path))
    for i, url in enumerate(images):
        if not url.startswith(("https://", "http://", "cloud://")) or len(url) > 512:
            raise Invalid("images must be http(s):// or cloud:// URLs of at most 512 characters", _path([*path, i]))
    return list(images)


def check_product(draft: ProductDraft) -> ProductDraft:
    """Validate every field, reporting all problems at once."""
    errors: list[DomainError] = []

    def attempt(fn: Callable[[], object]) -> None:
        try:
            fn()
        except DomainError as exc:
            errors.append(exc)

    def title() -> None:
        draft.title = check_text(draft.title, "title", ["title"], required=True, max_length=120)

    def subtitle() -> None:
        draft.subtitle = check_text(draft.subtitle, "subtitle", ["subtitle"], required=False, max_length=255)

    def images() -> None:
        draft.images = check_images(draft.images, ["images"])

    for fn in (title, subtitle, images):
        attempt(fn)
    if not draft.skus:
        errors.append(Invalid("a product needs at least one SKU", ["skus"]))
    for i, sku in enumerate(draft.skus):
        attempt(partial(check_sku, sku, ["skus", i]))
    errors.extend(duplicate_spec_errors([sku.specs for sku in draft.skus], ["skus"]))
    if errors:
        raise DomainErrors(errors)
    return draft


def duplicate_spec_errors(spec_lists: Sequence[Sequence[Spec]], path: list[str | int]) -> list[DomainError]:
    seen: dict[str, int] = {}
    errors: list[DomainError] = []
    for i, specs in enumerate(spec_lists):
        key = spec_key(specs)
        if key in seen:
            errors.append(
                DomainError(
                    ErrorCode.DUPLICATE,
                    f"SKU {i + 1} repeats the specs of SKU {seen[key] + 1} ({key or 'no specs'})",
                    _path([*path, i, "specs"]),
                )
            )
        else:
            seen[key] = i
    return errors


def _path(path: list[str | int]) -> list[str]:
    return [str(p) for p in path]

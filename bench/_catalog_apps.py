"""The reference servers for bench/catalog.py, each started with `uvicorn --factory`.

* ``floor_app``: the same query shape answered by a minimal strawberry schema from in-memory objects (the GraphQL
  floor: parsing/validation cached, no I/O, no extensions beyond the caches).
* ``ceiling_app``: a plain Starlette endpoint returning fixed bytes (the HTTP ceiling), read from the file named by
  ``BENCH_CEILING_BODY``.
"""

from __future__ import annotations

import os
from pathlib import Path

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry import relay
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

from bench import _catalog_data as data

FLOOR_PRODUCTS = 20


@strawberry.type
class Money:
    amount: int
    currency: str = "CNY"


@strawberry.type
class PriceRange:
    min: Money
    max: Money


@strawberry.type
class SpecValue:
    name: str
    value: str


@strawberry.type
class Category(relay.Node):
    id: relay.NodeID[int]
    name: str


@strawberry.type
class Sku(relay.Node):
    id: relay.NodeID[int]
    specs: list[SpecValue]
    price: Money
    original_price: Money | None
    available: int


@strawberry.type
class Product(relay.Node):
    id: relay.NodeID[int]
    title: str
    subtitle: str
    price_range: PriceRange | None
    category: Category | None
    skus: list[Sku]


@strawberry.type
class ProductEdge:
    node: Product


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]


def _sku(row: data.SkuRow) -> Sku:
    original = None if row.original_price is None else Money(amount=row.original_price)
    return Sku(id=row.id, specs=[SpecValue(name=row.spec_name, value=row.spec_value)], price=Money(amount=row.price),
               original_price=original, available=max(row.stock, 0))


def _product(row: data.ProductRow, category: Category) -> Product:
    prices = [sku.price for sku in row.skus]
    price_range = PriceRange(min=Money(amount=min(prices)), max=Money(amount=max(prices))) if prices else None
    return Product(id=row.id, title=row.title, subtitle=row.subtitle, price_range=price_range, category=category,
                   skus=[_sku(sku) for sku in row.skus])


def _edges(count: int) -> list[ProductEdge]:
    categories = {row.id: Category(id=row.id, name=row.name) for row in data.categories()}
    return [ProductEdge(node=_product(row, categories[row.category_id])) for row in data.products(count)]


EDGES = _edges(FLOOR_PRODUCTS)


@strawberry.type
class Query:
    @strawberry.field
    def products(self, first: int | None = 20) -> ProductConnection:
        return ProductConnection(edges=EDGES[: 20 if first is None else first])


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def floor_app() -> Starlette:
    schema = strawberry.Schema(
        query=Query, extensions=[lambda: ParserCache(maxsize=1024), lambda: ValidationCache(maxsize=1024)]
    )
    graphql = GraphQL(schema, graphql_ide=None)
    return Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/healthz", healthz)])


def ceiling_app() -> Starlette:
    body = Path(os.environ["BENCH_CEILING_BODY"]).read_bytes()

    async def answer(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/graphql", answer, methods=["POST"]), Route("/healthz", healthz)])

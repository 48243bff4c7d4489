"""The benchmark catalog, generated deterministically: the database seed and the in-memory floor share it.

Products are food sold by weight (规格=500g/1kg/2.5kg), priced in fen, spread over 8 subcategories of 4 top-level
categories; ids and sort orders follow the generation order, so a store's first page is products 1..20.
"""

from __future__ import annotations

from dataclasses import dataclass

CDN = "https://img.pond.example/bench"

# top-level category -> subcategory -> goods
TREE: dict[str, dict[str, list[str]]] = {
    "生鲜水果": {"时令水果": ["水蜜桃", "脐橙", "芒果"], "进口水果": ["车厘子", "牛油果", "金果猕猴桃"]},
    "粮油副食": {"米面粮油": ["稻花香大米", "小米", "高筋面粉"], "调味干货": ["香菇", "黑木耳", "红枣"]},
    "休闲零食": {"坚果炒货": ["纸皮核桃", "巴旦木", "焦糖瓜子"], "饼干糕点": ["蛋黄酥", "全麦苏打饼干", "绿豆糕"]},
    "茶饮冲调": {"茶叶": ["明前龙井", "古树普洱", "胎菊"], "冲调谷物": ["即食燕麦片", "西湖藕粉", "黑芝麻糊"]},
}
ORIGINS = ["云南", "新疆", "山东", "福建", "东北", "四川", "浙江", "广西", "内蒙古", "甘肃"]
GRADES = ["特级", "一级", "精选", "家庭装", "礼盒装"]
SUBTITLES = ["产地直发 新鲜到家", "顺丰包邮 坏果包赔", "当季新货 限量供应", "老客回购 好评如潮", "无添加 放心吃",
             "社群专享价"]
SIZES = [("500g", 500, 1.0), ("1kg", 1000, 1.9), ("2.5kg", 2500, 4.5)]  # spec value, grams, price factor


@dataclass(frozen=True)
class CategoryRow:
    id: int
    name: str
    parent_id: int | None
    sort_order: int


@dataclass(frozen=True)
class SkuRow:
    id: int
    product_id: int
    spec_name: str
    spec_value: str
    price: int
    original_price: int | None
    stock: int
    weight: int


@dataclass(frozen=True)
class ProductRow:
    id: int
    title: str
    subtitle: str
    category_id: int
    sort_order: int
    images: list[str]
    skus: list[SkuRow]


def categories() -> list[CategoryRow]:
    """Top-level categories first (ids 1..4), then their subcategories (ids 5..12)."""
    rows = [CategoryRow(i + 1, name, None, i) for i, name in enumerate(TREE)]
    for parent_index, subs in enumerate(TREE.values()):
        for j, name in enumerate(subs):
            rows.append(CategoryRow(len(rows) + 1, name, parent_index + 1, j))
    return rows


def _goods() -> list[tuple[int, str]]:
    """(subcategory id, good) for every good, in tree order."""
    by_name = {c.name: c.id for c in categories() if c.parent_id is not None}
    return [(by_name[sub], good) for subs in TREE.values() for sub, goods in subs.items() for good in goods]


def _round10(fen: float) -> int:
    return int(round(fen / 10) * 10)


def _skus(index: int, product_id: int) -> list[SkuRow]:
    base = 990 + (index * 37 % 60) * 100
    rows = []
    for j, (value, grams, factor) in enumerate(SIZES):
        price = _round10(base * factor)
        original = _round10(price * 1.3) if (index + j) % 3 else None
        stock = 0 if (index + j) % 15 == 0 else (index * 31 + j * 17) % 400 + 5
        rows.append(SkuRow(product_id * 3 - 2 + j, product_id, "规格", value, price, original, stock, grams + 120))
    return rows


def products(count: int) -> list[ProductRow]:
    goods = _goods()
    limit = len(ORIGINS) * len(goods) * len(GRADES)
    if not 0 < count <= limit:
        raise ValueError(f"between 1 and {limit} products")
    rows = []
    for i in range(count):
        category_id, good = goods[(i // len(ORIGINS)) % len(goods)]
        title = f"{ORIGINS[i % len(ORIGINS)]}{good} {GRADES[i // (len(ORIGINS) * len(goods))]}"
        images = [f"{CDN}/{i + 1}-{n}.jpg" for n in (1, 2)]
        rows.append(ProductRow(i + 1, title, SUBTITLES[i % len(SUBTITLES)], category_id, i, images, _skus(i, i + 1)))
    return rows

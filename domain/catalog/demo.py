"""A demo catalog for an empty store: what a 私域 mini-program shop plausibly sells, built through the domain rules."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from domain.catalog.categories import create_category
from domain.catalog.models import Product
from domain.catalog.products import create_product, set_published
from domain.catalog.rules import ProductDraft, SkuDraft, Spec

CDN = "https://img.pond.example/demo"

# top-level category -> its subcategories (each name is unique across the tree)
CATEGORIES: dict[str, list[str]] = {
    "生鲜水果": ["时令水果", "进口水果"],
    "粮油副食": ["米面粮油", "调味干货"],
    "休闲零食": ["坚果炒货", "饼干糕点"],
    "美妆个护": ["面部护肤", "洗护清洁"],
    "家居日用": ["收纳整理", "厨房用品"],
    "母婴童装": ["童装", "婴儿用品"],
}

# SKU: (specs as "名=值/名=值", price fen, original price fen or None, stock, barcode, weight g)
Row = tuple[str, int, int | None, int, str, int]

# (subcategory, slug, title, subtitle, description, image count, published, SKUs)
PRODUCTS: list[tuple[str, str, str, str, str, int, bool, list[Row]]] = [
    ("时令水果", "feicheng-peach", "肥城水蜜桃 现摘现发", "果园直发 软糯多汁 坏果包赔",
     "<p>山东肥城桃园当天采摘，顺丰冷链发货。</p><p>收到后常温放置 1–2 天口感更佳。</p>", 3, True,
     [("规格=5斤装", 3990, 5990, 120, "", 2600), ("规格=10斤装", 6990, 9990, 60, "", 5200)]),
    ("时令水果", "yunnan-mango", "云南攀枝花凯特芒果", "核小肉厚 香甜不腻",
     "<p>树上自然成熟，单果 400g 起。</p>", 2, True,
     [("重量=5斤装", 4590, 5990, 200, "", 2700), ("重量=9斤装", 7990, None, 80, "", 4800)]),
    ("时令水果", "ganzhou-navel-orange", "赣南脐橙 当季鲜果", "皮薄多汁 酸甜适口",
     "<p>江西赣州原产地直发，果径 70–80mm。</p>", 2, True,
     [("规格=5斤装 中果", 2990, 3990, 300, "", 2600), ("规格=10斤装 大果", 5490, 6990, 150, "", 5200),
      ("规格=10斤装 特大果", 6490, None, 0, "", 5200)]),
    ("时令水果", "dandong-strawberry", "丹东99草莓 礼盒装", "红颜品种 冷链到家",
     "<p>每颗独立托盘包装，防压防震。</p>", 3, True,
     [("规格=3斤礼盒", 12800, 15800, 40, "", 1800)]),
    ("进口水果", "chile-cherry", "智利进口车厘子 JJ级", "果径 28–30mm 脆甜爆汁",
     "<p>空运直达，海关检疫合格，附原箱标签。</p>", 3, True,
     [("规格=2斤装", 13900, 16900, 90, "", 1100), ("规格=5斤原箱", 29900, 35900, 30, "", 2600)]),
    ("进口水果", "nz-kiwi", "新西兰佳沛阳光金果", "一天一颗 补充维C",
     "<p>Zespri 授权，单果 100–120g。</p>", 2, True,
     [("规格=12个装", 8990, 9990, 160, "", 1500), ("规格=22个装", 14900, None, 70, "", 2700)]),
    ("米面粮油", "wuchang-rice", "五常稻花香大米 2024新米", "东北黑土地 一年一季",
     "<p>当季新米，真空包装锁鲜。</p>", 2, True,
     [("规格=5kg", 8990, 10990, 400, "6901234500011", 5100),
      ("规格=10kg", 16900, 19900, 180, "6901234500028", 10200)]),
    ("米面粮油", "peanut-oil", "古法压榨花生油", "一级压榨 浓香型",
     "<p>山东大花生物理压榨，不含添加剂。</p>", 1, True,
     [("规格=1.8L", 4990, 5990, 220, "6901234500035", 1750), ("规格=5L", 11900, 13900, 95, "6901234500042", 4700)]),
    ("调味干货", "qianhe-soy-sauce", "零添加特级生抽 500ml", "酿造 180 天",
     "<p>只用黄豆、小麦、食盐和水。</p>", 1, True,
     [("规格=单瓶", 1590, None, 500, "6901234500059", 620), ("规格=3瓶装", 3990, 4770, 260, "", 1860)]),
    ("调味干货", "shiitake-dried", "古田香菇干货", "肉厚柄短 泡发率高",
     "<p>福建古田椴木香菇，自然晾晒。</p>", 2, False,
     [("重量=250g", 3990, None, 75, "", 300), ("重量=500g", 6990, 7990, 40, "", 560)]),
    ("坚果炒货", "mixed-nuts", "每日坚果 30袋装", "6种坚果果干 科学配比",
     "<p>腰果、巴旦木、榛子、核桃、蔓越莓、蓝莓干。</p>", 3, True,
     [("规格=15袋", 5990, 6990, 300, "6901234500066", 420), ("规格=30袋", 9990, 12900, 150, "6901234500073", 830)]),
    ("坚果炒货", "xinjiang-walnut", "新疆阿克苏纸皮核桃", "手捏即开 果仁饱满",
     "<p>2024 新货，薄皮易剥。</p>", 2, True,
     [("重量=2斤装", 3590, 4590, 210, "", 1050), ("重量=5斤装", 7990, None, 0, "", 2600)]),
    ("坚果炒货", "sunflower-seeds", "焦糖瓜子 大颗粒", "颗颗饱满 越嗑越香",
     "<p>内蒙古原产，独立小包装。</p>", 1, True,
     [("口味=焦糖", 1990, 2590, 350, "", 500), ("口味=山核桃", 1990, 2590, 280, "", 500),
      ("口味=五香", 1790, None, 0, "", 500)]),
    ("饼干糕点", "egg-yolk-pastry", "雪媚娘蛋黄酥 6枚礼盒", "咸蛋黄 + 麻薯 + 红豆沙",
     "<p>手工现烤，保质期 15 天。</p>", 2, True,
     [("口味=经典原味", 3990, 4990, 120, "", 420), ("口味=抹茶", 4290, 4990, 80, "", 420),
      ("口味=紫薯", 4290, None, 60, "", 420)]),
    ("饼干糕点", "soda-crackers", "全麦苏打饼干 早餐代餐", "无蔗糖 饱腹感强",
     "<p>整箱 1kg，约 40 小包。</p>", 1, True,
     [("口味=海苔", 2990, 3990, 240, "6901234500080", 1100), ("口味=香葱", 2990, 3990, 190, "6901234500097", 1100)]),
    ("面部护肤", "hydrating-essence", "玻尿酸补水精华液 30ml", "深层保湿 敏感肌可用",
     "<p>三重玻尿酸，质地清爽不黏腻。</p><p>开封后 12 个月内使用。</p>", 3, True,
     [("规格=30ml", 15900, 19900, 130, "6901234500103", 120), ("规格=30ml×2 囤货装", 28900, 39800, 50, "", 240)]),
    ("面部护肤", "amino-cleanser", "氨基酸洗面奶 温和不紧绷", "绵密泡沫 卸淡妆",
     "<p>pH 弱酸性，男女通用。</p>", 2, True,
     [("规格=120g", 6900, 8900, 260, "6901234500110", 160)]),
    ("洗护清洁", "shampoo-ginger", "生姜防脱洗发水", "控油蓬松 持久留香",
     "<p>无硅油配方，适合油性头皮。</p>", 2, True,
     [("规格=500ml", 5990, 7990, 210, "6901234500127", 580), ("规格=500ml+补充装", 8990, 11980, 90, "", 1100)]),
    ("收纳整理", "storage-box", "加厚透明收纳箱 带滑轮", "衣物被褥 一目了然",
     "<p>PP 材质，可叠放，承重 30kg。</p>", 3, True,
     [("颜色=透明白/尺寸=中号 35L", 3990, 4990, 180, "", 1400),
      ("颜色=透明白/尺寸=大号 55L", 5490, 6990, 140, "", 1900),
      ("颜色=奶咖/尺寸=中号 35L", 3990, 4990, 60, "", 1400), ("颜色=奶咖/尺寸=大号 55L", 5490, 6990, 0, "", 1900)]),
    ("厨房用品", "cast-iron-pot", "珐琅铸铁锅 24cm", "锁水保温 燃气电磁炉通用",
     "<p>一锅多用：炖、煮、焖、烤。</p>", 3, False,
     [("颜色=樱桃红", 39900, 59900, 25, "6901234500134", 4200),
      ("颜色=雾霾蓝", 39900, 59900, 18, "6901234500141", 4200)]),
    ("厨房用品", "silicone-spatula", "食品级硅胶铲勺 5件套", "不伤锅 耐高温 230℃",
     "<p>一体成型，无缝易清洗。</p>", 1, True,
     [("颜色=燕麦色", 4990, 6990, 300, "", 650), ("颜色=墨绿", 4990, 6990, 220, "", 650)]),
    ("童装", "kids-cotton-tee", "儿童纯棉短袖T恤 夏季", "A类面料 亲肤透气",
     "<p>新疆长绒棉，宽松版型，建议按身高选码。</p>", 3, True,
     [("颜色=奶白/尺码=90", 5900, 7900, 40, "", 110), ("颜色=奶白/尺码=110", 5900, 7900, 50, "", 130),
      ("颜色=奶白/尺码=130", 6900, 7900, 35, "", 150), ("颜色=雾蓝/尺码=90", 5900, 7900, 25, "", 110),
      ("颜色=雾蓝/尺码=110", 5900, 7900, 30, "", 130), ("颜色=雾蓝/尺码=130", 6900, 7900, 0, "", 150)]),
    ("童装", "kids-down-vest", "儿童轻薄羽绒马甲", "90% 白鸭绒 秋冬内搭",
     "<p>可机洗，不跑绒。</p>", 2, True,
     [("颜色=藏青/尺码=100", 12900, 19900, 30, "", 180), ("颜色=藏青/尺码=120", 13900, 19900, 22, "", 210),
      ("颜色=粉色/尺码=100", 12900, 19900, 18, "", 180), ("颜色=粉色/尺码=120", 13900, 19900, 12, "", 210)]),
    ("婴儿用品", "baby-wipes", "婴儿手口湿巾 80抽", "EDI 纯水 无酒精",
     "<p>可用于新生儿手口清洁。</p>", 2, True,
     [("规格=80抽×3包", 2990, 3590, 450, "6901234500158", 1200), ("规格=80抽×12包", 9990, 14360, 120, "", 4800)]),
]


def _sku(row: Row) -> SkuDraft:
    specs, price, original_price, stock, barcode, weight = row
    pairs = [part.split("=", 1) for part in specs.split("/")]
    return SkuDraft([Spec(n, v) for n, v in pairs], price, original_price, stock, barcode, weight)


async def seed_demo_catalog(actor: str = "system:seed") -> int:
    """Fill an empty store (no product ever, deleted ones included); return how many products were created."""
    async with in_transaction():
        if await Product.exists():
            return 0
        category_ids: dict[str, int] = {}
        for i, (top, subs) in enumerate(CATEGORIES.items()):
            parent = await create_category(top, sort_order=i)
            for j, sub in enumerate(subs):
                category_ids[sub] = (await create_category(sub, parent.id, sort_order=j)).id
        for i, (category, slug, title, subtitle, description, images, published, skus) in enumerate(PRODUCTS):
            draft = ProductDraft(
                title=title,
                category_id=category_ids[category],
                subtitle=subtitle,
                images=[f"{CDN}/{slug}-{n}.jpg" for n in range(1, images + 1)],
                description=description,
                sort_order=i,
                skus=[_sku(row) for row in skus],
            )
            product = await create_product(draft, actor)
            if published:
                await set_published(product.id, True)
    return len(PRODUCTS)

"""One price source per order line (kind and id) instead of one column per kind of offer.

The existing lines keep what priced them: a limited-time discount becomes ('DISCOUNT', id), a flash sale
('FLASH_SALE', id). The old columns' indexes (migration 0009) go before the columns, which SQLite requires, and the
order_id index comes back after SQLite rebuilt the table."""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0011_access_revocation")]

    initial = False

    operations = [
        ops.AddField(
            model_name="OrderLine",
            name="price_source",
            field=fields.CharField(
                null=True, max_length=16,
                description="what set unit_price below the list price: DISCOUNT, FLASH_SALE, GROUP_BUY…",
            ),
        ),
        ops.AddField(
            model_name="OrderLine",
            name="price_source_id",
            field=fields.IntField(null=True, description="the id of that discount, sale, campaign or relay"),
        ),
        ops.RunSQL(
            [
                "UPDATE orders_line SET price_source = 'DISCOUNT', price_source_id = price_discount_id"
                " WHERE price_discount_id IS NOT NULL",
                "UPDATE orders_line SET price_source = 'FLASH_SALE', price_source_id = price_flash_sale_id"
                " WHERE price_flash_sale_id IS NOT NULL",
                "DROP INDEX IF EXISTS idx_orders_line_price_discount_id",
                "DROP INDEX IF EXISTS idx_orders_line_price_flash_sale_id",
            ],
            reverse_sql=[],
        ),
        ops.RemoveField(model_name="OrderLine", name="price_discount_id"),
        ops.RemoveField(model_name="OrderLine", name="price_flash_sale_id"),
        ops.AddIndex(model_name="OrderLine", index=Index(fields=["price_source", "price_source_id"])),
        # SQLite drops a column by rebuilding the table, which loses its other indexes
        ops.RunSQL(["CREATE INDEX IF NOT EXISTS idx_orders_line_order_i_bd4755 ON orders_line (order_id)"],
                   reverse_sql=[]),
    ]

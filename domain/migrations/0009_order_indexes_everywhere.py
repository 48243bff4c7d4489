"""The indexes the models ask for (db_index) that earlier migrations did not make everywhere.

Tortoise's AlterField added migration 0006's order_id indexes on PostgreSQL but not on SQLite, the initial schema on
SQLite lacks two more, and neither database got those of fields added by AddField (0003 and 0004: the order lines'
price sources, 0008: `orders_refund.payment_id`). Where PostgreSQL already has one, the name is the one it got, so
`IF NOT EXISTS` leaves it alone. tests/domain/test_migrations.py checks every db_index field has an index."""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = [
    ("idx_ledger_entr_order_i_d95c19", "ledger_entry", "order_id"),
    ("idx_ledger_entr_created_b7ce0f", "ledger_entry", "created_at"),
    ("idx_orders_line_order_i_bd4755", "orders_line", "order_id"),
    ("idx_orders_paym_order_i_55ce53", "orders_payment", "order_id"),
    ("idx_orders_refu_order_i_24b086", "orders_refund", "order_id"),
    ("idx_orders_refu_status_90ec0a", "orders_refund", "status"),
    ("idx_orders_refund_payment_id", "orders_refund", "payment_id"),
    ("idx_orders_line_price_discount_id", "orders_line", "price_discount_id"),
    ("idx_orders_line_price_flash_sale_id", "orders_line", "price_flash_sale_id"),
]


class Migration(migrations.Migration):
    dependencies = [("models", "0008_refund_payment")]

    initial = False

    operations = [
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})" for name, table, column in INDEXES],
            reverse_sql=[],
        ),
    ]

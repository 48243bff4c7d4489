from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_coupons')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='LedgerEntry',
            name='order',
            field=fields.ForeignKeyField('models.Order', source_field='order_id', null=True, db_index=True, db_constraint=True, to_field='id', related_name='ledger_entries', on_delete=OnDelete.RESTRICT),
        ),
        ops.AlterField(
            model_name='OrderLine',
            name='order',
            field=fields.ForeignKeyField('models.Order', source_field='order_id', db_index=True, db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE),
        ),
        ops.AlterField(
            model_name='Payment',
            name='order',
            field=fields.ForeignKeyField('models.Order', source_field='order_id', db_index=True, db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.CASCADE),
        ),
        ops.AlterField(
            model_name='Refund',
            name='order',
            field=fields.ForeignKeyField('models.Order', source_field='order_id', db_index=True, db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.CASCADE),
        ),
    ]

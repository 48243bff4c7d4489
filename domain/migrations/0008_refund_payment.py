from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_returned_units')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Refund',
            name='payment',
            field=fields.ForeignKeyField('models.Payment', source_field='payment_id', null=True, db_index=True, description='the WeChat Pay trade the money goes back through (null on refunds made before it was recorded)', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.RESTRICT),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_discounts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FlashSale',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('starts_at', fields.DatetimeField(db_index=True, description='UTC, inclusive', auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(db_index=True, description='UTC, exclusive', auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, description='set when staff end it early', auto_now=False, auto_now_add=False)),
                ('settled_at', fields.DatetimeField(null=True, description='when the unsold units went back to normal stock', auto_now=False, auto_now_add=False)),
                ('per_customer_limit', fields.IntField(description='units one customer may buy in this sale, over all its SKUs')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'pricing_flash_sale', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A flash sale (秒杀): its own pool of units per SKU, sold at the sale price inside a window, a few per customer.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FlashSaleItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sale', fields.ForeignKeyField('models.FlashSale', source_field='sale_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='flash_sale_items', on_delete=OnDelete.RESTRICT)),
                ('price', fields.IntField(description='fen per unit in the sale')),
                ('quantity', fields.IntField(description="units in the sale's pool")),
                ('taken', fields.IntField(default=0, description='units held by open orders or sold, never above quantity')),
            ],
            options={'table': 'pricing_flash_sale_item', 'app': 'models', 'unique_together': (('sale', 'sku'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OrderLine',
            name='price_flash_sale_id',
            field=fields.IntField(null=True, db_index=True, description='the flash sale that set unit_price'),
        ),
        ops.AddField(
            model_name='Reservation',
            name='flash_item',
            field=fields.ForeignKeyField('models.FlashSaleItem', source_field='flash_item_id', null=True, description="set when the units came from a flash sale's pool", db_constraint=True, to_field='id', related_name='reservations', on_delete=OnDelete.RESTRICT),
        ),
    ]

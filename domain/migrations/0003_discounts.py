from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.pricing.models import DiscountKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_orders')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Discount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('starts_at', fields.DatetimeField(db_index=True, description='UTC, inclusive', auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(db_index=True, description='UTC, exclusive', auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, description='set when staff end it early', auto_now=False, auto_now_add=False)),
                ('per_customer_limit', fields.IntField(null=True, description='units one customer may buy at this price, null: none')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pricing_discount', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DiscountItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('discount', fields.ForeignKeyField('models.Discount', source_field='discount_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='discount_items', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='PERCENT: PERCENT\nFIXED_PRICE: FIXED_PRICE', enum_type=DiscountKind, max_length=16)),
                ('value', fields.IntField(description='PERCENT: percent off, 1 to 99. FIXED_PRICE: the price in fen')),
            ],
            options={'table': 'pricing_discount_item', 'app': 'models', 'unique_together': (('discount', 'sku'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OrderLine',
            name='price_discount_id',
            field=fields.IntField(null=True, db_index=True, description='the limited-time discount that set unit_price'),
        ),
    ]

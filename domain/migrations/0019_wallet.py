"""Stored value: recharge packages and recharges."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0018_points')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Recharge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.OneToOneField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='recharge', on_delete=OnDelete.CASCADE)),
                ('customer_id', fields.IntField(db_index=True)),
                ('package_id', fields.IntField(db_index=True)),
                ('principal', fields.IntField()),
                ('bonus', fields.IntField()),
                ('credited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'wallet_recharge', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One recharge: its RECHARGE order and what it credits when paid (once).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RechargePackage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=40)),
                ('price', fields.IntField(description='fen the customer pays, credited as principal')),
                ('bonus', fields.IntField(default=0, description='fen the shop adds, credited as bonus')),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, description='null: open-ended', auto_now=False, auto_now_add=False)),
                ('per_customer_limit', fields.IntField(null=True, description='paid recharges of it per customer (null: any)')),
                ('ended_at', fields.DatetimeField(null=True, description='ended early by staff', auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'wallet_recharge_package', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Pay `price` fen, receive `price` as principal and `bonus` fen as bonus ("pay 500, get 50 free").'},
            bases=['Model'],
        ),
    ]

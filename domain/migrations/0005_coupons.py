from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from domain.pricing.models import CouponKind, CouponScope, CustomerCouponStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_flash_sales')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Coupon',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('description', fields.CharField(default='', max_length=200)),
                ('kind', fields.CharEnumField(description='FIXED_AMOUNT: FIXED_AMOUNT\nPERCENT: PERCENT', enum_type=CouponKind, max_length=16)),
                ('value', fields.IntField(description='FIXED_AMOUNT: fen off. PERCENT: percent off, 1 to 99')),
                ('max_discount', fields.IntField(null=True, description='PERCENT only: the most it takes off in fen, null: no cap')),
                ('min_spend', fields.IntField(default=0, description='fen the eligible lines must come to, after spend-and-save')),
                ('scope', fields.CharEnumField(default=CouponScope.ALL, description='ALL: ALL\nPRODUCTS: PRODUCTS\nCATEGORIES: CATEGORIES', enum_type=CouponScope, max_length=16)),
                ('scope_ids', fields.JSONField(default=list, description='product ids (PRODUCTS) or category ids with their subcategories (CATEGORIES)', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('total_quantity', fields.IntField(description='copies that can be claimed in all')),
                ('claimed', fields.IntField(default=0, description='copies claimed so far, never above total_quantity')),
                ('per_customer_limit', fields.IntField(default=1, description='copies one customer may claim')),
                ('starts_at', fields.DatetimeField(db_index=True, description='claims open, UTC, inclusive', auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(db_index=True, description='claims close, UTC, exclusive', auto_now=False, auto_now_add=False)),
                ('valid_from', fields.DatetimeField(null=True, description='fixed validity start, UTC, inclusive', auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(null=True, description='fixed validity end, UTC, exclusive', auto_now=False, auto_now_add=False)),
                ('valid_days', fields.IntField(null=True, description='without a fixed validity: days a copy is valid from its claim')),
                ('ended_at', fields.DatetimeField(null=True, description='set when staff end it early: no more claims', auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'pricing_coupon', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A coupon template (优惠券): staff set what it takes off and how many can be claimed, customers claim copies.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CustomerCoupon',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('coupon', fields.ForeignKeyField('models.Coupon', source_field='coupon_id', db_constraint=True, to_field='id', related_name='claims', on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='coupons', on_delete=OnDelete.RESTRICT)),
                ('code', fields.CharField(unique=True, description="what checkout's couponCode names", max_length=16)),
                ('status', fields.CharEnumField(default=CustomerCouponStatus.AVAILABLE, description='AVAILABLE: AVAILABLE\nUSED: USED', enum_type=CustomerCouponStatus, max_length=16)),
                ('valid_from', fields.DatetimeField(description='UTC, inclusive', auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(db_index=True, description='UTC, exclusive', auto_now=False, auto_now_add=False)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', null=True, db_index=True, description='the order it is used on while USED', db_constraint=True, to_field='id', related_name='coupons', on_delete=OnDelete.SET_NULL)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claimed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pricing_customer_coupon', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'coupon_id']), Index(fields=['customer_id', 'status'])], 'pk_attr': 'id', 'table_description': "A customer's claimed copy of a coupon, USED while an order holds it."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrderPromotion',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_index=True, db_constraint=True, to_field='id', related_name='promotions', on_delete=OnDelete.CASCADE)),
                ('source', fields.CharField(description='coupon:<coupon id> or spend-and-save:<id>', max_length=40)),
                ('amount', fields.IntField(description='fen')),
                ('customer_coupon_id', fields.IntField(null=True, description='the claimed copy a coupon promotion used')),
            ],
            options={'table': 'pricing_order_promotion', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An order-level promotion an order got (spend-and-save or a coupon) and what it took off the order.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SpendAndSave',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('tiers', fields.JSONField(description='[{threshold, amount}] in fen, thresholds ascending', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('starts_at', fields.DatetimeField(db_index=True, description='UTC, inclusive', auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(db_index=True, description='UTC, exclusive', auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, description='set when staff end it early', auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'pricing_spend_and_save', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Spend-and-save (满减): tiers of spend X and save Y on a whole order, inside a window.'},
            bases=['Model'],
        ),
    ]

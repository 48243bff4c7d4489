"""Commissions: the balance ledger (one shape for every balance), order attribution snapshots, commissions, withdrawals, referral rewards."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.commissions.models import CommissionStatus
from domain.withdrawals.models import WithdrawalStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0015_distribution')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Balance',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner_kind', fields.CharField(max_length=16)),
                ('owner_id', fields.IntField()),
                ('bucket', fields.CharField(max_length=16)),
                ('amount', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'balance', 'app': 'models', 'unique_together': (('owner_kind', 'owner_id', 'bucket'),), 'pk_attr': 'id', 'table_description': "The sum of one owner's bucket, kept by conditional writes in the transaction of each entry."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BalanceEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner_kind', fields.CharField(description='distributor, customer, …', max_length=16)),
                ('owner_id', fields.IntField()),
                ('bucket', fields.CharField(description='pending, available, withdrawn, clawed_back, …', max_length=16)),
                ('amount', fields.BigIntField(description='signed: fen (or points)')),
                ('reference', fields.CharField(unique=True, description='idempotency: one entry per movement', max_length=80)),
                ('note', fields.CharField(default='', max_length=120)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'balance_entry', 'app': 'models', 'indexes': [Index(fields=['owner_kind', 'owner_id', 'bucket'])], 'pk_attr': 'id', 'table_description': 'One movement of one bucket, once: its `reference` is unique, so a repeated movement writes nothing.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Commission',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('distributor', fields.ForeignKeyField('models.Distributor', source_field='distributor_id', db_constraint=True, to_field='id', related_name='commissions', on_delete=OnDelete.RESTRICT)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_index=True, db_constraint=True, to_field='id', related_name='commissions', on_delete=OnDelete.RESTRICT)),
                ('order_line_id', fields.BigIntField()),
                ('level', fields.IntField(description='1: the direct distributor, 2: its parent')),
                ('base', fields.IntField(description='fen: what the line cost the customer after discounts')),
                ('rate_bp', fields.IntField(null=True, description='the rate applied, or null for a fixed amount per unit')),
                ('fixed_fen', fields.IntField(null=True, description="fen per unit, when the product's rate is fixed")),
                ('amount', fields.IntField(description='fen earned when the order was confirmed')),
                ('reduced', fields.IntField(default=0, description='fen taken off by refunds before it was available')),
                ('clawed_back', fields.IntField(default=0, description='fen taken back by refunds after it was available')),
                ('status', fields.CharEnumField(default=CommissionStatus.PENDING, db_index=True, description='PENDING: PENDING\nAVAILABLE: AVAILABLE\nWITHDRAWN: WITHDRAWN\nCANCELLED: CANCELLED', enum_type=CommissionStatus, max_length=16)),
                ('available_at', fields.DatetimeField(null=True, description="when the order's freeze ends (set on completion)", auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'commission', 'app': 'models', 'unique_together': (('order_line_id', 'level'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrderAttribution',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.OneToOneField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='attribution', on_delete=OnDelete.CASCADE)),
                ('share_code', fields.CharField(null=True, description='the share the order came through, if any', max_length=32)),
                ('link_id', fields.IntField(null=True, db_index=True, description="that share's link")),
                ('distributor_id', fields.IntField(db_index=True, description='the direct distributor (level 1)')),
                ('parent_distributor_id', fields.IntField(null=True, db_index=True, description='its parent (level 2), if earning')),
                ('settings_version', fields.IntField(description='the distribution settings in force (product rates among them)')),
                ('direct_rate_bp', fields.IntField(description="the direct distributor's rate, its level applied")),
                ('parent_rate_bp', fields.IntField(default=0)),
                ('freeze_days', fields.IntField(description='days after completion before the commission may be withdrawn')),
                ('new_customer', fields.BooleanField(default=False, description="the buyer's first order that earns anyone")),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'attribution_order', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The snapshot a commission is paid by: a later rebinding or change of rates never changes it. Only an order'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReferralReward',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('referred_customer_id', fields.IntField(unique=True, description='rewarded once per referred customer')),
                ('referrer_customer_id', fields.IntField(db_index=True)),
                ('order_id', fields.IntField(description="the referred customer's first completed order")),
                ('referrer_coupon_id', fields.IntField(null=True, description='the coupon the referrer received')),
                ('referred_coupon_id', fields.IntField(null=True, description='the coupon the new customer received')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'referral_reward', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Withdrawal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('distributor', fields.ForeignKeyField('models.Distributor', source_field='distributor_id', db_constraint=True, to_field='id', related_name='withdrawals', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.IntField(description='fen taken from the available balance')),
                ('fee', fields.IntField(default=0, description='fen the shop keeps (the withdrawal fee in force)')),
                ('status', fields.CharEnumField(default=WithdrawalStatus.REQUESTED, db_index=True, description='REQUESTED: REQUESTED\nTRANSFERRING: TRANSFERRING\nPAID: PAID\nREJECTED: REJECTED\nFAILED: FAILED', enum_type=WithdrawalStatus, max_length=16)),
                ('idempotency_key', fields.CharField(max_length=64)),
                ('out_bill_no', fields.CharField(null=True, unique=True, description='set once, never renumbered', max_length=32)),
                ('transfer_bill_no', fields.CharField(null=True, max_length=64)),
                ('transfer_state', fields.CharField(default='', description="WeChat Pay's last word on the bill", max_length=20)),
                ('package_info', fields.CharField(null=True, description='for wx.requestMerchantTransfer', max_length=1024)),
                ('fail_reason', fields.CharField(default='', max_length=200)),
                ('reject_reason', fields.CharField(default='', max_length=200)),
                ('decided_by', fields.CharField(default='', max_length=64)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'withdrawal', 'app': 'models', 'unique_together': (('distributor', 'idempotency_key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]

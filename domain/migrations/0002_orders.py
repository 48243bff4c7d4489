from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from domain.inventory.models import ReservationState
from domain.orders.models import OrderKind, OrderStatus, PaymentStatus, RefundStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CartItem',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='cart_items', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='cart_items', on_delete=OnDelete.CASCADE)),
                ('quantity', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'cart_item', 'app': 'models', 'unique_together': (('customer', 'sku'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentNotification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('notification_id', fields.CharField(unique=True, max_length=64)),
                ('event_type', fields.CharField(max_length=40)),
                ('reference', fields.CharField(description='out_trade_no or out_refund_no', max_length=32)),
                ('outcome', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'orders_payment_notification', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Every verified WeChat Pay notification we handled, by its id: replays are recognised.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PickupPoint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('address', fields.CharField(max_length=255)),
                ('phone', fields.CharField(default='', max_length=20)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'orders_pickup_point', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A store or partner shop where customers collect orders (自提点).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Order',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('number', fields.CharField(unique=True, description='shown to people, base of the out_trade_no', max_length=32)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(default=OrderKind.NORMAL, description='NORMAL: NORMAL\nFLASH_SALE: FLASH_SALE\nGROUP_BUY: GROUP_BUY\nRELAY: RELAY\nRECHARGE: RECHARGE', enum_type=OrderKind, max_length=16)),
                ('status', fields.CharEnumField(default=OrderStatus.PENDING_PAYMENT, db_index=True, description='PENDING_PAYMENT: PENDING_PAYMENT\nPAID: PAID\nSHIPPED: SHIPPED\nCOMPLETED: COMPLETED\nCANCELLED: CANCELLED\nREFUNDING: REFUNDING\nREFUNDED: REFUNDED', enum_type=OrderStatus, max_length=16)),
                ('status_before_refund', fields.CharEnumField(null=True, description='PENDING_PAYMENT: PENDING_PAYMENT\nPAID: PAID\nSHIPPED: SHIPPED\nCOMPLETED: COMPLETED\nCANCELLED: CANCELLED\nREFUNDING: REFUNDING\nREFUNDED: REFUNDED', enum_type=OrderStatus, max_length=16)),
                ('subtotal', fields.IntField(description='fen, sum of lines before discounts')),
                ('discount_total', fields.IntField(default=0)),
                ('shipping_fee', fields.IntField(default=0)),
                ('wallet_paid', fields.IntField(default=0)),
                ('payable', fields.IntField(description='fen still owed through WeChat Pay')),
                ('refunded_total', fields.IntField(default=0)),
                ('delivery', fields.JSONField(description='{address: {...}} or {pickupPoint: {...}} snapshot', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('pickup_point', fields.ForeignKeyField('models.PickupPoint', source_field='pickup_point_id', null=True, db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.RESTRICT)),
                ('remark', fields.CharField(default='', max_length=200)),
                ('share_code', fields.CharField(null=True, description='the share this order came through', max_length=32)),
                ('idempotency_key', fields.CharField(null=True, max_length=64)),
                ('carrier', fields.CharField(default='', max_length=32)),
                ('tracking_number', fields.CharField(default='', max_length=64)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('shipped_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancel_reason', fields.CharField(default='', max_length=64)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'orders_order', 'app': 'models', 'unique_together': (('customer', 'idempotency_key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.CharField(description='wechatpay, wallet, …', max_length=32)),
                ('kind', fields.CharField(description='payment, refund, …', max_length=32)),
                ('amount', fields.IntField(description='fen, signed')),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name='ledger_entries', on_delete=OnDelete.RESTRICT)),
                ('reference', fields.CharField(unique=True, description='idempotency: one entry per movement', max_length=64)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'ledger_entry', 'app': 'models', 'pk_attr': 'id', 'table_description': 'amount > 0 is money in to the merchant (a payment), < 0 money out (a refund).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrderLine',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='order_lines', on_delete=OnDelete.RESTRICT)),
                ('product_id', fields.IntField()),
                ('title', fields.CharField(max_length=120)),
                ('specs', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('image', fields.CharField(default='', max_length=512)),
                ('unit_price', fields.IntField(description='fen, before order-level discounts')),
                ('quantity', fields.IntField()),
                ('discount', fields.IntField(default=0, description='fen taken off this line')),
                ('line_total', fields.IntField(description='unit_price × quantity − discount')),
            ],
            options={'table': 'orders_line', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.CASCADE)),
                ('out_trade_no', fields.CharField(unique=True, max_length=32)),
                ('amount', fields.IntField()),
                ('status', fields.CharEnumField(default=PaymentStatus.PENDING, description='PENDING: PENDING\nSUCCEEDED: SUCCEEDED\nCLOSED: CLOSED', enum_type=PaymentStatus, max_length=16)),
                ('prepay_id', fields.CharField(null=True, max_length=64)),
                ('prepay_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('transaction_id', fields.CharField(null=True, unique=True, max_length=32)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'orders_payment', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One WeChat Pay transaction attempt (out_trade_no) for an order.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Refund',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.CASCADE)),
                ('out_refund_no', fields.CharField(unique=True, max_length=32)),
                ('amount', fields.IntField()),
                ('reason', fields.CharField(default='', max_length=200)),
                ('status', fields.CharEnumField(default=RefundStatus.REQUESTED, db_index=True, description='REQUESTED: REQUESTED\nREJECTED: REJECTED\nPROCESSING: PROCESSING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED', enum_type=RefundStatus, max_length=16)),
                ('requested_by', fields.CharField(description='customer:<id>, staff:<id> or system', max_length=64)),
                ('decided_by', fields.CharField(default='', max_length=64)),
                ('reject_reason', fields.CharField(default='', max_length=200)),
                ('refund_id', fields.CharField(null=True, max_length=64)),
                ('succeeded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'orders_refund', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reservation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.ForeignKeyField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='reservations', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='reservations', on_delete=OnDelete.RESTRICT)),
                ('quantity', fields.IntField()),
                ('state', fields.CharEnumField(default=ReservationState.HELD, description='HELD: HELD\nCOMMITTED: COMMITTED\nRELEASED: RELEASED', enum_type=ReservationState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'inventory_reservation', 'app': 'models', 'unique_together': (('order', 'sku'),), 'pk_attr': 'id', 'table_description': 'Units of one SKU held for one order: HELD counts in Sku.reserved, COMMITTED left stock, RELEASED came back.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Sku',
            name='stock',
            field=fields.IntField(default=0, description='units on hand, paid orders already taken out'),
        ),
        ops.AddField(
            model_name='Sku',
            name='reserved',
            field=fields.IntField(default=0, description='units held by unpaid orders: available = stock − reserved'),
        ),
    ]

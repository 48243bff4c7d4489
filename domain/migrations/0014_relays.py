from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0013_group_buy')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PickupCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.OneToOneField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='pickup_code', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(db_index=True, max_length=6)),
                ('waiting_code', fields.CharField(null=True, unique=True, max_length=6)),
                ('picked_up_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('picked_up_by', fields.CharField(default='', description='staff:<id> who handed the order over', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'orders_pickup_code', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The 6-digit code a paid order delivered to a pickup point is handed over against (核销).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Relay',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=64)),
                ('story', fields.TextField(default='', description="the merchant's words above the list", unique=False)),
                ('story_images', fields.JSONField(default=list, description='up to 9 image URLs', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deadline', fields.DatetimeField(description='nobody joins from this moment on', auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, description='set when staff closed it early (relayClose)', auto_now=False, auto_now_add=False)),
                ('pickup_point_ids', fields.JSONField(default=list, description='the pickup points an entry may be collected at', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('address_delivery', fields.BooleanField(default=False, description='whether an entry may be sent to an address')),
                ('min_units', fields.IntField(default=1, description='units one entry takes at least, all items')),
                ('max_units', fields.IntField(default=99, description='units one entry takes at most, all items')),
                ('joins', fields.IntField(default=0, description='orders placed through the relay (items are fixed from the first)')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'relay_relay', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RelaySequence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('relay', fields.OneToOneField('models.Relay', source_field='relay_id', db_constraint=True, to_field='id', related_name='sequence', on_delete=OnDelete.CASCADE)),
                ('last_seq', fields.IntField(default=0, description='the public number the last paid entry got')),
            ],
            options={'table': 'relay_sequence', 'app': 'models', 'pk_attr': 'id', 'table_description': "A relay's public numbering, in a row of its own (made by the first payment): payments raise it one at a time"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RelayEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('relay', fields.ForeignKeyField('models.Relay', source_field='relay_id', db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('order', fields.OneToOneField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='relay_entry', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='relay_entries', on_delete=OnDelete.RESTRICT)),
                ('units', fields.IntField(description='units of all its lines')),
                ('seq', fields.IntField(null=True, description='its public number, given when paid and never given again')),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'relay_entry', 'app': 'models', 'unique_together': (('relay', 'seq'),), 'pk_attr': 'id', 'table_description': 'One join: an order of kind RELAY. It is on the public list, with its number, once the order is paid.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RelayItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('relay', fields.ForeignKeyField('models.Relay', source_field='relay_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='relay_items', on_delete=OnDelete.RESTRICT)),
                ('price', fields.IntField(description="fen, at or below the SKU's list price")),
                ('cap', fields.IntField(null=True, description="units the relay sells at most (null: the SKU's stock decides)")),
                ('sold', fields.IntField(default=0, description='units taken by entries (an entry cancelled unpaid gives them back)')),
            ],
            options={'table': 'relay_item', 'app': 'models', 'unique_together': (('relay', 'sku'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]

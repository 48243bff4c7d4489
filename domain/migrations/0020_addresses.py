"""The address book: saved delivery addresses."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0019_wallet')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SavedAddress',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='addresses', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=32)),
                ('phone', fields.CharField(max_length=20)),
                ('province', fields.CharField(max_length=32)),
                ('city', fields.CharField(max_length=32)),
                ('district', fields.CharField(max_length=32)),
                ('detail', fields.CharField(max_length=200)),
                ('is_default', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'addresses_saved', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'is_default'])], 'pk_attr': 'id', 'table_description': 'An order never points here: it keeps a snapshot, so editing or deleting an address changes no order.'},
            bases=['Model'],
        ),
    ]

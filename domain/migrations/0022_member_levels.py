"""Member levels: name, the amount paid that reaches it, and its discount in basis points."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0021_wallet_payments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberLevel',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=20)),
                ('threshold', fields.IntField(unique=True, description='fen paid in all (see domain.members.standing) to reach it')),
                ('discount_bp', fields.IntField(description='basis points off, 500 = 5 percent off (95折), 0 = no discount')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'member_level', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A level: reached at `threshold` fen paid in all, it takes `discount_bp` basis points off eligible prices.'},
            bases=['Model'],
        ),
    ]

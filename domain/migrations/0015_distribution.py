"""Distribution (分销): settings (versioned), distributors, share links and their opens, bindings and their history."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from domain.distribution.models import DistributorStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0014_relays')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BindingChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer_id', fields.IntField(db_index=True)),
                ('distributor_id', fields.IntField()),
                ('previous_distributor_id', fields.IntField(null=True)),
                ('link_id', fields.IntField(null=True)),
                ('code', fields.CharField(max_length=32)),
                ('bound_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'distribution_binding_change', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The binding history: every time a customer was bound or rebound, to whom and through which code.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DistributionSettings',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.IntField(default=0)),
                ('rules', fields.JSONField(description='the rules of this version, see domain.distribution.settings.Rules', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'distribution_settings', 'app': 'models', 'pk_attr': 'id', 'table_description': "The shop's distribution rules: one row, its `version` raised on every change. Each version's rules are kept"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DistributionSettingsVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.IntField(unique=True)),
                ('rules', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'distribution_settings_version', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Distributor',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.OneToOneField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='distributor', on_delete=OnDelete.RESTRICT)),
                ('status', fields.CharEnumField(default=DistributorStatus.PENDING, description='PENDING: PENDING\nAPPROVED: APPROVED\nREJECTED: REJECTED', enum_type=DistributorStatus, max_length=16)),
                ('enabled', fields.BooleanField(default=True, description='staff may disable an approved distributor')),
                ('level', fields.IntField(default=1, description='a distributor level of the settings (its own rates)')),
                ('real_name', fields.CharField(max_length=32)),
                ('phone', fields.CharField(max_length=20)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('reject_reason', fields.CharField(default='', max_length=500)),
                ('applied_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'distribution_distributor', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A customer who applied to sell for the shop. Only an APPROVED, enabled one earns and binds customers.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Binding',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.OneToOneField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='binding', on_delete=OnDelete.RESTRICT)),
                ('distributor', fields.ForeignKeyField('models.Distributor', source_field='distributor_id', db_constraint=True, to_field='id', related_name='bindings', on_delete=OnDelete.RESTRICT)),
                ('link_id', fields.IntField(null=True, description='the share link that bound')),
                ('bound_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'distribution_binding', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Which distributor a customer is bound to now (at most one).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ShareLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='share_links', on_delete=OnDelete.RESTRICT)),
                ('target_kind', fields.CharField(description='Product, GroupBuy, Relay or Shop', max_length=16)),
                ('target_id', fields.IntField(description='0 for the shop')),
                ('opens', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'distribution_share_link', 'app': 'models', 'unique_together': (('customer', 'target_kind', 'target_id'),), 'pk_attr': 'id', 'table_description': "A customer's share of a target (a product, a group, a relay, or the shop itself). The code is random and"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ShareOpen',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('link', fields.ForeignKeyField('models.ShareLink', source_field='link_id', db_constraint=True, to_field='id', related_name='open_events', on_delete=OnDelete.CASCADE)),
                ('customer_id', fields.IntField(null=True, description='null when opened without logging in')),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'distribution_share_open', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ShareCodeImage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('link', fields.OneToOneField('models.ShareLink', source_field='link_id', db_constraint=True, to_field='id', related_name='image', on_delete=OnDelete.CASCADE)),
                ('png', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'distribution_share_code_image', 'app': 'models', 'pk_attr': 'id', 'table_description': "A share's mini-program code image, fetched from WeChat once (codes never expire) and kept here."},
            bases=['Model'],
        ),
    ]

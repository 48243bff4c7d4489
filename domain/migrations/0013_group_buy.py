from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from enum import StrEnum


# Copies of domain.group_buy.models' enums as they were when this migration was written: the migrations import no
# selling mode (tests/test_layers.py), and a migration must not change when the models do.
class GroupStatus(StrEnum):
    OPENING = "OPENING"
    FORMING = "FORMING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABANDONED = "ABANDONED"


class SeatState(StrEnum):
    HELD = "HELD"
    PAID = "PAID"
    RELEASED = "RELEASED"

class Migration(migrations.Migration):
    dependencies = [('models', '0012_price_sources')]

    initial = False

    operations = [
        ops.CreateModel(
            name='GroupBuyCampaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=64)),
                ('product', fields.ForeignKeyField('models.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='group_buy_campaigns', on_delete=OnDelete.RESTRICT)),
                ('starts_at', fields.DatetimeField(db_index=True, description='UTC, inclusive', auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(db_index=True, description='UTC, exclusive', auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, description='set when staff end it early', auto_now=False, auto_now_add=False)),
                ('group_size', fields.IntField(description="paid seats a group needs to succeed, the leader's included")),
                ('group_hours', fields.IntField(description='how long a group stays open after its leader paid')),
                ('per_customer_limit', fields.IntField(description='units one customer may buy over the campaign, unpaid counted')),
                ('per_order_max', fields.IntField(description='units one order may take')),
                ('virtual_fill_percent', fields.IntField(null=True, description='a group expiring with at least this share of its seats paid succeeds (null: never)')),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'group_buy_campaign', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A group-buy campaign: the SKUs of one product at a group price for groups of `group_size` paid customers.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GroupBuyGroup',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.GroupBuyCampaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='groups', on_delete=OnDelete.RESTRICT)),
                ('leader', fields.ForeignKeyField('models.Customer', source_field='leader_id', db_constraint=True, to_field='id', related_name='led_group_buys', on_delete=OnDelete.RESTRICT)),
                ('share_code', fields.CharField(unique=True, description="what groupBuyJoin's shareCode names", max_length=32)),
                ('status', fields.CharEnumField(default=GroupStatus.OPENING, db_index=True, description='OPENING: OPENING\nFORMING: FORMING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED\nABANDONED: ABANDONED', enum_type=GroupStatus, max_length=16)),
                ('required_size', fields.IntField(description="the campaign's group size when the group was started")),
                ('paid_count', fields.IntField(default=0, description='seats paid so far')),
                ('virtual_seats', fields.IntField(default=0, description='seats shown as filled by the virtual fill (never paid)')),
                ('opened_at', fields.DatetimeField(null=True, description='when the leader paid', auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, db_index=True, description='set when it opens', auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, description='when it succeeded, failed or was abandoned', auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'group_buy_group', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One group of a campaign, opened by its leader. Its status changes only through `domain.group_buy.states`.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GroupBuyItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.GroupBuyCampaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('sku', fields.ForeignKeyField('models.Sku', source_field='sku_id', db_constraint=True, to_field='id', related_name='group_buy_items', on_delete=OnDelete.RESTRICT)),
                ('group_price', fields.IntField(description='fen per unit for a member')),
                ('leader_price', fields.IntField(null=True, description='fen per unit for the leader (null: the group price)')),
            ],
            options={'table': 'group_buy_item', 'app': 'models', 'unique_together': (('campaign', 'sku'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='GroupBuySeat',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('group', fields.ForeignKeyField('models.GroupBuyGroup', source_field='group_id', db_constraint=True, to_field='id', related_name='seats', on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='group_buy_seats', on_delete=OnDelete.RESTRICT)),
                ('order', fields.OneToOneField('models.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='group_buy_seat', on_delete=OnDelete.RESTRICT)),
                ('campaign_id', fields.IntField(db_index=True, description='the campaign (the per-customer limit counts by it)')),
                ('sku_id', fields.IntField()),
                ('quantity', fields.IntField()),
                ('leader', fields.BooleanField(default=False)),
                ('state', fields.CharEnumField(default=SeatState.HELD, description='HELD: HELD\nPAID: PAID\nRELEASED: RELEASED', enum_type=SeatState, max_length=16)),
                ('live_customer_id', fields.IntField(null=True, description='customer_id while HELD or PAID, else null')),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'group_buy_seat', 'app': 'models', 'unique_together': (('group', 'live_customer_id'),), 'pk_attr': 'id', 'table_description': "A customer's place in a group, held by one order. A customer holds at most one live seat per group: the"},
            bases=['Model'],
        ),
    ]

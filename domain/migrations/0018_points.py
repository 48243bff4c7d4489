"""Points: the points rules, what each completed order awarded, daily sign-ins."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0016_commissions')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PointsAward',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order_id', fields.IntField(unique=True)),
                ('customer_id', fields.IntField(db_index=True)),
                ('base', fields.IntField(description='fen the customer had paid, net of refunds, when the order completed')),
                ('points', fields.IntField(description='points awarded')),
                ('taken_back', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'points_award', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The points a completed order awarded, on what base: a refund later takes back its share, once per refund.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointsSettings',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('rules', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'points_settings', 'app': 'models', 'pk_attr': 'id', 'table_description': "The shop's points rules: one row (see domain.points.rules.Rules)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SignIn',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer_id', fields.IntField()),
                ('day', fields.DateField(description="the store's calendar day (its time zone)")),
                ('streak', fields.IntField(description='consecutive days signed in, this one included')),
                ('points', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'points_sign_in', 'app': 'models', 'unique_together': (('customer_id', 'day'),), 'pk_attr': 'id', 'table_description': "One daily sign-in (签到): one per customer per day of the store's calendar."},
            bases=['Model'],
        ),
    ]

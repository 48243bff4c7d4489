from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_refund_failures')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Customer',
            name='blocked',
            field=fields.BooleanField(default=False, description='blocked by staff: tokens refused, logins refused'),
        ),
        ops.AddField(
            model_name='Staff',
            name='token_version',
            field=fields.IntField(default=0, description='raised on deactivation or a role change: older tokens stop'),
        ),
    ]

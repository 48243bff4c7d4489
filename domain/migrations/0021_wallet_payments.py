"""Paying with the wallet: a refund's wallet parts (the rest goes back through WeChat Pay), and a recharge refunded
by staff, once."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0020_addresses")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Refund",
            name="wallet_principal",
            field=fields.IntField(default=0, description="of it, fen back to the wallet's principal"),
        ),
        ops.AddField(
            model_name="Refund",
            name="wallet_bonus",
            field=fields.IntField(default=0, description="of it, fen back to the wallet's bonus"),
        ),
        ops.AddField(
            model_name="Recharge",
            name="refunded_at",
            field=fields.DatetimeField(null=True, description="when staff refunded it (rechargeRefund), once"),
        ),
    ]

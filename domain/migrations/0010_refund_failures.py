"""Failed refunds stay visible and are retried: why the last attempt failed, how often, and when the next one runs.
Notifications whose handling keeps crashing are counted, so one bad notification is not retried for ever."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0009_order_indexes_everywhere")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Refund",
            name="failure_code",
            field=fields.CharField(max_length=32, default="", description="why the last attempt failed"),
        ),
        ops.AddField(model_name="Refund", name="failure_message", field=fields.CharField(max_length=200, default="")),
        ops.AddField(
            model_name="Refund",
            name="failures",
            field=fields.IntField(default=0, description="failed attempts so far"),
        ),
        ops.AddField(
            model_name="Refund",
            name="next_attempt_at",
            field=fields.DatetimeField(null=True, description="when it is sent again by itself (null: by staff only)"),
        ),
        ops.AddField(
            model_name="PaymentNotification",
            name="failures",
            field=fields.IntField(default=0, description="times handling it crashed before it was handled"),
        ),
    ]

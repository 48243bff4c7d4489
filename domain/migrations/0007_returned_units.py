from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.inventory.models import ReservationState
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_order_indexes')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='Reservation',
            options={'table': 'inventory_reservation', 'app': 'models', 'unique_together': (('order', 'sku'),), 'pk_attr': 'id', 'table_description': 'Units of one SKU held for one order: HELD counts in Sku.reserved, COMMITTED left stock, RELEASED came back,'},
        ),
        ops.AlterField(
            model_name='Reservation',
            name='state',
            field=fields.CharEnumField(default=ReservationState.HELD, description='HELD: HELD\nCOMMITTED: COMMITTED\nRELEASED: RELEASED\nRETURNED: RETURNED', enum_type=ReservationState, max_length=16),
        ),
    ]

# ScheduledCall and CallSeries move to the scheduling app (calls/scheduling/), keeping their
# tables, rows, indexes and constraints: calls forgets them here, in the migration state only,
# and scheduling's 0001_initial takes them over, in the state only too.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0005_requested_call_base'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='ScheduledCall'),
                migrations.DeleteModel(name='CallSeries'),
            ],
            database_operations=[],
        ),
    ]

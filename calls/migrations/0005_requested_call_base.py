# Call takes its request fields from the abstract RequestedCall, which it shares with bookings:
# the reverse names move to Meta.default_related_name and one help text changes. Nothing here
# changes the database (related names and help texts live in the migration state only).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0004_call_live_stream_sid'),
        ('personas', '0004_system_scenarios'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='call',
            options={'default_related_name': 'calls', 'ordering': ['-created_at']},
        ),
        migrations.AlterField(
            model_name='call',
            name='persona',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='personas.persona'),
        ),
        migrations.AlterField(
            model_name='call',
            name='persona_name',
            field=models.CharField(help_text="The persona's name when the call was requested.", max_length=50),
        ),
        migrations.AlterField(
            model_name='call',
            name='scenario_template',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='personas.scenariotemplate'),
        ),
        migrations.AlterField(
            model_name='call',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL),
        ),
    ]

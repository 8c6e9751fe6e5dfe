# Billing now records what took a hold (PaymentAuthorization.reserved_for, billing 0003) instead
# of calls asking scheduling whether a booking holds it: every hold a booking holds today is
# marked reserved for it.

from django.db import migrations


def mark_booked_holds(apps, schema_editor) -> None:
    PaymentAuthorization = apps.get_model("billing", "PaymentAuthorization")
    ScheduledCall = apps.get_model("scheduling", "ScheduledCall")
    booked = ScheduledCall.objects.filter(authorization__isnull=False).values("authorization_id")
    PaymentAuthorization.objects.filter(pk__in=booked).update(reserved_for="booking")


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0003_authorization_reserved_for'),
        ('scheduling', '0002_content_types_follow_the_models'),
    ]

    # Backwards, billing 0003 drops the field with the marks.
    operations = [migrations.RunPython(mark_booked_holds, migrations.RunPython.noop)]

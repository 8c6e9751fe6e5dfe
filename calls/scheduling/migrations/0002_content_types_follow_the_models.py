# The admin's permissions and log entries point at content types: the two moved models keep
# theirs, relabelled from calls to scheduling (a fresh database has none yet to relabel).

from django.db import migrations

MOVED = ("scheduledcall", "callseries")


def relabel(apps, schema_editor, *, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def forwards(apps, schema_editor) -> None:
    relabel(apps, schema_editor, old="calls", new="scheduling")


def backwards(apps, schema_editor) -> None:
    relabel(apps, schema_editor, old="scheduling", new="calls")


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('scheduling', '0001_initial'),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

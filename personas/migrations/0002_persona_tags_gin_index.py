"""A GIN index on the tags of personas, on PostgreSQL only.

Tag filters there use JSONB containment (`tags @> '["calm"]'`), which `jsonb_path_ops`
serves. SQLite has no such index; its tag filter reads the small JSON arrays directly.
The index is not part of the model state, so `makemigrations` never sees a difference.
"""

from django.db import migrations

INDEX = "persona_tags_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON personas_persona USING gin (tags jsonb_path_ops)")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("personas", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]

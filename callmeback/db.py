"""Which rule a failed write broke, from the database's own report rather than a search
through the error's text."""

import re

from django.db import IntegrityError, models

# SQLite names no constraint in its exceptions; its message is all it reports.
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?:index '(?P<index>[^']+)'|(?P<columns>[\w.]+)$)")


def violated_constraint(error: IntegrityError) -> str:
    """The name of the constraint `error` broke: PostgreSQL's report (psycopg's
    `diag.constraint_name`); on SQLite the unique index's name, or `table.column` for a
    unique column. "" when the database does not say."""
    diagnostics = getattr(error.__cause__, "diag", None)
    if diagnostics is not None and diagnostics.constraint_name:
        return diagnostics.constraint_name
    match = _SQLITE_UNIQUE.search(str(error))
    return (match["index"] or match["columns"]) if match else ""


def unique_field_constraint_names(model: type[models.Model], field_name: str) -> set[str]:
    """The names a `unique=True` column's constraint is reported under: PostgreSQL names it
    `<table>_<column>_key`; SQLite reports `<table>.<column>`."""
    table = model._meta.db_table
    column = model._meta.get_field(field_name).column
    return {f"{table}_{column}_key", f"{table}.{column}"}


def declared_constraint_names(model: type[models.Model]) -> set[str]:
    """The names of the constraints the model declares in `Meta.constraints`."""
    return {constraint.name for constraint in model._meta.constraints}

"""An index of the present rows by track (`warehouse.schema.TRACK_PRESENT_INDEX`).

The fact table is unmanaged, so the index is plain DDL (the same on SQLite and
PostgreSQL: a partial index). What it serves and what it costs a load:
docs/benchmarks.md (bench_across, bench_load).
"""

from django.db import migrations

import warehouse.schema


def create_index(apps, schema_editor):
    for statement in warehouse.schema.create_track_present_index_sql():
        schema_editor.execute(statement)


def drop_index(apps, schema_editor):
    for statement in warehouse.schema.drop_track_present_index_sql():
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0009_span_row_relation")]

    operations = [migrations.RunPython(create_index, drop_index)]

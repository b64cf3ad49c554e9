"""playlist_tracks gains the record label and audio features Exportify files carry
(nullable columns: see warehouse.schema.FILE_DETAIL_COLUMNS)."""

from django.db import migrations

import warehouse.schema


def add_columns(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    # The admin view selects *: SQLite's is re-expanded on use, PostgreSQL's is
    # fixed at creation, so it is made again over the wider table.
    for statement in warehouse.schema.drop_admin_view_sql():
        schema_editor.execute(statement)
    for statement in warehouse.schema.add_file_detail_columns_sql(vendor):
        schema_editor.execute(statement)
    for statement in warehouse.schema.create_admin_view_sql():
        schema_editor.execute(statement)


def drop_columns(apps, schema_editor):
    for statement in warehouse.schema.drop_admin_view_sql():
        schema_editor.execute(statement)
    for statement in warehouse.schema.drop_file_detail_columns_sql():
        schema_editor.execute(statement)
    for statement in warehouse.schema.create_admin_view_sql():
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0007_track_matches"),
    ]

    operations = [
        migrations.RunPython(add_columns, drop_columns),
    ]

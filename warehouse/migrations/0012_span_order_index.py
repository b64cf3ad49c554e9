"""A covering index of each playlist's spans in order, on PostgreSQL only.

A diff reads every span covering either of two versions in `sort_key` order
(`warehouse.queries.playlist_changes`): with this index that is an index-only
scan, with no sort and no table pages (docs/warehouse.md, "Why the reads are
fast"; numbers in docs/benchmarks.md, section 6). SQLite has no INCLUDE: a plain
`(playlist_id, sort_key)` index there would make its planner trade its sort for
a table lookup per span, so SQLite gets none. Plain DDL, not in the model's
state, for that reason: the index exists on one database only.
"""

from django.db import migrations

INDEX = "playlist_track_spans_order"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON playlist_track_spans (playlist_id, sort_key) "
        "INCLUDE (track_id, valid_from, valid_to, occurrences)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0011_across_playlist_loads")]

    operations = [migrations.RunPython(create_index, drop_index)]

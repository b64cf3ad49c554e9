"""A covering index of each playlist's spans in order, on PostgreSQL only.

A diff reads every span covering either of two versions in `sort_key` order
(`warehouse.queries.playlist_changes`): with this index that is an index-only
scan, with no sort and no table pages (docs/warehouse.md, "Why the reads are
fast"; numbers in docs/benchmarks.md, section 6). SQLite has no INCLUDE: a plain
`(playlist_id, sort_key)` index there would make its planner trade its sort for
a table lookup per span, so SQLite gets none. Plain DDL, not in the model's
state, for that reason: the index exists on one database only.

Built CONCURRENTLY (outside a transaction: `atomic = False`), so that a warehouse
already holding millions of spans keeps loading while it builds (a plain CREATE
INDEX locks the spans table against writes, ~20 s per 6 M spans here). A build
that failed half-way leaves an invalid index behind: it is dropped and built again.
"""

from django.db import migrations

from warehouse.schema import build_index_concurrently

INDEX = "playlist_track_spans_order"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        build_index_concurrently(
            cursor,
            INDEX,
            f"CREATE INDEX {INDEX} ON playlist_track_spans (playlist_id, sort_key) "
            "INCLUDE (track_id, valid_from, valid_to, occurrences)",
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("warehouse", "0011_across_playlist_loads")]

    operations = [migrations.RunPython(create_index, drop_index)]

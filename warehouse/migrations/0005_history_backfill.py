"""Version 1 of every playlist from today's rows, and order keys for positions.

Set-based statements only (no row goes through Python), so it stays fast on
millions of rows: one rewrite of `position`, one INSERT … SELECT per table.
"""

from django.db import migrations

import warehouse.schema

GAP = warehouse.schema.ORDER_GAP


def backfill(apps, schema_editor):
    execute = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        # The admin view selects every column: PostgreSQL refuses to retype one under it.
        for statement in warehouse.schema.drop_admin_view_sql():
            execute(statement)
        execute(
            "ALTER TABLE playlist_tracks ALTER COLUMN position TYPE bigint "
            f"USING (position::bigint + 1) * {GAP}"
        )
        for statement in warehouse.schema.create_admin_view_sql():
            execute(statement)
    else:
        execute(f"UPDATE playlist_tracks SET position = (position + 1) * {GAP}")
    execute(
        "INSERT INTO playlist_versions (playlist_id, version, snapshot_id, seen_at, source, name, "
        "description, image_url, tracks, duration_ms, added, removed, moved) "
        "SELECT p.playlist_id, 1, p.snapshot_id, "
        "COALESCE(p.snapshot_seen_at, p.last_ingested_at, p.created_at), p.source, p.name, "
        "p.description, p.image_url, COALESCE(t.tracks, 0), COALESCE(t.duration_ms, 0), "
        "COALESCE(t.tracks, 0), 0, 0 "
        "FROM warehouse_playlists p LEFT JOIN ("
        "SELECT playlist_id, COUNT(*) AS tracks, SUM(track_duration_ms) AS duration_ms "
        "FROM playlist_tracks WHERE removed_at IS NULL GROUP BY playlist_id"
        ") t ON t.playlist_id = p.playlist_id"
    )
    execute(
        "INSERT INTO playlist_track_spans "
        "(playlist_id, track_id, valid_from, valid_to, sort_key, occurrences) "
        "SELECT playlist_id, track_id, 1, NULL, position, occurrences "
        "FROM playlist_tracks WHERE removed_at IS NULL"
    )


def unbackfill(apps, schema_editor):
    execute = schema_editor.execute
    execute("DELETE FROM playlist_track_spans")
    execute("DELETE FROM playlist_versions")
    # Back to 0-based ranks among each playlist's rows, in key order.
    execute(
        "UPDATE playlist_tracks SET position = (SELECT COUNT(*) FROM playlist_tracks o "
        "WHERE o.playlist_id = playlist_tracks.playlist_id AND o.position < playlist_tracks.position)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0004_history"),
    ]

    operations = [migrations.RunPython(backfill, unbackfill)]

"""The spans' relation to their fact row (`PlaylistTrackSpan.row`): no column, so
no schema change; state only, because Django's SQLite editor cannot remove a
ForeignObject (it has no `db_constraint`) when this migration is reversed."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0008_file_detail_columns"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="playlisttrackspan",
                    name="row",
                    field=models.ForeignObject(
                        from_fields=["playlist_id", "track_id"],
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="spans",
                        to="warehouse.playlisttrack",
                        to_fields=["playlist_id", "track_id"],
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]

"""Playlist.loads: how many times the loader has loaded a playlist, the stamp the
pages across playlists key their cache by (docs/warehouse.md, "Caching the
pages across playlists"). Existing playlists start at 0; their next load makes 1."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0010_playlist_tracks_track_present_idx")]

    operations = [
        migrations.AddField(
            model_name="playlist",
            name="loads",
            field=models.PositiveIntegerField(default=0),
        ),
    ]

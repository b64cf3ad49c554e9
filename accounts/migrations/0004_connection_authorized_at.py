"""When each connection was authorized: Spotify ends its refresh token six months later.

Existing connections get the time they were first made (`connected_at`): a
reconnect since then may have renewed the token, so this errs towards warning
early, never late.
"""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def authorized_when_connected(apps, schema_editor):
    SpotifyConnection = apps.get_model("accounts", "SpotifyConnection")
    SpotifyConnection.objects.update(authorized_at=F("connected_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_playlist_access"),
    ]

    operations = [
        migrations.AddField(
            model_name="spotifyconnection",
            name="authorized_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(authorized_when_connected, migrations.RunPython.noop),
    ]

"""UserPlaylist moves from dashboard to accounts; its table stays where it is."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_spotify_connection"),
        ("dashboard", "0001_user_playlists"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="UserPlaylist",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("playlist_id", models.CharField(max_length=100)),
                        ("added_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="playlists",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "dashboard_userplaylist",
                        "ordering": ["-added_at"],
                        "indexes": [
                            models.Index(fields=["playlist_id"], name="userplaylist_playlist_idx")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("user", "playlist_id"), name="one_entry_per_user"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

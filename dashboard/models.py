"""Which user added which playlist.

A playlist is stored once in the warehouse however many people add it; this is
the per-user list that decides what each person sees (and nothing else does).
"""

from django.conf import settings
from django.db import models


class UserPlaylist(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists"
    )
    # A warehouse playlist id (warehouse.Playlist.playlist_id). Not a foreign
    # key: the user adds the playlist before its first ingest creates that row.
    playlist_id = models.CharField(max_length=100)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "playlist_id"], name="one_entry_per_user"),
        ]
        indexes = [models.Index(fields=["playlist_id"], name="userplaylist_playlist_idx")]

    def __str__(self):
        return f"{self.playlist_id} added by {self.user}"

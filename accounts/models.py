"""A person's link to their Spotify account ("Connect Spotify").

Since 2026 a Development Mode app reads the items only of playlists that the
signed-in Spotify user owns or collaborates on, so ingestion needs each
person's own token. Tokens are encrypted at rest (accounts.crypto).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.crypto import EncryptedTextField
from accounts.token_lifetime import reconnect_due, refresh_token_expiry


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    # Spotify refused the refresh token (invalid_grant): it reached the end of
    # its six months, the person revoked the app's access, or the token can no
    # longer be decrypted. Only a new authorization helps.
    RECONNECT = "reconnect", "Reconnect Spotify"


class SpotifyConnection(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="spotify_connection"
    )
    # Spotify's stable id for the account (`account_id` of /v1/me): one site
    # user per Spotify account.
    account_id = models.CharField(max_length=200, unique=True)
    # The user id Spotify puts in playlists' `owner.id`, to tell own playlists.
    spotify_user_id = models.CharField(max_length=200)
    display_name = models.CharField(max_length=300, blank=True, default="")
    scope = models.TextField(blank=True, default="")
    access_token = EncryptedTextField(blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ConnectionStatus, default=ConnectionStatus.CONNECTED
    )
    # Why the connection needs attention, written for the person.
    status_message = models.TextField(blank=True, default="")
    connected_at = models.DateTimeField(auto_now_add=True)
    # When the person last approved the app on Spotify's page (Connect or
    # Reconnect Spotify). Spotify ends the refresh token a fixed time after
    # this (SPOTIFY_REFRESH_TOKEN_LIFETIME_DAYS); refreshing does not move it.
    authorized_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status"], name="spotifyconnection_status_idx")]

    def __str__(self):
        return f"{self.user} ↔ Spotify {self.spotify_user_id} ({self.status})"

    @property
    def is_live(self):
        return self.status == ConnectionStatus.CONNECTED and bool(self.refresh_token)

    @property
    def refresh_token_expires_at(self):
        """When Spotify stops accepting this connection's refresh token."""
        return refresh_token_expiry(self.authorized_at)

    @property
    def reconnect_by(self):
        """The date to reconnect by, once it is near (see reconnect_due); else None."""
        if self.status != ConnectionStatus.CONNECTED:
            return None  # already dead: the page says "Reconnect Spotify" instead
        return reconnect_due(self.authorized_at)

    @property
    def refresh_token_expired(self):
        return timezone.now() >= self.refresh_token_expires_at

    @property
    def label(self):
        """How messages name the Spotify account."""
        if self.display_name and self.display_name != self.spotify_user_id:
            return f"{self.display_name} ({self.spotify_user_id})"
        return self.spotify_user_id


# --- the per-user list of playlists, and who may see what -----------------------------
class Access(models.TextChoices):
    """Whether a person may see a playlist's warehouse data (see accounts.library)."""

    # On the list, not loaded by this person yet: no data shown.
    WAITING = "waiting", "Waiting for its first load"
    # Loaded by this person: a run with their own Spotify token read its items,
    # or they imported the file.
    GRANTED = "granted", "Loaded by you"
    # Spotify refused this person's token (404 or 403): no data shown, the
    # reason is kept.
    REFUSED = "refused", "Not readable by you"


class UserPlaylistQuerySet(models.QuerySet):
    def visible(self):
        """The entries whose playlist data their user may see."""
        return self.filter(access=Access.GRANTED)


class UserPlaylist(models.Model):
    """One playlist on one person's list.

    A playlist is stored once in the warehouse however many people add it; an
    entry says that this person added it, and whether they may see its data.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists"
    )
    # A warehouse playlist id (warehouse.Playlist.playlist_id). Not a foreign
    # key: the user adds the playlist before its first ingest creates that row.
    playlist_id = models.CharField(max_length=100)
    added_at = models.DateTimeField(auto_now_add=True)
    access = models.CharField(max_length=10, choices=Access, default=Access.WAITING)
    # Why the access is what it is, for people: Spotify's refusal, in words.
    access_reason = models.TextField(blank=True, default="")
    access_changed_at = models.DateTimeField(null=True, blank=True)

    objects = UserPlaylistQuerySet.as_manager()

    class Meta:
        # Created as dashboard.UserPlaylist; moved here without moving its table.
        db_table = "dashboard_userplaylist"
        ordering = ["-added_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "playlist_id"], name="one_entry_per_user"),
        ]
        indexes = [models.Index(fields=["playlist_id"], name="userplaylist_playlist_idx")]

    def __str__(self):
        return f"{self.playlist_id} added by {self.user} ({self.access})"

    @property
    def is_visible(self):
        return self.access == Access.GRANTED

"""Connected Spotify accounts: linking, unlinking, and a client on a person's tokens.

Workflows only; the HTTP to Spotify goes through spotify_client. Which token
reads a run is run policy, decided in ingestion.readers.
"""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ConnectionStatus, SpotifyConnection
from spotify_client import SpotifyAuthError, SpotifyClient, SpotifyError, items_paging


class ConnectionRefused(SpotifyError):
    """Connecting failed for a reason of this site (not of Spotify)."""


# --- OAuth (authorization code with PKCE) -----------------------------------------------
def new_pkce_pair():
    """(code_verifier, code_challenge) for S256, as RFC 7636 describes."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def connection_save(*, user, tokens, profile):
    """Store the tokens of a finished authorization; returns the connection.

    Keyed on Spotify's `account_id`: one Spotify account belongs to one user of
    this site. Raises ConnectionRefused if another user already linked it. The
    authorization is new, so is the refresh token's six-month lifetime.
    """
    account_id = profile.get("account_id") or f"user:{profile['id']}"
    with transaction.atomic():
        taken = (
            SpotifyConnection.objects.select_for_update()
            .filter(account_id=account_id)
            .exclude(user=user)
            .exists()
        )
        if taken:
            raise ConnectionRefused(
                "This Spotify account is already connected to another user of this site. "
                "Disconnect it there first, or connect a different Spotify account."
            )
        connection, _ = SpotifyConnection.objects.update_or_create(
            user=user,
            defaults={
                "account_id": account_id,
                "spotify_user_id": profile["id"],
                "display_name": profile.get("display_name") or "",
                "scope": tokens.get("scope") or "",
                "access_token": tokens["access_token"],
                "refresh_token": tokens["refresh_token"],
                "expires_at": _expiry(tokens.get("expires_in", 3600)),
                "status": ConnectionStatus.CONNECTED,
                "status_message": "",
                "authorized_at": timezone.now(),
            },
        )
    return connection


def _expiry(expires_in):
    return timezone.now() + timezone.timedelta(seconds=int(expires_in))


def connection_disconnect(*, user):
    """Forget the user's tokens. Spotify keeps its grant until the person removes
    the app at spotify.com/account/apps (Spotify offers apps no revoke call)."""
    return SpotifyConnection.objects.filter(user=user).delete()[0] > 0


def spotify_reader(user):
    """The user to name as a run's `spotify_user`: `user` if they connected Spotify."""
    return user if connection_for(user) is not None else None


def can_look_up_tracks(user):
    """Whether enrichment can read Spotify's catalog for `user`: with their
    connection, or with the app's own credentials (a catalog lookup needs no user)."""
    has_app_credentials = bool(settings.SPOTIFY_CLIENT_ID and settings.SPOTIFY_CLIENT_SECRET)
    return has_app_credentials or spotify_reader(user) is not None


def connection_for(user):
    """The user's connection (live or not), or None."""
    if user is None or not user.is_authenticated:
        return None
    return SpotifyConnection.objects.filter(user=user).first()


# --- tokens ------------------------------------------------------------------------------
class TokenStore:
    """Keeps a connection's tokens in step with what Spotify hands out."""

    def __init__(self, connection):
        self.connection = connection

    def save_tokens(self, *, access_token, expires_at, refresh_token=None):
        fields = {
            "access_token": access_token,
            "expires_at": datetime.fromtimestamp(expires_at, tz=UTC),
        }
        if refresh_token:  # rotated by Spotify: the old one may stop working
            fields["refresh_token"] = refresh_token
        for name, value in fields.items():
            setattr(self.connection, name, value)
        self.connection.save(update_fields=[*fields, "updated_at"])

    def revoked_message(self):
        """Why Spotify answered invalid_grant, from the connection's age, and what to do."""
        connection = self.connection
        lifetime = settings.SPOTIFY_REFRESH_TOKEN_LIFETIME_DAYS
        authorized = f"{connection.authorized_at:%Y-%m-%d}"
        ends = f"{connection.refresh_token_expires_at:%Y-%m-%d}"
        if timezone.now() >= connection.refresh_token_expires_at:
            why = (
                f"it expired: Spotify ends every connection {lifetime} days (six months) after "
                f"consent, and this one, authorized on {authorized}, ended on {ends}"
            )
        else:
            why = (
                "the access was revoked at spotify.com/account/apps (or by Spotify): its "
                f"six months, from {authorized}, were to run until {ends}"
            )
        return (
            f"Spotify no longer accepts this site's access to the Spotify account "
            f"{connection.label} (invalid_grant): {why}. Reconnect Spotify on your account's "
            "Spotify page to ingest its playlists again."
        )

    def mark_revoked(self, message):
        SpotifyConnection.objects.filter(pk=self.connection.pk).update(
            status=ConnectionStatus.RECONNECT, status_message=message, updated_at=timezone.now()
        )
        self.connection.status = ConnectionStatus.RECONNECT
        self.connection.status_message = message


def client_for_connection(connection):
    """A SpotifyClient on the connection's tokens; SpotifyAuthError if it is not live."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise SpotifyAuthError(connection.status_message or reconnect_message(connection))
    if not connection.refresh_token:
        # Stored, but no configured key decrypts it (SPOTIFY_TOKEN_KEY changed).
        message = (
            f"The Spotify tokens of {connection.label} can no longer be decrypted "
            "(SPOTIFY_TOKEN_KEY changed?). Reconnect Spotify on your account's Spotify page."
        )
        TokenStore(connection).mark_revoked(message)
        raise SpotifyAuthError(message)
    expires_at = connection.expires_at.timestamp() if connection.expires_at else 0.0
    return SpotifyClient.for_stored_tokens(
        store=TokenStore(connection),
        refresh_token=connection.refresh_token,
        access_token=connection.access_token,
        expires_at=expires_at,
        label=connection.label,
    )


def reconnect_message(connection):
    return (
        f"The connection to the Spotify account {connection.label} needs renewing: "
        "reconnect Spotify on your account's Spotify page."
    )


def client_for_user(user):
    """The client of the user's connection; SpotifyAuthError if there is none or it died."""
    connection = connection_for(user)
    if connection is None:
        raise SpotifyAuthError(
            f"{user.get_username()} has not connected a Spotify account: connect one on the "
            "account's Spotify page (/accounts/spotify/) first."
        )
    return client_for_connection(connection)


# --- "Pick from my Spotify" ---------------------------------------------------------------
NOT_YOURS = (
    "followed, not yours: Spotify lets this app read only playlists you own or collaborate on"
)
EDITORIAL = (
    "Spotify's own editorial or algorithmic playlist: Spotify does not serve these to new "
    "apps; copy its tracks into a playlist of your own"
)


@dataclass(frozen=True)
class PlaylistChoice:
    """One playlist of the person's Spotify library, and whether this app can read it."""

    playlist_id: str
    name: str
    owner_name: str
    image_url: str
    items_total: int | None
    relation: str  # "yours", "collaborative" or "followed"
    reason: str  # why it cannot be read; "" when it can
    in_list: bool

    @property
    def readable(self):
        return not self.reason


def spotify_playlist_choices(*, connection, client, listed_ids=()):
    """The playlists of /v1/me/playlists, marked readable or not (Development Mode rules).

    An owned or collaborative playlist is readable; a followed one is not
    (Extended Quota apps could read public ones, but the app cannot know its
    mode before trying, and new apps never get it).
    """
    listed = set(listed_ids)
    return [
        _choice(playlist, connection.spotify_user_id, listed)
        for playlist in client.my_playlists()
        if playlist.get("id")
    ]


def _choice(playlist, me, listed):
    owner = playlist.get("owner") or {}
    paging = items_paging(playlist) or {}
    images = playlist.get("images") or []
    if owner.get("id") == me:
        relation, reason = "yours", ""
    elif playlist.get("collaborative"):
        relation, reason = "collaborative", ""
    else:
        relation = "followed"
        reason = EDITORIAL if owner.get("id") == "spotify" else NOT_YOURS
    return PlaylistChoice(
        playlist_id=playlist["id"],
        name=playlist.get("name") or playlist["id"],
        owner_name=owner.get("display_name") or owner.get("id") or "",
        image_url=(images[-1].get("url") or "") if images else "",
        items_total=paging.get("total"),
        relation=relation,
        reason=reason,
        in_list=playlist["id"] in listed,
    )

"""The demo account of `make run`: a known login that lists the sandbox's playlists.

Development only (DEBUG): the password is public, printed and shown on the
sign-in page. The demo user is connected to the sandbox's Spotify account
`sandbox-demo` (its pre-issued refresh token, encrypted like any other), so
"Pick from my Spotify" and ingestion work as they do with real Spotify.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.demo_login import DEMO_PASSWORD, DEMO_USERNAME
from accounts.models import ConnectionStatus, SpotifyConnection, UserPlaylist
from devtools.sandbox import (
    COLLAB_PLAYLIST_ID,
    DEMO_PLAYLISTS,
    DEMO_REFRESH_TOKEN,
    DEMO_USER_ID,
    MIXED_PLAYLIST_ID,
    PRE_ISSUED_SCOPE,
)
from devtools.sandbox.catalog import account_id_for


def demo_playlist_ids():
    """The playlists scripts/run.sh ingests, in the same order."""
    return [*DEMO_PLAYLISTS.values(), MIXED_PLAYLIST_ID, COLLAB_PLAYLIST_ID]


@transaction.atomic
def seed_demo_user():
    """Create (or reset) the demo user and list the demo playlists; returns (user, added)."""
    user, _ = get_user_model().objects.get_or_create(
        username=DEMO_USERNAME, defaults={"email": "demo@example.com"}
    )
    # Reset every time, so the printed login always works.
    user.set_password(DEMO_PASSWORD)
    user.is_active = True
    user.save()
    added = 0
    for playlist_id in demo_playlist_ids():
        _, created = UserPlaylist.objects.get_or_create(user=user, playlist_id=playlist_id)
        added += created
    connect_demo_user(user)
    return user, added


def connect_demo_user(user):
    """Link the demo user to the sandbox's `sandbox-demo` Spotify account."""
    account_id = account_id_for(DEMO_USER_ID)
    # Someone may have connected sandbox-demo by hand: the demo login gets it back.
    SpotifyConnection.objects.filter(account_id=account_id).exclude(user=user).delete()
    connection, _ = SpotifyConnection.objects.update_or_create(
        user=user,
        defaults={
            "account_id": account_id,
            "spotify_user_id": DEMO_USER_ID,
            "display_name": "Demo Listener",
            "scope": PRE_ISSUED_SCOPE,
            "refresh_token": DEMO_REFRESH_TOKEN,
            "access_token": "",
            "expires_at": None,
            "status": ConnectionStatus.CONNECTED,
            "status_message": "",
        },
    )
    return connection

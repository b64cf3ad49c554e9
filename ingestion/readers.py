"""Which Spotify token reads a run: run policy, decided here in one place.

- a run that names a user (`parameters["spotify_user"]`) uses that user's
  connection, and fails with "reconnect" if it is not live;
- a run from the web without one uses an app token (never the operator's
  SPOTIFY_REFRESH_TOKEN: a person must not read through someone else's account);
- a scheduled run without one (or whose one died) uses the live connection of
  a user who added the playlist, the owner's first;
- otherwise (the shell) SPOTIFY_REFRESH_TOKEN, else an app token.
"""

from accounts.connections import client_for_connection
from accounts.models import ConnectionStatus, SpotifyConnection, UserPlaylist
from ingestion.models import Trigger
from spotify_client import SpotifyAuthError, SpotifyClient
from warehouse.models import Playlist


def client_for_run(run):
    """The client a run ingests with (see the module docstring for the order)."""
    user_pk = (run.parameters or {}).get("spotify_user")
    if user_pk is not None:
        connection = SpotifyConnection.objects.filter(user_id=user_pk).first()
        if connection is None:
            raise SpotifyAuthError(
                "The Spotify account this run was to use was disconnected: connect Spotify "
                "again and try again."
            )
        if run.trigger == Trigger.SCHEDULE and not connection.is_live:
            return _client_for_unattended(run.playlist_id)
        return client_for_connection(connection)
    if run.trigger in (Trigger.WEB, Trigger.RETRY):
        return SpotifyClient.for_app()
    if run.trigger == Trigger.SCHEDULE:
        return _client_for_unattended(run.playlist_id)
    return SpotifyClient.from_settings()  # the shell: SPOTIFY_REFRESH_TOKEN, else the app


def _client_for_unattended(playlist_id):
    connection = connection_for_playlist(playlist_id)
    if connection is not None:
        return client_for_connection(connection)
    return SpotifyClient.from_settings()


# --- which connection reads a tracked playlist -----------------------------------------
def connection_for_playlist(playlist_id):
    """Among users who added the playlist, a live connection: the owner's if any."""
    return connections_for_playlists([playlist_id]).get(playlist_id)


def connections_for_playlists(playlist_ids):
    """playlist id → the live connection to read it with (two queries for any number).

    Prefers the connection of the playlist's owner (known once it was loaded),
    else the earliest entry's: in Development Mode only owners and collaborators
    can read the items, and only the owner is sure to stay one.
    """
    owners = dict(
        Playlist.objects.filter(pk__in=playlist_ids).values_list("playlist_id", "owner_id")
    )
    entries = (
        UserPlaylist.objects.filter(
            playlist_id__in=playlist_ids,
            user__spotify_connection__status=ConnectionStatus.CONNECTED,
        )
        .select_related("user__spotify_connection")
        .order_by("added_at", "pk")
    )
    chosen = {}
    for entry in entries:
        connection = entry.user.spotify_connection
        if not connection.is_live:
            continue
        owner = owners.get(entry.playlist_id)
        best = chosen.get(entry.playlist_id)
        if best is None or (connection.spotify_user_id == owner and best.spotify_user_id != owner):
            chosen[entry.playlist_id] = connection
    return chosen

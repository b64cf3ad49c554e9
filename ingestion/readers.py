"""Which Spotify token reads a run: run policy, decided here in one place.

- a run that names a user (`parameters["spotify_user"]`) uses that user's
  connection, and fails with "reconnect" if it is not live;
- a run from the web without one uses an app token (never the operator's
  SPOTIFY_REFRESH_TOKEN: a person must not read through someone else's account);
- a scheduled run without one (or whose one died) uses the live connection of
  a user who added the playlist, the owner's first;
- otherwise (the shell) SPOTIFY_REFRESH_TOKEN, else an app token.

What the read then says about the person whose account read it (they may see
the playlist's data, or no longer) is recorded by `record_reader_access`.
"""

from dataclasses import dataclass

from accounts import library
from accounts.connections import client_for_connection
from accounts.models import ConnectionStatus, SpotifyConnection, UserPlaylist
from ingestion import across_warm
from ingestion.models import Kind, Trigger
from ingestion.pipeline import IngestResult, Status
from spotify_client import SpotifyAuthError, SpotifyClient
from warehouse.models import Playlist


@dataclass(frozen=True)
class RunReader:
    """The client a run reads Spotify with, and the user whose account that is
    (None for the app's token or the operator's SPOTIFY_REFRESH_TOKEN)."""

    client: SpotifyClient
    user_id: int | None


def named_reader(run):
    """The user id the run was asked to read with (`parameters["spotify_user"]`), or None."""
    return (run.parameters or {}).get("spotify_user")


def reader_for_run(run):
    """The RunReader a run ingests with (see the module docstring for the order)."""
    user_pk = named_reader(run)
    if user_pk is not None:
        connection = SpotifyConnection.objects.filter(user_id=user_pk).first()
        if connection is None:
            raise SpotifyAuthError(
                "The Spotify account this run was to use was disconnected: connect Spotify "
                "again and try again."
            )
        if run.trigger == Trigger.SCHEDULE and not connection.is_live:
            return _reader_for_unattended(run.playlist_id)
        return RunReader(client_for_connection(connection), connection.user_id)
    if run.trigger in (Trigger.WEB, Trigger.RETRY):
        return RunReader(SpotifyClient.for_app(), None)
    if run.trigger == Trigger.SCHEDULE:
        return _reader_for_unattended(run.playlist_id)
    # The shell: SPOTIFY_REFRESH_TOKEN, else the app.
    return RunReader(SpotifyClient.from_settings(), None)


def _reader_for_unattended(playlist_id):
    connection = connection_for_playlist(playlist_id)
    if connection is not None:
        return RunReader(client_for_connection(connection), connection.user_id)
    return RunReader(SpotifyClient.from_settings(), None)


def record_reader_access(run, result: IngestResult):
    """What a finished playlist run says about its reader's access to the playlist.

    A read of the items (loaded, or unchanged: the snapshot shortcut applies only
    when this reader may read them) lets the reader see the data; Spotify's
    refusal of their token (404, 403) takes that back. Other failures (rate
    limits, outages) say nothing about access. Runs read with the app's or the
    operator's token grant no one.
    """
    if run.kind != Kind.PLAYLIST or result.read_by is None:
        return
    if result.status in (Status.SUCCEEDED, Status.PARTIAL, Status.UNCHANGED):
        changed = library.grant(result.read_by, run.playlist_id)
    elif result.refused:
        changed = library.refuse(result.read_by, run.playlist_id, result.error or "")
    else:
        changed = False
    if changed:  # what the reader sees changed: their pages across playlists too
        across_warm.warm_after_commit(user_ids=[result.read_by])


# --- which connection reads a tracked playlist -----------------------------------------
def connection_for_playlist(playlist_id):
    """Among users who loaded the playlist, a live connection: the owner's if any."""
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
        # Only people who loaded it themselves: a refresh must not read with the
        # token of someone who merely knows the id.
        UserPlaylist.objects.visible()
        .filter(
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

"""Adding a playlist to a person's list: the one action the home page and the Pick page share."""

from django.db import transaction

from accounts import library
from accounts.connections import spotify_reader
from ingestion.models import Trigger
from ingestion.runs import request_ingest


def user_playlist_add(*, user, reference, name=""):
    """Request an ingest of `reference` and put the playlist on the user's list.

    Returns (run, created): created is False when the playlist already had a
    queued or running run, which is returned instead. Raises
    InvalidPlaylistReference. The run is enqueued only once both rows commit.
    `name`: what the user's own Spotify listing calls it (see request_ingest).
    """
    with transaction.atomic():
        run, created = request_ingest(
            reference,
            trigger=Trigger.WEB,
            user=user,
            spotify_user=spotify_reader(user),
            name=name,
        )
        library.add_to_list(user, run.playlist_id)
    return run, created

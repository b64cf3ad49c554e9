"""Per-user isolation: the one place that decides what a user may see.

Another user's playlist or run answers 404 (not 403), so that its existence
does not leak.
"""

from django.db.models import Q
from django.http import Http404

from accounts.models import UserPlaylist
from ingestion.models import IngestRun, Kind
from warehouse.models import Playlist


def user_playlist_ids(user):
    return UserPlaylist.objects.filter(user=user).values_list("playlist_id", flat=True)


def user_playlist_or_404(user, playlist_id):
    """The warehouse playlist the user added (None while its first ingest runs)."""
    if not UserPlaylist.objects.filter(user=user, playlist_id=playlist_id).exists():
        raise Http404("No such playlist.")
    return Playlist.objects.filter(pk=playlist_id).first()


def user_run_or_404(user, run_id):
    """A run of a playlist the user added, or a file import the user asked for."""
    mine = Q(playlist_id__in=user_playlist_ids(user)) | Q(kind=Kind.FILE, requested_by=user)
    run = IngestRun.objects.filter(mine, pk=run_id).first()
    if run is None:
        raise Http404("No such run.")
    return run

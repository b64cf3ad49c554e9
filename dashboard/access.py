"""What a signed-in person may see, enforced for every page: the one place views ask.

The rule itself (a person sees a playlist's data only if they loaded it
themselves) is accounts.library's; this module turns it into 404s for views.
Runs are another person's business: a run, its log and its requester are
shown only to the person who asked for it, to the person whose Spotify
account read it, and to staff.

Anything not visible answers 404 (not 403), so that its existence does not leak.
"""

from django.db.models import Q
from django.http import Http404

from accounts import library
from accounts.models import UserPlaylist
from ingestion.models import IngestRun
from warehouse.models import Playlist

# The rule's two questions, as views ask them.
visible_playlist_ids = library.visible_playlist_ids
may_see = library.may_see


def user_entries(user):
    """The user's list: every entry, visible or not (`entry.is_visible` tells)."""
    return UserPlaylist.objects.filter(user=user)


def listed_playlist_ids(user):
    """Ids of the playlists on the user's list, visible or not (to say "already listed")."""
    return user_entries(user).values_list("playlist_id", flat=True)


def user_entry_or_404(user, playlist_id):
    """The user's list entry for the playlist, whatever its access (404 if none)."""
    entry = UserPlaylist.objects.filter(user=user, playlist_id=playlist_id).first()
    if entry is None:
        raise Http404("No such playlist.")
    return entry


def visible_playlist_or_404(user, playlist_id):
    """The warehouse playlist, if the user may see its data; 404 otherwise."""
    if not library.may_see(user, playlist_id):
        raise Http404("No such playlist.")
    playlist = Playlist.objects.filter(pk=playlist_id).first()
    if playlist is None:  # granted, then removed from the warehouse by hand
        raise Http404("No such playlist.")
    return playlist


def playlist_for(entry):
    """The warehouse playlist of a list entry, or None if its user may not see it
    (or it is not loaded yet)."""
    if not entry.is_visible:
        return None
    return Playlist.objects.filter(pk=entry.playlist_id).first()


def user_runs(user):
    """The runs the user asked for, or that read Spotify with the user's account."""
    return IngestRun.objects.filter(Q(requested_by=user) | Q(parameters__spotify_user=user.pk))


def user_run_or_404(user, run_id):
    runs = IngestRun.objects.all() if user.is_staff else user_runs(user)
    run = runs.filter(pk=run_id).first()
    if run is None:
        raise Http404("No such run.")
    return run

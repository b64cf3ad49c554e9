"""My playlists: the list of what the user added, adding one, removing one."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.connections import connection_for, spotify_reader
from accounts.models import UserPlaylist
from dashboard.access import (
    playlist_for,
    user_entries,
    user_entry_or_404,
    user_runs,
    visible_playlist_or_404,
)
from dashboard.forms import AddPlaylistForm
from dashboard.library import user_playlist_add
from ingestion.models import IngestRun, Kind, Trigger
from ingestion.references import InvalidPlaylistReference
from ingestion.runs import request_enrichment
from warehouse.models import Playlist, PlaylistTrack, Source


@dataclass
class PlaylistRow:
    """One line of the home page: the entry, and what is known about its playlist."""

    entry: UserPlaylist
    playlist: Playlist | None  # None until its first ingest has loaded it
    track_count: int
    latest_run: IngestRun | None

    @property
    def playlist_id(self):
        return self.entry.playlist_id

    @property
    def name(self):
        if self.playlist:
            return self.playlist.name
        return (self.latest_run and self.latest_run.name) or self.entry.playlist_id


def user_playlist_rows(*, user):
    """The user's playlists, their track counts and latest runs: four queries for any number.

    Warehouse data (name, cover, counts) only for the playlists the user may
    see; the others show what the user's own runs learned, and why.
    """
    entries = list(user_entries(user))
    if not entries:
        return []
    ids = [entry.playlist_id for entry in entries if entry.is_visible]
    playlists = Playlist.objects.in_bulk(ids)
    counts = dict(
        PlaylistTrack.objects.filter(playlist_id__in=ids, removed_at__isnull=True)
        .values("playlist_id")
        .annotate(tracks=Count("*"))
        .values_list("playlist_id", "tracks")
    )
    latest_runs = _latest_runs(user, [entry.playlist_id for entry in entries])
    return [
        PlaylistRow(
            entry=entry,
            playlist=playlists.get(entry.playlist_id),
            track_count=counts.get(entry.playlist_id, 0),
            latest_run=latest_runs.get(entry.playlist_id),
        )
        for entry in entries
    ]


def _latest_runs(user, playlist_ids):
    """playlist id → the user's most recent ingest run of it, in one query (a window,
    not one query per row). Enrichments show on the playlist's dashboard instead."""
    runs = user_runs(user).filter(playlist_id__in=playlist_ids, kind=Kind.PLAYLIST)
    ranked = runs.annotate(
        rank=Window(
            RowNumber(),
            partition_by=F("playlist_id"),
            order_by=[F("queued_at").desc(), F("pk").desc()],
        )
    )
    return {run.playlist_id: run for run in ranked.filter(rank=1)}


def _render_home(request, form):
    rows = user_playlist_rows(user=request.user)
    context = {
        "rows": rows,
        "has_loaded": any(row.playlist for row in rows),
        "form": form,
        "connection": connection_for(request.user),
    }
    return render(request, "dashboard/home.html", context)


@login_required
def home(request):
    return _render_home(request, AddPlaylistForm())


@login_required
@require_POST
def add(request):
    form = AddPlaylistForm(request.POST)
    if not form.is_valid():
        return _render_home(request, form)
    try:
        run, created = user_playlist_add(
            user=request.user, reference=form.cleaned_data["reference"]
        )
    except InvalidPlaylistReference as error:
        form.add_error("reference", str(error))
        return _render_home(request, form)
    if not created:
        messages.info(
            request,
            f"{run.name or run.playlist_id} is already being ingested; this is that run.",
        )
    return redirect("dashboard:run", run_id=run.pk)


@login_required
@require_POST
def enrich(request, playlist_id):
    """Queue an enrichment of a file-imported playlist (see ingestion.enrichment)."""
    playlist = visible_playlist_or_404(request.user, playlist_id)
    if playlist.source == Source.SPOTIFY_API:
        raise Http404("Only playlists imported from a file are enriched.")
    run, created = request_enrichment(
        playlist_id,
        trigger=Trigger.WEB,
        user=request.user,
        spotify_user=spotify_reader(request.user),
    )
    if not created:
        messages.info(request, f"{playlist.name} is already being worked on; this is that run.")
    return redirect("dashboard:run", run_id=run.pk)


@login_required
@require_POST
def remove(request, playlist_id):
    entry = user_entry_or_404(request.user, playlist_id)
    playlist = playlist_for(entry)
    # Only the user's entry goes: the warehouse keeps the data (others may list it).
    entry.delete()
    name = playlist.name if playlist else playlist_id
    messages.success(request, f"Removed {name} from your list.")
    return redirect("dashboard:home")

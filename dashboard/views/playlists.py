"""My playlists: the list of what the user added, adding one, removing one."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Sum, Window
from django.db.models.functions import RowNumber
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import library
from accounts.connections import connection_for, spotify_reader
from accounts.demo_login import DEMO_PASSWORD, DEMO_USERNAME, demo_user_exists
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
from dashboard.views.runs import retry_helps, run_status
from ingestion import across_warm
from ingestion.models import FINAL_STATUSES, IngestRun, Kind, RunStatus, Trigger
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
    duration_ms: int = 0

    @property
    def needs_attention(self):
        """Never loaded for this user, and the reason is known: the add failed, or
        Spotify refused the user's account. Shown in the compact strip, not as a card."""
        if self.playlist is not None:
            return False
        if self.entry.access == "refused":
            return True
        run = self.latest_run
        return run is not None and run.status in (RunStatus.FAILED, RunStatus.CANCELLED)

    @property
    def attention_reason(self):
        if self.entry.access == "refused":
            return self.entry.access_reason or "Spotify does not let your account read it."
        if self.latest_run and self.latest_run.status == RunStatus.CANCELLED:
            return "It was cancelled before it finished."
        return (self.latest_run and self.latest_run.error) or "The last attempt failed."

    @property
    def can_retry(self):
        return self.latest_run is not None and retry_helps(self.latest_run)

    @property
    def refreshed_at(self):
        """When this user's own run last brought the data up to date (None: their
        data is from someone else's load, or a file; "refreshed 6 minutes ago"
        would then read as if it were theirs)."""
        run = self.latest_run
        if run is None or run.status not in FINAL_STATUSES or run.status == RunStatus.FAILED:
            return None
        if run.status == RunStatus.CANCELLED:
            return None
        return run.finished_at

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
    counts = {
        row["playlist_id"]: row
        for row in PlaylistTrack.objects.filter(playlist_id__in=ids, removed_at__isnull=True)
        .values("playlist_id")
        .annotate(tracks=Count("*"), duration_ms=Sum("track_duration_ms"))
        .order_by()
    }
    latest_runs = _latest_runs(user, [entry.playlist_id for entry in entries])
    without_run = {entry.playlist_id for entry in entries} - latest_runs.keys()
    if without_run:  # playlists from exports: their file import is their run
        latest_runs.update(_file_runs(user, without_run))
    return [
        PlaylistRow(
            entry=entry,
            playlist=playlists.get(entry.playlist_id),
            track_count=counts.get(entry.playlist_id, {}).get("tracks", 0),
            duration_ms=counts.get(entry.playlist_id, {}).get("duration_ms") or 0,
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


# The home page's (and the overview's) sorts: key, label, and the rows' sort key.
LIST_SORTS = {
    "name": ("Name", lambda row: row.name.casefold()),
    "tracks": ("Tracks", lambda row: row.track_count),
    "length": ("Length", lambda row: row.duration_ms),
    "refreshed": ("Last refreshed", lambda row: _refreshed_key(row)),
}
DEFAULT_LIST_SORT = "name"


def _refreshed_key(row):
    loaded = row.refreshed_at or (row.playlist.last_ingested_at if row.playlist else None)
    return loaded.timestamp() if loaded else 0.0


def list_order(params):
    """(sort, direction, query) from a list page's GET parameters, defaults for junk."""
    sort = params.get("sort", DEFAULT_LIST_SORT)
    sort = sort if sort in LIST_SORTS else DEFAULT_LIST_SORT
    default_dir = "asc" if sort == "name" else "desc"  # biggest and newest first
    direction = params.get("dir", default_dir)
    direction = direction if direction in ("asc", "desc") else default_dir
    return sort, direction, params.get("q", "").strip()[:200]


def sorted_rows(rows, *, sort, direction, query, name=lambda row: row.name):
    """The rows whose name contains `query` (any case), in the order asked; ties by name."""
    folded = query.casefold()
    shown = [row for row in rows if folded in name(row).casefold()]
    shown.sort(key=lambda row: name(row).casefold())
    shown.sort(key=LIST_SORTS[sort][1], reverse=direction == "desc")
    return shown


def sort_links(sort, direction):
    """[(key, label, current, next_dir)] for a list page's sort control."""
    return [
        {
            "key": key,
            "label": label,
            "current": key == sort,
            "next_dir": ("desc" if direction == "asc" else "asc")
            if key == sort
            else ("asc" if key == "name" else "desc"),
        }
        for key, (label, _) in LIST_SORTS.items()
    ]


FILE_RUNS_LOOKED_AT = 100  # a person's latest file imports; older ones show no badge


def _file_runs(user, playlist_ids):
    """playlist id → the user's latest file import that loaded it (one query)."""
    found = {}
    runs = user_runs(user).filter(kind=Kind.FILE).order_by("-queued_at", "-pk")
    for run in runs[:FILE_RUNS_LOOKED_AT]:
        for imported in run.playlists or ():
            playlist_id = imported.get("playlist_id")
            if playlist_id in playlist_ids and playlist_id not in found:
                found[playlist_id] = run
    return found


def _render_home(request, form):
    rows = user_playlist_rows(user=request.user)
    attention = [row for row in rows if row.needs_attention]
    listed = [row for row in rows if not row.needs_attention]
    sort, direction, query = list_order(request.GET)
    context = {
        "rows": rows,
        "attention": attention,
        "shown": sorted_rows(listed, sort=sort, direction=direction, query=query),
        "listed_count": len(listed),
        "sort": sort,
        "direction": direction,
        "query": query,
        "sorts": sort_links(sort, direction),
        "has_loaded": any(row.playlist for row in rows),
        "form": form,
        "connection": connection_for(request.user),
        "undo": _undo_offer(request),
        "demo_login": _demo_login(rows),
    }
    return render(request, "dashboard/home.html", context)


def _demo_login(rows):
    """The demo's login, for an empty list's "Try the demo" (development only)."""
    if rows or not settings.DEBUG or not demo_user_exists():
        return None
    return {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}


def _undo_offer(request):
    """The entry just removed, once, on the page the removal leads to (its Undo button)."""
    if not request.session.pop("offer_undo", False):
        return None
    return request.session.get("removed_entry")


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
    name = playlist.name if playlist else playlist_id
    # Kept in the (server-side) session so that Undo puts back exactly this entry,
    # its access included, and nothing the user never had.
    request.session["removed_entry"] = {**library.entry_state(entry), "name": name}
    request.session["offer_undo"] = True
    entry.delete()
    # What the user sees changed: their pages across playlists are counted again.
    across_warm.warm_after_commit(user_ids=[request.user.pk])
    messages.success(request, f"Removed {name} from your list.")
    return redirect("dashboard:home")


@login_required
@require_POST
def restore(request, playlist_id):
    """Undo a removal: the entry the user just removed comes back as it was."""
    removed = request.session.get("removed_entry")
    if not removed or removed["playlist_id"] != playlist_id:
        raise Http404("Nothing to undo.")
    library.restore_entry(request.user, removed)
    across_warm.warm_after_commit(user_ids=[request.user.pk])
    del request.session["removed_entry"]
    messages.success(request, f"{removed['name']} is back on your list.")
    return redirect("dashboard:home")


@login_required
def runs_json(request):
    """The states of the user's runs whose ids `?run=` lists: what the home page
    follows live, one request for the whole page (not one per card)."""
    ids = [int(value) for value in request.GET.getlist("run") if value.isdigit()][:100]
    runs = user_runs(request.user).filter(pk__in=ids)
    return JsonResponse({"runs": [run_status(run) for run in runs]})

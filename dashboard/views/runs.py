"""The progress page of an ingest run, its JSON status, and "Try again".

An export run's page links to its file when it is written (for the person who
asked for it), and says when the file expires, or that it has."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.connections import spotify_reader
from dashboard.access import may_see, user_run_or_404
from ingestion import export_runs
from ingestion.models import FINAL_STATUSES, Kind, RunStatus
from ingestion.references import InvalidPlaylistReference, parse_playlist_id
from ingestion.runs import request_again
from spotify_client import not_found_message
from warehouse.models import Playlist

# A run ending in one of these loaded (or confirmed) the playlist: show its dashboard.
DONE_STATUSES = (RunStatus.SUCCEEDED, RunStatus.UNCHANGED, RunStatus.PARTIAL)


def retry_helps(run):
    """Whether to offer "Try again" for this run.

    Never for a file import: the file is fixed and uploaded again instead.
    Yes for a cancelled run, and for a failed one unless trying again would
    fail the same way: a reference that is not a playlist, or a playlist
    Spotify answers 404 for (deleted, private, editorial; the run's error is
    then exactly spotify_client's not-found message). Everything else can
    pass on a later try: rate limits and outages end, credentials and sharing
    ("not readable") can be fixed.
    """
    if run.kind == Kind.FILE:
        return False  # the same file fails the same way (and an upload is gone)
    if run.status == RunStatus.CANCELLED:
        return True
    if run.status != RunStatus.FAILED:
        return False
    if run.kind in (Kind.ENRICH, Kind.EXPORT):
        return True
    try:
        parse_playlist_id(run.reference)
    except InvalidPlaylistReference:
        return False
    return run.error != not_found_message(run.playlist_id)


def run_status(run, user=None):
    """What the progress page shows, as JSON-ready data (an export's download link
    only for `user` who asked for it)."""
    now = timezone.now()
    final = run.status in FINAL_STATUSES
    done = run.status in DONE_STATUSES
    waiting = run.status == RunStatus.QUEUED and run.not_before and run.not_before > now
    return {
        "id": run.pk,
        "kind": run.kind,
        "name": run.title,
        "playlist_id": run.playlist_id,
        "status": run.status,
        "status_label": run.get_status_display(),
        "final": final,
        "done": done,
        "step": run.step,
        "step_label": run.get_step_display() if run.step else "",
        "items_fetched": run.items_fetched,
        "items_total": run.items_total,
        "artists_done": run.artists_done,
        "artists_total": run.artists_total,
        "files_done": run.files_done,
        "files_total": run.files_total,
        "playlists_done": run.playlists_done,
        "playlists_total": run.playlists_total,
        "tracks_loaded": run.tracks_loaded,
        "history_version": run.history_version,
        "tracks_added": run.tracks_added,
        "tracks_removed": run.tracks_removed,
        "tracks_moved": run.tracks_moved,
        "attempt": run.attempt,
        "max_attempts": settings.INGEST_MAX_ATTEMPTS,
        "rate_limit_waits": run.rate_limit_waits,
        "waiting": bool(waiting),
        "not_before": run.not_before.isoformat() if run.not_before else None,
        "error": run.error,
        "can_retry": retry_helps(run),
        "playlist_url": _playlist_url(run) if done else None,
        **(_export_status(run, user) if run.kind == Kind.EXPORT else {}),
    }


def _export_status(run, user):
    """An export run's file: its link and size while kept, else whether it expired."""
    path = export_runs.export_file(run)
    expires = export_runs.expires_at(run)
    owner = user is not None and run.requested_by_id == user.pk
    return {
        "file_format": run.parameters.get("format", ""),
        "download_url": reverse("dashboard:run-download", args=[run.pk])
        if path is not None and owner
        else None,
        "file_bytes": path.stat().st_size if path is not None else None,
        "expires_at": expires.isoformat() if expires and path is not None else None,
        "expired": run.status == RunStatus.SUCCEEDED and path is None,
    }


def _playlist_url(run):
    """The dashboard a finished run leads to: its playlist's, or a file's only
    playlist's (a file of several lists them on the run page instead)."""
    if run.kind == Kind.EXPORT:
        return None  # the run's page links to the file instead
    if run.kind != Kind.FILE:
        return reverse("dashboard:playlist", args=[run.playlist_id])
    if len(run.playlists) == 1:
        return reverse("dashboard:playlist", args=[run.playlists[0]["playlist_id"]])
    return None


@login_required
def progress(request, run_id):
    run = user_run_or_404(request.user, run_id)
    context = {
        "run": run,
        "status": run_status(run, request.user),
        # None until the playlist's first load, for a file import or an export
        # (no playlist id: nothing to ask the access rule), and while the user may
        # not see the playlist's data.
        "playlist": (
            Playlist.objects.filter(pk=run.playlist_id).first()
            if run.playlist_id and may_see(request.user, run.playlist_id)
            else None
        ),
        "export_expires_at": export_runs.expires_at(run) if run.kind == Kind.EXPORT else None,
        "retention_hours": settings.EXPORT_RETENTION_HOURS,
    }
    return render(request, "dashboard/run.html", context)


@login_required
def status_json(request, run_id):
    run = user_run_or_404(request.user, run_id)
    return JsonResponse(run_status(run, request.user))


@login_required
@require_POST
def retry(request, run_id):
    run = user_run_or_404(request.user, run_id)
    if not retry_helps(run):
        messages.error(request, "Trying this run again would fail the same way.")
        return redirect("dashboard:run", run_id=run.pk)
    new_run, created = request_again(
        run, user=request.user, spotify_user=spotify_reader(request.user)
    )
    if not created:
        messages.info(request, "This playlist is already being ingested; this is that run.")
    return redirect("dashboard:run", run_id=new_run.pk)

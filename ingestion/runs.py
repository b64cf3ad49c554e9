"""Ingest runs as a workflow: request, claim, execute, retry, reap.

Four kinds of run share it (see ingestion.models): reading a playlist from the
Spotify API, importing a file (`ingestion.file_runs`), enriching an imported
playlist with details from Spotify (`ingestion.enrichment`), and writing a
person's library to a file (`ingestion.export_runs`).

django-q2 delivers at least once and may deliver twice, retries forever by
default and has no backoff (see docs/django-q2-notes.md); so the application
owns all of it:
- `request_ingest` creates the run; a partial unique constraint keeps one
  queued-or-running run per playlist, and asking again returns that run;
- `claim_run` is a compare-and-set from queued to running: a second delivery
  of the same task finds nothing to claim;
- `execute_run` runs extract → transform → load as one unit, beating a
  heartbeat through the pipeline's progress callback;
- `finish_run` ends the run, or requeues it: at Spotify's Retry-After for
  rate limits, with exponential backoff for transient errors, up to
  INGEST_MAX_ATTEMPTS; fatal errors fail at once;
- `reap_stale_runs` turns runs whose worker died (no heartbeat) into retries
  or failures, so nothing stays "running" forever;
- `hand_back` queues a run again, its attempt not counted, when the queue
  cluster stops in the middle of it (ingestion.shutdown).
"""

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from accounts import library
from config.logs import run_context
from ingestion import across_warm, export_runs
from ingestion.enrichment import enrich_playlist
from ingestion.file_runs import discard_upload, import_file_run
from ingestion.models import IngestRun, Kind, RunStatus, Step, Trigger
from ingestion.pipeline import IngestResult, Status, ingest_playlist
from ingestion.readers import (
    connections_for_playlists,
    named_reader,
    reader_for_run,
    record_reader_access,
)
from ingestion.references import parse_playlist_id
from ingestion.shutdown import StopRequested, interruptible
from spotify_client import SpotifyError
from warehouse.models import Playlist, Source
from warehouse.queries import missing_details

logger = logging.getLogger(__name__)

RUN_TASK = "ingestion.tasks.run_ingest"
LOG_LINES_KEPT = 200


class RunAbandoned(Exception):
    """The run was cancelled or reaped while this worker held it: stop, write nothing."""


def request_ingest(
    reference, *, trigger, user=None, force=False, enqueue=True, spotify_user=None, name=""
):
    """Create a queued run for `reference`, or return the playlist's active run.

    `spotify_user`: the user whose connected Spotify account reads the playlist
    (see ingestion.readers.client_for_run for what happens without one).
    `name`: what the requester's own Spotify listing calls the playlist (Pick
    from my Spotify), for the run's page when the warehouse cannot say and the
    run fails before Spotify does.
    Returns (run, created). Raises InvalidPlaylistReference for bad input.
    """
    playlist_id = parse_playlist_id(reference)
    parameters = {"force": force}
    return _request_playlist_run(
        Kind.PLAYLIST,
        playlist_id,
        reference=reference.strip(),
        trigger=trigger,
        requested_by=user,
        parameters=_with_reader(parameters, spotify_user),
        enqueue=enqueue,
        listed_name=name,
    )


def request_enrichment(playlist_id, *, trigger, user=None, enqueue=True, spotify_user=None):
    """Create a queued enrichment run for an imported playlist, or return the
    playlist's active run; (run, created). See ingestion.enrichment."""
    return _request_playlist_run(
        Kind.ENRICH,
        playlist_id,
        reference=playlist_id,
        trigger=trigger,
        requested_by=user,
        parameters=_with_reader({}, spotify_user),
        enqueue=enqueue,
    )


def _with_reader(parameters, spotify_user):
    if spotify_user is not None:
        parameters["spotify_user"] = spotify_user.pk
    return parameters


def _request_playlist_run(kind, playlist_id, *, enqueue, listed_name="", **fields):
    """Create a run of `playlist_id`, or return the active run of the same requester
    and reader: the partial unique constraint (not a check here) decides, so two
    requests at once make one run."""
    name = _known_name(playlist_id, fields["requested_by"]) or listed_name[:500]
    try:
        with transaction.atomic():
            run = IngestRun.objects.create(kind=kind, playlist_id=playlist_id, name=name, **fields)
            if enqueue:
                transaction.on_commit(lambda: enqueue_run(run.pk))
        return run, True
    except IntegrityError:
        active = (
            IngestRun.objects.active()
            .filter(playlist_id=playlist_id, **_same_person(fields))
            .first()
        )
        if active is None:  # it finished in between: ask again
            return _request_playlist_run(
                kind, playlist_id, enqueue=enqueue, listed_name=listed_name, **fields
            )
        return active, False


def request_file_import(
    path,
    *,
    trigger,
    user=None,
    name="",
    file_format=None,
    owner_key="",
    upload=False,
    enrich=False,
    spotify_user=None,
    enqueue=True,
):
    """Create a queued run importing a file or folder (see ingestion.file_runs).

    `owner_key` keeps different people's exports apart (see
    ingestion.files.identity); `upload` marks a file saved from the web, deleted
    once its run is over. Playlists loaded for `user` join the user's list.
    With `enrich`, each imported playlist then gets an enrichment run, reading
    with `spotify_user`'s connection if given (else the app's credentials).
    """
    parameters = _with_reader(
        {"format": file_format, "owner_key": owner_key, "delete_file": upload, "enrich": enrich},
        spotify_user,
    )
    if upload:
        # For the per-user hourly limits of the upload page.
        parameters["upload_bytes"] = Path(path).stat().st_size
    with transaction.atomic():
        run = IngestRun.objects.create(
            kind=Kind.FILE,
            reference=str(path),
            name=name or Path(path).name,
            trigger=trigger,
            requested_by=user,
            parameters=parameters,
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue_run(run.pk))
    return run


def request_export(user, file_format, *, trigger, enqueue=True):
    """Create a queued export run of `user`'s library (see ingestion.export_runs), or
    return their active one of that format; (run, created)."""
    return export_runs.request_export(user, file_format, trigger=trigger, enqueue=enqueue)


def request_again(run, *, user=None, spotify_user=None):
    """A new run doing what `run` did (for "Try again" and the admin); (run, created).

    An export is of its requester's library, whoever asks for it again."""
    if run.kind == Kind.EXPORT:
        return request_export(run.requested_by, run.parameters["format"], trigger=Trigger.RETRY)
    if run.kind == Kind.ENRICH:
        return request_enrichment(
            run.playlist_id, trigger=Trigger.RETRY, user=user, spotify_user=spotify_user
        )
    return request_ingest(
        run.reference, trigger=Trigger.RETRY, user=user, force=True, spotify_user=spotify_user
    )


def _same_person(fields):
    """Filters for runs of the same requester and reader (as the constraint keys them)."""
    reader = fields["parameters"].get("spotify_user")
    requester = fields["requested_by"]
    return {
        "requested_by": requester.pk if requester else None,
        **(
            {"parameters__spotify_user": reader}
            if reader is not None
            else {"parameters__spotify_user__isnull": True}
        ),
    }


def _known_name(playlist_id, requester):
    """The playlist's name, if the warehouse knows it and the requester may see it
    (a private playlist's name is its owner's business)."""
    if requester is not None and not library.may_see(requester, playlist_id):
        return ""
    return Playlist.objects.filter(pk=playlist_id).values_list("name", flat=True).first() or ""


def enqueue_run(run_id, *, at=None):
    """Hand the run to the queue now, or at `at` through a one-off schedule."""
    if at is None or at <= timezone.now():
        async_task(RUN_TASK, run_id, task_name=f"ingest-run-{run_id}")
        return
    schedule(
        RUN_TASK,
        run_id,
        name=f"ingest-run-{run_id}-at-{at:%Y%m%dT%H%M%S}",
        schedule_type=Schedule.ONCE,
        next_run=at,
    )


def claim_run(run_id):
    """Move a due queued run to running; None if another delivery got it first."""
    now = timezone.now()
    claimed = (
        IngestRun.objects.filter(pk=run_id, status=RunStatus.QUEUED)
        .exclude(not_before__gt=now)
        .update(
            status=RunStatus.RUNNING,
            attempt=F("attempt") + 1,
            step="",
            started_at=now,
            heartbeat_at=now,
        )
    )
    if not claimed:
        return None
    run = IngestRun.objects.get(pk=run_id)
    _append_log(run, f"attempt {run.attempt} started")
    return run


def execute_run(run, *, client=None, retries=True, progress=None, on_result=None):
    """Do a claimed run's work and record how it ended.

    `client` reads Spotify (default: the run's reader, see reader_for_run; a
    given client is taken to be the account the run names);
    `on_result` sees each playlist of a file run as it loads. Returns the
    run's IngestResult, or None if the run was taken away. Every log line
    written meanwhile, by any module, carries the run's id.
    """
    with run_context(run.pk):
        return _execute_run(run, client, retries, progress, on_result)


def _execute_run(run, client, retries, progress, on_result):
    heartbeat = Heartbeat(run, also=progress)
    try:
        with interruptible():
            if run.kind == Kind.FILE:
                result = import_file_run(run, progress=heartbeat, on_result=on_result)
            elif run.kind == Kind.EXPORT:
                result = export_runs.export_library_run(run, progress=heartbeat)
            else:
                result = _read_spotify(run, client, heartbeat)
    except StopRequested:
        hand_back(run)
        return None
    except RunAbandoned:
        # Cancelled (cancel_run deleted an upload) or reaped (its retry reads it again).
        logger.info("Run %s was cancelled or reaped while running; stopped.", run.pk)
        export_runs.discard_unless_succeeded(run)
        return None
    except Exception:
        # A bug, or input nothing above expected: the same error would come
        # back on every attempt, so the run fails now (never retried, never
        # left running for the reaper), and the operator gets the traceback.
        logger.exception("Run %s (%s %s) failed unexpectedly", run.pk, run.kind, run.reference)
        result = unexpected_failure(run)
    try:
        finish_run(run, result, retries=retries)
    except Exception:
        # Recording this outcome failed (e.g. a value the database refuses):
        # record the plain failure instead, rather than leave the run running.
        logger.exception("Run %s: recording its outcome failed", run.pk)
        result = unexpected_failure(run)
        finish_run(run, result, retries=False)
    if run.kind == Kind.EXPORT:
        # Cancelled between the file's completion and its outcome: not kept.
        export_runs.discard_unless_succeeded(run)
    return result


def unexpected_failure(run):
    return IngestResult(
        reference=run.reference,
        playlist_id=run.playlist_id,
        error=(
            "The run stopped on an unexpected error; the details are in the log. "
            "Trying again will probably fail the same way: tell whoever runs this app."
        ),
    )


def request_enrichment_of_imported(run, result):
    """Queue an enrichment run for each playlist the file run loaded that lacks
    details Spotify can give (parameter `enrich`); returns the runs created."""
    # A file run names its requester as the reader, or no one (the app reads).
    spotify_user = run.requested_by if run.parameters.get("spotify_user") else None
    created = []
    for entry in result.playlists:
        if missing_details(entry["playlist_id"])["enrichable"]:
            enrichment, new = request_enrichment(
                entry["playlist_id"],
                trigger=run.trigger,
                user=run.requested_by,
                spotify_user=spotify_user,
            )
            created += [enrichment] if new else []
    if created:
        _append_log(run, f"enrichment queued for {len(created)} playlist(s)")
    return created


def _read_spotify(run, client, progress):
    """A playlist or enrichment run's work, with the run's Spotify reader."""
    try:
        reader_id = named_reader(run)
        if client is None:
            reader = reader_for_run(run)
            client, reader_id = reader.client, reader.user_id
    except SpotifyError as error:
        # No usable token (not connected, reconnect needed, no credentials).
        return IngestResult(
            reference=run.reference,
            playlist_id=run.playlist_id,
            error=str(error),
            retryable=error.retryable,
        )
    if run.kind == Kind.ENRICH:
        return enrich_playlist(run.playlist_id, client=client, progress=progress)
    result = ingest_playlist(
        run.reference or run.playlist_id,
        client=client,
        force=bool(run.parameters.get("force")),
        progress=progress,
    )
    result.read_by = reader_id
    return result


class Heartbeat:
    """The pipeline's progress callback: live counts and a heartbeat on the run.

    Writes at most every INGEST_HEARTBEAT_SECONDS (and on every step change),
    and each write checks that this worker still owns the run. A file import
    reports playlists per file; the run counts them over all its files.
    """

    def __init__(self, run, *, also=None):
        self.run = run
        self.also = also
        self.step = ""
        self.last_beat = timezone.now()
        self.counts = {}
        self.playlists_before = 0  # in the files already imported

    def __call__(self, step, done, total):
        if self.also:
            self.also(step, done, total)
        self.counts.update(self._counts(step, done, total))
        now = timezone.now()
        interval = timedelta(seconds=settings.INGEST_HEARTBEAT_SECONDS)
        if self.counts["step"] != self.step or now - self.last_beat >= interval:
            self.beat(now)

    def _counts(self, step, done, total):
        if step == "items":
            return {"step": Step.EXTRACT, "items_fetched": done, "items_total": total}
        if step == "artists":
            return {"step": Step.EXTRACT, "artists_done": done, "artists_total": total}
        if step == "files":
            self.playlists_before = self.counts.get("playlists_done", 0)
            return {"step": Step.EXTRACT, "files_done": done, "files_total": total}
        if step == "export_rows":
            return {"step": Step.WRITE, "items_fetched": done, "items_total": total}
        if step == "export_playlists":
            return {"step": Step.WRITE, "playlists_done": done, "playlists_total": total}
        if step == "playlists":
            return {
                "step": Step.LOAD,
                "playlists_done": self.playlists_before + done,
                "playlists_total": self.playlists_before + total,
            }
        return {"step": step}

    def flush(self):
        """Write the counts now (an export's final ones); raises RunAbandoned likewise."""
        if self.counts:
            self.beat(timezone.now())

    def beat(self, now):
        owned = _owned(self.run).update(heartbeat_at=now, **self.counts)
        if not owned:
            raise RunAbandoned
        self.step = self.counts["step"]
        self.last_beat = now


def _owned(run):
    """The run's row, only while this attempt still holds it."""
    return IngestRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, attempt=run.attempt)


def finish_run(run, result: IngestResult, *, retries=True):
    """Record the outcome: final, or queued again for a later attempt."""
    now = timezone.now()
    fields = _outcome_fields(result)
    if result.status != Status.FAILED:
        fields.update(status=result.status, finished_at=now)
        line = f"attempt {run.attempt} {result.status}: {result.tracks_loaded} tracks"
    elif retries and result.retryable and run.attempt < settings.INGEST_MAX_ATTEMPTS:
        fields.update(_retry_fields(run, result, now))
        line = f"attempt {run.attempt} failed, retry at {fields['not_before']:%Y-%m-%d %H:%M:%S}"
    else:
        fields.update(status=RunStatus.FAILED, finished_at=now)
        line = f"attempt {run.attempt} failed: {result.error}"
    if result.error:
        fields["error"] = result.error
    final = fields["status"] != RunStatus.QUEUED
    # The outcome and what it says of the reader's access commit together: a page
    # that sees the run over sees the playlist it loaded (never "not loaded yet").
    with transaction.atomic():
        if not _owned(run).update(**fields):
            return  # cancelled or reaped meanwhile: that decision stands
        _append_log(run, line)
        if final:
            record_reader_access(run, result)
    # After the commit: a queue (Redis) may deliver the next attempt at once, and its
    # claim must find the run queued.
    if not final:
        enqueue_run(run.pk, at=fields["not_before"])
    else:
        discard_upload(run)  # over: an uploaded file is not read again
        export_runs.discard_unless_succeeded(run)  # a failed export keeps no file
        if run.kind == Kind.FILE and run.parameters.get("enrich"):
            # Queued before the release below: the warm it holds back waits for them.
            request_enrichment_of_imported(run, result)
        # A warm of the pages across playlists held back by this run may run now.
        across_warm.release_after_commit(run)


def _outcome_fields(result):
    return {
        "name": result.name or F("name"),
        "tracks_loaded": result.tracks_loaded,
        "items_skipped": result.items_skipped,
        "rows_inserted": result.rows_inserted,
        "rows_updated": result.rows_updated,
        "rows_removed": result.rows_removed,
        "history_version": result.history_version,
        "tracks_added": result.tracks_added,
        "tracks_removed": result.tracks_removed,
        "tracks_moved": result.tracks_moved,
        "api_calls": F("api_calls") + result.api_calls,
        "quota_exceeded": result.quota_exceeded,
        "playlists": result.playlists,
        "error": "",
    }


def _retry_fields(run, result, now):
    """Queue the run again: at Retry-After for rate limits, else with backoff."""
    if result.retry_after is not None:
        delay = result.retry_after
        waits = F("rate_limit_waits") + 1
    else:
        delay = retry_backoff(run.attempt)
        waits = F("rate_limit_waits")
    not_before = now + timedelta(seconds=delay)
    history = [
        *run.attempts,
        {
            "attempt": run.attempt,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "ended_at": now.isoformat(),
            "error": result.error,
            "retry_after": result.retry_after,
        },
    ]
    return {
        "status": RunStatus.QUEUED,
        "not_before": not_before,
        "rate_limit_waits": waits,
        "attempts": history,
        "step": "",
    }


def retry_backoff(attempt):
    """Seconds before attempt `attempt + 1` after a transient error: 1, 2, 4… × base."""
    base = settings.INGEST_RETRY_BACKOFF_SECONDS
    return min(base * 2 ** (attempt - 1), settings.INGEST_RETRY_BACKOFF_MAX_SECONDS)


def _append_log(run, line):
    """Append a timestamped line to the run's short log (kept to the last lines)."""
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
    run.refresh_from_db(fields=["log"])
    lines = [*run.log.splitlines(), f"{stamp} {line}"][-LOG_LINES_KEPT:]
    IngestRun.objects.filter(pk=run.pk).update(log="\n".join(lines))
    # The process's log gets the line too (run_id even outside execute_run).
    logger.info("%s", line, extra={"run_id": run.pk})


def cancel_run(run):
    """Cancel a queued or running run; a running worker stops at its next heartbeat."""
    cancelled = IngestRun.objects.active().filter(pk=run.pk)
    if not cancelled.update(status=RunStatus.CANCELLED, finished_at=timezone.now()):
        return False
    _append_log(run, "cancelled")
    # A running worker may still be reading it: on Linux it keeps what it opened.
    discard_upload(run)
    export_runs.discard_unless_succeeded(run)  # a worker writing it stops at its heartbeat
    return True


def hand_back(run):
    """Queue a run this worker holds again, as if this attempt had not started:
    the queue cluster is stopping (its work was cut short and wrote nothing
    that a new attempt does not write again)."""
    handed = _owned(run).update(status=RunStatus.QUEUED, attempt=F("attempt") - 1, step="")
    if not handed:
        return False  # cancelled or reaped meanwhile: that decision stands
    _append_log(run, f"attempt {run.attempt} stopped: the queue cluster stopped; queued again")
    enqueue_run(run.pk)
    return True


def hand_back_unclaimed(run_id):
    """Give the queue a run's task back untouched (the cluster is stopping)."""
    run = IngestRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).first()
    if run is None:
        return False  # running elsewhere, finished or cancelled: nothing to hand back
    enqueue_run(run.pk, at=run.not_before)
    return True


def reap_stale_runs():
    """Requeue or fail running runs whose heartbeat stopped (their worker died)."""
    stale_before = timezone.now() - timedelta(seconds=settings.INGEST_STALE_AFTER_SECONDS)
    reaped = 0
    for run in IngestRun.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=stale_before):
        result = IngestResult(
            reference=run.reference,
            playlist_id=run.playlist_id,
            error=(
                f"The worker stopped responding during {run.step or 'the run'} "
                f"(last heartbeat {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)."
            ),
            retryable=True,
        )
        finish_run(run, result)
        reaped += 1
    return reaped


def tracked_playlist_ids():
    """Playlists the daily refresh keeps up to date: those loaded from the Spotify API."""
    return list(
        Playlist.objects.filter(source=Source.SPOTIFY_API).values_list("playlist_id", flat=True)
    )


def refresh_tracked_playlists(*, trigger):
    """Request a run for every tracked playlist; returns (created, already active).

    Each run reads with the live connection of a user who added the playlist
    (the owner's if possible), else with the settings' token.
    """
    created = active = 0
    playlist_ids = tracked_playlist_ids()
    readers = connections_for_playlists(playlist_ids)
    for playlist_id in playlist_ids:
        reader = readers.get(playlist_id)
        _, new = request_ingest(
            playlist_id, trigger=trigger, spotify_user=reader.user if reader else None
        )
        created += new
        active += not new
    return created, active

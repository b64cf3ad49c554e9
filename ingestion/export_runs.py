"""Export runs: a person's library written to a file by the queue, then downloaded.

"Download all my playlists" (a ZIP of CSVs, one JSON, one Parquet) streams from
the request for a small library; a big one (over EXPORT_QUEUE_ABOVE_ROWS rows)
becomes a run of kind `export` instead, so that no request holds a worker for
minutes and the person sees progress:

- `request_export` creates the run (or returns the person's active export of the
  same format);
- `export_library_run` (called by ingestion.runs.execute_run) writes the library
  under EXPORT_DIR, to a temporary name renamed when complete, reporting
  playlists and rows written through the run's heartbeat. Any failure (or a
  cancel, a stopping cluster) deletes what was written; the run fails or is
  retried like any other, never left running;
- the run's page links to the file (dashboard.views.downloads.export_file),
  served only to the person who asked;
- `delete_expired_exports` (the reaper's schedule) deletes files older than
  EXPORT_RETENTION_HOURS; the run's page then says the file has expired.

What goes into the file is the library download's, written by the same
`library_chunks`: the playlists `accounts.library` lets the person see, nothing else.
"""

import logging
import os
import secrets
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import library
from ingestion.models import IngestRun, Kind, RunStatus
from ingestion.pipeline import IngestResult, Status
from warehouse import exports, queries
from warehouse.models import PlaylistTrack

logger = logging.getLogger(__name__)

FORMATS = ("zip", "json", "parquet")
FORMAT_LABELS = {"zip": "ZIP of CSVs", "json": "JSON", "parquet": "Parquet"}

Progress = Callable[[str, int, int], object]


# --- what a library export holds ----------------------------------------------------
def library_playlist_ids(user) -> list[str]:
    """The playlists of `user`'s library download: those the access rule lets them see."""
    return sorted(library.visible_playlist_ids(user))


def library_rows(ids: list[str]) -> int:
    """Rows a library download of the playlists `ids` writes (their present rows)."""
    return PlaylistTrack.objects.filter(playlist_id__in=ids, removed_at__isnull=True).count()


def library_chunks(
    ids: list[str],
    file_format: str,
    *,
    on_rows: Callable[[int], object] | None = None,
    on_playlist: Callable[[], object] | None = None,
) -> Iterator[bytes]:
    """The library file of playlists `ids` in `file_format` (zip, json, parquet), a
    chunk at a time; `on_rows(n)` after each n rows read, `on_playlist()` after each
    playlist (for a Parquet file: as each playlist's first rows are read)."""
    count_rows = on_rows or (lambda rows: None)
    count_playlist = on_playlist or (lambda: None)
    if file_format == "zip":
        return exports.zip_chunks(_csv_entries(ids, count_rows, count_playlist))
    if file_format == "json":
        return exports.json_library_chunks(
            _counted_playlists(queries.export_playlists(ids), count_playlist),
            lambda playlist: _counted_rows(
                queries.export_rows([playlist["playlist_id"]]), count_rows
            ),
        )
    if file_format == "parquet":
        batches = queries.export_batches(ids, rows_per_batch=exports.ROWS_PER_BATCH)
        return exports.parquet_chunks(_counted_batches(batches, count_rows, count_playlist))
    raise ValueError(f"not a library format: {file_format}")


def _csv_entries(ids, count_rows, count_playlist):
    """(file name, CSV chunks) per playlist, one query each as the ZIP reaches it."""
    playlists = list(queries.export_playlists(ids))
    names = exports.unique_names(exports.safe_file_name(p["name"], ".csv") for p in playlists)
    for name, playlist in zip(names, playlists, strict=True):
        batches = queries.export_batches([playlist["playlist_id"]])
        yield name, exports.csv_batch_chunks(_counted_batches(batches, count_rows))
        count_playlist()


def _counted_batches(batches: Iterable[pa.RecordBatch], count_rows, count_playlist=None):
    seen: set[str] = set()
    with closing(iter(batches)) as each:
        for batch in each:
            if count_playlist is not None and batch.num_rows:
                for playlist_id in pc.unique(batch.column("playlist_id")).to_pylist():
                    if playlist_id not in seen:
                        seen.add(playlist_id)
                        count_playlist()
            yield batch
            count_rows(batch.num_rows)


def _counted_playlists(playlists, count_playlist):
    with closing(iter(playlists)) as each:
        for playlist in each:
            yield playlist
            count_playlist()


def _counted_rows(rows, count_rows, every=1000):
    pending = 0
    with closing(iter(rows)) as each:
        for row in each:
            yield row
            pending += 1
            if pending == every:
                count_rows(pending)
                pending = 0
    count_rows(pending)


# --- requesting and running ---------------------------------------------------------
def request_export(user, file_format, *, trigger, enqueue=True):
    """Create a queued export run of `user`'s library in `file_format`, or return
    their active one of that format; (run, created)."""
    if file_format not in FORMATS:
        raise ValueError(f"not a library format: {file_format}")
    active = (
        IngestRun.objects.active()
        .filter(kind=Kind.EXPORT, requested_by=user, parameters__format=file_format)
        .first()
    )
    if active is not None:
        return active, False
    from ingestion.runs import enqueue_run  # runs imports this module

    with transaction.atomic():
        run = IngestRun.objects.create(
            kind=Kind.EXPORT,
            reference=f"library.{file_format}",
            name=f"All my playlists ({FORMAT_LABELS[file_format]})",
            trigger=trigger,
            requested_by=user,
            # The file's name under EXPORT_DIR: not guessable, not the person's.
            parameters={
                "format": file_format,
                "file": f"{secrets.token_urlsafe(18)}.{file_format}",
            },
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue_run(run.pk))
    return run, True


def export_path(run) -> Path | None:
    """Where the run's file is (or will be) written; None for a run that is not an export."""
    name = run.parameters.get("file") if run.kind == Kind.EXPORT else None
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    return Path(settings.EXPORT_DIR) / name


def export_library_run(run, *, progress: Progress) -> IngestResult:
    """Write the run's requester's library to the run's file; the run's outcome.

    `progress("export_playlists", done, total)` and `progress("export_rows", done,
    total)` as it goes (the run's Heartbeat: it raises when the run was cancelled
    or reaped). Whatever stops the writing deletes the partial file."""
    result = IngestResult(reference=run.reference, name=run.name)
    user = run.requested_by
    path = export_path(run)
    if user is None or path is None:
        result.error = "The person who asked for this export no longer has an account."
        return result
    file_format = run.parameters["format"]
    ids = library_playlist_ids(user)
    rows_total = library_rows(ids)
    done = {"rows": 0, "playlists": 0}

    def on_rows(rows):
        done["rows"] += rows
        progress("export_rows", done["rows"], max(rows_total, done["rows"]))

    def on_playlist():
        done["playlists"] += 1
        progress("export_playlists", done["playlists"], len(ids))

    progress("export_playlists", 0, len(ids))
    progress("export_rows", 0, rows_total)
    part = path.with_name(path.name + ".part")
    try:
        _private_folder(path.parent)
        chunks = library_chunks(ids, file_format, on_rows=on_rows, on_playlist=on_playlist)
        with open(part, "wb") as file, closing(chunks):
            os.chmod(part, 0o600)
            for chunk in chunks:
                file.write(chunk)
        progress("export_playlists", len(ids), len(ids))
        progress("export_rows", done["rows"], done["rows"])
        flush = getattr(progress, "flush", None)
        if flush is not None:
            flush()  # the final counts; raises if the run was taken away meanwhile
        part.replace(path)
    except OSError as error:
        _delete(part, path)
        logger.exception("Export run %s could not write %s", run.pk, path)
        traceback.clear_frames(error.__traceback__)  # see below
        result.error = (
            f"The export file could not be written ({error.strerror or error}). "
            "Try again later; if it keeps failing, tell whoever runs this app."
        )
        return result
    except BaseException as error:
        _delete(part, path)
        # The readers the writing stopped in (database cursors) close now, while the
        # connection is theirs, not whenever whatever keeps the traceback drops it.
        traceback.clear_frames(error.__traceback__)
        raise
    result.status = Status.SUCCEEDED
    result.tracks_loaded = done["rows"]
    return result


def _private_folder(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)


def _delete(*paths):
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:  # its folder is not one (the failure being recorded)
            logger.warning("Could not delete %s", path, exc_info=True)


def discard_unless_succeeded(run):
    """After an export run's attempt: its file is kept only if the run succeeded
    (a cancel or the reaper may have decided otherwise while it was written)."""
    path = export_path(run)
    if path is None:
        return
    status = IngestRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
    if status != RunStatus.SUCCEEDED:
        _delete(path, path.with_name(path.name + ".part"))


# --- the file, and its end ----------------------------------------------------------
def expires_at(run):
    if run.finished_at is None:
        return None
    return run.finished_at + timedelta(hours=settings.EXPORT_RETENTION_HOURS)


def export_file(run) -> Path | None:
    """The finished run's file, if it is still kept; None otherwise."""
    if run.kind != Kind.EXPORT or run.status != RunStatus.SUCCEEDED:
        return None
    if run.parameters.get("expired"):
        return None
    path = export_path(run)
    if path is None or not path.is_file():
        return None
    return path


def delete_expired_exports(now=None) -> int:
    """Delete export files older than EXPORT_RETENTION_HOURS; returns how many.

    A succeeded run's file expires that long after the run finished (the run is
    marked expired); any other file in EXPORT_DIR that long untouched (a failed
    worker's leftover) goes too, unless an active run is writing it."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    deleted = 0
    expired = IngestRun.objects.filter(
        kind=Kind.EXPORT, status=RunStatus.SUCCEEDED, finished_at__lte=cutoff
    ).exclude(parameters__has_key="expired")
    for run in expired:
        path = export_path(run)
        if path is not None and path.is_file():
            path.unlink(missing_ok=True)
            deleted += 1
        run.parameters = {**run.parameters, "expired": True}
        run.save(update_fields=["parameters"])
    folder = Path(settings.EXPORT_DIR)
    if not folder.is_dir():
        return deleted
    writing = {
        name
        for name in IngestRun.objects.active()
        .filter(kind=Kind.EXPORT)
        .values_list("parameters__file", flat=True)
        if name
    }
    kept = {
        name
        for name in IngestRun.objects.filter(kind=Kind.EXPORT, status=RunStatus.SUCCEEDED)
        .exclude(parameters__has_key="expired")
        .values_list("parameters__file", flat=True)
        if name
    }
    for path in folder.iterdir():
        name = path.name.removesuffix(".part")
        if not path.is_file() or name in writing or name in kept:
            continue
        if path.stat().st_mtime <= cutoff.timestamp():
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted

"""File imports as ingest runs: one run per file or folder, whoever asked.

An upload in the web app and `manage.py ingest PATH` both record a run of kind
"file" whose reference is the file's path; the queue (or the shell, here and
now) executes it through `ingestion.files.iter_ingest_path`, which loads each
file as a unit (one transaction) and refuses a bad file before loading any of
it. The run keeps live counts (files, playlists) and, at the end, one outcome
summed over the file's playlists, plus a list of those playlists to link to.
"""

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from accounts import library
from ingestion import across_warm
from ingestion.files import iter_ingest_path
from ingestion.models import FILE_RUN_PLAYLISTS_LISTED
from ingestion.pipeline import IngestResult, Status

# A folder run names this many refused files in its error (the shell prints them all).
REFUSALS_NAMED = 3


def import_file_run(run, *, progress, on_result=None) -> IngestResult:
    """Import the run's file or folder; the outcome of the whole run.

    `on_result` is called with each playlist's (or refused file's) result as it
    is loaded (the shell prints them). Playlists loaded for a user join the
    user's list.
    """
    parameters = run.parameters
    summary = FileRunSummary(reference=run.reference)
    for result in iter_ingest_path(
        Path(run.reference),
        format=parameters.get("format"),
        owner_key=parameters.get("owner_key", ""),
        progress=progress,
    ):
        summary.add(result)
        if on_result:
            on_result(result)
        if run.requested_by_id and parameters.get("add_to_user", True):
            _add_to_user(run.requested_by_id, result)
    return summary.outcome()


def discard_upload(run):
    """Delete an uploaded file (parameter `delete_file`) once its run is over or
    cancelled: loaded or refused, it is not read again. Files named in the shell
    are the user's own and are never deleted."""
    if run.parameters.get("delete_file"):
        shutil.rmtree(Path(run.reference).parent, ignore_errors=True)


def _add_to_user(user_id, result):
    """A playlist the user imported joins their list, and they may see it."""
    if result.status == Status.FAILED or not result.playlist_id:
        return
    if library.grant(user_id, result.playlist_id, add=True):  # their pages across playlists too
        across_warm.warm_after_commit(user_ids=[user_id])


@dataclass
class FileRunSummary:
    """The results of a file run's playlists, summed as they come (an MPD folder
    yields a million: only counts and the first playlists are kept)."""

    reference: str
    loaded: int = 0
    refused: int = 0
    refusals: list[str] = field(default_factory=list)  # the first REFUSALS_NAMED
    listed: list[dict] = field(default_factory=list)
    versions_made: int = 0  # playlists that got a new version
    # What loaded playlists could not read (their partial results' errors), the first few.
    notes: list[str] = field(default_factory=list)
    partial: int = 0
    total: IngestResult = field(init=False)

    def __post_init__(self):
        self.total = IngestResult(reference=self.reference)

    def add(self, result: IngestResult):
        if result.status == Status.FAILED:
            self.refused += 1
            if len(self.refusals) < REFUSALS_NAMED:
                self.refusals.append(result.error or f"{result.reference} was refused.")
            return
        self.loaded += 1
        if result.status == Status.PARTIAL:
            self.partial += 1
            if len(self.notes) < REFUSALS_NAMED and result.error:
                self.notes.append(result.error)
        total = self.total
        for kind, count in result.library.items():
            total.library[kind] = total.library.get(kind, 0) + count
        total.tracks_loaded += result.tracks_loaded
        total.items_total += result.items_total
        total.rows_inserted += result.rows_inserted
        total.rows_updated += result.rows_updated
        total.rows_unchanged += result.rows_unchanged
        total.rows_removed += result.rows_removed
        total.tracks_added += result.tracks_added
        total.tracks_removed += result.tracks_removed
        total.tracks_moved += result.tracks_moved
        if result.history_version is not None:
            self.versions_made += 1
            # Named only for a file of one playlist: many versions have no one number.
            total.history_version = result.history_version if self.loaded == 1 else None
        for reason, count in result.items_skipped.items():
            total.items_skipped[reason] = total.items_skipped.get(reason, 0) + count
        if len(self.listed) < FILE_RUN_PLAYLISTS_LISTED:
            self.listed.append(
                {
                    "playlist_id": result.playlist_id,
                    "name": result.name,
                    "tracks": result.tracks_loaded,
                }
            )

    def outcome(self) -> IngestResult:
        """Succeeded (or unchanged: nothing new in the file), partial when some
        files were refused, failed when nothing loaded. Never retryable: a file
        refused now is refused again."""
        total = self.total
        total.playlists = self.listed
        if not self.loaded:
            total.status = Status.FAILED
            total.error = self._refusal_text() or f"{Path(self.reference).name} holds no playlists."
        elif self.refused or self.partial:
            # A playlist that loaded without what it could not read is no success.
            total.status = Status.PARTIAL
            total.error = " ".join(filter(None, [self._refusal_text(), *self.notes]))
        elif total.rows_inserted or total.rows_updated or total.rows_removed or self.versions_made:
            total.status = Status.SUCCEEDED
        else:
            total.status = Status.UNCHANGED
        return total

    def _refusal_text(self):
        if not self.refused:
            return ""
        text = " ".join(self.refusals)
        more = self.refused - len(self.refusals)
        if self.loaded or more:
            text = f"{self.refused} file(s) refused: {text}"
        if more:
            text += f" … and {more} more."
        return text

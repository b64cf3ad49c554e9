"""Extract → transform → load for one playlist, reported as an IngestResult."""

import time
from dataclasses import asdict, dataclass, field

from ingestion.references import InvalidPlaylistReference, parse_playlist_id
from ingestion.sources.spotify_api import Unchanged, extract_playlist, noop_progress
from ingestion.transform import transform_snapshot, without_control_characters
from spotify_client import (
    PlaylistNotFound,
    PlaylistNotReadable,
    RateLimited,
    SpotifyClient,
    SpotifyError,
)
from warehouse.loader import load_playlist
from warehouse.models import Playlist


class Status:
    SUCCEEDED = "succeeded"
    UNCHANGED = "unchanged"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass
class IngestResult:
    reference: str
    playlist_id: str | None = None
    name: str = ""
    status: str = Status.FAILED
    tracks_loaded: int = 0
    items_total: int = 0
    items_skipped: dict[str, int] = field(default_factory=dict)
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_removed: int = 0
    # The playlist version the load made (warehouse history), None when nothing
    # changed; its tracks added, removed and moved.
    history_version: int | None = None
    tracks_added: int = 0
    tracks_removed: int = 0
    tracks_moved: int = 0
    artists_not_found: int = 0
    # Enrichment: outcome ("matched", "ambiguous", "not_found") → count of the
    # tracks a file names without an id (ingestion.named_tracks).
    named_tracks: dict[str, int] = field(default_factory=dict)
    # A Spotify export's library (YourLibrary.json) beyond its saved tracks:
    # kind ("albums", "artists", "shows", "episodes") → count, counted, not imported.
    library: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    seconds: float = 0.0
    error: str | None = None
    retry_after: int | None = None
    quota_exceeded: bool = False
    # Whether trying again later can help (rate limits, 5xx, timeouts).
    retryable: bool = False
    # Spotify refused this reader the playlist (404, or 403 / items withheld):
    # the reader may no longer see its data (see accounts.library).
    refused: bool = False
    # The user whose Spotify account read the playlist (None: the app's or the
    # operator's token); set by the run that read it (ingestion.runs).
    read_by: int | None = None
    # A file run's playlists: [{"playlist_id", "name", "tracks"}, …] (the first
    # FILE_RUN_PLAYLISTS_LISTED; the counts above cover them all).
    playlists: list[dict] = field(default_factory=list)

    def as_dict(self):
        return asdict(self)


def ingest_playlist(reference, *, client=None, force=False, progress=noop_progress):
    """Ingest one playlist reference; never raises for Spotify or input problems."""
    result = IngestResult(reference=reference)
    started = time.monotonic()
    calls_before = client.api_calls if client else 0
    try:
        result.playlist_id = parse_playlist_id(reference)
        client = client or SpotifyClient.from_settings()
        _run(result, client, force=force, progress=progress)
    except InvalidPlaylistReference as error:
        result.error = str(error)
    except SpotifyError as error:
        record_spotify_error(result, error)
    finally:
        result.api_calls = (client.api_calls - calls_before) if client else 0
        result.seconds = round(time.monotonic() - started, 3)
    return result


def record_spotify_error(result, error):
    """Put a Spotify failure into `result`: what happened, and whether and when
    trying again can help (the runs reschedule on these fields)."""
    result.error = str(error)
    result.retryable = error.retryable
    result.refused = isinstance(error, (PlaylistNotFound, PlaylistNotReadable))
    if isinstance(error, RateLimited):
        result.retry_after = error.retry_after
        result.quota_exceeded = error.quota_exceeded


def _run(result, client, *, force, progress):
    known_snapshot = "" if force else _last_loaded_snapshot(result.playlist_id)
    extracted = extract_playlist(
        client, result.playlist_id, known_snapshot_id=known_snapshot, progress=progress
    )
    result.name = extracted.name
    if isinstance(extracted, Unchanged):
        result.status = Status.UNCHANGED
        return
    transform_and_load(extracted, result, progress=progress)
    result.artists_not_found = extracted.artists_not_found
    if result.artists_not_found:
        # Rows are loaded, but some artists (and so genres) are missing: say so
        # rather than presenting the genre chart as complete.
        result.status = Status.PARTIAL
        result.error = (
            f"Spotify could not find {result.artists_not_found} of the playlist's artists; "
            "their tracks are loaded without genres."
        )


def transform_and_load(snapshot, result, *, progress=noop_progress, complete=None):
    """The source-independent half of an ingest: snapshot → rows → warehouse.

    `complete(rows)` may fill the rows' gaps before they load (file imports pass
    `ingestion.enrichment.fill_details`: what an enrichment learned stays).
    """
    progress("transform", 0, 1)
    snapshot = without_control_characters(snapshot)
    transformed = transform_snapshot(snapshot)
    rows = complete(transformed.rows) if complete else transformed.rows
    progress("load", 0, 1)
    loaded = load_playlist(snapshot, rows)
    result.playlist_id = snapshot.playlist_id
    result.name = snapshot.name
    result.items_total = transformed.items_total
    result.items_skipped = transformed.items_skipped
    result.tracks_loaded = loaded.rows_loaded
    result.rows_inserted = loaded.rows_inserted
    result.rows_updated = loaded.rows_updated
    result.rows_unchanged = loaded.rows_unchanged
    result.rows_removed = loaded.rows_removed
    record_version(result, loaded.version)
    result.status = Status.SUCCEEDED


def record_version(result, version):
    """Copy the version a load made (or None) into an ingest result."""
    if version is None:
        return
    result.history_version = version.version
    result.tracks_added = version.added
    result.tracks_removed = version.removed
    result.tracks_moved = version.moved


def _last_loaded_snapshot(playlist_id):
    return (
        Playlist.objects.filter(pk=playlist_id).values_list("snapshot_id", flat=True).first() or ""
    )

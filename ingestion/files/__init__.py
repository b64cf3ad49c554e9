"""Imports of the files people already have: Spotify account data exports,
Exportify CSVs and Million Playlist Dataset slices.

Each adapter turns a file into the same normalized PlaylistSnapshot the API
source produces, and one pipeline transforms and loads them all; every row
records its `source`. `ingest_path` is the entry point (the `ingest` command,
upload views): it never raises for a bad file, it reports it as a failed
IngestResult whose `error` says what is wrong and what to do; and a refused
file loads nothing.
"""

import functools
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ingestion.enrichment import fill_details
from ingestion.files.errors import InvalidImportFile
from ingestion.files.exportify import looks_like_exportify, read_exportify
from ingestion.files.mpd import (
    SLICE_FILE,
    read_slice,
    read_slice_document,
    slice_paths,
    slice_rows,
)
from ingestion.files.reading import too_deep
from ingestion.files.spotify_export import LIBRARY_FILE, PLAYLIST_FILE, iter_export
from ingestion.pipeline import IngestResult, Status, record_version, transform_and_load
from ingestion.snapshot import ItemKind
from ingestion.sources.spotify_api import noop_progress
from ingestion.transform import transform_snapshots, without_control_characters
from warehouse import index_deferral, summaries
from warehouse.bulk import count_ahead, load_new_playlists
from warehouse.loader import load_playlists
from warehouse.models import Source

__all__ = ["FORMATS", "InvalidImportFile", "detect_format", "ingest_path", "iter_ingest_path"]

FORMATS = (Source.SPOTIFY_EXPORT.value, Source.EXPORTIFY.value, Source.MPD.value)
_PEEK_BYTES = 64 * 1024
_ZIP_MAGIC = b"PK\x03\x04"


def detect_format(path) -> str:
    """ "spotify_export", "exportify" or "mpd", from the name and a peek at the content."""
    path = Path(path)
    if path.is_dir():
        return _directory_format(path)
    name, suffix = path.name, path.suffix.lower()
    if suffix == ".zip":
        return Source.SPOTIFY_EXPORT.value
    if suffix == ".csv":
        return Source.EXPORTIFY.value
    if SLICE_FILE.match(name):
        return Source.MPD.value
    return _sniffed_format(path)


def _sniffed_format(path):
    with path.open("rb") as file:
        head = file.read(_PEEK_BYTES)
    if head.startswith(_ZIP_MAGIC):
        return Source.SPOTIFY_EXPORT.value
    text = _peek_text(head)
    if text.lstrip().startswith("{"):
        # MPD slices open with "info" and carry "pid"s; anything else JSON is read
        # as an export, whose reader explains if it holds no playlists.
        is_mpd = '"pid"' in text or re.search(r'"slice"\s*:', text)
        return Source.MPD.value if is_mpd else Source.SPOTIFY_EXPORT.value
    if looks_like_exportify(text.partition("\n")[0]):
        return Source.EXPORTIFY.value
    raise InvalidImportFile(
        f"{path.name} is not a file this app imports. It reads the Spotify account data export "
        "(the ZIP, or Playlist1.json inside it), Exportify CSVs and Million Playlist Dataset "
        "slices (mpd.slice.*.json)."
    )


def _peek_text(head):
    encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    return head.decode(encoding, errors="ignore")


def _directory_format(path):
    formats = [file_format for file_format, _ in _directory_units(path, None)]
    if not formats:
        raise _nothing_to_import(path)
    return formats[0]


def ingest_path(
    path, *, format: str | None = None, owner_key: str = "", progress: Callable = noop_progress
) -> list[IngestResult]:
    """Import a file or a directory of files; one IngestResult per playlist (or per
    refused file). See `iter_ingest_path` for whole-dataset imports."""
    return list(iter_ingest_path(path, format=format, owner_key=owner_key, progress=progress))


def iter_ingest_path(
    path, *, format: str | None = None, owner_key: str = "", progress: Callable = noop_progress
) -> Iterator[IngestResult]:
    """Like `ingest_path`, yielding results as each file is loaded, so a million MPD
    playlists never pile up in memory.

    `format` forces a format (one of FORMATS) instead of detecting it; `owner_key`
    (e.g. the uploading user's id) keeps different people's exports apart, since
    export playlists have no ids of their own (see `identity`).

    The warehouse-wide counts' log (`warehouse.summaries`) is folded after every
    IMPORT_FOLD_EVERY_SLICES files and at the end: the counts are exact either
    way, but a long unfolded log makes their reads slow and the fold's memory
    grows with it; folded, what the slices since the last fold share is upserted
    once instead of once a slice.

    A first import of a whole dataset (IMPORT_DEFER_INDEXES_SLICES slices or
    more, at least doubling the warehouse) loads without the warehouse's
    secondary indexes and builds them at its end (`warehouse.index_deferral`;
    progress step "indexes").
    """
    path = Path(path)
    try:
        units = _units(path, format)
    except (InvalidImportFile, OSError) as error:
        yield _refused(path, error)
        return
    slices = sum(1 for unit_format, _ in units if unit_format == Source.MPD.value)
    with index_deferral.deferred(slices, progress):
        yield from _ingest_units(path, units, owner_key=owner_key, progress=progress)


def _ingest_units(path, units, *, owner_key, progress):
    """Each unit imported (or refused) in turn, the counts' log folded as it goes."""
    slices = _SliceReader([paths[0] for unit_format, paths in units if unit_format == "mpd"])
    try:
        for done, (unit_format, paths) in enumerate(units):
            progress("files", done, len(units))
            importer = _IMPORTERS[unit_format]
            if unit_format == Source.MPD.value:
                importer = functools.partial(_import_mpd, slices=slices)
            try:
                yield from importer(paths, owner_key=owner_key, progress=progress)
            except (InvalidImportFile, OSError) as error:
                yield _refused(paths[0] if len(paths) == 1 else path, error)
            except RecursionError:
                # Deep nesting that parsed can still be too deep for what follows
                # (hashing a playlist's items recurses as deep as they nest).
                unit = paths[0] if len(paths) == 1 else path
                yield _refused(unit, too_deep(unit.name))
            if _fold_now(done + 1, len(units)):
                summaries.fold()
    finally:
        slices.close()
    summaries.fold()
    progress("files", len(units), len(units))


def _fold_now(imported: int, units: int) -> bool:
    """After this many files of an import: fold the counts' log now? (Not after
    the last: the end of the import folds.)"""
    every = int(settings.IMPORT_FOLD_EVERY_SLICES)
    return every > 0 and imported % every == 0 and imported < units


def _units(path, file_format):
    """(format, paths) pairs, each imported (or refused) as a whole."""
    if file_format is not None and file_format not in FORMATS:
        raise InvalidImportFile(f"Unknown format {file_format!r}: use one of {', '.join(FORMATS)}.")
    if not path.exists():
        raise InvalidImportFile(f"{path} does not exist.")
    if path.is_dir():
        units = _directory_units(path, file_format)
        if not units:
            raise _nothing_to_import(path)
        return units
    return [(file_format or detect_format(path), [path])]


def _directory_units(path, file_format):
    """MPD slices one by one, each export folder's Playlist*.json together (one
    export), each ZIP and each CSV alone."""
    files = sorted(child for child in path.rglob("*") if child.is_file())
    exports = {}
    units = [(Source.MPD.value, [slice_path]) for slice_path in slice_paths(path)]
    for child in files:
        if PLAYLIST_FILE.search(child.name) or LIBRARY_FILE.search(child.name):
            exports.setdefault(child.parent, []).append(child)
        elif child.suffix.lower() == ".zip":
            units.append((Source.SPOTIFY_EXPORT.value, [child]))
        elif child.suffix.lower() == ".csv":
            units.append((Source.EXPORTIFY.value, [child]))
    units += [(Source.SPOTIFY_EXPORT.value, paths) for paths in exports.values()]
    return [unit for unit in units if file_format in (None, unit[0])]


def _nothing_to_import(path):
    return InvalidImportFile(
        f"{path} holds no files to import: expected a Spotify export (ZIP or Playlist*.json), "
        "Exportify CSVs, or Million Playlist Dataset slices (mpd.slice.*.json)."
    )


def _refused(path, error):
    message = str(error) if isinstance(error, InvalidImportFile) else f"Cannot read {path}: {error}"
    return IngestResult(reference=str(path), status=Status.FAILED, error=message)


def _import_export(paths, *, owner_key, progress):
    """The playlist files one at a time (each read, loaded and released before
    the next), in one transaction: a bad one anywhere leaves none of them loaded."""
    results = []
    with transaction.atomic():
        for playlists in iter_export(paths, owner_key=owner_key):
            # The total is what the files read so far hold: the rest are not read yet.
            total = len(results) + len(playlists)
            for reference, snapshot in playlists:
                results.append(
                    _load_one(reference, snapshot, progress, done=len(results), total=total)
                )
            del playlists
        if not results:
            raise InvalidImportFile(
                f"{paths[0].name} holds no playlists and no saved tracks (Liked Songs). "
                "Is it the Spotify account data export? Playlists are in the “Account "
                "data” part of “Download your data”."
            )
    progress("playlists", len(results), len(results))
    return results


def _import_exportify(paths, *, owner_key, progress):
    snapshot = read_exportify(paths[0], owner_key=owner_key)
    return [_load_one(str(paths[0]), snapshot, progress, done=0, total=1)]


def _load_one(reference, snapshot, progress, *, done, total):
    progress("playlists", done, total)
    started = time.monotonic()
    result = IngestResult(reference=reference)
    # Details an earlier enrichment fetched for these tracks (from the caches,
    # no API call): re-importing an enriched export keeps them.
    transform_and_load(snapshot, result, complete=fill_details)
    result.library = dict(snapshot.library)
    _say_what_was_unreadable(result)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _say_what_was_unreadable(result):
    """A file whose track items all failed to read is not a success with 0
    tracks: the run says how many items it could not read, and why."""
    unreadable = result.items_skipped.get(ItemKind.UNAVAILABLE.value, 0)
    if result.tracks_loaded or not unreadable:
        return
    result.status = Status.PARTIAL
    result.error = (
        f"{unreadable} of the {result.items_total} items of {result.name!r} could not be read: "
        "they name no track (no track URI and no track name), so no track was loaded. "
        "Download the export again; if they stay empty, Spotify removed those tracks."
    )


def _import_mpd(paths, *, owner_key, progress, slices=None):
    """One slice per call: read and validate it all, then load it in one transaction.

    A slice of playlists new to the warehouse (a first import) goes from the file
    to COPY as columns (`warehouse.bulk`); anything else (a re-import, a slice
    with control characters to strip) takes the snapshot path, which handles
    refreshes. Both write the same rows, versions, spans and counts."""
    started = time.monotonic()
    columns = (slices or _SliceReader([])).columns(paths[0])
    if columns is not None:
        batch, unavailable = columns
        progress("playlists", 0, len(batch.playlist_ids))
        versions = load_new_playlists(batch)
        if versions is not None:
            progress("playlists", len(batch.playlist_ids), len(batch.playlist_ids))
            return _bulk_new_results(str(paths[0]), batch, unavailable, versions, started)
        del batch, columns
    snapshots = [without_control_characters(snapshot) for snapshot in read_slice(paths[0])]
    progress("playlists", 0, len(snapshots))
    # One pandas pass for the whole slice: ~12× faster than playlist by playlist.
    transformed = transform_snapshots(snapshots)
    loaded = load_playlists(
        [(snapshot, result.rows) for snapshot, result in zip(snapshots, transformed, strict=True)]
    )
    progress("playlists", len(snapshots), len(snapshots))
    seconds = _share(started, len(snapshots))
    return [
        _bulk_result(str(paths[0]), snapshot, rows, load, seconds)
        for snapshot, rows, load in zip(snapshots, transformed, loaded, strict=True)
    ]


class _SliceReader:
    """MPD slices as columns for the bulk path, read one slice ahead in a thread.

    While a slice loads, its process mostly waits on the database (psycopg2 and
    sqlite3 release the GIL), so the next slice's parse, rows and content hashes
    (a third of a slice's time) are done meanwhile. One slice ahead at most: its
    columns, not its parsed JSON, are what waits (the document is freed once read).
    """

    def __init__(self, paths):
        self._next = {path: later for path, later in zip(paths, paths[1:], strict=False)}
        self._executor = ThreadPoolExecutor(max_workers=1) if len(paths) > 1 else None
        self._pending = {}

    def columns(self, path):
        """`slice_rows` of the slice at `path`, or None: the snapshot path must read it."""
        future = self._pending.pop(path, None)
        try:
            return future.result() if future is not None else _slice_columns(path)
        finally:
            later = self._next.get(path)
            if self._executor is not None and later is not None:
                self._pending[later] = self._executor.submit(_slice_columns, later)

    def close(self):
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


def _slice_columns(path):
    if not settings.IMPORT_MPD_BULK:
        return None
    document, plain = read_slice_document(path)
    if not plain:
        return None
    columns = slice_rows(document, path)
    if columns is not None:
        # Counted here, in the reader thread, while the slice before loads.
        count_ahead(columns[0])
    return columns


def _share(started, playlists):
    # The slice loads as one unit; each playlist is credited an equal share of its time.
    return round((time.monotonic() - started) / max(1, playlists), 3)


def _bulk_new_results(reference, batch, unavailable, versions, started):
    """What `_bulk_result` says of a first load, for a slice loaded from columns."""
    seconds = _share(started, len(batch.playlist_ids))
    results = []
    for index, version in enumerate(versions):
        result = IngestResult(
            reference=reference,
            playlist_id=batch.playlist_ids[index],
            name=batch.names[index],
            status=Status.SUCCEEDED,
            tracks_loaded=batch.row_counts[index],
            items_total=batch.total_items[index],
            items_skipped=(
                {ItemKind.UNAVAILABLE.value: unavailable[index]} if unavailable[index] else {}
            ),
            rows_inserted=batch.row_counts[index],
            rows_updated=0,
            rows_unchanged=0,
            rows_removed=0,
            seconds=seconds,
        )
        record_version(result, version)
        results.append(result)
    return results


def _bulk_result(reference, snapshot, transformed, loaded, seconds):
    result = IngestResult(
        reference=reference,
        playlist_id=snapshot.playlist_id,
        name=snapshot.name,
        status=Status.SUCCEEDED,
        tracks_loaded=loaded.rows_loaded,
        items_total=transformed.items_total,
        items_skipped=transformed.items_skipped,
        rows_inserted=loaded.rows_inserted,
        rows_updated=loaded.rows_updated,
        rows_unchanged=loaded.rows_unchanged,
        rows_removed=loaded.rows_removed,
        seconds=seconds,
    )
    record_version(result, loaded.version)
    return result


_IMPORTERS = {
    Source.SPOTIFY_EXPORT.value: _import_export,
    Source.EXPORTIFY.value: _import_exportify,
    Source.MPD.value: _import_mpd,
}

"""Imports of the files people already have: Spotify account data exports,
Exportify CSVs and Million Playlist Dataset slices.

Each adapter turns a file into the same normalized PlaylistSnapshot the API
source produces, and one pipeline transforms and loads them all; every row
records its `source`. `ingest_path` is the entry point (the `ingest` command,
upload views): it never raises for a bad file, it reports it as a failed
IngestResult whose `error` says what is wrong and what to do; and a refused
file loads nothing.

MPD slices load one transaction each. On PostgreSQL, outside a transaction,
IMPORT_PARALLEL_SLICES of them load at once (`_ParallelSlices`: each read,
parsed and loaded on a worker thread with its own connection); their results,
progress and folds of the counts' log still come on the caller's thread, in
file order, each after every slice before it has committed. Otherwise (SQLite,
a caller's atomic block, the setting at 1) one at a time, the next read ahead
(`_SliceReader`). The snapshot path and the other formats run on the caller's
thread.
"""

import collections
import functools
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, connections, transaction

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
    progress step "indexes"); it folds every IMPORT_FOLD_EVERY_SLICES_DEFERRED
    files instead.
    """
    path = Path(path)
    try:
        units = _units(path, format)
    except (InvalidImportFile, OSError) as error:
        yield _refused(path, error)
        return
    with index_deferral.deferred(len(_slice_paths(units)), progress) as deferring:
        # Ten folds of ten slices cost twice one fold of a hundred (docs/benchmarks.md):
        # fold less often while the pages across playlists are slower anyway.
        fold_every = int(
            settings.IMPORT_FOLD_EVERY_SLICES_DEFERRED
            if deferring
            else settings.IMPORT_FOLD_EVERY_SLICES
        )
        yield from _ingest_units(
            path, units, owner_key=owner_key, progress=progress, fold_every=fold_every
        )


def _ingest_units(path, units, *, owner_key, progress, fold_every):
    """Each unit imported (or refused) in turn, the counts' log folded as it goes.

    MPD slices may load several at once (`_slice_loader`); their results and
    progress still come here, in file order, and so do the folds: after a
    slice's results, every slice before it has committed."""
    slices = _slice_loader(_slice_paths(units))
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
            if _fold_now(done + 1, len(units), every=fold_every):
                summaries.fold()
    finally:
        slices.close()
    summaries.fold()
    progress("files", len(units), len(units))


def _slice_paths(units):
    """The MPD slices among an import's units, in order."""
    return [paths[0] for unit_format, paths in units if unit_format == Source.MPD.value]


def _fold_now(imported: int, units: int, *, every: int) -> bool:
    """After this many files of an import: fold the counts' log now? (Not after
    the last: the end of the import folds.)"""
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
    refreshes, here on the caller's thread. Both write the same rows, versions,
    spans and counts."""
    started = time.monotonic()
    with (slices or _SliceReader([])).bulk_loaded(paths[0], progress=progress) as results:
        if results is not None:
            return results
        return _import_snapshots(paths[0], progress=progress, started=started)


def _import_snapshots(path, *, progress, started):
    """The snapshot path: a slice's playlists read, transformed and loaded by `load_playlists`."""
    snapshots = [without_control_characters(snapshot) for snapshot in read_slice(path)]
    progress("playlists", 0, len(snapshots))
    # One pandas pass for the whole slice: ~12× faster than playlist by playlist.
    transformed = transform_snapshots(snapshots)
    loaded = load_playlists(
        [(snapshot, result.rows) for snapshot, result in zip(snapshots, transformed, strict=True)]
    )
    progress("playlists", len(snapshots), len(snapshots))
    seconds = _share(started, len(snapshots))
    return [
        _bulk_result(str(path), snapshot, rows, load, seconds)
        for snapshot, rows, load in zip(snapshots, transformed, loaded, strict=True)
    ]


def _bulk_import(path, columns, *, progress, started):
    """The slice's results if the bulk path loaded its `columns`; None: the
    snapshot path must load it (no columns, or a playlist already stored)."""
    if columns is None:
        return None
    batch, unavailable = columns
    progress("playlists", 0, len(batch.playlist_ids))
    versions = load_new_playlists(batch)
    if versions is None:
        return None
    progress("playlists", len(batch.playlist_ids), len(batch.playlist_ids))
    return _bulk_new_results(str(path), batch, unavailable, versions, started)


def _slice_loader(paths):
    """How an import's MPD slices load: IMPORT_PARALLEL_SLICES at a time on
    PostgreSQL (`_ParallelSlices`), else one at a time, the next read ahead
    (`_SliceReader`): SQLite has one writer, and inside a transaction (a caller's
    atomic block) the slices must share its one connection."""
    workers = min(int(settings.IMPORT_PARALLEL_SLICES), len(paths))
    if workers > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _ParallelSlices(paths, workers)
    return _SliceReader(paths)


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

    @contextmanager
    def bulk_loaded(self, path, *, progress):
        """The slice's results if the bulk path loaded it, here; None: load it
        with the snapshot path (inside the `with`)."""
        started = time.monotonic()
        columns = self.columns(path)
        results = _bulk_import(path, columns, progress=progress, started=started)
        del columns  # not held while the snapshot path reads the slice again
        yield results

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


@dataclass(eq=False)
class _InFlight:
    """One slice of a parallel import, from its submission to its results."""

    path: Path
    # The slices before it still in flight when it was submitted.
    earlier: list["_InFlight"]
    # Its playlists once read (None: unread, unreadable, or not read as columns).
    playlist_ids: frozenset[str] | None = None
    read: threading.Event = field(default_factory=threading.Event)
    # Set once nothing more of it will be written (loaded, refused, or given up).
    settled: threading.Event = field(default_factory=threading.Event)
    # The snapshot path loads it, on the caller's thread: settled there.
    left_to_caller: bool = False
    future: Future | None = None


@dataclass
class _Outcome:
    """What a worker did with a slice: its results (None: the snapshot path must
    load it) and the progress it would have reported, for the caller to report."""

    results: list[IngestResult] | None
    progress: list[tuple]


class _ParallelSlices:
    """MPD slices read, parsed and bulk-loaded `workers` at a time, each on its own
    thread, with its own connection and transaction (PostgreSQL only): a slice's
    Python (parse, rows, counts: ~1.1 s of CPU) runs while another's statements
    run on the server, instead of the two taking turns.

    The caller takes the slices in file order (`bulk_loaded`) and gets each one's
    results and progress on its own thread; the next slice is submitted as one is
    taken, so at most `workers` slices are in memory. A slice the bulk path does
    not take (a re-import, control characters, an irregular slice) comes back
    unloaded and is loaded by the snapshot path on the caller's thread, in order.

    Same tables as one at a time: a slice sharing playlists with an earlier one
    still in flight (two copies of a slice, overlapping files) waits until that
    one is settled before loading, so the earlier file is loaded first, as
    serially. Its worker waits only on earlier slices, which wait on none later.
    """

    def __init__(self, paths, workers):
        self._waiting = iter(paths)
        self._in_flight: collections.deque[_InFlight] = collections.deque()
        self._stopping = threading.Event()
        # One slice read at a time: the read is Python holding the GIL, so two at
        # once are no faster, and they would keep the workers in step (both
        # reading, then both loading) instead of one reading while others load.
        self._reading = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mpd-slice")
        for _ in range(workers):
            self._submit_next()

    def _submit_next(self):
        path = next(self._waiting, None)
        if path is None or self._stopping.is_set():
            return
        task = _InFlight(path=path, earlier=list(self._in_flight))
        task.future = self._executor.submit(self._load, task)
        self._in_flight.append(task)

    @contextmanager
    def bulk_loaded(self, path, *, progress):
        """As `_SliceReader.bulk_loaded`, for the oldest slice in flight (`path`):
        its worker's results once it is done, with its progress reported here."""
        task = self._in_flight.popleft()
        if task.path != path:
            raise RuntimeError(f"MPD slices taken out of order: {path}, expected {task.path}")
        try:
            try:
                outcome = task.future.result()
            except (InvalidImportFile, OSError, RecursionError):
                self._submit_next()  # refused in its place: the import goes on
                raise
            self._submit_next()
            for call in outcome.progress:
                progress(*call)
            yield outcome.results
        finally:
            task.settled.set()

    def _load(self, task):
        """On a worker: read the slice, wait for the earlier slices it shares
        playlists with, load it in its own transaction."""
        calls = []
        try:
            with self._reading:
                started = time.monotonic()
                columns = None if self._stopping.is_set() else _slice_columns(task.path)
            if columns is not None:
                task.playlist_ids = frozenset(columns[0].playlist_ids)
            task.read.set()
            self._wait_for_earlier(task)
            if self._stopping.is_set():
                task.left_to_caller = True  # given up: settled by `close`
                return _Outcome(results=None, progress=calls)
            results = _bulk_import(
                task.path, columns, progress=lambda *call: calls.append(call), started=started
            )
            task.left_to_caller = results is None
            return _Outcome(results=results, progress=calls)
        finally:
            task.read.set()
            if not task.left_to_caller:
                task.settled.set()
            task.earlier = []  # or each slice would keep every one before it alive
            # This thread's connection, closed with its slice: nothing is left
            # open when the pool's threads end (and a new one is cheap next to a slice).
            connections.close_all()

    def _wait_for_earlier(self, task):
        for earlier in task.earlier:
            earlier.read.wait()
            shared = earlier.playlist_ids is None or task.playlist_ids is None
            if shared or earlier.playlist_ids & task.playlist_ids:
                earlier.settled.wait()

    def close(self):
        """Stop taking slices and wait for those loading (each commits or rolls
        back as a whole): none is left half-written, and no thread outlives the
        import. A slice waiting on one the caller will not load now gives up."""
        self._stopping.set()
        for task in self._in_flight:
            task.settled.set()  # wakes the waiting: they find the import stopping
        self._executor.shutdown(wait=True, cancel_futures=True)


def _slice_columns(path):
    if not settings.IMPORT_MPD_BULK:
        return None
    document, plain = read_slice_document(path)
    if not plain:
        return None
    columns = slice_rows(document, path)
    if columns is not None:
        # Counted here, off the loading thread: in the reader thread while the
        # slice before loads, or on a parallel import's worker before its load.
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

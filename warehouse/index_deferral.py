"""A first import of a whole dataset loads without the secondary indexes, built once at its end.

Every row an MPD slice writes is an entry in each index of `playlist_tracks` and
`playlist_track_spans`. Past a few million rows the secondary ones (DEFERRABLE:
what serves the pages across playlists and the diffs, none of what a load
reads) cost most of a slice's server time, and more the bigger they grow
(measured at 6.35 M rows: the rows' INSERT 1.62–1.78 s a slice with them, 0.34–
0.40 s without; docs/benchmarks.md). Built once from the finished table they
cost a sort each instead.

So an import of at least IMPORT_DEFER_INDEXES_SLICES slices that at least
doubles the warehouse (`wanted`), on PostgreSQL, drops them and builds them
again at its end with `CREATE INDEX CONCURRENTLY` (reads and other loads go on
meanwhile; their pages across playlists are slower until the build ends). What
keeps that safe when an import dies half-way:

- each definition is recorded (`DeferredIndex`) in the transaction that drops
  the index: a record exists exactly while its index is missing;
- a live import holds a session advisory lock on its own connection for its
  whole length; a second import that cannot take it loads with the indexes;
- the reaper (`restore_abandoned`, on its schedule) takes the same lock: if it
  gets it, no import is running and whatever is recorded is built again.

The builds report progress (step "indexes") every INGEST_HEARTBEAT_SECONDS, so
a build longer than INGEST_STALE_AFTER_SECONDS does not look like a dead run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from warehouse.history import SPANS
from warehouse.models import DeferredIndex, Playlist
from warehouse.schema import PRESENT_INDEX, TABLE, TRACK_PRESENT_INDEX, build_index_concurrently

logger = logging.getLogger(__name__)

# (table, index): only indexes no load reads (a load reads by playlist, through
# the primary keys); the primary keys and unique constraints always stay.
DEFERRABLE = (
    (TABLE, PRESENT_INDEX),
    (TABLE, TRACK_PRESENT_INDEX),
    (SPANS, "playlist_track_spans_from"),
    (SPANS, "playlist_track_spans_order"),
)
# "PAIX": one import at a time defers; the reaper rebuilds only when none does.
_LOCK_KEY = 0x50414958
# Playlists in an MPD slice: what `wanted` weighs the import against the warehouse by.
PLAYLISTS_PER_SLICE = 1000

Progress = Callable[[str, int, int], None]


def _noop(step: str, done: int, total: int) -> None:
    pass


def wanted(slices: int) -> bool:
    """Is an import of this many MPD slices worth loading without the indexes?"""
    threshold = int(settings.IMPORT_DEFER_INDEXES_SLICES)
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block  # the drop must commit before the loads
        and threshold > 0
        and slices >= threshold
        and slices * PLAYLISTS_PER_SLICE >= Playlist.objects.count()
    )


@contextmanager
def deferred(slices: int, progress: Progress = _noop) -> Iterator[bool]:
    """Around an import of `slices` MPD slices: without the DEFERRABLE indexes
    when `wanted`, built again at the end (also when the import raised).
    Yields whether the indexes are deferred."""
    if not wanted(slices):
        yield False
        return
    holder = _locked_connection()
    if holder is None:  # another import defers: load with what exists
        yield False
        return
    try:
        _drop(holder)
        yield True
    finally:
        try:
            _build_recorded(holder, progress)
        finally:
            _unlock(holder)


def restore_abandoned() -> int:
    """Build again the indexes a dead import left dropped; how many (0 while an
    import is running: it builds them at its end)."""
    if connection.vendor != "postgresql" or not DeferredIndex.objects.exists():
        return 0
    holder = _locked_connection()
    if holder is None:
        return 0
    try:
        return _build_recorded(holder, _noop)
    finally:
        _unlock(holder)


# --- the lock's own connection ------------------------------------------------------------
# A session lock on a connection of its own: the import's connection may be
# closed and opened again by Django between its transactions (CONN_MAX_AGE,
# errors), and a session lock goes with its connection. Its builds run on a
# worker thread (the caller reports progress meanwhile), hence thread sharing.
def _locked_connection() -> BaseDatabaseWrapper | None:
    holder = connection.copy()
    holder.inc_thread_sharing()
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        locked = cursor.fetchone()[0]
    if not locked:
        _close(holder)
        return None
    return holder


def _unlock(holder: BaseDatabaseWrapper) -> None:
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
    finally:
        _close(holder)  # closing ends the session, and its lock, regardless


def _close(holder: BaseDatabaseWrapper) -> None:
    holder.close()
    holder.dec_thread_sharing()


# --- drop and build -------------------------------------------------------------------------
# Raw SQL on the lock's connection: the ORM's `using()` would pick the thread's
# own connection of the same alias, not this one.
RECORDS = DeferredIndex._meta.db_table


def _drop(holder: BaseDatabaseWrapper) -> None:
    """Record and drop each DEFERRABLE index that exists, in one transaction."""
    dropped = []
    with _transaction(holder) as cursor:
        for table, name in DEFERRABLE:
            definition = _definition(cursor, name)
            if definition is None:
                continue  # dropped already (a dead import's, recorded) or never built
            dropped.append(name)
            cursor.execute(
                f"INSERT INTO {RECORDS} (name, table_name, definition, dropped_at) "
                "VALUES (%s, %s, %s, now()) ON CONFLICT (name) DO UPDATE "
                "SET definition = EXCLUDED.definition, dropped_at = EXCLUDED.dropped_at",
                [name, table, definition],
            )
            cursor.execute(f"DROP INDEX {name}")
    logger.info("indexes dropped for the import: %s", ", ".join(dropped) or "none")


@contextmanager
def _transaction(holder: BaseDatabaseWrapper) -> Iterator[CursorWrapper]:
    holder.set_autocommit(False)
    try:
        with holder.cursor() as cursor:
            yield cursor
        holder.commit()
    except BaseException:
        holder.rollback()
        raise
    finally:
        holder.set_autocommit(True)


def _definition(cursor: CursorWrapper, name: str) -> str | None:
    # NULL for a name that is no index.
    cursor.execute("SELECT pg_get_indexdef(to_regclass(%s))", [name])
    definition = cursor.fetchone()[0]
    return None if definition is None else str(definition)


def _recorded(holder: BaseDatabaseWrapper) -> list[tuple[str, str]]:
    with holder.cursor() as cursor:
        cursor.execute(f"SELECT name, definition FROM {RECORDS} ORDER BY name")
        return [(name, definition) for name, definition in cursor.fetchall()]


def _build_recorded(holder: BaseDatabaseWrapper, progress: Progress) -> int:
    """Build each recorded index (CONCURRENTLY, in autocommit) and drop its
    record; progress is reported on the caller's thread while each builds."""
    recorded = _recorded(holder)
    report = _Reporter(progress, total=len(recorded))
    interval = max(0.01, float(settings.INGEST_HEARTBEAT_SECONDS))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-build") as builder:
        for done, (name, definition) in enumerate(recorded):
            report(done)
            build = builder.submit(_build, holder, name, definition)
            while not _ended(build, interval):
                report(done)
            build.result()
    report(len(recorded))
    report.raise_if_failed()
    return len(recorded)


def _ended(build: Future, seconds: float) -> bool:
    try:
        build.exception(timeout=seconds)
    except TimeoutError:
        return False
    return True


class _Reporter:
    """Progress during the builds. If reporting raises (the run was cancelled or
    reaped meanwhile), the builds go on all the same, since the indexes must come
    back, and the error is raised once they are built."""

    def __init__(self, progress: Progress, *, total: int):
        self.progress, self.total = progress, total
        self.error: BaseException | None = None

    def __call__(self, done: int) -> None:
        if self.error is not None:
            return
        try:
            self.progress("indexes", done, self.total)
        except Exception as error:
            self.error = error

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error


def _build(holder: BaseDatabaseWrapper, name: str, definition: str) -> None:
    memory = f"{int(settings.IMPORT_INDEX_BUILD_MEMORY_MB)}MB"
    with holder.cursor() as cursor:
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [memory])
        build_index_concurrently(cursor, name, definition)
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute(f"DELETE FROM {RECORDS} WHERE name = %s", [name])
    logger.info("index %s built again", name)

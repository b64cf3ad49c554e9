"""A first import of a dataset loads without the secondary indexes and builds them
at its end (`warehouse.index_deferral`), on real PostgreSQL: what is dropped and
when, that every index comes back as it was (after an import that failed, from
the reaper after one that died, over an invalid half-built one), the lock that
keeps two imports and the reaper apart, and progress during the builds."""

import pytest
from django.db import connection, transaction

from devtools.synthetic.mpd import generate_slices
from ingestion import tasks
from ingestion.files import ingest_path, iter_ingest_path
from warehouse import index_deferral, summaries
from warehouse.index_deferral import DEFERRABLE
from warehouse.models import DeferredIndex, Playlist, PlaylistTrack

pytestmark = [pytest.mark.django_db(transaction=True)]
postgres_only = pytest.mark.postgres_only
NAMES = [name for _, name in DEFERRABLE]


@pytest.fixture(autouse=True)
def _defer_from_two_slices(settings):
    settings.IMPORT_DEFER_INDEXES_SLICES = 2
    settings.INGEST_HEARTBEAT_SECONDS = 0  # a heartbeat every 10 ms while a build runs


@pytest.fixture(autouse=True)
def _indexes_back_after_each_test():
    """A failing test must not leave the next ones without indexes."""
    yield
    if connection.vendor == "postgresql":
        index_deferral.restore_abandoned()


def _indexes():
    """{name: (definition, valid)} of the DEFERRABLE indexes that exist."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(c.oid), i.indisvalid FROM pg_class c "
            "JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = ANY(%s)",
            [NAMES],
        )
        return {name: (definition, valid) for name, definition, valid in cursor.fetchall()}


def _slices(tmp_path, count=3):
    return generate_slices(tmp_path / "mpd", slices=count, playlists_per_slice=20, seed=5)


def _other_connection():
    other = connection.copy()
    other.ensure_connection()
    return other


@postgres_only
def test_an_import_loads_without_the_indexes_and_builds_them_as_they_were(tmp_path):
    before = _indexes()
    assert sorted(before) == sorted(NAMES) and all(valid for _, valid in before.values())
    seen_during_loads, steps = [], []

    def progress(step, done, total):
        steps.append(step)
        if step == "playlists":
            seen_during_loads.append((set(_indexes()), DeferredIndex.objects.count()))

    _slices(tmp_path)
    results = ingest_path(tmp_path / "mpd", progress=progress)

    assert {result.status for result in results} == {"succeeded"}
    assert seen_during_loads and all(found == (set(), 4) for found in seen_during_loads)
    assert _indexes() == before  # the same definitions, valid
    assert not DeferredIndex.objects.exists()
    assert steps.index("indexes") > max(i for i, step in enumerate(steps) if step == "playlists")
    assert PlaylistTrack.objects.count() == sum(result.tracks_loaded for result in results)


@postgres_only
def test_an_import_below_the_threshold_or_into_a_bigger_warehouse_keeps_them(tmp_path, settings):
    settings.IMPORT_DEFER_INDEXES_SLICES = 4
    assert not index_deferral.wanted(3)
    settings.IMPORT_DEFER_INDEXES_SLICES = 0
    assert not index_deferral.wanted(1_000)
    settings.IMPORT_DEFER_INDEXES_SLICES = 2
    assert index_deferral.wanted(2)
    with transaction.atomic():  # the drop could not commit before the loads
        assert not index_deferral.wanted(2)
    Playlist.objects.bulk_create(
        Playlist(playlist_id=f"p{i}", name="", snapshot_id="s") for i in range(2_001)
    )
    assert not index_deferral.wanted(2)  # 2,000 playlists would not double 2,001
    assert index_deferral.wanted(3)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="what SQLite does")
def test_sqlite_never_defers(tmp_path):
    assert not index_deferral.wanted(1_000)
    with index_deferral.deferred(1_000) as deferring:
        assert deferring is False


@postgres_only
def test_an_import_that_fails_half_way_still_builds_them(tmp_path):
    _slices(tmp_path)
    imported = iter_ingest_path(tmp_path / "mpd")
    next(imported)
    assert set(_indexes()) == set()
    with pytest.raises(RuntimeError):
        imported.throw(RuntimeError("the worker was stopped"))
    assert sorted(_indexes()) == sorted(NAMES)
    assert not DeferredIndex.objects.exists()


@postgres_only
def test_a_second_import_while_one_defers_loads_with_what_exists():
    with index_deferral.deferred(2) as first:
        assert first is True
        with index_deferral.deferred(2) as second:
            assert second is False
        assert set(_indexes()) == set()  # the second did not build the first's
    assert sorted(_indexes()) == sorted(NAMES)


@postgres_only
def test_the_reaper_builds_what_a_dead_import_left_and_waits_for_a_live_one():
    before = _indexes()
    dead = index_deferral._locked_connection()
    index_deferral._drop(dead)
    index_deferral._close(dead)  # the process died: its session, and its lock, are gone
    assert set(_indexes()) == set() and DeferredIndex.objects.count() == 4

    live = _other_connection()
    with live.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [index_deferral._LOCK_KEY])
    try:
        assert index_deferral.restore_abandoned() == 0  # an import is running
        assert set(_indexes()) == set()
    finally:
        live.close()

    assert tasks.reap_stale_runs().endswith("4 deferred indexes rebuilt")
    assert _indexes() == before
    assert not DeferredIndex.objects.exists()
    assert index_deferral.restore_abandoned() == 0  # nothing left to do


@postgres_only
def test_an_import_after_a_dead_one_builds_its_indexes_too(tmp_path):
    before = _indexes()
    dead = index_deferral._locked_connection()
    index_deferral._drop(dead)
    index_deferral._close(dead)
    _slices(tmp_path, count=2)
    ingest_path(tmp_path / "mpd")
    assert _indexes() == before and not DeferredIndex.objects.exists()


@postgres_only
def test_an_invalid_index_a_failed_build_left_is_built_again(tmp_path):
    before = _indexes()
    name = NAMES[0]
    holder = index_deferral._locked_connection()
    try:
        index_deferral._drop(holder)
        _two_rows_with_the_same_source()
        # A concurrent unique build over duplicates fails, leaving its index invalid.
        with holder.cursor() as cursor, pytest.raises(Exception, match="could not create"):
            cursor.execute(f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON playlist_tracks (source)")
        assert _indexes()[name][1] is False
        index_deferral._build_recorded(holder, index_deferral._noop)
    finally:
        index_deferral._unlock(holder)
    assert _indexes() == before


def _two_rows_with_the_same_source():
    with connection.cursor() as cursor:
        for track in ("a", "b"):
            cursor.execute(
                "INSERT INTO playlist_tracks (playlist_id, track_id, position, source, "
                "first_seen_at, last_seen_at, loaded_at) "
                "VALUES ('p', %s, 1, 'mpd', now(), now(), now())",
                [track],
            )


@postgres_only
def test_progress_beats_while_an_index_builds_and_a_cancel_waits_for_the_builds():
    """A build blocked by another session's lock until the third heartbeat: the
    heartbeats come from the caller's thread while it waits, and when the
    heartbeat raises (the run was cancelled) every index is still built."""
    blocker = _other_connection()
    beats = []

    def progress(step, done, total):
        beats.append((step, done, total))
        if len(beats) == 3:
            blocker.commit()  # the build can go on now
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"), index_deferral.deferred(2, progress):
        # Dropped by now; each build waits for this lock to go.
        blocker.set_autocommit(False)
        with blocker.cursor() as cursor:
            # Should the heartbeats never come, the server ends the blocker and
            # the test fails on them instead of waiting forever.
            cursor.execute("SET idle_in_transaction_session_timeout = '20s'")
            cursor.execute(
                "LOCK TABLE playlist_tracks, playlist_track_spans IN SHARE UPDATE EXCLUSIVE MODE"
            )
    blocker.close()
    assert beats == [("indexes", 0, 4)] * 3  # all during the first build, then silence
    assert sorted(_indexes()) == sorted(NAMES)
    assert not DeferredIndex.objects.exists()


@postgres_only
@pytest.mark.parametrize(("defer_from", "folds"), [(2, 1), (0, 3)])
def test_an_import_without_the_indexes_folds_less_often(tmp_path, settings, defer_from, folds):
    """Folding every slice (IMPORT_FOLD_EVERY_SLICES=1): three folds of three
    slices, unless the import defers its indexes, which folds only at its end
    here (IMPORT_FOLD_EVERY_SLICES_DEFERRED=0)."""
    settings.IMPORT_DEFER_INDEXES_SLICES = defer_from
    settings.IMPORT_FOLD_EVERY_SLICES = 1
    settings.IMPORT_FOLD_EVERY_SLICES_DEFERRED = 0
    fold_ends = f"DELETE FROM {summaries.SUMMARY} WHERE entries = 0"  # every fold's last
    seen = []

    def counting(execute, sql, params, many, context):
        seen.append(sql == fold_ends)
        return execute(sql, params, many, context)

    _slices(tmp_path)
    with connection.execute_wrapper(counting):
        ingest_path(tmp_path / "mpd")
    assert sum(seen) == folds
    assert summaries.differences() == {}

"""MPD slices loaded IMPORT_PARALLEL_SLICES at a time (PostgreSQL): the same
tables, results, progress and folds as one at a time.

Each test imports the same generated folder one slice at a time, then in
parallel, in an emptied warehouse, and compares what each wrote and said. The
slices load on worker threads with their own connections and transactions, so
these tests commit for real (`transaction=True`): inside a test's transaction an
import is serial by design."""

import json
import shutil
import threading

import pytest
from django.db import DataError, connection, transaction

from devtools.synthetic.mpd import generate_slices
from ingestion.files import iter_ingest_path
from ingestion.files.mpd import slice_paths
from tests.ingestion.files.test_mpd_bulk import _empty_warehouse, _results, _state
from warehouse import summaries
from warehouse.models import Playlist, PlaylistVersion
from warehouse.signals import playlists_loaded

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.postgres_only

WORKER = "mpd-slice"  # the parallel import's threads' name prefix
# Every fold's last statement (a reload's too: these imports are first loads only).
FOLD_ENDS = f"DELETE FROM {summaries.SUMMARY} WHERE entries = 0"


@pytest.fixture
def folder(tmp_path):
    generate_slices(tmp_path / "mpd", slices=5, playlists_per_slice=12, seed=5)
    return tmp_path / "mpd"


@pytest.fixture(autouse=True)
def _emptied():
    _empty_warehouse()
    yield
    _empty_warehouse()


@pytest.fixture
def loading_threads():
    """The names of the threads `playlists_loaded` was sent on: where slices loaded."""
    names = []

    def receiver(sender, **kwargs):
        names.append(threading.current_thread().name)

    playlists_loaded.connect(receiver, dispatch_uid="test-mpd-parallel")
    yield names
    playlists_loaded.disconnect(dispatch_uid="test-mpd-parallel")


def _import(path, settings, *, parallel):
    """Import `path` with IMPORT_PARALLEL_SLICES=`parallel` into an emptied
    warehouse: what it said (results, progress, fold points) and wrote."""
    settings.IMPORT_PARALLEL_SLICES = parallel
    _empty_warehouse()
    caller = threading.get_ident()
    results, progress, folds = [], [], []

    def noted(*call):
        assert threading.get_ident() == caller, "progress reported off the caller's thread"
        progress.append(call)

    def fold_points(execute, sql, params, many, context):
        if sql == FOLD_ENDS:
            folds.append(len(results))  # a fold after this many results
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fold_points):
        for result in iter_ingest_path(path, progress=noted):
            results.append(result)
    assert summaries.differences() == {}
    said = [
        (result.reference, result.error, *row)
        for result, row in zip(results, _results(results), strict=True)
    ]
    return said, progress, folds, _state()


@postgres_only
def test_a_parallel_import_writes_and_says_what_one_at_a_time_does(folder, settings):
    settings.IMPORT_FOLD_EVERY_SLICES = 2
    serial = _import(folder, settings, parallel=1)
    for workers in (2, 3):
        assert _import(folder, settings, parallel=workers) == serial, workers
    said, progress, folds, state = serial
    assert len(said) == 60 and len(state["playlist_versions"]) == 60
    # In file order, a slice's playlists together.
    assert list(dict.fromkeys(reference for reference, *_ in said)) == [
        str(path) for path in slice_paths(folder)
    ]
    assert progress[0] == ("files", 0, 5) and progress[-1] == ("files", 5, 5)
    # Folded after slices 2 and 4 (12 playlists each) and at the end.
    assert folds == [24, 48, 60]


@postgres_only
def test_slices_load_on_workers_and_each_is_committed_before_its_results(
    folder, settings, loading_threads
):
    settings.IMPORT_PARALLEL_SLICES = 2
    seen = []
    for result in iter_ingest_path(folder):
        seen.append(result.playlist_id)
        # Read on the caller's own connection: everything before it is committed.
        assert Playlist.objects.filter(pk__in=seen).count() == len(seen)
    assert len(loading_threads) == 5
    assert all(name.startswith(WORKER) for name in loading_threads)
    assert not [thread for thread in threading.enumerate() if thread.name.startswith(WORKER)]


@postgres_only
def test_a_bad_slice_is_refused_in_its_place_and_the_others_load(folder, settings):
    paths = slice_paths(folder)
    paths[1].write_text('{"info": {}, "playlists": [')  # cut short: not JSON
    document = json.loads(paths[3].read_text())
    document["playlists"][2]["tracks"] = "none"  # not a list: the snapshot path refuses
    paths[3].write_text(json.dumps(document))
    serial = _import(folder, settings, parallel=1)
    assert _import(folder, settings, parallel=2) == serial
    said = serial[0]
    refused = [(index, reference) for index, (reference, error, *_) in enumerate(said) if error]
    # In their places: after the 12 playlists of the first slice, and of the third.
    assert refused == [(12, str(paths[1])), (25, str(paths[3]))]
    assert sum(entry[4] == "failed" for entry in said) == 2  # (reference, error, id, name, status…)
    assert Playlist.objects.count() == 36


@postgres_only
def test_slices_already_stored_take_the_snapshot_path_in_order(folder, settings):
    """A re-import: a stored slice comes back unloaded from its worker and the
    loader refreshes it on the caller's thread, in its place."""
    again = folder.parent / "again"
    shutil.copytree(folder, again)
    (again / slice_paths(folder)[2].name).unlink()
    document = json.loads(slice_paths(again)[1].read_text())
    document["playlists"][0]["name"] = "renamed"
    slice_paths(again)[1].write_text(json.dumps(document))

    def both(parallel):
        first = _import(folder, settings, parallel=parallel)
        return first, _import_on_top(again), _state()

    serial = both(1)
    assert both(2) == serial
    assert Playlist.objects.get(pk="mpd:12").name == "renamed"
    assert max(row[1] for row in serial[2]["playlist_versions"]) == 2  # refreshed


@postgres_only
def test_a_file_sharing_playlists_with_an_earlier_one_loads_after_it(tmp_path, settings):
    """Two files holding some of the same playlists (a changed copy): the later
    one refreshes what the earlier one loaded, as one at a time, though its
    worker reads it long before the earlier one is read."""
    folder = tmp_path / "mpd"
    big = generate_slices(folder, slices=1, playlists_per_slice=300, seed=5)[0]
    document = json.loads(big.read_text())
    document["playlists"] = document["playlists"][:2]
    document["playlists"][0]["name"] = "renamed"
    document["playlists"][1]["tracks"].pop()
    (folder / "mpd.slice.1-2.json").write_text(json.dumps(document))
    serial = _import(folder, settings, parallel=1)
    assert _import(folder, settings, parallel=2) == serial
    said = serial[0]
    # (reference, error, id, name, status, tracks, items, skipped, inserted, …)
    assert all(entry[8] > 0 for entry in said[:300])  # the big file first, new
    assert [entry[8] for entry in said[300:]] == [0, 0]  # then the copy: a refresh
    assert Playlist.objects.get(pk="mpd:0").name == "renamed"
    assert PlaylistVersion.objects.filter(playlist_id="mpd:1", version=2).exists()


def _import_on_top(path):
    """Import `path` into the warehouse as it is: the results."""
    results = _results(iter_ingest_path(path))
    assert summaries.differences() == {}
    return results


@postgres_only
def test_one_at_a_time_when_told_or_inside_a_transaction(folder, settings, loading_threads):
    settings.IMPORT_PARALLEL_SLICES = 1
    list(iter_ingest_path(folder))
    _empty_warehouse()
    settings.IMPORT_PARALLEL_SLICES = 2
    with transaction.atomic():
        list(iter_ingest_path(folder))
    caller = threading.current_thread().name
    assert loading_threads == [caller] * 10


@postgres_only
def test_an_import_stopped_early_leaves_no_thread_and_no_half_slice(folder, settings):
    settings.IMPORT_PARALLEL_SLICES = 3
    results = iter_ingest_path(folder)
    first = next(results)
    assert any(thread.name.startswith(WORKER) for thread in threading.enumerate())
    results.close()
    assert not [thread for thread in threading.enumerate() if thread.name.startswith(WORKER)]
    assert Playlist.objects.filter(pk=first.playlist_id).exists()
    per_slice = {}
    for playlist_id in Playlist.objects.values_list("playlist_id", flat=True):
        number = int(playlist_id.removeprefix("mpd:"))
        per_slice[number // 12] = per_slice.get(number // 12, 0) + 1
    assert set(per_slice.values()) == {12}  # whole slices only
    assert per_slice.keys() <= {0, 1, 2, 3}  # none submitted after the stop


@postgres_only
def test_a_failing_load_stops_the_import_once_the_slices_in_flight_are_done(folder, settings):
    """Not a bad file: the error reaches the caller, as one at a time, after the
    slices loading meanwhile have committed (each whole), and no thread is left."""
    settings.IMPORT_PARALLEL_SLICES = 2
    broken = slice_paths(folder)[1]
    document = json.loads(broken.read_text())
    for track in document["playlists"][-1]["tracks"][:2]:
        track["duration_ms"] = 2**62  # past the rows' integer column
    broken.write_text(json.dumps(document))
    loaded = []
    with pytest.raises(DataError):
        for result in iter_ingest_path(folder):
            loaded.append(result.playlist_id)
    assert len(loaded) == 12  # the first slice's results, then the error
    assert not [thread for thread in threading.enumerate() if thread.name.startswith(WORKER)]
    stored = set(Playlist.objects.values_list("playlist_id", flat=True))
    first, third = {f"mpd:{n}" for n in range(12)}, {f"mpd:{n}" for n in range(24, 36)}
    # The third slice, submitted as the first was taken: loaded whole if it
    # had started loading when the second failed, else given up; none later.
    assert stored in (first, first | third)


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's behaviour: PostgreSQL loads in parallel"
)
def test_on_sqlite_the_setting_changes_nothing(folder, settings, loading_threads):
    serial = _import(folder, settings, parallel=1)
    assert _import(folder, settings, parallel=2) == serial
    assert loading_threads == [threading.current_thread().name] * 10

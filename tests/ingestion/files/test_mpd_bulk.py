"""The MPD bulk path (file → columns → COPY, `warehouse.bulk`) against the snapshot
path (read_slice → pandas transform → `load_playlists`): the same tables.

Each test imports the same generated slice both ways, one after the other in an
emptied warehouse, and compares every table the loader writes: the rows (every
column, order keys included), the dimension rows, the versions, the spans and
the warehouse-wide counts, which must also equal a fresh aggregation."""

import json
import tracemalloc
from datetime import datetime

import pytest
from django.db import DataError, connection

from devtools.synthetic.mpd import generate_slices
from ingestion.files import ingest_path, iter_ingest_path
from ingestion.files.mpd import read_slice_document, slice_rows
from warehouse import summaries
from warehouse.bulk import load_new_playlists
from warehouse.models import (
    Playlist,
    PlaylistTrack,
    PlaylistTrackSpan,
    PlaylistVersion,
    SummaryCount,
)
from warehouse.signals import playlists_loaded

pytestmark = pytest.mark.django_db

TABLES = ("playlist_tracks", "playlist_track_spans", "playlist_versions", "warehouse_summary")


def _odd_slice(path):
    """A generated slice with what real slices hold now and then: repeated tracks,
    unavailable and local items, positions out of order and tied, missing
    durations and albums, a non-Spotify artist, COPY's special characters in
    names, entities in descriptions (one spelling a control character), an
    empty playlist."""
    document = json.loads(path.read_text())
    playlists = document["playlists"]
    first = playlists[0]["tracks"]
    first.append(dict(first[1], pos=len(first)))  # a repeat, later
    first.append(dict(first[2], pos=len(first)))
    first[3] = dict(first[3], track_uri="spotify:local:Someone:Song:Album:200")
    first[4] = dict(first[4], track_uri="spotify:episode:abc")
    second = playlists[1]["tracks"]
    for track in second:
        track["pos"] = len(second) - track["pos"]  # reversed
    second[0]["pos"] = second[1]["pos"]  # a tie: file order decides
    third = playlists[2]
    third["tracks"][0].pop("duration_ms")
    third["tracks"][1].pop("album_uri")
    third["tracks"][1].pop("album_name")
    third["tracks"][2]["artist_uri"] = "local"
    third["tracks"][3]["track_name"] = 'Tab\there, back\\slash, new\nline, "quote", 日本'
    third["tracks"][4]["album_name"] = "Album \\N \\"
    third["tracks"][5]["artist_name"] = "Ärtist\t\\"
    third["name"] = "name\twith tab"
    third["description"] = "a &amp; b &#13;c &#9;d"
    playlists[3]["tracks"] = []
    playlists[4]["collaborative"] = "true"
    path.write_text(json.dumps(document, ensure_ascii=False))
    # Tabs and newlines are kept (only other control characters are stripped).
    document, plain = read_slice_document(path)
    assert plain and slice_rows(document, path), "the slice must be one the bulk path reads"
    return path


@pytest.fixture
def slice_path(tmp_path):
    path = generate_slices(tmp_path / "mpd", slices=1, playlists_per_slice=40, seed=11)[0]
    return _odd_slice(path)


def _state():
    """Every table a load writes, with its timestamps reduced to "set"/"unset"
    (the two loads run at different moments). The counts' log is folded first:
    either path may leave counts there (warehouse.summaries.FOLDED)."""
    summaries.fold()
    state = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {table}")
            names = [column[0] for column in cursor.description]
            rows = [
                tuple(_plain(name, value) for name, value in zip(names, row, strict=True))
                for row in cursor.fetchall()
            ]
            state[table] = sorted(rows, key=repr)
    state["playlists"] = sorted(
        (
            tuple(_plain(name, value) for name, value in row.items())
            for row in Playlist.objects.values()
        ),
        key=repr,
    )
    return state


def _plain(name, value):
    if name in ("id",):
        return "id"  # a version's serial number
    if isinstance(value, datetime) or name.endswith(("_at", "seen_at")):
        return "set" if value is not None else None
    if isinstance(value, str) and value[:1] in "[{" and name in ("track_genres", "artist_ids"):
        return json.loads(value)
    if name == "artist_names" and isinstance(value, str):
        return json.loads(value)
    return value


def _empty_warehouse():
    with connection.cursor() as cursor:
        for table in (*TABLES, summaries.LOG):
            cursor.execute(f"DELETE FROM {table}")
    Playlist.objects.all().delete()


def _results(results):
    return [
        (
            result.playlist_id,
            result.name,
            result.status,
            result.tracks_loaded,
            result.items_total,
            result.items_skipped,
            result.rows_inserted,
            result.rows_updated,
            result.rows_unchanged,
            result.rows_removed,
            result.history_version,
            result.tracks_added,
        )
        for result in results
    ]


def _both_ways(settings, *steps):
    """Run the import steps with the bulk path, then with the snapshot path only;
    (results, state) of each."""
    outcomes = []
    for bulk in (True, False):
        settings.IMPORT_MPD_BULK = bulk
        _empty_warehouse()
        results = [_results(ingest_path(step)) for step in steps]
        assert summaries.differences() == {}
        outcomes.append((results, _state()))
    return outcomes


def test_a_first_import_writes_the_same_tables_both_ways(slice_path, settings):
    (bulk_results, bulk), (snapshot_results, snapshot) = _both_ways(settings, slice_path)
    assert bulk_results == snapshot_results
    for table in bulk:
        assert bulk[table] == snapshot[table], table
    assert len(bulk["playlist_tracks"]) > 1000
    assert len(bulk["playlist_versions"]) == 40


def test_the_bulk_path_is_what_a_first_import_takes(slice_path):
    document, plain = read_slice_document(slice_path)
    batch, unavailable = slice_rows(document, slice_path)
    assert plain and len(batch.playlist_ids) == 40
    # The episode is unavailable, and so is the local file: MPD has no local rows.
    assert unavailable[0] == 2
    assert load_new_playlists(batch) is not None
    assert Playlist.objects.count() == 40
    # Everything is there now: a second bulk load of it writes nothing.
    rows = PlaylistTrack.objects.count()
    assert load_new_playlists(batch) is None
    assert PlaylistTrack.objects.count() == rows
    assert PlaylistVersion.objects.filter(version__gt=1).count() == 0


def test_a_bulk_load_tells_what_it_loaded_as_the_loader_does(slice_path):
    """The pages across playlists of whoever sees them are warmed after it
    (ingestion.across_warm listens): sent with the batch's ids, once written."""
    batch, _ = slice_rows(read_slice_document(slice_path)[0], slice_path)
    told = []

    def receiver(sender, *, playlist_ids, **kwargs):
        told.append((list(playlist_ids), PlaylistTrack.objects.count()))

    playlists_loaded.connect(receiver)
    try:
        assert load_new_playlists(batch) is not None
        assert load_new_playlists(batch) is None  # nothing new: nothing told
    finally:
        playlists_loaded.disconnect(receiver)
    assert told == [(batch.playlist_ids, PlaylistTrack.objects.count())]
    assert told[0][1] > 0


def test_history_as_of_version_1_is_the_file(slice_path):
    ingest_path(slice_path)
    raw = json.loads(slice_path.read_text())["playlists"][1]
    ordered = sorted(enumerate(raw["tracks"]), key=lambda pair: (pair[1]["pos"], pair[0]))
    expected = list(dict.fromkeys(track["track_uri"].rsplit(":", 1)[1] for _, track in ordered))
    spans = PlaylistTrackSpan.objects.filter(playlist_id="mpd:1", valid_from=1)
    assert [span.track_id for span in spans.order_by("sort_key")] == expected
    assert all(span.valid_to is None for span in spans)
    keys = list(
        PlaylistTrack.objects.filter(playlist_id="mpd:1").order_by("position")
        .values_list("track_id", flat=True)
    )  # fmt: skip
    assert keys == expected


def test_reimporting_the_same_slice_makes_no_new_versions(slice_path, settings):
    (bulk_results, bulk), (snapshot_results, snapshot) = _both_ways(
        settings, slice_path, slice_path
    )
    assert bulk_results == snapshot_results
    assert all(result[7] == result[6] == 0 for result in bulk_results[1])  # nothing written
    assert bulk == snapshot
    assert {row[1] for row in bulk["playlist_versions"]} == {1}


def test_a_changed_slice_after_a_bulk_import_is_a_refresh_as_after_the_snapshot_path(
    slice_path, tmp_path, settings
):
    changed = tmp_path / "changed" / slice_path.name
    changed.parent.mkdir()
    document = json.loads(slice_path.read_text())
    tracks = document["playlists"][5]["tracks"]
    tracks.insert(0, tracks.pop())  # moved to the top
    tracks.pop(3)  # removed
    document["playlists"][6]["tracks"].append(document["playlists"][7]["tracks"][0])  # added
    document["playlists"][8]["name"] = "renamed"
    changed.write_text(json.dumps(document))
    (bulk_results, bulk), (snapshot_results, snapshot) = _both_ways(settings, slice_path, changed)
    assert bulk_results == snapshot_results
    assert bulk == snapshot
    assert sorted(row for row in bulk["playlist_versions"] if row[1] == 2) != []


def test_a_slice_with_one_known_playlist_takes_the_snapshot_path(slice_path, tmp_path, settings):
    small = generate_slices(tmp_path / "small", slices=1, playlists_per_slice=1, seed=11)[0]
    (bulk_results, bulk), (snapshot_results, snapshot) = _both_ways(settings, small, slice_path)
    assert bulk_results == snapshot_results
    assert bulk == snapshot


def test_a_slice_with_control_characters_takes_the_snapshot_path(slice_path, settings):
    text = slice_path.read_text()
    document = json.loads(text)
    document["playlists"][0]["name"] = "bell\x07 and nul\x00"
    slice_path.write_text(json.dumps(document))
    document, plain = read_slice_document(slice_path)
    assert not plain
    (bulk_results, bulk), (snapshot_results, snapshot) = _both_ways(settings, slice_path)
    assert bulk == snapshot
    assert Playlist.objects.get(pk="mpd:0").name == "bell and nul"


def test_a_failure_mid_slice_leaves_nothing_written(slice_path):
    document = json.loads(slice_path.read_text())
    # The last playlist's tracks sum past a bigint: its version fails (SQLite), or
    # its rows' integer column refuses them (PostgreSQL), after the rest is written.
    for track in document["playlists"][-1]["tracks"][:2]:
        track["duration_ms"] = 2**62
    slice_path.write_text(json.dumps(document))
    batch, _ = slice_rows(read_slice_document(slice_path)[0], slice_path)
    with pytest.raises((DataError, OverflowError)):
        load_new_playlists(batch)
    assert Playlist.objects.count() == 0
    assert PlaylistTrack.objects.count() == 0
    assert PlaylistVersion.objects.count() == 0
    assert PlaylistTrackSpan.objects.count() == 0
    assert summaries.top(kind="track", limit=1) == []


@pytest.mark.slow
def test_memory_follows_the_chunk_setting(tmp_path, settings):
    path = generate_slices(tmp_path / "mpd", slices=1, playlists_per_slice=300, seed=3)[0]
    peaks = {}
    for chunk in (100_000, 500):
        settings.BULK_CHUNK_ROWS = chunk
        _empty_warehouse()
        batch, _ = slice_rows(read_slice_document(path)[0], path)
        tracemalloc.start()
        assert load_new_playlists(batch) is not None
        peaks[chunk] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert len(batch.track_ids) > 10_000
    # The whole batch's COPY text (or parameter tuples) at once, against 500 rows'.
    assert peaks[500] < peaks[100_000] / 2


def test_a_playlist_deleted_by_hand_leaves_its_rows_to_the_loader(slice_path, settings):
    """Rows and spans outlive a dimension row deleted in the admin: the bulk path
    writes nothing and the loader takes the slice (it merges into those rows)."""
    steps = []
    for bulk in (True, False):
        settings.IMPORT_MPD_BULK = bulk
        _empty_warehouse()
        ingest_path(slice_path)
        Playlist.objects.filter(pk="mpd:7").delete()  # its versions go with it
        batch, _ = slice_rows(read_slice_document(slice_path)[0], slice_path)
        rows = PlaylistTrack.objects.count()
        assert load_new_playlists(batch) is None
        assert PlaylistTrack.objects.count() == rows
        steps.append((_results(ingest_path(slice_path)), _state()))
        assert summaries.differences() == {}
    assert steps[0] == steps[1]
    assert Playlist.objects.get(pk="mpd:7").versions.count() == 1


def test_a_bulk_slice_logs_its_track_album_and_artist_counts(slice_path):
    """One log row per slice, on both databases: no upsert per track, album and
    artist key inside the slice's transaction (the year kind's one key is
    upserted in place)."""
    batch, _ = slice_rows(read_slice_document(slice_path)[0], slice_path)
    assert load_new_playlists(batch) is not None
    assert summaries.pending()["loads"] == 1
    in_table = set(SummaryCount.objects.values_list("kind", flat=True))
    assert in_table == {"year"}
    assert summaries.differences() == {}  # the reads add the log in
    summaries.fold()
    assert summaries.differences() == {}
    assert set(SummaryCount.objects.values_list("kind", flat=True)) == {
        "year",
        "track",
        "album",
        "artist",
    }


def test_a_multi_slice_import_folds_every_n_slices_and_at_its_end(tmp_path, settings):
    settings.IMPORT_FOLD_EVERY_SLICES = 2
    generate_slices(tmp_path / "mpd", slices=5, playlists_per_slice=6, seed=2)
    unfolded, current = [], None
    for result in iter_ingest_path(tmp_path / "mpd"):
        assert result.status == "succeeded"
        if result.reference != current:  # a slice's first result: it is loaded
            current = result.reference
            unfolded.append(summaries.pending()["loads"])
    # Folded after slices 2 and 4, and after the last.
    assert unfolded == [1, 2, 1, 2, 1]
    assert summaries.pending()["loads"] == 0
    assert _table_counts() == _fresh_counts()
    assert summaries.differences() == {}


def test_an_import_folds_at_its_end_only_when_told_zero(tmp_path, settings):
    settings.IMPORT_FOLD_EVERY_SLICES = 0
    generate_slices(tmp_path / "mpd", slices=3, playlists_per_slice=6, seed=2)
    unfolded = {}
    for result in iter_ingest_path(tmp_path / "mpd"):
        unfolded.setdefault(result.reference, summaries.pending()["loads"])
    assert list(unfolded.values()) == [1, 2, 3]
    assert summaries.pending()["loads"] == 0
    assert _table_counts() == _fresh_counts()


def test_a_fold_of_many_keys_upserts_them_in_chunks_exactly(tmp_path, monkeypatch):
    generate_slices(tmp_path / "mpd", slices=2, playlists_per_slice=20, seed=4)
    monkeypatch.setattr(summaries, "ENTRIES_CHUNK", 7)
    ingest_path(tmp_path / "mpd")
    assert summaries.pending()["loads"] == 0
    assert SummaryCount.objects.filter(kind="track").count() > 7 * 3
    assert _table_counts() == _fresh_counts()


def _table_counts():
    """What `warehouse_summary` holds itself, the log left out."""
    return {(row.kind, row.key): row.entries for row in SummaryCount.objects.all()}


def _fresh_counts():
    return {
        (kind, row["key"]): row["entries"]
        for kind in summaries.KINDS
        for row in summaries.from_scratch(kind=kind)
    }

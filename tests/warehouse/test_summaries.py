"""The warehouse-wide counts (warehouse.summaries) equal a from-scratch count of
the present rows after every kind of load (SQLite and PostgreSQL)."""

import datetime as dt
import json
from collections import Counter
from dataclasses import replace

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection

from devtools.synthetic.mpd import generate_slices
from devtools.synthetic.snapshots import LocalTrackFactory, TrackFactory, snapshot_of
from ingestion.files import ingest_path
from ingestion.snapshot import ArtistRef
from ingestion.transform import transform_snapshot, transform_snapshots
from warehouse import queries, summaries
from warehouse.loader import load_playlist, load_playlists
from warehouse.models import PlaylistTrack, PlaylistVersion, SummaryCount

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LEAD = ArtistRef(id="lead", name="Lead")
GUEST = ArtistRef(id="guest", name="Guest")
SOLO = ArtistRef(id="solo", name="Solo")
GENRES = {"lead": ["rock", "indie"], "guest": ["indie"], "solo": []}


def load(tracks, day=0, **fields):
    snapshot = snapshot_of(tracks, genres=GENRES, **fields)
    load_playlist(snapshot, transform_snapshot(snapshot).rows, now=T0 + dt.timedelta(days=day))
    return snapshot


def counted_in_python():
    """The counts, from the present rows read through the ORM: independent of
    the SQL under test."""
    counts = Counter()
    for row in PlaylistTrack.objects.filter(removed_at__isnull=True).values():
        counts["track", row["track_id"]] += 1
        if row["album_id"] is not None:
            counts["album", row["album_id"]] += 1
        year = row["release_year"]
        counts["year", "" if year is None else str(year)] += 1
        for artist_id in row["artist_ids"]:
            counts["artist", artist_id] += 1
        for genre in row["track_genres"]:
            counts["genre", genre] += 1
    return dict(counts)


def stored():
    """The counts now: the stored ones with the log not folded yet added."""
    return {
        (kind, key): n for kind in summaries.KINDS for key, n in summaries.counts(kind=kind).items()
    }


def assert_exact():
    assert stored() == counted_in_python()
    assert summaries.differences() == {}


def test_counts_follow_first_loads_reloads_removals_and_returns():
    duet = TrackFactory(artists=(LEAD, GUEST), album_release_date=None)
    lead_solo = TrackFactory(artists=(LEAD,), album_release_date="1987")
    solo = TrackFactory(artists=(SOLO,))
    local = LocalTrackFactory()
    first = load([duet, lead_solo, solo, local], playlist_id="p1", snapshot_id="a")
    load([duet, solo, duet], playlist_id="p2")  # a repeat is one row
    assert_exact()
    assert stored()[("artist", "lead")] == 3
    assert stored()[("genre", "indie")] == 3
    assert stored()[("year", "")] == 3  # duet twice and the local file

    load([duet, lead_solo, solo, local], playlist_id="p1", snapshot_id="a", day=1)  # same again
    assert_exact()
    # p1 loses two tracks, reorders, and its duet comes back with other details.
    renamed = replace(duet, name="Duet (remastered)", album_id="other-album", album_name="Other")
    load([solo, renamed], playlist_id="p1", snapshot_id="b", day=2)
    assert_exact()
    assert ("artist", "lead") in stored()
    load([], playlist_id="p2", snapshot_id="empty", day=3)  # everything removed
    assert_exact()
    load([lead_solo, solo], playlist_id="p2", snapshot_id="back", day=4)  # removed rows return
    assert_exact()
    assert PlaylistVersion.objects.filter(playlist_id="p2").count() == 3
    assert first.playlist_id == "p1"


def test_genres_learned_later_change_the_counts():
    track = TrackFactory(artists=(SOLO,))
    snapshot = snapshot_of([track], playlist_id="p1")
    load_playlist(snapshot, transform_snapshot(snapshot).rows, now=T0)
    assert ("genre", "jazz") not in stored()
    # An enrichment reloads the same snapshot with genres now known.
    enriched = replace(snapshot, artist_genres={"solo": ["jazz"]})
    load_playlist(enriched, transform_snapshot(enriched).rows, now=T0)
    assert stored()[("genre", "jazz")] == 1
    assert_exact()


def test_keys_that_reach_zero_disappear():
    gone = TrackFactory(artists=(GUEST,))
    load([gone], playlist_id="p1", snapshot_id="a")
    load([], playlist_id="p1", snapshot_id="b", day=1)
    assert stored() == {}
    assert queries.warehouse_top_artists() == []


def test_a_batch_of_new_and_reloaded_playlists_is_counted_once():
    shared = TrackFactory(artists=(LEAD,))
    load([shared, TrackFactory(artists=(SOLO,))], playlist_id="old")
    snapshots = [
        snapshot_of([shared], genres=GENRES, playlist_id="old", snapshot_id="next"),
        snapshot_of([shared, TrackFactory(artists=(GUEST,))], genres=GENRES, playlist_id="new"),
    ]
    results = transform_snapshots(snapshots)
    load_playlists([(s, r.rows) for s, r in zip(snapshots, results, strict=True)], now=T0)
    assert_exact()
    assert stored()[("track", shared.id)] == 2


def test_a_failed_load_leaves_the_counts_as_they_were():
    load([TrackFactory(artists=(LEAD,))], playlist_id="p1")
    before = stored()
    snapshot = snapshot_of(TrackFactory.create_batch(3), playlist_id="p1", snapshot_id="new")
    rows = transform_snapshot(snapshot).rows
    rows.loc[2, "position"] = None  # violates NOT NULL in the merge
    with pytest.raises(IntegrityError):
        load_playlist(snapshot, rows, now=T0)
    assert stored() == before


def test_mpd_slices_imported_and_reimported_are_counted_exactly(tmp_path):
    first = generate_slices(tmp_path / "a", slices=2, playlists_per_slice=30, seed=5)
    assert all(r.status == "succeeded" for r in ingest_path(tmp_path / "a"))
    assert_exact()
    # The same pids from another seed: every playlist reloaded with other tracks.
    generate_slices(tmp_path / "b", slices=1, playlists_per_slice=30, seed=6)
    assert all(r.status == "succeeded" for r in ingest_path(tmp_path / "b"))
    assert_exact()
    assert ingest_path(first[0])[0].status == "succeeded"
    assert_exact()
    assert PlaylistVersion.objects.filter(playlist_id="mpd:0").count() == 3


def test_the_overview_reads_the_counts():
    old = TrackFactory(artists=(LEAD, GUEST), album_release_date="1975-03", album_name="A")
    new = TrackFactory(artists=(LEAD,), album_release_date="2003")
    load([old, new, LocalTrackFactory()], playlist_id="p1")
    load([old], playlist_id="p2")
    overview = summaries.warehouse_overview(limit=1)
    assert overview.entries == 4
    assert overview.artists == [{"key": "lead", "name": "Lead", "entries": 3}]
    assert overview.genres == [{"key": "indie", "name": None, "entries": 3}]
    assert overview.tracks == [{"key": old.id, "name": old.name, "entries": 2}]
    assert overview.albums == [{"key": old.album_id, "name": "A", "entries": 2}]
    kinds = ("artist", "genre", "track", "album")
    assert [summaries.distinct(kind=kind) for kind in kinds] == [2, 2, 3, 2]
    assert overview.decades == [{"decade": 1970, "entries": 2}, {"decade": 2000, "entries": 1}]
    assert overview.unknown_year == 1


def test_rebuild_repairs_counts_and_check_tells_when_they_differ():
    load([TrackFactory(artists=(LEAD,)), TrackFactory(artists=(GUEST,))], playlist_id="p1")
    summaries.fold()  # the artists' counts move from the log into the table
    expected = stored()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE warehouse_summary SET entries = entries + 5 WHERE kind = 'artist'")
    assert summaries.differences() == {"artist": 2}
    with pytest.raises(SystemExit):
        call_command("rebuild_summaries", "--check")
    call_command("rebuild_summaries")
    assert stored() == expected
    call_command("rebuild_summaries", "--check")


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown summary kind"):
        summaries.top(kind="label")


def test_the_shell_prints_the_overview(capsys):
    load([TrackFactory(artists=(LEAD,), album_release_date="1991")], playlist_id="p1")
    call_command("warehouse_top", "--limit", "3")
    out = capsys.readouterr().out
    assert "1 playlist entries present" in out
    assert "Lead (lead)" in out and "1990s" in out
    call_command("warehouse_top", "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["artists"] == [{"key": "lead", "name": "Lead", "entries": 1}]
    assert printed["genres"][0]["key"] in ("indie", "rock")


@pytest.mark.django_db(transaction=True)
def test_the_migration_builds_the_counts_of_an_existing_warehouse():
    from django.db.migrations.executor import MigrationExecutor

    load([TrackFactory(artists=(LEAD, GUEST)), TrackFactory(artists=(LEAD,))], playlist_id="p1")
    load([], playlist_id="p2", snapshot_id="a")
    expected = counted_in_python()
    executor = MigrationExecutor(connection)
    executor.migrate([("warehouse", "0005_history_backfill")])  # no warehouse_summary
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert stored() == expected
    assert stored()[("artist", "lead")] == 2


def table():
    """What `warehouse_summary` itself holds, the log left out."""
    return {(c.kind, c.key): c.entries for c in SummaryCount.objects.all()}


def test_a_fold_moves_the_logged_changes_into_the_table():
    duet = TrackFactory(artists=(LEAD, GUEST))
    solo = TrackFactory(artists=(SOLO,))
    load([duet, solo], playlist_id="p1", snapshot_id="a")
    load([duet], playlist_id="p2")
    load([solo], playlist_id="p1", snapshot_id="b", day=1)  # the duet removed from p1
    assert summaries.pending()["loads"] == 3
    assert ("track", duet.id) not in table()  # logged, not folded yet
    assert_exact()
    assert summaries.fold() == 3
    assert summaries.pending() == {"loads": 0, "since": None}
    assert table() == counted_in_python()
    assert_exact()
    assert summaries.fold() == 0


def test_a_fold_keeps_the_name_logged_last():
    """Two loads in one fold name a track differently (renamed in between): the
    later name is the one kept, whatever order the log's rows are read in."""
    track = TrackFactory(artists=(SOLO,), name="Demo")
    load([track], playlist_id="first")
    load([replace(track, name="Demo (remastered)")], playlist_id="second")
    load([replace(track, name="Final")], playlist_id="third")
    assert summaries.fold() == 3
    assert table()["track", track.id] == 3
    assert SummaryCount.objects.get(kind="track", key=track.id).name == "Final"


def test_the_reads_count_the_unfolded_log_in_exactly():
    popular, rising = TrackFactory(artists=(LEAD,)), TrackFactory(artists=(SOLO,))
    for n in range(3):
        load([popular, rising] if n == 0 else [popular], playlist_id=f"old{n}")
    summaries.fold()
    renamed = replace(rising, name="Rising (live)")
    for n in range(3):  # only in the log: rising overtakes popular, renamed
        load([renamed], playlist_id=f"new{n}")
    load([], playlist_id="old2", snapshot_id="gone", day=1)  # popular loses one
    assert summaries.top(kind="track", limit=1) == [
        {"key": rising.id, "name": "Rising (live)", "entries": 4}
    ]
    for kind in summaries.KINDS:  # names aside (from scratch: the greatest)
        ranked = [(row["key"], row["entries"]) for row in summaries.top(kind=kind)]
        expected = summaries.from_scratch(kind=kind, limit=20)
        assert ranked == [(row["key"], row["entries"]) for row in expected], kind
        assert summaries.distinct(kind=kind) == len(summaries.from_scratch(kind=kind)), kind
    summaries.fold()
    assert summaries.top(kind="track", limit=1)[0]["name"] == "Rising (live)"
    assert summaries.distinct(kind="artist") == 2


def test_the_reaper_folds_and_the_shell_says_what_is_not_folded(capsys):
    from ingestion import tasks

    load([TrackFactory(artists=(LEAD,))], playlist_id="p1")
    call_command("warehouse_top")
    out = capsys.readouterr().out
    assert "1 loads' changes to tracks, albums and artists not folded yet" in out
    assert "1 loads' counts folded" in tasks.reap_stale_runs()
    call_command("warehouse_top", "--json")
    assert json.loads(capsys.readouterr().out)["unfolded_loads"] == 0
    load([TrackFactory(artists=(SOLO,))], playlist_id="p2")
    call_command("warehouse_top", "--fold")
    assert "not folded" not in capsys.readouterr().out
    assert table() == counted_in_python()

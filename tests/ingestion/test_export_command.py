"""`manage.py export`: which playlists, each output form, progress and summary, and nothing
half-written when it fails."""

import csv
import io
import zipfile

import duckdb
import orjson
import pyarrow.dataset as pa_dataset
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from accounts import library
from devtools.synthetic.snapshots import TrackFactory, snapshot_of
from ingestion.management.commands import export as command
from ingestion.pipeline import IngestResult, transform_and_load
from warehouse import exports, queries

pytestmark = pytest.mark.django_db

SPOTIFY_ID = "37i9dQZF1DXcBWIGoYBM5M"


def load(playlist_id, name, track_names, *users):
    snapshot = snapshot_of(
        [TrackFactory(name=track) for track in track_names], playlist_id=playlist_id, name=name
    )
    transform_and_load(snapshot, IngestResult(reference=playlist_id))
    for user in users:
        library.grant(user.pk, playlist_id, add=True)


@pytest.fixture
def warehouse(alice, bob):
    load(SPOTIFY_ID, "Today's hits", ["One", "Two", "Three"], alice)
    load("exportify:mix", "Mix", ["Four"], alice)
    load("bobs", "Bob's", ["Five", "Six"], bob)


def export(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("export", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_all_as_one_parquet_file_in_row_groups_with_progress(warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(command, "PROGRESS_EVERY_ROWS", 2)
    path = tmp_path / "warehouse.parquet"

    out, err = export("--all", "--format", "parquet", "--out", str(path), "--rows-per-group", "4")

    table = pq.read_table(path)
    assert sorted(table.column("track_name").to_pylist()) == [
        "Five", "Four", "One", "Six", "Three", "Two"
    ]  # fmt: skip
    assert pq.ParquetFile(path).num_row_groups == 2
    assert "… 4 rows" in err and "… 6 rows" in err  # after each row group
    assert out.startswith(f"Exported 6 rows of 3 playlists as parquet to {path} (")
    assert not path.with_name("warehouse.parquet.part").exists()


def test_all_as_a_partitioned_folder_read_back_by_pyarrow_and_duckdb(
    warehouse, tmp_path, monkeypatch
):
    monkeypatch.setattr(exports, "PARTITION_OPEN_FILES", 1)  # files close as playlists end
    single, folder = tmp_path / "one.parquet", tmp_path / "by-playlist"
    export("--all", "--format", "parquet", "--out", str(single))

    out, _ = export("--all", "--format", "parquet", "--out", str(folder),
                    "--partition", "playlist", "--rows-per-group", "4")  # fmt: skip

    names = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*.parquet"))
    assert names == [  # one file per playlist, ids percent-encoded (":" is no file name)
        f"playlist_id={SPOTIFY_ID}/part-0.parquet",
        "playlist_id=bobs/part-0.parquet",
        "playlist_id=exportify%3Amix/part-0.parquet",
    ]
    columns = ", ".join(name for name in exports.PARQUET_SCHEMA.names)
    query = f"SELECT {columns} FROM read_parquet('{{}}'{{}}) ORDER BY playlist_id, position"
    expected = duckdb.sql(query.format(single, "")).fetchall()
    assert (
        duckdb.sql(query.format(f"{folder}/*/*.parquet", ", hive_partitioning = true")).fetchall()
        == expected
    )
    dataset = pa_dataset.dataset(folder, format="parquet", partitioning="hive").to_table()
    assert sorted(dataset.column("playlist_id").to_pylist()) == sorted(
        pq.read_table(single).column("playlist_id").to_pylist()
    )
    assert out.startswith(f"Exported 6 rows of 3 playlists as parquet to {folder} (")
    assert not folder.with_name("by-playlist.part").exists()


def test_partition_is_for_parquet_and_a_new_folder(warehouse, tmp_path):
    with pytest.raises(CommandError, match="give --format parquet"):
        export("--all", "--format", "csv", "--out", str(tmp_path / "x"), "--partition", "playlist")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.txt").write_text("keep me")
    with pytest.raises(CommandError, match="not an empty folder"):
        export("--all", "--format", "parquet", "--out", str(tmp_path / "full"),
               "--partition", "source")  # fmt: skip
    assert (tmp_path / "full" / "old.txt").read_text() == "keep me"


def test_references_by_link_or_warehouse_id(warehouse, tmp_path):
    path = tmp_path / "two.json"

    export(f"https://open.spotify.com/playlist/{SPOTIFY_ID}", "exportify:mix",
           "--format", "json", "--out", str(path))  # fmt: skip

    document = orjson.loads(path.read_bytes())
    assert [p["name"] for p in document] == ["Today's hits", "Mix"]  # by playlist id
    assert [t["track_name"] for t in document[0]["tracks"]] == ["One", "Two", "Three"]


def test_one_playlist_as_json_is_one_object(warehouse, tmp_path):
    path = tmp_path / "one.json"
    export("exportify:mix", "--format", "json", "--out", str(path))
    assert orjson.loads(path.read_bytes())["tracks"][0]["track_name"] == "Four"


def test_a_users_library_only_holds_what_they_may_see(warehouse, alice, tmp_path):
    folder = tmp_path / "alice"

    out, _ = export("--user", "alice", "--format", "csv", "--out", str(folder))

    assert sorted(p.name for p in folder.iterdir()) == ["Mix.csv", "Today's hits.csv"]
    assert "Exported 4 rows of 2 playlists as csv" in out
    with pytest.raises(CommandError, match="alice may not see bobs: they did not load it"):
        export("bobs", "--user", "alice", "--format", "csv", "--out", str(tmp_path / "x"))


def test_csv_as_a_zip_or_one_file(warehouse, tmp_path):
    export("--all", "--format", "csv", "--out", str(tmp_path / "all.zip"))
    with zipfile.ZipFile(tmp_path / "all.zip") as archive:
        assert sorted(archive.namelist()) == ["Bob's.csv", "Mix.csv", "Today's hits.csv"]

    export(SPOTIFY_ID, "--format", "csv", "--out", str(tmp_path / "hits.csv"))
    lines = list(csv.DictReader(io.StringIO((tmp_path / "hits.csv").read_text(), newline="")))
    assert [line["Track Name"] for line in lines] == ["One", "Two", "Three"]

    with pytest.raises(CommandError, match="3 playlists make 3 CSV files"):
        export("--all", "--format", "csv", "--out", str(tmp_path / "all.csv"))


def test_removed_rows_are_included_unless_present_only(warehouse, tmp_path):
    load("exportify:mix", "Mix", ["Seven"])  # "Four" is removed
    path = tmp_path / "mix.parquet"

    export("exportify:mix", "--format", "parquet", "--out", str(path))
    everything = pq.read_table(path).to_pylist()
    export("exportify:mix", "--format", "parquet", "--out", str(path), "--present-only")
    present = pq.read_table(path).to_pylist()

    assert [(r["track_name"], r["removed_at"] is None) for r in everything] == [
        ("Seven", True), ("Four", False)
    ]  # fmt: skip
    assert [r["track_name"] for r in present] == ["Seven"]


def test_a_failed_export_leaves_nothing_behind(warehouse, tmp_path, monkeypatch):
    def broken(lines, **options):
        raise OSError("disk full")

    # Typing a batch fails: SQLite's JSON lines, PostgreSQL's COPY text.
    monkeypatch.setattr(queries, "json_lines_batch", broken)
    monkeypatch.setattr(queries, "copied_csv_batch", broken)
    path = tmp_path / "broken.parquet"

    with pytest.raises(OSError, match="disk full"):
        export("--all", "--format", "parquet", "--out", str(path))

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Give playlists to export"),
        (("--all", "bobs"), "--all exports the whole warehouse"),
        (("nope",), "'nope' is not a Spotify playlist"),
        (("3cEYpjA9oz9GiPac4AsH4n",), "is not in the warehouse: ingest it first"),
        (("--user", "nobody"), "No user 'nobody'"),
    ],
)
def test_it_says_what_was_wrong(warehouse, tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        export(*args, "--format", "csv", "--out", str(tmp_path / "out"))


def test_nothing_to_export(db, tmp_path, charlie):
    with pytest.raises(CommandError, match="Nothing to export"):
        export("--user", "charlie", "--format", "csv", "--out", str(tmp_path / "out"))

"""The export formats over real warehouse rows (SQLite and PostgreSQL): CSV in Exportify's
layout (re-imported by our own importer to the same rows), JSON, and Parquet read back by
pyarrow and DuckDB."""

import csv
import datetime as dt
import io

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import transaction

from devtools.synthetic.snapshots import (
    LocalTrackFactory,
    PlaylistItemFactory,
    PlaylistSnapshotFactory,
    TrackFactory,
)
from ingestion.files.exportify import read_exportify
from ingestion.snapshot import ArtistRef, ItemKind
from ingestion.transform import transform_snapshot
from warehouse import exports, queries
from warehouse.loader import load_playlist
from warehouse.models import PlaylistTrack
from warehouse.schema import AUDIO_FEATURE_NAMES

pytestmark = pytest.mark.django_db

SOLO = ArtistRef(id="a1", name="Björk")
COMMA = ArtistRef(id="a2", name="Tyler, The Creator")
NO_GENRE = ArtistRef(id="a3", name="<b>Bold</b> & Co")
GENRES = {"a1": ["art pop", "electronica"], "a2": ["hip hop"], "a3": []}
ADDED = dt.datetime(2024, 3, 1, 12, 30, 5, tzinfo=dt.UTC)
# Columns that say when and how a row was loaded, not what it holds.
AUDIO = (0.512, 0.25, 0, -7.125, 1, 0.04, 0.9, 0.0, 0.1, 0.333, 120.0, 4)
LOAD_COLUMNS = {"playlist_id", "first_seen_at", "last_seen_at", "loaded_at", "source"}


def load(items, *, playlist_id="p1", name="Mix", genres=GENRES):
    for position, entry in enumerate(items):
        object.__setattr__(entry, "position", position)
    snapshot = PlaylistSnapshotFactory(
        playlist_id=playlist_id, name=name, items=items, total_items=len(items),
        artist_genres=genres,
    )  # fmt: skip
    load_playlist(snapshot, transform_snapshot(snapshot).rows)
    return snapshot


@pytest.fixture
def awkward():
    """A playlist with everything that is hard to export: a repeat, a local file,
    unicode, HTML and comma names, a track without genres, an unknown release year,
    a formula-looking name."""
    # An Exportify file's label and audio features (key 0 and loudness below 0 are values).
    first = TrackFactory(name="Jóga ♫", artists=(SOLO,), label="One Little, Indian", audio=AUDIO)
    duet = TrackFactory(name='<script>alert("x")</script>', artists=(COMMA, SOLO))
    no_genre = TrackFactory(
        name="No genre", artists=(NO_GENRE,), album_release_date=None,
        album_release_date_precision=None,
    )  # fmt: skip
    local = LocalTrackFactory(name="Home demo", album_name="Tapes")
    items = [
        PlaylistItemFactory(track=first, added_at=ADDED),
        PlaylistItemFactory(track=duet, added_at=None, added_by=None),
        PlaylistItemFactory(track=first, added_at=ADDED),  # a repeat
        PlaylistItemFactory(track=no_genre),
        PlaylistItemFactory(track=local, kind=ItemKind.LOCAL),
    ]
    return load(items, name="Mix: ünïcode & <b>html</b>")


def rows_of(playlist_id, **options):
    return list(queries.export_rows([playlist_id], **options))


def comparable(rows):
    return [{k: v for k, v in row.items() if k not in LOAD_COLUMNS | {"playlist_name"}}
            for row in rows]  # fmt: skip


def parse_csv(data):
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


# --- CSV --------------------------------------------------------------------------------
def test_csv_reimports_to_the_same_rows(awkward, tmp_path):
    data = b"".join(exports.csv_chunks(queries.export_rows(["p1"])))
    path = tmp_path / "Mix.csv"
    path.write_bytes(data)

    snapshot = read_exportify(path)
    load_playlist(snapshot, transform_snapshot(snapshot).rows)

    original = rows_of("p1")
    reimported = rows_of(snapshot.playlist_id)
    assert len(original) == 4
    for before, after in zip(comparable(original), comparable(reimported), strict=True):
        assert {k: v for k, v in after.items() if before[k] != v} == {}


def test_csv_writes_exportify_columns_and_one_line_per_item(awkward):
    lines = parse_csv(b"".join(exports.csv_chunks(rows_of("p1"))))

    assert list(lines[0])[:19] == list(exports.EXPORTIFY_COLUMNS[:19])
    assert [line["Track Name"] for line in lines] == [
        "Jóga ♫",
        "Jóga ♫",  # a repeat follows its track (where it stood is not kept)
        '<script>alert("x")</script>',
        "No genre",
        "Home demo",
    ]
    first, repeat, duet, no_genre, local = lines
    assert first == repeat
    assert first["Occurrences"] == "2"
    assert first["Genres"] == "art pop,electronica"
    assert first["Added At"] == "2024-03-01T12:30:05Z"
    assert first["Added By"] == "spotify:user:sandbox-demo"
    assert first["Release Year"] == "1997"
    assert duet["Artist Name(s)"] == "Tyler\\, The Creator, Björk"
    assert duet["Artist URI(s)"] == "spotify:artist:a2,spotify:artist:a1"
    assert duet["Added At"] == duet["Added By"] == ""
    assert no_genre["Genres"] == no_genre["Release Year"] == no_genre["Album Release Date"] == ""
    assert local["Track URI"].startswith("spotify:local:")
    assert local["Local File"] == "true"
    assert local["Artist URI(s)"] == ""
    # Exportify's audio features and label follow the genres, under its own names.
    genres = list(lines[0]).index("Genres")
    assert list(lines[0])[genres + 1 : genres + 14] == [
        "Danceability", "Energy", "Key", "Loudness", "Mode", "Speechiness", "Acousticness",
        "Instrumentalness", "Liveness", "Valence", "Tempo", "Time Signature", "Label",
    ]  # fmt: skip
    assert (first["Danceability"], first["Key"], first["Loudness"]) == ("0.512", "0", "-7.125")
    assert (first["Instrumentalness"], first["Tempo"], first["Time Signature"]) == ("0", "120", "4")
    assert first["Label"] == "One Little, Indian"
    assert duet["Tempo"] == duet["Key"] == duet["Label"] == ""


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_cells_a_spreadsheet_would_run(start):
    track = TrackFactory(name=f'{start}HYPERLINK("http://evil")', album_name=f"{start}1+1")
    load([PlaylistItemFactory(track=track)], genres={})

    (line,) = parse_csv(b"".join(exports.csv_chunks(rows_of("p1"))))

    assert line["Track Name"] == f'\'{start}HYPERLINK("http://evil")'
    assert line["Album Name"] == f"'{start}1+1"
    assert line["Track Duration (ms)"] == "215000"  # numbers are left alone


def test_csv_in_another_order_writes_repeats_after_their_track(awkward):
    rows = rows_of("p1", sort="track", direction="desc")
    lines = parse_csv(b"".join(exports.csv_chunks(rows)))

    names = [line["Track Name"] for line in lines]
    assert names[:2] == ["No genre", "Jóga ♫"] and names[2] == "Jóga ♫"
    assert len(names) == 5


def test_repeats_follow_their_track_and_removed_rows_are_written_once():
    def row(name, occurrences=1, removed_at=None):
        return {"name": name, "occurrences": occurrences, "removed_at": removed_at}

    # items A B A C A D (A kept once with 3 occurrences), and E removed (had 2).
    rows = [row("A", 3), row("B"), row("C"), row("D"), row("E", 2, ADDED)]
    batch = pa.RecordBatch.from_pylist(
        rows, schema=pa.schema([("name", pa.string()), ("occurrences", pa.int32()),
                                ("removed_at", pa.timestamp("us", tz="UTC"))])
    )  # fmt: skip

    written = exports.batch_with_repeats(batch).column("name").to_pylist()

    assert written == ["A", "A", "A", "B", "C", "D", "E"]


# Cells Python's csv.writer quotes, or a spreadsheet runs, in every text column.
TRICKY = ["plain", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "", " lead", "=1+1", "-x",
          "@sum", "\tTab", "é ♫ 𝄞", '"', ",", "'already"]  # fmt: skip


def reference_cells(row):
    """A CSV line's cells as the per-row writer made them before the column-wise one."""

    def text(value):
        return "" if value is None else str(value)

    def flag(value):
        return "" if value is None else ("true" if value else "false")

    def moment(value):
        return "" if value is None else value.isoformat().replace("+00:00", "Z")

    def number(value):  # as JavaScript (and so Exportify) writes it: 120, not 120.0
        return "" if value is None else repr(value).removesuffix(".0")

    def safe(value):
        return "'" + value if value and value[0] in exports.FORMULA_STARTS else value

    track_id = row["track_id"]
    uri = (
        track_id
        if row["is_local"] or track_id.startswith("spotify:")
        else f"spotify:track:{track_id}"
    )
    artist_ids = [a for a in row["artist_ids"] or [] if a]
    return [
        uri, safe(row["track_name"] or ""), ",".join(f"spotify:artist:{a}" for a in artist_ids),
        safe(", ".join(n.replace(",", "\\,") for n in row["artist_names"] or [])),
        f"spotify:album:{row['album_id']}" if row["album_id"] else "",
        safe(row["album_name"] or ""), "", "", safe(row["album_release_date"] or ""), "", "", "",
        text(row["track_duration_ms"]), "", flag(row["track_explicit"]),
        text(row["track_popularity"]), safe(row["track_isrc"] or ""),
        f"spotify:user:{row['added_by']}" if row["added_by"] else "", moment(row["added_at"]),
        safe(",".join(row["track_genres"] or [])),
        *(number(row[name]) for name in AUDIO_NAMES), safe(row["album_label"] or ""),
        text(row["release_year"]),
        text(row["occurrences"]), moment(row["first_seen_at"]), moment(row["removed_at"]),
        flag(row["is_local"]),
    ]  # fmt: skip


AUDIO_NAMES = AUDIO_FEATURE_NAMES
WHOLE_AUDIO = ("audio_key", "audio_mode", "audio_time_signature")


def tricky_row(index, value):
    moment = dt.datetime(2024, 3, 1, 12, 30, 5, index * 1001 % 2 * 250, tzinfo=dt.UTC)
    return {
        "playlist_id": "p1", "playlist_name": value, "track_id": f"t{index}{value}",
        "track_name": value, "track_duration_ms": index or None,
        "track_duration_sec": None, "track_popularity": None if index % 3 else index,
        "track_genres": None if index % 4 == 1 else [value, "pop"], "track_isrc": value or None,
        "track_explicit": None if index % 3 == 2 else bool(index % 2), "album_id": value or None,
        "album_name": value, "album_release_date": value, "album_release_date_precision": None,
        "release_year": index % 2 or None,
        "artist_ids": None if index % 5 == 4 else ["", f"a{index}", None, value][: index % 4 + 1],
        "artist_names": None if index % 5 == 4 else [value, "x, y"][: index % 2 + 1],
        "position": index, "occurrences": index % 3 + 1, "added_at": moment if index % 2 else None,
        "added_by": value or None, "is_local": index % 6 == 0, "first_seen_at": moment,
        "last_seen_at": moment, "removed_at": moment if index % 7 == 3 else None,
        "source": "api", "loaded_at": moment,
        "album_label": value or None,
        **{name: None if (index + number) % 3 == 0 else float(index * number) / 8 - 1.5
           for number, name in enumerate(AUDIO_NAMES) if name not in WHOLE_AUDIO},
        **{name: None if index % 4 == 2 else index % 12 for name in WHOLE_AUDIO},
    }  # fmt: skip


def test_csv_is_what_python_csv_writer_writes_for_tricky_cells():
    rows = [tricky_row(index, value) for index, value in enumerate(TRICKY * 2)]
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow(exports.CSV_HEADER)
    for row in rows:
        repeats = 1 if row["removed_at"] else row["occurrences"]
        writer.writerows([reference_cells(row)] * repeats)

    # In batches of 1,000 and cut into slices (what a batch's columns can be).
    (batch,) = exports.record_batches(rows)
    sliced = [batch.slice(0, 7), batch.slice(7)]

    assert b"".join(exports.csv_chunks(rows)) == expected.getvalue().encode()
    assert b"".join(exports.csv_batch_chunks(sliced)) == expected.getvalue().encode()


def test_csv_of_no_rows_is_just_the_header():
    data = b"".join(exports.csv_chunks([]))
    assert list(csv.reader(io.StringIO(data.decode(), newline=""))) == [list(exports.CSV_HEADER)]


# --- JSON -------------------------------------------------------------------------------
def test_json_of_record_batches_is_the_json_of_rows(awkward):
    (playlist,) = queries.export_playlists(["p1"])
    rows = rows_of("p1") + [
        {**tricky_row(index, value), "track_duration_sec": index / 7 or None}
        for index, value in enumerate(TRICKY)
    ]
    batches = list(exports.record_batches(rows, size=4))

    written = b"".join(exports.json_batch_chunks(playlist, batches))

    assert written == b"".join(exports.json_playlist_chunks(playlist, rows))
    assert b"".join(exports.json_batch_chunks(playlist, [])) == b"".join(
        exports.json_playlist_chunks(playlist, [])
    )


def test_json_of_record_batches_escapes_and_formats_as_orjson(awkward):
    """Columns without control characters take the column-wise escaping (quotes,
    backslashes); floats, timestamps with microseconds and null list elements too."""
    (playlist,) = queries.export_playlists(["p1"])
    plain = [value for value in TRICKY if not any(ord(c) < 32 for c in value)]
    numbers = [0.1, 1e-7, 1e20, -0.0, 120.0, float("nan"), 1 / 3, None]
    rows = [
        {**tricky_row(index, value + "\\ back\\slash \\\""),
         "track_duration_sec": numbers[index % len(numbers)],
         "artist_ids": [None, value] if index % 2 else [], "audio_tempo": numbers[index % 3]}
        for index, value in enumerate(plain * 2)
    ]  # fmt: skip
    batches = list(exports.record_batches(rows, size=5))

    written = b"".join(exports.json_batch_chunks(playlist, batches))

    assert written == b"".join(exports.json_playlist_chunks(playlist, rows))
    assert b"\\\\ back\\\\slash" in written and b"1e-7" in written


def test_json_is_one_object_with_metadata_and_tracks(awkward):
    (playlist,) = queries.export_playlists(["p1"])
    document = orjson.loads(b"".join(exports.json_playlist_chunks(playlist, rows_of("p1"))))

    assert document["playlist_id"] == "p1"
    assert document["name"] == "Mix: ünïcode & <b>html</b>"
    tracks = document["tracks"]
    assert [t["track_name"] for t in tracks] == [
        "Jóga ♫",
        '<script>alert("x")</script>',
        "No genre",
        "Home demo",
    ]
    assert tracks[0]["occurrences"] == 2
    assert tracks[0]["artist_names"] == ["Björk"]
    assert tracks[0]["track_genres"] == ["art pop", "electronica"]
    assert tracks[0]["added_at"] == "2024-03-01T12:30:05+00:00"
    assert tracks[1]["artist_names"] == ["Tyler, The Creator", "Björk"]
    assert tracks[1]["added_at"] is None
    assert tracks[2]["release_year"] is None and tracks[2]["track_genres"] == []
    assert tracks[3]["is_local"] is True and tracks[3]["artist_ids"] == []


def test_json_library_is_an_array_of_playlists(awkward):
    load([PlaylistItemFactory(track=TrackFactory(name="Other"))], playlist_id="p2", name="B")
    load([PlaylistItemFactory()], playlist_id="p3", name="Empty")
    playlists = queries.export_playlists(["p1", "p2"])

    document = orjson.loads(
        b"".join(exports.json_library_chunks(playlists, lambda p: rows_of(p["playlist_id"])))
    )

    assert [p["playlist_id"] for p in document] == ["p1", "p2"]
    assert [t["track_name"] for t in document[1]["tracks"]] == ["Other"]
    assert orjson.loads(b"".join(exports.json_library_chunks([], lambda p: []))) == []


# --- Parquet ----------------------------------------------------------------------------
def parquet_bytes(rows):
    return b"".join(exports.parquet_chunks(exports.record_batches(rows)))


def test_parquet_has_real_types_and_values(awkward):
    table = pq.read_table(pa.BufferReader(parquet_bytes(rows_of("p1"))))

    assert table.schema.equals(exports.PARQUET_SCHEMA)
    assert table.schema.field("added_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("track_genres").type == pa.list_(pa.string())
    rows = table.to_pylist()
    assert [r["track_name"] for r in rows] == [
        "Jóga ♫",
        '<script>alert("x")</script>',
        "No genre",
        "Home demo",
    ]
    assert rows[0]["playlist_name"] == "Mix: ünïcode & <b>html</b>"
    assert rows[0]["added_at"] == ADDED
    assert rows[0]["occurrences"] == 2
    assert rows[1]["artist_names"] == ["Tyler, The Creator", "Björk"]
    assert rows[1]["added_at"] is None
    assert rows[2]["release_year"] is None and rows[2]["track_genres"] == []
    assert rows[3]["is_local"] is True and rows[3]["track_isrc"] is None
    # Exportify's label and audio features: typed, null where a file did not say.
    assert table.schema.field("audio_tempo").type == pa.float64()
    assert table.schema.field("audio_key").type == pa.int16()
    assert table.schema.field("album_label").type == pa.string()
    assert rows[0]["album_label"] == "One Little, Indian"
    assert tuple(rows[0][name] for name in AUDIO_NAMES) == AUDIO
    assert all(rows[1][name] is None for name in (*AUDIO_NAMES, "album_label"))


def test_duckdb_reads_the_parquet_without_options(awkward, tmp_path):
    path = tmp_path / "mix.parquet"
    exports.write_parquet(queries.export_batches(["p1"]), str(path))
    con = duckdb.connect()

    types = dict(con.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()[i][:2]
                 for i in range(len(exports.PARQUET_SCHEMA)))  # fmt: skip
    top = con.execute(
        f"SELECT artist, count(*) AS tracks FROM '{path}', "
        "unnest(artist_names) AS a(artist) GROUP BY artist ORDER BY tracks DESC, artist"
    ).fetchall()

    assert types["added_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["track_genres"] == "VARCHAR[]"
    assert types["is_local"] == "BOOLEAN"
    assert types["release_year"] == "SMALLINT"
    assert top[0] == ("Björk", 2)
    assert (
        con.execute(f"SELECT count(*) FROM '{path}' WHERE release_year IS NULL").fetchone()[0] == 2
    )  # the unknown year and the local file


def test_parquet_writes_row_groups_and_an_empty_file_with_the_schema(awkward, tmp_path):
    path = tmp_path / "groups.parquet"
    counted = []
    batches = queries.export_batches(["p1"], rows_per_batch=3)
    total = exports.write_parquet(batches, str(path), on_batch=counted.append)

    assert total == 4 and counted == [3, 1]
    assert pq.ParquetFile(path).num_row_groups == 2
    from_rows = pq.read_table(pa.BufferReader(parquet_bytes(rows_of("p1"))))
    assert pq.read_table(path).equals(from_rows)  # rows or column batches: the same file
    empty = pq.read_table(pa.BufferReader(parquet_bytes([])))
    assert empty.num_rows == 0 and empty.schema.equals(exports.PARQUET_SCHEMA)


# --- the rows an export reads -----------------------------------------------------------
def test_export_rows_keep_removed_rows_last_unless_present_only(awkward):
    later = [PlaylistItemFactory(track=TrackFactory(name="New"))]
    object.__setattr__(later[0], "position", 0)
    snapshot = PlaylistSnapshotFactory(playlist_id="p1", name="Mix", snapshot_id="snap-2",
                                       items=later, total_items=1)  # fmt: skip
    load_playlist(snapshot, transform_snapshot(snapshot).rows)

    assert [r["track_name"] for r in rows_of("p1")] == ["New"]
    everything = rows_of("p1", present_only=False)
    assert everything[0]["track_name"] == "New" and everything[0]["removed_at"] is None
    assert len(everything) == 5 and all(r["removed_at"] for r in everything[1:])


def test_export_rows_filter_and_sort_like_the_track_table(awkward):
    assert [r["track_name"] for r in rows_of("p1", query="tyler")] == [
        '<script>alert("x")</script>'
    ]
    names = [r["track_name"] for r in rows_of("p1", sort="track", direction="asc")]
    assert names == ['<script>alert("x")</script>', "Home demo", "Jóga ♫", "No genre"]


def test_export_rows_of_no_playlist_is_empty(awkward):
    assert list(queries.export_rows([])) == []
    assert list(queries.export_playlists([])) == []
    assert len(list(queries.export_rows(None))) == 4  # None: the whole warehouse


def stopped_early_then_read_again():
    many = load([PlaylistItemFactory() for _ in range(30)], playlist_id="p30")
    batches = queries.export_batches([many.playlist_id], rows_per_batch=4)
    first = next(batches)
    batches.close()  # a download cancelled: PostgreSQL's COPY is stopped and drained
    assert first.num_rows == 4
    # The connection answers the next query, and the rows are all there.
    assert [row["position"] for row in rows_of(many.playlist_id)] == list(range(30))


def test_an_export_stopped_early_leaves_the_connection_usable():
    stopped_early_then_read_again()


@pytest.mark.django_db(transaction=True)
def test_an_export_stopped_early_outside_a_transaction_leaves_the_connection_usable():
    stopped_early_then_read_again()  # on PostgreSQL, the COPY is cancelled


def test_queries_between_batches_lose_no_rows():
    stopped_early_then_read_again()
    batches = queries.export_batches(["p30"], rows_per_batch=4)
    seen = []
    for batch in batches:  # an export run's heartbeat writes between batches
        seen += batch.column("position").to_pylist()
        PlaylistTrack.objects.filter(playlist_id="p30").update(occurrences=1)
    assert seen == list(range(30))


@pytest.mark.django_db(transaction=True)
def test_queries_between_batches_outside_a_transaction_lose_no_rows():
    test_queries_between_batches_lose_no_rows()  # on PostgreSQL: the COPY's own connection


@pytest.mark.django_db(transaction=True)
def test_the_copy_and_the_rows_read_in_a_transaction_are_the_same(awkward):
    """On PostgreSQL: out of a transaction the rows come from COPY's CSV, in one from
    each record's text (quoted like CSV, backslashes doubled): the same batches."""
    odd = 'a\\b "q" (x)\nline, y\\'
    track = TrackFactory(name=odd, album_name="", artists=(ArtistRef(id="a9", name=odd),))
    load([PlaylistItemFactory(track=track, added_at=None)], playlist_id="p2", name=odd)
    options = {"present_only": False, "rows_per_batch": 3}

    copied = pa.Table.from_batches(queries.export_batches(["p1", "p2"], **options))
    with transaction.atomic():
        recorded = pa.Table.from_batches(queries.export_batches(["p1", "p2"], **options))

    assert copied.num_rows == 5
    assert copied.to_pylist() == recorded.to_pylist()
    assert copied.column("track_name").to_pylist()[-1] == odd
    assert copied.column("album_name").to_pylist()[-1] == ""


def test_export_positions_are_places_as_the_track_table_shows_them(awkward):
    """Order keys have gaps (docs/warehouse.md); exports give the 0-based place, also
    within a search, and a removed row the place it had among the present ones."""
    page = queries.playlist_tracks_page(playlist_id="p1", page_size=50)
    shown = {row["track_id"]: row["position"] for row in page.rows}
    assert sorted(shown.values()) == [0, 1, 2, 3]
    assert {row["track_id"]: row["position"] for row in rows_of("p1")} == shown
    (searched,) = rows_of("p1", query="tyler")
    assert searched["position"] == shown[searched["track_id"]] == 1

    later = [PlaylistItemFactory(track=TrackFactory(name="New"))]
    object.__setattr__(later[0], "position", 0)
    snapshot = PlaylistSnapshotFactory(playlist_id="p1", name="Mix", snapshot_id="snap-2",
                                       items=later, total_items=1)  # fmt: skip
    load_playlist(snapshot, transform_snapshot(snapshot).rows)
    keys = dict(PlaylistTrack.objects.filter(playlist_id="p1").values_list("track_id", "position"))
    removed = [row for row in rows_of("p1", present_only=False) if row["removed_at"]]
    expected = queries._places(["p1"] * len(removed), [keys[row["track_id"]] for row in removed])
    assert [row["position"] for row in removed] == expected


def test_a_partitioned_export_splits_interleaved_values_into_one_file_each(awkward, tmp_path):
    rows = rows_of("p1")
    for index, row in enumerate(rows):  # sources alternate: not one run per value
        row["source"] = ("exportify", "mpd")[index % 2]

    total = exports.write_parquet_partitioned(
        exports.record_batches(rows, size=3), tmp_path, by="source"
    )

    assert total == len(rows) == 4
    files = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.parquet"))
    assert files == ["source=exportify/part-0.parquet", "source=mpd/part-0.parquet"]
    back = pq.read_table(tmp_path / "source=mpd" / "part-0.parquet").to_pylist()
    assert [row["track_id"] for row in back] == [rows[1]["track_id"], rows[3]["track_id"]]
    assert "source" not in back[0]  # the folder's name holds it

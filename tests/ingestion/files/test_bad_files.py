"""Every bad file is refused as a whole with a message for people, loading nothing."""

import json
import zipfile

import pytest

from devtools.synthetic.exports import (
    CLASSIC_HEADER,
    classic_row,
    export_playlist,
    export_track_item,
    write_csv,
    write_export_json,
    write_export_zip,
)
from ingestion.files import detect_format, ingest_path
from ingestion.files.errors import InvalidImportFile
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db


def refused(path, **options):
    """The single failed result for `path`, after checking nothing was loaded."""
    [result] = ingest_path(path, **options)
    assert result.status == "failed"
    assert not Playlist.objects.exists()
    assert not PlaylistTrack.objects.exists()
    return result.error


def test_truncated_json_says_where_it_ends(tmp_path):
    path = tmp_path / "Playlist1.json"
    write_export_json(path, [export_playlist("A", [export_track_item(1)])])
    path.write_text(path.read_text()[:-20])
    error = refused(path)
    assert "not valid JSON" in error
    assert "line 1, column" in error
    assert "cut off" in error


def test_malformed_json_gives_line_and_column(tmp_path):
    path = tmp_path / "Playlist1.json"
    path.write_text('{\n  "playlists": [\n    {"name": "A",, "items": []}\n  ]\n}')
    error = refused(path)
    assert "line 3, column 18" in error


def test_a_zip_without_playlists(tmp_path):
    path = write_export_zip(tmp_path / "data.zip", {"YourLibrary.json": b'{"tracks": []}'})
    assert "holds no playlists and no saved tracks" in refused(path)


def test_a_non_zip_named_zip(tmp_path):
    path = tmp_path / "export.zip"
    path.write_text("this is not an archive")
    assert detect_format(path) == "spotify_export"
    assert "is not a ZIP archive" in refused(path)


def test_an_oversized_file_is_refused_before_reading(tmp_path, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1000
    path = write_export_json(
        tmp_path / "Playlist1.json",
        [export_playlist("Big", [export_track_item(n) for n in range(50)])],
    )
    error = refused(path)
    assert "over the import limit" in error
    assert "IMPORT_MAX_FILE_BYTES" in error


def test_a_member_declared_too_big_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_FILE_BYTES = 20_000
    big = json.dumps({"playlists": [export_playlist("x" * 30_000, [])]}).encode()
    path = write_export_zip(tmp_path / "big.zip", {"Playlist1.json": big})
    assert "would unpack to" in refused(path)


def test_a_decompression_bomb_is_refused_by_its_ratio(tmp_path):
    bomb = b'{"playlists": [], "padding": "' + b"0" * (8 * 1024 * 1024) + b'"}'
    path = write_export_zip(tmp_path / "bomb.zip", {"Playlist1.json": bomb})
    assert "unpacks to far more data" in refused(path)


def test_a_member_that_lies_about_its_size_is_refused(tmp_path, settings, monkeypatch):
    settings.IMPORT_MAX_FILE_BYTES = 50_000
    payload = json.dumps({"playlists": [export_playlist("y" * 60_000, [])]}).encode()
    path = write_export_zip(tmp_path / "liar.zip", {"Playlist1.json": payload})
    # Pretend the header declared a small size, passing the declared-size checks;
    # zipfile stops at the declared size and the CRC then fails (the read cap
    # in reading.py is the last line of defence behind both).
    original = zipfile.ZipFile.infolist

    def lying_infolist(self):
        infos = original(self)
        for info in infos:
            info.file_size = 1000
        return infos

    monkeypatch.setattr(zipfile.ZipFile, "infolist", lying_infolist)
    error = refused(path)
    assert "liar.zip: Spotify Account Data/Playlist1.json cannot be unpacked" in error


def test_latin1_text_gets_a_clear_message(tmp_path):
    path = write_csv(tmp_path / "café.csv", [classic_row(1, **{"Track Name": "Café"})],
                     encoding="latin-1")  # fmt: skip
    error = refused(path)
    assert "not valid UTF-8" in error
    assert "0xE9" in error
    assert "re-save it as UTF-8" in error


def test_a_csv_missing_required_columns_names_them(tmp_path):
    header = [column for column in CLASSIC_HEADER if column not in ("Track URI", "Track Name")]
    path = write_csv(tmp_path / "odd.csv", [classic_row(1)], header)
    error = refused(path)
    # The other columns are Exportify's English ones: the refusal says so.
    assert "header in 'en' but has no “Track URI”, “Track Name” column(s)" in error
    assert "Columns found: Artist URI(s), Artist Name(s)" in error


def test_a_csv_row_with_a_bad_number_names_the_line(tmp_path):
    rows = [classic_row(1), classic_row(2, **{"Track Duration (ms)": "three minutes"})]
    error = refused(write_csv(tmp_path / "bad.csv", rows))
    assert "bad.csv, line 3: Track Duration (ms) 'three minutes' is not a number" in error


def test_one_bad_playlist_refuses_the_whole_export(tmp_path):
    good = export_playlist("Good", [export_track_item(1)])
    bad = export_playlist("Bad", [export_track_item(2), "not an item"])
    error = refused(write_export_json(tmp_path / "Playlist1.json", [good, bad]))
    assert "playlist 'Bad', item 2 is not an object" in error


def test_an_export_json_without_playlists(tmp_path):
    path = tmp_path / "YourLibrary.json"
    path.write_text('{"tracks": [], "albums": []}')
    assert "YourLibrary.json holds no saved tracks" in refused(path)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"info": {"slice": "0-999"}}, "has no “playlists” list"),
        ({"playlists": [{"name": "x", "tracks": []}]}, "playlist 2 has no pid"),
        ({"playlists": [{"pid": 1, "name": "x"}]}, "playlist 2 has no tracks"),
        ({"playlists": [{"pid": "1", "tracks": []}]}, "malformed pid or tracks"),
        ({"playlists": [{"pid": 1, "tracks": [{"pos": 0}]}]}, "pid 1, track 1 has no"),
    ],
)
def test_mpd_slices_with_wrong_shapes(tmp_path, document, message):
    path = tmp_path / "mpd.slice.0-999.json"
    good = {"pid": 0, "name": "fine", "collaborative": "false", "tracks": []}
    if "playlists" in document:
        document = {"playlists": [good, *document["playlists"]]}
    path.write_text(json.dumps(document))
    error = refused(path)
    assert message in error


def test_a_bad_slice_in_a_directory_is_refused_and_the_others_load(tmp_path):
    from devtools.synthetic.mpd import generate_slices

    good, bad = generate_slices(tmp_path, slices=2, playlists_per_slice=3)
    bad.write_text(bad.read_text()[:-100])
    results = ingest_path(tmp_path)
    assert [result.status for result in results] == ["succeeded"] * 3 + ["failed"]
    assert "mpd.slice.3-5.json is not valid JSON" in results[-1].error
    assert not Playlist.objects.filter(pk__in=["mpd:3", "mpd:4", "mpd:5"]).exists()


def test_unknown_files_paths_and_formats_are_reported(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert "is not a file this app imports" in refused(notes)
    assert "does not exist" in refused(tmp_path / "missing.json")
    assert "Unknown format 'itunes'" in refused(notes, format="itunes")
    with pytest.raises(InvalidImportFile, match="not a file this app imports"):
        detect_format(notes)
    (tmp_path / "empty").mkdir()
    assert "holds no files to import" in refused(tmp_path / "empty")


def test_the_read_cap_stops_inflating_past_the_budget(tmp_path):
    from ingestion.files.reading import _read_member

    path = write_export_zip(tmp_path / "x.zip", {"Playlist1.json": b"0" * 5000})
    with zipfile.ZipFile(path) as archive, pytest.raises(InvalidImportFile, match="far more"):
        _read_member(path, archive, archive.infolist()[0], budget=4000)


def test_small_members_cannot_add_up_past_the_decompressed_budget(tmp_path, settings):
    # Each member is under the ratio check's threshold; the budget counts them all.
    settings.IMPORT_MAX_DECOMPRESSED_BYTES = 100_000
    member = json.dumps({"playlists": [export_playlist("P", [export_track_item(1)] * 100)]})
    assert 20_000 < len(member) < 50_000
    members = {f"Playlist{n}.json": member.encode() for n in range(1, 6)}
    error = refused(write_export_zip(tmp_path / "many.zip", members))
    assert "IMPORT_MAX_DECOMPRESSED_BYTES" in error
    assert "many.zip" in error


def test_a_playlist_file_over_the_decompressed_budget_is_refused_unread(tmp_path, settings):
    settings.IMPORT_MAX_DECOMPRESSED_BYTES = 1000
    path = write_export_json(
        tmp_path / "Playlist1.json",
        [export_playlist("Big", [export_track_item(n) for n in range(50)])],
    )
    error = refused(path)
    assert "Playlist1.json is" in error and "IMPORT_MAX_DECOMPRESSED_BYTES" in error
    csv_path = write_csv(tmp_path / "Big.csv", [classic_row(n) for n in range(1, 20)])
    assert "IMPORT_MAX_DECOMPRESSED_BYTES" in refused(csv_path)


def test_a_bad_member_after_good_ones_loads_none_of_the_export(tmp_path):
    # Members are read and loaded one at a time, inside one transaction.
    good = [export_playlist("Good", [export_track_item(1)])]
    members = {"Playlist1.json": good, "Playlist2.json": b'{"playlists": [{"name": "x",'}
    error = refused(write_export_zip(tmp_path / "export.zip", members))
    assert "Playlist2.json is not valid JSON" in error

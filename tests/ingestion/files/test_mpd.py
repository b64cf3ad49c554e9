import json

import pytest
from django.core.management import call_command

from devtools.synthetic.mpd import generate_slices
from ingestion.files import detect_format, ingest_path
from ingestion.files.mpd import read_slice
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db


@pytest.fixture
def slices(tmp_path):
    return generate_slices(tmp_path / "mpd", slices=2, playlists_per_slice=50, seed=7)


def test_the_generator_writes_mpd_shaped_slices(tmp_path):
    call_command("generate_mpd", slices=2, out=tmp_path, playlists_per_slice=50, seed=1)
    first = json.loads((tmp_path / "mpd.slice.0-49.json").read_text())
    assert first["info"]["slice"] == "0-49"
    playlist = first["playlists"][0]
    assert playlist["collaborative"] in ("true", "false")
    assert playlist["num_tracks"] == len(playlist["tracks"]) >= 5
    assert set(playlist["tracks"][0]) >= {"pos", "track_uri", "artist_uri", "album_uri"}
    assert (tmp_path / "mpd.slice.50-99.json").exists()


def test_the_generator_is_deterministic_per_seed(tmp_path):
    one = generate_slices(tmp_path / "a", slices=1, playlists_per_slice=20, seed=3)
    two = generate_slices(tmp_path / "b", slices=1, playlists_per_slice=20, seed=3)
    other = generate_slices(tmp_path / "c", slices=1, playlists_per_slice=20, seed=4)
    assert one[0].read_bytes() == two[0].read_bytes() != other[0].read_bytes()


def test_generated_slices_round_trip_through_the_importer(slices):
    directory = slices[0].parent
    assert detect_format(directory) == detect_format(slices[0]) == "mpd"
    progress = []
    results = ingest_path(directory, progress=lambda *step: progress.append(step))
    assert len(results) == 100
    assert all(result.status == "succeeded" for result in results)
    assert [result.playlist_id for result in results] == [f"mpd:{pid}" for pid in range(100)]
    expected_rows = sum(result.tracks_loaded for result in results)
    assert PlaylistTrack.objects.count() == expected_rows
    assert set(PlaylistTrack.objects.values_list("source", flat=True)) == {"mpd"}
    assert set(Playlist.objects.values_list("source", flat=True)) == {"mpd"}
    assert ("playlists", 50, 50) in progress
    raw = json.loads(slices[0].read_text())["playlists"][0]
    rows = PlaylistTrack.objects.filter(playlist_id="mpd:0")
    assert rows.count() == len({track["track_uri"] for track in raw["tracks"]})
    assert Playlist.objects.get(pk="mpd:0").collaborative is (raw["collaborative"] == "true")


def test_a_reimport_of_a_slice_writes_nothing(slices):
    ingest_path(slices[0])
    before = list(PlaylistTrack.objects.order_by("playlist_id", "track_id").values())
    again = ingest_path(slices[0])
    assert sum(result.rows_inserted + result.rows_updated for result in again) == 0
    assert list(PlaylistTrack.objects.order_by("playlist_id", "track_id").values()) == before


def test_a_changed_slice_marks_removed_tracks_of_its_playlists_only(slices):
    ingest_path(slices[0])
    document = json.loads(slices[0].read_text())
    dropped = document["playlists"][0]["tracks"].pop()
    document["playlists"][0]["tracks"] = [
        track for track in document["playlists"][0]["tracks"]
        if track["track_uri"] != dropped["track_uri"]
    ]  # fmt: skip
    slices[0].write_text(json.dumps(document))
    results = ingest_path(slices[0])
    assert results[0].rows_removed == 1
    assert sum(result.rows_removed for result in results[1:]) == 0
    removed = PlaylistTrack.objects.get(
        playlist_id="mpd:0", track_id=dropped["track_uri"].rsplit(":", 1)[1]
    )
    assert removed.removed_at is not None


def test_tracks_keep_their_pos_and_have_no_dates_or_genres(slices):
    snapshot = read_slice(slices[0])[0]
    assert [item.position for item in snapshot.items] == list(range(len(snapshot.items)))
    assert snapshot.items[0].added_at is None
    assert snapshot.items[0].track.artists[0].id is not None
    assert snapshot.artist_genres == {}


@pytest.mark.parametrize("length", [0, 1, 999, 1000, 1001, 2500])
def test_the_content_hash_is_that_of_the_whole_list_in_chunks(length):
    # Snapshot ids stored before the hash went chunk by chunk must not change:
    # a re-import of the same slice would otherwise make a version of every playlist.
    import hashlib

    from ingestion.files.identity import content_hash

    tracks = [
        {"pos": i, "track_name": f"Tränk {i}", "z": [None, {"b": 1, "a": 2}]} for i in range(length)
    ]
    whole = json.dumps(tracks, sort_keys=True, ensure_ascii=False, default=str).encode()
    assert content_hash(tracks) == hashlib.sha256(whole).hexdigest()[:32]

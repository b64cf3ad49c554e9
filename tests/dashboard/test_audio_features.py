"""Audio features and record labels from Exportify files: kept in the warehouse,
charted on the playlist's dashboard, sortable in its track table (issue 14, point 6)."""

import pytest
from django.urls import reverse

from accounts.library import grant
from devtools.synthetic.exports import (
    exportify_header,
    exportify_row,
    fork_row,
    track_id,
    write_csv,
    write_fork_csv,
)
from ingestion.files import ingest_path
from ingestion.pipeline import Status
from warehouse.models import PlaylistTrack
from warehouse.queries import playlist_audio_features

pytestmark = pytest.mark.django_db

FEATURES = {
    "danceability": "0.8",
    "energy": "0.9",
    "key": "9",
    "loudness": "-5.5",
    "mode": "0",
    "speechiness": "0.05",
    "acousticness": "0",
    "instrumentalness": "0.0",
    "liveness": "0.1",
    "valence": "0.7",
    "tempo": "128.0",
    "time_signature": "4",
}
FEATURE_COLUMNS = (
    "album_label",
    "track_popularity",
    "audio_danceability",
    "audio_energy",
    "audio_key",
    "audio_loudness",
    "audio_mode",
    "audio_acousticness",
    "audio_valence",
    "audio_tempo",
    "audio_time_signature",
)


def features_of(playlist_id):
    return list(
        PlaylistTrack.objects.filter(playlist_id=playlist_id)
        .order_by("position")
        .values_list(*FEATURE_COLUMNS)
    )


def import_german_mix(tmp_path, owner_key="", plain_rows=0):
    rows = [
        exportify_row("de", 1, label="Label A", **FEATURES),
        # Blanks and Spotify's "not detected" values: tempo 0, key -1.
        exportify_row("de", 2, tempo="0", key="-1", energy="", valence="", danceability="0"),
        exportify_row("de", 3),  # no features at all
        *(exportify_row("de", 4 + n) for n in range(plain_rows)),
    ]
    path = write_csv(tmp_path / "mix.csv", rows, exportify_header("de"))
    [result] = ingest_path(path, owner_key=owner_key)
    assert result.status == Status.SUCCEEDED, result.error
    return result


def test_the_features_and_label_are_kept_with_odd_values_as_missing(tmp_path):
    result = import_german_mix(tmp_path)
    assert features_of(result.playlist_id) == [
        ("Label A", 42, 0.8, 0.9, 9, -5.5, 0, 0.0, 0.7, 128.0, 4),
        (None, 42, 0.0, None, None, None, None, None, None, None, None),
        (None, 42, None, None, None, None, None, None, None, None, None),
    ]
    features = playlist_audio_features(result.playlist_id)
    assert (features.tracks, features.with_features) == (3, 2)
    assert dict(features.tempo)["120–139"] == 1
    assert dict(features.keys)["A"] == 1 and features.minor == 1
    assert dict(features.moods)["Energetic and positive"] == 1
    assert dict(features.danceability) == {
        **dict.fromkeys(dict(features.danceability), 0),
        "0.0–0.1": 1,
        "0.8–0.9": 1,
    }


def test_the_fork_carries_features_and_record_label(tmp_path):
    row = fork_row(1, **{"Record Label": "Indie", "Tempo": "90.5", "Loudness": "-12.25"})
    [result] = ingest_path(write_fork_csv(tmp_path / "fork.csv", [row]))
    [(label, _, *_, tempo, _)] = features_of(result.playlist_id)
    assert (label, tempo) == ("Indie", 90.5)
    assert PlaylistTrack.objects.get(track_id=track_id(1)).audio_loudness == -12.25


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Tanzbarkeit", "lots", "Danceability 'lots' is not a number"),
        ("Tonart", "4.5", "Key '4.5' is not a whole number"),
        ("Energie", "1.5", "Energy '1.5' is outside 0.0…1.0"),
    ],
)
def test_a_bad_feature_value_is_refused_with_its_line(tmp_path, column, value, message):
    rows = [exportify_row("de", 1), exportify_row("de", 2)]
    rows[1][column] = value
    path = write_csv(tmp_path / "bad.csv", rows, exportify_header("de"))
    [result] = ingest_path(path)
    assert result.status == Status.FAILED
    assert f"bad.csv, line 3: {message}" in result.error
    assert not PlaylistTrack.objects.exists()


def test_the_dashboard_charts_them_with_source_and_coverage(client, alice, tmp_path):
    # Five tracks: below that the dashboard shows no charts at all (CHARTS_FROM_TRACKS).
    result = import_german_mix(tmp_path, owner_key=str(alice.pk), plain_rows=2)
    grant(alice.pk, result.playlist_id, add=True)
    client.force_login(alice)
    page = client.get(reverse("dashboard:playlist", args=[result.playlist_id]))
    html = page.content.decode()
    assert 'id="audio-features"' in html
    assert "From the Exportify file" in html and "2 of the 5 tracks (40%) have them" in html
    for chart in ("tempo", "moods", "danceability", "keys"):
        assert f'id="chart-{chart}"' in html
    chart_ids = [chart["id"] for chart in page.context["chart_data"]["charts"]]
    assert {"tempo", "moods", "danceability", "keys"} <= set(chart_ids)
    # The track table sorts by them (missing values last).
    table = client.get(
        reverse("dashboard:tracks", args=[result.playlist_id]),
        {"sort": "tempo", "dir": "desc", "format": "json"},
    ).json()
    assert [row["audio_tempo"] for row in table["rows"]] == [128.0, None, None, None, None]
    fragment = client.get(
        reverse("dashboard:tracks", args=[result.playlist_id]), {"sort": "key"}
    ).content.decode()
    assert "A minor" in fragment  # the key column, named
    assert "?sort=tempo&amp;dir=asc#tracks" in fragment  # a sortable column


def test_a_small_playlist_sorts_by_features_but_draws_no_charts(client, alice, tmp_path):
    result = import_german_mix(tmp_path, owner_key=str(alice.pk))  # 3 tracks
    grant(alice.pk, result.playlist_id, add=True)
    client.force_login(alice)
    html = client.get(reverse("dashboard:playlist", args=[result.playlist_id])).content.decode()
    assert "audio-features" not in html and "data-no-charts" in html
    assert "?sort=tempo&amp;dir=asc#tracks" in html


def test_a_playlist_without_features_shows_no_audio_section(client, alice, tmp_path):
    path = write_csv(tmp_path / "plain.csv", [exportify_row("en", 1)], exportify_header("en"))
    [result] = ingest_path(path, owner_key=str(alice.pk))
    grant(alice.pk, result.playlist_id, add=True)
    client.force_login(alice)
    html = client.get(reverse("dashboard:playlist", args=[result.playlist_id])).content.decode()
    assert "audio-features" not in html
    assert "sort=tempo" not in html


def test_another_user_sees_none_of_it(client, alice, bob, tmp_path):
    result = import_german_mix(tmp_path, owner_key=str(alice.pk))
    client.force_login(bob)
    page = client.get(reverse("dashboard:playlist", args=[result.playlist_id]))
    assert page.status_code == 404
    table = client.get(reverse("dashboard:tracks", args=[result.playlist_id]), {"sort": "tempo"})
    assert table.status_code == 404

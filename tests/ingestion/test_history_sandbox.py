"""History end to end: the sandbox ages a playlist over HTTP, each refresh is a version,
and "as of" every version is exactly what the sandbox served then."""

import datetime as dt
import io
import itertools

import pytest
import requests

from devtools.sandbox import DEMO_PLAYLISTS
from ingestion.pipeline import Status, ingest_playlist
from warehouse import queries

pytestmark = pytest.mark.django_db

PLAYLIST = DEMO_PLAYLISTS[237]


def age(sandbox, days=1):
    response = requests.post(
        f"{sandbox.base_url}_sandbox/playlists/{PLAYLIST}/age", json={"days": days}, timeout=5
    )
    assert response.status_code == 200, response.text
    return response.json()["days"]


def served(sandbox):
    """(track id, occurrences) in first-occurrence order, as the sandbox serves them."""
    ids = [item.ref for item in sandbox.state.playlist_items(PLAYLIST) if item.kind == "track"]
    return [(track_id, ids.count(track_id)) for track_id in dict.fromkeys(ids)]


def as_of(version):
    rows = queries.playlist_rows_as_of(playlist_id=PLAYLIST, version=version)
    return [(row["track_id"], row["occurrences"]) for row in rows]


def test_every_daily_edit_is_a_version_equal_to_what_was_served(sandbox):
    assert ingest_playlist(PLAYLIST).status == Status.SUCCEEDED
    expected = {1: served(sandbox)}
    edits = []
    for day in range(1, 9):
        (edit,) = age(sandbox)
        edits.append(edit)
        result = ingest_playlist(PLAYLIST)
        assert result.status == Status.SUCCEEDED, result.error
        assert result.history_version == day + 1
        assert (result.tracks_added, result.tracks_removed) == (
            len(edit["added"]),
            len(edit["removed_positions"]),
        )
        expected[day + 1] = served(sandbox)
    for version, tracks in expected.items():
        assert as_of(version) == tracks, f"version {version}"
    versions = queries.playlist_versions(playlist_id=PLAYLIST)
    assert [v["version"] for v in versions] == list(range(1, 10))
    assert versions[7]["renamed"] and versions[7]["name"].endswith("(week 1)")  # day 7
    # The moves the sandbox made are moves, never a removal plus an addition.
    assert sum(v["moved"] for v in versions) >= 1
    # An unchanged refresh makes no version and stays one API call.
    unchanged = ingest_playlist(PLAYLIST)
    assert (unchanged.status, unchanged.history_version, unchanged.api_calls) == (
        Status.UNCHANGED,
        None,
        1,
    )


def test_aging_is_deterministic_and_refuses_bad_input(sandbox):
    first = age(sandbox, days=3)
    sandbox.state.reset()
    assert [(d["added"], d["removed_positions"]) for d in age(sandbox, days=3)] == [
        (d["added"], d["removed_positions"]) for d in first
    ]
    bad = requests.post(
        f"{sandbox.base_url}_sandbox/playlists/{PLAYLIST}/age", json={"days": 0}, timeout=5
    )
    assert bad.status_code == 400 and "days must be" in bad.json()["error"]
    unknown = requests.post(f"{sandbox.base_url}_sandbox/playlists/nope/age", json={}, timeout=5)
    assert unknown.status_code == 404


def test_the_demo_playlist_gets_weeks_of_history(sandbox, settings):
    from django.core.management import call_command

    from devtools.demo import seed_demo_user

    settings.DEBUG = True
    seed_demo_user()
    call_command("ingest", "--user", "demo", PLAYLIST, stdout=io.StringIO(), stderr=io.StringIO())
    call_command("demo_history", "--days", "3", stdout=io.StringIO())
    versions = queries.playlist_versions(playlist_id=PLAYLIST)
    assert [v["version"] for v in versions] == [1, 2, 3, 4]
    gaps = {
        later["seen_at"] - earlier["seen_at"] for earlier, later in itertools.pairwise(versions)
    }
    assert gaps == {dt.timedelta(days=1)}

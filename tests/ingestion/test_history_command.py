import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from devtools.synthetic.snapshots import TrackFactory, snapshot_of
from ingestion.transform import transform_snapshot
from warehouse.loader import load_playlist

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
PLAYLIST = "3cEYpjA9oz9GiPac4AsH4n"


@pytest.fixture
def three_versions():
    a, b, c = TrackFactory.create_batch(3)
    states = [([a, b], "Mix"), ([a, b, c], "Mix"), ([c, a], "Mix II")]
    for day, (tracks, name) in enumerate(states):
        snapshot = snapshot_of(tracks, playlist_id=PLAYLIST, name=name, snapshot_id=f"s{day}")
        load_playlist(snapshot, transform_snapshot(snapshot).rows, now=T0 + dt.timedelta(days=day))
    return a, b, c


def history(*args):
    out = StringIO()
    call_command("history", *args, stdout=out)
    return out.getvalue()


def test_it_lists_versions_with_their_changes(three_versions):
    lines = history(f"https://open.spotify.com/playlist/{PLAYLIST}").splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("v1  2026-01-01T12:00:00+00:00  2 tracks  +2 -0 ~0 moved")
    assert "+0 -1 ~1 moved renamed to 'Mix II'" in lines[2]
    data = json.loads(history(PLAYLIST, "--json", "--since", "2026-01-02"))
    assert [v["version"] for v in data["versions"]] == [2, 3]
    assert data["versions"][1]["renamed"] is True


def test_as_of_a_version_or_a_date_prints_that_state(three_versions):
    a, b, c = three_versions
    by_version = json.loads(history(PLAYLIST, "--as-of", "2", "--json"))
    assert [t["track_id"] for t in by_version["tracks"]] == [a.id, b.id, c.id]
    by_date = json.loads(history(PLAYLIST, "--as-of", "2026-01-02", "--json"))
    assert by_date == by_version
    by_time = json.loads(history(PLAYLIST, "--as-of", "2026-01-03T11:59:59Z", "--json"))
    assert by_time["version"] == 2
    latest = json.loads(history(PLAYLIST, "--as-of", "3", "--json"))
    assert [(t["track_id"], t["position"]) for t in latest["tracks"]] == [(c.id, 0), (a.id, 1)]


def test_bad_input_says_what_was_wrong(three_versions):
    with pytest.raises(CommandError, match="versions 1 to 3; there is no 9"):
        history(PLAYLIST, "--as-of", "9")
    with pytest.raises(CommandError, match="not a version number, an ISO date"):
        history(PLAYLIST, "--as-of", "last tuesday")
    with pytest.raises(CommandError, match="first seen after"):
        history(PLAYLIST, "--as-of", "2025-12-31")
    with pytest.raises(CommandError, match="No playlist 'nope' in the warehouse"):
        history("nope")

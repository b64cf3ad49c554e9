"""`manage.py compare` and `manage.py duplicates`, with and without --user."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from devtools.synthetic.snapshots import TrackFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def shelves(alice, bob, loaded_playlist):
    shared = TrackFactory(id="shared1", name="Shared")
    only = TrackFactory(id="only1", name="Only")
    loaded_playlist(alice, track_list=[shared, only], name="Mine A", playlist_id="pa")
    loaded_playlist(alice, track_list=[shared], name="Mine B", playlist_id="pb")
    loaded_playlist(bob, track_list=[shared], name="Bob's", playlist_id="pbob")


def test_compare_prints_the_similarity(shelves):
    out = run("compare", "pa", "pb")
    assert "Tracks: 1 in all of 2 in any (similarity 50.0%)" in out
    data = json.loads(run("compare", "pa", "pb", "--json"))
    assert (data["tracks"]["shared"], data["tracks"]["jaccard"]) == (1, 0.5)
    assert data["only_in"] == {"pa": 1, "pb": 0}


def test_compare_as_a_user_refuses_another_persons_playlist(shelves):
    assert "similarity" in run("compare", "pa", "pb", "--user", "alice")
    with pytest.raises(CommandError, match="not one of alice's playlists"):
        run("compare", "pa", "pbob", "--user", "alice")


def test_compare_says_what_is_wrong(shelves):
    with pytest.raises(CommandError, match="at least two"):
        run("compare", "pa", "pa")
    with pytest.raises(CommandError, match="not in the warehouse"):
        run("compare", "pa", "37i9dQZF1DXcBWIGoYBM5M")
    with pytest.raises(CommandError, match="No user named"):
        run("compare", "pa", "pb", "--user", "nobody")


def test_duplicates_of_a_user_list_their_playlists_only(shelves):
    rows = json.loads(run("duplicates", "--user", "alice", "--json"))
    assert {(row["playlist_id"], row["track_id"]) for row in rows} == {
        ("pa", "shared1"),
        ("pb", "shared1"),
    }
    assert "Bob" not in run("duplicates", "--user", "alice")
    with pytest.raises(CommandError, match="not one of alice's playlists"):
        run("duplicates", "pbob", "--user", "alice")


def test_duplicates_of_named_playlists_and_without_any(shelves):
    assert "No duplicates in 1 playlist(s)." in run("duplicates", "pa")
    assert "1 group(s) in 3 playlist(s)." in run("duplicates", "pa", "pb", "pbob", "--loose")
    with pytest.raises(CommandError, match="--user NAME"):
        run("duplicates")

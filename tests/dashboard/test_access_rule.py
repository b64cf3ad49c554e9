"""Who may see what: a person sees a playlist's data only if they loaded it themselves.

Reproductions of the private-playlist leak, end to end through the sandbox over
HTTP: the owner (bob, connected as sandbox-bob) loads his private playlist;
someone who knows its id (alice, connected as another Spotify account, or not
connected at all) adds it too. Every page and JSON endpoint that shows playlist
data is then asked as alice.
"""

import pytest
from django.urls import reverse

from accounts.models import Access, UserPlaylist
from devtools.sandbox import (
    ALICE_USER_ID,
    BOB_USER_ID,
    COLLAB_PLAYLIST_ID,
    DEMO_USER_ID,
    OTHER_USER_PLAYLIST_ID,
    PRIVATE_PLAYLIST_ID,
)
from ingestion import runs
from ingestion.models import IngestRun, Kind, RunStatus, Trigger
from tests.dashboard.conftest import downloaded_text

pytestmark = pytest.mark.django_db

SECRET_NAME = "Bob's Secret Stash"
SECRET_DESCRIPTION = "Nobody else should see this."


@pytest.fixture
def add_as(client, django_capture_on_commit_callbacks):
    """`add_as(user, playlist_id)`: the user adds the playlist on the home page;
    its run executes (tasks run inline in tests). Returns the user's run."""

    def add(user, playlist_id):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("dashboard:add"), {"reference": playlist_id})
        return IngestRun.objects.filter(requested_by=user).latest("pk")

    return add


@pytest.fixture
def bobs_secret(sandbox, bob, connect_spotify, add_as):
    connect_spotify(bob, BOB_USER_ID)
    run = add_as(bob, PRIVATE_PLAYLIST_ID)
    assert run.status == RunStatus.SUCCEEDED
    return run


def _entry(user, playlist_id):
    return UserPlaylist.objects.get(user=user, playlist_id=playlist_id)


def assert_sees_nothing_of(client, user, playlist_id, *, secrets, others_run):
    """Every page and endpoint with playlist data, asked as `user`."""
    client.force_login(user)
    dashboard = client.get(reverse("dashboard:playlist", args=[playlist_id]))
    assert dashboard.status_code == 200  # it is on their list…
    assert dashboard.context["playlist"] is None  # …with none of its data
    assert "figures" not in dashboard.context
    tracks = reverse("dashboard:tracks", args=[playlist_id])
    assert client.get(tracks, {"format": "json"}).status_code == 404
    assert client.get(tracks).status_code == 404
    assert client.post(reverse("dashboard:enrich", args=[playlist_id])).status_code == 404
    history = reverse("dashboard:history", args=[playlist_id])
    assert client.get(history).status_code == 404
    assert client.get(history, {"format": "json"}).status_code == 404
    diff = reverse("dashboard:diff", args=[playlist_id])
    assert client.get(diff).status_code == 404
    for kind in ("added", "removed", "moved"):
        params = {"from": 1, "to": 1, "kind": kind, "sort": "track", "q": "a", "format": "json"}
        assert client.get(diff, params).status_code == 404, kind
    for version_file in (
        "dashboard:version-json",
        "dashboard:version-csv",
        "dashboard:version-parquet",
    ):
        assert client.get(reverse(version_file, args=[playlist_id, 1])).status_code == 404
    overview = client.get(reverse("dashboard:overview"))
    assert overview.context["overview"].figures.tracks == 0
    home = client.get(reverse("dashboard:home"))
    (row,) = [row for row in home.context["rows"] if row.playlist_id == playlist_id]
    assert (row.playlist, row.track_count) == (None, 0)
    for file_format in ("csv", "json", "parquet"):
        download = reverse("dashboard:download", args=[playlist_id, file_format])
        assert client.get(download).status_code == 404, download
    for file_format in ("zip", "json", "parquet"):
        library = client.get(reverse("dashboard:library-download", args=[file_format]))
        assert library.status_code == 200
        text = downloaded_text(library, file_format)
        for secret in [playlist_id, *secrets]:
            assert secret not in text, (file_format, secret)
    for url in (
        reverse("dashboard:run", args=[others_run.pk]),
        f"/runs/{others_run.pk}/status.json",
    ):
        assert client.get(url).status_code == 404, url
    # The home page's one polled JSON: someone else's run is not in it.
    runs = client.get(reverse("dashboard:home-runs"), {"run": others_run.pk}).json()
    assert runs == {"runs": []}
    for page in (dashboard, overview, home):
        html = page.content.decode()
        for secret in secrets:
            assert secret not in html


@pytest.mark.parametrize("alice_connected", [True, False], ids=["connected", "not-connected"])
def test_knowing_a_private_playlists_id_shows_nothing_of_it(
    client, alice, bob, connect_spotify, add_as, bobs_secret, alice_connected
):
    if alice_connected:
        connect_spotify(alice, ALICE_USER_ID)

    alices_run = add_as(alice, PRIVATE_PLAYLIST_ID)

    assert alices_run.status == RunStatus.FAILED
    assert SECRET_NAME not in alices_run.name
    assert _entry(alice, PRIVATE_PLAYLIST_ID).access != Access.GRANTED
    assert_sees_nothing_of(
        client,
        alice,
        PRIVATE_PLAYLIST_ID,
        secrets=[SECRET_NAME, SECRET_DESCRIPTION, BOB_USER_ID],
        others_run=bobs_secret,
    )
    # Alice's failure is hers: bob's home still shows his own run as the latest.
    client.force_login(bob)
    (row,) = client.get(reverse("dashboard:home")).context["rows"]
    assert row.latest_run == bobs_secret
    assert row.track_count == bobs_secret.tracks_loaded > 0


@pytest.mark.parametrize("file_format", ["zip", "json", "parquet"])
def test_an_export_run_holds_only_what_its_requester_may_see_and_only_they_download_it(
    client, alice, bob, charlie, staff, connect_spotify, add_as, bobs_secret, settings,
    tmp_path, django_capture_on_commit_callbacks, file_format
):  # fmt: skip
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.EXPORT_QUEUE_ABOVE_ROWS = 0  # every library download is an export run
    connect_spotify(alice, ALICE_USER_ID)
    assert add_as(alice, PRIVATE_PLAYLIST_ID).status == RunStatus.FAILED  # knows the id
    assert add_as(alice, OTHER_USER_PLAYLIST_ID).status == RunStatus.SUCCEEDED  # hers

    def exported(user):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("dashboard:library-download", args=[file_format]))
        run = IngestRun.objects.filter(requested_by=user, kind=Kind.EXPORT).latest("pk")
        assert run.status == RunStatus.SUCCEEDED, run.error
        url = reverse("dashboard:run-download", args=[run.pk])
        text = downloaded_text(client.get(url), file_format)
        return run, url, text

    alices_run, alices_file, text = exported(alice)
    assert alices_run.playlists_total == 1  # her own playlist only
    for secret in [PRIVATE_PLAYLIST_ID, SECRET_NAME, SECRET_DESCRIPTION, BOB_USER_ID]:
        assert secret not in text, secret
    bobs_run, bobs_file, bobs_text = exported(bob)
    assert SECRET_NAME in bobs_text  # what alice's file does not hold is there to hold
    for someone, others_file in ((alice, bobs_file), (bob, alices_file), (charlie, alices_file)):
        client.force_login(someone)
        assert client.get(others_file).status_code == 404, (someone, others_file)
    client.force_login(charlie)
    assert client.get(reverse("dashboard:run", args=[alices_run.pk])).status_code == 404
    client.force_login(staff)  # follows any run, downloads no one's library
    assert client.get(alices_file).status_code == 404


def test_a_refused_playlist_says_why_on_the_dashboard(
    sandbox, client, alice, connect_spotify, add_as
):
    connect_spotify(alice, ALICE_USER_ID)
    run = add_as(alice, PRIVATE_PLAYLIST_ID)

    entry = _entry(alice, PRIVATE_PLAYLIST_ID)
    assert (entry.access, entry.access_reason) == (Access.REFUSED, run.error)
    html = client.get(reverse("dashboard:playlist", args=[PRIVATE_PLAYLIST_ID])).content.decode()
    assert "does not let your Spotify account read this playlist" in html
    assert "Spotify answers 404" in html


def test_a_public_playlist_another_token_may_not_read_is_not_unchanged(
    sandbox, client, alice, bob, connect_spotify, add_as
):
    # Development Mode: alice (sandbox-alice) owns it; bob's token gets the playlist
    # object without its items. Its snapshot is the one loaded, yet that proves nothing.
    connect_spotify(alice, ALICE_USER_ID)
    alices_run = add_as(alice, OTHER_USER_PLAYLIST_ID)
    assert alices_run.status == RunStatus.SUCCEEDED
    connect_spotify(bob, BOB_USER_ID)

    bobs_run = add_as(bob, OTHER_USER_PLAYLIST_ID)

    assert bobs_run.status == RunStatus.FAILED
    assert "may not read the tracks" in bobs_run.error
    assert _entry(bob, OTHER_USER_PLAYLIST_ID).access == Access.REFUSED
    assert_sees_nothing_of(
        client,
        bob,
        OTHER_USER_PLAYLIST_ID,
        secrets=["Public, but not yours."],
        others_run=alices_run,
    )


def test_a_playlist_is_waiting_until_its_first_load(client, alice, connect_spotify):
    connect_spotify(alice, DEMO_USER_ID)
    client.force_login(alice)

    client.post(reverse("dashboard:add"), {"reference": COLLAB_PLAYLIST_ID})  # not executed

    assert _entry(alice, COLLAB_PLAYLIST_ID).access == Access.WAITING


def test_later_refusals_withdraw_access_and_later_reads_restore_it(
    sandbox, client, alice, bob, connect_spotify, add_as
):
    connect_spotify(alice, DEMO_USER_ID)  # sandbox-demo collaborates on it
    assert add_as(alice, COLLAB_PLAYLIST_ID).status == RunStatus.SUCCEEDED
    assert _entry(alice, COLLAB_PLAYLIST_ID).access == Access.GRANTED
    with sandbox.state.lock:
        hidden = sandbox.state.playlists.pop(COLLAB_PLAYLIST_ID)  # Spotify now answers 404

    refused = add_as(alice, COLLAB_PLAYLIST_ID)

    assert refused.status == RunStatus.FAILED
    assert _entry(alice, COLLAB_PLAYLIST_ID).access == Access.REFUSED
    client.force_login(alice)
    tracks = reverse("dashboard:tracks", args=[COLLAB_PLAYLIST_ID])
    assert client.get(tracks, {"format": "json"}).status_code == 404
    with sandbox.state.lock:
        sandbox.state.playlists[COLLAB_PLAYLIST_ID] = hidden
    assert add_as(alice, COLLAB_PLAYLIST_ID).status == RunStatus.UNCHANGED  # read again
    assert client.get(tracks, {"format": "json"}).json()["total"] > 0


def test_the_daily_refresh_keeps_everyone_who_loaded_it(
    sandbox, client, alice, bob, connect_spotify, add_as
):
    connect_spotify(alice, ALICE_USER_ID)  # the owner
    connect_spotify(bob, DEMO_USER_ID)  # a collaborator
    assert add_as(alice, COLLAB_PLAYLIST_ID).status == RunStatus.SUCCEEDED
    assert add_as(bob, COLLAB_PLAYLIST_ID).status == RunStatus.UNCHANGED  # read, not reloaded
    sandbox.state.remove_items(COLLAB_PLAYLIST_ID, [0])  # a new snapshot to load

    runs.refresh_tracked_playlists(trigger=Trigger.SCHEDULE)
    scheduled = IngestRun.objects.get(trigger=Trigger.SCHEDULE)
    runs.execute_run(runs.claim_run(scheduled.pk))

    scheduled.refresh_from_db()
    assert scheduled.status == RunStatus.SUCCEEDED
    assert scheduled.parameters["spotify_user"] == alice.pk  # the owner's connection
    for user in (alice, bob):
        assert _entry(user, COLLAB_PLAYLIST_ID).access == Access.GRANTED


def test_a_file_import_lets_only_its_importer_see_the_playlists(
    client, alice, bob, loaded_playlist
):
    imported = loaded_playlist(alice, name="Alice's Upload")
    UserPlaylist.objects.create(user=bob, playlist_id=imported.pk)  # bob guessed the id

    client.force_login(bob)

    assert client.get(reverse("dashboard:tracks", args=[imported.pk])).status_code == 404
    client.force_login(alice)
    assert client.get(reverse("dashboard:tracks", args=[imported.pk])).status_code == 200


def test_a_daily_refresh_never_reads_with_the_token_of_someone_who_only_knows_the_id(
    sandbox, alice, bob, connect_spotify, add_as
):
    connect_spotify(bob, BOB_USER_ID)
    assert add_as(bob, PRIVATE_PLAYLIST_ID).status == RunStatus.SUCCEEDED
    connect_spotify(alice, ALICE_USER_ID)
    add_as(alice, PRIVATE_PLAYLIST_ID)  # refused

    runs.refresh_tracked_playlists(trigger=Trigger.SCHEDULE)

    assert IngestRun.objects.get(trigger=Trigger.SCHEDULE).parameters["spotify_user"] == bob.pk

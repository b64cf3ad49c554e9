"""Which token reads a playlist: the user's own, the owner's on refresh, never another's."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from accounts.models import Access, ConnectionStatus, SpotifyConnection, UserPlaylist
from devtools.sandbox import BOB_USER_ID, DEMO_PLAYLISTS, DEMO_REFRESH_TOKEN, DEMO_USER_ID
from ingestion import runs
from ingestion.models import IngestRun, RunStatus, Trigger

pytestmark = pytest.mark.django_db

PLAYLIST = DEMO_PLAYLISTS[50]  # owned by sandbox-demo, not collaborative


def execute(run):
    claimed = runs.claim_run(run.pk)
    runs.execute_run(claimed)
    run.refresh_from_db()
    return run


def test_bobs_run_never_uses_alices_token(
    client, alice, bob, connect_spotify, sandbox, django_capture_on_commit_callbacks
):
    alices = connect_spotify(alice, DEMO_USER_ID)  # the playlist's owner
    UserPlaylist.objects.create(user=alice, playlist_id=PLAYLIST, access=Access.GRANTED)
    connect_spotify(bob, BOB_USER_ID)
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dashboard:add"), {"reference": PLAYLIST})
    run = IngestRun.objects.get()
    assert run.parameters["spotify_user"] == bob.pk
    assert run.status == RunStatus.FAILED
    assert f"connected Spotify account {BOB_USER_ID} may not read" in run.error
    alices.refresh_from_db()
    assert alices.access_token == ""  # alice's token was never even refreshed


def test_a_web_run_without_a_connection_never_borrows_the_settings_token(
    client, bob, sandbox, settings, django_capture_on_commit_callbacks
):
    assert settings.SPOTIFY_REFRESH_TOKEN == DEMO_REFRESH_TOKEN  # the operator's, for the shell
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dashboard:add"), {"reference": PLAYLIST})
    run = IngestRun.objects.get()
    assert run.status == RunStatus.FAILED and "app token" in run.error


def test_the_daily_refresh_reads_with_the_owners_connection(alice, bob, connect_spotify, sandbox):
    connect_spotify(bob, BOB_USER_ID)
    connect_spotify(alice, DEMO_USER_ID)
    UserPlaylist.objects.create(user=bob, playlist_id=PLAYLIST, access=Access.GRANTED)  # bob first
    UserPlaylist.objects.create(user=alice, playlist_id=PLAYLIST, access=Access.GRANTED)
    first, _ = runs.request_ingest(PLAYLIST, trigger=Trigger.SHELL, enqueue=False)
    assert execute(first).status == RunStatus.SUCCEEDED  # now tracked, owner known

    runs.refresh_tracked_playlists(trigger=Trigger.SCHEDULE)

    scheduled = IngestRun.objects.get(trigger=Trigger.SCHEDULE)
    assert scheduled.parameters["spotify_user"] == alice.pk
    assert execute(scheduled).status == RunStatus.UNCHANGED


def test_the_daily_refresh_skips_connections_that_need_reconnecting(
    alice, bob, connect_spotify, sandbox
):
    connect_spotify(alice, DEMO_USER_ID, status=ConnectionStatus.RECONNECT)
    connect_spotify(bob, BOB_USER_ID)
    UserPlaylist.objects.create(user=alice, playlist_id=PLAYLIST, access=Access.GRANTED)
    UserPlaylist.objects.create(user=bob, playlist_id=PLAYLIST, access=Access.GRANTED)
    first, _ = runs.request_ingest(PLAYLIST, trigger=Trigger.SHELL, enqueue=False)
    execute(first)
    runs.refresh_tracked_playlists(trigger=Trigger.SCHEDULE)
    assert IngestRun.objects.get(trigger=Trigger.SCHEDULE).parameters["spotify_user"] == bob.pk


def test_a_revoked_connection_fails_the_run_with_reconnect_not_a_crash(
    alice, connect_spotify, sandbox
):
    connection = connect_spotify(alice, DEMO_USER_ID)
    sandbox.state.revoke_refresh_token(DEMO_REFRESH_TOKEN)
    run, _ = runs.request_ingest(
        PLAYLIST, trigger=Trigger.WEB, user=alice, spotify_user=alice, enqueue=False
    )
    run = execute(run)
    assert run.status == RunStatus.FAILED
    assert "Reconnect Spotify" in run.error
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.RECONNECT
    # The next run fails at once with the same advice, without asking Spotify.
    tokens = sandbox.state.stats()["token"]
    again, _ = runs.request_ingest(
        PLAYLIST, trigger=Trigger.WEB, user=alice, spotify_user=alice, enqueue=False
    )
    assert "Reconnect Spotify" in execute(again).error
    assert sandbox.state.stats()["token"] == tokens


def test_the_shell_ingests_with_a_users_connection(alice, connect_spotify, sandbox, settings):
    settings.SPOTIFY_REFRESH_TOKEN = ""  # no fallback: only alice's connection can read it
    connect_spotify(alice, DEMO_USER_ID)
    out = StringIO()
    call_command("ingest", "--user", "alice", PLAYLIST, stdout=out, stderr=StringIO())
    assert "SUCCEEDED" in out.getvalue()
    run = IngestRun.objects.get()
    assert (run.requested_by, run.parameters["spotify_user"]) == (alice, alice.pk)
    assert UserPlaylist.objects.filter(user=alice, playlist_id=PLAYLIST).exists()
    assert SpotifyConnection.objects.get().access_token  # the refreshed token was saved


def test_the_shell_queues_runs_for_a_users_connection(
    alice, connect_spotify, sandbox, django_capture_on_commit_callbacks
):
    connect_spotify(alice, DEMO_USER_ID)
    with django_capture_on_commit_callbacks(execute=False):
        call_command("ingest", "--user", "alice", "--queue", PLAYLIST, stdout=StringIO())
    assert IngestRun.objects.get().parameters["spotify_user"] == alice.pk


@pytest.mark.parametrize(
    ("username", "message"),
    [("nobody", "No user 'nobody'"), ("alice", "has not connected a Spotify account")],
)
def test_the_shell_refuses_a_user_who_cannot_read(alice, sandbox, username, message):
    with pytest.raises(CommandError, match=message):
        call_command("ingest", "--user", username, PLAYLIST, stdout=StringIO())
    assert not IngestRun.objects.exists()


@pytest.mark.django_db(transaction=True)  # commits as a worker's would: no outer transaction
def test_a_run_is_over_only_with_the_access_its_read_gave(client, alice, connect_spotify, sandbox):
    """The outcome and the reader's access commit together: a page that sees the run
    succeeded sees the playlist too. Here the grant fails: the run must not stay
    succeeded with its playlist hidden (it fails, and says so)."""
    connect_spotify(alice, DEMO_USER_ID)
    client.force_login(alice)

    def refuse_the_grant(execute, sql, params, many, context):
        if sql.startswith('UPDATE "dashboard_userplaylist"') and "access" in sql:
            raise RuntimeError("the access write failed")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_the_grant):
        client.post(reverse("dashboard:add"), {"reference": PLAYLIST})
    run = IngestRun.objects.get()
    assert run.status == RunStatus.FAILED, run.status
    assert UserPlaylist.objects.get(user=alice).access != Access.GRANTED

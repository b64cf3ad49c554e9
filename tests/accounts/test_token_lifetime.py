"""Six-month refresh tokens: when each connection was authorized, the warning before its
end, invalid_grant as final, and the same for the operator's SPOTIFY_REFRESH_TOKEN."""

import importlib
from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.checks import operator_refresh_token
from accounts.models import ConnectionStatus, SpotifyConnection
from devtools.sandbox import (
    ALICE_REFRESH_TOKEN,
    ALICE_USER_ID,
    DEMO_PLAYLISTS,
    DEMO_REFRESH_TOKEN,
    DEMO_USER_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
)
from ingestion import runs
from ingestion.models import IngestRun, RunStatus, Trigger
from spotify_client import SpotifyAuthError, SpotifyClient

pytestmark = pytest.mark.django_db

ACCOUNT = reverse("spotify")
HOME = reverse("dashboard:home")
PICK = reverse("spotify-playlists")
PLAYLIST = DEMO_PLAYLISTS[50]  # owned by sandbox-demo
LIFETIME = 182


@pytest.fixture(autouse=True)
def lifetime_settings(settings):
    settings.SPOTIFY_REFRESH_TOKEN_LIFETIME_DAYS = LIFETIME
    settings.SPOTIFY_RECONNECT_WARNING_DAYS = 14


def authorized_days_ago(days):
    return timezone.now() - timedelta(days=days)


def ending_in(days):
    """An authorization time whose refresh token ends `days` from now."""
    return authorized_days_ago(LIFETIME - days)


def execute(run):
    runs.execute_run(runs.claim_run(run.pk))
    run.refresh_from_db()
    return run


# --- when a connection was authorized ----------------------------------------------------
def test_connecting_records_the_authorization_and_refreshes_do_not_move_it(
    client, alice, connect_over_oauth, sandbox
):
    client.force_login(alice)
    before = timezone.now()
    connect_over_oauth(client, ALICE_USER_ID)
    connection = SpotifyConnection.objects.get()
    assert before <= connection.authorized_at <= timezone.now()
    authorized = authorized_days_ago(30)
    SpotifyConnection.objects.update(
        authorized_at=authorized, expires_at=timezone.now() - timedelta(minutes=1)
    )
    tokens = sandbox.state.stats()["token"]

    assert client.get(PICK).status_code == 200  # refreshes the access token

    connection.refresh_from_db()
    assert sandbox.state.stats()["token"] == tokens + 1
    assert connection.expires_at > timezone.now()
    assert connection.authorized_at == authorized


def test_reconnecting_starts_a_new_lifetime(client, alice, connect_over_oauth, sandbox):
    client.force_login(alice)
    connect_over_oauth(client, ALICE_USER_ID)
    SpotifyConnection.objects.update(authorized_at=ending_in(3))
    connect_over_oauth(client, ALICE_USER_ID)
    connection = SpotifyConnection.objects.get()
    assert connection.authorized_at > authorized_days_ago(1)
    assert connection.reconnect_by is None


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(
    client, alice, connect_spotify, sandbox
):
    # The sandbox (like Spotify, often) answers a refresh without a refresh_token.
    answer = requests.post(
        sandbox.token_url,
        data={"grant_type": "refresh_token", "refresh_token": ALICE_REFRESH_TOKEN},
        auth=(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET),
        timeout=5,
    )
    assert answer.status_code == 200 and "refresh_token" not in answer.json()
    connect_spotify(alice, ALICE_USER_ID)
    client.force_login(alice)

    assert client.get(PICK).status_code == 200

    connection = SpotifyConnection.objects.get()
    assert connection.access_token  # the refresh happened and was saved ...
    assert connection.refresh_token == ALICE_REFRESH_TOKEN  # ... the old one kept
    SpotifyConnection.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(PICK).status_code == 200  # and it still refreshes


def test_existing_connections_count_from_when_they_were_made(alice, connect_spotify):
    connection = connect_spotify(alice)
    made = authorized_days_ago(100)
    SpotifyConnection.objects.update(connected_at=made, authorized_at=timezone.now())
    migration = importlib.import_module("accounts.migrations.0004_connection_authorized_at")

    migration.authorized_when_connected(apps, None)

    connection.refresh_from_db()
    assert connection.authorized_at == made


# --- "reconnect by <date>" ---------------------------------------------------------------
@pytest.mark.parametrize(("days_left", "shown"), [(13, True), (14, True), (15, False)])
def test_reconnect_by_shows_from_14_days_before_the_end(
    client, alice, connect_spotify, days_left, shown
):
    connection = connect_spotify(alice, authorized_at=ending_in(days_left))
    ends = f"{connection.refresh_token_expires_at:%Y-%m-%d}"
    client.force_login(alice)
    for page in (ACCOUNT, HOME):
        content = client.get(page).content.decode()
        assert (f'data-reconnect-by="{ends}"' in content) is shown, page
        assert (f"Reconnect Spotify by {ends}." in content) is shown, page
    if not shown:  # the account page still says when it will end
        assert ends in client.get(ACCOUNT).content.decode()


def test_a_connection_past_its_end_says_it_ended(client, alice, connect_spotify):
    connection = connect_spotify(alice, authorized_at=ending_in(-2))
    client.force_login(alice)
    ends = f"{connection.refresh_token_expires_at:%Y-%m-%d}"
    for page in (ACCOUNT, HOME):
        assert f"Spotify ended this connection on {ends}" in client.get(page).content.decode()


def test_the_warning_window_is_a_setting(client, alice, connect_spotify, settings):
    settings.SPOTIFY_RECONNECT_WARNING_DAYS = 30
    connect_spotify(alice, authorized_at=ending_in(20))
    client.force_login(alice)
    assert "data-reconnect-by=" in client.get(HOME).content.decode()


def test_a_dead_connection_asks_to_reconnect_without_a_date(client, alice, connect_spotify):
    connect_spotify(
        alice,
        authorized_at=ending_in(3),
        status=ConnectionStatus.RECONNECT,
        status_message="It expired.",
    )
    client.force_login(alice)
    home = client.get(HOME).content.decode()
    assert 'data-connection-status="reconnect"' in home
    assert "data-reconnect-by=" not in home


# --- invalid_grant is final --------------------------------------------------------------
@pytest.mark.parametrize(
    ("authorized_at", "why"),
    [
        (ending_in(-1), "it expired: Spotify ends every connection 182 days (six months)"),
        (ending_in(90), "the access was revoked"),
    ],
)
def test_invalid_grant_marks_the_connection_and_fails_the_run_at_once(
    alice, connect_spotify, sandbox, settings, authorized_at, why
):
    settings.INGEST_MAX_ATTEMPTS = 5
    connection = connect_spotify(alice, DEMO_USER_ID, authorized_at=authorized_at)
    sandbox.state.revoke_refresh_token(DEMO_REFRESH_TOKEN)
    sandbox.state.reset_counters()
    run, _ = runs.request_ingest(
        PLAYLIST, trigger=Trigger.WEB, user=alice, spotify_user=alice, enqueue=False
    )

    run = execute(run)

    assert run.status == RunStatus.FAILED and run.attempt == 1  # final: not requeued
    assert "Reconnect Spotify" in run.error and why in run.error
    assert sandbox.state.stats() == {"total": 1, "token": 1}  # one refusal, nothing after
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.RECONNECT
    assert connection.status_message == run.error
    # A second run needing it fails before asking Spotify anything.
    again, _ = runs.request_ingest(
        PLAYLIST, trigger=Trigger.WEB, user=alice, spotify_user=alice, enqueue=False
    )
    assert "Reconnect Spotify" in execute(again).error
    assert sandbox.state.stats()["total"] == 1
    assert IngestRun.objects.filter(status=RunStatus.QUEUED).count() == 0


def test_six_months_later_the_sandbox_refuses_and_the_run_says_reconnect(
    client, alice, connect_over_oauth, sandbox
):
    """The whole way: a real authorization, then both clocks six months on."""
    client.force_login(alice)
    connect_over_oauth(client, DEMO_USER_ID)
    sandbox.state.advance_clock((LIFETIME + 1) * 86400)
    SpotifyConnection.objects.update(
        authorized_at=authorized_days_ago(LIFETIME + 1),
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    sandbox.state.reset_counters()
    run, _ = runs.request_ingest(
        PLAYLIST, trigger=Trigger.WEB, user=alice, spotify_user=alice, enqueue=False
    )

    run = execute(run)

    assert run.status == RunStatus.FAILED and run.attempt == 1
    assert "it expired" in run.error and "Reconnect Spotify" in run.error
    assert sandbox.state.stats() == {"total": 1, "token": 1}
    assert SpotifyConnection.objects.get().status == ConnectionStatus.RECONNECT
    assert 'data-connection-status="reconnect"' in client.get(HOME).content.decode()


# --- the operator's SPOTIFY_REFRESH_TOKEN ------------------------------------------------
def operator_token(settings, authorized_at):
    settings.SPOTIFY_REFRESH_TOKEN = "operator-refresh-token"
    settings.SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT = authorized_at


def check_ids():
    return [message.id for message in operator_refresh_token()]


def test_no_operator_token_no_warning(settings):
    settings.SPOTIFY_REFRESH_TOKEN = ""
    settings.SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT = "2020-01-01"
    assert check_ids() == []


@pytest.mark.parametrize(
    ("authorized_at", "ids"),
    [
        ("", ["accounts.W001"]),  # its end is unknown
        ("last spring", ["accounts.W002"]),
        (f"{ending_in(-1):%Y-%m-%d}", ["accounts.W003"]),  # expired
        (f"{ending_in(13):%Y-%m-%dT%H:%M}", ["accounts.W004"]),  # within the window
        (f"{ending_in(15):%Y-%m-%dT%H:%M}", []),  # not yet
    ],
    # Fixed ids: ids made of the dates change with the minute, and pytest-xdist's
    # workers, collecting a moment apart, would disagree on the tests' names.
    ids=["unknown", "unreadable", "expired", "within-the-window", "not-yet"],
)
def test_the_start_up_check_says_when_the_operator_token_ends(settings, authorized_at, ids):
    operator_token(settings, authorized_at)
    assert check_ids() == ids


def test_the_check_message_names_the_dates(settings):
    authorized = authorized_days_ago(LIFETIME + 3)
    operator_token(settings, f"{authorized:%Y-%m-%d}")
    out = StringIO()
    call_command("check", stdout=out, stderr=out)
    ends = f"{authorized + timedelta(days=LIFETIME):%Y-%m-%d}"
    assert f"SPOTIFY_REFRESH_TOKEN expired on {ends}" in out.getvalue()
    assert f"authorization on {authorized:%Y-%m-%d}" in out.getvalue()


@pytest.mark.parametrize(
    "changelist",
    ["admin:ingestion_ingestrun_changelist", "admin:accounts_spotifyconnection_changelist"],
)
def test_the_admin_says_when_the_operator_token_ends(admin_client, settings, changelist):
    authorized = ending_in(5)
    operator_token(settings, authorized.isoformat())
    ends = f"{authorized + timedelta(days=LIFETIME):%Y-%m-%d}"
    page = admin_client.get(reverse(changelist)).content.decode()
    assert f"SPOTIFY_REFRESH_TOKEN expires on {ends}" in page
    settings.SPOTIFY_REFRESH_TOKEN = ""
    assert (
        "SPOTIFY_REFRESH_TOKEN expires"
        not in admin_client.get(reverse(changelist)).content.decode()
    )


def test_the_connection_admin_lists_when_each_connection_ends(admin_client, alice, connect_spotify):
    connection = connect_spotify(alice, authorized_at=authorized_days_ago(10))
    page = admin_client.get(reverse("admin:accounts_spotifyconnection_changelist")).content
    assert f"{connection.refresh_token_expires_at:%Y}".encode() in page
    assert b"Spotify ends it on" in page


def test_a_refused_operator_token_is_asked_for_once_and_says_to_reconnect(sandbox):
    sandbox.state.revoke_refresh_token(DEMO_REFRESH_TOKEN)
    sandbox.state.reset_counters()
    client = SpotifyClient.from_settings()  # SPOTIFY_REFRESH_TOKEN: the demo user's
    for _ in range(2):
        with pytest.raises(SpotifyAuthError) as refused:
            client.me()
        assert "six months after its authorization" in str(refused.value)
        assert "Sign in with Spotify again (reconnect)" in str(refused.value)
    assert sandbox.state.stats() == {"total": 1, "token": 1}


def test_a_shell_run_on_a_refused_operator_token_fails_without_retry(sandbox, settings):
    settings.INGEST_MAX_ATTEMPTS = 5
    sandbox.state.revoke_refresh_token(DEMO_REFRESH_TOKEN)
    run, _ = runs.request_ingest(PLAYLIST, trigger=Trigger.SHELL, enqueue=False)
    run = execute(run)
    assert run.status == RunStatus.FAILED and run.attempt == 1
    assert "SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT" in run.error

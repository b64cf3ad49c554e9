"""Every wall Spotify puts up, produced by the sandbox, explained on the web and in the shell."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import SpotifyConnection
from devtools.sandbox import (
    DEMO_PLAYLISTS,
    DEMO_USER_ID,
    EDITORIAL_PLAYLIST_ID,
    ERIN_USER_ID,
    OTHER_USER_PLAYLIST_ID,
)
from ingestion.models import IngestRun

pytestmark = pytest.mark.django_db

OWN = DEMO_PLAYLISTS[50]


def lapse_premium(sandbox, settings):
    sandbox.state.premium_lapsed = True


def rate_limit(sandbox, settings):
    sandbox.state.set_faults(rate_limit={"retry_after": 7200, "times": 1})


def exhaust_quota(sandbox, settings):
    sandbox.state.set_faults(quota_exceeded={"retry_after": 86400, "times": 1})


def break_credentials(sandbox, settings):
    settings.SPOTIFY_CLIENT_SECRET = "not-the-secret"


def nothing(sandbox, settings):
    pass


# (id, what goes wrong, reference, sandbox user alice is connected to, words of the message)
WALLS = [
    ("editorial", nothing, EDITORIAL_PLAYLIST_ID, DEMO_USER_ID, ["editorial", "your own"]),
    (
        "not-owned",
        nothing,
        OTHER_USER_PLAYLIST_ID,
        DEMO_USER_ID,
        ["may not read the tracks", "owns it or collaborates on it"],
    ),
    ("premium", lapse_premium, OWN, DEMO_USER_ID, ["Premium", "owner of this Spotify app"]),
    ("allow-list", nothing, OWN, ERIN_USER_ID, ["not on this app's allow-list", "User Management"]),
    ("quota", exhaust_quota, OWN, DEMO_USER_ID, ["QUOTA_EXCEEDED", "86400 s", "UTC"]),
    ("rate-limit", rate_limit, OWN, DEMO_USER_ID, ["rate-limited", "7200 s", "until", "UTC"]),
    (
        "credentials",
        break_credentials,
        OWN,
        DEMO_USER_ID,
        ["invalid_client", "SPOTIFY_CLIENT_SECRET"],
    ),
]


def _unescaped(html):
    return html.replace("&#x27;", "'").replace("&quot;", '"')


@pytest.mark.parametrize(
    ("wall", "setup", "reference", "as_user", "words"), WALLS, ids=[w[0] for w in WALLS]
)
def test_the_run_page_explains_it(
    client,
    alice,
    connect_spotify,
    sandbox,
    settings,
    django_capture_on_commit_callbacks,
    wall,
    setup,
    reference,
    as_user,
    words,
):
    connect_spotify(alice, as_user)
    setup(sandbox, settings)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dashboard:add"), {"reference": reference})
    run = IngestRun.objects.get()
    page = _unescaped(client.get(response.url).content.decode())
    for word in words:
        assert word in run.error, (word, run.error)
        assert word in page, word


@pytest.mark.parametrize(
    ("wall", "setup", "reference", "as_user", "words"), WALLS, ids=[w[0] for w in WALLS]
)
def test_the_shell_explains_it(
    alice, connect_spotify, sandbox, settings, wall, setup, reference, as_user, words
):
    connect_spotify(alice, as_user)
    setup(sandbox, settings)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("ingest", "--user", "alice", reference, stdout=out, stderr=err)
    for word in words:
        assert word in out.getvalue(), (word, out.getvalue())


def test_an_app_token_in_development_mode_says_so(
    client, alice, sandbox, django_capture_on_commit_callbacks
):
    client.force_login(alice)  # no Spotify connection: the run has only the app's token
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dashboard:add"), {"reference": OWN})
    error = IngestRun.objects.get().error
    assert "app token" in error and "Development Mode" in error
    assert "connect your Spotify account" in error


@pytest.mark.parametrize(
    ("setup", "sandbox_user", "words"),
    [
        (lapse_premium, DEMO_USER_ID, ["Premium"]),
        (nothing, ERIN_USER_ID, ["not on this app's allow-list"]),
        (break_credentials, DEMO_USER_ID, ["SPOTIFY_CLIENT_SECRET"]),
    ],
    ids=["premium", "allow-list", "credentials"],
)
def test_connecting_explains_it(
    client, alice, connect_over_oauth, sandbox, settings, setup, sandbox_user, words
):
    client.force_login(alice)
    setup(sandbox, settings)
    response = connect_over_oauth(client, sandbox_user)
    page = _unescaped(response.content.decode())
    assert response.status_code == 502
    for word in words:
        assert word in page
    assert not SpotifyConnection.objects.exists()


def test_the_sandbox_walls_are_reset(sandbox):
    sandbox.state.premium_lapsed = True
    sandbox.state.allow_list = set()
    sandbox.state.reset()
    assert not sandbox.state.premium_lapsed
    assert ERIN_USER_ID not in sandbox.state.allow_list
    assert len(sandbox.state.allow_list) == 5

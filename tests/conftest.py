import pytest
from django.db import connection

from devtools.sandbox import (
    DEMO_REFRESH_TOKEN,
    DEMO_USER_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SandboxServer,
)


def pytest_collection_modifyitems(config, items):
    # The long tests first (real processes, the browser, the memory probes): the
    # workers then share out the many short ones last, and none waits at the end on
    # a long test that started late. The sort is stable, so it is the same on every
    # worker (pytest-xdist requires it).
    items.sort(key=lambda item: not any(map(item.get_closest_marker, ("slow", "browser"))))
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://…)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _playlist_tracks_emptied_after_transactional_tests(request):
    """Between transactional tests Django's flush empties the managed tables only:
    `playlist_tracks` (unmanaged, made by a migration) would keep one test's rows
    for the next, which would then merge into them instead of inserting."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    if transactional:
        request.getfixturevalue("transactional_db")  # torn down after this fixture
    yield
    if transactional:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM playlist_tracks")


@pytest.fixture(scope="session")
def sandbox_server():
    """One Spotify sandbox for the whole run, spoken to over real HTTP."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server, settings):
    """The sandbox, reset, with settings pointing the Spotify seam at it as its demo user."""
    sandbox_server.state.reset()
    settings.SPOTIFY_API_BASE_URL = sandbox_server.api_base_url
    settings.SPOTIFY_ACCOUNTS_BASE_URL = sandbox_server.accounts_base_url
    settings.SPOTIFY_CLIENT_ID = SANDBOX_CLIENT_ID
    settings.SPOTIFY_CLIENT_SECRET = SANDBOX_CLIENT_SECRET
    settings.SPOTIFY_REFRESH_TOKEN = DEMO_REFRESH_TOKEN
    yield sandbox_server
    sandbox_server.state.reset()


@pytest.fixture
def every_artist_cached(sandbox):
    """The artist cache as earlier ingests leave it: every sandbox artist known, so
    a test about pages or loads spends no call (nor seconds) on artists."""
    from django.utils import timezone

    from warehouse.models import Artist

    now = timezone.now()
    Artist.objects.bulk_create(
        Artist(
            artist_id=artist.id,
            name=artist.name,
            genres=None if artist.genres is None else list(artist.genres),
            fetched_at=now,
        )
        for artist in sandbox.catalog.artists.values()
    )


@pytest.fixture
def connect_spotify(db):
    """Link a site user to a sandbox Spotify user, as "Connect Spotify" would.

    `connect_spotify(alice)` links alice to sandbox-demo; `connect_spotify(bob,
    "sandbox-bob")` to another one. Uses the sandbox user's pre-issued refresh
    token and no access token yet (the first call fetches one).
    """
    from accounts.models import SpotifyConnection
    from devtools.sandbox import REFRESH_TOKEN_PREFIX
    from devtools.sandbox.catalog import account_id_for

    def connect(user, sandbox_user_id=DEMO_USER_ID, **fields):
        return SpotifyConnection.objects.create(
            user=user,
            account_id=account_id_for(sandbox_user_id),
            spotify_user_id=sandbox_user_id,
            display_name=sandbox_user_id,
            scope="playlist-read-private playlist-read-collaborative",
            refresh_token=REFRESH_TOKEN_PREFIX + sandbox_user_id,
            **fields,
        )

    return connect


# --- Named people (see tests/dashboard/conftest.py for how the suites use them) ---
PASSWORD = "correct-horse-battery-staple"


def make_user(django_user_model, username, **fields):
    return django_user_model.objects.create_user(
        username, f"{username}@example.org", PASSWORD, **fields
    )


@pytest.fixture
def alice(django_user_model):
    """Owns data."""
    return make_user(django_user_model, "alice")


@pytest.fixture
def bob(django_user_model):
    """Shares one of alice's playlists."""
    return make_user(django_user_model, "bob")


@pytest.fixture
def charlie(django_user_model):
    """Sees nothing."""
    return make_user(django_user_model, "charlie")

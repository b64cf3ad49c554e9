"""Connect Spotify over the real OAuth dance against the sandbox (HTTP all the way)."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection as db_connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import ConnectionStatus, SpotifyConnection
from devtools.sandbox import ALICE_REFRESH_TOKEN, ALICE_USER_ID
from devtools.sandbox.catalog import account_id_for
from tests.accounts.conftest import TIMEOUT, approve, start_connecting

pytestmark = pytest.mark.django_db

ACCOUNT = reverse("spotify")
PICK = reverse("spotify-playlists")


def test_it_offers_to_connect_when_not_connected(client, alice):
    client.force_login(alice)
    page = client.get(ACCOUNT).content.decode()
    assert 'data-connection-status="none"' in page
    assert "Connect Spotify" in page
    assert "you own or collaborate on" in page


def test_connect_sends_to_spotify_with_pkce_state_and_the_two_scopes(client, alice, sandbox):
    client.force_login(alice)
    url = start_connecting(client)
    assert url.startswith(sandbox.authorize_url + "?")
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["playlist-read-private playlist-read-collaborative"]
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/accounts/spotify/callback/"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["state"][0] == client.session["spotify_oauth"]["state"]


def test_the_sandbox_consent_page_lets_a_person_pick_a_user(client, alice, sandbox):
    client.force_login(alice)
    page = requests.get(start_connecting(client), timeout=TIMEOUT)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert 'value="sandbox-alice"' in page.text
    assert "not on the app&#x27;s allow-list" in page.text or "allow-list" in page.text
    assert 'name="sandbox_approve"' in page.text and 'name="sandbox_deny"' in page.text


def test_the_code_exchange_stores_the_connection_keyed_on_account_id(
    client, alice, connect_over_oauth, sandbox
):
    client.force_login(alice)
    response = connect_over_oauth(client, ALICE_USER_ID)
    assert response.status_code == 302 and response.url == PICK
    saved = SpotifyConnection.objects.get(user=alice)
    assert saved.account_id == account_id_for(ALICE_USER_ID)
    assert saved.spotify_user_id == ALICE_USER_ID
    assert saved.status == ConnectionStatus.CONNECTED
    assert saved.scope.split() == ["playlist-read-private", "playlist-read-collaborative"]
    assert saved.access_token and saved.refresh_token
    assert saved.expires_at > timezone.now() + timedelta(minutes=50)
    assert "spotify_oauth" not in client.session  # the state is used once
    page = client.get(ACCOUNT).content.decode()
    assert 'data-connection-status="connected"' in page and ALICE_USER_ID in page


def test_a_callback_with_a_state_of_another_session_is_refused(client, alice, sandbox):
    client.force_login(alice)
    path, query = approve(start_connecting(client), ALICE_USER_ID)
    response = client.get(path, {"code": query["code"][0], "state": "forged-state"})
    assert response.status_code == 400
    assert "does not belong to a connection started in this browser session" in (
        response.content.decode()
    )
    assert not SpotifyConnection.objects.exists()
    # The pending state was spent by the refused attempt: the real one fails now too.
    again = client.get(path, {"code": query["code"][0], "state": query["state"][0]})
    assert again.status_code == 400
    assert not SpotifyConnection.objects.exists()


def test_a_callback_nobody_started_is_refused(client, alice, sandbox):
    client.force_login(alice)
    response = client.get(reverse("spotify-callback"), {"code": "AQxyz", "state": "abc"})
    assert response.status_code == 400
    assert not SpotifyConnection.objects.exists()


def test_cancelling_on_spotify_connects_nothing(client, alice, sandbox):
    client.force_login(alice)
    url = start_connecting(client)
    answer = requests.get(url, params={"sandbox_deny": "1"}, allow_redirects=False, timeout=TIMEOUT)
    location = urlsplit(answer.headers["Location"])
    response = client.get(location.path + "?" + location.query, follow=True)
    assert "you cancelled on Spotify" in response.content.decode()
    assert not SpotifyConnection.objects.exists()


def test_one_spotify_account_links_to_one_site_user(client, alice, bob, connect_over_oauth):
    client.force_login(alice)
    connect_over_oauth(client, ALICE_USER_ID)
    client.force_login(bob)
    response = connect_over_oauth(client, ALICE_USER_ID)
    assert response.status_code == 502
    assert "already connected to another user" in response.content.decode()
    assert SpotifyConnection.objects.get().user == alice


def test_tokens_are_unreadable_in_the_database(client, alice, connect_over_oauth):
    client.force_login(alice)
    connect_over_oauth(client, ALICE_USER_ID)
    saved = SpotifyConnection.objects.get()
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM accounts_spotifyconnection WHERE id = %s",
            [saved.pk],
        )
        raw_access, raw_refresh = cursor.fetchone()
    assert saved.access_token not in raw_access and saved.refresh_token not in raw_refresh
    assert raw_access.startswith("gAAAA") and raw_refresh.startswith("gAAAA")  # Fernet


def test_tokens_survive_a_key_rotation(alice, connect_spotify, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    connect_spotify(alice, ALICE_USER_ID)
    old_keys = list(settings.SPOTIFY_TOKEN_KEYS)
    settings.SPOTIFY_TOKEN_KEYS = [Fernet.generate_key().decode(), *old_keys]
    assert SpotifyConnection.objects.get().refresh_token == ALICE_REFRESH_TOKEN
    call_command("rotate_spotify_tokens", stdout=None)
    settings.SPOTIFY_TOKEN_KEYS = settings.SPOTIFY_TOKEN_KEYS[:1]  # the old key is gone
    assert SpotifyConnection.objects.get().refresh_token == ALICE_REFRESH_TOKEN


def test_an_expired_access_token_is_refreshed_and_saved(client, alice, connect_over_oauth, sandbox):
    client.force_login(alice)
    connect_over_oauth(client, ALICE_USER_ID)
    before = SpotifyConnection.objects.get()
    SpotifyConnection.objects.filter(pk=before.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    tokens_before = sandbox.state.stats()["token"]
    assert client.get(PICK).status_code == 200
    after = SpotifyConnection.objects.get()
    assert sandbox.state.stats()["token"] == tokens_before + 1
    assert after.access_token != before.access_token
    assert after.expires_at > timezone.now() + timedelta(minutes=50)


def test_a_token_spotify_expires_early_is_refreshed_mid_call(
    client, alice, connect_over_oauth, sandbox
):
    client.force_login(alice)
    connect_over_oauth(client, ALICE_USER_ID)
    before = SpotifyConnection.objects.get().access_token
    sandbox.state.set_faults(expire_tokens=True)
    assert client.get(PICK).status_code == 200
    assert SpotifyConnection.objects.get().access_token != before


def test_a_rotated_refresh_token_is_saved(client, alice, connect_spotify, sandbox):
    connect_spotify(alice, ALICE_USER_ID)
    sandbox.state.rotate_refresh_tokens = True
    client.force_login(alice)
    assert client.get(PICK).status_code == 200
    rotated = SpotifyConnection.objects.get()
    assert rotated.refresh_token != ALICE_REFRESH_TOKEN
    # The old one is retired at the sandbox: only the saved one works now.
    SpotifyConnection.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(PICK).status_code == 200


def test_a_revoked_refresh_token_asks_to_reconnect(client, alice, connect_over_oauth, sandbox):
    client.force_login(alice)
    connect_over_oauth(client, ALICE_USER_ID)
    saved = SpotifyConnection.objects.get()
    sandbox.state.revoke_refresh_token(saved.refresh_token)
    SpotifyConnection.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = client.get(PICK)

    assert response.status_code == 502
    assert "Reconnect Spotify" in response.content.decode()
    saved.refresh_from_db()
    assert saved.status == ConnectionStatus.RECONNECT
    assert "invalid_grant" in saved.status_message
    account = client.get(ACCOUNT).content.decode()
    assert 'data-connection-status="reconnect"' in account
    assert (
        'data-connection-status="reconnect"'
        in client.get(reverse("dashboard:home")).content.decode()
    )
    # Reconnecting over the dance makes it live again.
    connect_over_oauth(client, ALICE_USER_ID)
    saved.refresh_from_db()
    assert saved.status == ConnectionStatus.CONNECTED and not saved.status_message


def test_disconnecting_deletes_the_tokens(client, alice, connect_over_oauth):
    client.force_login(alice)
    connect_over_oauth(client, ALICE_USER_ID)
    response = client.post(reverse("spotify-disconnect"), follow=True)
    assert "spotify.com/account/apps" in response.content.decode()
    assert not SpotifyConnection.objects.exists()


def test_connect_and_callback_need_a_signed_in_user(client):
    assert client.post(reverse("spotify-connect")).status_code == 302
    assert reverse("login") in client.get(reverse("spotify-callback")).url

"""Accounts: sign up, sign in (throttled), sign out, passwords, the demo login."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from accounts.models import UserPlaylist
from devtools.demo import DEMO_PASSWORD, DEMO_USERNAME, demo_playlist_ids
from ingestion.models import IngestRun
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HOME = reverse("dashboard:home")
LOGIN = reverse("login")


def test_sign_up_logs_the_new_user_in(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "dora",
            "email": "dora@example.org",
            "password1": "a-long-enough-pass-42",
            "password2": "a-long-enough-pass-42",
        },
    )

    assert response.status_code == 302
    assert response.url == HOME
    user = get_user_model().objects.get(username="dora")
    assert user.email == "dora@example.org"
    assert client.get(HOME).context["user"] == user


def test_sign_up_explains_what_is_wrong(client):
    response = client.post(
        reverse("signup"),
        {"username": "dora", "email": "", "password1": "abc", "password2": "abd"},
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert "email" in form.errors
    assert "password2" in form.errors
    assert not get_user_model().objects.filter(username="dora").exists()


def test_sign_in_with_the_form_goes_to_my_playlists(client, alice):
    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == HOME
    assert client.get(HOME).context["user"] == alice


def test_sign_in_follows_next(client, alice):
    target = reverse("dashboard:overview")

    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD, "next": target})

    assert response.url == target


def test_a_wrong_password_is_refused(client, alice):
    response = client.post(LOGIN, {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get(HOME).status_code == 302


def test_sign_in_is_locked_after_the_failure_limit(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert client.post(LOGIN, {"username": "alice", "password": "wrong"}).status_code == 200

    locked = client.post(LOGIN, {"username": "alice", "password": "wrong"})
    # Even the right password is refused now.
    still_locked = client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert locked.status_code == 429
    assert still_locked.status_code == 429
    page = still_locked.content.decode()
    assert "Too many sign-in attempts" in page
    assert "locked after 3 failed attempts" in page
    assert "Try again in 15 minutes" in page
    assert client.get(HOME).status_code == 302  # not signed in


def test_a_lockout_holds_one_username_from_one_address(client, alice, bob, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post(LOGIN, {"username": "alice", "password": "wrong"})

    # Another user from the same address, and alice from another address, still get in.
    bob_response = client.post(LOGIN, {"username": "bob", "password": PASSWORD})
    elsewhere = Client(REMOTE_ADDR="10.1.2.3").post(
        LOGIN, {"username": "alice", "password": PASSWORD}
    )

    assert bob_response.status_code == 302
    assert elsewhere.status_code == 302


def test_sign_out_needs_a_post(client, alice):
    client.force_login(alice)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert response.url == LOGIN
    assert client.get(HOME).status_code == 302


def test_change_password(client, alice):
    client.force_login(alice)

    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-pass-77",
            "new_password2": "another-long-pass-77",
        },
    )

    assert response.url == reverse("password_change_done")
    alice.refresh_from_db()
    assert alice.check_password("another-long-pass-77")
    assert "Password changed" in client.get(response.url).content.decode()


def test_password_reset_sends_a_working_link(client, alice, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "alice@example.org"})

    assert response.url == reverse("password_reset_done")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["alice@example.org"]
    assert mail.subject == "Reset your Playlist Analytics password"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "reset-long-pass-99", "new_password2": "reset-long-pass-99"},
    )
    assert done.url == reverse("password_reset_complete")
    alice.refresh_from_db()
    assert alice.check_password("reset-long-pass-99")


def test_password_reset_for_an_unknown_address_sends_nothing(client, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})

    assert response.url == reverse("password_reset_done")  # says the same: no account probing
    assert mailoutbox == []


def test_the_default_email_backend_is_the_console():
    from config import settings as base_settings

    assert base_settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"


def test_without_debug_static_files_are_hashed_and_compressed():
    from config import settings as base_settings

    assert not base_settings.DEBUG
    assert base_settings.STORAGES["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    middleware = base_settings.MIDDLEWARE
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") == 1


# --- The demo login -------------------------------------------------------------------


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only with DEBUG=true"):
        call_command("seed_demo")

    assert not get_user_model().objects.filter(username=DEMO_USERNAME).exists()


def test_seed_demo_creates_the_demo_user_once(settings, capsys):
    settings.DEBUG = True

    call_command("seed_demo")
    call_command("seed_demo")

    user = get_user_model().objects.get(username=DEMO_USERNAME)
    assert user.check_password(DEMO_PASSWORD)
    assert not user.is_staff
    listed = set(UserPlaylist.objects.filter(user=user).values_list("playlist_id", flat=True))
    assert listed == set(demo_playlist_ids())
    assert len(demo_playlist_ids()) == 9
    assert not IngestRun.objects.exists()  # listing is not ingesting
    out = capsys.readouterr().out
    assert f"Sign in as {DEMO_USERNAME!r} with password {DEMO_PASSWORD!r}." in out
    assert "(0 new)" in out


def test_seed_demo_lets_the_demo_user_sign_in(settings, client):
    settings.DEBUG = True
    call_command("seed_demo")

    response = client.post(LOGIN, {"username": DEMO_USERNAME, "password": DEMO_PASSWORD})

    assert response.url == HOME
    assert len(client.get(HOME).context["rows"]) == 9


def test_the_login_page_hints_the_demo_login_in_debug_only(settings, client):
    settings.DEBUG = True
    assert "demo-password" not in client.get(LOGIN).content.decode()  # no demo user yet
    call_command("seed_demo")

    assert DEMO_PASSWORD in client.get(LOGIN).content.decode()
    settings.DEBUG = False
    assert DEMO_PASSWORD not in client.get(LOGIN).content.decode()

"""Per-user isolation, staff-only admin, and CSRF on every form."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import UserPlaylist
from ingestion.models import IngestRun, RunStatus
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def playlists(alice, bob, loaded_playlist):
    """alice has two playlists; bob shares the second; charlie has none."""
    own = loaded_playlist(alice, name="Alice Only")
    shared = loaded_playlist(alice, bob, name="Shared With Bob")
    return own, shared


def _run_urls(run):
    return [
        reverse("dashboard:run", args=[run.pk]),
        reverse("dashboard:run-status", args=[run.pk]),
    ]


def test_home_lists_only_what_the_user_added(client, alice, bob, charlie, playlists):
    own, shared = playlists
    listed = {}
    for user in (alice, bob, charlie):
        client.force_login(user)
        listed[user.username] = [row.playlist_id for row in client.get("/").context["rows"]]

    assert sorted(listed["alice"]) == sorted([own.pk, shared.pk])
    assert listed["bob"] == [shared.pk]
    assert listed["charlie"] == []


def test_another_users_run_answers_404(client, charlie, playlists, ingest_run):
    own, _ = playlists
    run = ingest_run(own.pk, status=RunStatus.FAILED, error="boom")
    client.force_login(charlie)

    for url in _run_urls(run):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("dashboard:run-retry", args=[run.pk])).status_code == 404
    assert IngestRun.objects.count() == 1


def test_a_run_is_shown_only_to_who_asked_for_it_and_to_staff(
    client, alice, bob, staff, playlists, ingest_run
):
    _, shared = playlists  # both may see the playlist's data…
    alices_run = ingest_run(shared.pk, requested_by=alice)
    bobs_run = ingest_run(shared.pk, requested_by=bob)

    client.force_login(bob)  # …but not each other's runs (their logs, their requester)
    assert all(client.get(url).status_code == 404 for url in _run_urls(alices_run))
    assert all(client.get(url).status_code == 200 for url in _run_urls(bobs_run))
    client.force_login(staff)
    assert all(client.get(url).status_code == 200 for url in _run_urls(alices_run))


def test_removing_another_users_playlist_answers_404(client, alice, charlie, playlists):
    own, _ = playlists
    client.force_login(charlie)

    response = client.post(reverse("dashboard:remove", args=[own.pk]))

    assert response.status_code == 404
    assert UserPlaylist.objects.filter(user=alice, playlist_id=own.pk).exists()


def test_a_missing_run_answers_404(client, alice):
    client.force_login(alice)

    assert client.get(reverse("dashboard:run", args=[999_999])).status_code == 404


def test_run_pages_ask_anonymous_visitors_to_sign_in(client, playlists, ingest_run):
    run = ingest_run(playlists[0].pk)

    for url in _run_urls(run):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_the_admin_is_staff_only(client, alice, staff):
    client.force_login(alice)
    refused = client.get(reverse("admin:index"))
    client.force_login(staff)
    allowed = client.get(reverse("admin:index"))

    assert refused.status_code == 302
    assert refused.url.startswith(reverse("admin:login"))
    assert allowed.status_code == 200


def test_the_admin_link_shows_for_staff_only(client, alice, staff):
    admin_link = f'href="{reverse("admin:index")}"'
    client.force_login(alice)
    assert admin_link not in client.get("/").content.decode()
    client.force_login(staff)
    assert admin_link in client.get("/").content.decode()


def test_staff_can_browse_user_playlists_in_the_admin(client, staff, playlists):
    client.force_login(staff)

    response = client.get(reverse("admin:accounts_userplaylist_changelist"))

    assert response.status_code == 200
    assert playlists[1].pk in response.content.decode()


# --- CSRF -------------------------------------------------------------------------------


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def _forms(playlist, run):
    """Every POST form of this half of the site: (url, data, needs a signed-in user)."""
    return [
        (reverse("login"), {"username": "alice", "password": PASSWORD}, False),
        (
            reverse("signup"),
            {
                "username": "eve",
                "email": "e@example.org",
                "password1": "x-Long-pass-1",
                "password2": "x-Long-pass-1",
            },
            False,
        ),
        (reverse("password_reset"), {"email": "alice@example.org"}, False),
        (reverse("logout"), {}, True),
        (
            reverse("password_change"),
            {
                "old_password": PASSWORD,
                "new_password1": "n-Long-pass-2",
                "new_password2": "n-Long-pass-2",
            },
            True,
        ),
        (reverse("dashboard:add"), {"reference": playlist.pk}, True),
        (reverse("dashboard:remove", args=[playlist.pk]), {}, True),
        (reverse("dashboard:run-retry", args=[run.pk]), {}, True),
    ]


def test_every_form_needs_its_csrf_token(csrf_client, alice, playlists, ingest_run):
    own, _ = playlists
    run = ingest_run(own.pk, status=RunStatus.CANCELLED, requested_by=alice)

    for url, data, signed_in in _forms(own, run):
        if signed_in:
            csrf_client.force_login(alice)
        response = csrf_client.post(url, data)
        assert response.status_code == 403, url

    assert UserPlaylist.objects.filter(user=alice).count() == 2
    assert IngestRun.objects.count() == 1


@pytest.mark.parametrize(
    "url_name", ["login", "signup", "password_reset", "password_change", "dashboard:home"]
)
def test_every_form_page_carries_a_token(client, alice, url_name):
    if url_name in ("password_change", "dashboard:home"):
        client.force_login(alice)

    page = client.get(reverse(url_name)).content.decode()

    assert page.count("<form") >= 1
    assert page.count("<form") == page.count('name="csrfmiddlewaretoken"')


def test_the_run_page_retry_form_carries_a_token(client, alice, playlists, ingest_run):
    run = ingest_run(playlists[0].pk, status=RunStatus.CANCELLED, requested_by=alice)
    client.force_login(alice)

    page = client.get(reverse("dashboard:run", args=[run.pk])).content.decode()

    assert page.count("<form") == page.count('name="csrfmiddlewaretoken"') == 2  # retry, sign out

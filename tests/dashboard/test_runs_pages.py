"""The run progress page, its JSON status and "Try again"."""

import datetime as dt
import functools
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.views.runs import retry_helps
from ingestion.models import IngestRun, RunStatus, Step, Trigger
from spotify_client import RateLimited, not_found_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingest_run(ingest_run, alice):
    """Alice's runs (she asked for them): a run is shown to the person who asked."""
    return functools.partial(ingest_run, requested_by=alice)


PLAYLIST_ID = "37abcdefghijklmnopqrst"
OTHER_ID = "Rr1234567890abcdefghij"


@pytest.fixture
def alice_playlist(alice, loaded_playlist):
    return loaded_playlist(alice, playlist_id=PLAYLIST_ID, name="Alice's Mix")


def _run_url(run, name="dashboard:run"):
    return reverse(name, args=[run.pk])


def test_the_json_reports_step_counts_and_rate_limit_wait(
    client, alice, alice_playlist, ingest_run
):
    not_before = timezone.now() + dt.timedelta(minutes=5)
    run = ingest_run(
        PLAYLIST_ID,
        status=RunStatus.QUEUED,
        step=Step.EXTRACT,
        items_fetched=100,
        items_total=250,
        artists_done=7,
        artists_total=40,
        attempt=2,
        rate_limit_waits=1,
        not_before=not_before,
    )
    client.force_login(alice)

    data = client.get(_run_url(run, "dashboard:run-status")).json()

    assert data["status"] == "queued"
    assert data["final"] is False
    assert (data["step"], data["step_label"]) == ("extract", "Extract")
    assert (data["items_fetched"], data["items_total"]) == (100, 250)
    assert (data["artists_done"], data["artists_total"]) == (7, 40)
    assert (data["attempt"], data["rate_limit_waits"]) == (2, 1)
    assert data["waiting"] is True
    assert dt.datetime.fromisoformat(data["not_before"]) == not_before
    assert data["playlist_url"] is None


def test_the_json_of_a_finished_run_points_to_the_dashboard(
    client, alice, alice_playlist, ingest_run
):
    run = ingest_run(PLAYLIST_ID, status=RunStatus.UNCHANGED)
    client.force_login(alice)

    data = client.get(_run_url(run, "dashboard:run-status")).json()

    assert data["final"] is True
    assert data["done"] is True
    assert data["playlist_url"] == reverse("dashboard:playlist", args=[PLAYLIST_ID])


def test_the_page_shows_the_run_advancing(client, alice, alice_playlist, ingest_run):
    run = ingest_run(
        PLAYLIST_ID,
        status=RunStatus.RUNNING,
        step=Step.EXTRACT,
        items_fetched=50,
        items_total=237,
        artists_done=3,
        artists_total=12,
        attempt=1,
    )
    client.force_login(alice)

    response = client.get(_run_url(run))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Alice&#x27;s Mix" in page
    assert (
        '<span data-field="items_fetched">50</span> of <span data-field="items_total">237</span>'
        in page
    )
    assert (
        '<span data-field="artists_done">3</span> of <span data-field="artists_total">12</span>'
        in page
    )
    assert '<strong data-field="step_label">Extract</strong>' in page
    assert 'data-status-url="' + _run_url(run, "dashboard:run-status") + '"' in page
    assert "Try again" not in page


def test_the_page_shows_when_a_rate_limit_wait_ends(client, alice, alice_playlist, ingest_run):
    not_before = timezone.now() + dt.timedelta(hours=1)
    run = ingest_run(
        PLAYLIST_ID, status=RunStatus.QUEUED, rate_limit_waits=1, not_before=not_before
    )
    client.force_login(alice)

    page = client.get(_run_url(run)).content.decode()

    assert "Spotify asked us to slow down" in page
    assert f'datetime="{not_before.isoformat()}"' in page
    assert f">{not_before:%H:%M:%S} UTC</time>" in page


def test_the_page_passes_data_to_one_script_and_has_no_inline_js(
    client, alice, alice_playlist, ingest_run
):
    run = ingest_run(PLAYLIST_ID, status=RunStatus.RUNNING)
    client.force_login(alice)

    page = client.get(_run_url(run)).content.decode()

    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts == [
        ' src="/static/dashboard/site.js" defer',  # every page: the cover fallback
        ' id="run-status-data" type="application/json"',
        ' src="/static/dashboard/run.js" defer',
    ]


def test_the_script_is_served_by_whitenoise(client):
    response = client.get("/static/dashboard/run.js")

    assert response.status_code == 200
    assert b"run-status-data" in b"".join(response.streaming_content)


def test_script_in_a_name_and_description_is_inert(client, alice, loaded_playlist, ingest_run):
    name = "<script>alert('name')</script>"
    playlist = loaded_playlist(alice, name=name, description="<script>alert('d')</script>")
    run = ingest_run(playlist.pk, status=RunStatus.RUNNING, name=name)
    client.force_login(alice)

    page = client.get(_run_url(run)).content.decode()

    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in page
    # A description shows as text without its tags (issue 16).
    assert '<p class="description">alert(&#x27;d&#x27;)</p>' in page
    # json_script escapes the name too.
    assert "\\u003Cscript\\u003Ealert('name')\\u003C/script\\u003E" in page


# --- Failures and "Try again" ---------------------------------------------------------

RATE_LIMITED = str(RateLimited(7200))


@pytest.mark.parametrize(
    ("status", "error", "offered"),
    [
        (RunStatus.FAILED, RATE_LIMITED, True),
        (RunStatus.FAILED, "Spotify answered 503 (Service Unavailable) even after retries.", True),
        (RunStatus.CANCELLED, "", True),
        (RunStatus.FAILED, not_found_message(PLAYLIST_ID), False),
        (RunStatus.SUCCEEDED, "", False),
        (RunStatus.PARTIAL, "Spotify could not find 2 of the playlist's artists.", False),
        (RunStatus.RUNNING, "", False),
    ],
)
def test_try_again_is_offered_only_where_it_can_help(
    client, alice, alice_playlist, ingest_run, status, error, offered
):
    run = ingest_run(PLAYLIST_ID, status=status, error=error)
    client.force_login(alice)

    page = client.get(_run_url(run)).content.decode()

    assert retry_helps(run) is offered
    assert (_run_url(run, "dashboard:run-retry") in page) is offered
    assert client.get(_run_url(run, "dashboard:run-status")).json()["can_retry"] is offered
    if error:
        assert error.replace("'", "&#x27;") in page


def test_retry_is_not_offered_for_an_invalid_reference(ingest_run, db):
    run = ingest_run(PLAYLIST_ID, status=RunStatus.FAILED, reference="not a playlist", error="x")

    assert retry_helps(run) is False


def test_try_again_queues_a_forced_run(
    client, alice, alice_playlist, ingest_run, django_capture_on_commit_callbacks
):
    failed = ingest_run(PLAYLIST_ID, status=RunStatus.FAILED, error=RATE_LIMITED)
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(_run_url(failed, "dashboard:run-retry"))

    new = IngestRun.objects.exclude(pk=failed.pk).get()
    assert response.url == _run_url(new)
    assert (new.status, new.trigger, new.requested_by) == (RunStatus.QUEUED, Trigger.RETRY, alice)
    assert new.parameters == {"force": True}
    assert new.reference == failed.reference
    assert len(callbacks) == 1


def test_try_again_of_a_not_found_run_does_nothing(client, alice, alice_playlist, ingest_run):
    failed = ingest_run(PLAYLIST_ID, status=RunStatus.FAILED, error=not_found_message(PLAYLIST_ID))
    client.force_login(alice)

    response = client.post(_run_url(failed, "dashboard:run-retry"), follow=True)

    assert response.redirect_chain == [(_run_url(failed), 302)]
    assert "would fail the same way" in response.content.decode()
    assert IngestRun.objects.count() == 1


def test_try_again_while_another_run_is_active_goes_to_it(
    client, alice, alice_playlist, ingest_run
):
    failed = ingest_run(PLAYLIST_ID, status=RunStatus.CANCELLED)
    active = ingest_run(PLAYLIST_ID, status=RunStatus.RUNNING, trigger=Trigger.SCHEDULE)
    client.force_login(alice)

    response = client.post(_run_url(failed, "dashboard:run-retry"))

    assert response.url == _run_url(active)
    assert IngestRun.objects.count() == 2


def test_try_again_needs_a_post(client, alice, alice_playlist, ingest_run):
    failed = ingest_run(PLAYLIST_ID, status=RunStatus.CANCELLED)
    client.force_login(alice)

    assert client.get(_run_url(failed, "dashboard:run-retry")).status_code == 405


def test_a_successful_run_page_links_to_the_dashboard(client, alice, alice_playlist, ingest_run):
    run = ingest_run(PLAYLIST_ID, status=RunStatus.SUCCEEDED, tracks_loaded=3)
    client.force_login(alice)

    page = client.get(_run_url(run)).content.decode()

    assert "3 tracks loaded." in page
    assert f'href="{reverse("dashboard:playlist", args=[PLAYLIST_ID])}"' in page

"""A stalled queue is visible: `manage.py queue_health` and the run history in the admin."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from devtools.sandbox import DEMO_PLAYLISTS
from ingestion import runs
from ingestion.health import queue_health
from ingestion.models import IngestRun, RunStatus, Trigger

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:ingestion_ingestrun_changelist")
STALLED = "The queue has made no progress for 12 minutes while 2 runs wait"


@pytest.fixture(autouse=True)
def stall_after(settings):
    settings.QUEUE_STALL_MINUTES = 10


def queued(playlist_id, *, minutes_ago, **fields):
    """A queued run, requested `minutes_ago` (the clock is moved, not waited for)."""
    run, _ = runs.request_ingest(playlist_id, trigger=Trigger.SHELL, enqueue=False)
    at = timezone.now() - timedelta(minutes=minutes_ago)
    IngestRun.objects.filter(pk=run.pk).update(queued_at=at, **fields)
    return run


def finished(playlist_id, *, minutes_ago):
    run = queued(playlist_id, minutes_ago=minutes_ago + 1)
    at = timezone.now() - timedelta(minutes=minutes_ago)
    IngestRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED, started_at=at, heartbeat_at=at, finished_at=at
    )


def health_command():
    out = StringIO()
    call_command("queue_health", stdout=out)
    return out.getvalue()


def test_an_idle_queue_is_healthy(admin_client):
    finished(DEMO_PLAYLISTS[1], minutes_ago=600)  # long ago, and nothing waits
    assert not queue_health().stalled
    assert "idle" in health_command()
    assert "no progress" not in admin_client.get(CHANGELIST).content.decode()


def test_runs_waiting_with_no_progress_make_it_stalled(admin_client):
    finished(DEMO_PLAYLISTS[1], minutes_ago=600)
    queued(DEMO_PLAYLISTS[50], minutes_ago=12)
    queued(DEMO_PLAYLISTS[51], minutes_ago=11)

    health = queue_health()
    assert (health.stalled, health.waiting) == (True, 2)
    with pytest.raises(CommandError, match=STALLED) as failure:
        health_command()
    assert failure.value.returncode == 1
    assert STALLED in admin_client.get(CHANGELIST).content.decode()


def test_runs_just_queued_after_a_quiet_day_are_not_a_stall():
    finished(DEMO_PLAYLISTS[1], minutes_ago=600)
    queued(DEMO_PLAYLISTS[50], minutes_ago=9)
    assert not queue_health().stalled
    assert "1 run waiting, the last progress 9 minutes ago" in health_command()


def test_a_running_run_that_beats_is_progress():
    queued(DEMO_PLAYLISTS[50], minutes_ago=30)
    beating = queued(DEMO_PLAYLISTS[51], minutes_ago=40)
    IngestRun.objects.filter(pk=beating.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=35)
    )
    assert queue_health().stalled  # its worker has said nothing for 35 minutes
    IngestRun.objects.filter(pk=beating.pk).update(heartbeat_at=timezone.now())
    assert not queue_health().stalled


def test_a_run_waits_from_when_it_is_due():
    in_an_hour = timezone.now() + timedelta(hours=1)
    queued(DEMO_PLAYLISTS[50], minutes_ago=60, not_before=in_an_hour)  # a retry, not due yet
    assert queue_health().waiting == 0
    retry_due = timezone.now() - timedelta(minutes=5)
    queued(DEMO_PLAYLISTS[51], minutes_ago=60, not_before=retry_due)
    health = queue_health()
    assert (health.waiting, health.stalled) == (1, False)  # due 5 minutes ago

"""Ingest runs with the queue in sync mode (tasks run inline, in this process)."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import IntegrityError
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler

from devtools.sandbox import DEMO_PLAYLISTS, EDITORIAL_PLAYLIST_ID
from ingestion import runs, tasks
from ingestion.models import IngestRun, RunStatus, Trigger
from warehouse import summaries
from warehouse.models import PlaylistTrack

pytestmark = pytest.mark.django_db

PLAYLIST = DEMO_PLAYLISTS[51]


def queued_run(reference=PLAYLIST, **options):
    run, created = runs.request_ingest(reference, trigger=Trigger.SHELL, enqueue=False, **options)
    assert created
    return run


def claim_and_execute(run):
    claimed = runs.claim_run(run.pk)
    assert claimed is not None
    runs.execute_run(claimed)
    run.refresh_from_db()
    return run


def retry_schedules(run):
    return Schedule.objects.filter(func=runs.RUN_TASK, args=f"({run.pk},)")


def test_a_requested_run_is_enqueued_on_commit_and_succeeds(
    sandbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run, created = runs.request_ingest(
            f"https://open.spotify.com/playlist/{PLAYLIST}?si=x", trigger=Trigger.SHELL
        )
    run.refresh_from_db()
    assert created
    assert (run.status, run.attempt, run.step) == (RunStatus.SUCCEEDED, 1, "load")
    assert run.tracks_loaded == PlaylistTrack.objects.filter(playlist_id=PLAYLIST).count() > 0
    assert (run.items_fetched, run.items_total) == (51, 51)
    assert run.artists_done == run.artists_total > 0
    assert run.api_calls == 1 + 2 + run.artists_total
    assert run.started_at <= run.heartbeat_at <= run.finished_at
    assert "attempt 1 started" in run.log and "attempt 1 succeeded" in run.log


def test_a_queued_run_folds_the_counts_its_load_logged(sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        runs.request_ingest(PLAYLIST, trigger=Trigger.SHELL)
    assert summaries.pending()["loads"] == 0
    assert summaries.top(kind="track", limit=1)[0]["entries"] == 1
    assert summaries.differences() == {}


def test_asking_again_while_a_run_is_active_returns_that_run(sandbox):
    first = queued_run()
    again, created = runs.request_ingest(PLAYLIST, trigger=Trigger.WEB, enqueue=False)
    assert (again.pk, created) == (first.pk, False)
    assert IngestRun.objects.count() == 1


def test_the_database_refuses_a_second_active_run(sandbox):
    queued_run()
    with pytest.raises(IntegrityError):
        IngestRun.objects.create(playlist_id=PLAYLIST, reference=PLAYLIST, trigger=Trigger.WEB)


def test_a_finished_run_does_not_block_a_new_one(sandbox):
    claim_and_execute(queued_run())
    _, created = runs.request_ingest(PLAYLIST, trigger=Trigger.WEB, enqueue=False)
    assert created


def test_a_run_is_claimed_once(sandbox):
    run = queued_run()
    assert runs.claim_run(run.pk) is not None
    assert runs.claim_run(run.pk) is None
    # A duplicate delivery of the task is harmless.
    assert tasks.run_ingest(run.pk).startswith("not claimed")


def test_a_run_is_not_claimed_before_its_time(sandbox):
    run = queued_run()
    IngestRun.objects.filter(pk=run.pk).update(not_before=timezone.now() + dt.timedelta(minutes=5))
    assert runs.claim_run(run.pk) is None


def test_a_rate_limit_requeues_the_run_at_retry_after_without_waiting(sandbox):
    sandbox.state.set_faults(rate_limit={"retry_after": 7200, "times": 1})
    before = timezone.now()
    run = claim_and_execute(queued_run())
    assert run.status == RunStatus.QUEUED
    assert run.not_before - before >= dt.timedelta(seconds=7200)
    assert run.not_before - before < dt.timedelta(seconds=7260)
    assert (run.rate_limit_waits, run.quota_exceeded) == (1, False)
    assert [attempt["retry_after"] for attempt in run.attempts] == [7200]
    assert "rate-limited" in run.attempts[0]["error"]
    schedule = retry_schedules(run).get()
    assert (schedule.schedule_type, schedule.next_run) == (Schedule.ONCE, run.not_before)


def test_quota_exhaustion_is_recorded_as_such(sandbox):
    sandbox.state.set_faults(quota_exceeded={"retry_after": 86400, "times": 1})
    run = claim_and_execute(queued_run())
    assert (run.status, run.quota_exceeded) == (RunStatus.QUEUED, True)
    assert "QUOTA_EXCEEDED" in run.error


def test_a_requeued_run_succeeds_on_its_next_attempt(sandbox):
    sandbox.state.set_faults(rate_limit={"retry_after": 1, "times": 1})
    run = claim_and_execute(queued_run())
    IngestRun.objects.filter(pk=run.pk).update(not_before=timezone.now())
    run = claim_and_execute(run)
    assert (run.status, run.attempt, run.error) == (RunStatus.SUCCEEDED, 2, "")
    assert len(run.attempts) == 1


def test_a_due_retry_schedule_runs_the_next_attempt(sandbox):
    sandbox.state.set_faults(rate_limit={"retry_after": 60, "times": 1})
    run = claim_and_execute(queued_run())
    due = timezone.now() - dt.timedelta(seconds=1)
    IngestRun.objects.filter(pk=run.pk).update(not_before=due)
    retry_schedules(run).update(next_run=due)
    scheduler()  # what the cluster does every ~30 s; in sync mode the task runs inline
    run.refresh_from_db()
    assert (run.status, run.attempt) == (RunStatus.SUCCEEDED, 2)
    assert not retry_schedules(run).exists()  # a one-off schedule is used up


def test_transient_errors_back_off_exponentially(sandbox, settings):
    settings.INGEST_RETRY_BACKOFF_SECONDS = 60
    sandbox.state.set_faults(server_error={"status": 503, "times": 0})
    run = queued_run()
    delays = []
    for _ in range(3):
        started = timezone.now()
        run = claim_and_execute(run)
        delays.append(round((run.not_before - started).total_seconds() / 60))
        IngestRun.objects.filter(pk=run.pk).update(not_before=timezone.now())
    assert delays == [1, 2, 4]
    assert run.rate_limit_waits == 0


def test_retries_stop_at_the_attempt_cap(sandbox, settings):
    settings.INGEST_MAX_ATTEMPTS = 2
    sandbox.state.set_faults(server_error={"status": 502, "times": 0})
    run = claim_and_execute(queued_run())
    IngestRun.objects.filter(pk=run.pk).update(not_before=timezone.now())
    run = claim_and_execute(run)
    assert (run.status, run.attempt) == (RunStatus.FAILED, 2)
    assert "502" in run.error
    assert run.finished_at is not None


def test_fatal_errors_fail_at_once(sandbox):
    run = claim_and_execute(queued_run(EDITORIAL_PLAYLIST_ID))
    assert (run.status, run.attempt) == (RunStatus.FAILED, 1)
    assert "editorial" in run.error
    assert not retry_schedules(run).exists()


def test_the_reaper_requeues_a_run_whose_worker_died(sandbox, settings):
    run = queued_run()
    runs.claim_run(run.pk)
    long_ago = timezone.now() - dt.timedelta(seconds=settings.INGEST_STALE_AFTER_SECONDS + 1)
    IngestRun.objects.filter(pk=run.pk).update(heartbeat_at=long_ago, step="load")
    assert runs.reap_stale_runs() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    assert "stopped responding during load" in run.attempts[0]["error"]
    assert retry_schedules(run).exists()


def test_the_reaper_fails_a_dead_run_out_of_attempts(sandbox, settings):
    settings.INGEST_MAX_ATTEMPTS = 1
    run = queued_run()
    runs.claim_run(run.pk)
    long_ago = timezone.now() - dt.timedelta(seconds=settings.INGEST_STALE_AFTER_SECONDS + 1)
    IngestRun.objects.filter(pk=run.pk).update(heartbeat_at=long_ago)
    runs.reap_stale_runs()
    run.refresh_from_db()
    assert (run.status, run.finished_at is not None) == (RunStatus.FAILED, True)


def test_the_reaper_leaves_live_runs_alone(sandbox):
    run = queued_run()
    runs.claim_run(run.pk)
    assert runs.reap_stale_runs() == 0


def test_a_cancelled_run_stops_at_its_next_heartbeat_and_loads_nothing(sandbox):
    run = queued_run()
    claimed = runs.claim_run(run.pk)
    assert runs.cancel_run(run)
    assert runs.execute_run(claimed) is None
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert not PlaylistTrack.objects.filter(playlist_id=PLAYLIST).exists()


def test_the_daily_refresh_requests_every_tracked_playlist_once(
    sandbox, django_capture_on_commit_callbacks
):
    tracked = [DEMO_PLAYLISTS[1], DEMO_PLAYLISTS[50]]
    for playlist_id in tracked:
        claim_and_execute(queued_run(playlist_id))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert tasks.refresh_tracked_playlists() == "2 runs queued, 0 already queued or running"
        assert tasks.refresh_tracked_playlists() == "0 runs queued, 2 already queued or running"
    assert len(callbacks) == 2
    scheduled = IngestRun.objects.filter(trigger=Trigger.SCHEDULE)
    assert sorted(scheduled.values_list("playlist_id", flat=True)) == sorted(tracked)


def test_an_unchanged_playlist_costs_one_call_on_refresh(sandbox):
    claim_and_execute(queued_run())
    run = claim_and_execute(queued_run())
    assert (run.status, run.api_calls) == (RunStatus.UNCHANGED, 1)


def test_schedules_are_set_up_idempotently(settings):
    call_command("setup_schedules", stdout=None)
    call_command("setup_schedules", stdout=None)
    assert sorted(Schedule.objects.values_list("name", flat=True)) == [
        "daily-refresh",
        "reap-stale-runs",
    ]
    daily = Schedule.objects.get(name="daily-refresh")
    assert (daily.schedule_type, daily.func) == (
        Schedule.DAILY,
        "ingestion.tasks.refresh_tracked_playlists",
    )
    settings.INGEST_DAILY_REFRESH_AT = "04:30"
    call_command("setup_schedules", stdout=None)
    moved = Schedule.objects.get(name="daily-refresh")
    assert (timezone.localtime(moved.next_run).hour, moved.next_run.minute) == (4, 30)

"""Integration: a real `manage.py qcluster` process executes the runs.

The cluster runs as a child process against this test database (a file on
SQLite, the test database on PostgreSQL) and the sandbox over HTTP. The test
process enqueues through a real broker (sync mode switched off here): every
test runs on the ORM broker and on Redis (a database of its own per test run,
tests/ingestion/conftest.py), the way the cluster would on either.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule, Task
from django_q.scheduler import scheduler
from django_q.tasks import async_task

from accounts import library
from devtools.sandbox import (
    DEMO_PLAYLISTS,
    DEMO_REFRESH_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
)
from devtools.synthetic.exports import (
    catalog_tracks,
    export_item,
    export_playlist,
    write_export_json,
)
from devtools.synthetic.mpd import generate_slices
from ingestion import across_warm, export_runs, runs
from ingestion.models import IngestRun, Kind, RunStatus, Trigger
from ingestion.pipeline import ingest_playlist
from warehouse import across_cache
from warehouse.models import Playlist, PlaylistTrack

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 90  # generous: a bound on waiting, never an assertion on speed


def database_url():
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        return (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return f"sqlite:///{db['NAME']}"


class Cluster:
    """A qcluster child process in its own process group."""

    def __init__(self, sandbox, log_path, workers=2, broker_env=None):
        env = {
            **(broker_env or {}),
            "PATH": os.environ["PATH"],
            "ENV_FILE": os.devnull,
            "DEBUG": "true",
            # Tasks are signed: the cluster must share the test process's key.
            "SECRET_KEY": settings.SECRET_KEY,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "Q_WORKERS": str(workers),
            "SPOTIFY_API_BASE_URL": sandbox.api_base_url,
            "SPOTIFY_ACCOUNTS_BASE_URL": sandbox.accounts_base_url,
            "SPOTIFY_CLIENT_ID": SANDBOX_CLIENT_ID,
            "SPOTIFY_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "SPOTIFY_REFRESH_TOKEN": DEMO_REFRESH_TOKEN,
            "SPOTIFY_MAX_REQUESTS_PER_SECOND": "0",
            # The test settings' clocks (near zero), not the production ones.
            **{
                name: str(getattr(settings, name))
                for name in (
                    "INGEST_HEARTBEAT_SECONDS",
                    "INGEST_STALE_AFTER_SECONDS",
                    "INGEST_RETRY_BACKOFF_SECONDS",
                    "ACROSS_WARM_DELAY_SECONDS",
                )
            },
            # Where export runs write (a test's own folder, see export_dir).
            "EXPORT_DIR": str(settings.EXPORT_DIR),
        }
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self):
        """SIGKILL the whole cluster: no chance to finish or clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self):
        # Tests need no graceful shutdown (django-q2 takes ~20 s for one).
        self.kill()
        self.log.close()


@pytest.fixture(params=["orm", "redis"])
def queue(request, monkeypatch):
    """Enqueue through a real broker instead of running tasks inline; returns the
    environment that puts a cluster on the same broker."""
    monkeypatch.setattr(Conf, "SYNC", False)
    # Nothing left from the previous test: a killed cluster's stats outlive it a while.
    cache.clear()
    if request.param == "orm":
        return {"Q_BROKER": "orm"}
    redis_url = request.getfixturevalue("redis_test_url")
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", redis_url)
    redis = get_broker().connection
    for key in redis.scan_iter("django_q:*"):  # the queue and the clusters' stats
        redis.delete(key)
    return {"Q_BROKER": "redis", "REDIS_URL": redis_url}


@pytest.fixture
def start_cluster(sandbox, queue, tmp_path):
    clusters = []

    def start(workers=2):
        log_path = tmp_path / f"qcluster-{len(clusters)}.log"
        cluster = Cluster(sandbox, log_path, workers, broker_env=queue)
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()


def wait_for(predicate, what):
    """Poll `predicate` until it is truthy, firing due schedules meanwhile."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        fire_due_schedules()
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def fire_due_schedules():
    """Do at once what the cluster's scheduler does only every ~30 s: turn due
    schedules (retries at their `not_before`, the daily refresh) into tasks.

    The same function the cluster's guard loop calls (django_q.cluster), run from
    this process, so no test waits for django-q2's tick."""
    if Schedule.objects.exclude(repeats=0).filter(next_run__lt=timezone.now()).exists():
        scheduler(broker=get_broker())


def queue_is_empty():
    """No task waits or is taken but unacknowledged (the ORM broker keeps those
    until they are done; Redis forgets a task once it is handed out)."""
    if Conf.ORM:
        return not OrmQ.objects.exists()
    return get_broker().queue_size() == 0


def request(playlist_id):
    run, _ = runs.request_ingest(playlist_id, trigger=Trigger.SHELL)
    return run


def finished(run):
    run.refresh_from_db()
    return not run.is_active and run


def warehouse_rows(playlist_id):
    """The playlist's rows without the timestamps of when they were loaded."""
    timestamps = {"first_seen_at", "last_seen_at", "loaded_at", "removed_at"}
    return [
        {key: value for key, value in row.items() if key not in timestamps}
        for row in PlaylistTrack.objects.filter(playlist_id=playlist_id)
        .order_by("track_id")
        .values()
    ]


def test_a_queued_run_succeeds(start_cluster):
    start_cluster()
    run = request(DEMO_PLAYLISTS[237])
    run = wait_for(lambda: finished(run), "the run to finish")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.tracks_loaded == PlaylistTrack.objects.filter(playlist_id=run.playlist_id).count()


@pytest.mark.parametrize("queue", ["orm"], indirect=True)
def test_a_file_import_warms_its_importers_pages_across_playlists(
    start_cluster, django_user_model, tmp_path
):
    """The cluster's own process asks for the warm (the loader's signal, connected in
    every process), runs it as a django-q2 task once the run is over, and keeps it in
    the task history; the figures are then there for the importer's next view."""
    importer = django_user_model.objects.create_user("importer")
    (path,) = generate_slices(tmp_path / "mpd", slices=1, playlists_per_slice=8)
    start_cluster()
    run = runs.request_file_import(path, trigger=Trigger.SHELL, user=importer)
    run = wait_for(lambda: finished(run), "the import to finish")
    assert run.status == RunStatus.SUCCEEDED, run.error

    def warmed():
        done = Task.objects.filter(func=across_warm.WARM_TASK)
        return next((task for task in done if "computed library" in str(task.result)), None)

    task = wait_for(warmed, "the warm task")
    wait_for(queue_is_empty, "the queue to drain")
    assert task.success and task.name == f"warm-across-user-{importer.pk}"
    assert "8 playlists" in task.result
    ids = sorted(library.visible_playlist_ids(importer))
    assert len(ids) == 8
    for what in across_cache.WARMED:
        assert across_cache.cached(importer.pk, what, ids, None, compute_if_missing=False), what
    assert not Schedule.objects.filter(func=across_warm.WARM_TASK).exists()
    cache.clear()  # not emptied between transactional tests: leave no figure behind


def test_an_export_run_writes_its_requesters_library(
    sandbox, every_artist_cached, start_cluster, django_user_model, settings, tmp_path
):
    settings.EXPORT_DIR = tmp_path / "exports"  # before the cluster starts: it reads it too
    playlist_id = DEMO_PLAYLISTS[237]
    assert ingest_playlist(playlist_id).status == "succeeded"
    owner = django_user_model.objects.create_user("exporter")
    library.grant(owner.pk, playlist_id, add=True)
    start_cluster()

    run, _ = runs.request_export(owner, "parquet", trigger=Trigger.WEB)
    run = wait_for(lambda: finished(run), "the export to finish")

    assert run.status == RunStatus.SUCCEEDED, run.error
    rows = PlaylistTrack.objects.filter(playlist_id=playlist_id, removed_at__isnull=True).count()
    assert (run.items_fetched, run.items_total, run.tracks_loaded) == (rows, rows, rows)
    assert (run.playlists_done, run.playlists_total) == (1, 1)
    path = export_runs.export_file(run)
    table = pq.read_table(path)
    assert table.num_rows == rows
    assert set(table.column("playlist_id").to_pylist()) == {playlist_id}
    assert [p.name for p in settings.EXPORT_DIR.iterdir()] == [path.name]


def test_the_same_playlist_asked_twice_at_once_runs_once(
    sandbox, every_artist_cached, start_cluster
):
    first = request(DEMO_PLAYLISTS[1000])
    second = request(DEMO_PLAYLISTS[1000])
    assert first.pk == second.pk
    # The broker delivering the task twice (it does) is harmless too.
    async_task(runs.RUN_TASK, first.pk)
    async_task(runs.RUN_TASK, first.pk)
    start_cluster(workers=2)
    run = wait_for(lambda: finished(first), "the run to finish")
    wait_for(queue_is_empty, "the queue to drain")
    assert (run.status, run.attempt) == (RunStatus.SUCCEEDED, 1)
    assert sandbox.state.stats()["playlist"] == 1
    assert IngestRun.objects.count() == 1


def test_a_rate_limited_run_waits_in_the_queue_while_the_worker_moves_on(
    sandbox, every_artist_cached, start_cluster
):
    limited, other = DEMO_PLAYLISTS[50], DEMO_PLAYLISTS[51]
    # Long enough for the other run (three calls, artists cached) to finish within it.
    sandbox.state.set_faults(
        rate_limit={"retry_after": 2, "times": 1, "path_prefix": f"/v1/playlists/{limited}"}
    )
    start_cluster(workers=1)
    waiting = request(limited)
    wait_for(lambda: IngestRun.objects.filter(pk=waiting.pk, rate_limit_waits=1).exists(), "429")
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.QUEUED
    retry_at = waiting.not_before

    meanwhile = request(other)
    meanwhile = wait_for(lambda: finished(meanwhile), "the other run")
    assert meanwhile.status == RunStatus.SUCCEEDED
    assert meanwhile.finished_at < retry_at  # the only worker was free during the wait

    waiting = wait_for(lambda: finished(waiting), "the rescheduled attempt")
    assert (waiting.status, waiting.attempt) == (RunStatus.SUCCEEDED, 2)
    assert waiting.started_at >= retry_at


@contextmanager
def the_load_held(cluster, playlist_id, sandbox):
    """Keep the cluster's loader inside its load transaction until the cluster is
    killed; yields a predicate: is the loader held there yet?

    PostgreSQL: an uncommitted row of the playlist that the loader's INSERT waits
    for. SQLite has no row locks: a trigger on playlist_tracks that never ends
    (a join of a thousand rows with itself four times) keeps the INSERT busy."""
    if connection.vendor == "postgresql":
        first_track = sandbox.state.playlist_items(playlist_id)[0].ref
        hold = PostgresHold(playlist_id, first_track)
    else:
        hold = SqliteHold(playlist_id)
    try:
        yield hold.holding
    finally:
        cluster.kill()  # first: the hold cannot be released under a live loader on SQLite
        hold.release()


class PostgresHold:
    def __init__(self, playlist_id, track_id):
        import psycopg2

        db = connection.settings_dict
        self.blocker = psycopg2.connect(
            dbname=db["NAME"],
            user=db["USER"],
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
        )
        now = timezone.now()
        with self.blocker.cursor() as cursor:
            cursor.execute(
                "INSERT INTO playlist_tracks (playlist_id, track_id, position, first_seen_at,"
                " last_seen_at, loaded_at) VALUES (%s, %s, 0, %s, %s, %s)",
                [playlist_id, track_id, now, now, now],
            )

    def holding(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            return cursor.fetchone()[0] > 0

    def release(self):
        self.blocker.rollback()
        self.blocker.close()


class SqliteHold:
    def __init__(self, playlist_id):
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE hold_rows (n INTEGER)")
            cursor.executemany("INSERT INTO hold_rows VALUES (%s)", [(n,) for n in range(1000)])
            cursor.execute(
                "CREATE TRIGGER hold_the_load AFTER INSERT ON playlist_tracks"
                f" WHEN NEW.playlist_id = '{playlist_id}' BEGIN"
                " SELECT count(*) FROM hold_rows a, hold_rows b, hold_rows c, hold_rows d;"
                " END"
            )

    def holding(self, probes=5):
        """The write lock stays taken through half a second of probes: only the held
        load keeps it that long (the cluster's other writes take milliseconds)."""
        for _ in range(probes):
            if not self.write_lock_is_taken():
                return False
            time.sleep(0.1)
        return True

    @staticmethod
    def write_lock_is_taken():
        probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:  # "database is locked"
            return True
        finally:
            probe.close()

    def release(self):
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS hold_the_load")
            cursor.execute("DROP TABLE IF EXISTS hold_rows")


def test_a_worker_killed_mid_load_leaves_no_rows_and_the_run_is_retried(
    sandbox, every_artist_cached, start_cluster
):
    playlist_id = DEMO_PLAYLISTS[1000]
    cluster = start_cluster(workers=1)
    with the_load_held(cluster, playlist_id, sandbox) as holding:
        run = request(playlist_id)
        wait_for(lambda: IngestRun.objects.filter(pk=run.pk, step="load").exists(), "the load")
        wait_for(holding, "the load to be held inside its transaction")
        cluster.kill()

    # Killed inside the load transaction: nothing of it stays.
    assert not PlaylistTrack.objects.filter(playlist_id=playlist_id).exists()
    assert not Playlist.objects.filter(pk=playlist_id).exists()
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # until the reaper notices

    # No heartbeat comes any more: once the last one is INGEST_STALE_AFTER_SECONDS
    # old, the reaper requeues the run (after INGEST_RETRY_BACKOFF_SECONDS).
    assert wait_for(runs.reap_stale_runs, "the reaper to take the run for dead") == 1
    start_cluster(workers=1)
    run = wait_for(lambda: finished(run), "the retried run")
    assert (run.status, run.attempt) == (RunStatus.SUCCEEDED, 2), run.error
    assert "stopped responding during load" in run.attempts[0]["error"]

    recovered = warehouse_rows(playlist_id)
    PlaylistTrack.objects.filter(playlist_id=playlist_id).delete()
    Playlist.objects.filter(pk=playlist_id).delete()
    assert ingest_playlist(playlist_id).status == "succeeded"
    assert recovered == warehouse_rows(playlist_id)


def test_the_daily_schedule_enqueues_every_tracked_playlist_once(sandbox, start_cluster):
    tracked = [DEMO_PLAYLISTS[1], DEMO_PLAYLISTS[50], DEMO_PLAYLISTS[51]]
    for playlist_id in tracked:
        assert ingest_playlist(playlist_id).status == "succeeded"
    call_command("setup_schedules", stdout=StringIO())
    Schedule.objects.filter(name="daily-refresh").update(next_run=timezone.now())  # due
    start_cluster(workers=2)  # wait_for fires it; the cluster runs the refresh and its runs
    scheduled = IngestRun.objects.filter(trigger=Trigger.SCHEDULE)
    wait_for(lambda: scheduled.count() == len(tracked), "the refresh runs")
    wait_for(lambda: not scheduled.filter(status__in=["queued", "running"]).exists(), "them to end")
    assert sorted(scheduled.values_list("playlist_id", flat=True)) == sorted(tracked)
    assert set(scheduled.values_list("status", flat=True)) == {RunStatus.UNCHANGED}
    assert set(scheduled.values_list("api_calls", flat=True)) == {1}
    daily = Schedule.objects.get(name="daily-refresh")
    assert daily.next_run > timezone.now()  # moved to tomorrow, not replayed


def test_an_uploaded_export_then_its_enrichment_run_in_the_cluster(
    sandbox, start_cluster, tmp_path
):
    catalog = sandbox.catalog
    several, single, _ = catalog_tracks(catalog)
    path = write_export_json(
        tmp_path / "uploads" / "abc" / "Playlist1.json",
        [
            export_playlist(
                "Road trip", [export_item(catalog, several), export_item(catalog, single)]
            )
        ],
    )
    start_cluster()
    run = runs.request_file_import(path, trigger=Trigger.WEB, upload=True, enrich=True)
    run = wait_for(lambda: finished(run), "the file run to finish")
    assert (run.kind, run.status, run.tracks_loaded) == (Kind.FILE, RunStatus.SUCCEEDED, 2)
    # The upload is deleted once imported (just after the run's final status is written).
    assert wait_for(lambda: not path.parent.exists(), "the upload to be deleted")
    enrichment = wait_for(
        lambda: IngestRun.objects.filter(kind=Kind.ENRICH).first(), "the enrichment run"
    )
    enrichment = wait_for(lambda: finished(enrichment), "the enrichment run to finish")
    assert enrichment.status == RunStatus.SUCCEEDED, enrichment.error
    assert enrichment.playlist_id == run.playlists[0]["playlist_id"]
    assert enrichment.rows_updated == 2 and enrichment.api_calls > 2
    assert not PlaylistTrack.objects.filter(
        playlist_id=enrichment.playlist_id, track_duration_ms__isnull=True
    ).exists()


# Two clusters as separate processes on one database and one broker: two machines.


def test_two_clusters_run_every_run_exactly_once(sandbox, every_artist_cached, start_cluster):
    playlist_ids = [DEMO_PLAYLISTS[n] for n in (0, 1, 50, 51, 237)]
    requested = [request(playlist_id) for playlist_id in playlist_ids]
    for run in requested:  # a second delivery of each: the broker may deliver twice
        async_task(runs.RUN_TASK, run.pk)
    start_cluster(workers=2)
    start_cluster(workers=2)
    for run in requested:
        wait_for(lambda run=run: finished(run), f"run {run.pk} to finish")
    wait_for(queue_is_empty, "the queue to drain")
    ended = IngestRun.objects.filter(pk__in=[run.pk for run in requested])
    assert set(ended.values_list("status", "attempt")) == {(RunStatus.SUCCEEDED, 1)}
    # Each playlist was read from Spotify once: no run was executed twice.
    assert sandbox.state.stats()["playlist"] == len(playlist_ids)
    assert sorted(Playlist.objects.values_list("pk", flat=True)) == sorted(playlist_ids)


def test_a_cluster_killed_mid_load_loses_no_run_the_other_finishes_it(
    sandbox, every_artist_cached, start_cluster
):
    """Redis has no receipts: the task the killed cluster held is gone from the
    broker. The run is not: the reaper requeues it and the surviving cluster runs it."""
    playlist_id = DEMO_PLAYLISTS[1000]
    doomed = start_cluster(workers=1)
    with the_load_held(doomed, playlist_id, sandbox) as holding:
        run = request(playlist_id)
        wait_for(lambda: IngestRun.objects.filter(pk=run.pk, step="load").exists(), "the load")
        wait_for(holding, "the load to be held inside its transaction")
        start_cluster(workers=1)  # the other machine, up before the first one dies
        doomed.kill()

    assert wait_for(runs.reap_stale_runs, "the reaper to take the run for dead") == 1
    run = wait_for(lambda: finished(run), "the run, retried by the surviving cluster")
    assert (run.status, run.attempt) == (RunStatus.SUCCEEDED, 2), run.error
    assert run.tracks_loaded == PlaylistTrack.objects.filter(playlist_id=playlist_id).count()
    assert IngestRun.objects.count() == 1


def test_the_daily_schedule_with_two_clusters_refreshes_each_playlist_once(sandbox, start_cluster):
    tracked = [DEMO_PLAYLISTS[1], DEMO_PLAYLISTS[50], DEMO_PLAYLISTS[51]]
    for playlist_id in tracked:
        assert ingest_playlist(playlist_id).status == "succeeded"
    call_command("setup_schedules", stdout=StringIO())
    Schedule.objects.filter(name="daily-refresh").update(next_run=timezone.now())  # due
    start_cluster(workers=2)
    start_cluster(workers=2)
    scheduled = IngestRun.objects.filter(trigger=Trigger.SCHEDULE)
    wait_for(lambda: scheduled.count() == len(tracked), "the refresh runs")
    wait_for(lambda: not scheduled.filter(status__in=["queued", "running"]).exists(), "them to end")
    wait_for(queue_is_empty, "the queue to drain")
    assert sorted(scheduled.values_list("playlist_id", flat=True)) == sorted(tracked)
    assert set(scheduled.values_list("status", "attempt")) == {(RunStatus.UNCHANGED, 1)}
    # Fired once: one refresh task, one check of each playlist.
    assert sandbox.state.stats()["playlist"] == 2 * len(tracked)  # the first loads, then one each
    assert Schedule.objects.get(name="daily-refresh").next_run > timezone.now()


def test_healthz_is_ok_while_a_cluster_reports_itself(start_cluster, client):
    assert client.get("/healthz").status_code == 503  # no cluster yet: the queue is down
    start_cluster(workers=1)
    response = wait_for(lambda: (r := client.get("/healthz")).status_code == 200 and r, "healthz")
    queue = response.json()["checks"]["queue"]
    assert queue["status"] == "ok"
    assert 0 <= queue["heartbeat_age_seconds"] <= settings.HEALTHZ_QUEUE_MAX_AGE_SECONDS


def test_healthz_calls_the_queue_down_when_a_run_waits_whose_task_was_lost(start_cluster, client):
    """The cluster reports itself, but a run's task never reached it (Redis lost it):
    nothing progresses while the run waits, so the queue is stalled, and down."""
    run, _ = runs.request_ingest(DEMO_PLAYLISTS[1], trigger=Trigger.SHELL, enqueue=False)
    long_ago = timezone.now() - timedelta(minutes=settings.QUEUE_STALL_MINUTES + 1)
    IngestRun.objects.filter(pk=run.pk).update(queued_at=long_ago)
    start_cluster(workers=1)

    def queue_check():
        queue = client.get("/healthz").json()["checks"]["queue"]
        return "no queue cluster" not in queue.get("error", "") and queue

    queue = wait_for(queue_check, "the cluster to report itself")
    assert queue["status"] == "down"
    assert "The queue has made no progress" in queue["error"]
    assert client.get("/healthz").status_code == 503

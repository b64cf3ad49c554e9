"""Integration: a killed worker does not freeze a real `manage.py qcluster`.

django-q2's idle worker holds the task queue's read lock while it waits; killed
there (the OOM killer's SIGKILL), it left every other worker waiting forever.
ingestion.cluster ends such a cluster and the command starts a fresh one. Here
the idle worker and then the busy one are SIGKILLed, and every run still
finishes, each executed once per attempt.
"""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.scheduler import scheduler

from devtools.sandbox import (
    DEMO_PLAYLISTS,
    DEMO_REFRESH_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
)
from ingestion import runs
from ingestion.models import IngestRun, RunStatus, Step, Trigger
from tests.ingestion.test_qcluster import ROOT, database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WAIT_SECONDS = 90  # a bound on waiting, never an assertion on speed
RUN_CLOCKS = {
    "INGEST_HEARTBEAT_SECONDS": 1,
    "INGEST_STALE_AFTER_SECONDS": 2,
    "INGEST_RETRY_BACKOFF_SECONDS": 1,
}
READY = re.compile(r"(Process-\w+) ready for work at (\d+)")


class LoggedCluster:
    """A qcluster child process whose log names its workers (django-q2 logs at INFO)."""

    def __init__(self, sandbox, log_path):
        env = {
            "PATH": os.environ["PATH"],
            "ENV_FILE": os.devnull,
            "DEBUG": "true",
            "SECRET_KEY": settings.SECRET_KEY,  # tasks are signed with it
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "LOG_LEVEL": "INFO",
            "Q_WORKERS": "2",
            "SPOTIFY_API_BASE_URL": sandbox.api_base_url,
            "SPOTIFY_ACCOUNTS_BASE_URL": sandbox.accounts_base_url,
            "SPOTIFY_CLIENT_ID": SANDBOX_CLIENT_ID,
            "SPOTIFY_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "SPOTIFY_REFRESH_TOKEN": DEMO_REFRESH_TOKEN,
            "SPOTIFY_MAX_REQUESTS_PER_SECOND": "0",
            # The run clocks of this test process (see the fixture), near zero.
            **{name: str(getattr(settings, name)) for name in RUN_CLOCKS},
        }
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self):
        return self.log_path.read_text()

    def workers(self):
        """Worker name → pid, for every worker started so far."""
        return dict(READY.findall(self.text()))

    def worker_running(self, run):
        """The pid of the worker that took `run`'s task."""
        names = re.findall(rf"(Process-\w+) processing ingest-run-{run.pk}\b", self.text())
        return names and int(self.workers()[names[-1]])

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


@pytest.fixture
def cluster(sandbox, monkeypatch, settings, tmp_path):
    monkeypatch.setattr(Conf, "SYNC", False)  # enqueue through the real ORM broker
    # The reaper (run here, in wait_for) and the cluster share these clocks.
    for name, seconds in RUN_CLOCKS.items():
        setattr(settings, name, seconds)
    cluster = LoggedCluster(sandbox, tmp_path / "qcluster.log")
    yield cluster
    cluster.stop()


def wait_for(predicate, what, cluster):
    """Poll until `predicate` is truthy, firing due schedules (a retry's) meanwhile:
    the cluster does it only every 30 s."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if Schedule.objects.filter(next_run__lt=timezone.now()).exclude(repeats=0).exists():
            scheduler(broker=get_broker())
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}; the cluster's log:\n{cluster.text()}")


def request(playlist_id):
    run, _ = runs.request_ingest(playlist_id, trigger=Trigger.SHELL)
    return run


def finished(*runs_):
    for run in runs_:
        run.refresh_from_db()
    return all(not run.is_active for run in runs_)


def test_killing_the_idle_worker_then_the_busy_one_does_not_freeze_the_cluster(sandbox, cluster):
    wait_for(lambda: len(cluster.workers()) == 2, "two workers", cluster)
    sandbox.state.set_faults(latency_ms=500)  # the first run stays busy while we act
    slow = request(DEMO_PLAYLISTS[1000])
    busy = wait_for(lambda: cluster.worker_running(slow), "a worker to take the run", cluster)
    (idle,) = {int(pid) for pid in cluster.workers().values()} - {busy}
    reading = IngestRun.objects.filter(pk=slow.pk, step=Step.EXTRACT)
    wait_for(reading.exists, "the run to read", cluster)

    # The idle worker waits for the next task holding the task queue's read lock.
    os.kill(idle, signal.SIGKILL)
    waiting = [request(DEMO_PLAYLISTS[237]), request(DEMO_PLAYLISTS[50])]
    wait_for(lambda: "may hold a queue lock" in cluster.text(), "the guard to notice", cluster)
    os.kill(busy, signal.SIGKILL)
    sandbox.state.set_faults(latency_ms=None)
    # What the reaper schedule does: the killed attempt's heartbeat goes stale.
    wait_for(runs.reap_stale_runs, "the reaper to take the killed attempt for dead", cluster)

    wait_for(lambda: finished(slow, *waiting), "every run to finish", cluster)
    assert cluster.process.poll() is None  # the same qcluster, with a fresh cluster
    assert "stopped for a restart" in cluster.text()
    assert [(run.status, run.attempt) for run in waiting] == [(RunStatus.SUCCEEDED, 1)] * 2
    assert (slow.status, slow.attempt) == (RunStatus.SUCCEEDED, 2), slow.error
    assert "stopped responding" in slow.attempts[0]["error"]
    # Each attempt read its playlist once: no run was executed twice.
    assert sandbox.state.stats()["playlist"] == 4

    # Nothing is left blocked: SIGTERM stops it (a frozen cluster ignored it).
    os.kill(cluster.process.pid, signal.SIGTERM)
    assert cluster.process.wait(WAIT_SECONDS) == 0

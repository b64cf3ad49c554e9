"""Integration: a real `manage.py qcluster` stops on SIGTERM without finishing its runs.

django-q2 alone lets each worker finish its task first, however long (a stop
under `make run` took minutes). ingestion.cluster hands the run in progress back
to the queue and ends every process within Q_STOP_SECONDS; a second SIGTERM
ends it at once. Waits are bounded by generous timeouts, never asserted on.
"""

import signal

import pytest

from devtools.sandbox import DEMO_PLAYLISTS
from ingestion import runs
from ingestion.models import IngestRun, RunStatus
from tests.ingestion.test_qcluster import (
    WAIT_SECONDS,
    Cluster,
    finished,
    queue,  # noqa: F401 - the brokers' fixture
    request,
    the_load_held,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

#: The cluster's Q_STOP_SECONDS in the first test: the bound of its wait for the exit.
STOP_SECONDS = 30
#: In the second: longer than the test waits, so only the second signal can end it.
NEVER = 3600


@pytest.fixture
def stoppable_cluster(sandbox, queue, tmp_path):  # noqa: F811 - the fixture above
    clusters = []

    def start(stop_seconds, **more_env):
        env = {**queue, "Q_STOP_SECONDS": str(stop_seconds), "LOG_LEVEL": "INFO", **more_env}
        cluster = Cluster(sandbox, tmp_path / f"qcluster-{len(clusters)}.log", 1, env)
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()


def reading(run):
    return IngestRun.objects.filter(
        pk=run.pk, status=RunStatus.RUNNING, items_fetched__gt=0
    ).exists()


def test_sigterm_hands_the_run_in_progress_back_and_the_cluster_exits(
    sandbox, every_artist_cached, stoppable_cluster, tmp_path
):
    # Every answer slow: the 1,000-item run (ten pages) is still reading when the signal
    # comes; the second cluster reads it without the delay.
    sandbox.state.set_faults(latency_ms=400)
    cluster = stoppable_cluster(STOP_SECONDS)
    run = request(DEMO_PLAYLISTS[1000])
    wait_for(lambda: reading(run), "the run to be reading its items")

    cluster.process.send_signal(signal.SIGTERM)
    assert cluster.process.wait(timeout=STOP_SECONDS + WAIT_SECONDS) == 0

    run.refresh_from_db()
    assert (run.status, run.attempt) == (RunStatus.QUEUED, 0), run.log
    assert "attempt 1 stopped: the queue cluster stopped; queued again" in run.log
    log = (tmp_path / "qcluster-0.log").read_text()
    assert "were killed" not in log  # handed back, not killed at the deadline

    # Its task is back in the queue: the next cluster finishes it.
    sandbox.state.clear_faults()
    stoppable_cluster(STOP_SECONDS)
    run = wait_for(lambda: finished(run), "the handed-back run")
    assert (run.status, run.attempt) == (RunStatus.SUCCEEDED, 1), run.error


def test_a_second_sigterm_stops_a_cluster_whose_worker_cannot_stop(
    sandbox, every_artist_cached, stoppable_cluster, tmp_path
):
    playlist_id = DEMO_PLAYLISTS[1000]
    # The held load keeps SQLite's write lock: the sentinel's own writes (its stats in
    # the database cache) wait SQLITE_BUSY_TIMEOUT for it, a clock the test sets short.
    cluster = stoppable_cluster(NEVER, SQLITE_BUSY_TIMEOUT="1")
    with the_load_held(cluster, playlist_id, sandbox) as holding:
        run = request(playlist_id)
        wait_for(lambda: IngestRun.objects.filter(pk=run.pk, step="load").exists(), "the load")
        wait_for(holding, "the load to be held inside its transaction")
        cluster.process.send_signal(signal.SIGTERM)
        log_path = tmp_path / "qcluster-0.log"
        wait_for(lambda: "go back to the queue" in log_path.read_text(), "the stop to begin")

        cluster.process.send_signal(signal.SIGTERM)  # the worker is stuck in the database
        assert cluster.process.wait(timeout=WAIT_SECONDS) == 0

    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # killed in its load: the reaper's to retry
    assert wait_for(runs.reap_stale_runs, "the reaper to take the run for dead") == 1

"""The queue cluster, guarded so that one killed worker cannot freeze it.

django-q2's workers share one multiprocessing queue of tasks. A worker waiting
for a task holds the queue's read lock (a semaphore: it has no owner, so the
kernel never gives it back). When that idle worker is killed (the OOM killer,
SIGKILL), the lock stays taken: every other worker, and the one the sentinel
spawns in its place, waits on it forever, and so does a graceful stop
(django-q2 issue #23; details in docs/django-q2-notes.md). A killed monitor or
pusher can leave the result or task queue the same way, and a worker killed
while it hands back a result holds its timer lock, which django-q2's guard
then waits for.

No setting avoids it, and a lock held by a dead process cannot be told apart
from one held by a live idle worker. So `GuardedSentinel` treats such a death
as the end of this set of queues: it stops taking tasks, lets the workers that
are running a task finish it, and exits with RESTART_EXIT_CODE; the `qcluster`
command (ingestion.management.commands.qcluster) then starts a fresh cluster,
with new queues, and makes the tasks the old one had taken but not run
deliverable again. A worker killed while it runs a task holds no queue lock:
django-q2's own replacement is right for it (the stale-run reaper retries the
run).

A stop (SIGTERM or SIGINT to `qcluster`) is bounded too: django-q2 waits for
every worker to finish its task, however long. `GuardedSentinel.stop` sends
each worker SIGTERM instead, which hands its run back to the queue
(ingestion.shutdown), and kills whatever is still alive after Q_STOP_SECONDS; a
second SIGTERM or SIGINT to `qcluster` kills it at once.
"""

import logging
import os
import queue
import signal
import time
from contextlib import contextmanager, suppress
from datetime import timedelta

import django_q.cluster
from django import db
from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone
from django_q.cluster import Cluster, Sentinel
from django_q.conf import Conf
from django_q.humanhash import humanize
from django_q.models import OrmQ
from django_q.scheduler import scheduler
from django_q.signals import post_spawn
from django_q.status import Stat

from ingestion.shutdown import handle_stop_requests

logger = logging.getLogger(__name__)

# EX_TEMPFAIL: "try again". The sentinel exits with it to ask for a new cluster.
RESTART_EXIT_CODE = 75

IDLE = -1  # django-q2's worker timer: -1 idle, 0 timed out, -2 recycled, > 0 busy
MONITOR_FLUSH_SECONDS = 10  # a bound for the monitor to save the last results
TIMER_LOCK_WAIT_SECONDS = 1  # a live worker holds its timer lock for a moment only
STOP_POLL_SECONDS = 0.1


@receiver(post_spawn)
def _worker_spawned(sender, **kwargs):
    """In each new worker: a stop request hands its run back (ingestion.shutdown)."""
    handle_stop_requests()


def held_a_queue_lock(process, *, is_worker):
    """Whether `process` was killed at a point where it may hold a queue lock.

    Killed by a signal (the OOM killer's SIGKILL included), and for a worker:
    while idle, that is waiting for a task or just handing back a result.
    A worker that ends by itself (recycled, timed out, an error) releases them.
    """
    killed = process.exitcode is not None and process.exitcode < 0
    # Read without the timer's lock: the dead worker may hold that one too.
    return killed and (not is_worker or process.timer.get_obj().value == IDLE)


@contextmanager
def timer_lock(process):
    """Hold a worker's timer lock; yields False if the worker died holding it.

    A worker holds it while it hands back a result; killed then, django-q2's
    guard would wait for it forever.
    """
    lock = process.timer.get_lock()
    while not lock.acquire(timeout=TIMER_LOCK_WAIT_SECONDS):
        if not process.is_alive():
            yield False
            return
    try:
        yield True
    finally:
        lock.release()


class GuardedSentinel(Sentinel):
    """django-q2's sentinel, ending its cluster when a death may have left a queue locked."""

    restart_reason = ""
    hurry = False  # a second stop request: kill what is left at once

    def guard(self):
        signal.signal(signal.SIGTERM, self.stop_at_once)
        self.start_event.set()
        Stat(self).save()
        logger.info("Q Cluster %s running (guarded).", humanize(self.cluster_id.hex))
        counter = 0
        cycle = Conf.GUARD_CYCLE
        idle_before = set()
        while True:
            if not self.restart_reason:
                self.check_processes(cycle)
                counter += cycle
                if counter >= 30 and Conf.SCHEDULER:
                    counter = 0
                    scheduler(broker=self.broker)
            if self.restart_reason:
                idle_before = self.drain(cycle, idle_before)
                if not self.pool:
                    break
            Stat(self).save()
            if self.stop_event.wait(cycle) and not self.restart_reason:
                break
        if self.restart_reason:
            self.exit_for_restart()
        self.stop()

    def check_processes(self, cycle):
        """What django-q2's guard does each cycle: replace the dead, time the busy."""
        for process in list(self.pool):
            with timer_lock(process) as locked:
                if not locked:
                    self.begin_restart(process, is_worker=True)
                    continue
                if not process.is_alive() or process.timer.value == 0:
                    self.reincarnate(process)
                    continue
                if process.timer.value > 0:
                    process.timer.value -= cycle
        if not self.monitor.is_alive():
            self.reincarnate(self.monitor)
        if not self.pusher.is_alive():
            self.reincarnate(self.pusher)

    def reincarnate(self, process):
        if self.restart_reason:
            return
        is_worker = process in self.pool
        if held_a_queue_lock(process, is_worker=is_worker):
            self.begin_restart(process, is_worker=is_worker)
            return
        super().reincarnate(process)

    def begin_restart(self, process, *, is_worker):
        if is_worker:
            self.pool.remove(process)
        if self.restart_reason:
            return
        role = "worker" if is_worker else "monitor" if process == self.monitor else "pusher"
        code = process.exitcode
        how = f"was killed by signal {-code}" if code < 0 else f"ended (exit code {code})"
        self.restart_reason = (
            f"{role} {process.name} (pid {process.pid}) {how} and may hold a queue lock"
        )
        logger.critical(
            "%s: restarting the cluster with new queues once the running tasks finish.",
            self.restart_reason,
        )
        # No new tasks into the old queue: whatever the pusher took is released
        # again by the next cluster (release_tasks_taken_since).
        _kill(self.pusher)

    def drain(self, cycle, idle_before):
        """Let busy workers finish (within their timeout); stop the idle ones.

        A worker is stopped when seen idle twice in a row, so that the result
        it just handed over has left the process. Returns the idle ones seen.
        """
        idle_now = set()
        for process in list(self.pool):
            with timer_lock(process) as locked:
                timer = process.timer.value if locked else 0
                if process.is_alive() and timer > 0:
                    process.timer.value -= cycle
                    continue
                if process.is_alive() and timer == IDLE and process.pid not in idle_before:
                    idle_now.add(process.pid)
                    continue
            _kill(process)
            self.pool.remove(process)
        return idle_now

    def stop_at_once(self, signum, frame):
        """SIGTERM to the sentinel (the command's answer to a second stop request)."""
        self.hurry = True
        self.stop_event.set()

    def stop(self):
        """django-q2's stop, bounded by Q_STOP_SECONDS: no new tasks, every worker's run
        handed back to the queue, the results saved; what is still alive then is killed."""
        deadline = time.monotonic() + settings.Q_STOP_SECONDS
        cluster = humanize(self.cluster_id.hex)
        logger.info("Q Cluster %s stopping: runs in hand go back to the queue.", cluster)
        Stat(self).save()
        self.event_out.set()  # the pusher takes no more tasks
        for process in self.pool:
            _signal(process, signal.SIGTERM)
        clean = self._wait(lambda: not self.pusher.is_alive(), deadline)
        clean = clean and self._put_stop_pills(deadline)
        clean = clean and self._wait(lambda: not any(p.is_alive() for p in self.pool), deadline)
        for process in [*self.pool, self.pusher]:
            _kill(process)
        self.pool = []
        if clean:
            self.result_queue.put("STOP")
            self._wait(lambda: not self.monitor.is_alive(), deadline)
        _kill(self.monitor)
        if not clean:
            # A killed process may hold a queue's lock: do not wait on their feeder threads.
            self.task_queue.cancel_join_thread()
            self.result_queue.cancel_join_thread()
            logger.warning(
                "Q Cluster %s: processes still busy after Q_STOP_SECONDS=%s were killed; "
                "the reaper queues their runs again.",
                cluster,
                settings.Q_STOP_SECONDS,
            )
        Stat(self).save()

    def _wait(self, done, deadline):
        """Poll `done` until it holds (True), the deadline passes or a hurry (False)."""
        while not done():
            if self.hurry or time.monotonic() >= deadline:
                return False
            time.sleep(STOP_POLL_SECONDS)
        return True

    def _put_stop_pills(self, deadline):
        """One STOP per worker; the queue may be full until workers take their tasks."""
        for _ in self.pool:
            while True:
                try:
                    self.task_queue.put("STOP", timeout=STOP_POLL_SECONDS)
                    break
                except queue.Full:
                    if self.hurry or time.monotonic() >= deadline:
                        return False
        return True

    def exit_for_restart(self):
        """Let the monitor save the results it has, then end this process."""
        if self.monitor.is_alive():
            self.result_queue.put("STOP")
            self.monitor.join(MONITOR_FLUSH_SECONDS)
        _kill(self.monitor)
        # The queues may be locked for good: do not wait on their feeder threads.
        self.task_queue.cancel_join_thread()
        self.result_queue.cancel_join_thread()
        Stat(self).save()
        db.connections.close_all()
        logger.critical("Q Cluster %s stopped for a restart.", humanize(self.cluster_id.hex))
        os._exit(RESTART_EXIT_CODE)


def _kill(process):
    _signal(process, signal.SIGKILL)
    process.join()


def _signal(process, signum):
    if process.is_alive():
        with suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(process.pid, signum)


class GuardedCluster(Cluster):
    """django-q2's cluster with a GuardedSentinel; remembers a stop request."""

    stop_requested = False

    def start(self):
        # Cluster.start spawns django_q.cluster.Sentinel by name.
        django_q.cluster.Sentinel = GuardedSentinel
        return super().start()

    def sig_handler(self, signum, frame):
        if GuardedCluster.stop_requested:
            # A second request while the first waits for the sentinel: stop now.
            if self.sentinel is not None:
                _signal(self.sentinel, signal.SIGTERM)
            return
        GuardedCluster.stop_requested = True
        super().sig_handler(signum, frame)

    def wants_restart(self):
        self.sentinel.join()
        return self.sentinel.exitcode == RESTART_EXIT_CODE and not self.stop_requested


def release_tasks_taken_since(started):
    """Make the ORM broker's tasks taken since `started` deliverable again.

    A task taken from the broker is locked for Q_CLUSTER's `retry` seconds;
    those a cluster took and never ran would wait that long (45 minutes by
    default). Releasing them may redeliver a task another cluster is running:
    harmless, the run's claim lets only one delivery execute it.
    Returns how many were released (none with the Redis broker: it has no locks).
    """
    if not Conf.ORM:
        return 0
    taken_after = started + timedelta(seconds=Conf.RETRY)
    return (
        OrmQ.objects.using(Conf.ORM)
        .filter(key=Conf.CLUSTER_NAME, lock__gte=taken_after)
        .update(lock=timezone.now())
    )

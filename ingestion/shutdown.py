"""A stop of the queue cluster reaches the run in hand, which goes back to the queue.

django-q2 lets each worker finish its task when the cluster stops, however long
that takes (docs/django-q2-notes.md): a playlist of 10,000 tracks kept `make
run` waiting well over 40 s. Instead the cluster's sentinel (ingestion.cluster)
sends every worker SIGTERM, and the handler installed here raises StopRequested
inside a run's work (`interruptible`): reading Spotify stops at once (a wait on
a socket is cut short), a load in progress rolls back with its transaction, and
ingestion.runs hands the run back to the queue. Outside that work the signal is
only remembered: a worker handing back a result finishes doing so, and the next
task it takes is handed back unclaimed (ingestion.tasks).
"""

import signal
from contextlib import contextmanager


class StopRequested(BaseException):  # noqa: N818 - a request, not an error
    """The queue cluster is stopping: put the run down and hand it back.

    A BaseException, as KeyboardInterrupt is, so that code which turns any
    Exception into a failed run lets it through.
    """


class _Worker:
    stop_requested = False
    in_run = False  # inside `interruptible`: the signal may stop the work at once


def handle_stop_requests():
    """Make SIGTERM stop this process's run in hand (called in each worker)."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum, frame):
    _Worker.stop_requested = True
    if _Worker.in_run:
        _Worker.in_run = False
        raise StopRequested


def stop_requested():
    """Whether this process was asked to stop (its next task is handed back)."""
    return _Worker.stop_requested


@contextmanager
def interruptible():
    """A run's work, which a stop request cuts short with StopRequested."""
    if _Worker.stop_requested:
        raise StopRequested
    _Worker.in_run = True
    try:
        yield
    finally:
        _Worker.in_run = False

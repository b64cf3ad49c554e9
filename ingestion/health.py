"""Is the queue making progress? What the admin and `manage.py queue_health` say.

Progress is any run starting, beating its heartbeat or ending. The queue is
stalled when runs are waiting (queued and due) and nothing has progressed for
QUEUE_STALL_MINUTES since the oldest of them became due: no cluster is running,
or it is frozen.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, Min
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from ingestion.models import IngestRun, RunStatus


@dataclass(frozen=True)
class QueueHealth:
    waiting: int  # runs queued and due
    quiet_since: datetime | None  # when the queue last progressed, or the oldest became due
    now: datetime

    @property
    def quiet_minutes(self):
        if self.quiet_since is None:
            return 0
        return int((self.now - self.quiet_since).total_seconds() // 60)

    @property
    def stalled(self):
        if not self.waiting:
            return False
        return self.now - self.quiet_since >= timedelta(minutes=settings.QUEUE_STALL_MINUTES)

    @property
    def message(self):
        runs = f"{self.waiting} run{'' if self.waiting == 1 else 's'}"
        if self.stalled:
            return (
                f"The queue has made no progress for {self.quiet_minutes} minutes while {runs} "
                "wait. Is the queue cluster (`manage.py qcluster`) running? Its log says why "
                "it stopped; restarting it lets the runs go on."
            )
        if self.waiting:
            return f"The queue is working: {runs} waiting, the last progress {self._ago}."
        return "The queue is idle: no run is waiting."

    @property
    def _ago(self):
        minutes = self.quiet_minutes
        return "less than a minute ago" if minutes < 1 else f"{minutes} minutes ago"


def queue_health(now=None):
    now = now or timezone.now()
    due = IngestRun.objects.filter(status=RunStatus.QUEUED).exclude(not_before__gt=now)
    waiting = due.count()
    if not waiting:
        return QueueHealth(waiting=0, quiet_since=None, now=now)
    # A retried run waits from its not_before, a new one from when it was queued.
    oldest_due = due.aggregate(at=Min(Greatest("queued_at", Coalesce("not_before", "queued_at"))))[
        "at"
    ]
    progress = IngestRun.objects.aggregate(
        started=Max("started_at"), beat=Max("heartbeat_at"), finished=Max("finished_at")
    )
    quiet_since = max([oldest_due, *(at for at in progress.values() if at is not None)])
    return QueueHealth(waiting=waiting, quiet_since=quiet_since, now=now)

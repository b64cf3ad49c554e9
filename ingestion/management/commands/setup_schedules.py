"""`manage.py setup_schedules`: create or update the queue's schedules, idempotently.

Run on every deploy/start (make run and the container entrypoint do): schedules
are matched by name and updated in place, never duplicated. Not a data
migration: django-q2 would fire a schedule created there at once.
"""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_q.models import Schedule

DAILY_REFRESH = "daily-refresh"
REAPER = "reap-stale-runs"


class Command(BaseCommand):
    help = "Create or update the daily refresh and the stale-run reaper schedules."

    def handle(self, *args, **options):
        refresh_at = next_daily_run(settings.INGEST_DAILY_REFRESH_AT)
        self.save(
            DAILY_REFRESH,
            func="ingestion.tasks.refresh_tracked_playlists",
            schedule_type=Schedule.DAILY,
            minutes=None,
            # Changing the time must move the next run too: django-q2 does not
            # recompute next_run when a schedule is edited.
            next_run=refresh_at,
        )
        self.save(
            REAPER,
            func="ingestion.tasks.reap_stale_runs",
            schedule_type=Schedule.MINUTES,
            minutes=settings.INGEST_REAPER_MINUTES,
            next_run=timezone.now(),
        )
        local_refresh_at = timezone.localtime(refresh_at)
        self.stdout.write(
            f"Schedules ready: {DAILY_REFRESH} next at {local_refresh_at:%Y-%m-%d %H:%M %Z}, "
            f"{REAPER} every {settings.INGEST_REAPER_MINUTES} min."
        )

    def save(self, name, **fields):
        Schedule.objects.update_or_create(name=name, defaults={**fields, "repeats": -1})


def next_daily_run(hh_mm, *, now=None):
    """The next time `hh_mm` ("03:00") occurs in the current time zone."""
    try:
        at = dt.time.fromisoformat(hh_mm)
    except ValueError as error:
        raise CommandError(
            f"INGEST_DAILY_REFRESH_AT={hh_mm!r} is not a time of day; use HH:MM, e.g. 03:00."
        ) from error
    now = timezone.localtime(now)
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + dt.timedelta(days=1)

"""What a monitor asks: /healthz (is everything up?) and /metrics (Prometheus).

Every figure is computed from the database (and the queue cluster's stats in the
shared cache) when it is asked for, so it is the same whichever web process
answers and counts the work of every worker, on every machine.
"""

import hmac
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Q, Sum
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.status import Stat
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ingestion.health import queue_health
from ingestion.models import IngestRun, RunStatus, Trigger

logger = logging.getLogger(__name__)

REFRESHED = (RunStatus.SUCCEEDED, RunStatus.UNCHANGED)


# --- /healthz ------------------------------------------------------------------------------
def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def check_cache():
    key = "healthz:probe"
    value = str(time.monotonic())
    cache.set(key, value, 30)
    if cache.get(key) != value:
        raise RuntimeError("the cache did not return what was just stored in it")
    return {}


def queue_heartbeat_age(now=None):
    """Seconds since the freshest queue cluster last reported itself (its stats
    in the shared cache or Redis), or None when no cluster is reporting."""
    stamps = [stat.timestamp for stat in Stat.get_all() if stat.timestamp]
    if not stamps:
        return None
    now = now or timezone.now()
    return max(0.0, (now - max(stamps)).total_seconds())


def check_queue():
    """Up when a cluster reports itself and the queue is not stalled (runs waiting
    with no progress for QUEUE_STALL_MINUTES, ingestion.health: one definition)."""
    age = queue_heartbeat_age()
    if age is None:
        raise RuntimeError("no queue cluster is reporting: is `manage.py qcluster` running?")
    if age > settings.HEALTHZ_QUEUE_MAX_AGE_SECONDS:
        raise RuntimeError(
            f"the queue cluster last reported {age:.0f} s ago "
            f"(more than HEALTHZ_QUEUE_MAX_AGE_SECONDS={settings.HEALTHZ_QUEUE_MAX_AGE_SECONDS})"
        )
    progress = queue_health()
    if progress.stalled:
        raise RuntimeError(progress.message)
    return {"heartbeat_age_seconds": round(age, 1), "waiting": progress.waiting}


CHECKS = {"database": check_database, "cache": check_cache, "queue": check_queue}


def health():
    """{"status": "ok"|"down", "checks": {name: {"status": …, …}}}."""
    checks = {}
    for name, check in CHECKS.items():
        try:
            checks[name] = {"status": "ok", **check()}
        except Exception as error:  # any failure is "down", with what it said
            logger.warning("health check %s failed: %s", name, error)
            checks[name] = {"status": "down", "error": str(error)}
    down = any(check["status"] != "ok" for check in checks.values())
    return {"status": "down" if down else "ok", "checks": checks}


@never_cache
@require_GET
def healthz(request):
    report = health()
    return JsonResponse(report, status=503 if report["status"] != "ok" else 200)


# --- /metrics ------------------------------------------------------------------------------
class WarehouseCollector:
    """The metrics, read from the runs table at scrape time."""

    def collect(self):
        now = timezone.now()
        yield self._runs()
        yield self._durations()
        yield from self._spotify()
        yield self._rows()
        yield from self._queue(now)
        yield self._last_refresh()

    @staticmethod
    def _runs():
        family = GaugeMetricFamily(
            "playlist_analytics_runs",
            "Runs in the history by kind and status",
            labels=["kind", "status"],
        )
        for row in IngestRun.objects.values("kind", "status").annotate(n=Count("pk")):
            family.add_metric([row["kind"], row["status"]], row["n"])
        return family

    @staticmethod
    def _durations():
        """Finished runs' time from their last start to their end, as a summary."""
        took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        rows = (
            IngestRun.objects.filter(finished_at__isnull=False, started_at__isnull=False)
            .values("kind")
            .annotate(n=Count("pk"), total=Sum(took))
        )
        family = SummaryMetricFamily(
            "playlist_analytics_run_duration_seconds",
            "Finished runs' time from their last attempt's start to their end",
            labels=["kind"],
        )
        for row in rows:
            total = row["total"] or timedelta(0)
            family.add_metric([row["kind"]], count_value=row["n"], sum_value=total.total_seconds())
        return family

    @staticmethod
    def _spotify():
        totals = IngestRun.objects.aggregate(
            calls=Sum("api_calls"),
            rate_limited=Sum("rate_limit_waits"),
            quota=Count("pk", filter=Q(quota_exceeded=True)),
        )
        calls = CounterMetricFamily(
            "playlist_analytics_spotify_api_calls", "Spotify Web API calls made by runs"
        )
        calls.add_metric([], totals["calls"] or 0)
        refusals = CounterMetricFamily(
            "playlist_analytics_spotify_429",
            "Spotify 429 answers by reason: rate_limit (waited out, run rescheduled) "
            "or quota_exceeded (the app's quota: runs failed)",
            labels=["reason"],
        )
        refusals.add_metric(["rate_limit"], totals["rate_limited"] or 0)
        refusals.add_metric(["quota_exceeded"], totals["quota"])
        return calls, refusals

    @staticmethod
    def _rows():
        totals = IngestRun.objects.aggregate(
            inserted=Sum("rows_inserted"), updated=Sum("rows_updated"), removed=Sum("rows_removed")
        )
        family = CounterMetricFamily(
            "playlist_analytics_rows_loaded", "Warehouse rows written by runs", labels=["change"]
        )
        for change, value in totals.items():
            family.add_metric([change], value or 0)
        return family

    @staticmethod
    def _queue(now):
        due = IngestRun.objects.filter(status=RunStatus.QUEUED).exclude(not_before__gt=now)
        waiting = due.aggregate(n=Count("pk"), oldest=Min("queued_at"))
        depth = GaugeMetricFamily(
            "playlist_analytics_queue_depth", "Runs queued and due, waiting for a worker"
        )
        depth.add_metric([], waiting["n"])
        oldest = GaugeMetricFamily(
            "playlist_analytics_queue_oldest_age_seconds",
            "Age of the oldest run waiting for a worker (0 when none waits)",
        )
        oldest.add_metric([], (now - waiting["oldest"]).total_seconds() if waiting["n"] else 0)
        heartbeat = GaugeMetricFamily(
            "playlist_analytics_queue_heartbeat_age_seconds",
            "Seconds since a queue cluster last reported itself (absent when none does)",
        )
        age = queue_heartbeat_age(now)
        if age is not None:
            heartbeat.add_metric([], age)
        return depth, oldest, heartbeat

    @staticmethod
    def _last_refresh():
        last = IngestRun.objects.filter(trigger=Trigger.SCHEDULE, status__in=REFRESHED).aggregate(
            at=Max("finished_at")
        )["at"]
        family = GaugeMetricFamily(
            "playlist_analytics_last_daily_refresh_timestamp_seconds",
            "When a run of the daily refresh last ended well (Unix time; 0: never)",
        )
        family.add_metric([], last.timestamp() if last else 0)
        return family


def _authorised(request):
    expected = f"Bearer {settings.METRICS_TOKEN}"
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), expected.encode())


@never_cache
@require_GET
def metrics(request):
    """Off (404) unless METRICS_TOKEN is set; then only with that bearer token."""
    if not settings.METRICS_TOKEN:
        raise Http404("Metrics are off: set METRICS_TOKEN to turn them on.")
    if not _authorised(request):
        response = HttpResponse("A valid 'Authorization: Bearer <METRICS_TOKEN>' is needed.\n")
        response.status_code = 401
        response["WWW-Authenticate"] = "Bearer"
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WarehouseCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

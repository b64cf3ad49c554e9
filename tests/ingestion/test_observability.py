"""/healthz and /metrics: what they say, computed from the database at request time.

A running queue cluster's heartbeat is covered in test_qcluster.py (a real cluster)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from ingestion.models import IngestRun, Kind, RunStatus, Trigger

pytestmark = pytest.mark.django_db

TOKEN = "a-test-metrics-token"


def test_healthz_without_a_queue_cluster_is_503_and_says_which_part_is_down(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["cache"] == {"status": "ok"}
    assert body["checks"]["queue"]["status"] == "down"
    assert "is `manage.py qcluster` running?" in body["checks"]["queue"]["error"]


def test_healthz_reports_an_unreachable_cache(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing listens
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    cache = response.json()["checks"]["cache"]
    assert cache["status"] == "down" and cache["error"]


def test_healthz_is_exempt_from_the_https_redirect_and_nothing_else_is(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 503  # answered over plain http
    redirected = client.get("/accounts/login/")
    assert redirected.status_code == 301 and redirected["Location"].startswith("https://")
    assert client.get("/metrics").status_code == 301  # the bearer token travels over TLS only


def test_metrics_are_off_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", TOKEN, f"Basic {TOKEN}"])
def test_metrics_need_the_bearer_token(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def make_run(kind=Kind.PLAYLIST, status=RunStatus.SUCCEEDED, took=None, **fields):
    run = IngestRun.objects.create(
        kind=kind, reference="x", trigger=fields.pop("trigger", Trigger.SHELL), status=status
    )
    now = timezone.now()
    updates = dict(fields)
    if took is not None:
        updates |= {"started_at": now - took, "finished_at": now}
    IngestRun.objects.filter(pk=run.pk).update(**updates)
    return run


def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_count_runs_calls_429s_rows_and_the_queue(client, settings):
    now = timezone.now()
    make_run(took=timedelta(seconds=3), api_calls=5, rate_limit_waits=2, rows_inserted=10)
    make_run(took=timedelta(seconds=1), api_calls=2, rows_inserted=4, rows_updated=1)
    make_run(kind=Kind.FILE, status=RunStatus.FAILED, took=timedelta(seconds=2))
    make_run(status=RunStatus.FAILED, quota_exceeded=True, api_calls=1)
    make_run(status=RunStatus.QUEUED, queued_at=now - timedelta(minutes=5))
    make_run(status=RunStatus.QUEUED, not_before=now + timedelta(hours=1))  # not due: not waiting
    refreshed = now - timedelta(hours=3)
    make_run(status=RunStatus.UNCHANGED, trigger=Trigger.SCHEDULE, finished_at=refreshed)
    make_run(status=RunStatus.FAILED, trigger=Trigger.SCHEDULE, finished_at=now)  # not a success

    samples = scrape(client, settings)

    def value(name, **labels):
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("playlist_analytics_runs", kind="playlist", status="succeeded") == 2
    assert value("playlist_analytics_runs", kind="playlist", status="failed") == 2
    assert value("playlist_analytics_runs", kind="playlist", status="queued") == 2
    assert value("playlist_analytics_runs", kind="file", status="failed") == 1
    assert value("playlist_analytics_run_duration_seconds_count", kind="playlist") == 2
    assert value("playlist_analytics_run_duration_seconds_sum", kind="playlist") == pytest.approx(4)
    assert value("playlist_analytics_run_duration_seconds_sum", kind="file") == pytest.approx(2)
    assert value("playlist_analytics_spotify_api_calls_total") == 8
    assert value("playlist_analytics_spotify_429_total", reason="rate_limit") == 2
    assert value("playlist_analytics_spotify_429_total", reason="quota_exceeded") == 1
    assert value("playlist_analytics_rows_loaded_total", change="inserted") == 14
    assert value("playlist_analytics_rows_loaded_total", change="updated") == 1
    assert value("playlist_analytics_queue_depth") == 1
    assert 300 <= value("playlist_analytics_queue_oldest_age_seconds") < 360
    assert value("playlist_analytics_last_daily_refresh_timestamp_seconds") == pytest.approx(
        refreshed.timestamp()
    )
    # No cluster reports itself here: the heartbeat age is absent, not a made-up number.
    assert not any(name == "playlist_analytics_queue_heartbeat_age_seconds" for name, _ in samples)


def test_metrics_of_an_empty_history_are_zeros(client, settings):
    samples = scrape(client, settings)
    assert samples[("playlist_analytics_queue_depth", ())] == 0
    assert samples[("playlist_analytics_queue_oldest_age_seconds", ())] == 0
    assert samples[("playlist_analytics_last_daily_refresh_timestamp_seconds", ())] == 0
    assert samples[("playlist_analytics_spotify_api_calls_total", ())] == 0

"""Ingest runs through a real queue cluster: throughput and queue overhead.

    .venv/bin/python -m benchmarks.bench_queue [--playlists 50] [--tracks 200]
        [--workers 2] [--database sqlite|postgresql|both]
        [--brokers orm,redis] [--clusters 1,2] [--redis-host 127.0.0.1:6379]

Per database (a throwaway one) and per broker and number of clusters: a
sandbox with `--playlists` fresh playlists of `--tracks` tracks (overlapping
artists, as in real libraries) owned by its demo user, that many real
`manage.py qcluster` children (separate processes on one database and one
broker, as on separate machines) with `--workers` workers each, then
1. all playlists queued at once: total time (first enqueue → last finish), runs
   per minute, enqueue → start per run (mostly waiting for a free worker), and
   the checks: every run succeeded at its first attempt, each playlist was
   fetched from the sandbox exactly once (no duplicate execution), and no
   "database is locked" anywhere in the cluster's log;
2. the queue's own overhead: runs queued one at a time on an idle cluster,
   enqueue → start p50/p95.
"""

import argparse
import base64
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from benchmarks._common import (
    REPO_ROOT,
    drop_pg_database,
    format_table,
    log,
    machine_info,
    recreate_pg_database,
    run_parent_or_child,
)

PG_DATABASE = "bench_queue"
SEQUENTIAL_RUNS = 10
WAIT_LIMIT_SECONDS = 1800


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--playlists", type=int, default=50)
    parser.add_argument("--tracks", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--brokers", default="orm,redis", help="comma-separated: orm, redis")
    parser.add_argument("--clusters", default="1,2", help="comma-separated cluster counts")
    parser.add_argument("--redis-host", default="127.0.0.1:6379")
    run_parent_or_child(parser, None, parent=parent, child=child)


# --- parent: one child per database ------------------------------------------------------
def parent(args):
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        for database in databases:
            url = _database_url(database, Path(tmp))
            log(f"{database}: {args.playlists} playlists, {args.workers} workers")
            results[database] = _run_child(args, url, Path(tmp) / f"{database}.json")
            if database == "postgresql":
                drop_pg_database(PG_DATABASE)
    print(_report(args, results))


def _database_url(database, tmp):
    if database == "sqlite":
        return f"sqlite:///{tmp / 'bench-queue.sqlite3'}"
    recreate_pg_database(PG_DATABASE)
    return f"postgres://postgres@127.0.0.1:5432/{PG_DATABASE}"


def _app_env(database_url, **extra):
    """The real settings (not the test ones: tasks must go through the broker)."""
    return {
        "PATH": os.environ["PATH"],
        "ENV_FILE": os.devnull,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "SPOTIFY_TOKEN_KEY": BENCH_TOKEN_KEY,
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


BENCH_SECRET_KEY = os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50)
# A valid Fernet key (32 url-safe base64 bytes), shared with the child the same way.
BENCH_TOKEN_KEY = (
    os.environ.get("BENCH_TOKEN_KEY") or base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
)


def _run_child(args, database_url, result_path):
    command = [
        sys.executable, "-m", "benchmarks.bench_queue", "--child", "--result", str(result_path),
        "--playlists", str(args.playlists), "--tracks", str(args.tracks),
        "--workers", str(args.workers), "--brokers", args.brokers,
        "--clusters", args.clusters, "--redis-host", args.redis_host,
    ]  # fmt: skip
    env = _app_env(database_url, BENCH_SECRET_KEY=BENCH_SECRET_KEY, BENCH_TOKEN_KEY=BENCH_TOKEN_KEY)
    completed = subprocess.run(command, cwd=REPO_ROOT, env=env)
    if completed.returncode:
        raise SystemExit(f"the {database_url} child failed ({completed.returncode})")
    return json.loads(result_path.read_text())


# --- child: one database -------------------------------------------------------------------
def child(args):
    import django

    sys.path.insert(0, str(REPO_ROOT))
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    from devtools.sandbox import SandboxServer

    cases = []
    with SandboxServer() as sandbox, tempfile.TemporaryDirectory() as tmp:
        for broker in args.brokers.split(","):
            with _broker(broker, args.redis_host) as broker_env:
                for clusters in map(int, args.clusters.split(",")):
                    log(f"  {broker} broker, {clusters} cluster(s)")
                    case = _case(sandbox, args, broker_env, clusters, Path(tmp))
                    cases.append({"broker": broker, "clusters": clusters, **case})
    result = {"vendor": connection.vendor, "cases": cases, "machine": machine_info()}
    Path(args.result).write_text(json.dumps(result, indent=2))


def _case(sandbox, args, broker_env, clusters, tmp):
    """Fresh playlists through `clusters` clusters: the burst, then the idle overhead."""
    playlist_ids = _make_playlists(sandbox, args.playlists, args.tracks)
    logs = [tmp / f"qcluster-{broker_env['Q_BROKER']}-{clusters}-{n}.log" for n in range(clusters)]
    started = [_start_cluster(sandbox, args.workers, path, broker_env) for path in logs]
    try:
        _wait_until_ready(clusters)
        burst = _burst(sandbox, playlist_ids)
        overhead = _sequential_overhead(sandbox, args.tracks)
    finally:
        for cluster in started:
            _stop_cluster(cluster)
    log_text = "".join(path.read_text(errors="replace") for path in logs)
    burst["database_locked_in_log"] = log_text.count("database is locked")
    return {"burst": burst, "overhead": overhead}


@contextmanager
def _broker(name, redis_host):
    """Point this process's django-q at the broker; yields the clusters' environment.
    Redis: a database of its own (claimed with SET NX, emptied afterwards)."""
    from django_q.conf import Conf

    if name == "orm":
        yield {"Q_BROKER": "orm"}
        return
    import redis

    for number in range(15, 0, -1):
        url = f"redis://{redis_host}/{number}"
        connection = redis.from_url(url)
        if connection.set("playlist-analytics:bench-queue", os.getpid(), nx=True, ex=3600):
            break
        connection.close()
    else:
        raise SystemExit(f"every Redis database 1–15 at {redis_host} is in use")
    orm, Conf.ORM, Conf.REDIS = Conf.ORM, None, url
    try:
        yield {"Q_BROKER": "redis", "REDIS_URL": url}
    finally:
        Conf.ORM = orm
        connection.flushdb()
        connection.close()


def _make_playlists(sandbox, count, tracks):
    catalog_tracks = sandbox.state.catalog.track_ids
    stride = len(catalog_tracks) // (count + 1)
    return [
        sandbox.state.create_playlist(
            "sandbox-demo", f"Bench {n}", catalog_tracks[n * stride : n * stride + tracks]
        )
        for n in range(count)
    ]


def _start_cluster(sandbox, workers, log_path, broker_env):
    from django.db import connection

    settings = connection.settings_dict
    env = _app_env(
        _url_of(settings),
        Q_WORKERS=str(workers),
        SPOTIFY_API_BASE_URL=sandbox.api_base_url,
        SPOTIFY_ACCOUNTS_BASE_URL=sandbox.accounts_base_url,
        SPOTIFY_CLIENT_ID="sandbox-client-id",
        SPOTIFY_CLIENT_SECRET="sandbox-client-secret",
        SPOTIFY_REFRESH_TOKEN="sandbox-refresh-sandbox-demo",
        SPOTIFY_MAX_REQUESTS_PER_SECOND="0",
        **broker_env,
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _url_of(settings):
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


def _wait_until_ready(clusters):
    """Until every cluster reports itself (its first stat reaches the shared cache)."""
    from django_q.status import Stat

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(Stat.get_all()) < clusters:
        time.sleep(0.2)
    time.sleep(1)


def _stop_cluster(cluster):
    os.killpg(cluster.pid, signal.SIGKILL)
    cluster.wait()


def _request_all(playlist_ids):
    from django_q.conf import Conf

    from ingestion.models import Trigger
    from ingestion.runs import request_ingest

    Conf.SYNC = False  # the settings say so already; be explicit: through the broker
    return [request_ingest(pid, trigger=Trigger.SHELL)[0].pk for pid in playlist_ids]


def _wait_for_runs(run_ids):
    from ingestion.models import IngestRun

    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    runs = IngestRun.objects.filter(pk__in=run_ids)
    while runs.active().exists():
        if time.monotonic() > deadline:
            raise SystemExit("runs did not finish in time; see the cluster log")
        time.sleep(0.1)
    return list(runs)


def _burst(sandbox, playlist_ids):
    from django_q.models import Failure

    sandbox.state.reset_counters()
    failures_before = Failure.objects.count()
    run_ids = _request_all(playlist_ids)
    runs = _wait_for_runs(run_ids)
    first_queued = min(run.queued_at for run in runs)
    last_finished = max(run.finished_at for run in runs)
    total = (last_finished - first_queued).total_seconds()
    waits = [(run.started_at - run.queued_at).total_seconds() for run in runs]
    statuses = sorted({run.status for run in runs})
    return {
        "runs": len(runs),
        "statuses": statuses,
        "attempts_above_one": sum(run.attempt > 1 for run in runs),
        "playlist_fetches": sandbox.state.stats().get("playlist", 0),
        "django_q_failures": Failure.objects.count() - failures_before,
        "total_seconds": round(total, 2),
        "runs_per_minute": round(len(runs) / total * 60, 1),
        "enqueue_to_start_p50": round(statistics.median(waits), 3),
        "enqueue_to_start_p95": round(_p95(waits), 3),
    }


def _sequential_overhead(sandbox, tracks):
    """Enqueue → start on an idle cluster: the queue's own latency."""
    ids = _make_playlists(sandbox, SEQUENTIAL_RUNS, min(tracks, 50))
    waits = []
    for playlist_id in ids:
        (run,) = _wait_for_runs(_request_all([playlist_id]))
        waits.append((run.started_at - run.queued_at).total_seconds())
    return {
        "runs": len(waits),
        "p50": round(statistics.median(waits), 3),
        "p95": round(_p95(waits), 3),
    }


def _p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# --- report --------------------------------------------------------------------------------
def _report(args, results):
    rows = []
    for database, result in results.items():
        for case in result["cases"]:
            rows.append(_row(database, case))
    headers = [
        "database", "broker", "clusters", "runs", "statuses", "total s", "runs/min",
        "burst enqueue→start p50/p95 s", "idle overhead p50/p95 s",
        "playlist fetches", "retried runs", "'database is locked'", "django-q failures",
    ]  # fmt: skip
    machine = next(iter(results.values()))["machine"]
    return (
        f"{args.playlists} playlists × {args.tracks} tracks, {args.workers} workers per cluster; "
        f"machine: {json.dumps(machine)}\n" + format_table(headers, rows)
    )


def _row(database, case):
    burst, overhead = case["burst"], case["overhead"]
    return [
        database,
        case["broker"],
        case["clusters"],
        burst["runs"],
        ",".join(burst["statuses"]),
        burst["total_seconds"],
        burst["runs_per_minute"],
        f"{burst['enqueue_to_start_p50']} / {burst['enqueue_to_start_p95']}",
        f"{overhead['p50']} / {overhead['p95']}",
        burst["playlist_fetches"],
        burst["attempts_above_one"],
        burst["database_locked_in_log"],
        burst["django_q_failures"],
    ]


if __name__ == "__main__":
    main()

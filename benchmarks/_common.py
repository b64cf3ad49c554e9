"""Shared plumbing for the benchmarks: throwaway databases, Django set-up, timing.

Each benchmark parent process re-runs its own module in a child process per
database, with DATABASE_URL pointing at a throwaway database, so every child
starts from a clean Django set-up. Children report JSON to a file; the parent
prints the combined table.
"""

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
# BENCH_PG_DATABASE: another name, so that two people benchmarking on one server
# never drop each other's database.
PG_DATABASE = os.environ.get("BENCH_PG_DATABASE", "bench_playlist_analytics")


# --- throwaway databases -------------------------------------------------------------
def pg_url(name=PG_DATABASE):
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def recreate_pg_database(name=PG_DATABASE):
    """Drop and create the throwaway database `name` (and nothing else)."""
    _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")


def drop_pg_database(name=PG_DATABASE):
    _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def throwaway_database(database, tmp, *, keep=False):
    """The URL of a fresh database for a child: PostgreSQL's throwaway one (dropped
    afterwards unless `keep`) or a SQLite file in `tmp`."""
    if database != "postgresql":
        yield f"sqlite:///{tmp / 'bench.sqlite3'}"
        return
    recreate_pg_database()
    try:
        yield pg_url()
    finally:
        if not keep:
            drop_pg_database()


def _admin_execute(*statements):
    import psycopg2

    admin = psycopg2.connect(dbname="postgres", user=PG_USER, host=PG_HOST, port=PG_PORT)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        admin.close()


@contextmanager
def temp_dir(prefix):
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def child_env(database_url):
    """Environment of a benchmark child: its own database, production-like DEBUG."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url
    env["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
    # DEBUG=true makes Django log every query (CursorDebugWrapper): it would tax the
    # per-row ORM baseline and, less, everything else. Benchmarks run with it off.
    env["DEBUG"] = "false"
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_child(module, database_url, args, result_path):
    """Run `python -m module --child … --result result_path`; return its JSON result."""
    command = [sys.executable, "-m", module, *args, "--child", "--result", str(result_path)]
    completed = subprocess.run(command, cwd=REPO_ROOT, env=child_env(database_url))
    if completed.returncode != 0:
        raise SystemExit(f"{module} child for {database_url} failed ({completed.returncode})")
    return json.loads(Path(result_path).read_text())


def setup_django():
    """django.setup() for a child (its environment was prepared by `child_env`)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    os.environ.setdefault("DEBUG", "false")
    sys.path.insert(0, str(REPO_ROOT))
    import gc

    import django

    django.setup()
    gc.freeze()  # as the web process does after its start-up (config/wsgi.py)


def migrate():
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- timing --------------------------------------------------------------------------
class Timer:
    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.started


def median(values):
    return statistics.median(values) if values else float("nan")


def log(message):
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- machine -------------------------------------------------------------------------
def machine_info():
    info = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
    }
    try:
        import psycopg2

        connection = psycopg2.connect(dbname="postgres", user=PG_USER, host=PG_HOST, port=PG_PORT)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
        connection.close()
    except Exception as error:  # noqa: BLE001 - informational only
        info["postgresql"] = f"unavailable ({error.__class__.__name__})"
    return info


def format_table(headers, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [
        "| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    for row in rows:
        lines.append(
            "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        )
    return "\n".join(lines)


def run_parent_or_child(parser, argv, *, parent, child):
    """Parse `argv`, with the hidden options `run_child` passes a script's child
    process, and run the child's part (measure, write the result) or the parent's."""
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return child(args) if args.child else parent(args)

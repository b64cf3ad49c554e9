"""No file the importer accepts makes a worker exceed WORKER_RSS_LIMIT.

Each import runs the way a queue worker runs it (`ingestion.tasks.run_ingest`)
in a child process against this test database, and the child's peak resident
set size is its own high-water mark (VmHWM in /proc/self/status) when it ends. The hostile files
are generated here, small on disk.
"""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from devtools.synthetic.exports import (
    CLASSIC_HEADER,
    classic_row,
    export_playlist,
    export_track_item,
)
from ingestion import runs
from ingestion.models import RunStatus, Trigger

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WORKER_RSS_LIMIT = 400 * 1024 * 1024
MEMBER_BYTES = 1024 * 1024  # at the ratio check's threshold, which skips it


def database_url():
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        return (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return f"sqlite:///{db['NAME']}"


def peak_rss_of_worker_running(run):
    """Execute `run` in a fresh worker-like process; its peak RSS in bytes."""
    env = {
        "PATH": os.environ["PATH"],
        "ENV_FILE": os.devnull,
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "localhost",
        # config.test_settings put it in the environment.
        "SPOTIFY_TOKEN_KEY": os.environ["SPOTIFY_TOKEN_KEY"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "IMPORT_MAX_DECOMPRESSED_BYTES": str(settings.IMPORT_MAX_DECOMPRESSED_BYTES),
    }
    # The child reports its own high-water mark (VmHWM): the kernel's rusage
    # maxrss of a forked child also counts the pytest process it was forked
    # from, which grows with the suite.
    code = (
        "import django; django.setup(); "
        f"from ingestion.tasks import run_ingest; run_ingest({run.pk}); "
        "print([line for line in open('/proc/self/status') if line.startswith('VmHWM')][0])"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert child.returncode == 0, child.stderr
    (line,) = [line for line in child.stdout.splitlines() if line.startswith("VmHWM")]
    return int(line.split()[1]) * 1024  # "VmHWM:  123456 kB"


def run_of(path):
    return runs.request_file_import(path, trigger=Trigger.SHELL, enqueue=False)


def one_megabyte_member(number):
    """A Playlist<number>.json just under the ratio check's threshold, of
    identical items: a few kilobytes compressed."""
    item = export_track_item(number)
    size = len(json.dumps(item)) + 2
    playlist = export_playlist(f"Playlist {number}", [item] * ((MEMBER_BYTES - 300) // size))
    data = json.dumps({"playlists": [playlist]}).encode()
    assert len(data) <= MEMBER_BYTES
    return data


def zip_of_small_members(path, count):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for number in range(1, count + 1):
            archive.writestr(
                f"Spotify Account Data/Playlist{number}.json", one_megabyte_member(number)
            )
    return path


def test_a_zip_of_195_one_megabyte_members_stays_within_the_memory_limit(tmp_path):
    path = zip_of_small_members(tmp_path / "export.zip", 195)
    assert path.stat().st_size < 2 * 1024 * 1024  # small on disk, 195 MB inflated
    run = run_of(path)
    peak = peak_rss_of_worker_running(run)
    print(f"peak RSS {peak / 2**20:.0f} MB")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "IMPORT_MAX_DECOMPRESSED_BYTES" in run.error
    assert peak < WORKER_RSS_LIMIT


def test_the_biggest_zip_accepted_stays_within_the_memory_limit(tmp_path):
    count = settings.IMPORT_MAX_DECOMPRESSED_BYTES // MEMBER_BYTES
    path = zip_of_small_members(tmp_path / "export.zip", count)
    run = run_of(path)
    peak = peak_rss_of_worker_running(run)
    print(f"peak RSS {peak / 2**20:.0f} MB")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.playlists_done == count
    assert peak < WORKER_RSS_LIMIT


def biggest_export_json(folder, budget):
    items, length = [], 1000  # room for the playlist around the items
    while length < budget:
        items.append(export_track_item(len(items)))
        length += len(json.dumps(items[-1])) + 2  # and ", "
    items.pop()
    path = folder / "Playlist1.json"
    path.write_text(json.dumps({"playlists": [export_playlist("Everything", items)]}))
    return path, len(items)


def biggest_exportify_csv(folder, budget):
    header = ",".join(CLASSIC_HEADER) + "\n"
    lines, length = [], len(header)
    while length < budget:
        line = ",".join(classic_row(len(lines)).values()) + "\n"
        lines.append(line)
        length += len(line)
    lines.pop()
    path = folder / "Everything.csv"
    path.write_text(header + "".join(lines))
    return path, len(lines)


@pytest.mark.parametrize("build", [biggest_export_json, biggest_exportify_csv])
def test_the_biggest_playlist_file_accepted_stays_within_the_memory_limit(tmp_path, build):
    """One playlist of distinct tracks filling the whole budget: the most one
    file can hold for the parser, the transform and the loader at once."""
    budget = settings.IMPORT_MAX_DECOMPRESSED_BYTES
    path, tracks = build(tmp_path, budget)
    assert budget - 2000 < path.stat().st_size <= budget
    run = run_of(path)
    peak = peak_rss_of_worker_running(run)
    print(f"peak RSS {peak / 2**20:.0f} MB")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.tracks_loaded == tracks
    assert peak < WORKER_RSS_LIMIT

"""Peak memory of a streamed download, measured in a process of its own.

    python -m tests.dashboard.memory_probe prepare DB ROWS   # a SQLite warehouse of ROWS rows
    python -m tests.dashboard.memory_probe measure DB csv,zip  # {"csv": {"growth_mb": …}, …}

`measure` signs in as the playlist's owner, warms up (one small download, so imports and
caches are in the baseline), then reads each whole download (a playlist format, "zip"
for the library, or "materialised": the rows in one list, the control that shows what
holding every row costs) and reports how far the peak resident set grew beyond the baseline.
"""

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

PLAYLIST_ID = "memory-probe"
USERNAME = "probe"


def setup(database):
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.test_settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    import django

    django.setup()


def prepare(database, count):
    setup(database)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from accounts import library
    from warehouse.models import Playlist
    from warehouse.schema import AUDIO_FEATURE_NAMES, COLUMN_NAMES, TABLE

    WHOLE = ("audio_key", "audio_mode", "audio_time_signature")

    call_command("migrate", verbosity=0)
    now = datetime(2025, 1, 1, tzinfo=UTC).isoformat()
    Playlist.objects.create(playlist_id=PLAYLIST_ID, name="Probe", snapshot_seen_at=now)
    user = get_user_model().objects.create_user(USERNAME, password="unused-password-123")
    library.grant(user.pk, PLAYLIST_ID, add=True)

    # The rows are made by SQLite itself (a counter CTE): building 100,000 of them in
    # Python took most of this step's time. The columns only Exportify files fill (label,
    # audio features) are filled, as in the largest download, an Exportify playlist's.
    values = {
        "playlist_id": f"'{PLAYLIST_ID}'",
        "track_id": "printf('t%021d', n)",
        "track_name": "'Track number ' || n || ' with a longish name'",
        "track_duration_ms": "200000 + n",
        "track_duration_sec": "(200000 + n) / 1000.0",
        "track_genres": '\'["indie rock", "dream pop"]\'',
        "track_isrc": "printf('USABC%07d', n)",
        "track_explicit": "n % 2",
        "album_id": "printf('b%021d', n % 5000)",
        "album_name": "'Album ' || (n % 5000)",
        "album_release_date": "'1999-04-01'",
        "album_release_date_precision": "'day'",
        "release_year": "1999",
        "artist_ids": "printf('[\"a%021d\"]', n % 3000)",
        "artist_names": "printf('[\"Artist %d\"]', n % 3000)",
        "position": "n",
        "occurrences": "1",
        "added_at": f"'{now}'",
        "added_by": "'someone'",
        "is_local": "0",
        "first_seen_at": f"'{now}'",
        "last_seen_at": f"'{now}'",
        "source": "'spotify_api'",
        "loaded_at": f"'{now}'",
        "album_label": "'Label ' || (n % 700)",
        **{
            name: "n % 12" if name in WHOLE else f"(n % 1000) / 1000.0 + {number}"
            for number, name in enumerate(AUDIO_FEATURE_NAMES)
        },
    }
    with connection.cursor() as cursor:  # no parameters: "%" is SQLite's modulo here
        cursor.execute(
            "WITH RECURSIVE counter(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM counter"
            f" WHERE n + 1 < {int(count)}) INSERT INTO {TABLE} ({', '.join(values)})"
            f" SELECT {', '.join(values.values())} FROM counter"
        )
    assert set(values) <= set(COLUMN_NAMES)


def peak_mb():
    """This process's peak resident set (VmHWM). Not `ru_maxrss`: after fork and exec
    it starts at the peak of the forked parent (pytest, hundreds of MB late in a run)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def measure(database, what):
    """Peak growth after each download in `what` (comma-separated), cumulative: the
    peak never falls, so each figure bounds every download read so far."""
    setup(database)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from warehouse import queries

    client = Client()
    client.force_login(get_user_model().objects.get(username=USERNAME))

    def url(file_format):
        if file_format == "zip":
            return reverse("dashboard:library-download", args=["zip"])
        return reverse("dashboard:download", args=[PLAYLIST_ID, file_format])

    # Warm-up: the first chunks of every format (imports, the template and query caches).
    for file_format in ("csv", "json", "parquet", "zip"):
        response = client.get(url(file_format))
        next(iter(response.streaming_content))
        response.close()
    baseline = peak_mb()
    results = {}
    for name in what.split(","):
        size = 0
        if name == "materialised":
            size = len(list(queries.export_rows([PLAYLIST_ID])))
        else:
            response = client.get(url(name))
            for chunk in response.streaming_content:
                size += len(chunk)
            response.close()
        results[name] = {"growth_mb": peak_mb() - baseline, "bytes": size, "baseline_mb": baseline}
    print(json.dumps(results))


if __name__ == "__main__":
    command, database, argument = sys.argv[1:4]
    if command == "prepare":
        prepare(database, int(argument))
    else:
        measure(database, argument)

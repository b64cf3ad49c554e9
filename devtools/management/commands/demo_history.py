"""`manage.py demo_history`: a demo playlist with a few weeks of history (DEBUG only).

Asks the running sandbox to age the playlist one day at a time
(`POST /_sandbox/playlists/{id}/age`) and refreshes it after each day, as the
daily schedule would; then dates the versions one day apart, ending now, so the
History tab shows weeks. Demo data only: real versions are dated when they are seen.
"""

import datetime as dt
import io

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from devtools.sandbox import DEMO_PLAYLISTS
from warehouse.models import PlaylistVersion

DEFAULT_PLAYLIST = DEMO_PLAYLISTS[237]


class Command(BaseCommand):
    help = "Give a demo playlist weeks of history from the sandbox (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--playlist", default=DEFAULT_PLAYLIST)
        parser.add_argument("--days", type=int, default=21)
        parser.add_argument("--user", default="demo", help="whose refreshes these are")

    def handle(self, *args, playlist, days, user, **options):
        if not settings.DEBUG:
            raise CommandError("demo_history back-dates versions; it runs only with DEBUG=true.")
        sandbox = settings.SPOTIFY_ACCOUNTS_BASE_URL.rstrip("/")
        for _ in range(days):
            response = requests.post(
                f"{sandbox}/_sandbox/playlists/{playlist}/age", json={"days": 1}, timeout=10
            )
            if response.status_code != 200:
                raise CommandError(f"The sandbox refused to age {playlist}: {response.text}")
            call_command(
                "ingest", "--user", user, playlist, stdout=io.StringIO(), stderr=io.StringIO()
            )
        versions = list(PlaylistVersion.objects.filter(playlist_id=playlist).order_by("-version"))
        now = timezone.now()
        for age, version in enumerate(versions):
            version.seen_at = now - dt.timedelta(days=age)
        PlaylistVersion.objects.bulk_update(versions, ["seen_at"])
        self.stdout.write(f"{playlist}: {len(versions)} versions over {len(versions)} days.")

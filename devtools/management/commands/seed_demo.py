"""`manage.py seed_demo`: the demo login of `make run` (DEBUG only, idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.demo import DEMO_PASSWORD, DEMO_USERNAME, seed_demo_user


class Command(BaseCommand):
    help = (
        "Create the demo user (DEBUG only), connect it to the sandbox's Spotify account "
        "sandbox-demo, and add the sandbox's demo playlists to its list."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates a user whose password is public; it runs only with "
                "DEBUG=true (local development)."
            )
        user, added = seed_demo_user()
        self.stdout.write(
            f"Demo user ready: {user.playlists.count()} playlists in its list ({added} new), "
            "connected to the sandbox's Spotify account sandbox-demo."
        )
        self.stdout.write(f"Sign in as {DEMO_USERNAME!r} with password {DEMO_PASSWORD!r}.")

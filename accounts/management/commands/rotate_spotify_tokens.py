"""`manage.py rotate_spotify_tokens`: re-encrypt stored Spotify tokens with the first key.

Rotation: put the new key first in SPOTIFY_TOKEN_KEY (comma-separated, the old
one after it), run this, then remove the old key.
"""

from django.core.management.base import BaseCommand

from accounts.models import SpotifyConnection


class Command(BaseCommand):
    help = "Re-encrypt every connected account's Spotify tokens with the first SPOTIFY_TOKEN_KEY."

    def handle(self, *args, **options):
        rotated = unreadable = 0
        for connection in SpotifyConnection.objects.iterator():
            if connection.refresh_token == "":
                unreadable += 1  # no configured key reads it: only reconnecting helps
                continue
            # Reads decrypt with any key; the save encrypts with the first one.
            connection.save(update_fields=["access_token", "refresh_token"])
            rotated += 1
        self.stdout.write(f"{rotated} connection(s) re-encrypted, {unreadable} unreadable.")

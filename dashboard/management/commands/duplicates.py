"""`manage.py duplicates [REF…] [--user NAME] [--loose] [--json]`: groups of the same track."""

import json

from django.core.management.base import BaseCommand, CommandError

from accounts import library
from dashboard.management.commands._across import playlist_ids, user_named
from dashboard.views.across import duplicates_rows
from warehouse import queries


class Command(BaseCommand):
    help = (
        "List duplicates within and across playlists: the same Spotify track, the same "
        "recording (ISRC) on another release, or probably the same song. Name playlists, "
        "or --user for all of that person's."
    )

    def add_arguments(self, parser):
        parser.add_argument("references", nargs="*", metavar="REF", help="playlist id, URI or link")
        parser.add_argument("--user", help="that person's playlists (all of them without REF)")
        parser.add_argument(
            "--loose", action="store_true", help="live, remixed, remastered… versions match too"
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")

    def handle(self, *args, **options):
        user = user_named(options["user"]) if options["user"] else None
        if options["references"]:
            ids = playlist_ids(options["references"], user)
        elif user is not None:
            ids = sorted(library.visible_playlist_ids(user))
        else:
            raise CommandError("Name one or more playlists, or --user NAME for all of theirs.")
        groups = queries.duplicate_groups(playlist_ids=ids, loose=options["loose"])
        rows = list(duplicates_rows(groups))
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not groups:
            self.stdout.write(f"No duplicates in {len(ids)} playlist(s).")
            return
        current = None
        for row in rows:
            if row["group"] != current:
                current = row["group"]
                self.stdout.write(f"\n{current}. {row['track']} — {row['artists']} ({row['why']})")
            times = f" ×{row['times']}" if row["times"] > 1 else ""
            self.stdout.write(f"   {row['playlist']} #{row['position']}{times}: {row['track']}")
        self.stdout.write(f"\n{len(groups)} group(s) in {len(ids)} playlist(s).")

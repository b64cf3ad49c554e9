"""`manage.py compare REF REF… [--user NAME] [--json]`: how alike playlists are."""

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from dashboard.management.commands._across import names, percent, playlist_ids, user_named
from warehouse import queries


class Command(BaseCommand):
    help = (
        "Compare two or more playlists: tracks, artists and genres in all of them, "
        "what is only in each, and the Jaccard similarity over tracks and artists."
    )

    def add_arguments(self, parser):
        parser.add_argument("references", nargs="+", metavar="REF", help="playlist id, URI or link")
        parser.add_argument("--user", help="only this person's playlists (as their pages show)")
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")

    def handle(self, *args, **options):
        user = user_named(options["user"]) if options["user"] else None
        ids = playlist_ids(options["references"], user)
        if len(ids) < 2:
            raise CommandError("Name at least two different playlists to compare.")
        result = queries.compare_playlists(playlist_ids=ids)
        titles = names(ids)
        if options["json"]:
            data = asdict(result)
            for kind in ("tracks", "artists", "genres"):
                data[kind]["jaccard"] = getattr(result, kind).jaccard
            data["names"] = titles
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        for playlist_id in ids:
            self.stdout.write(
                f"{titles.get(playlist_id, playlist_id)} ({playlist_id}): "
                f"{result.tracks.per_playlist[playlist_id]} tracks, "
                f"{result.only_in[playlist_id]} only there"
            )
        for kind in ("tracks", "artists", "genres"):
            counts = getattr(result, kind)
            self.stdout.write(
                f"{kind.capitalize()}: {counts.shared} in all of {counts.union} in any "
                f"(similarity {percent(counts.jaccard)})"
            )
        self.stdout.write(
            "Similarity is the Jaccard index: in all divided by in any (100% = identical)."
        )

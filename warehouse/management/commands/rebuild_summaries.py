"""`manage.py rebuild_summaries`: recompute the warehouse-wide counts from scratch."""

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from warehouse import summaries


class Command(BaseCommand):
    help = (
        "Recompute warehouse_summary (the warehouse-wide counts of artists, genres, tracks, "
        "albums and release years) from playlist_tracks, in one transaction. The loader keeps "
        "it up to date; run this after restoring a backup or editing playlist_tracks by hand."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="compare with a fresh aggregation, change nothing; exit 1 if they differ",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["check"]:
            differing = summaries.differences()
            for kind, count in differing.items():
                self.stdout.write(f"{kind}: {count} keys differ")
            if differing:
                raise SystemExit(1)
            self.stdout.write(self.style.SUCCESS("warehouse_summary matches playlist_tracks."))
            return
        with transaction.atomic():
            rows = summaries.rebuild()
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(f"warehouse_summary rebuilt: {rows:,} counts in {seconds:.1f} s.")
        )

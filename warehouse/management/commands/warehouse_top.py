"""`manage.py warehouse_top`: the warehouse-wide figures, from warehouse_summary."""

import dataclasses
import json
from typing import Any

from django.core.management.base import BaseCommand

from warehouse import summaries


class Command(BaseCommand):
    help = (
        "Top artists, genres, tracks and albums and the decades across the whole warehouse "
        "(present rows, counted per playlist entry), read from warehouse_summary."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=10, help="rows per list (default 10)")
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--fold",
            action="store_true",
            help="first fold the log of loads' changes into the counts (the reaper does it)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["fold"]:
            folded = summaries.fold()
            self.stderr.write(f"Folded {folded:,} loads' changes into warehouse_summary.")
        overview = summaries.warehouse_overview(limit=options["limit"])
        pending = summaries.pending()
        if options["json"]:
            printed = {
                **dataclasses.asdict(overview),
                "unfolded_loads": pending["loads"],
                "unfolded_since": pending["since"].isoformat() if pending["since"] else None,
            }
            self.stdout.write(json.dumps(printed, indent=2))
            return
        self.stdout.write(f"{overview.entries:,} playlist entries present")
        if pending["loads"]:
            # The figures are exact either way; a long log only makes them slower.
            self.stdout.write(
                f"({pending['loads']:,} loads' changes to tracks, albums and artists not "
                f"folded yet, since {pending['since']:%Y-%m-%d %H:%M:%S %Z}: counted in, "
                "and folded by the reaper's schedule or --fold)"
            )
        for kind, rows in (
            ("artist", overview.artists),
            ("genre", overview.genres),
            ("track", overview.tracks),
            ("album", overview.albums),
        ):
            self.stdout.write(f"\nTop {kind}s ({summaries.distinct(kind=kind):,} in all):")
            for row in rows:
                label = row["key"] if row["name"] is None else f"{row['name']} ({row['key']})"
                self.stdout.write(f"  {row['entries']:>10,}  {label}")
        self.stdout.write("\nDecades:")
        for row in overview.decades:
            self.stdout.write(f"  {row['entries']:>10,}  {row['decade']}s")
        self.stdout.write(f"  {overview.unknown_year:>10,}  year unknown")

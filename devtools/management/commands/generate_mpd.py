"""`manage.py generate_mpd --slices N --out DIR`: synthetic Million Playlist Dataset slices."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from devtools.synthetic.mpd import generate_slices


class Command(BaseCommand):
    help = (
        "Write synthetic mpd.slice.*.json files shaped like the Million Playlist Dataset "
        "(for tests and benchmarks; the real dataset may not be redistributed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--slices", type=int, required=True, help="number of slice files")
        parser.add_argument("--out", type=Path, required=True, help="directory to write into")
        parser.add_argument("--playlists-per-slice", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=0, help="same seed, same files")

    def handle(self, *args, slices, out, playlists_per_slice, seed, **options):
        if slices < 1 or playlists_per_slice < 1:
            raise CommandError("--slices and --playlists-per-slice must be at least 1.")
        paths = generate_slices(
            out, slices=slices, playlists_per_slice=playlists_per_slice, seed=seed
        )
        for path in paths:
            self.stdout.write(str(path))
        self.stderr.write(f"Wrote {len(paths)} slice(s) to {out}")

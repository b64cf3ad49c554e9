"""`manage.py export [REF …] [--all] [--user NAME] --format csv|json|parquet --out PATH`:
the warehouse, or part of it, in a file analysts' tools read.

Which playlists: the REFs (Spotify links, URIs or ids, or the warehouse ids of imported
playlists such as `exportify:…`), or with --all every playlist of the warehouse. With
--user, only what that person may see on the site (their visible playlists, and every
REF must be one of them); --user alone exports their whole library.

Where: parquet writes one file (a row group per --rows-per-group rows), or with --partition
playlist|source a Hive-style folder (`playlist_id=…/part-0.parquet`); json one file
(an object for one playlist, an array for several); csv a folder with one Exportify-style
CSV per playlist, or one file when --out ends in ".csv" and there is one playlist, or a
ZIP of them when it ends in ".zip". Removed rows are included (with their removal time)
unless --present-only.

Rows stream from the database a chunk at a time, so memory stays bounded whatever the
size. Progress goes to stderr, the summary to stdout. Files are written under a
temporary name and renamed when complete: an interrupted export leaves nothing half-written.
"""

import shutil
import time
from itertools import tee
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import library
from ingestion.references import InvalidPlaylistReference, parse_playlist_id
from warehouse import exports, queries
from warehouse.models import Playlist

FORMATS = ("csv", "json", "parquet")
PROGRESS_EVERY_ROWS = 50_000


class Command(BaseCommand):
    help = (
        "Export playlists from the warehouse as CSV (Exportify's layout), JSON or Parquet. "
        "Progress goes to stderr, a summary to stdout."
    )

    def add_arguments(self, parser):
        parser.add_argument("references", nargs="*", metavar="REF", help="playlist to export")
        parser.add_argument("--all", action="store_true", dest="everything",
                            help="every playlist of the warehouse")  # fmt: skip
        parser.add_argument("--user", help="only what this user may see (alone: their library)")
        parser.add_argument("--format", choices=FORMATS, required=True, dest="file_format")
        parser.add_argument("--out", required=True, type=Path, help="file or folder to write")
        parser.add_argument("--present-only", action="store_true",
                            help="leave out the rows removed from their playlists")  # fmt: skip
        parser.add_argument("--rows-per-group", type=int, default=exports.ROWS_PER_BATCH,
                            help="Parquet row group size (default %(default)s)")  # fmt: skip
        parser.add_argument("--partition", choices=sorted(exports.PARTITIONS),
                            help="Parquet only: a folder with one file per playlist (or "
                                 "source), Hive-style")  # fmt: skip

    def handle(self, *args, references, everything, user, file_format, out, **options):
        self.present_only = options["present_only"]
        self.rows_done = 0
        self.next_report = PROGRESS_EVERY_ROWS
        self.partition = options["partition"]
        if self.partition and file_format != "parquet":
            raise CommandError("--partition splits a Parquet export: give --format parquet.")
        ids = self.playlist_ids(references, everything, user)
        count = Playlist.objects.count() if ids is None else len(ids)
        if count == 0:
            raise CommandError("Nothing to export: no playlist matches.")
        started = time.monotonic()
        written = self.write(file_format, ids, count, out, options["rows_per_group"])
        seconds = time.monotonic() - started
        self.stdout.write(
            f"Exported {self.rows_done:,} rows of {count:,} playlist{'s' if count != 1 else ''} "
            f"as {file_format} to {written} ({_size(written) / 1e6:,.1f} MB) in {seconds:.1f} s."
        )

    # --- which playlists ------------------------------------------------------------
    def playlist_ids(self, references, everything, username):
        if everything and (references or username):
            raise CommandError("--all exports the whole warehouse: give it without REF or --user.")
        if everything:
            return None
        if not references and not username:
            raise CommandError("Give playlists to export (REF …), --user NAME or --all.")
        ids = [self.resolve(reference) for reference in references]
        if username:
            visible = set(library.visible_playlist_ids(self.find_user(username)))
            hidden = [pid for pid in ids if pid not in visible]
            if hidden:
                raise CommandError(
                    f"{username} may not see {', '.join(hidden)}: they did not load "
                    "it themselves. Leave out --user to export it anyway."
                )
            ids = ids or sorted(visible)
        return sorted(set(ids))

    def resolve(self, reference):
        if Playlist.objects.filter(pk=reference).exists():
            return reference
        try:
            playlist_id = parse_playlist_id(reference)
        except InvalidPlaylistReference as error:
            raise CommandError(f"{error} (or a warehouse playlist id)") from error
        if not Playlist.objects.filter(pk=playlist_id).exists():
            raise CommandError(f"{reference} is not in the warehouse: ingest it first.")
        return playlist_id

    def find_user(self, username):
        try:
            return get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"No user {username!r}.") from error

    # --- writing ----------------------------------------------------------------------
    def rows(self, ids):
        for row in queries.export_rows(ids, present_only=self.present_only):
            self.count(1)
            yield row

    def batches(self, ids, rows_per_group):
        """Record batches of `rows_per_group` rows (one row group each), with progress."""
        batches = queries.export_batches(
            ids, present_only=self.present_only, rows_per_batch=rows_per_group
        )
        for batch in batches:
            self.count(batch.num_rows)
            yield batch

    def count(self, rows):
        self.rows_done += rows
        if self.rows_done >= self.next_report:
            self.next_report = (self.rows_done // PROGRESS_EVERY_ROWS + 1) * PROGRESS_EVERY_ROWS
            self.stderr.write(f"… {self.rows_done:,} rows")

    def write(self, file_format, ids, count, out, rows_per_group):
        if self.partition:
            return _atomic_folder(
                out, lambda part: exports.write_parquet_partitioned(
                    self.batches(ids, rows_per_group), part, by=self.partition)
            )  # fmt: skip
        if file_format == "parquet":
            return _atomic_file(
                out, lambda part: exports.write_parquet(self.batches(ids, rows_per_group),
                                                        str(part))
            )  # fmt: skip
        if file_format == "json":
            if count == 1:
                (playlist,) = queries.export_playlists(ids)
                chunks = exports.json_batch_chunks(
                    playlist, self.batches(ids, exports.ROWS_PER_BATCH)
                )
            else:
                chunks = exports.json_library_chunks(
                    queries.export_playlists(ids), lambda p: self.rows([p["playlist_id"]])
                )
            return _atomic_file(out, lambda part: _write_chunks(part, chunks))
        if out.suffix.lower() == ".zip":
            return _atomic_file(out, lambda part: _write_chunks(
                part, exports.zip_chunks(self.csv_entries(ids))))  # fmt: skip
        if out.suffix.lower() == ".csv":
            if count != 1:
                raise CommandError(
                    f"{count} playlists make {count} CSV files: give a folder, or a .zip."
                )
            chunks = exports.csv_batch_chunks(self.batches(ids, queries.EXPORT_CHUNK_ROWS))
            return _atomic_file(out, lambda part: _write_chunks(part, chunks))
        return self.write_csv_folder(ids, out)

    def csv_entries(self, ids):
        """(file name, CSV chunks) per playlist, the names safe and unique."""
        playlists = queries.export_playlists(ids)
        for playlist, name in _named(playlists):
            self.stderr.write(f"{playlist['name']} → {name}")
            batches = self.batches([playlist["playlist_id"]], queries.EXPORT_CHUNK_ROWS)
            yield name, exports.csv_batch_chunks(batches)

    def write_csv_folder(self, ids, out):
        def write(part):
            for name, chunks in self.csv_entries(ids):
                _write_chunks(part / name, chunks)

        return _atomic_folder(out, write)


def _named(playlists):
    """(playlist, its CSV file name), names unique within the export."""
    listed, named = tee(playlists)  # one playlist apart: tee holds one
    names = exports.unique_names(exports.safe_file_name(p["name"], ".csv") for p in named)
    return zip(listed, names, strict=True)


def _write_chunks(path, chunks):
    with open(path, "wb") as file:
        for chunk in chunks:
            file.write(chunk)


def _atomic_file(out, write):
    """`write(temporary path)`, then the file renamed to `out`; nothing left on failure."""
    if out.is_dir():
        raise CommandError(f"{out} is a folder: give a file name for this format.")
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    try:
        write(part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(out)
    return out


def _atomic_folder(out, write):
    """`write(temporary folder)`, then the folder renamed to `out`; nothing left on failure."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CommandError(f"{out} exists and is not an empty folder: give a new one.")
    part = out.with_name(out.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    try:
        write(part)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    if out.exists():
        out.rmdir()
    part.rename(out)
    return out


def _size(path):
    if path.is_dir():
        return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
    return path.stat().st_size

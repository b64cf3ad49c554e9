"""`manage.py ingest REF [REF …]`: load playlists into the warehouse from the shell."""

import json

from django.core.management.base import BaseCommand, CommandError

from ingestion.pipeline import IngestResult, Status, ingest_playlist
from ingestion.references import InvalidPlaylistReference, parse_playlist_id
from ingestion.spotify import SpotifyClient, SpotifyError


class Command(BaseCommand):
    help = (
        "Ingest Spotify playlists (links, spotify:playlist: URIs or ids) into the warehouse. "
        "Progress goes to stderr, a summary per playlist to stdout."
    )

    def add_arguments(self, parser):
        parser.add_argument("references", nargs="+", metavar="REF", help="playlist link, URI or id")
        parser.add_argument(
            "--force", action="store_true", help="reload even if the snapshot is unchanged"
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="print one JSON object per playlist on stdout (summaries go to stderr)",
        )

    def handle(self, *args, references, force, as_json, **options):
        summary_out = self.stderr if as_json else self.stdout
        try:
            client = SpotifyClient.from_settings()
        except SpotifyError as error:
            raise CommandError(str(error)) from error
        results = []
        rate_limited = None
        for reference in dict.fromkeys(references):
            if rate_limited:
                # Spotify asked this app to wait: asking again now only prolongs it.
                result = not_attempted(reference, rate_limited)
            else:
                self.stderr.write(f"Ingesting {reference}")
                result = ingest_playlist(
                    reference, client=client, force=force, progress=ProgressPrinter(self.stderr)
                )
                if result.retry_after is not None:
                    rate_limited = result
            results.append(result)
            summary_out.write(summarize(result))
            if as_json:
                self.stdout.write(dump_json(result))
        failed = [result for result in results if result.status == Status.FAILED]
        if failed:
            raise CommandError(f"{len(failed)} of {len(results)} playlist(s) failed.", returncode=1)


def not_attempted(reference, rate_limited: IngestResult):
    return IngestResult(
        reference=reference,
        playlist_id=playlist_id_or_none(reference),
        status=Status.FAILED,
        error=f"Not attempted: {rate_limited.error}",
        retry_after=rate_limited.retry_after,
        quota_exceeded=rate_limited.quota_exceeded,
    )


def playlist_id_or_none(reference):
    try:
        return parse_playlist_id(reference)
    except InvalidPlaylistReference:
        return None


def dump_json(result: IngestResult):
    return json.dumps(result.as_dict(), ensure_ascii=False)


def summarize(result: IngestResult):
    title = f"{result.name!r} ({result.playlist_id})" if result.name else result.reference
    lines = [f"{result.status.upper()}: {title}"]
    if result.status in (Status.SUCCEEDED, Status.PARTIAL):
        skipped = ", ".join(f"{count} {reason}" for reason, count in result.items_skipped.items())
        lines.append(
            f"  {result.tracks_loaded} tracks loaded from {result.items_total} items "
            f"({result.rows_inserted} new, {result.rows_updated} updated, "
            f"{result.rows_unchanged} unchanged, {result.rows_removed} removed)"
        )
        lines.append(f"  skipped: {skipped or 'none'}")
    elif result.status == Status.UNCHANGED:
        lines.append("  snapshot unchanged since the last load (use --force to reload)")
    if result.error:
        lines.append(f"  {'note' if result.status == Status.PARTIAL else 'error'}: {result.error}")
    lines.append(f"  {result.api_calls} API calls in {result.seconds:.1f} s")
    return "\n".join(lines)


class ProgressPrinter:
    """Prints progress on stderr: a line per step, and every ~10% within a step."""

    def __init__(self, stream):
        self.stream = stream
        self.last = None

    def __call__(self, step, done, total):
        if step in ("transform", "load"):
            self.stream.write(f"  {step}…")
            return
        tenth = max(1, total // 10)
        key = (step, done // tenth)
        if total and (done in (0, total) or key != self.last):
            self.stream.write(f"  {step}: {done}/{total}")
        self.last = key

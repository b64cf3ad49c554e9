"""`manage.py ingest REF|PATH …`: load playlists into the warehouse from the shell.

A REF is a Spotify playlist (link, URI or id). Every Spotify ingestion is
recorded as an ingest run (trigger "shell"). By default the runs execute here
and now; with --queue they go to the queue cluster (`manage.py qcluster`),
which retries rate limits and transient errors.

Whose Spotify token reads the playlists: with --user USERNAME, that user's
connected Spotify account (the playlists also join the user's list, so the
daily refresh reads them the same way); otherwise SPOTIFY_REFRESH_TOKEN; else
an app token (client credentials), which in Development Mode reads no items.

A PATH is an export file or a folder of them (Spotify account data export,
Exportify CSV, Million Playlist Dataset slices): each PATH is one file-import
run, here and now or, with --queue, by the cluster (which must see the same
path). With --user, the imported playlists join that user's list. With
--enrich, each imported playlist that lacks details (durations, release dates,
genres) gets an enrichment run, always queued: Spotify's rate limits can ask
for hours of waiting, which the cluster waits out and the shell should not.
"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import library
from accounts.connections import client_for_user
from ingestion import runs
from ingestion.files import FORMATS
from ingestion.models import Trigger
from ingestion.pipeline import IngestResult, Status
from ingestion.references import InvalidPlaylistReference, parse_playlist_id
from spotify_client import SpotifyClient, SpotifyError


class Command(BaseCommand):
    help = (
        "Ingest Spotify playlists (links, spotify:playlist: URIs or ids) into the warehouse. "
        "Progress goes to stderr, a summary per playlist to stdout."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "references",
            nargs="*",
            metavar="REF|PATH",
            help="playlist link, URI or id; or an export file or folder to import",
        )
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="the format of the files given (default: detected from each file)",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            dest="all_tracked",
            help="refresh every tracked playlist (those loaded from the Spotify API)",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="queue the runs for the cluster (manage.py qcluster) instead of running here",
        )
        parser.add_argument(
            "--force", action="store_true", help="reload even if the snapshot is unchanged"
        )
        parser.add_argument(
            "--enrich",
            action="store_true",
            help="after importing files, queue enrichment runs filling in what they lack "
            "(durations, release dates, genres) from Spotify",
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="read with this user's connected Spotify account (and add the playlists "
            "to the user's list)",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="print one JSON object per playlist on stdout (summaries go to stderr)",
        )

    def handle(
        self, *args, references, format, all_tracked, queue, force, as_json, user, enrich, **options
    ):
        self.user = self.find_user(user) if user else None
        if all_tracked:
            references = [*references, *runs.tracked_playlist_ids()]
        if not references:
            raise CommandError("Give playlist references, or --all to refresh every tracked one.")
        references = list(dict.fromkeys(references))
        paths = [reference for reference in references if Path(reference).exists()]
        references = [reference for reference in references if reference not in paths]
        results = self.import_files(
            paths, file_format=format, as_json=as_json, queue=queue, enrich=enrich
        )
        if queue:
            self.queue_runs(references, force=force)
        elif references:
            results += self.run_here(references, force=force, as_json=as_json)
        failed = [result for result in results if result.status == Status.FAILED]
        if failed:
            raise CommandError(f"{len(failed)} of {len(results)} playlist(s) failed.", returncode=1)

    def find_user(self, username):
        try:
            return get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"No user {username!r}.") from error

    def make_client(self):
        try:
            if self.user is not None:
                return client_for_user(self.user)
            return SpotifyClient.from_settings()
        except SpotifyError as error:
            raise CommandError(str(error)) from error

    def request(self, reference, *, force, enqueue):
        """The run for `reference` (and, with --user, the playlist on the user's list)."""
        run, created = runs.request_ingest(
            reference,
            trigger=Trigger.SHELL,
            force=force,
            enqueue=enqueue,
            user=self.user,
            spotify_user=self.user,
        )
        if self.user is not None:
            library.add_to_list(self.user, run.playlist_id)
        return run, created

    def import_files(self, paths, *, file_format, as_json, queue, enrich):
        """One file-import run per path; the results of its playlists (none if queued)."""
        results = []
        for path in paths:
            run = runs.request_file_import(
                Path(path).resolve(),
                trigger=Trigger.SHELL,
                user=self.user,
                file_format=file_format,
                # The same ids as the user's uploads of the same export.
                owner_key=str(self.user.pk) if self.user else "",
                # Queued, the worker requests the enrichment; here, this command does.
                enrich=enrich and queue,
                spotify_user=self.user,
                enqueue=queue,
            )
            if queue:
                self.stdout.write(f"run {run.pk} queued: {path}")
                continue
            self.stderr.write(f"Importing {path} [run {run.pk}]")

            def report(result, run_id=run.pk):
                self.report(result, run_id, as_json=as_json)
                results.append(result)

            outcome = runs.execute_run(
                runs.claim_run(run.pk), progress=ProgressPrinter(self.stderr), on_result=report
            )
            if enrich and outcome is not None:
                for enrichment in runs.request_enrichment_of_imported(run, outcome):
                    self.stderr.write(f"run {enrichment.pk} queued: enrich {enrichment.title}")
        return results

    def report(self, result, run_id, *, as_json):
        (self.stderr if as_json else self.stdout).write(summarize(result, run_id))
        if as_json:
            self.stdout.write(dump_json(result, run_id))

    def queue_runs(self, references, *, force):
        if self.user is not None:
            self.make_client()  # refuse now if the user has no live connection
        refused = 0
        for reference in references:
            try:
                run, created = self.request(reference, force=force, enqueue=True)
            except InvalidPlaylistReference as error:
                refused += 1
                self.stderr.write(f"{reference}: {error}")
                continue
            state = "queued" if created else f"already {run.status}"
            self.stdout.write(f"run {run.pk} {state}: {run.playlist_id}")
        if refused:
            raise CommandError(f"{refused} reference(s) refused.", returncode=1)

    def run_here(self, references, *, force, as_json):
        client = self.make_client()
        results = []
        rate_limited = None
        for reference in references:
            if rate_limited:
                # Spotify asked this app to wait: asking again now only prolongs it.
                result, run_id = not_attempted(reference, rate_limited), None
            else:
                self.stderr.write(f"Ingesting {reference}")
                result, run_id = self.run_one(reference, client=client, force=force)
                if result.retry_after is not None:
                    rate_limited = result
            results.append(result)
            self.report(result, run_id, as_json=as_json)
        return results

    def run_one(self, reference, *, client, force):
        """Record a shell run and execute it here; (result, run id)."""
        try:
            run, created = self.request(reference, force=force, enqueue=False)
        except InvalidPlaylistReference as error:
            return IngestResult(reference=reference, error=str(error)), None
        if not created:
            return already_active(reference, run), run.pk
        run = runs.claim_run(run.pk)
        # The shell reports a rate limit at once rather than waiting to retry.
        result = runs.execute_run(
            run, client=client, retries=False, progress=ProgressPrinter(self.stderr)
        )
        return result, run.pk


def already_active(reference, run):
    return IngestResult(
        reference=reference,
        playlist_id=run.playlist_id,
        error=(
            f"Run {run.pk} for this playlist is already {run.status}; wait for it to finish "
            "or cancel it in the admin."
        ),
    )


def not_attempted(reference, rate_limited: IngestResult):
    return IngestResult(
        reference=reference,
        playlist_id=playlist_id_or_none(reference),
        error=f"Not attempted: {rate_limited.error}",
        retry_after=rate_limited.retry_after,
        quota_exceeded=rate_limited.quota_exceeded,
    )


def playlist_id_or_none(reference):
    try:
        return parse_playlist_id(reference)
    except InvalidPlaylistReference:
        return None


def dump_json(result: IngestResult, run_id):
    return json.dumps({**result.as_dict(), "run_id": run_id}, ensure_ascii=False)


def summarize(result: IngestResult, run_id=None):
    title = f"{result.name!r} ({result.playlist_id})" if result.name else result.reference
    run = f" [run {run_id}]" if run_id else ""
    lines = [f"{result.status.upper()}: {title}{run}"]
    if result.status in (Status.SUCCEEDED, Status.PARTIAL):
        skipped = ", ".join(f"{count} {reason}" for reason, count in result.items_skipped.items())
        lines.append(
            f"  {result.tracks_loaded} tracks loaded from {result.items_total} items "
            f"({result.rows_inserted} new, {result.rows_updated} updated, "
            f"{result.rows_unchanged} unchanged, {result.rows_removed} removed)"
        )
        lines.append(f"  skipped: {skipped or 'none'}")
        if result.library:
            counted = ", ".join(f"{count} {kind}" for kind, count in result.library.items())
            lines.append(f"  library (counted, not imported): {counted}")
        lines.append(f"  history: {version_line(result)}")
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
        if step == "files" and total < 2:
            return  # a single file: its playlists say it all
        tenth = max(1, total // 10)
        key = (step, done // tenth)
        if total and (done in (0, total) or key != self.last):
            self.stream.write(f"  {step}: {done}/{total}")
        self.last = key


def version_line(result: IngestResult):
    if result.history_version is None:
        return "no new version (nothing changed)"
    return (
        f"version {result.history_version} ({result.tracks_added} added, "
        f"{result.tracks_removed} removed, {result.tracks_moved} moved)"
    )

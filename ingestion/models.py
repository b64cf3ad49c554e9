"""Ingest runs: the history of every ingestion, whoever asked for it.

Every ingestion is a run row first; the queue only carries its id. A run is
claimed with a compare-and-set, beats a heartbeat while it works, and ends in a
final status with an error a person can act on. The database (not Python)
guarantees one active run per playlist for each person who asks (and each
Spotify account it reads with): another person's run is not theirs to follow.

A run is one of four kinds: reading a playlist from the Spotify API, importing
an export file (which may hold many playlists: the run has no playlist id of its
own and lists the playlists it loaded), enriching an imported playlist with
details from Spotify, or writing a person's library to a file they download
from the run's page (ingestion.export_runs; no playlist id either).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    UNCHANGED = "unchanged", "Unchanged"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
FINAL_STATUSES = tuple(status for status in RunStatus if status not in ACTIVE_STATUSES)


class Trigger(models.TextChoices):
    SHELL = "shell", "Shell"
    WEB = "web", "Web"
    SCHEDULE = "schedule", "Schedule"
    RETRY = "retry", "Retry"


class Kind(models.TextChoices):
    PLAYLIST = "playlist", "Spotify playlist"
    FILE = "file", "File import"
    ENRICH = "enrich", "Enrichment"
    EXPORT = "export", "Library export"


class Step(models.TextChoices):
    EXTRACT = "extract", "Extract"
    TRANSFORM = "transform", "Transform"
    LOAD = "load", "Load"
    WRITE = "write", "Write the file"
    INDEXES = "indexes", "Build the indexes"


class IngestRunQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)


# A file run lists at most this many of the playlists it loaded (an MPD import
# loads a million); its counts cover them all.
FILE_RUN_PLAYLISTS_LISTED = 1000


class IngestRun(models.Model):
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.PLAYLIST)
    # Empty for a file or export run: they cover many playlists.
    playlist_id = models.CharField(max_length=100, db_index=True, blank=True)
    # What was asked for, as typed (a link, a URI, an id; a file's path).
    reference = models.TextField()
    name = models.TextField(blank=True, default="")
    trigger = models.CharField(max_length=10, choices=Trigger)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    parameters = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=10, choices=RunStatus, default=RunStatus.QUEUED)
    step = models.CharField(max_length=10, choices=Step, blank=True, default="")
    # Live counts while the run works (an export run: rows written of its
    # library's, in items_fetched/items_total, and playlists in playlists_*).
    items_fetched = models.PositiveIntegerField(default=0)
    items_total = models.PositiveIntegerField(default=0)
    artists_done = models.PositiveIntegerField(default=0)
    artists_total = models.PositiveIntegerField(default=0)
    # File runs: files of a folder, and playlists loaded so far out of those seen.
    files_done = models.PositiveIntegerField(default=0)
    files_total = models.PositiveIntegerField(default=0)
    playlists_done = models.PositiveIntegerField(default=0)
    playlists_total = models.PositiveIntegerField(default=0)
    # The outcome.
    tracks_loaded = models.PositiveIntegerField(default=0)
    items_skipped = models.JSONField(default=dict, blank=True)
    rows_inserted = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_removed = models.PositiveIntegerField(default=0)
    # The playlist version the run made (None: no change, or a file of many
    # playlists), and the tracks added, removed and moved by its versions.
    history_version = models.PositiveIntegerField(null=True, blank=True)
    tracks_added = models.PositiveIntegerField(default=0)
    tracks_removed = models.PositiveIntegerField(default=0)
    tracks_moved = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0, help_text="over all attempts")
    # File runs: [{"playlist_id", "name", "status", "tracks"}, …] of what was loaded.
    playlists = models.JSONField(default=list, blank=True)
    rate_limit_waits = models.PositiveIntegerField(default=0)
    quota_exceeded = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")
    log = models.TextField(blank=True, default="")

    attempt = models.PositiveSmallIntegerField(default=0)
    # One entry per finished attempt that was retried: when, how it ended, why.
    attempts = models.JSONField(default=list, blank=True)

    queued_at = models.DateTimeField(auto_now_add=True)
    # A queued run is not claimed before this (rate-limit waits, backoff).
    not_before = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = IngestRunQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at"]
        constraints = [
            # Asking for a playlist that already has a queued or running run of
            # the same requester and reader returns that run instead of starting
            # a second one. Another person gets a run of their own: each reads
            # with their own token, and may see only their own runs.
            models.UniqueConstraint(
                F("playlist_id"),
                Coalesce(F("requested_by"), Value(0)),
                Coalesce(KT("parameters__spotify_user"), Value(""), output_field=TextField()),
                condition=Q(status__in=ACTIVE_STATUSES) & ~Q(playlist_id=""),
                name="one_active_run_per_playlist_and_person",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat_idx"),
        ]

    def __str__(self):
        return f"run {self.pk} of {self.title} ({self.status})"

    @property
    def title(self):
        """The playlist's (or file's) name, else what was asked for."""
        return self.name or self.playlist_id or self.reference

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

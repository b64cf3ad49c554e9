"""The warehouse: a fact table of playlist × track rows, its two dimensions, and
the cache of Spotify's track details.

`PlaylistTrack` is unmanaged: its table is created by a migration with
dialect-aware DDL and written only by `warehouse.loader` (raw SQL UPSERT), so
Django never alters it behind the loader's back. The dimensions and the track
cache are ordinary managed models.
"""

from django.db import models


class Source(models.TextChoices):
    SPOTIFY_API = "spotify_api", "Spotify Web API"
    SPOTIFY_EXPORT = "spotify_export", "Spotify account data export"
    EXPORTIFY = "exportify", "Exportify CSV"
    MPD = "mpd", "Million Playlist Dataset"


class Playlist(models.Model):
    """A playlist as last ingested. Also remembers the snapshot that was loaded."""

    playlist_id = models.CharField(primary_key=True, max_length=100)
    name = models.TextField()
    description = models.TextField(blank=True, default="")
    owner_id = models.CharField(max_length=100, blank=True, default="")
    owner_name = models.TextField(blank=True, default="")
    image_url = models.CharField(max_length=1000, blank=True, default="")
    public = models.BooleanField(null=True)
    collaborative = models.BooleanField(default=False)
    source = models.CharField(max_length=20, choices=Source, default=Source.SPOTIFY_API)
    # The snapshot of the last successful load, and when it was first loaded.
    # Every present track row carries `last_seen_at = snapshot_seen_at`, so
    # reloading the same snapshot writes nothing and a row whose `last_seen_at`
    # differs was not in the latest snapshot (it was removed).
    snapshot_id = models.CharField(max_length=200, blank=True, default="")
    snapshot_seen_at = models.DateTimeField(null=True, blank=True)
    total_items = models.PositiveIntegerField(default=0)
    last_ingested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Loads of this playlist so far (each one, even one that writes nothing), counted
    # in the load's transaction: with `created_at`, a stamp that changes whenever its
    # rows or its dimension may have, for caches (`warehouse.queries.playlists_stamp`).
    loads = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "warehouse_playlists"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.playlist_id})"


class Artist(models.Model):
    """An artist and its genres; doubles as the cache that saves API calls."""

    artist_id = models.CharField(primary_key=True, max_length=100)
    name = models.TextField()
    # [] means Spotify lists no genre for this artist; None means we don't know
    # (the field was absent, or the artist could not be fetched).
    genres = models.JSONField(null=True, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        db_table = "warehouse_artists"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Track(models.Model):
    """A track's details as Spotify describes them: the cache that fills what an
    export file lacks (see `ingestion.enrichment`), so no track is fetched twice."""

    track_id = models.CharField(primary_key=True, max_length=100)
    name = models.TextField(blank=True, default="")
    duration_ms = models.IntegerField(null=True, blank=True)
    explicit = models.BooleanField(null=True, blank=True)
    isrc = models.TextField(null=True, blank=True)
    album_id = models.CharField(max_length=100, null=True, blank=True)
    album_name = models.TextField(null=True, blank=True)
    album_release_date = models.TextField(null=True, blank=True)
    album_release_date_precision = models.TextField(null=True, blank=True)
    # [[artist id, artist name], …] in Spotify's order (the primary artist first).
    artists = models.JSONField(default=list, blank=True)
    # False when Spotify answered 404: not asked again until the entry is stale.
    found = models.BooleanField(default=True)
    fetched_at = models.DateTimeField()

    class Meta:
        db_table = "warehouse_tracks"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.track_id


class PlaylistTrack(models.Model):
    """One row per playlist × track (the table analysts query directly)."""

    pk = models.CompositePrimaryKey("playlist_id", "track_id")
    playlist_id = models.TextField()
    # The Spotify track id; for local files their `spotify:local:` URI.
    track_id = models.TextField()
    track_name = models.TextField(null=True)
    track_duration_ms = models.IntegerField(null=True)
    track_duration_sec = models.FloatField(null=True)
    # Spotify no longer sends popularity to new apps: usually null.
    track_popularity = models.SmallIntegerField(null=True)
    track_genres = models.JSONField(default=list)
    track_isrc = models.TextField(null=True)
    track_explicit = models.BooleanField(null=True)
    album_id = models.TextField(null=True)
    album_name = models.TextField(null=True)
    album_release_date = models.TextField(null=True)
    album_release_date_precision = models.TextField(null=True)
    release_year = models.SmallIntegerField(null=True)
    artist_ids = models.JSONField(default=list)
    artist_names = models.JSONField(default=list)
    # An order key, not a rank: ORDER BY position gives the playlist's order and
    # unmoved tracks keep theirs (see warehouse.history); the 0-based rank is
    # computed by the readers.
    position = models.BigIntegerField()
    occurrences = models.IntegerField(default=1)
    added_at = models.DateTimeField(null=True)
    added_by = models.TextField(null=True)
    is_local = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True)
    source = models.TextField(choices=Source, default=Source.SPOTIFY_API)
    loaded_at = models.DateTimeField()
    # From Exportify files only (Spotify no longer gives them): warehouse.schema.
    album_label = models.TextField(null=True)
    audio_danceability = models.FloatField(null=True)
    audio_energy = models.FloatField(null=True)
    audio_key = models.SmallIntegerField(null=True)
    audio_loudness = models.FloatField(null=True)
    audio_mode = models.SmallIntegerField(null=True)
    audio_speechiness = models.FloatField(null=True)
    audio_acousticness = models.FloatField(null=True)
    audio_instrumentalness = models.FloatField(null=True)
    audio_liveness = models.FloatField(null=True)
    audio_valence = models.FloatField(null=True)
    audio_tempo = models.FloatField(null=True)
    audio_time_signature = models.SmallIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "playlist_tracks"
        ordering = ["playlist_id", "position"]

    def __str__(self) -> str:
        return f"{self.track_name} in {self.playlist_id}"


class PlaylistTrackRow(models.Model):
    """`playlist_tracks` as the admin browses it: a read-only view with a
    single-column key, since Django 5.2's admin cannot register a model with a
    composite primary key."""

    row_key = models.TextField(primary_key=True)
    playlist_id = models.TextField()
    track_id = models.TextField()
    track_name = models.TextField(null=True)
    artist_names = models.JSONField(default=list)
    album_name = models.TextField(null=True)
    release_year = models.SmallIntegerField(null=True)
    track_duration_sec = models.FloatField(null=True)
    track_explicit = models.BooleanField(null=True)
    track_genres = models.JSONField(default=list)
    position = models.BigIntegerField()
    occurrences = models.IntegerField()
    is_local = models.BooleanField()
    removed_at = models.DateTimeField(null=True)
    source = models.TextField(choices=Source)
    loaded_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "playlist_tracks_admin"
        verbose_name = "playlist track"

    def __str__(self) -> str:
        return f"{self.track_name} in {self.playlist_id}"


class PlaylistVersion(models.Model):
    """One state of a playlist: made by a load that changed anything (tracks,
    their order or count, name, description, image, snapshot id), never by an
    unchanged refresh. Numbered 1, 2, … per playlist in load order."""

    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    snapshot_id = models.CharField(max_length=200, blank=True, default="")
    seen_at = models.DateTimeField()
    source = models.CharField(max_length=20, choices=Source, default=Source.SPOTIFY_API)
    name = models.TextField()
    description = models.TextField(blank=True, default="")
    image_url = models.CharField(max_length=1000, blank=True, default="")
    tracks = models.PositiveIntegerField(default=0)
    duration_ms = models.BigIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "playlist_versions"
        ordering = ["playlist_id", "version"]
        constraints = [
            models.UniqueConstraint(fields=["playlist", "version"], name="playlist_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.playlist_id} v{self.version}"


class PlaylistTrackSpan(models.Model):
    """A track's stay in a playlist with one order key and one count: present in
    versions `valid_from` … `valid_to - 1` (`valid_to` NULL while present now).
    A removal closes the span, an addition opens one, a move or a new count
    closes one and opens the next; unchanged tracks write nothing."""

    pk = models.CompositePrimaryKey("playlist_id", "track_id", "valid_from")
    playlist_id = models.TextField()
    track_id = models.TextField()
    valid_from = models.PositiveIntegerField()
    valid_to = models.PositiveIntegerField(null=True)
    sort_key = models.BigIntegerField()
    occurrences = models.IntegerField(default=1)
    # The fact row the span is a stay of (no column: the same two keys). It lets
    # the ORM join a version's spans to their rows (`warehouse.queries`) instead
    # of a correlated subquery per row. Nullable only so that adding it writes
    # no schema (SQLite would rebuild the table for a NOT NULL field).
    row = models.ForeignObject(
        PlaylistTrack,
        on_delete=models.DO_NOTHING,
        from_fields=["playlist_id", "track_id"],
        to_fields=["playlist_id", "track_id"],
        related_name="spans",
        null=True,
    )

    class Meta:
        db_table = "playlist_track_spans"
        indexes = [
            models.Index(fields=["playlist_id", "valid_from"], name="playlist_track_spans_from")
        ]

    def __str__(self) -> str:
        return f"{self.track_id} in {self.playlist_id} from v{self.valid_from}"


class SummaryCount(models.Model):
    """A warehouse-wide count: how many present rows of `playlist_tracks` credit
    one artist, genre, track, album or release year (`warehouse.summaries`).
    Written only by the loader, in its transaction."""

    pk = models.CompositePrimaryKey("kind", "key")
    kind = models.CharField(max_length=10)  # artist, genre, track, album, year
    key = models.TextField()  # the id, genre or year ('' for an unknown year)
    name = models.TextField(null=True)
    entries = models.BigIntegerField()

    class Meta:
        db_table = "warehouse_summary"
        indexes = [
            # The top N of a kind is one index range read.
            models.Index(fields=["kind", "-entries", "key"], name="warehouse_summary_top"),
            # Deleting the keys a load emptied reads only those.
            models.Index(
                fields=["kind"], condition=models.Q(entries=0), name="warehouse_summary_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.entries}"


class SummaryChange(models.Model):
    """One load's changes to the counts of the FOLDED kinds (`warehouse.summaries`:
    tracks, albums, artists), appended by the loader in its transaction and added
    into `SummaryCount` by `summaries.fold`; the reads add the unfolded ones in."""

    # JSON [[kind, key, name or null, entries added (negative: taken away)], ...],
    # one entry per key: one row per load, however many keys it changes. Text,
    # stored uncompressed on PostgreSQL (migration 0012): jsonb's parse and the
    # compression of ~1 MB for a 10,000-row first load took 5× the append.
    changes = models.TextField()
    logged_at = models.DateTimeField()

    class Meta:
        # No index but the id's: the loader only appends, `fold` reads them all.
        db_table = "warehouse_summary_log"

    def __str__(self) -> str:
        return f"{len(self.changes)} changes logged at {self.logged_at:%Y-%m-%d %H:%M:%S}"


# The key prefix of tracks a file names without an id (made by
# ingestion.files.identity.named_track_id); such rows are matched by TrackMatch.
NAMED_TRACK_PREFIX = "named:"


class TrackMatch(models.Model):
    """What Spotify's search said about a track a file names without an id
    (`named:` rows, see ingestion.files.identity): the Spotify track it is, or
    why none was taken. The row keeps its `named:` key; enrichment fills its
    details from the matched track (`ingestion.enrichment`)."""

    class Outcome(models.TextChoices):
        MATCHED = "matched", "matched"
        AMBIGUOUS = "ambiguous", "ambiguous (several candidates as good)"
        NOT_FOUND = "not_found", "no confident match"

    named_id = models.CharField(primary_key=True, max_length=100)
    spotify_track_id = models.CharField(max_length=100, null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome)
    # The confidence (0–100) of the best candidate, None when search found none.
    score = models.FloatField(null=True, blank=True)
    searched_at = models.DateTimeField()

    class Meta:
        db_table = "warehouse_track_matches"

    def __str__(self) -> str:
        return f"{self.named_id} → {self.spotify_track_id or self.outcome}"


class DeferredIndex(models.Model):
    """A secondary index an import dropped to load without it, and how to build
    it again (`warehouse.index_deferral`): a row exists exactly while its index
    is missing. Written and deleted only by the importer and the reaper."""

    name = models.CharField(primary_key=True, max_length=63)  # PostgreSQL's longest name
    table_name = models.CharField(max_length=63)
    definition = models.TextField()  # pg_get_indexdef(): the CREATE INDEX statement
    dropped_at = models.DateTimeField()

    class Meta:
        db_table = "warehouse_deferred_indexes"

    def __str__(self) -> str:
        return f"{self.name} on {self.table_name}, dropped {self.dropped_at:%Y-%m-%d %H:%M}"

"""DDL of the `playlist_tracks` fact table, per database dialect.

The column list here is the single source of truth for the loader's SQL.
"""

from django.db.backends.utils import CursorWrapper

# (column, PostgreSQL type, SQLite type). Order matters: it is the COPY order.
# The table as migration 0001 created it; later columns are added by their own
# migrations (ADD COLUMN), so a fresh database and a migrated one end up alike.
INITIAL_COLUMNS = (
    ("playlist_id", "text NOT NULL", "TEXT NOT NULL"),
    ("track_id", "text NOT NULL", "TEXT NOT NULL"),
    ("track_name", "text", "TEXT"),
    ("track_duration_ms", "integer", "INTEGER"),
    ("track_duration_sec", "double precision", "REAL"),
    ("track_popularity", "smallint", "INTEGER"),
    ("track_genres", "jsonb NOT NULL DEFAULT '[]'", "TEXT NOT NULL DEFAULT '[]'"),
    ("track_isrc", "text", "TEXT"),
    ("track_explicit", "boolean", "BOOLEAN"),
    ("album_id", "text", "TEXT"),
    ("album_name", "text", "TEXT"),
    ("album_release_date", "text", "TEXT"),
    ("album_release_date_precision", "text", "TEXT"),
    ("release_year", "smallint", "INTEGER"),
    ("artist_ids", "jsonb NOT NULL DEFAULT '[]'", "TEXT NOT NULL DEFAULT '[]'"),
    ("artist_names", "jsonb NOT NULL DEFAULT '[]'", "TEXT NOT NULL DEFAULT '[]'"),
    ("position", "bigint NOT NULL", "INTEGER NOT NULL"),
    ("occurrences", "integer NOT NULL DEFAULT 1", "INTEGER NOT NULL DEFAULT 1"),
    ("added_at", "timestamptz", "DATETIME"),
    ("added_by", "text", "TEXT"),
    ("is_local", "boolean NOT NULL DEFAULT false", "BOOLEAN NOT NULL DEFAULT 0"),
    ("first_seen_at", "timestamptz NOT NULL", "DATETIME NOT NULL"),
    ("last_seen_at", "timestamptz NOT NULL", "DATETIME NOT NULL"),
    ("removed_at", "timestamptz", "DATETIME"),
    ("source", "text NOT NULL DEFAULT 'spotify_api'", "TEXT NOT NULL DEFAULT 'spotify_api'"),
    ("loaded_at", "timestamptz NOT NULL", "DATETIME NOT NULL"),
)
# Added by migration 0008: what Exportify files say of a track that Spotify no
# longer tells new apps (its record label and audio features). Nullable columns
# on the fact table rather than a side table: they travel with the row through
# the loader's staging and merge, the readers need no join, and rows of other
# sources pay only a null bit each. Missing means the file did not say (or said
# 0 for tempo, -1 for key: Spotify's "not detected").
AUDIO_FEATURES = (
    ("audio_danceability", "real", "REAL"),
    ("audio_energy", "real", "REAL"),
    ("audio_key", "smallint", "INTEGER"),
    ("audio_loudness", "real", "REAL"),
    ("audio_mode", "smallint", "INTEGER"),
    ("audio_speechiness", "real", "REAL"),
    ("audio_acousticness", "real", "REAL"),
    ("audio_instrumentalness", "real", "REAL"),
    ("audio_liveness", "real", "REAL"),
    ("audio_valence", "real", "REAL"),
    ("audio_tempo", "real", "REAL"),
    ("audio_time_signature", "smallint", "INTEGER"),
)
FILE_DETAIL_COLUMNS = (("album_label", "text", "TEXT"), *AUDIO_FEATURES)
COLUMNS: tuple[tuple[str, str, str], ...] = (*INITIAL_COLUMNS, *FILE_DETAIL_COLUMNS)
AUDIO_FEATURE_NAMES = tuple(name for name, _, _ in AUDIO_FEATURES)

COLUMN_NAMES = tuple(name for name, _, _ in COLUMNS)
TABLE = "playlist_tracks"
# Present rows in playlist order (migration 0001): warehouse-wide questions
# about what is present now.
PRESENT_INDEX = f"{TABLE}_present_idx"


def create_table_sql(vendor: str) -> list[str]:
    """CREATE TABLE for `vendor` ("postgresql" or "sqlite"), as migration 0001 made it."""
    type_index = 1 if vendor == "postgresql" else 2
    columns = ",\n    ".join(f"{col[0]} {col[type_index]}" for col in INITIAL_COLUMNS)
    return [
        f"CREATE TABLE {TABLE} (\n    {columns},\n    PRIMARY KEY (playlist_id, track_id)\n)",
        # The primary key already serves lookups by playlist.
        f"CREATE INDEX {PRESENT_INDEX} ON {TABLE} (playlist_id, position) WHERE removed_at IS NULL",
    ]


def add_file_detail_columns_sql(vendor: str) -> list[str]:
    """Migration 0008's ALTER TABLEs (one column each: SQLite adds one at a time)."""
    type_index = 1 if vendor == "postgresql" else 2
    return [
        f"ALTER TABLE {TABLE} ADD COLUMN {column[0]} {column[type_index]}"
        for column in FILE_DETAIL_COLUMNS
    ]


def drop_file_detail_columns_sql() -> list[str]:
    return [f"ALTER TABLE {TABLE} DROP COLUMN {column[0]}" for column in FILE_DETAIL_COLUMNS]


# Present rows by track (migration 0010): which of the given playlists hold a track,
# read from the index alone. It serves the self-join of the overlap map (SQLite
# otherwise builds an automatic index on track_id for every request), "also in"
# for a page of tracks, and the groups of the duplicates page.
TRACK_PRESENT_INDEX = f"{TABLE}_track_present_idx"


def create_track_present_index_sql() -> list[str]:
    return [
        f"CREATE INDEX {TRACK_PRESENT_INDEX} ON {TABLE} (track_id, playlist_id) "
        "WHERE removed_at IS NULL"
    ]


def drop_track_present_index_sql() -> list[str]:
    return [f"DROP INDEX IF EXISTS {TRACK_PRESENT_INDEX}"]


def build_index_concurrently(cursor: CursorWrapper, name: str, definition: str) -> None:
    """PostgreSQL, outside a transaction: build the index `definition` (a plain
    `CREATE INDEX name ON …`, as `pg_get_indexdef` gives it) without locking
    writes out, unless a valid one of that name exists. A concurrent build that
    failed half-way leaves an invalid index of the name: it is dropped first."""
    cursor.execute("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
    invalid = cursor.fetchone()
    if invalid and invalid[0]:
        cursor.execute(f"DROP INDEX CONCURRENTLY {name}")
    cursor.execute(
        definition.replace("CREATE INDEX ", "CREATE INDEX CONCURRENTLY IF NOT EXISTS ", 1)
    )


def drop_table_sql() -> list[str]:
    return [f"DROP TABLE IF EXISTS {TABLE}"]


ADMIN_VIEW = f"{TABLE}_admin"


def create_admin_view_sql() -> list[str]:
    # `||` concatenates on both SQLite and PostgreSQL; playlist ids (Spotify,
    # export:…, mpd:…) never contain a space, so the key is unique.
    return [
        f"CREATE VIEW {ADMIN_VIEW} AS "
        f"SELECT playlist_id || ' ' || track_id AS row_key, * FROM {TABLE}"
    ]


def drop_admin_view_sql() -> list[str]:
    return [f"DROP VIEW IF EXISTS {ADMIN_VIEW}"]


# Order keys (`playlist_tracks.position`, `playlist_track_spans.sort_key`) start
# this far apart, so about 20 insertions at one spot fit before a renumbering.
ORDER_GAP = 1 << 20

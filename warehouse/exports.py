"""Exports of warehouse rows: CSV (Exportify's layout), JSON and Parquet.

Pure functions and generators over rows as `warehouse.queries.export_rows`
yields them (dicts keyed by `ROW_COLUMNS`) and playlists as
`warehouse.queries.export_playlists` yields them (dicts keyed by
`PLAYLIST_COLUMNS`). Nothing here reads the database, so any iterable of rows
(a past version of a playlist, say) exports the same way; and everything
streams: each generator yields bytes a batch at a time, so the size of an
export never decides the memory it takes.

- CSV: Exportify's classic columns (so tools that read Exportify files read
  ours, and our own importer re-imports them to the same rows), then Genres and
  our own columns. One line per playlist item: a track present three times is
  written three times. Text a spreadsheet would run as a formula is neutralised.
- JSON: one object per playlist, its metadata and a list of tracks.
- Parquet: one row per warehouse row with the playlist's name, typed by
  `PARQUET_SCHEMA` (documented in docs/warehouse.md), in row groups.
"""

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from warehouse.schema import COLUMN_NAMES, FILE_DETAIL_COLUMNS

Row = Mapping[str, Any]
# The columns of `playlist_tracks` a download has, and the playlist's name. Not yet
# the label and audio features of Exportify files (FILE_DETAIL_COLUMNS): their 13
# columns took a 100,000-row Parquet download from 43 to 62 MB, over its 60 MB
# budget (tests/dashboard/test_download_memory.py); they wait for a leaner writer.
_NOT_DOWNLOADED = frozenset(name for name, _, _ in FILE_DETAIL_COLUMNS)
DOWNLOADED_COLUMNS = tuple(name for name in COLUMN_NAMES if name not in _NOT_DOWNLOADED)
ROW_COLUMNS = (*DOWNLOADED_COLUMNS, "playlist_name")
PLAYLIST_COLUMNS = (
    "playlist_id",
    "name",
    "description",
    "owner_id",
    "owner_name",
    "public",
    "collaborative",
    "source",
    "snapshot_id",
    "total_items",
    "last_ingested_at",
)
ROWS_PER_BATCH = 10_000
PARQUET_COMPRESSION = "zstd"

# --- CSV -------------------------------------------------------------------------------
EXPORTIFY_COLUMNS = (
    "Track URI",
    "Track Name",
    "Artist URI(s)",
    "Artist Name(s)",
    "Album URI",
    "Album Name",
    "Album Artist URI(s)",
    "Album Artist Name(s)",
    "Album Release Date",
    "Album Image URL",
    "Disc Number",
    "Track Number",
    "Track Duration (ms)",
    "Track Preview URL",
    "Explicit",
    "Popularity",
    "ISRC",
    "Added By",
    "Added At",
    "Genres",
)
OUR_COLUMNS = ("Release Year", "Occurrences", "First Seen At", "Removed At", "Local File")
CSV_HEADER = (*EXPORTIFY_COLUMNS, *OUR_COLUMNS)
# A cell starting with one of these is run as a formula by Excel, LibreOffice or
# Google Sheets (OWASP's CSV injection list); a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def neutralise(value: str) -> str:
    """`value`, made plain text for a spreadsheet if it would run as a formula."""
    return "'" + value if value and value[0] in _FORMULA_FIRST else value


def track_uri(row: Row) -> str:
    track_id = str(row["track_id"])
    if row["is_local"] or track_id.startswith("spotify:"):
        return track_id
    return f"spotify:track:{track_id}"


def csv_record(row: Row) -> list[str]:
    """One CSV line's cells for a warehouse row, in `CSV_HEADER` order.

    Only free text (names, genres, ISRC) can start like a formula: URIs start
    with "spotify:", and numbers and dates are ours."""
    artist_ids = [artist_id for artist_id in row["artist_ids"] or [] if artist_id]
    return [
        track_uri(row),
        neutralise(row["track_name"] or ""),
        ",".join(f"spotify:artist:{artist_id}" for artist_id in artist_ids),
        # Exportify's convention, which our importer reads: commas inside a
        # name escaped, names joined by ", ".
        neutralise(", ".join(name.replace(",", "\\,") for name in row["artist_names"] or [])),
        f"spotify:album:{row['album_id']}" if row["album_id"] else "",
        neutralise(row["album_name"] or ""),
        "",  # album artists: not in the warehouse
        "",
        neutralise(row["album_release_date"] or ""),
        "",  # image, disc and track number: not in the warehouse
        "",
        "",
        _text(row["track_duration_ms"]),
        "",  # preview URL: Spotify stopped sending it
        _boolean(row["track_explicit"]),
        _text(row["track_popularity"]),
        neutralise(row["track_isrc"] or ""),
        f"spotify:user:{row['added_by']}" if row["added_by"] else "",
        _moment(row["added_at"]),
        neutralise(",".join(row["track_genres"] or [])),
        # Ours:
        _text(row["release_year"]),
        _text(row["occurrences"]),
        _moment(row["first_seen_at"]),
        _moment(row["removed_at"]),
        _boolean(row["is_local"]),
    ]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _boolean(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _moment(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def with_repeats(rows: Iterable[Row]) -> Iterator[Row]:
    """Each row as many times as the playlist has it (`occurrences`), the repeats
    right after the track. The warehouse keeps a repeated track once with its
    count, and (since positions became order keys, see docs/warehouse.md) not
    where its repeats stood, so they cannot go back to their own places.
    Removed rows are written once."""
    for row in rows:
        yield from [row] * (1 if row["removed_at"] else max(1, row["occurrences"]))


def csv_chunks(rows: Iterable[Row]) -> Iterator[bytes]:
    """A whole CSV file (UTF-8, header first), a batch of lines at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for batch in _batches(with_repeats(rows), 1000):
        writer.writerows(csv_record(row) for row in batch)
        yield _drain(buffer).encode()
    yield _drain(buffer).encode()


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


# --- JSON ------------------------------------------------------------------------------
TRACK_JSON_COLUMNS = tuple(c for c in DOWNLOADED_COLUMNS if c not in ("playlist_id", "loaded_at"))


def json_playlist_chunks(playlist: Row, rows: Iterable[Row]) -> Iterator[bytes]:
    """One playlist as a JSON object: its metadata, then `"tracks": [...]`."""
    head = orjson.dumps({column: playlist[column] for column in PLAYLIST_COLUMNS})
    yield head[:-1] + b',"tracks":['
    separator = b""
    for batch in _batches(rows, 1000):
        parts = [orjson.dumps({c: row[c] for c in TRACK_JSON_COLUMNS}) for row in batch]
        yield separator + b",".join(parts)
        separator = b","
    yield b"]}"


def json_library_chunks(
    playlists: Iterable[Row], rows_of: Callable[[Row], Iterable[Row]]
) -> Iterator[bytes]:
    """Several playlists as a JSON array of `json_playlist_chunks` objects."""
    yield b"["
    separator = b""
    for playlist in playlists:
        yield separator
        yield from json_playlist_chunks(playlist, rows_of(playlist))
        separator = b","
    yield b"]"


# --- Parquet ---------------------------------------------------------------------------
_TIMESTAMP = pa.timestamp("us", tz="UTC")
_STRINGS = pa.list_(pa.string())
PARQUET_SCHEMA = pa.schema(
    [
        pa.field("playlist_id", pa.string(), nullable=False),
        pa.field("playlist_name", pa.string()),
        pa.field("track_id", pa.string(), nullable=False),
        pa.field("track_name", pa.string()),
        pa.field("track_duration_ms", pa.int32()),
        pa.field("track_duration_sec", pa.float64()),
        pa.field("track_popularity", pa.int16()),
        pa.field("track_genres", _STRINGS),
        pa.field("track_isrc", pa.string()),
        pa.field("track_explicit", pa.bool_()),
        pa.field("album_id", pa.string()),
        pa.field("album_name", pa.string()),
        pa.field("album_release_date", pa.string()),
        pa.field("album_release_date_precision", pa.string()),
        pa.field("release_year", pa.int16()),
        pa.field("artist_ids", _STRINGS),
        pa.field("artist_names", _STRINGS),
        pa.field("position", pa.int32(), nullable=False),
        pa.field("occurrences", pa.int32(), nullable=False),
        pa.field("added_at", _TIMESTAMP),
        pa.field("added_by", pa.string()),
        pa.field("is_local", pa.bool_(), nullable=False),
        pa.field("first_seen_at", _TIMESTAMP, nullable=False),
        pa.field("last_seen_at", _TIMESTAMP, nullable=False),
        pa.field("removed_at", _TIMESTAMP),
        pa.field("source", pa.string(), nullable=False),
        pa.field("loaded_at", _TIMESTAMP, nullable=False),
    ]
)


def record_batches(rows: Iterable[Row], size: int = ROWS_PER_BATCH) -> Iterator[pa.RecordBatch]:
    """Rows (from anywhere: a past version, a test) as record batches of `size` rows."""
    for batch in _batches(rows, size):
        arrays = [
            pa.array([row[field.name] for row in batch], type=field.type)
            for field in PARQUET_SCHEMA
        ]
        yield pa.RecordBatch.from_arrays(arrays, schema=PARQUET_SCHEMA)


_JSON_PARSING = pa_json.ParseOptions(
    explicit_schema=PARQUET_SCHEMA, unexpected_field_behavior="error"
)


def json_lines_batch(lines: bytes) -> pa.RecordBatch:
    """Rows written as one JSON object a line (keyed by `ROW_COLUMNS`, timestamps in
    ISO 8601, UTC when they have no offset) as one record batch of `PARQUET_SCHEMA`,
    typed by Arrow's JSON reader without a Python object per row."""
    table = pa_json.read_json(pa.py_buffer(lines), parse_options=_JSON_PARSING)
    (batch,) = table.select(PARQUET_SCHEMA.names).cast(PARQUET_SCHEMA).combine_chunks().to_batches()
    return batch


class BinarySink(Protocol):
    def write(self, data: bytes, /) -> object: ...


def write_parquet(
    batches: Iterable[pa.RecordBatch],
    sink: BinarySink | str,
    *,
    on_batch: Callable[[int], object] | None = None,
) -> int:
    """Write record batches as one Parquet file, a row group per batch (see
    `queries.export_batches`, or `record_batches` for rows).

    Returns the number of rows; `on_batch(count)` is called after each group.
    An export of no rows is still a valid file with the schema.
    """
    total = 0
    with pq.ParquetWriter(sink, PARQUET_SCHEMA, compression=PARQUET_COMPRESSION) as writer:
        for batch in batches:
            writer.write_batch(batch, row_group_size=max(1, batch.num_rows))
            total += batch.num_rows
            if on_batch is not None:
                on_batch(batch.num_rows)
    return total


# `manage.py export --partition`: the name people give, the column it splits by.
PARTITIONS = {"playlist": "playlist_id", "source": "source"}
# Files a partitioned export keeps open at once (each holds its writer's buffers); a
# partition seen again after its file was closed gets one more file (part-1, …).
PARTITION_OPEN_FILES = 8


def write_parquet_partitioned(
    batches: Iterable[pa.RecordBatch],
    directory: Path,
    *,
    by: str,
    on_batch: Callable[[int], object] | None = None,
) -> int:
    """Write record batches as a Hive-style partitioned folder, `directory/COLUMN=VALUE/
    part-0.parquet` (VALUE percent-encoded, as Arrow writes and DuckDB and pandas read
    it back; the column itself lives in the folder name), splitting by the column of
    `PARTITIONS[by]`. Rows sorted by that column (playlist ids, as exports come) make
    one file per value; memory holds `PARTITION_OPEN_FILES` writers and one batch.

    Returns the number of rows; `on_batch(count)` is called after each batch.
    """
    column = PARTITIONS[by]
    schema = PARQUET_SCHEMA.remove(PARQUET_SCHEMA.get_field_index(column))
    writers: dict[str, pq.ParquetWriter] = {}
    files: dict[str, int] = {}
    total = 0
    try:
        for batch in batches:
            for value, piece in _split(batch, column):
                writer = writers.pop(value, None) or _partition_writer(
                    directory, column, value, files, schema
                )
                writers[value] = writer  # the most recently used last
                writer.write_batch(piece, row_group_size=max(1, piece.num_rows))
                while len(writers) > PARTITION_OPEN_FILES:
                    writers.pop(next(iter(writers))).close()
            total += batch.num_rows
            if on_batch is not None:
                on_batch(batch.num_rows)
    finally:
        for writer in writers.values():
            writer.close()
    return total


def _split(batch: pa.RecordBatch, column: str) -> Iterator[tuple[str, pa.RecordBatch]]:
    """(value, the batch's rows with that value, without the column) per value of
    `column`: slices when each value's rows are together (playlist ids, as exports
    sort them), else a filter per value (a few sources over many playlists)."""
    values = batch.column(column)
    runs = pc.run_end_encode(values)
    distinct = pc.unique(values).to_pylist()
    if len(runs.values) == len(distinct):
        start = 0
        for end, value in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
            yield value, batch.slice(start, end - start).drop_columns([column])
            start = end
        return
    for value in distinct:
        yield value, batch.filter(pc.equal(values, value)).drop_columns([column])


def _partition_writer(
    directory: Path, column: str, value: str, files: dict[str, int], schema: pa.Schema
) -> pq.ParquetWriter:
    folder = directory / f"{column}={quote(value, safe='')}"
    folder.mkdir(parents=True, exist_ok=True)
    number = files[value] = files.get(value, -1) + 1
    return pq.ParquetWriter(
        folder / f"part-{number}.parquet", schema, compression=PARQUET_COMPRESSION
    )


class _Pipe:
    """A write-only file whose bytes are taken out after each write (for streaming)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def parquet_chunks(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """A Parquet file of record batches, a row group at a time (for a streamed download)."""
    pipe = _Pipe()
    with pq.ParquetWriter(
        pa.PythonFile(pipe, mode="w"), PARQUET_SCHEMA, compression=PARQUET_COMPRESSION
    ) as writer:
        for batch in batches:
            writer.write_batch(batch, row_group_size=max(1, batch.num_rows))
            yield pipe.take()
    yield pipe.take()


# --- ZIP and file names -------------------------------------------------------------------
def zip_chunks(entries: Iterable[tuple[str, Iterable[bytes]]]) -> Iterator[bytes]:
    """A ZIP file of (name, content chunks) entries, written as it is read: each
    entry is deflated chunk by chunk, and nothing is held but the current chunk."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, chunks in entries:
            with archive.open(name, mode="w", force_zip64=True) as entry:
                for chunk in chunks:
                    entry.write(chunk)
                    yield pipe.take()
            yield pipe.take()
    yield pipe.take()


# Characters no file system (Windows being the strictest) accepts in a name.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)
MAX_NAME_CHARACTERS = 100


def safe_file_name(name: str, suffix: str) -> str:
    """`name` as a file name every OS accepts (`suffix` appended): characters
    Windows, macOS or Linux refuse become "_", no leading or trailing dots or
    spaces, no reserved device names, at most MAX_NAME_CHARACTERS."""
    stem = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).strip(" .")
    stem = stem[:MAX_NAME_CHARACTERS].rstrip(" .") or "playlist"
    if _RESERVED.match(stem):
        stem = f"{stem}_"
    return f"{stem}{suffix}"


def unique_names(names: Iterable[str]) -> Iterator[str]:
    """The names, with " (2)", " (3)"… before the suffix of a name seen already."""
    seen: set[str] = set()
    for name in names:
        stem, dot, suffix = name.rpartition(".")
        if not dot:
            stem, suffix = name, ""
        candidate, number = name, 1
        while candidate.casefold() in seen:
            number += 1
            candidate = f"{stem} ({number}){dot}{suffix}"
        seen.add(candidate.casefold())
        yield candidate

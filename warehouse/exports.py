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
from itertools import islice
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from warehouse.schema import AUDIO_FEATURE_NAMES, COLUMN_NAMES, FILE_DETAIL_COLUMNS

Row = Mapping[str, Any]
# Every column of `playlist_tracks` (the label and audio features of Exportify files,
# FILE_DETAIL_COLUMNS, included), and the playlist's name.
DOWNLOADED_COLUMNS = COLUMN_NAMES
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
AUDIO_FEATURE_HEADERS = (
    "Danceability",
    "Energy",
    "Key",
    "Loudness",
    "Mode",
    "Speechiness",
    "Acousticness",
    "Instrumentalness",
    "Liveness",
    "Valence",
    "Tempo",
    "Time Signature",
)
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
    # exportify.app's audio features and label, where its files have them (after the
    # genres; its "Album Genres" and "Copyrights" are not in the warehouse), under its
    # English names (ingestion.files.exportify_headers), which our importer reads back.
    *AUDIO_FEATURE_HEADERS,
    "Label",
)
OUR_COLUMNS = ("Release Year", "Occurrences", "First Seen At", "Removed At", "Local File")
CSV_HEADER = (*EXPORTIFY_COLUMNS, *OUR_COLUMNS)
# A cell starting with one of these is run as a formula by Excel, LibreOffice or
# Google Sheets (OWASP's CSV injection list); a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def batch_with_repeats(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Each row as many times as the playlist has it (`occurrences`), the repeats
    right after the track. The warehouse keeps a repeated track once with its
    count, and (since positions became order keys, see docs/warehouse.md) not
    where its repeats stood, so they cannot go back to their own places.
    Removed rows are written once."""
    occurrences = batch.column("occurrences").to_numpy(zero_copy_only=False)
    removed = batch.column("removed_at").is_valid().to_numpy(zero_copy_only=False)
    counts = np.where(removed, 1, np.maximum(1, occurrences))
    if (counts == 1).all():
        return batch
    return batch.take(pa.array(np.repeat(np.arange(batch.num_rows), counts)))


def csv_chunks(rows: Iterable[Row]) -> Iterator[bytes]:
    """A whole CSV file (UTF-8, header first) of rows, a batch of lines at a time."""
    return csv_batch_chunks(record_batches(rows, size=1000))


def csv_batch_chunks(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """A whole CSV file (UTF-8, header first) of record batches of `PARQUET_SCHEMA`,
    a batch at a time, quoted as Python's `csv.writer` quotes (minimal quoting,
    CRLF line ends).

    Each column is made text by Arrow's compute functions, not a Python call per
    cell: a 10,000-row playlist made that way took 30× the time of its query."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(CSV_HEADER)
    yield header.getvalue().encode()
    for batch in batches:
        if batch.num_rows:
            yield csv_lines(batch_with_repeats(batch))


def csv_lines(batch: pa.RecordBatch) -> bytes:
    """The batch's CSV lines, one per row (cells in `CSV_HEADER` order, see `csv_cells`)."""
    parts: list[Any] = [""]  # literal text (separators, empty cells) and cells, in turn
    for number, (name, cell) in enumerate(zip(CSV_HEADER, csv_cells(batch), strict=True)):
        parts[-1] += "," if number else ""
        if cell.null_count < len(cell):  # else every cell empty (often: album artists…)
            parts += [pc.fill_null(cell, "") if name in _NEVER_QUOTED else _csv_quoted(cell), ""]
    lines = pc.binary_join_element_wise(*parts, "")
    text = pc.binary_join(pa.ListArray.from_arrays([0, len(lines)], lines), "\r\n")[0]
    data: bytes = text.as_buffer().to_pybytes()
    return data + b"\r\n"


def csv_cells(batch: pa.RecordBatch) -> list[pa.Array]:
    """A CSV line's cells for each row of the batch, column by column (no nulls), in
    `CSV_HEADER` order.

    Only free text (names, genres, ISRC) can start like a formula: URIs start
    with "spotify:", and numbers and dates are ours."""
    column = batch.column
    empty = pa.nulls(batch.num_rows, pa.string())
    track_id = column("track_id")
    keep_id = pc.or_(column("is_local"), pc.starts_with(track_id, "spotify:"))
    return [
        pc.if_else(keep_id, track_id, pc.binary_join_element_wise("spotify:track:", track_id, "")),
        _neutralised(column("track_name")),
        _joined(_prefixed("spotify:artist:", _non_empty(column("artist_ids"))), ","),
        # Exportify's convention, which our importer reads: commas inside a
        # name escaped, names joined by ", ".
        _neutralised(_joined(_escaped_commas(column("artist_names")), ", ")),
        _prefixed("spotify:album:", column("album_id")),
        _neutralised(column("album_name")),
        empty,  # album artists: not in the warehouse
        empty,
        _neutralised(column("album_release_date")),
        empty,  # image, disc and track number: not in the warehouse
        empty,
        empty,
        column("track_duration_ms").cast(pa.string()),
        empty,  # preview URL: Spotify stopped sending it
        column("track_explicit").cast(pa.string()),  # "true", "false"
        column("track_popularity").cast(pa.string()),
        _neutralised(column("track_isrc")),
        _prefixed("spotify:user:", column("added_by")),
        _moments(column("added_at")),
        _neutralised(_joined(column("track_genres"), ",")),
        *(column(name).cast(pa.string()) for name in AUDIO_FEATURE_NAMES),
        _neutralised(column("album_label")),
        # Ours:
        column("release_year").cast(pa.string()),
        column("occurrences").cast(pa.string()),
        _moments(column("first_seen_at")),
        _moments(column("removed_at")),
        column("is_local").cast(pa.string()),
    ]


def _neutralised(text: pa.Array) -> pa.Array:
    """`neutralise` for every cell (a null cell is empty)."""
    text = pc.fill_null(text, "")
    runs = pc.match_substring_regex(text, _FORMULA_PATTERN)
    if not pc.any(runs).as_py():  # the usual case: nothing to change
        return text
    return pc.if_else(runs, pc.binary_join_element_wise("'", text, ""), text)


_FORMULA_PATTERN = "^[" + re.escape("".join(FORMULA_STARTS)) + "]"


def _prefixed(prefix: str, values: pa.Array) -> pa.Array:
    """`prefix` + each non-empty value (lists: each element); null or "" stays null."""
    if pa.types.is_list(values.type):
        return _relisted(values, _prefixed(prefix, pc.list_flatten(values)))
    values = pc.if_else(pc.equal(values, ""), None, values)
    return pc.binary_join_element_wise(prefix, values, "")


def _non_empty(lists: pa.Array) -> pa.Array:
    """Each list without its null and empty strings (an artist id can be missing)."""
    flat = pc.list_flatten(lists)
    kept = pc.fill_null(pc.not_equal(flat, ""), False)
    if pc.all(kept).as_py() is not False:
        return lists
    parents = pc.list_parent_indices(lists).to_numpy()[kept.to_numpy(zero_copy_only=False)]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(parents, minlength=len(lists)))])
    return pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), flat.filter(kept), mask=lists.is_null()
    )


def _escaped_commas(lists: pa.Array) -> pa.Array:
    return _relisted(lists, pc.replace_substring(pc.list_flatten(lists), ",", "\\,"))


def _relisted(lists: pa.Array, flat: pa.Array) -> pa.Array:
    """`lists` with its flattened elements replaced by `flat` (as many, in order)."""
    offsets = pc.subtract(lists.offsets, lists.offsets[0])  # a slice's start at 0
    return pa.ListArray.from_arrays(offsets, flat, mask=lists.is_null())


def _joined(lists: pa.Array, separator: str) -> pa.Array:
    """Each list's strings joined by `separator`; a null list is empty."""
    return pc.binary_join(lists, separator)


def _moments(moments: pa.Array) -> pa.Array:
    """UTC timestamps as ISO 8601 with "Z", microseconds only when there are some
    (what `datetime.isoformat` writes)."""
    return pc.binary_join_element_wise(_iso_moments(moments), "Z", "")


def _iso_moments(moments: pa.Array) -> pa.Array:
    """UTC timestamps as "2024-03-01T12:30:05" (".000250" when there are microseconds),
    no zone: Arrow's cast to text, 50× faster than its `strftime`."""
    text = moments.cast(pa.timestamp(moments.type.unit)).cast(pa.string())  # "… 12:30:05.000000"
    text = pc.utf8_replace_slice(text, start=10, stop=11, replacement="T")
    return pc.if_else(pc.ends_with(text, ".000000"), pc.utf8_slice_codeunits(text, 0, 19), text)


# Cells that are ours (numbers, booleans, dates) or always empty: never a comma or quote.
_NEVER_QUOTED = frozenset(
    ("Album Artist URI(s)", "Album Artist Name(s)", "Album Image URL", "Disc Number")
    + ("Track Number", "Track Duration (ms)", "Track Preview URL", "Explicit", "Popularity")
    + ("Added At", "Release Year", "Occurrences", "First Seen At", "Removed At", "Local File")
    + AUDIO_FEATURE_HEADERS
)
# Python's csv.writer (minimal quoting) quotes a cell holding one of these.
_NEEDS_QUOTES = '[,"\r\n]'


def _csv_quoted(cells: pa.Array) -> pa.Array:
    """Cells as `csv.writer` writes them: null as empty, quoted when needed."""
    cells = pc.fill_null(cells, "")
    needed = pc.match_substring_regex(cells, _NEEDS_QUOTES)
    if not pc.any(needed).as_py():
        return cells
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(cells, '"', '""'), '"', "")
    return pc.if_else(needed, quoted, cells)


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


# --- JSON ------------------------------------------------------------------------------
TRACK_JSON_COLUMNS = tuple(c for c in DOWNLOADED_COLUMNS if c not in ("playlist_id", "loaded_at"))


def json_playlist_chunks(playlist: Row, rows: Iterable[Row]) -> Iterator[bytes]:
    """One playlist as a JSON object: its metadata, then `"tracks": [...]`."""
    texts = (
        [orjson.dumps({column: row[column] for column in TRACK_JSON_COLUMNS}) for row in batch]
        for batch in _batches(rows, 1000)
    )
    return _json_playlist(playlist, texts)


def json_batch_chunks(playlist: Row, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """`json_playlist_chunks` for record batches of `PARQUET_SCHEMA`, the same bytes.

    Each column is made JSON text by Arrow's compute functions (`_json_values`), and
    a batch's objects are joined from them: making Python values for every cell and
    an orjson call per row took most of a 10,000-track download."""
    return _json_playlist(playlist, (_json_tracks(batch) for batch in batches))


def _json_tracks(batch: pa.RecordBatch) -> list[bytes]:
    """The batch's rows as JSON objects keyed by `TRACK_JSON_COLUMNS`, joined by ","
    (one text), as `orjson.dumps` writes each row's dict."""
    if not batch.num_rows:
        return []
    parts: list[Any] = [""]  # literal text and columns of text, in turn
    for number, name in enumerate(TRACK_JSON_COLUMNS):
        parts[-1] += ("{" if number == 0 else ",") + orjson.dumps(name).decode() + ":"
        values = batch.column(name)
        if values.null_count == len(values):  # often: a column only some files have
            parts[-1] += "null"
        else:
            parts += [_json_values(values), ""]
    parts[-1] += "}"
    objects = pc.binary_join_element_wise(*parts, "")
    text = pc.binary_join(pa.ListArray.from_arrays([0, len(objects)], objects), ",")[0]
    return [text.as_buffer().to_pybytes()]


def _json_values(values: pa.Array) -> pa.Array:
    """Each value as orjson writes it (a null as `null`): strings escaped, timestamps
    (UTC) in ISO 8601 with "+00:00", numbers in the shortest form that reads back."""
    kind = values.type
    if pa.types.is_list(kind):
        elements = _relisted(values, _json_values(pc.list_flatten(values)))
        texts = pc.binary_join_element_wise("[", pc.binary_join(elements, ","), "]", "")
    elif pa.types.is_string(kind):
        texts = _json_strings(values)
    elif pa.types.is_timestamp(kind):  # UTC, see PARQUET_SCHEMA
        texts = pc.binary_join_element_wise('"', _iso_moments(values), '+00:00"', "")
    elif pa.types.is_floating(kind):
        # orjson itself (its float formatting, NaN as null) over the whole column.
        numbers = pc.fill_null(values, float("nan")).to_numpy(zero_copy_only=False)
        listed = orjson.dumps(numbers.astype(np.float64), option=orjson.OPT_SERIALIZE_NUMPY)
        return pc.list_flatten(pc.split_pattern(pa.array([listed[1:-1].decode()]), ","))
    else:  # integers and booleans: Arrow's text is JSON's
        texts = values.cast(pa.string())
    return pc.fill_null(texts, "null")


_JSON_ESCAPED = r'[\x00-\x1f"\\]'  # what orjson escapes in a string


def _json_strings(values: pa.Array) -> pa.Array:
    special = pc.match_substring_regex(values, _JSON_ESCAPED)
    if pc.any(special).as_py():
        if pc.any(pc.match_substring_regex(values, r"[\x00-\x1f]")).as_py():
            # Control characters (rare): orjson writes the column cell by cell.
            return pa.array([orjson.dumps(value).decode() for value in values.to_pylist()])
        values = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', values, '"', "")


def _json_playlist(playlist: Row, track_texts: Iterable[list[bytes]]) -> Iterator[bytes]:
    head = orjson.dumps({column: playlist[column] for column in PLAYLIST_COLUMNS})
    yield head[:-1] + b',"tracks":['
    separator = b""
    for texts in track_texts:
        if texts:
            yield separator + b",".join(texts)
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
_ARROW_TYPES = {"text": pa.string(), "real": pa.float64(), "smallint": pa.int16()}
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
        # Exportify files' label and audio features (null for other sources).
        *(pa.field(name, _ARROW_TYPES[sql_type]) for name, sql_type, _ in FILE_DETAIL_COLUMNS),
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


# PostgreSQL's `COPY (SELECT …) TO STDOUT (FORMAT csv)` of `ROW_COLUMNS`: its text as
# PostgreSQL writes it (booleans t/f, timestamps "2024-03-01 12:30:05+00", NULL an
# unquoted empty field and "" a quoted one, jsonb arrays as their JSON text).
_LIST_COLUMNS = tuple(f.name for f in PARQUET_SCHEMA if pa.types.is_list(f.type))
# One thread: a batch is small, and the database and other requests want the cores.
_COPY_READING = pa_csv.ReadOptions(column_names=list(ROW_COLUMNS), use_threads=False)
_COPY_PARSING = pa_csv.ParseOptions(newlines_in_values=True)  # a name may hold a line end
_RECORD_PARSING = pa_csv.ParseOptions(newlines_in_values=True, escape_char="\\")
_COPY_CONVERSION = pa_csv.ConvertOptions(
    column_types={
        field.name: pa.string() if field.name in _LIST_COLUMNS else field.type
        for field in PARQUET_SCHEMA
    },
    null_values=[""],
    strings_can_be_null=True,
    quoted_strings_can_be_null=False,
    true_values=["t"],
    false_values=["f"],
)
_ONE_THREAD = pa_json.ReadOptions(use_threads=False)
_LIST_PARSING = pa_json.ParseOptions(
    explicit_schema=pa.schema([PARQUET_SCHEMA.field(name) for name in _LIST_COLUMNS]),
    unexpected_field_behavior="error",
)


def copied_csv_batch(data: bytes, *, record_text: bool = False) -> pa.RecordBatch:
    """Rows as PostgreSQL's COPY writes them in CSV (the columns of `ROW_COLUMNS`, in
    that order, no header) as one record batch of `PARQUET_SCHEMA`, without a Python
    object per row: Arrow's CSV reader types the columns, and the JSON array columns
    (genres, artist ids and names) are typed by its JSON reader, one line of the three
    per row put together column-wise. `record_text`: the lines are records' text
    without their parentheses (`ROW(…)::text`: CSV's quoting, backslashes doubled)."""
    table = pa_csv.read_csv(
        pa.py_buffer(data),
        read_options=_COPY_READING,
        parse_options=_RECORD_PARSING if record_text else _COPY_PARSING,
        convert_options=_COPY_CONVERSION,
    )
    parts: list[Any] = []
    for number, name in enumerate(_LIST_COLUMNS):
        parts += [("," if number else "") + f'"{name}":', table.column(name).combine_chunks()]
    lines = pc.binary_join_element_wise("{", *parts, "}", "")
    text = pc.binary_join(pa.ListArray.from_arrays([0, len(lines)], lines), "\n")[0]
    lists = pa_json.read_json(
        pa.py_buffer(text.as_buffer()), read_options=_ONE_THREAD, parse_options=_LIST_PARSING
    )
    columns = [
        (lists if field.name in _LIST_COLUMNS else table).column(field.name).combine_chunks()
        for field in PARQUET_SCHEMA
    ]
    return pa.RecordBatch.from_arrays(columns, schema=PARQUET_SCHEMA)


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

"""Exportify CSV (one file per playlist) → a playlist snapshot.

Columns are read by name, so both the classic layout and newer ones (extra
columns such as Genres, Record Label, audio features; some renamed) work. The
playlist name is the file name: Exportify turns characters such as spaces and
punctuation into "_" (and newer versions lowercase it), so "_" reads as a space.

Genres: Exportify writes, per row, the genres of all the row's artists joined
together, while the transform unions genres per artist id. Each artist gets the
genres common to every row it appears on (the intersection): if a row's genres
are the union of its artists' genres, that reconstructs each row exactly, and a
collaboration never lends its guest's genres to the artist's solo tracks.
"""

import csv
import re
from datetime import UTC
from pathlib import Path

from django.utils.dateparse import parse_datetime

from ingestion.files.errors import InvalidImportFile
from ingestion.files.identity import content_hash, derived_playlist_id, spotify_id_from_uri
from ingestion.files.reading import read_playlist_file_bytes, text_stream
from ingestion.files.spotify_export import local_track
from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem, PlaylistSnapshot, Track
from warehouse.models import Source

ID_PREFIX = "exportify"
REQUIRED = ("Track URI", "Track Name")
# Field → accepted header names, the classic one first.
COLUMNS = {
    "uri": ("Track URI",),
    "name": ("Track Name",),
    "artist_uris": ("Artist URI(s)",),
    "artist_names": ("Artist Name(s)",),
    "album_uri": ("Album URI",),
    "album_name": ("Album Name",),
    "release_date": ("Album Release Date", "Release Date"),
    "duration_ms": ("Track Duration (ms)", "Duration (ms)"),
    "explicit": ("Explicit", "Explicit?"),
    "popularity": ("Popularity",),
    "isrc": ("ISRC",),
    "added_by": ("Added By",),
    "added_at": ("Added At",),
    "genres": ("Genres", "Artist Genres"),
}
PRECISION_BY_LENGTH = {4: "year", 7: "month", 10: "day"}
# Exportify escapes commas inside an artist's name as "\," before joining names
# with ", " (older versions joined with ","), so split only on unescaped commas.
_NAME_SEPARATOR = re.compile(r"(?<!\\),\s*")


def read_exportify(path: Path, *, owner_key: str = "") -> PlaylistSnapshot:
    reader = csv.DictReader(text_stream(read_playlist_file_bytes(path), source=path.name))
    try:
        columns = _column_map(reader.fieldnames or [], path.name)
        rows = list(_rows(reader, columns, path.name))
    except csv.Error as error:
        raise _unreadable_csv(path.name, reader, error) from error
    name = playlist_name(path)
    items = [_item(row, position) for position, row in enumerate(rows)]
    return PlaylistSnapshot(
        playlist_id=derived_playlist_id(ID_PREFIX, name, owner_key=owner_key),
        name=name,
        source=Source.EXPORTIFY,
        snapshot_id=content_hash([row.raw for row in rows]),
        total_items=len(items),
        items=items,
        artist_genres=_artist_genres(rows),
    )


def playlist_name(path: Path) -> str:
    return re.sub(r"[_\s]+", " ", path.stem).strip() or path.stem


def _column_map(fieldnames, source):
    """Field → the header this file uses for it; refuses files without the required ones."""
    headers = {header.strip().lstrip("\ufeff"): header for header in fieldnames if header}
    missing = [column for column in REQUIRED if column not in headers]
    if missing:
        found = ", ".join(headers) or "none (the file is empty)"
        raise InvalidImportFile(
            f"{source} is missing the column(s) {', '.join(missing)}, so it is not an "
            f"Exportify CSV. Columns found: {found}. Export the playlist again with Exportify."
        )
    return {
        field: next((headers[name] for name in names if name in headers), None)
        for field, names in COLUMNS.items()
    }


class _Row:
    """One CSV line's values by field, parsed and checked; `raw` feeds the snapshot id."""

    __slots__ = ("raw", "line", "source", "artist_ids", "genres")

    def __init__(self, values, line, source):
        self.raw = values
        self.line, self.source = line, source
        self.artist_ids = [
            spotify_id_from_uri(uri, "artist") for uri in _split(values["artist_uris"])
        ]
        self.genres = _genres(values["genres"])

    @property
    def where(self):
        return f"{self.source}, line {self.line}"

    def __getitem__(self, field):
        return self.raw[field]


def _unreadable_csv(source, reader, error):
    problem = str(error)
    if "field larger than field limit" in problem:
        # csv.field_size_limit() (131,072 characters): no Exportify column comes near it.
        problem = f"a field longer than {csv.field_size_limit():,} characters"
    # line_num counts the lines read before the one that failed.
    return InvalidImportFile(
        f"{source}, line {reader.line_num + 1} cannot be read as CSV ({problem}). "
        "Export the playlist again with Exportify."
    )


def _rows(reader, columns, source):
    for record in reader:
        line = reader.line_num
        if None in record:
            raise InvalidImportFile(
                f"{source}, line {line} has more fields than the header. A field with a comma "
                "is probably missing its quotes: export the playlist again."
            )
        values = {field: (record.get(header) or "").strip() for field, header in columns.items()}
        values["genres"] = None if columns["genres"] is None else values["genres"]
        yield _Row(values, line, source)


def _split(field):
    return [part for part in (p.strip() for p in field.split(",")) if part] if field else []


def _genres(field):
    """None when the file has no genre column (unknown), else the listed genres."""
    if field is None:
        return None
    return list(dict.fromkeys(_split(field)))


def _item(row, position):
    uri = row["uri"]
    if uri.startswith("spotify:episode:"):
        return PlaylistItem(position=position, kind=ItemKind.EPISODE)
    common = {
        "position": position,
        "added_at": _added_at(row),
        "added_by": _added_by(row["added_by"]),
    }
    if uri.startswith("spotify:local:"):
        track = _with_row_names(local_track(uri), row)
        return PlaylistItem(kind=ItemKind.LOCAL, track=track, **common)
    track_id = spotify_id_from_uri(uri, "track")
    if not track_id:
        return PlaylistItem(kind=ItemKind.UNAVAILABLE, **common)
    return PlaylistItem(kind=ItemKind.TRACK, track=_track(row, track_id), **common)


def _track(row, track_id):
    release_date = row["release_date"] or None
    return Track(
        id=track_id,
        uri=row["uri"],
        name=row["name"],
        duration_ms=_integer(row, "duration_ms"),
        explicit=_boolean(row["explicit"]),
        isrc=row["isrc"] or None,
        popularity=_integer(row, "popularity"),
        album_id=spotify_id_from_uri(row["album_uri"], "album"),
        album_name=row["album_name"] or None,
        album_release_date=release_date,
        album_release_date_precision=PRECISION_BY_LENGTH.get(len(release_date or "")),
        artists=_artists(row),
    )


def _artists(row):
    names = [name.replace("\\,", ",") for name in _NAME_SEPARATOR.split(row["artist_names"])]
    names = [name for name in names if name]
    ids = row.artist_ids
    if len(ids) != len(names) and len(ids) == 1:
        # One artist whose name has an unescaped comma ("Tyler, The Creator").
        names = [row["artist_names"]]
    count = max(len(ids), len(names))
    return tuple(
        ArtistRef(
            id=ids[index] if index < len(ids) else None,
            name=names[index] if index < len(names) else "",
        )
        for index in range(count)
    )


def _with_row_names(track, row):
    """A local file: Exportify's columns name it better than its URI does."""
    artists = tuple(ArtistRef(id=None, name=name) for name in _split(row["artist_names"]))
    return Track(
        id=None,
        uri=track.uri,
        name=row["name"] or track.name,
        duration_ms=_integer(row, "duration_ms") or track.duration_ms,
        explicit=_boolean(row["explicit"]),
        album_name=row["album_name"] or track.album_name,
        artists=artists or track.artists,
    )


def _integer(row, field):
    value = row[field]
    if not value:
        return None
    try:
        return int(float(value)) if "." in value else int(value)
    except ValueError:
        column = COLUMNS[field][0]
        raise InvalidImportFile(f"{row.where}: {column} {value!r} is not a number.") from None


def _boolean(value):
    return {"true": True, "false": False}.get(value.lower())


def _added_by(value):
    """`spotify:user:<id>` → the user id, like the API source stores it."""
    return value.removeprefix("spotify:user:") or None


def _added_at(row):
    value = row["added_at"]
    if not value:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidImportFile(f"{row.where}: Added At {value!r} is not a date and time.")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _artist_genres(rows):
    """artist id → genres common to every row the artist appears on (see the module doc)."""
    genres = {}
    for row in rows:
        if row.genres is None:
            continue
        for artist_id in filter(None, row.artist_ids):
            known = genres.get(artist_id)
            genres[artist_id] = (
                list(row.genres) if known is None else [g for g in known if g in row.genres]
            )
    return genres

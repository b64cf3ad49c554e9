"""Exportify CSV (one file per playlist) → a playlist snapshot.

Columns are read by name, in any of the languages exportify.app writes its
header in (its own translation strings: `exportify_headers`), and the layout is
told by its columns: the classic one and newer ones (extra columns such as
Genres, Label, audio features), and the exportify.net fork's (pavelkomarov/
exportify: `Genres`, `Record Label`, several artists joined with ";" and no
artist ids). The playlist name is the file name: Exportify turns characters
such as spaces and punctuation into "_" (and newer versions lowercase it), so
"_" reads as a space.

Genres: a row's own genres are its track's genres (Exportify writes, per row,
the genres of the row's artists). They win over anything known per artist, and
need no artist id.
"""

import csv
import re
import unicodedata
from datetime import UTC
from pathlib import Path

from django.utils.dateparse import parse_datetime

from ingestion.files.errors import InvalidImportFile
from ingestion.files.exportify_headers import AUDIO_KEYS, HEADERS, KEYS
from ingestion.files.identity import (
    LIKED_SONGS,
    content_hash,
    derived_playlist_id,
    liked_songs_id,
    normalize_name,
    spotify_id_from_uri,
)
from ingestion.files.reading import read_playlist_file_bytes, text_stream
from ingestion.files.spotify_export import local_track
from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem, PlaylistSnapshot, Track
from warehouse.models import Source

ID_PREFIX = "exportify"
REQUIRED = ("uri", "name")
# Field → Exportify's translation key for its column (see exportify_headers).
FIELD_KEYS = {
    "uri": "track_uri",
    "name": "track_name",
    "artist_uris": "artist_uris",
    "artist_names": "artist_names",
    "album_uri": "album_uri",
    "album_name": "album_name",
    "release_date": "album_release_date",
    "duration_ms": "track_duration",
    "explicit": "explicit",
    "popularity": "popularity",
    "isrc": "isrc",
    "added_by": "added_by",
    "added_at": "added_at",
    "genres": "artist_genres",
    "label": "label",
    **{f"audio_{key}": key for key in AUDIO_KEYS},
}
# Headers no translation file has: older versions' and the exportify.net fork's.
OTHER_HEADERS = {
    "release_date": ("Release Date",),
    "duration_ms": ("Duration (ms)",),
    "explicit": ("Explicit?",),
    "genres": ("Genres",),
    "label": ("Record Label",),
}
FIELDS = tuple(FIELD_KEYS)
# Audio features: field → (lowest, highest) accepted value; whole numbers for
# key, mode and time signature. Spotify writes tempo 0 and key -1 for "not
# detected", and a time signature of 0 for none: kept as missing, not as values.
AUDIO_RANGES = {
    "audio_danceability": (0.0, 1.0),
    "audio_energy": (0.0, 1.0),
    "audio_key": (-1, 11),
    "audio_loudness": (-100.0, 10.0),
    "audio_mode": (0, 1),
    "audio_speechiness": (0.0, 1.0),
    "audio_acousticness": (0.0, 1.0),
    "audio_instrumentalness": (0.0, 1.0),
    "audio_liveness": (0.0, 1.0),
    "audio_valence": (0.0, 1.0),
    "audio_tempo": (0.0, 400.0),
    "audio_time_signature": (0, 12),
}
NOT_DETECTED = {"audio_tempo": 0, "audio_key": -1, "audio_time_signature": 0}
AUDIO_FIELDS = tuple(AUDIO_RANGES)
PRECISION_BY_LENGTH = {4: "year", 7: "month", 10: "day"}
# Exportify escapes commas inside an artist's name as "\," before joining names
# with ", " (older versions joined with ","), so split only on unescaped commas.
_NAME_SEPARATOR = re.compile(r"(?<!\\),\s*")
# The exportify.net fork joins artists with ";" (and writes no artist ids).
_FORK_SEPARATOR = ";"


def _normalized(header: str) -> str:
    """Headers compare without case, Unicode form, spacing or a byte-order mark."""
    text = unicodedata.normalize("NFKC", header.lstrip("\ufeff"))
    return " ".join(text.casefold().split())


def _header_fields():
    """normalized header → field, over every locale; and locale → its headers."""
    by_header = {}
    for headers in HEADERS.values():
        named = dict(zip(KEYS, headers, strict=True))
        for field, key in FIELD_KEYS.items():
            by_header.setdefault(_normalized(named[key]), field)
    for field, headers in OTHER_HEADERS.items():
        for header in headers:
            by_header.setdefault(_normalized(header), field)
    return by_header


HEADER_FIELDS = _header_fields()


def looks_like_exportify(first_line: str) -> bool:
    """Whether a CSV's first line names a track URI column in any language."""
    cells = {_normalized(cell.strip().strip('"')) for cell in first_line.split(",")}
    return any(HEADER_FIELDS.get(cell) == "uri" for cell in cells)


def read_exportify(path: Path, *, owner_key: str = "") -> PlaylistSnapshot:
    reader = csv.DictReader(text_stream(read_playlist_file_bytes(path), source=path.name))
    try:
        columns = _column_map(reader.fieldnames or [], path.name)
        rows = list(_rows(reader, columns, path.name))
    except csv.Error as error:
        raise _unreadable_csv(path.name, reader, error) from error
    name = playlist_name(path)
    playlist_id = derived_playlist_id(ID_PREFIX, name, owner_key=owner_key)
    if normalize_name(name) == normalize_name(LIKED_SONGS):
        # Exportify's export of the saved tracks: the owner's one Liked Songs.
        name, playlist_id = LIKED_SONGS, liked_songs_id(owner_key)
    items = [_item(row, position) for position, row in enumerate(rows)]
    return PlaylistSnapshot(
        playlist_id=playlist_id,
        name=name,
        source=Source.EXPORTIFY,
        snapshot_id=content_hash([row.raw for row in rows]),
        total_items=len(items),
        items=items,
    )


def playlist_name(path: Path) -> str:
    return re.sub(r"[_\s]+", " ", path.stem).strip() or path.stem


def _column_map(fieldnames, source):
    """Field → the header this file uses for it (None when absent); refuses a file
    without the required columns, naming them in the file's own language."""
    columns = dict.fromkeys(FIELDS)
    for header in fieldnames:
        field = HEADER_FIELDS.get(_normalized(header or ""))
        if field and columns[field] is None:
            columns[field] = header
    missing = [field for field in REQUIRED if columns[field] is None]
    if missing:
        raise _not_exportify(fieldnames, missing, source)
    return columns


def _not_exportify(fieldnames, missing, source):
    found = ", ".join(header.lstrip("\ufeff") for header in fieldnames if header)
    locale = _likely_locale(fieldnames)
    if locale is None:
        names = ", ".join(HEADERS["en"][KEYS.index(FIELD_KEYS[field])] for field in missing)
        return InvalidImportFile(
            f"{source} is missing the column(s) {names}, so it is not an Exportify CSV. "
            f"Columns found: {found or 'none (the file is empty)'}. "
            "Export the playlist again with Exportify."
        )
    names = ", ".join(f"“{_header(locale, field)}”" for field in missing)
    return InvalidImportFile(
        f"{source} looks like an Exportify CSV with its header in {locale!r} but has no "
        f"{names} column(s) ({', '.join(missing)}), which every Exportify CSV has: it was "
        f"probably edited. Columns found: {found}. Export the playlist again with Exportify."
    )


def _likely_locale(fieldnames):
    """The locale whose headers the file shares most (None: none at all)."""
    present = {_normalized(header or "") for header in fieldnames}
    shared = {
        locale: sum(_normalized(header) in present for header in headers)
        for locale, headers in HEADERS.items()
    }
    locale = max(shared, key=shared.get)
    return locale if shared[locale] else None


def _header(locale, field):
    return HEADERS[locale][KEYS.index(FIELD_KEYS[field])]


class _Row:
    """One CSV line's values by field, parsed and checked; `raw` feeds the snapshot id."""

    __slots__ = ("raw", "line", "source", "artist_ids", "genres", "joined_with_semicolons")

    def __init__(self, values, line, source, *, joined_with_semicolons=False):
        self.raw = values
        self.line, self.source = line, source
        self.artist_ids = [
            spotify_id_from_uri(uri, "artist") for uri in _split(values["artist_uris"])
        ]
        self.genres = _genres(values["genres"])
        self.joined_with_semicolons = joined_with_semicolons

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
        values = {
            field: (record.get(header) or "").strip() if header else ""
            for field, header in columns.items()
        }
        values["genres"] = None if columns["genres"] is None else values["genres"]
        # No artist-id column: the exportify.net fork, which joins artists with ";".
        yield _Row(values, line, source, joined_with_semicolons=columns["artist_uris"] is None)


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
        genres=None if row.genres is None else tuple(row.genres),
        label=row["label"] or None,
        audio=tuple(_audio_feature(row, field) for field in AUDIO_FIELDS),
    )


def _artist_names(row):
    if row.joined_with_semicolons:
        return [name.strip() for name in row["artist_names"].split(_FORK_SEPARATOR)]
    return [name.replace("\\,", ",") for name in _NAME_SEPARATOR.split(row["artist_names"])]


def _artists(row):
    names = _artist_names(row)
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
    names = _artist_names(row) if row.joined_with_semicolons else _split(row["artist_names"])
    artists = tuple(ArtistRef(id=None, name=name) for name in names if name)
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
        column = _header("en", field)
        raise InvalidImportFile(f"{row.where}: {column} {value!r} is not a number.") from None


def _audio_feature(row, field):
    """An audio feature's value, checked against its range; None when blank or
    Spotify's "not detected" (see NOT_DETECTED)."""
    value = row[field]
    if not value:
        return None
    low, high = AUDIO_RANGES[field]
    whole = isinstance(low, int)
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is None or number != number or (whole and not number.is_integer()):
        kind = "a whole number" if whole else "a number"
        raise InvalidImportFile(
            f"{row.where}: {_header('en', field)} {value!r} is not {kind}. "
            "Export the playlist again with Exportify."
        ) from None
    if not low <= number <= high:
        raise InvalidImportFile(
            f"{row.where}: {_header('en', field)} {value!r} is outside {low}…{high}, the range "
            "Spotify gives it: the file was probably edited. Export the playlist again."
        )
    number = int(number) if whole else number
    return None if NOT_DETECTED.get(field) == number else number


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

"""Spotify account data export ("Download your data") → playlist snapshots.

Reads `Playlist1.json`, `Playlist2.json`, … (older exports: `Playlist.json`),
alone or inside the export ZIP (under `Spotify Account Data/` or any folder),
and `YourLibrary.json`, whose saved tracks become the owner's "Liked Songs"
playlist (its saved albums, artists, shows and episodes are counted, not rows).
The export has no playlist ids (see `identity` for the derived ones), one artist
*name* per track and no artist ids, genres, durations or release dates: those
stay missing rather than invented. Dates are date-only: midnight UTC.
"""

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote_plus

from django.utils.dateparse import parse_date, parse_datetime

from ingestion.files.errors import InvalidImportFile
from ingestion.files.identity import (
    LIKED_SONGS,
    content_hash,
    derived_playlist_id,
    liked_songs_id,
    named_track_id,
    normalize_name,
    spotify_id_from_uri,
)
from ingestion.files.reading import (
    decode_text,
    iter_zip_members,
    parse_json,
    read_playlist_file_bytes,
)
from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem, PlaylistSnapshot, Track
from warehouse.models import Source

ID_PREFIX = "export"
PLAYLIST_FILE = re.compile(r"(?:^|/)Playlist(\d*)\.json$", re.IGNORECASE)
LIBRARY_FILE = re.compile(r"(?:^|/)YourLibrary\.json$", re.IGNORECASE)
# YourLibrary.json's lists other than the saved tracks, counted in the summary.
LIBRARY_COUNTED = ("albums", "artists", "shows", "episodes")


def read_export(paths: list[Path], *, owner_key: str = "") -> list[tuple[str, PlaylistSnapshot]]:
    """(reference, snapshot) for every playlist of the export files or ZIPs in `paths`."""
    return [playlist for part in iter_export(paths, owner_key=owner_key) for playlist in part]


def iter_export(paths: list[Path], *, owner_key: str = "") -> Iterator[list]:
    """The (reference, snapshot) pairs of each playlist file of the export, one
    file at a time: a ZIP's members are inflated, parsed and turned into
    snapshots one by one, so memory follows the largest file, not the export.
    Raises InvalidImportFile for the first bad one; callers load inside one
    transaction, so a bad file anywhere loads nothing."""
    occurrences = {}
    # A library file imported on its own must hold saved tracks; in an export it may not.
    alone = len(paths) == 1 and paths[0].suffix.lower() != ".zip"
    for reference, document in _documents(paths):
        if LIBRARY_FILE.search(reference) or _is_library(document):
            playlists = _liked_songs(reference, document, owner_key, alone=alone)
        else:
            playlists = _playlists(reference, document, occurrences, owner_key)
        # Neither is held while the next file is inflated and parsed.
        del document
        yield playlists
        del playlists


def _playlists(reference, document, occurrences, owner_key):
    """A playlist file's playlists; `occurrences` counts names over the whole export."""
    snapshots = []
    for index, raw in enumerate(_playlists_of(document, reference)):
        where = f"{reference}, playlist {index + 1}"
        name = _playlist_name(raw, where)
        key = normalize_name(name)
        occurrences[key] = occurrences.get(key, 0) + 1
        playlist_id = derived_playlist_id(
            ID_PREFIX, name, owner_key=owner_key, occurrence=occurrences[key]
        )
        where = f"{reference}, playlist {name!r}"
        snapshots.append((reference, _snapshot(raw, playlist_id, name, where)))
    return snapshots


def _documents(paths):
    """(reference, parsed JSON) of each playlist file, ZIP members one at a time."""
    for path in paths:
        if path.suffix.lower() == ".zip":
            yield from _zip_documents(path)
        else:
            text = decode_text(read_playlist_file_bytes(path), source=path.name)
            yield path.name, parse_json(text, source=path.name)


def _is_library(document):
    """YourLibrary.json by its content (an upload is stored under another name)."""
    return (
        isinstance(document, dict)
        and "playlists" not in document
        and isinstance(document.get("tracks"), list)
    )


def _liked_songs(reference, document, owner_key, *, alone):
    """YourLibrary.json → [(reference, the Liked Songs snapshot)]; none for an
    export ZIP whose library has no saved track, a refusal for such a file alone."""
    tracks = document.get("tracks") if isinstance(document, dict) else None
    if tracks is None and isinstance(document, dict) and "playlists" in document:
        return _playlists(reference, document, {}, owner_key)  # a playlist file so named
    if not isinstance(tracks, list) or (alone and not tracks):
        raise InvalidImportFile(
            f"{reference} holds no saved tracks (its “tracks” list is "
            f"{'empty' if isinstance(tracks, list) else 'missing'}), so there are no Liked "
            "Songs to import. Import the whole export ZIP, or its Playlist1.json files."
        )
    if not tracks:
        return []
    where = f"{reference}, Liked Songs"
    items = [_library_item(entry, position, where) for position, entry in enumerate(tracks)]
    counted = {kind: _count(document.get(kind)) for kind in LIBRARY_COUNTED}
    snapshot = PlaylistSnapshot(
        playlist_id=liked_songs_id(owner_key),
        name=LIKED_SONGS,
        source=Source.SPOTIFY_EXPORT,
        snapshot_id=content_hash(tracks),
        total_items=len(items),
        items=items,
        library={kind: count for kind, count in counted.items() if count},
    )
    return [(reference, snapshot)]


def _count(value):
    return len(value) if isinstance(value, list) else 0


def _library_item(entry, position, where):
    """A saved track, {"artist", "album", "track", "uri"}, as an export track item."""
    if not isinstance(entry, dict):
        raise InvalidImportFile(f"{where}, track {position + 1} is not an object.")
    track = {
        "trackName": entry.get("track"),
        "artistName": entry.get("artist"),
        "albumName": entry.get("album"),
        "trackUri": entry.get("uri"),
    }
    return _track_item(track, {"position": position, "added_at": None})


def _zip_documents(path):
    members = iter_zip_members(
        path, lambda info: _is_export_member(info.filename), order=_playlist_file_number
    )
    found = False
    for name, data in members:
        found = True
        document = parse_json(decode_text(data, source=name), source=name)
        del data  # the parsed document is all that is kept of the member
        yield f"{path.name}/{name}", document
        del document
    if not found:
        raise InvalidImportFile(
            f"{path.name} holds no playlist files (Playlist1.json, Playlist.json, …) "
            "and no YourLibrary.json. "
            "Is it the Spotify account data export? Playlists are in the “Account data” "
            "part of “Download your data”."
        )


def _is_export_member(name):
    # macOS archivers add resource forks (__MACOSX/…/._Playlist1.json) that are not JSON.
    if name.startswith("__MACOSX/"):
        return False
    return PLAYLIST_FILE.search(name) is not None or LIBRARY_FILE.search(name) is not None


def _playlist_file_number(name):
    """Playlist2.json sorts before Playlist10.json; the library comes last."""
    found = PLAYLIST_FILE.search(name)
    if found is None:
        return (float("inf"), name)
    digits = found.group(1)
    return (int(digits) if digits else 0, name)


def _playlists_of(document, reference):
    playlists = document.get("playlists") if isinstance(document, dict) else None
    if not isinstance(playlists, list):
        found = ", ".join(sorted(document)[:8]) if isinstance(document, dict) else "no object"
        raise InvalidImportFile(
            f"{reference} has no “playlists” list (found: {found or 'nothing'}). Import the "
            "Playlist1.json files of the Spotify export (YourLibrary.json holds saved tracks, "
            "not playlists), or the whole ZIP."
        )
    return playlists


def _playlist_name(raw, where):
    name = raw.get("name") if isinstance(raw, dict) else None
    if not isinstance(name, str | int | float) or isinstance(name, bool) or str(name) == "":
        raise InvalidImportFile(
            f"{where} has no name. Every playlist of a Spotify export has one: the file is "
            "damaged or was edited; download the export again."
        )
    return str(name)


def _snapshot(raw, playlist_id, name, where):
    raw_items = raw.get("items") or []
    if not isinstance(raw_items, list):
        raise InvalidImportFile(f"{where}: “items” is not a list. Download the export again.")
    items = [_item(entry, position, where) for position, entry in enumerate(raw_items)]
    return PlaylistSnapshot(
        playlist_id=playlist_id,
        name=name,
        source=Source.SPOTIFY_EXPORT,
        snapshot_id=content_hash(raw_items),
        # Like the API, the export escapes HTML in descriptions ("Songs &amp; more").
        description=html.unescape(_text(raw.get("description")) or ""),
        collaborative=bool(raw.get("collaborators")),
        total_items=len(items),
        items=items,
    )


def _item(entry, position, where):
    if not isinstance(entry, dict):
        raise InvalidImportFile(f"{where}, item {position + 1} is not an object.")
    where = f"{where}, item {position + 1}"
    common = {"position": position, "added_at": _added_at(entry.get("addedDate"), where)}
    track, local = _object(entry, "track", where), _object(entry, "localTrack", where)
    if local:
        return PlaylistItem(kind=ItemKind.LOCAL, track=local_track(local.get("uri")), **common)
    if track:
        return _track_item(track, common)
    if _object(entry, "episode", where):
        return PlaylistItem(kind=ItemKind.EPISODE, **common)
    if _object(entry, "audiobook", where):
        return PlaylistItem(kind=ItemKind.AUDIOBOOK, **common)
    return PlaylistItem(kind=ItemKind.UNAVAILABLE, **common)


def _object(entry, key, where):
    value = entry.get(key)
    if value is not None and not isinstance(value, dict):
        raise InvalidImportFile(f"{where}: “{key}” is not an object.")
    return value


def _track_item(track, common):
    uri = _text(track.get("trackUri")) or ""
    if uri.startswith("spotify:local:"):
        return PlaylistItem(kind=ItemKind.LOCAL, track=local_track(uri), **common)
    if uri.startswith("spotify:episode:"):
        return PlaylistItem(kind=ItemKind.EPISODE, **common)
    track_id = spotify_id_from_uri(uri, "track")
    name, artist = _text(track.get("trackName")), _text(track.get("artistName"))
    album = _text(track.get("albumName"))
    if not track_id and not uri and name:
        # An older export (before about 2021) names tracks without a URI: kept,
        # keyed by its names, and matched to Spotify later (see `identity`).
        track_id = named_track_id(name, artist, album)
    if not track_id:
        return PlaylistItem(kind=ItemKind.UNAVAILABLE, **common)
    parsed = Track(
        id=track_id,
        uri=uri,
        name=name or "",
        album_name=album,
        # A name, no id: the transform keeps the name and leaves artist_ids empty.
        artists=(ArtistRef(id=None, name=artist),) if artist else (),
    )
    return PlaylistItem(kind=ItemKind.TRACK, track=parsed, **common)


def _text(value):
    """Names can be JSON numbers (an album called 1989); keep them as text."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    return str(value)


def local_track(uri):
    """A local file from its URI, `spotify:local:<artist>:<album>:<title>:<seconds>`
    (fields URL-encoded with + for spaces): names and duration are in the URI."""
    uri = _text(uri) or "spotify:local:::"
    fields = uri.removeprefix("spotify:local:").split(":")
    artist, album, title, seconds = ([*fields, "", "", "", ""])[:4]
    return Track(
        id=None,
        uri=uri,
        name=unquote_plus(title),
        duration_ms=int(seconds) * 1000 if seconds.isdigit() else None,
        album_name=unquote_plus(album) or None,
        artists=(ArtistRef(id=None, name=unquote_plus(artist)),) if artist else (),
    )


def _added_at(value, where):
    """Date-only `addedDate` → midnight UTC; a full timestamp is kept (as UTC if naive)."""
    if value in (None, ""):
        return None
    text = str(value)
    try:
        date = parse_date(text) if len(text) == 10 else None
        moment = None if date else parse_datetime(text)
    except ValueError:
        date = moment = None
    if date:
        return datetime(date.year, date.month, date.day, tzinfo=UTC)
    if moment is None:
        raise InvalidImportFile(f"{where}: “addedDate” {text!r} is not a date.")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

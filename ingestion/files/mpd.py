"""Million Playlist Dataset slices (`mpd.slice.<start>-<end>.json`) → snapshots.

A slice holds 1,000 playlists (~30 MB of JSON); the importer holds one slice in
memory at a time, validates all of it before loading any of it, and loads it
through the warehouse's bulk path in one transaction. MPD playlists get their
own id space, `mpd:<pid>`. The dataset has no added dates, genres or release dates.
"""

import html
import re
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from ingestion.files.errors import InvalidImportFile
from ingestion.files.identity import content_hash, spotify_id_from_uri
from ingestion.files.reading import read_file_bytes, read_json_file
from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem, PlaylistSnapshot, Track
from warehouse.bulk import NewPlaylists
from warehouse.models import Source

SLICE_FILE = re.compile(r"^mpd\.slice\.(\d+)-(\d+)\.json$")


def slice_paths(path: Path) -> list[Path]:
    """The slice files of a directory, in dataset order (0-999 before 1000-1999)."""
    slices = [child for child in path.iterdir() if SLICE_FILE.match(child.name)]
    return sorted(slices, key=lambda child: int(SLICE_FILE.match(child.name).group(1)))


def read_slice(path: Path) -> list[PlaylistSnapshot]:
    """Every playlist of one slice, validated: one bad playlist refuses the slice."""
    return slice_snapshots(read_json_file(path), path)


def slice_snapshots(document: Any, path: Path) -> list[PlaylistSnapshot]:
    """`read_slice` of a slice already parsed."""
    playlists = document.get("playlists") if isinstance(document, dict) else None
    if not isinstance(playlists, list):
        raise InvalidImportFile(
            f"{path.name} has no “playlists” list, so it is not a Million Playlist Dataset "
            "slice. Use the mpd.slice.*.json files of the dataset's data/ folder."
        )
    snapshots = [_snapshot(raw, index, path.name) for index, raw in enumerate(playlists)]
    _refuse_repeated_pids(snapshots, path.name)
    return snapshots


def _refuse_repeated_pids(snapshots, source):
    seen = set()
    for snapshot in snapshots:
        if snapshot.playlist_id in seen:
            raise InvalidImportFile(
                f"{source}: playlist {snapshot.playlist_id} appears twice. The slice is "
                "damaged; download the dataset again."
            )
        seen.add(snapshot.playlist_id)


def _snapshot(raw, index, source):
    where = f"{source}, playlist {index + 1}"
    if not isinstance(raw, dict):
        raise InvalidImportFile(f"{where} is not an object.")
    pid = raw.get("pid")
    tracks = raw.get("tracks")
    missing = [key for key, value in (("pid", pid), ("tracks", tracks)) if value is None]
    if missing or not _is_int(pid) or not isinstance(tracks, list):
        problem = f"has no {' or '.join(missing)}" if missing else "has a malformed pid or tracks"
        raise InvalidImportFile(
            f"{where} {problem}: every MPD playlist has an integer “pid” and a “tracks” list. "
            "The slice is damaged or not from the dataset."
        )
    where = f"{source}, playlist pid {pid}"
    items = [_item(track, index, where) for index, track in enumerate(tracks)]
    return PlaylistSnapshot(
        playlist_id=f"mpd:{pid}",
        name=str(raw.get("name") or ""),
        source=Source.MPD,
        snapshot_id=content_hash(tracks),
        description=html.unescape(str(raw.get("description") or "")),
        # The dataset writes booleans as the strings "true"/"false".
        collaborative=str(raw.get("collaborative")).lower() == "true",
        total_items=len(items),
        items=sorted(items, key=lambda item: item.position),
    )


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _item(raw, index, where):
    if not isinstance(raw, dict) or not isinstance(raw.get("track_uri"), str):
        raise InvalidImportFile(f"{where}, track {index + 1} has no “track_uri”.")
    position = raw.get("pos", index)
    if not _is_int(position):
        raise InvalidImportFile(f"{where}, track {index + 1}: “pos” is not an integer.")
    track_id = spotify_id_from_uri(raw["track_uri"], "track")
    if not track_id:
        return PlaylistItem(position=position, kind=ItemKind.UNAVAILABLE)
    return PlaylistItem(position=position, kind=ItemKind.TRACK, track=_track(raw, track_id))


def _track(raw, track_id):
    duration = raw.get("duration_ms")
    artist_uri = str(raw.get("artist_uri") or "")
    return Track(
        id=track_id,
        uri=raw["track_uri"],
        name=str(raw.get("track_name") or ""),
        duration_ms=duration if _is_int(duration) else None,
        album_id=spotify_id_from_uri(str(raw.get("album_uri") or ""), "album"),
        album_name=None if raw.get("album_name") is None else str(raw["album_name"]),
        # The dataset names the primary artist only.
        artists=(
            ArtistRef(
                id=spotify_id_from_uri(artist_uri, "artist"),
                name=str(raw.get("artist_name") or ""),
            ),
        ),
    )


# --- the bulk path: a slice straight into columns ----------------------------------------
# An escaped control character in the file (after an even run of backslashes):
# such texts are stripped by `ingestion.transform.without_control_characters`,
# which only the snapshot path applies. JSON can hold them no other way.
_ESCAPED_CONTROL = re.compile(rb"(?<!\\)(?:\\\\)*\\(?:[bfr]|u00[01])")
_TRACK_PREFIX = "spotify:track:"
_ALBUM_PREFIX = "spotify:album:"
_ARTIST_PREFIX = "spotify:artist:"


def read_slice_document(path: Path) -> tuple[Any, bool]:
    """The slice parsed, and whether `slice_rows` may read it: orjson parsed it
    (~1.5× the standard library's speed) and no text holds a control character.
    What orjson refuses (a BOM, UTF-16, NaN, a lone surrogate, …) is parsed again
    by the reader every import uses, with its errors and messages."""
    data = read_file_bytes(path)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        return read_json_file(path), False
    return document, not (b"\\" in data and _ESCAPED_CONTROL.search(data))


def slice_rows(document: Any, path: Path) -> tuple[NewPlaylists, list[int]] | None:
    """The slice's playlists and rows as columns for `warehouse.bulk`, with each
    playlist's unavailable items (not rows); the same rows the snapshot path's
    transform makes: one per distinct track at its first position, counted.

    None for anything irregular (a malformed playlist or track, a repeated
    pid): `slice_snapshots` then refuses the slice with its precise message.
    """
    playlists = document.get("playlists") if isinstance(document, dict) else None
    if not isinstance(playlists, list):
        return None
    batch = NewPlaylists(source=Source.MPD.value)
    unavailable: list[int] = []
    seen: set[int] = set()
    for raw in playlists:
        if not isinstance(raw, dict):
            return None
        pid, tracks = raw.get("pid"), raw.get("tracks")
        if type(pid) is not int or not isinstance(tracks, list) or pid in seen:
            return None
        seen.add(pid)
        skipped = _add_rows(batch, tracks)
        if skipped is None:
            return None
        unavailable.append(skipped)
        batch.playlist_ids.append(f"mpd:{pid}")
        batch.names.append(str(raw.get("name") or ""))
        # Entities may spell a control character (&#13;): stripped as everywhere.
        description = html.unescape(str(raw.get("description") or ""))
        batch.descriptions.append(_CONTROL.sub("", description))
        batch.collaborative.append(str(raw.get("collaborative")).lower() == "true")
        batch.snapshot_ids.append(content_hash(tracks))
        batch.total_items.append(len(tracks))
    return batch, unavailable


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")
_by_position = itemgetter(0)


def _add_rows(batch: NewPlaylists, tracks: list[Any]) -> int | None:
    """Append one playlist's rows to the batch's columns; its unavailable items
    (None: a malformed track). Tight on purpose: this runs for every track."""
    items = []
    in_order = True
    last = None
    for index, track in enumerate(tracks):
        if type(track) is not dict:
            return None
        uri = track.get("track_uri")
        position = track.get("pos", index)
        if type(uri) is not str or type(position) is not int:
            return None
        if last is not None and position < last:
            in_order = False
        last = position
        items.append((position, uri, track))
    if not in_order:
        items.sort(key=_by_position)  # stable: ties keep the file's order
    row_of: dict[str, int] = {}
    occurrences = batch.occurrences
    unavailable = 0
    first = len(batch.track_ids)
    for _, uri, track in items:
        if not uri.startswith(_TRACK_PREFIX) or len(uri) == len(_TRACK_PREFIX):
            unavailable += 1
            continue
        track_id = uri[len(_TRACK_PREFIX) :]
        row = row_of.get(track_id)
        if row is not None:
            occurrences[row] += 1
            continue
        row_of[track_id] = len(batch.track_ids)
        batch.ranks.append(len(row_of) - 1)
        occurrences.append(1)
        batch.track_ids.append(track_id)
        batch.track_names.append(str(track.get("track_name") or ""))
        duration = track.get("duration_ms")
        batch.durations_ms.append(duration if type(duration) is int else None)
        album_uri = str(track.get("album_uri") or "")
        batch.album_ids.append(_tail(album_uri, _ALBUM_PREFIX))
        album_name = track.get("album_name")
        batch.album_names.append(None if album_name is None else str(album_name))
        batch.artist_ids.append(_tail(str(track.get("artist_uri") or ""), _ARTIST_PREFIX))
        batch.artist_names.append(str(track.get("artist_name") or ""))
    batch.row_counts.append(len(batch.track_ids) - first)
    return unavailable


def _tail(uri: str, prefix: str) -> str | None:
    # spotify_id_from_uri's rule, inlined for the hot loop.
    return uri[len(prefix) :] if uri.startswith(prefix) and len(uri) > len(prefix) else None

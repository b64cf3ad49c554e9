"""Million Playlist Dataset slices (`mpd.slice.<start>-<end>.json`) → snapshots.

A slice holds 1,000 playlists (~30 MB of JSON); the importer holds one slice in
memory at a time, validates all of it before loading any of it, and loads it
through the warehouse's bulk path in one transaction. MPD playlists get their
own id space, `mpd:<pid>`. The dataset has no added dates, genres or release dates.
"""

import html
import re
from pathlib import Path

from ingestion.files.errors import InvalidImportFile
from ingestion.files.identity import content_hash, spotify_id_from_uri
from ingestion.files.reading import read_json_file
from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem, PlaylistSnapshot, Track
from warehouse.models import Source

SLICE_FILE = re.compile(r"^mpd\.slice\.(\d+)-(\d+)\.json$")


def slice_paths(path: Path) -> list[Path]:
    """The slice files of a directory, in dataset order (0-999 before 1000-1999)."""
    slices = [child for child in path.iterdir() if SLICE_FILE.match(child.name)]
    return sorted(slices, key=lambda child: int(SLICE_FILE.match(child.name).group(1)))


def read_slice(path: Path) -> list[PlaylistSnapshot]:
    """Every playlist of one slice, validated: one bad playlist refuses the slice."""
    document = read_json_file(path)
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

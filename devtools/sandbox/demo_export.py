"""A Spotify account data export of sandbox catalog tracks, for trying file
imports and their enrichment (`make run` imports one for the demo user).

Shaped like the real "Download your data" ZIP (`Spotify Account Data/
Playlist1.json`): track names, one artist *name*, album names and URIs, dates
only; no durations, release dates or genres, which enrichment then asks the
sandbox for. Generated, never real Spotify data.
"""

import json
import random
import zipfile
from pathlib import Path

from devtools.sandbox.catalog import Catalog

EXPORT_MEMBER = "Spotify Account Data/Playlist1.json"


def write_demo_export(path: Path, catalog: Catalog, *, seed: int = 7) -> Path:
    """Write the demo export ZIP to `path`: two playlists, every item kind."""
    rng = random.Random(seed)
    road_trip = [_track_item(catalog, track_id) for track_id in rng.sample(catalog.track_ids, 40)]
    mixed = [
        *(_track_item(catalog, track_id) for track_id in rng.sample(catalog.track_ids, 12)),
        road_trip[0],  # a track the other playlist has too
        _EPISODE_ITEM,
        _LOCAL_ITEM,
    ]
    playlists = [
        _playlist("Road trip (from an export)", road_trip),
        _playlist("Kitchen radio (from an export)", mixed),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(EXPORT_MEMBER, json.dumps({"playlists": playlists}, ensure_ascii=False))
    return path


def _track_item(catalog, track_id):
    track = catalog.tracks[track_id]
    return {
        "track": {
            "trackName": track.name,
            "artistName": catalog.artists[track.artist_ids[0]].name,
            "albumName": catalog.albums[track.album_id].name,
            "trackUri": f"spotify:track:{track.id}",
        },
        "episode": None,
        "audiobook": None,
        "localTrack": None,
        "addedDate": "2026-05-30",
    }


def _playlist(name, items):
    return {
        "name": name,
        "lastModifiedDate": "2026-06-01",
        "collaborators": [],
        "description": None,
        "numberOfFollowers": 0,
        "items": items,
    }


_EPISODE_ITEM = {
    "track": None,
    "episode": {
        "episodeName": "A podcast episode",
        "showName": "A show",
        "episodeUri": "spotify:episode:4rOoJ6Egrf8K2IrywzwOMk",
    },
    "audiobook": None,
    "localTrack": None,
    "addedDate": "2026-05-31",
}
_LOCAL_ITEM = {
    "track": None,
    "episode": None,
    "audiobook": None,
    "localTrack": {"uri": "spotify:local:Home+Band:Tapes:Demo+1:215"},
    "addedDate": "2026-05-31",
}

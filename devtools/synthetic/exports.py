"""Files people import: Spotify account data exports (JSON, ZIP) and Exportify CSV.

Real-shaped, built at run time (never committed Spotify data). Used by the tests
(in ``tmp_path``), by ``bench_enrich``, and by ``make run``'s demo export
(``write_demo_export``: sandbox catalog tracks, which enrichment then completes).
"""

import csv
import io
import json
import zipfile

from devtools.synthetic.primitives import UNKNOWN_RELEASE_DATE, isrc, numbered_id, seeded

EXPORT_FOLDER = "Spotify Account Data/"


def track_id(n):
    """A 22-character track id that shows its number (in no sandbox catalog)."""
    return numbered_id(n)


# --- Spotify account data export ("Download your data": Playlist*.json) ------------------
def export_track_item(n, *, name=None, album="An Album", added="2025-05-30"):
    return {
        "track": {
            "trackName": name or f"Song {n}",
            "artistName": f"Artist {n}",
            "albumName": album,
            "trackUri": f"spotify:track:{track_id(n)}",
        },
        "episode": None,
        "audiobook": None,
        "localTrack": None,
        "addedDate": added,
    }


EPISODE_ITEM = {
    "track": None,
    "episode": {"episodeName": "Ep 1", "showName": "A Show", "episodeUri": "spotify:episode:e1"},
    "audiobook": None,
    "localTrack": None,
    "addedDate": "2025-05-31",
}
AUDIOBOOK_ITEM = {
    "track": None,
    "episode": None,
    "audiobook": {"audiobookName": "A Book", "audiobookUri": "spotify:audiobook:b1"},
    "localTrack": None,
    "addedDate": "2025-05-31",
}
LOCAL_ITEM = {
    "track": None,
    "episode": None,
    "localTrack": {"uri": "spotify:local:Caf%C3%A9+Band:Home+Tapes:D%C3%A9mo+1:215"},
    "addedDate": "2025-05-31",
}


def export_playlist(name, items, *, description=None, modified="2025-06-01", **extra):
    return {
        "name": name,
        "lastModifiedDate": modified,
        "collaborators": [],
        "description": description,
        "numberOfFollowers": 0,
        "items": items,
        **extra,
    }


def export_document(playlists):
    """The text of a Playlist*.json file."""
    return json.dumps({"playlists": playlists}, ensure_ascii=False)


def write_export_json(path, playlists):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(export_document(playlists), encoding="utf-8")
    return path


def write_export_zip(path, files, folder=EXPORT_FOLDER):
    """files: member name → playlists list, or → raw bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            data = content if isinstance(content, bytes) else json.dumps({"playlists": content})
            archive.writestr(folder + name, data)
    return path


# --- exports of sandbox catalog tracks --------------------------------------------------
def export_item(catalog, track, *, added="2025-05-30"):
    """A catalog track as the account data export lists it: names, the first artist's only."""
    item = export_track_item(
        0, name=track.name, album=catalog.albums[track.album_id].name, added=added
    )
    item["track"]["trackUri"] = f"spotify:track:{track.id}"
    item["track"]["artistName"] = catalog.artists[track.artist_ids[0]].name
    return item


def catalog_tracks(catalog):
    """Three catalog tracks whose artists all list genres: one by several artists,
    one by one artist, one with Spotify's "0000" (unknown) release date."""
    tracks = list(catalog.tracks.values())

    def with_genres(track):
        return all(catalog.artists[artist_id].genres for artist_id in track.artist_ids)

    def first(condition):
        return next(track for track in tracks if with_genres(track) and condition(track))

    return [
        first(lambda track: len(track.artist_ids) > 1),
        first(lambda track: len(track.artist_ids) == 1),
        first(lambda track: catalog.albums[track.album_id].release_date == UNKNOWN_RELEASE_DATE),
    ]


_DEMO_EPISODE_ITEM = {
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
_DEMO_LOCAL_ITEM = {
    "track": None,
    "episode": None,
    "audiobook": None,
    "localTrack": {"uri": "spotify:local:Home+Band:Tapes:Demo+1:215"},
    "addedDate": "2026-05-31",
}


def write_demo_export(path, catalog, *, seed=7):
    """The demo export ZIP at `path`: two playlists of `catalog` tracks, every item kind.

    Shaped like the real ZIP (``Spotify Account Data/Playlist1.json``): track names,
    one artist *name*, album names and URIs, dates only; no durations, release dates
    or genres, which enrichment then asks the sandbox for."""
    rng = seeded(seed)

    def items(count):
        picked = rng.sample(catalog.track_ids, count)
        return [export_item(catalog, catalog.tracks[i], added="2026-05-30") for i in picked]

    road_trip = items(40)
    mixed = [*items(12), road_trip[0], _DEMO_EPISODE_ITEM, _DEMO_LOCAL_ITEM]  # one shared track
    playlists = [
        export_playlist("Road trip (from an export)", road_trip, modified="2026-06-01"),
        export_playlist("Kitchen radio (from an export)", mixed, modified="2026-06-01"),
    ]
    return write_export_zip(path, {"Playlist1.json": export_document(playlists).encode()})


# --- Exportify CSV --------------------------------------------------------------------------
CLASSIC_HEADER = [
    "Track URI", "Track Name", "Artist URI(s)", "Artist Name(s)", "Album URI", "Album Name",
    "Album Artist URI(s)", "Album Artist Name(s)", "Album Release Date", "Album Image URL",
    "Disc Number", "Track Number", "Track Duration (ms)", "Track Preview URL", "Explicit",
    "Popularity", "ISRC", "Added By", "Added At",
]  # fmt: skip


def classic_row(n, **overrides):
    row = {
        "Track URI": f"spotify:track:{track_id(n)}",
        "Track Name": f"Song {n}",
        "Artist URI(s)": f"spotify:artist:a{n}",
        "Artist Name(s)": f"Artist {n}",
        "Album URI": f"spotify:album:b{n}",
        "Album Name": "An Album",
        "Album Artist URI(s)": f"spotify:artist:a{n}",
        "Album Artist Name(s)": f"Artist {n}",
        "Album Release Date": "1997-05-12",
        "Album Image URL": "https://i.scdn.co/image/x",
        "Disc Number": "1",
        "Track Number": str(n),
        "Track Duration (ms)": "215000",
        "Track Preview URL": "",
        "Explicit": "false",
        "Popularity": "42",
        "ISRC": isrc("US", "ABC", "2024", n),
        "Added By": "spotify:user:alice",
        "Added At": "2024-03-01T12:00:00Z",
    }
    row.update(overrides)
    return row


def write_csv(path, rows, header=None, *, encoding="utf-8"):
    header = header or list(rows[0])
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path

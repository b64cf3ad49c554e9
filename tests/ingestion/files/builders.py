"""Real-shaped sample files, built in tmp_path (never committed Spotify or MPD data)."""

import csv
import io
import json
import zipfile

CLASSIC_HEADER = [
    "Track URI", "Track Name", "Artist URI(s)", "Artist Name(s)", "Album URI", "Album Name",
    "Album Artist URI(s)", "Album Artist Name(s)", "Album Release Date", "Album Image URL",
    "Disc Number", "Track Number", "Track Duration (ms)", "Track Preview URL", "Explicit",
    "Popularity", "ISRC", "Added By", "Added At",
]  # fmt: skip


def track_id(n):
    return f"{n:022d}"


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


def export_playlist(name, items, *, description=None, **extra):
    return {
        "name": name,
        "lastModifiedDate": "2025-06-01",
        "collaborators": [],
        "description": description,
        "numberOfFollowers": 0,
        "items": items,
        **extra,
    }


def write_export_json(path, playlists):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"playlists": playlists}, ensure_ascii=False), encoding="utf-8")
    return path


def write_export_zip(path, files, folder="Spotify Account Data/"):
    """files: member name → playlists list, or → raw bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            data = content if isinstance(content, bytes) else json.dumps({"playlists": content})
            archive.writestr(folder + name, data)
    return path


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
        "ISRC": f"USABC24{n:05d}",
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

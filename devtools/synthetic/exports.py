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


def old_export_track_item(name, artist, album, *, added=None):
    """An item as older exports (about 2021 and before) write it: names only, no
    `trackUri`, and sometimes no `addedDate`."""
    item = {
        "track": {"trackName": name, "artistName": artist, "albumName": album},
        "episode": None,
        "localTrack": None,
    }
    if added:
        item["addedDate"] = added
    return item


def old_export_item(catalog, track, **options):
    """A catalog track as an older export names it (first artist only, no URI)."""
    artist = catalog.artists[track.artist_ids[0]].name
    return old_export_track_item(track.name, artist, catalog.albums[track.album_id].name, **options)


EMPTY_ITEM = {"track": None, "episode": None, "localTrack": None, "addedDate": "2019-01-01"}

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


# --- Exportify CSV in exportify.app's UI languages ----------------------------------------
# exportify.app writes its header in the user's UI language, from its translation
# strings (watsonbox/exportify, src/i18n/locales/<locale>/translation.json), in this
# order: the playlist's name, the track's base data, who added it and when, then the
# optional artist data (genres), audio features and album data (genres, label, copyrights).
EXPORTIFY_KEYS = (
    "playlist_name", "track_uri", "track_name", "artist_uris", "artist_names", "album_uri",
    "album_name", "album_artist_uris", "album_artist_names", "album_release_date",
    "album_image_url", "disc_number", "track_number", "track_duration", "track_preview_url",
    "explicit", "popularity", "isrc", "added_by", "added_at", "artist_genres",
    "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence", "tempo", "time_signature",
    "album_genres", "label", "copyrights",
)  # fmt: skip
EXPORTIFY_HEADERS = {
    "en": (
        "Name", "Track URI", "Track Name", "Artist URI(s)", "Artist Name(s)", "Album URI",
        "Album Name", "Album Artist URI(s)", "Album Artist Name(s)", "Album Release Date",
        "Album Image URL", "Disc Number", "Track Number", "Track Duration (ms)",
        "Track Preview URL", "Explicit", "Popularity", "ISRC", "Added By", "Added At",
        "Artist Genres", "Danceability", "Energy", "Key", "Loudness", "Mode", "Speechiness",
        "Acousticness", "Instrumentalness", "Liveness", "Valence", "Tempo", "Time Signature",
        "Album Genres", "Label", "Copyrights",
    ),
    "de": (
        "Name", "Track-URI", "Track-Name", "Künstler-URI(s)", "Künstlername(n)", "Album-URI",
        "Album-Name", "Album-Künstler-URI(s)", "Album-Künstlername(n)",
        "Veröffentlichungsdatum des Albums", "Album-Bild-URL", "Disc-Nummer", "Track-Nummer",
        "Track-Dauer (ms)", "Track-Vorschau-URL", "Explizit", "Beliebtheit", "ISRC",
        "Hinzugefügt von", "Hinzugefügt am", "Künstler-Genres", "Tanzbarkeit", "Energie",
        "Tonart", "Lautstärke", "Modus", "Sprachanteil", "Akustik", "Instrumentalität",
        "Lebendigkeit", "Valenz", "Tempo", "Taktart", "Album-Genres", "Label", "Urheberrechte",
    ),
    "es": (
        "Nombre", "URI de la canción", "Nombre de la canción", "URI(s) del artista",
        "Nombre(s) del artista", "URI del álbum", "Nombre del álbum",
        "URI(s) del artista del álbum", "Nombre(s) del artista del álbum",
        "Fecha de lanzamiento del álbum", "URL de la imagen del álbum", "Número de disco",
        "Número de la canción", "Duración de la canción (ms)",
        "URL de vista previa de la canción", "Explícito", "Popularidad", "ISRC", "Añadido por",
        "Añadido en", "Géneros del artista", "Bailabilidad", "Energía", "Tonalidad", "Volumen",
        "Modo", "Hablado", "Acústica", "Instrumentalidad", "Vivacidad", "Valencia", "Tempo",
        "Compás", "Géneros del álbum", "Sello", "Derechos de autor",
    ),
    "fr": (
        "Nom", "URI du titre", "Nom du titre", "URI(s) de l'artiste", "Nom(s) de l'artiste",
        "URI de l'album", "Nom de l'album", "URI(s) de l'artiste de l'album",
        "Nom(s) de l'artiste de l'album", "Date de sortie de l'album",
        "URL de l'image de l'album", "Numéro de disque", "Numéro du titre",
        "Durée du titre (ms)", "URL de prévisualisation du titre", "Explicite", "Popularité",
        "ISRC", "Ajouté par", "Ajouté le", "Genres de l'artiste", "Danseabilité", "Énergie",
        "Tonalité", "Volume sonore", "Mode", "Parlabilité", "Acoustique", "Instrumental",
        "Vivacité", "Valence", "Tempo", "Mesure", "Genres de l'album", "Label",
        "Droits d'auteur",
    ),
    "ja": (
        "名前", "トラックURI", "トラック名", "アーティストURI", "アーティスト名", "アルバムURI",
        "アルバム名", "アルバムアーティストURI", "アルバムアーティスト名", "アルバム発売日",
        "アルバム画像URL", "ディスク番号", "トラック番号", "トラックの長さ（ミリ秒）",
        "トラックプレビューURL", "明示的な内容", "人気度", "ISRC", "追加者", "追加日時",
        "アーティストジャンル", "ダンサビリティ", "エネルギー", "キー", "ラウドネス", "モード",
        "スピーチ性", "アコースティック性", "インストゥルメンタル性", "ライブ感", "感情値",
        "テンポ", "拍子", "アルバムジャンル", "レーベル", "著作権",
    ),
}  # fmt: skip
AUDIO_FEATURE_KEYS = EXPORTIFY_KEYS[21:33]


def exportify_header(locale, *, artists=True, audio_features=True, album=True):
    """The header exportify.app writes in `locale`, with the optional data chosen."""
    wanted = set(EXPORTIFY_KEYS[:20])
    wanted |= {"artist_genres"} if artists else set()
    wanted |= set(AUDIO_FEATURE_KEYS) if audio_features else set()
    wanted |= {"album_genres", "label", "copyrights"} if album else set()
    headers = EXPORTIFY_HEADERS[locale]
    return [header for key, header in zip(EXPORTIFY_KEYS, headers, strict=True) if key in wanted]


def exportify_row(locale, n, *, playlist="Mix", **values):
    """A row of `locale`'s header: `classic_row(n)`'s values, and `values` by key
    (e.g. artist_genres="pop,rock", tempo="120.0", label="Label X")."""
    classic = classic_row(n)
    english = dict(zip(EXPORTIFY_HEADERS["en"], EXPORTIFY_KEYS, strict=True))
    by_key = {english[header]: value for header, value in classic.items()}
    by_key.update(playlist_name=playlist, artist_genres="", album_genres="", label="")
    by_key.update(copyrights="", **{key: "" for key in AUDIO_FEATURE_KEYS})
    by_key.update(values)
    headers = dict(zip(EXPORTIFY_KEYS, EXPORTIFY_HEADERS[locale], strict=True))
    return {headers[key]: value for key, value in by_key.items()}


# --- the exportify.net fork (pavelkomarov/exportify) -------------------------------------
FORK_HEADER = [
    "Track URI", "Track Name", "Album Name", "Artist Name(s)", "Release Date", "Duration (ms)",
    "Popularity", "Explicit", "Added By", "Added At", "Genres", "Record Label", "Danceability",
    "Energy", "Key", "Loudness", "Mode", "Speechiness", "Acousticness", "Instrumentalness",
    "Liveness", "Valence", "Tempo", "Time Signature",
]  # fmt: skip


def fork_row(n, *, artists=None, genres="", **features):
    """A row as exportify.net writes it: artists joined with ";", no artist ids,
    the row's genres, the record label and audio features (by header)."""
    row = dict.fromkeys(FORK_HEADER, "")
    row.update(
        {
            "Track URI": f"spotify:track:{track_id(n)}",
            "Track Name": f"Song {n}",
            "Album Name": "An Album",
            "Artist Name(s)": ";".join(artists or [f"Artist {n}"]),
            "Release Date": "2001-02-03",
            "Duration (ms)": "201000",
            "Popularity": "50",
            "Explicit": "false",
            "Added By": "spotify:user:alice",
            "Added At": "2024-03-01T12:00:00Z",
            "Genres": genres,
        }
    )
    row.update(features)
    return row


def write_fork_csv(path, rows):
    """exportify.net's CSV: its header and a UTF-8 byte-order mark."""
    return write_csv(path, rows, FORK_HEADER, encoding="utf-8-sig")


# --- YourLibrary.json (the account export's saved items) ---------------------------------
def library_track(n, *, uri=True):
    """A saved track as YourLibrary.json lists it (older exports: no URI)."""
    entry = {"artist": f"Artist {n}", "album": "An Album", "track": f"Song {n}"}
    if uri:
        entry["uri"] = f"spotify:track:{track_id(n)}"
    return entry


def library_document(tracks, *, albums=0, artists=0, shows=0, episodes=0):
    """The text of YourLibrary.json: saved tracks and `albums`… other saved items."""
    return json.dumps(
        {
            "tracks": tracks,
            "albums": [
                {"artist": f"Artist {n}", "album": f"Album {n}", "uri": f"spotify:album:b{n}"}
                for n in range(albums)
            ],
            "artists": [
                {"name": f"Artist {n}", "uri": f"spotify:artist:a{n}"} for n in range(artists)
            ],
            "shows": [
                {"name": f"Show {n}", "publisher": "P", "uri": f"spotify:show:s{n}"}
                for n in range(shows)
            ],
            "episodes": [
                {"name": f"Episode {n}", "show": "Show 0", "uri": f"spotify:episode:e{n}"}
                for n in range(episodes)
            ],
            "bannedTracks": [],
            "bannedArtists": [],
            "other": [],
        },
        ensure_ascii=False,
    )

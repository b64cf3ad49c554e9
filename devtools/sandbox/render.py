"""Catalog objects as Spotify JSON: users, artists, albums, tracks, episodes, local files,
playlist items (the 2026 ``item`` key, the legacy ``track`` key or both), playlists, pages.

Hot paths build JSON text directly and cache serialised tracks: a benchmark reads thousands.
"""

from __future__ import annotations

import hashlib
import html
import json
import re

from .catalog import Catalog, LocalFile, Playlist, PlaylistItem
from .playlists import PlaylistState
from .state import EXTENDED, MODES

#: Where an Extended Quota app is told a track, album or show is sold (``available_markets``);
#: Development Mode apps no longer get the field (2026-02).
MARKETS = ("AT", "BR", "CA", "DE", "ES", "FR", "GB", "JP", "MX", "SE", "US")
_TAG = re.compile(r"<[^>]*>")


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _image_hash(key: str) -> str:
    return hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()[:24]


def _ext(kind: str, id_: str) -> dict:
    return {"spotify": f"https://open.spotify.com/{kind}/{id_}"}


def _plain_text(html_text: str) -> str:
    """An HTML description as Spotify's plain ``description`` beside ``html_description``."""
    return html.unescape(_TAG.sub("", html_text))


def _images(key: str, sizes=(640, 300, 64)) -> list[dict]:
    h = _image_hash(key)
    return [
        {"url": f"https://i.scdn.co/image/ab67616d0000{s:04x}{h}", "height": s, "width": s}
        for s in sizes
    ]


def item_keys(meta: Playlist, legacy_endpoint: bool = False) -> tuple[str, ...]:
    """The key(s) holding an item's track or episode: ``item`` since 2026, ``track`` on the
    legacy endpoint and legacy-shaped playlists, both where Spotify still sends both."""
    if legacy_endpoint or meta.legacy_shape:
        return ("track",)
    if meta.deprecated_track_key:
        return ("item", "track")
    return ("item",)


def paging_json(
    url_base: str, extra_qs: str, items_json: list[str], limit: int, offset: int, total: int
) -> str:
    """A paging object around already serialised items, with absolute next/previous links."""

    def link(off: int) -> str:
        return f"{url_base}?offset={off}&limit={limit}{extra_qs}"

    head = {
        "href": link(offset),
        "limit": limit,
        "next": link(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
        "total": total,
    }
    return dumps(head)[:-1] + ',"items":[' + ",".join(items_json) + "]}"


def local_track(lf: LocalFile) -> dict:
    obj = {
        "album": {
            "album_type": None,
            "artists": [],
            "external_urls": {},
            "href": None,
            "id": None,
            "images": [],
            "name": lf.album_name,
            "release_date": None,
            "release_date_precision": None,
            "type": "album",
            "uri": None,
        },
        "artists": [
            {
                "external_urls": {},
                "href": None,
                "id": None,
                "name": lf.artist_name,
                "type": "artist",
                "uri": None,
            }
        ],
        "disc_number": 0,
        "duration_ms": lf.duration_ms,
        "explicit": False,
        "external_urls": {},
        "href": None,
        "id": None,
        "is_local": True,
        "name": lf.name,
        "popularity": 0,
        "preview_url": None,
        "track_number": 0,
        "type": "track",
        "uri": lf.uri,
    }
    if lf.has_external_ids:
        obj["external_ids"] = {}
    return obj


def playlist_images(meta: Playlist):
    if meta.image_style == "none":
        return None
    h = _image_hash("playlist" + meta.id)
    if meta.image_style == "single":
        return [
            {
                "url": f"https://image-cdn-ak.spotifycdn.com/image/ab67706c0000da84{h}",
                "height": None,
                "width": None,
            }
        ]
    return [
        {"url": f"https://mosaic.scdn.co/{s}/ab67616d0000b273{h}", "height": s, "width": s}
        for s in (640, 300, 60)
    ]


class Renderer:
    """Spotify objects with links under one API base URL; caches serialised tracks per mode."""

    def __init__(self, catalog: Catalog, api_base: str):
        self.cat = catalog
        self.api = api_base  # "http://127.0.0.1:PORT/v1/"
        # caches (never invalidated: the catalog is immutable; mode -> id -> JSON text)
        self._track_json: dict[str, dict[str, str]] = {m: {} for m in MODES}
        self._simple_album: dict[str, dict[str, dict]] = {m: {} for m in MODES}
        self._show_episodes: dict[str, int] = {}
        for e in catalog.episodes.values():
            self._show_episodes[e.show_id] = self._show_episodes.get(e.show_id, 0) + 1
        self._user_json: dict[str, str] = {}

    def user_obj(self, user_id: str) -> dict:
        user = self.cat.users.get(user_id)
        return {
            "external_urls": _ext("user", user_id),
            "href": f"{self.api}users/{user_id}",
            "id": user_id,
            "type": "user",
            "uri": f"spotify:user:{user_id}",
            "display_name": user.display_name if user else user_id,
        }

    def added_by_json(self, user_id: str | None) -> str:
        if user_id is None:
            return "null"
        cached = self._user_json.get(user_id)
        if cached is None:
            obj = self.user_obj(user_id)
            del obj["display_name"]
            cached = self._user_json[user_id] = dumps(obj)
        return cached

    def simple_artist(self, artist_id: str) -> dict:
        a = self.cat.artists[artist_id]
        return {
            "external_urls": _ext("artist", a.id),
            "href": f"{self.api}artists/{a.id}",
            "id": a.id,
            "name": a.name,
            "type": "artist",
            "uri": f"spotify:artist:{a.id}",
        }

    def artist(self, artist_id: str, mode: str) -> dict:
        a = self.cat.artists[artist_id]
        obj = self.simple_artist(artist_id)
        if a.genres is not None:
            obj["genres"] = list(a.genres)
        obj["images"] = [] if a.popularity < 3 else _images("artist" + a.id)
        if mode == EXTENDED:
            obj["popularity"] = a.popularity
            obj["followers"] = {"href": None, "total": a.followers}
        return obj

    def simple_album(self, album_id: str, mode: str) -> dict:
        cache = self._simple_album[mode]
        cached = cache.get(album_id)
        if cached is None:
            al = self.cat.albums[album_id]
            cached = {"album_type": al.album_type, "total_tracks": len(al.track_ids)}
            if mode == EXTENDED:
                cached["available_markets"] = list(MARKETS)
            cached |= {
                "external_urls": _ext("album", al.id),
                "href": f"{self.api}albums/{al.id}",
                "id": al.id,
                "images": _images("album" + al.id),
                "name": al.name,
                "release_date": al.release_date,
                "release_date_precision": al.release_date_precision,
                "type": "album",
                "uri": f"spotify:album:{al.id}",
                "artists": [self.simple_artist(a) for a in al.artist_ids],
            }
            cache[album_id] = cached
        return cached

    def track(self, track_id: str, mode: str) -> dict:
        t = self.cat.tracks[track_id]
        obj = {
            "album": self.simple_album(t.album_id, mode),
            "artists": [self.simple_artist(a) for a in t.artist_ids],
            "disc_number": t.disc_number,
            "duration_ms": t.duration_ms,
            "explicit": t.explicit,
            "external_ids": {"isrc": t.isrc},
            "external_urls": _ext("track", t.id),
            "href": f"{self.api}tracks/{t.id}",
            "id": t.id,
            "is_local": False,
            "is_playable": True,
            "name": t.name,
            "preview_url": None,
            "track_number": t.track_number,
            "type": "track",
            "uri": f"spotify:track:{t.id}",
        }
        if mode == EXTENDED:
            obj["available_markets"] = list(MARKETS)
            obj["popularity"] = t.popularity
        return obj

    def track_json(self, track_id: str, mode: str) -> str:
        cache = self._track_json[mode]
        cached = cache.get(track_id)
        if cached is None:
            cached = cache[track_id] = dumps(self.track(track_id, mode))
        return cached

    def episode(self, episode_id: str, mode: str) -> dict:
        e = self.cat.episodes[episode_id]
        return {
            "audio_preview_url": None,
            "description": _plain_text(e.description),
            "duration_ms": e.duration_ms,
            "explicit": False,
            "external_urls": _ext("episode", e.id),
            "href": f"{self.api}episodes/{e.id}",
            "html_description": e.description,
            "id": e.id,
            "images": _images("show" + e.show_id),
            "is_externally_hosted": False,
            "is_playable": True,
            "languages": ["en"],
            "name": e.name,
            "release_date": e.release_date,
            "release_date_precision": "day",
            "type": "episode",
            "uri": f"spotify:episode:{e.id}",
            "show": self.simple_show(e.show_id, e.show_name, e.publisher, mode),
        }

    def simple_show(self, show_id: str, name: str, publisher: str, mode: str) -> dict:
        about = f"{name}, from {publisher}."
        obj: dict = {}
        if mode == EXTENDED:
            obj["available_markets"] = list(MARKETS)
        obj |= {
            "copyrights": [],
            "description": about,
            "explicit": False,
            "external_urls": _ext("show", show_id),
            "href": f"{self.api}shows/{show_id}",
            "html_description": f"<p>{html.escape(about)}</p>",
            "id": show_id,
            "images": _images("show" + show_id),
            "is_externally_hosted": False,
            "languages": ["en"],
            "media_type": "audio",
            "name": name,
            "publisher": publisher,
            "total_episodes": self._show_episodes.get(show_id, 0),
            "type": "show",
            "uri": f"spotify:show:{show_id}",
        }
        return obj

    def item_json(self, it: PlaylistItem, mode: str, keys: tuple[str, ...]) -> str:
        """One playlist item, its track/episode/local file under each of ``keys``."""
        kind = it.kind
        if kind == "track":
            body = self.track_json(it.ref, mode)
        elif kind == "episode":
            body = dumps(self.episode(it.ref, mode))
        elif kind == "local":
            body = dumps(local_track(it.ref))
        else:
            body = "null"
        at = "null" if it.added_at is None else f'"{it.added_at}"'
        parts = [
            f'{{"added_at":{at},"added_by":{self.added_by_json(it.added_by)},',
            f'"is_local":{"true" if kind == "local" else "false"},"primary_color":null,',
            '"video_thumbnail":{"url":null}',
        ]
        for key in keys:
            parts.append(f',"{key}":{body}')
        parts.append("}")
        return "".join(parts)

    def playlist_base(self, pl: PlaylistState) -> dict:
        """A playlist's fields, without its items or followers (callers add what they show)."""
        meta = pl.meta
        owner = self.user_obj(meta.owner_id)
        return {
            "collaborative": meta.collaborative,
            "description": pl.description,
            "external_urls": _ext("playlist", meta.id),
            "href": f"{self.api}playlists/{meta.id}",
            "id": meta.id,
            "images": playlist_images(meta),
            "name": pl.name,
            "owner": owner,
            "primary_color": None,
            "public": pl.public,
            "snapshot_id": pl.snapshot_id,
            "type": "playlist",
            "uri": f"spotify:playlist:{meta.id}",
        }

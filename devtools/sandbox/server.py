"""A local stand-in of the Spotify Web API and accounts service ("the sandbox").

Pure standard library: ``http.server.ThreadingHTTPServer`` + ``json``. Follows the rules in
``docs/spotify-web-api.md`` (Development Mode vs Extended Quota Mode, the 2026 item shape,
404 for editorial playlists, 429 with ``Retry-After`` and the ``QUOTA_EXCEEDED`` reason).

Control API (not part of Spotify), from Python via ``server.state`` or over HTTP under
``/_sandbox/``: faults, mode, playlist edits, request counters, reset.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import secrets
import socket
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from .catalog import (
    BASE62,
    DEFAULT_ALLOW_LIST,
    DEFAULT_SEED,
    PRE_ISSUED_SCOPE,
    SPOTIFY_USER_ID,
    Catalog,
    LocalFile,
    Playlist,
    PlaylistItem,
    build_catalog,
)

SANDBOX_CLIENT_ID = "sandbox-client-id"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
DEVELOPMENT = "development"
EXTENDED = "extended"
MODES = (DEVELOPMENT, EXTENDED)
TOKEN_LIFETIME_S = 3600
AUTH_CODE_LIFETIME_S = 600
FAULT_KINDS = ("latency_ms", "rate_limit", "quota_exceeded", "server_error")
#: Spotify's 403 when the app owner's Premium lapsed (Development Mode needs it).
PREMIUM_REQUIRED_MESSAGE = "Active premium subscription required for the owner of the app."
#: Spotify's 403 for a user who is not on a Development Mode app's allow-list.
NOT_ALLOW_LISTED_MESSAGE = "User not registered in the Developer Dashboard"

_JSON_CT = "application/json; charset=utf-8"
_SERVER_ERROR_MESSAGES = {
    500: "Server error.",
    502: "Bad gateway.",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_base62_id(value: str) -> bool:
    return len(value) == 22 and value.isascii() and value.isalnum()


def _image_hash(key: str) -> str:
    return hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()[:24]


def _bare_id(value: str, kind: str) -> str:
    """Accept ``id``, ``spotify:KIND:id`` or ``https://open.spotify.com/KIND/id``."""
    prefix = f"spotify:{kind}:"
    if value.startswith(prefix):
        return value[len(prefix) :]
    marker = f"open.spotify.com/{kind}/"
    if marker in value:
        return value.split(marker, 1)[1].split("?", 1)[0]
    return value


class ApiError(Exception):
    """An error answered as ``{"error": {"status": N, "message": ...}}`` (Web API shape)."""

    def __init__(self, status: int, message: str, *, reason=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.headers = headers or {}

    def body(self) -> dict:
        err = {"status": self.status, "message": self.message}
        if self.reason:
            err["reason"] = self.reason
        return {"error": err}


class OAuthError(Exception):
    """An error answered as ``{"error": code, "error_description": ...}`` (accounts shape)."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


# --- fields= filtering -------------------------------------------------------------------
def parse_fields(spec: str) -> dict | None:
    """Parse Spotify's ``fields`` syntax (``a,b.c,d(e,f(g))``) into a tree; exclusions ignored."""
    pos = 0

    def parse_list() -> dict:
        nonlocal pos
        tree: dict = {}
        while pos < len(spec):
            if spec[pos] == ")":
                return tree
            if spec[pos] == ",":
                pos += 1
                continue
            name, sub = parse_item()
            if name:
                if name in tree and tree[name] is not None and sub is not None:
                    tree[name].update(sub)
                else:
                    tree[name] = None if (name in tree and tree[name] is None) else sub
        return tree

    def parse_item():
        nonlocal pos
        start = pos
        while pos < len(spec) and spec[pos] not in ",().":
            pos += 1
        name = spec[start:pos].strip()
        sub = None
        if pos < len(spec) and spec[pos] == ".":
            pos += 1
            child, child_sub = parse_item()
            sub = {child: child_sub} if child else None
        elif pos < len(spec) and spec[pos] == "(":
            pos += 1
            sub = parse_list()
            pos += 1  # ')'
        if name.startswith("!"):
            return None, None
        return name, sub

    tree = parse_list()
    return tree or None


def apply_fields(obj, tree):
    if tree is None:
        return obj
    if isinstance(obj, list):
        return [apply_fields(o, tree) for o in obj]
    if isinstance(obj, dict):
        return {k: apply_fields(obj[k], sub) for k, sub in tree.items() if k in obj}
    return obj


# --- state -------------------------------------------------------------------------------
class _AccessToken:
    __slots__ = ("token", "user_id", "scope", "expires_at", "expired")

    def __init__(self, token, user_id, scope, expires_at):
        self.token = token
        self.user_id = user_id
        self.scope = scope
        self.expires_at = expires_at
        self.expired = False

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())


class _PlaylistState:
    __slots__ = ("meta", "items", "snapshot_id", "name", "description", "public")

    def __init__(self, meta: Playlist, snapshot_id: str):
        self.meta = meta
        self.items: list[PlaylistItem] = list(meta.items)
        self.snapshot_id = snapshot_id
        self.name = meta.name
        self.description = meta.description
        self.public = meta.public


def _initial_snapshot(playlist_id: str) -> str:
    digest = hashlib.sha256(f"snapshot:{playlist_id}:0".encode()).digest()
    return "AAAA" + base64.b64encode(digest[:21]).decode("ascii").rstrip("=")


class SandboxState:
    """Mutable server state: tokens, playlists, faults, counters. Thread-safe (one lock)."""

    def __init__(self, catalog: Catalog, mode: str = DEVELOPMENT, latency_ms: int = 0):
        self.catalog = catalog
        self.lock = threading.RLock()
        self._default_mode = self._check_mode(mode)
        self._default_latency_ms = int(latency_ms)
        self.token_lifetime = TOKEN_LIFETIME_S
        #: Spotify only accepts HTTPS or loopback-IP http redirect URIs; set False to relax.
        self.strict_redirect_uris = True
        self.reset()

    # mode -------------------------------------------------------------------------------
    @staticmethod
    def _check_mode(mode: str) -> str:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        return mode

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        self._mode = self._check_mode(value)

    # reset ------------------------------------------------------------------------------
    def reset(self, *, tokens: bool = False) -> None:
        """Restore the catalog's playlists, follows and mode; clear faults and counters;
        re-enable the pre-issued refresh tokens. Issued tokens survive unless ``tokens=True``."""
        with self.lock:
            self._mode = self._default_mode
            self.playlists = {
                pid: _PlaylistState(p, _initial_snapshot(pid))
                for pid, p in self.catalog.playlists.items()
            }
            self.follows = {uid: list(pids) for uid, pids in self.catalog.follows.items()}
            if tokens or not hasattr(self, "access_tokens"):
                self.access_tokens: dict[str, _AccessToken] = {}
                self.refresh_tokens: dict[str, dict] = {}
                self.auth_codes: dict[str, dict] = {}
            for u in self.catalog.users.values():
                self.refresh_tokens[u.refresh_token] = {
                    "user_id": u.id,
                    "scope": PRE_ISSUED_SCOPE,
                    "public": True,
                }
            #: Users who may use the app in Development Mode (Spotify allows 5); the
            #: others' user tokens get 403 on every /v1 call. None: no allow-list.
            self.allow_list: set[str] | None = set(DEFAULT_ALLOW_LIST)
            #: The app owner's Premium lapsed: every /v1 call answers 403.
            self.premium_lapsed = False
            #: Hand out a new refresh token on every refresh (and retire the old one).
            self.rotate_refresh_tokens = False
            self._faults: dict = {}
            if self._default_latency_ms:
                self._faults["latency_ms"] = self._default_latency_ms
            self._snapshot_counter = 0
            self.reset_counters()

    def reset_counters(self) -> None:
        with self.lock:
            self.requests: dict[str, int] = {"total": 0}
            self.statuses: dict[str, int] = {}

    def count_request(self, kind: str) -> None:
        with self.lock:
            self.requests["total"] += 1
            self.requests[kind] = self.requests.get(kind, 0) + 1

    def count_status(self, status: int) -> None:
        with self.lock:
            key = str(status)
            self.statuses[key] = self.statuses.get(key, 0) + 1

    def stats(self) -> dict:
        with self.lock:
            return dict(self.requests)

    # faults -----------------------------------------------------------------------------
    def set_faults(self, **faults) -> None:
        """Set (merge) faults.

        ``latency_ms=N``; ``rate_limit={"retry_after": 7, "times": 1, "path_prefix": "/v1/"}``;
        ``quota_exceeded={...same...}``; ``server_error={"status": 502, "times": 2,
        "path_prefix": ...}``; ``expire_tokens=True`` (acts at once). ``times`` None or <= 0 means
        "until cleared"; ``path_prefix`` defaults to ``/v1/`` (the Web API; use
        ``/api/token`` or ``/`` for the accounts service too). None for a fault removes it.
        """
        with self.lock:
            for name, value in faults.items():
                if name == "expire_tokens":
                    if value:
                        self.expire_tokens()
                    continue
                if name not in FAULT_KINDS:
                    raise ValueError(f"unknown fault {name!r}; known: {FAULT_KINDS}")
                if value is None or value is False:
                    self._faults.pop(name, None)
                    continue
                if name == "latency_ms":
                    self._faults[name] = int(value)
                    continue
                opts = dict(value) if isinstance(value, dict) else {}
                times = opts.get("times", 1)
                fault = {
                    "times": None if times is None or int(times) <= 0 else int(times),
                    "path_prefix": opts.get("path_prefix") or "/v1/",
                }
                if name == "server_error":
                    fault["status"] = int(opts.get("status", 502))
                else:
                    fault["retry_after"] = int(opts.get("retry_after", 1))
                self._faults[name] = fault

    def clear_faults(self) -> None:
        with self.lock:
            self._faults = {}

    @property
    def faults(self) -> dict:
        with self.lock:
            return json.loads(json.dumps(self._faults))

    def latency_ms(self) -> int:
        return self._faults.get("latency_ms", 0)

    def take_fault(self, path: str) -> ApiError | None:
        """Consume one matching fault for ``path`` and return the error to answer, if any."""
        with self.lock:
            for name in ("rate_limit", "quota_exceeded", "server_error"):
                fault = self._faults.get(name)
                if not fault or not path.startswith(fault["path_prefix"]):
                    continue
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        del self._faults[name]
                if name == "server_error":
                    status = fault["status"]
                    return ApiError(status, _SERVER_ERROR_MESSAGES.get(status, "Server error."))
                headers = {"Retry-After": str(fault["retry_after"])}
                if name == "rate_limit":
                    return ApiError(429, "API rate limit exceeded", headers=headers)
                return ApiError(429, "Too many requests", reason="QUOTA_EXCEEDED", headers=headers)
        return None

    # tokens -----------------------------------------------------------------------------
    def issue_access_token(self, user_id: str | None = None, scope: str | None = None) -> str:
        """Issue an access token directly (handy in tests). ``user_id`` None: app token."""
        if user_id is not None and user_id not in self.catalog.users:
            raise ValueError(f"unknown sandbox user {user_id!r}")
        if scope is None:
            scope = PRE_ISSUED_SCOPE if user_id else ""
        token = "BQ" + secrets.token_urlsafe(48)
        with self.lock:
            self.access_tokens[token] = _AccessToken(
                token, user_id, scope, time.time() + self.token_lifetime
            )
        return token

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (refresh tokens stay valid)."""
        with self.lock:
            for tok in self.access_tokens.values():
                tok.expired = True

    def revoke_refresh_token(self, refresh_token: str) -> None:
        with self.lock:
            self.refresh_tokens.pop(refresh_token, None)

    def lookup_token(self, token: str) -> _AccessToken:
        with self.lock:
            tok = self.access_tokens.get(token)
        if tok is None:
            raise ApiError(401, "Invalid access token")
        if tok.expired or time.time() >= tok.expires_at:
            raise ApiError(401, "The access token expired")
        return tok

    # playlist edits ---------------------------------------------------------------------
    def _playlist(self, playlist_id: str) -> _PlaylistState:
        try:
            return self.playlists[_bare_id(playlist_id, "playlist")]
        except KeyError:
            raise KeyError(f"unknown playlist {playlist_id!r}") from None

    def _new_snapshot(self, pl: _PlaylistState) -> None:
        self._snapshot_counter += 1
        raw = f"{pl.meta.id}:{self._snapshot_counter}:{secrets.token_hex(8)}".encode()
        digest = hashlib.sha256(raw).digest()
        pl.snapshot_id = "AAAA" + base64.b64encode(digest[:21]).decode("ascii").rstrip("=")

    def snapshot_id(self, playlist_id: str) -> str:
        with self.lock:
            return self._playlist(playlist_id).snapshot_id

    def playlist_items(self, playlist_id: str) -> list[PlaylistItem]:
        with self.lock:
            return list(self._playlist(playlist_id).items)

    def remove_items(self, playlist_id: str, positions_or_track_ids) -> str:
        """Remove items by position (int, current order) and/or by track id/URI (str; every
        occurrence, like Spotify's remove-by-URI). Returns the new snapshot_id."""
        with self.lock:
            pl = self._playlist(playlist_id)
            positions = {p for p in positions_or_track_ids if isinstance(p, int)}
            ids = {_bare_id(t, "track") for t in positions_or_track_ids if isinstance(t, str)}
            for p in positions:
                if not 0 <= p < len(pl.items):
                    raise IndexError(f"position {p} out of range for {len(pl.items)} items")
            pl.items = [
                it
                for pos, it in enumerate(pl.items)
                if pos not in positions and not (it.kind == "track" and it.ref in ids)
            ]
            self._new_snapshot(pl)
            return pl.snapshot_id

    def add_tracks(
        self,
        playlist_id: str,
        track_ids,
        position: int | None = None,
        added_by: str | None = None,
        added_at: str | None = None,
    ) -> str:
        """Append (or insert at ``position``) tracks by id/URI. Returns the new snapshot_id."""
        with self.lock:
            pl = self._playlist(playlist_id)
            new = []
            for t in track_ids:
                tid = _bare_id(t, "track")
                if tid not in self.catalog.tracks:
                    raise KeyError(f"unknown track {t!r}")
                new.append(
                    PlaylistItem("track", tid, added_at or _now_iso(), added_by or pl.meta.owner_id)
                )
            if position is None:
                pl.items.extend(new)
            else:
                pl.items[position:position] = new
            self._new_snapshot(pl)
            return pl.snapshot_id

    def create_playlist(self, owner_id: str, name: str, track_ids, *, public: bool = True) -> str:
        """A new playlist of catalog tracks (for tests and benchmarks that need many);
        returns its id. `reset()` removes it again."""
        with self.lock:
            if owner_id not in self.catalog.users:
                raise ValueError(f"unknown sandbox user {owner_id!r}")
            playlist_id = "".join(secrets.choice(BASE62) for _ in range(22))
            meta = Playlist(
                id=playlist_id, name=name, description=None, owner_id=owner_id, public=public,
                collaborative=False, collaborators=(), items=(),
            )  # fmt: skip
            self.playlists[playlist_id] = _PlaylistState(meta, _initial_snapshot(playlist_id))
        self.add_tracks(playlist_id, track_ids)
        return playlist_id

    def update_playlist(
        self,
        playlist_id: str,
        *,
        name=None,
        description=None,
        public=None,
        change_snapshot: bool = False,
    ) -> str:
        """Metadata-only edit (whether Spotify changes snapshot_id then is unconfirmed)."""
        with self.lock:
            pl = self._playlist(playlist_id)
            if name is not None:
                pl.name = name
            if description is not None:
                pl.description = description
            if public is not None:
                pl.public = bool(public)
            if change_snapshot:
                self._new_snapshot(pl)
            return pl.snapshot_id

    def follow_playlist(self, user_id: str, playlist_id: str) -> None:
        with self.lock:
            pid = self._playlist(playlist_id).meta.id
            lst = self.follows.setdefault(user_id, [])
            if pid not in lst:
                lst.append(pid)

    def unfollow_playlist(self, user_id: str, playlist_id: str) -> None:
        with self.lock:
            pid = _bare_id(playlist_id, "playlist")
            lst = self.follows.get(user_id, [])
            if pid in lst:
                lst.remove(pid)


# --- JSON rendering ----------------------------------------------------------------------
class _Renderer:
    """Builds Spotify-shaped objects; caches serialized tracks per mode."""

    def __init__(self, state: SandboxState, api_base: str):
        self.state = state
        self.cat = state.catalog
        self.api = api_base  # "http://127.0.0.1:PORT/v1/"
        # caches (never invalidated: the catalog is immutable; mode -> id -> JSON text)
        self._track_json: dict[str, dict[str, str]] = {m: {} for m in MODES}
        self._simple_album: dict[str, dict] = {}
        self._user_json: dict[str, str] = {}

    # small objects
    @staticmethod
    def _ext(kind: str, id_: str) -> dict:
        return {"spotify": f"https://open.spotify.com/{kind}/{id_}"}

    def _images(self, key: str, sizes=(640, 300, 64)) -> list[dict]:
        h = _image_hash(key)
        return [
            {"url": f"https://i.scdn.co/image/ab67616d0000{s:04x}{h}", "height": s, "width": s}
            for s in sizes
        ]

    def user_obj(self, user_id: str) -> dict:
        user = self.cat.users.get(user_id)
        return {
            "external_urls": self._ext("user", user_id),
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
            cached = self._user_json[user_id] = _dumps(obj)
        return cached

    def simple_artist(self, artist_id: str) -> dict:
        a = self.cat.artists[artist_id]
        return {
            "external_urls": self._ext("artist", a.id),
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
        obj["images"] = [] if a.popularity < 3 else self._images("artist" + a.id)
        if mode == EXTENDED:
            obj["popularity"] = a.popularity
            obj["followers"] = {"href": None, "total": a.followers}
        return obj

    def simple_album(self, album_id: str) -> dict:
        cached = self._simple_album.get(album_id)
        if cached is None:
            al = self.cat.albums[album_id]
            cached = {
                "album_type": al.album_type,
                "total_tracks": len(al.track_ids),
                "external_urls": self._ext("album", al.id),
                "href": f"{self.api}albums/{al.id}",
                "id": al.id,
                "images": self._images("album" + al.id),
                "name": al.name,
                "release_date": al.release_date,
                "release_date_precision": al.release_date_precision,
                "type": "album",
                "uri": f"spotify:album:{al.id}",
                "artists": [self.simple_artist(a) for a in al.artist_ids],
            }
            self._simple_album[album_id] = cached
        return cached

    def track(self, track_id: str, mode: str) -> dict:
        t = self.cat.tracks[track_id]
        obj = {
            "album": self.simple_album(t.album_id),
            "artists": [self.simple_artist(a) for a in t.artist_ids],
            "disc_number": t.disc_number,
            "duration_ms": t.duration_ms,
            "explicit": t.explicit,
            "external_ids": {"isrc": t.isrc},
            "external_urls": self._ext("track", t.id),
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
            obj["popularity"] = t.popularity
        return obj

    def track_json(self, track_id: str, mode: str) -> str:
        cache = self._track_json[mode]
        cached = cache.get(track_id)
        if cached is None:
            cached = cache[track_id] = _dumps(self.track(track_id, mode))
        return cached

    def episode(self, episode_id: str) -> dict:
        e = self.cat.episodes[episode_id]
        return {
            "description": e.description,
            "duration_ms": e.duration_ms,
            "explicit": False,
            "external_urls": self._ext("episode", e.id),
            "href": f"{self.api}episodes/{e.id}",
            "id": e.id,
            "images": self._images("show" + e.show_id),
            "is_playable": True,
            "name": e.name,
            "release_date": e.release_date,
            "release_date_precision": "day",
            "type": "episode",
            "uri": f"spotify:episode:{e.id}",
            "show": {
                "external_urls": self._ext("show", e.show_id),
                "href": f"{self.api}shows/{e.show_id}",
                "id": e.show_id,
                "name": e.show_name,
                "publisher": e.publisher,
                "type": "show",
                "uri": f"spotify:show:{e.show_id}",
            },
        }

    @staticmethod
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

    def item_json(self, it: PlaylistItem, mode: str, keys: tuple[str, ...]) -> str:
        kind = it.kind
        if kind == "track":
            body = self.track_json(it.ref, mode)
        elif kind == "episode":
            body = _dumps(self.episode(it.ref))
        elif kind == "local":
            body = _dumps(self.local_track(it.ref))
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

    @staticmethod
    def item_keys(meta: Playlist, legacy_endpoint: bool = False) -> tuple[str, ...]:
        if legacy_endpoint or meta.legacy_shape:
            return ("track",)
        if meta.deprecated_track_key:
            return ("item", "track")
        return ("item",)

    # paging
    @staticmethod
    def paging_json(
        url_base: str, extra_qs: str, items_json: list[str], limit: int, offset: int, total: int
    ) -> str:
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
        return _dumps(head)[:-1] + ',"items":[' + ",".join(items_json) + "]}"

    def playlist_images(self, meta: Playlist):
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

    def playlist_base(self, pl: _PlaylistState) -> dict:
        meta = pl.meta
        owner = self.user_obj(meta.owner_id)
        return {
            "collaborative": meta.collaborative,
            "description": pl.description,
            "external_urls": self._ext("playlist", meta.id),
            "href": f"{self.api}playlists/{meta.id}",
            "id": meta.id,
            "images": self.playlist_images(meta),
            "name": pl.name,
            "owner": owner,
            "primary_color": None,
            "public": pl.public,
            "snapshot_id": pl.snapshot_id,
            "type": "playlist",
            "uri": f"spotify:playlist:{meta.id}",
        }


# --- HTTP --------------------------------------------------------------------------------
class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, sandbox: SandboxServer):
        self.sandbox = sandbox
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(addr, handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        if self.sandbox.verbose:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SpotifySandbox/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are dropped after this
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

    server: _HTTPServer

    def setup(self):
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self):
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        if self.server.sandbox.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self.server.sandbox._dispatch(self, "GET")

    def do_POST(self):
        self.server.sandbox._dispatch(self, "POST")

    def do_PUT(self):
        self.server.sandbox._dispatch(self, "PUT")

    def do_DELETE(self):
        self.server.sandbox._dispatch(self, "DELETE")


class _Request:
    __slots__ = ("method", "path", "query", "body", "headers", "host_base")

    def __init__(self, method, path, query, body, headers, host_base):
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.headers = headers
        self.host_base = host_base  # "http://HOST:PORT/" as the client addressed us

    def q(self, name: str, default=None):
        return self.query.get(name, default)


def _route_kind(method: str, parts: list[str]) -> str:
    """Counter bucket for a /v1/... path split into parts (without "v1")."""
    n = len(parts)
    head = parts[0] if parts else ""
    if head == "me":
        return "me" if n == 1 else ("my_playlists" if parts[1:] == ["playlists"] else "me_other")
    if head == "playlists" and n >= 2:
        if n == 2:
            return "playlist"
        return {"items": "items", "tracks": "playlist_tracks"}.get(parts[2], "playlist_other")
    if head in ("artists", "albums", "tracks"):
        singular = head[:-1]
        if n == 1:
            return f"{head}_batch"
        if n == 2:
            return singular
        return f"{singular}_{parts[2]}".replace("-", "_")
    return head or "root"


class SandboxServer:
    """Local Spotify Web API stand-in. ``port=0`` picks a free port (bound at construction).

    Use as ``with SandboxServer() as server: ...`` or ``server.start()`` / ``server.stop()``.
    """

    def __init__(
        self,
        catalog: Catalog | None = None,
        mode: str = DEVELOPMENT,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency_ms: int = 0,
        verbose: bool = False,
        seed: int = DEFAULT_SEED,
    ):
        self.catalog = catalog if catalog is not None else build_catalog(seed)
        self.state = SandboxState(self.catalog, mode=mode, latency_ms=latency_ms)
        self.verbose = verbose
        self.host = host
        self._httpd = _HTTPServer((host, port), _Handler, self)
        self.port = self._httpd.server_address[1]
        public_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        if public_host == "::":
            public_host = "::1"
        if ":" in public_host:
            public_host = f"[{public_host}]"
        self._base_url = f"http://{public_host}:{self.port}/"
        self._renderers: dict[str, _Renderer] = {}
        self._thread: threading.Thread | None = None
        self._serving = False

    # URLs -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def api_base_url(self) -> str:
        return self._base_url + "v1/"

    @property
    def accounts_base_url(self) -> str:
        return self._base_url

    @property
    def token_url(self) -> str:
        return self._base_url + "api/token"

    @property
    def authorize_url(self) -> str:
        return self._base_url + "authorize"

    # lifecycle --------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        if self._thread is None:
            self._serving = True
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"spotify-sandbox-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serving = True
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._serving = False

    def stop(self) -> None:
        if self._serving:
            self._httpd.shutdown()
            self._serving = False
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._httpd.connections_lock:
            conns = list(self._httpd.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # dispatch ---------------------------------------------------------------------------
    def _renderer(self, host_base: str) -> _Renderer:
        r = self._renderers.get(host_base)
        if r is None:
            r = self._renderers[host_base] = _Renderer(self.state, host_base + "v1/")
        return r

    def _dispatch(self, h: _Handler, method: str) -> None:
        split = urlsplit(h.path)
        path = split.path
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        host = h.headers.get("Host")
        host_base = f"http://{host}/" if host else self._base_url
        req = _Request(method, path, query, body, h.headers, host_base)
        state = self.state
        try:
            if path.startswith("/_sandbox"):
                status, payload, headers = self._control(req)
                self._send(h, status, payload, headers, count=False)
                return
            kind = self._kind(method, path)
            state.count_request(kind)
            latency = state.latency_ms()
            if latency:
                time.sleep(latency / 1000)
            fault = state.take_fault(path)
            if fault is not None:
                raise fault
            if path == "/api/token":
                status, payload, headers = self._token(req)
            elif path == "/authorize":
                status, payload, headers = self._authorize(req)
            elif path.startswith("/v1/"):
                if method != "GET":
                    raise ApiError(405, "Method not allowed")
                status, payload, headers = self._api(req)
            else:
                raise ApiError(404, "Service not found")
        except ApiError as e:
            status, payload, headers = e.status, _dumps(e.body()), e.headers
        except OAuthError as e:
            status, payload, headers = e.status, _dumps(e.body), {}
        except Exception:  # pragma: no cover - a bug in the sandbox itself
            traceback.print_exc()
            status, payload, headers = 500, _dumps(ApiError(500, "Server error.").body()), {}
        self._send(h, status, payload, headers)

    @staticmethod
    def _kind(method: str, path: str) -> str:
        if path == "/api/token":
            return "token"
        if path == "/authorize":
            return "authorize"
        if path.startswith("/v1/"):
            return _route_kind(method, [p for p in path[4:].split("/") if p])
        return "other"

    def _send(self, h: _Handler, status: int, payload, headers=None, count=True) -> None:
        if count:
            self.state.count_status(status)
        headers = dict(headers or {})
        if payload is None:
            data = b""
        elif isinstance(payload, bytes):
            data = payload
        else:
            data = (payload if isinstance(payload, str) else _dumps(payload)).encode("utf-8")
            headers.setdefault("Content-Type", _JSON_CT)
        try:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if data and h.command != "HEAD":
                h.wfile.write(data)
        except OSError:
            h.close_connection = True

    # accounts ---------------------------------------------------------------------------
    def _client_auth(self, req: _Request, form: dict) -> tuple[str, str | None]:
        auth = req.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "Invalid client") from None
            return cid, secret
        return form.get("client_id", ""), form.get("client_secret")

    def _token_response(self, user_id, scope, refresh_token=None) -> dict:
        token = self.state.issue_access_token(user_id, scope)
        out = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.state.token_lifetime,
            "scope": scope,
        }
        if refresh_token:
            out["refresh_token"] = refresh_token
        return out

    def _token(self, req: _Request):
        if req.method != "POST":
            raise ApiError(405, "Method not allowed")
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        cid, secret = self._client_auth(req, form)
        if cid != SANDBOX_CLIENT_ID:
            raise OAuthError("invalid_client", "Invalid client")
        if secret is not None and secret != SANDBOX_CLIENT_SECRET:
            raise OAuthError("invalid_client", "Invalid client secret")
        public_client = secret is None
        grant = form.get("grant_type")
        state = self.state
        if not grant:
            raise OAuthError("unsupported_grant_type", "grant_type parameter is missing")
        if grant == "client_credentials":
            if public_client:
                raise OAuthError("invalid_client", "Invalid client")
            return 200, self._token_response(None, ""), {}
        if grant == "authorization_code":
            with state.lock:
                code = state.auth_codes.pop(form.get("code", ""), None)
            if code is None or code["expires_at"] < time.time():
                raise OAuthError("invalid_grant", "Invalid authorization code")
            if form.get("redirect_uri") != code["redirect_uri"]:
                raise OAuthError("invalid_grant", "Invalid redirect URI")
            if code["code_challenge"]:
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
                if expected != code["code_challenge"]:
                    raise OAuthError("invalid_grant", "code_verifier was incorrect")
            elif public_client:
                raise OAuthError("invalid_client", "Invalid client")
            refresh = secrets.token_urlsafe(48)
            with state.lock:
                state.refresh_tokens[refresh] = {
                    "user_id": code["user_id"],
                    "scope": code["scope"],
                    "public": public_client,
                }
            return 200, self._token_response(code["user_id"], code["scope"], refresh), {}
        if grant == "refresh_token":
            with state.lock:
                info = state.refresh_tokens.get(form.get("refresh_token", ""))
            if info is None:
                raise OAuthError("invalid_grant", "Invalid refresh token")
            if public_client and not info["public"]:
                raise OAuthError("invalid_client", "Invalid client")
            rotated = None
            if state.rotate_refresh_tokens:
                rotated = secrets.token_urlsafe(48)
                with state.lock:
                    state.refresh_tokens.pop(form.get("refresh_token", ""), None)
                    state.refresh_tokens[rotated] = info
            return 200, self._token_response(info["user_id"], info["scope"], rotated), {}
        raise OAuthError(
            "unsupported_grant_type",
            "grant_type must be client_credentials, authorization_code or refresh_token",
        )

    def _redirect_ok(self, uri: str) -> bool:
        if not self.state.strict_redirect_uris:
            return uri.startswith(("http://", "https://"))
        if uri.startswith("https://"):
            return True
        host = urlsplit(uri).hostname or ""
        return uri.startswith("http://") and host in ("127.0.0.1", "::1")

    def _authorize(self, req: _Request):
        if req.method != "GET":
            raise ApiError(405, "Method not allowed")
        q = req.q
        if q("client_id") != SANDBOX_CLIENT_ID:
            raise OAuthError("invalid_client", "Invalid client")
        redirect_uri = q("redirect_uri", "")
        if not redirect_uri:
            raise OAuthError("invalid_request", "Missing required parameter: redirect_uri")
        if not self._redirect_ok(redirect_uri):
            raise OAuthError("invalid_request", "Insecure redirect URI")
        if q("response_type") != "code":
            raise OAuthError("unsupported_response_type", "response_type must be code")
        challenge = q("code_challenge")
        if challenge and q("code_challenge_method", "S256") != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256")
        if q("sandbox_user") is None and not q("sandbox_deny"):
            # A person at a browser: pick a sandbox user and approve (or cancel).
            return 200, self._authorize_page(req), {"Content-Type": "text/html; charset=utf-8"}
        user_id = q("sandbox_user") or "sandbox-demo"
        if user_id not in self.catalog.users:
            raise OAuthError("invalid_request", f"Unknown sandbox user {user_id!r}")
        params = {}
        if q("sandbox_deny"):
            params["error"] = "access_denied"
        else:
            code = "AQ" + secrets.token_urlsafe(32)
            with self.state.lock:
                self.state.auth_codes[code] = {
                    "user_id": user_id,
                    "scope": " ".join((q("scope") or "").replace(",", " ").split()),
                    "redirect_uri": redirect_uri,
                    "code_challenge": challenge,
                    "expires_at": time.time() + AUTH_CODE_LIFETIME_S,
                }
            params["code"] = code
        if q("state") is not None:
            params["state"] = q("state")
        sep = "&" if "?" in redirect_uri else "?"
        return 302, None, {"Location": redirect_uri + sep + urlencode(params)}

    def _authorize_page(self, req: _Request) -> bytes:
        """Spotify's consent page, sandbox style: choose who you are, then agree or cancel."""
        esc = html.escape
        hidden = "".join(
            f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
            for k, v in req.query.items()
            if not k.startswith("sandbox_")
        )
        allow = self.state.allow_list
        users = []
        for i, user in enumerate(u for u in self.catalog.users.values() if u.id != SPOTIFY_USER_ID):
            note = ""
            if allow is not None and user.id not in allow and self.state.mode == DEVELOPMENT:
                note = " <small>(not on the app's allow-list: the API will answer 403)</small>"
            users.append(
                f'<li><label><input type="radio" name="sandbox_user" value="{esc(user.id)}"'
                f"{' checked' if i == 0 else ''}> {esc(user.display_name)} "
                f"<code>{esc(user.id)}</code>{note}</label></li>"
            )
        scopes = "".join(
            f"<li><code>{esc(scope)}</code></li>"
            for scope in (req.q("scope") or "").replace(",", " ").split()
        )
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spotify sandbox: authorize</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}
li{{margin:.3rem 0}}button{{font-size:1rem;padding:.4rem 1rem;margin-right:.5rem}}</style></head>
<body><h1>Spotify sandbox</h1>
<p>An app (<code>{esc(req.q("client_id") or "")}</code>) asks to connect to your Spotify account.
This is the local stand-in of Spotify's consent page: no password, just pick who you are.</p>
<form method="get" action="/authorize">{hidden}
<fieldset><legend>Sign in as</legend><ul>{"".join(users)}</ul></fieldset>
<p>It will be able to:</p><ul>{scopes or "<li>see your public profile</li>"}</ul>
<p><button type="submit" name="sandbox_approve" value="1">Agree</button>
<button type="submit" name="sandbox_deny" value="1">Cancel</button></p>
</form></body></html>"""
        return page.encode("utf-8")

    # Web API ----------------------------------------------------------------------------
    def _app_walls(self, tok) -> None:
        """Development Mode's app-wide refusals: the owner's Premium, the allow-list."""
        if self.state.premium_lapsed:
            raise ApiError(403, PREMIUM_REQUIRED_MESSAGE)
        allow = self.state.allow_list
        if (
            self.state.mode == DEVELOPMENT
            and allow is not None
            and tok.user_id is not None
            and tok.user_id not in allow
        ):
            raise ApiError(403, NOT_ALLOW_LISTED_MESSAGE)

    def _bearer(self, req: _Request):
        auth = req.headers.get("Authorization", "")
        if not auth:
            raise ApiError(401, "No token provided")
        if not auth.startswith("Bearer "):
            raise ApiError(400, "Only valid bearer authentication supported")
        return self.state.lookup_token(auth[7:].strip())

    @staticmethod
    def _limit_offset(req: _Request, default: int = 20, maximum: int = 50) -> tuple[int, int]:
        try:
            limit = int(req.q("limit", default))
            offset = int(req.q("offset", 0))
        except ValueError:
            raise ApiError(400, "Invalid limit or offset") from None
        if limit < 1 or limit > maximum:
            raise ApiError(400, "Invalid limit")
        if offset < 0:
            raise ApiError(400, "Invalid offset")
        return limit, offset

    def _api(self, req: _Request):  # noqa: C901 - a router
        parts = [p for p in req.path[4:].split("/") if p]
        tok = self._bearer(req)
        self._app_walls(tok)
        mode = self.state.mode
        r = self._renderer(req.host_base)
        n = len(parts)
        head = parts[0] if parts else ""
        if head == "me" and n == 1:
            return self._me(tok, r)
        if head == "me" and parts[1:] == ["playlists"]:
            return self._my_playlists(req, tok, r)
        if head == "playlists" and n == 2:
            return self._playlist(req, tok, r, parts[1])
        if head == "playlists" and n == 3 and parts[2] in ("items", "tracks"):
            if parts[2] == "tracks" and mode == DEVELOPMENT:
                raise ApiError(403, "Forbidden")
            return self._items(req, tok, r, parts[1], legacy=parts[2] == "tracks")
        if head == "artists" and n == 2:
            return self._single(
                r, parts[1], self.catalog.artists, "artist", lambda i: r.artist(i, mode)
            )
        if head == "albums" and n == 2:
            return self._single(
                r, parts[1], self.catalog.albums, "album", lambda i: self._album(req, r, i, mode)
            )
        if head == "albums" and n == 3 and parts[2] == "tracks":
            return self._album_tracks(req, r, parts[1], mode)
        if head == "tracks" and n == 2:
            return self._single(
                r, parts[1], self.catalog.tracks, "track", lambda i: r.track_json(i, mode)
            )
        if head in ("artists", "albums", "tracks") and n == 1:
            return self._batch(req, r, head, mode)
        if (
            head in ("audio-features", "audio-analysis", "recommendations")
            or (head == "artists" and n == 3 and parts[2] == "related-artists")
            or (head == "browse" and n >= 2 and parts[1] in ("featured-playlists", "categories"))
        ):
            raise ApiError(403, "Forbidden")  # removed for new apps since 2024-11-27
        if mode == DEVELOPMENT and (
            head in ("users", "markets", "browse")
            or (head == "artists" and n == 3 and parts[2] == "top-tracks")
        ):
            raise ApiError(403, "Forbidden")  # removed in Development Mode
        if head == "users" and n == 2 and parts[1] in self.catalog.users:
            obj = r.user_obj(parts[1])
            obj["followers"] = {"href": None, "total": 0}
            obj["images"] = []
            return 200, obj, {}
        raise ApiError(404, "Service not found")

    def _me(self, tok, r: _Renderer):
        if tok.user_id is None:
            raise ApiError(401, "Unauthorized.")
        user = self.catalog.users[tok.user_id]
        obj = r.user_obj(user.id)
        obj["account_id"] = user.account_id
        obj["images"] = []
        return 200, obj, {}

    # access rules
    def _visible(self, tok, pl: _PlaylistState) -> bool:
        meta = pl.meta
        if meta.owner_id == SPOTIFY_USER_ID:
            return False
        if pl.public:
            return True
        return tok.user_id is not None and (
            tok.user_id == meta.owner_id or tok.user_id in meta.collaborators
        )

    def _items_access(self, tok, pl: _PlaylistState) -> str | None:
        """None if the token may read items, else the 403 message."""
        meta = pl.meta
        member = tok.user_id is not None and (
            tok.user_id == meta.owner_id or tok.user_id in meta.collaborators
        )
        if self.state.mode == EXTENDED and pl.public:
            return None
        if not member:
            return "Forbidden"
        scopes = tok.scopes
        if self.state.mode == DEVELOPMENT or not pl.public:
            if "playlist-read-private" not in scopes:
                return "Insufficient client scope"
            if meta.collaborative and "playlist-read-collaborative" not in scopes:
                return "Insufficient client scope"
        return None

    def _get_playlist(self, tok, playlist_id: str) -> _PlaylistState:
        with self.state.lock:
            pl = self.state.playlists.get(playlist_id)
        if pl is None or not self._visible(tok, pl):
            raise ApiError(404, "Resource not found")
        return pl

    def _items_page(
        self,
        req: _Request,
        r: _Renderer,
        pl: _PlaylistState,
        endpoint: str,
        limit: int,
        offset: int,
        legacy: bool = False,
        keep_params=("fields", "market", "additional_types"),
    ) -> str:
        with self.state.lock:
            rows = pl.items[offset : offset + limit]
            total = len(pl.items)
        keys = r.item_keys(pl.meta, legacy_endpoint=legacy)
        mode = self.state.mode
        items_json = [r.item_json(it, mode, keys) for it in rows]
        extra = {k: req.q(k) for k in keep_params if req.q(k)}
        extra_qs = ("&" + urlencode(extra, quote_via=quote)) if extra else ""
        url_base = f"{r.api}playlists/{pl.meta.id}/{endpoint}"
        return r.paging_json(url_base, extra_qs, items_json, limit, offset, total)

    def _playlist(self, req: _Request, tok, r: _Renderer, playlist_id: str):
        pl = self._get_playlist(tok, playlist_id)
        fields = parse_fields(req.q("fields") or "")
        with self.state.lock:
            obj = r.playlist_base(pl)
        obj["followers"] = {"href": None, "total": pl.meta.followers}
        text = _dumps(obj)
        wants_items = fields is None or "items" in fields or "tracks" in fields
        if wants_items and self._items_access(tok, pl) is None:
            page = self._items_page(
                req, r, pl, "items", 50, 0, keep_params=("market", "additional_types")
            )
            extra = ',"items":' + page
            if pl.meta.deprecated_track_key or pl.meta.legacy_shape:
                extra += ',"tracks":' + page
            text = text[:-1] + extra + "}"
        if fields is not None:
            text = _dumps(apply_fields(json.loads(text), fields))
        return 200, text, {}

    def _items(self, req: _Request, tok, r: _Renderer, playlist_id: str, legacy: bool):
        pl = self._get_playlist(tok, playlist_id)
        limit, offset = self._limit_offset(
            req, default=20 if not legacy else 100, maximum=50 if not legacy else 100
        )
        denied = self._items_access(tok, pl)
        if denied:
            raise ApiError(403, denied)
        text = self._items_page(
            req, r, pl, "tracks" if legacy else "items", limit, offset, legacy=legacy
        )
        fields = parse_fields(req.q("fields") or "")
        if fields is not None:
            text = _dumps(apply_fields(json.loads(text), fields))
        return 200, text, {}

    def _my_playlists(self, req: _Request, tok, r: _Renderer):
        if tok.user_id is None:
            raise ApiError(401, "Unauthorized.")
        limit, offset = self._limit_offset(req, default=20, maximum=50)
        uid = tok.user_id
        scopes = tok.scopes
        with self.state.lock:
            mine = []
            for pl in self.state.playlists.values():
                meta = pl.meta
                if uid != meta.owner_id and uid not in meta.collaborators:
                    continue
                if meta.collaborative:
                    if "playlist-read-collaborative" not in scopes:
                        continue
                elif not pl.public and "playlist-read-private" not in scopes:
                    continue
                mine.append(pl)
            for pid in self.state.follows.get(uid, []):
                pl = self.state.playlists.get(pid)
                if pl is not None and pl not in mine:
                    mine.append(pl)
            total = len(mine)
            page = []
            for pl in mine[offset : offset + limit]:
                obj = r.playlist_base(pl)
                ref = {"href": f"{r.api}playlists/{pl.meta.id}/items", "total": len(pl.items)}
                obj["items"] = ref
                if pl.meta.deprecated_track_key or pl.meta.legacy_shape:
                    obj["tracks"] = {
                        "href": f"{r.api}playlists/{pl.meta.id}/tracks",
                        "total": len(pl.items),
                    }
                page.append(_dumps(obj))
        return 200, r.paging_json(f"{r.api}me/playlists", "", page, limit, offset, total), {}

    def _single(self, r: _Renderer, raw_id: str, table: dict, kind: str, render):
        if raw_id not in table:
            if not _is_base62_id(raw_id):
                raise ApiError(400, "Invalid base62 id")
            raise ApiError(404, "Resource not found")
        return 200, render(raw_id), {}

    def _album(self, req: _Request, r: _Renderer, album_id: str, mode: str) -> dict:
        al = self.catalog.albums[album_id]
        obj = dict(r.simple_album(album_id))
        obj["copyrights"] = [{"text": f"℗ {al.release_date[:4]} {al.label}", "type": "P"}]
        obj["external_ids"] = {"upc": al.upc}
        obj["genres"] = []
        if mode == EXTENDED:
            obj["label"] = al.label
            obj["popularity"] = al.popularity
        items = [self._simple_track_json(r, t, mode) for t in al.track_ids[:50]]
        page = r.paging_json(
            f"{r.api}albums/{album_id}/tracks", "", items, 50, 0, len(al.track_ids)
        )
        return _dumps(obj)[:-1] + ',"tracks":' + page + "}"

    @staticmethod
    def _simple_track_json(r: _Renderer, track_id: str, mode: str) -> str:
        obj = r.track(track_id, mode)
        for k in ("album", "external_ids", "popularity"):
            obj.pop(k, None)
        return _dumps(obj)

    def _album_tracks(self, req: _Request, r: _Renderer, album_id: str, mode: str):
        if album_id not in self.catalog.albums:
            raise ApiError(
                404 if _is_base62_id(album_id) else 400,
                "Resource not found" if _is_base62_id(album_id) else "Invalid base62 id",
            )
        limit, offset = self._limit_offset(req, default=20, maximum=50)
        tids = self.catalog.albums[album_id].track_ids
        items = [self._simple_track_json(r, t, mode) for t in tids[offset : offset + limit]]
        return (
            200,
            r.paging_json(f"{r.api}albums/{album_id}/tracks", "", items, limit, offset, len(tids)),
            {},
        )

    def _batch(self, req: _Request, r: _Renderer, head: str, mode: str):
        if mode == DEVELOPMENT:
            raise ApiError(403, "Forbidden")
        raw = req.q("ids")
        if not raw:
            raise ApiError(400, "invalid id")
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        maximum = 20 if head == "albums" else 50
        if len(ids) > maximum:
            raise ApiError(400, "Too many ids requested")
        out = []
        for i in ids:
            if head == "artists":
                out.append(_dumps(r.artist(i, mode)) if i in self.catalog.artists else "null")
            elif head == "albums":
                out.append(self._album(req, r, i, mode) if i in self.catalog.albums else "null")
            else:
                out.append(r.track_json(i, mode) if i in self.catalog.tracks else "null")
        return 200, f'{{"{head}":[' + ",".join(out) + "]}", {}

    # control API ------------------------------------------------------------------------
    def _control(self, req: _Request):
        """``/_sandbox/...`` endpoints (not Spotify). Returns (status, payload, headers)."""
        state = self.state
        path = req.path.rstrip("/")
        try:
            data = json.loads(req.body) if req.body else {}
        except ValueError:
            return 400, {"error": "body must be JSON"}, {}
        m = req.method
        if path in ("/_sandbox", "/_sandbox/info") and m == "GET":
            return 200, self.info(), {}
        if path == "/_sandbox/stats":
            if m == "DELETE":
                state.reset_counters()
            return 200, state.stats(), {}
        if path == "/_sandbox/statuses" and m == "GET":
            with state.lock:
                return 200, dict(state.statuses), {}
        if path == "/_sandbox/faults":
            if m == "GET":
                return 200, state.faults, {}
            if m == "POST":
                try:
                    state.set_faults(**data)
                except (ValueError, TypeError) as e:
                    return 400, {"error": str(e)}, {}
                return 200, state.faults, {}
            if m == "DELETE":
                state.clear_faults()
                return 200, state.faults, {}
        if path == "/_sandbox/mode":
            if m == "POST":
                try:
                    state.mode = data.get("mode")
                except ValueError as e:
                    return 400, {"error": str(e)}, {}
            return 200, {"mode": state.mode}, {}
        if path == "/_sandbox/app":
            # {"allow_list": [user ids] or null, "premium_lapsed": bool,
            #  "rotate_refresh_tokens": bool}
            if m == "POST":
                with state.lock:
                    if "allow_list" in data:
                        users = data["allow_list"]
                        state.allow_list = None if users is None else set(users)
                    for flag in ("premium_lapsed", "rotate_refresh_tokens"):
                        if flag in data:
                            setattr(state, flag, bool(data[flag]))
            return 200, self._app_settings(), {}
        if path == "/_sandbox/reset" and m == "POST":
            state.reset(tokens=bool(data.get("tokens")))
            return 200, {"ok": True}, {}
        if path == "/_sandbox/expire-tokens" and m == "POST":
            state.expire_tokens()
            return 200, {"ok": True}, {}
        parts = path.split("/")
        if len(parts) == 5 and parts[2] == "playlists" and parts[4] == "items" and m == "POST":
            # {"remove": [positions or track ids], "add": [track ids], "position": N}
            try:
                snap = None
                if data.get("remove"):
                    snap = state.remove_items(parts[3], data["remove"])
                if data.get("add"):
                    snap = state.add_tracks(parts[3], data["add"], data.get("position"))
            except (KeyError, IndexError) as e:
                return 400, {"error": str(e)}, {}
            return 200, {"snapshot_id": snap or state.snapshot_id(parts[3])}, {}
        return 404, {"error": "unknown sandbox control endpoint"}, {}

    def _app_settings(self) -> dict:
        state = self.state
        with state.lock:
            allow = None if state.allow_list is None else sorted(state.allow_list)
            return {
                "allow_list": allow,
                "premium_lapsed": state.premium_lapsed,
                "rotate_refresh_tokens": state.rotate_refresh_tokens,
            }

    def info(self) -> dict:
        from . import catalog as c

        return {
            "mode": self.state.mode,
            "app": self._app_settings(),
            "control": {
                "GET /_sandbox/info": "this page",
                "GET|DELETE /_sandbox/stats": "requests by kind (DELETE resets)",
                "GET|POST|DELETE /_sandbox/faults": (
                    "latency_ms, rate_limit, quota_exceeded, server_error, expire_tokens"
                ),
                "GET|POST /_sandbox/mode": '{"mode": "development" | "extended"}',
                "GET|POST /_sandbox/app": (
                    '{"allow_list": [user ids] | null, "premium_lapsed": bool, '
                    '"rotate_refresh_tokens": bool}: Development Mode walls. Users not on '
                    f'the allow-list get 403 "{NOT_ALLOW_LISTED_MESSAGE}"; premium_lapsed '
                    f'makes every /v1 call answer 403 "{PREMIUM_REQUIRED_MESSAGE}"'
                ),
                "POST /_sandbox/expire-tokens": "expire every access token",
                "POST /_sandbox/playlists/{id}/items": '{"remove": [...], "add": [...]}',
                "POST /_sandbox/reset": "everything back to the start (faults, walls, mode)",
                "GET /authorize": (
                    "consent page: pick a user and agree; tests skip it with "
                    "sandbox_user=ID (approve) or sandbox_deny=1"
                ),
            },
            "base_url": self.base_url,
            "api_base_url": self.api_base_url,
            "token_url": self.token_url,
            "authorize_url": self.authorize_url,
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
            "users": {
                u.id: {
                    "display_name": u.display_name,
                    "account_id": u.account_id,
                    "refresh_token": u.refresh_token,
                }
                for u in self.catalog.users.values()
            },
            "playlists": {
                "demo": {str(k): v for k, v in c.DEMO_PLAYLISTS.items()},
                "mixed": c.MIXED_PLAYLIST_ID,
                "legacy_shape": c.LEGACY_SHAPE_PLAYLIST_ID,
                "collab": c.COLLAB_PLAYLIST_ID,
                "other_user": c.OTHER_USER_PLAYLIST_ID,
                "private": c.PRIVATE_PLAYLIST_ID,
                "editorial": c.EDITORIAL_PLAYLIST_ID,
            },
        }

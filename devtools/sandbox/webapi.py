"""The Web API under ``/v1/``: the current user, playlists and their items (paged, with
``fields=``), artists, albums and tracks (single and batch), track search, and the
endpoints Spotify removed for new apps or for Development Mode (403)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

from .access import check_app_walls, in_my_playlists, is_visible, items_refusal
from .errors import ApiError
from .fields import apply_fields, parse_fields
from .playlists import PlaylistState
from .render import Renderer, dumps, item_keys, paging_json
from .request import Request, Response
from .state import DEVELOPMENT, EXTENDED, AccessToken, SandboxState

_CATALOG_HEADS = ("artists", "albums", "tracks")


class ApiCall:
    """One authorised Web API call: the request, its token, the state, the renderer for
    the base URL the client used, and the mode read once for the whole call."""

    __slots__ = ("req", "tok", "state", "r", "mode")

    def __init__(self, req: Request, tok: AccessToken, state: SandboxState, r: Renderer):
        self.req = req
        self.tok = tok
        self.state = state
        self.r = r
        self.mode = state.mode


def handle(req: Request, state: SandboxState, r: Renderer) -> Response:
    """Answer a ``/v1/...`` request (after the sandbox counted it and applied faults)."""
    if req.method != "GET":
        raise ApiError(405, "Method not allowed")
    parts = [p for p in req.path[4:].split("/") if p]
    tok = _bearer(req, state)
    check_app_walls(state, tok)
    call = ApiCall(req, tok, state, r)
    head = parts[0] if parts else ""
    if head == "me":
        answer = _route_me(call, parts)
    elif head == "playlists":
        answer = _route_playlists(call, parts)
    elif head in _CATALOG_HEADS:
        answer = _route_catalog(call, parts)
    elif parts == ["search"]:
        answer = _search(call)
    else:
        answer = None
    if answer is not None:
        return answer
    _refuse_removed_endpoints(call.mode, parts)
    return _user(call, parts)


def route_kind(parts: list[str]) -> str:
    """Counter bucket for a /v1/... path split into parts (without "v1")."""
    n = len(parts)
    head = parts[0] if parts else ""
    if head == "me":
        return "me" if n == 1 else ("my_playlists" if parts[1:] == ["playlists"] else "me_other")
    if head == "playlists" and n >= 2:
        if n == 2:
            return "playlist"
        return {"items": "items", "tracks": "playlist_tracks"}.get(parts[2], "playlist_other")
    if head in _CATALOG_HEADS:
        singular = head[:-1]
        if n == 1:
            return f"{head}_batch"
        if n == 2:
            return singular
        return f"{singular}_{parts[2]}".replace("-", "_")
    return head or "root"


# --- request parameters ------------------------------------------------------------------
def _bearer(req: Request, state: SandboxState) -> AccessToken:
    auth = req.headers.get("Authorization", "")
    if not auth:
        raise ApiError(401, "No token provided")
    if not auth.startswith("Bearer "):
        raise ApiError(400, "Only valid bearer authentication supported")
    return state.lookup_token(auth[7:].strip())


def _limit_offset(req: Request, default: int = 20, maximum: int = 50) -> tuple[int, int]:
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


def _filtered(req: Request, text: str) -> str:
    """Apply the request's ``fields=`` filter, if any, to JSON text."""
    fields = parse_fields(req.q("fields") or "")
    if fields is None:
        return text
    return dumps(apply_fields(json.loads(text), fields))


def _is_base62_id(value: str) -> bool:
    return len(value) == 22 and value.isascii() and value.isalnum()


# --- routers: None when the path is not theirs -------------------------------------------
def _route_me(call: ApiCall, parts: list[str]) -> Response | None:
    if len(parts) == 1:
        return _me(call)
    if parts[1:] == ["playlists"]:
        return _my_playlists(call)
    return None


def _route_playlists(call: ApiCall, parts: list[str]) -> Response | None:
    n = len(parts)
    if n == 2:
        return _playlist(call, parts[1])
    if n == 3 and parts[2] in ("items", "tracks"):
        legacy = parts[2] == "tracks"
        if legacy and call.mode == DEVELOPMENT:
            raise ApiError(403, "Forbidden")
        return _items(call, parts[1], legacy=legacy)
    return None


def _route_catalog(call: ApiCall, parts: list[str]) -> Response | None:
    head, n, r, mode, cat = parts[0], len(parts), call.r, call.mode, call.state.catalog
    if n == 1:
        return _batch(call, head)
    if n == 2 and head == "artists":
        return _single(parts[1], cat.artists, lambda i: r.artist(i, mode))
    if n == 2 and head == "albums":
        return _single(parts[1], cat.albums, lambda i: _album_json(call, i))
    if n == 2 and head == "tracks":
        return _single(parts[1], cat.tracks, lambda i: r.track_json(i, mode))
    if n == 3 and head == "albums" and parts[2] == "tracks":
        return _album_tracks(call, parts[1])
    return None


def _refuse_removed_endpoints(mode: str, parts: list[str]) -> None:
    n = len(parts)
    head = parts[0] if parts else ""
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


# --- users -------------------------------------------------------------------------------
def _me(call: ApiCall) -> Response:
    if call.tok.user_id is None:
        raise ApiError(401, "Unauthorized.")
    user = call.state.catalog.users[call.tok.user_id]
    obj = call.r.user_obj(user.id)
    obj["account_id"] = user.account_id
    obj["images"] = []
    return 200, obj, {}


def _user(call: ApiCall, parts: list[str]) -> Response:
    """``/users/{id}`` (Extended Quota Mode only); anything else is not a Web API path."""
    if len(parts) == 2 and parts[0] == "users" and parts[1] in call.state.catalog.users:
        obj = call.r.user_obj(parts[1])
        obj["followers"] = {"href": None, "total": 0}
        obj["images"] = []
        return 200, obj, {}
    raise ApiError(404, "Service not found")


# --- playlists ---------------------------------------------------------------------------
def _get_playlist(call: ApiCall, playlist_id: str) -> PlaylistState:
    with call.state.lock:
        pl = call.state.playlists.get(playlist_id)
    if pl is None or not is_visible(call.tok, pl):
        raise ApiError(404, "Resource not found")
    return pl


def _items_page(
    call: ApiCall,
    pl: PlaylistState,
    endpoint: str,
    limit: int,
    offset: int,
    legacy: bool = False,
    keep_params=("fields", "market", "additional_types"),
) -> str:
    """A page of the playlist's items; its links keep the request's ``keep_params``."""
    with call.state.lock:
        rows = pl.items[offset : offset + limit]
        total = len(pl.items)
    r = call.r
    keys = item_keys(pl.meta, legacy_endpoint=legacy)
    items_json = [r.item_json(it, call.mode, keys) for it in rows]
    extra = {k: call.req.q(k) for k in keep_params if call.req.q(k)}
    extra_qs = ("&" + urlencode(extra, quote_via=quote)) if extra else ""
    url_base = f"{r.api}playlists/{pl.meta.id}/{endpoint}"
    return paging_json(url_base, extra_qs, items_json, limit, offset, total)


def _playlist(call: ApiCall, playlist_id: str) -> Response:
    """The playlist with its first 50 items (when the token may read them)."""
    pl = _get_playlist(call, playlist_id)
    fields = parse_fields(call.req.q("fields") or "")
    with call.state.lock:
        obj = call.r.playlist_base(pl)
    obj["followers"] = {"href": None, "total": pl.meta.followers}
    text = dumps(obj)
    wants_items = fields is None or "items" in fields or "tracks" in fields
    if wants_items and items_refusal(call.mode, call.tok, pl) is None:
        page = _items_page(call, pl, "items", 50, 0, keep_params=("market", "additional_types"))
        extra = ',"items":' + page
        if pl.meta.deprecated_track_key or pl.meta.legacy_shape:
            extra += ',"tracks":' + page
        text = text[:-1] + extra + "}"
    return 200, _filtered(call.req, text), {}


def _items(call: ApiCall, playlist_id: str, legacy: bool) -> Response:
    """``/playlists/{id}/items`` (or the legacy ``/tracks``, Extended Quota Mode only)."""
    pl = _get_playlist(call, playlist_id)
    limit, offset = _limit_offset(
        call.req, default=20 if not legacy else 100, maximum=50 if not legacy else 100
    )
    denied = items_refusal(call.mode, call.tok, pl)
    if denied:
        raise ApiError(403, denied)
    endpoint = "tracks" if legacy else "items"
    text = _items_page(call, pl, endpoint, limit, offset, legacy=legacy)
    return 200, _filtered(call.req, text), {}


def _my_playlists(call: ApiCall) -> Response:
    """The user's own playlists (as the scopes allow) then the ones they follow."""
    if call.tok.user_id is None:
        raise ApiError(401, "Unauthorized.")
    limit, offset = _limit_offset(call.req, default=20, maximum=50)
    state, r = call.state, call.r
    with state.lock:
        mine = [pl for pl in state.playlists.values() if in_my_playlists(call.tok, pl)]
        for pid in state.follows.get(call.tok.user_id, []):
            pl = state.playlists.get(pid)
            if pl is not None and pl not in mine:
                mine.append(pl)
        page = [_playlist_ref_json(r, pl) for pl in mine[offset : offset + limit]]
    return 200, paging_json(f"{r.api}me/playlists", "", page, limit, offset, len(mine)), {}


def _playlist_ref_json(r: Renderer, pl: PlaylistState) -> str:
    """A playlist as listed in /me/playlists: a link to its items and their count."""
    obj = r.playlist_base(pl)
    # Lists say "" for no description, where the playlist itself may say null.
    obj["description"] = obj["description"] or ""
    obj["items"] = {"href": f"{r.api}playlists/{pl.meta.id}/items", "total": len(pl.items)}
    if pl.meta.deprecated_track_key or pl.meta.legacy_shape:
        obj["tracks"] = {
            "href": f"{r.api}playlists/{pl.meta.id}/tracks",
            "total": len(pl.items),
        }
    return dumps(obj)


# --- search -------------------------------------------------------------------------------
# Development Mode caps `limit` at 10 (Extended Quota Mode: 50), default 5 there, 20 here.
_SEARCH_LIMIT = {DEVELOPMENT: (5, 10), EXTENDED: (20, 50)}
_SEARCH_FILTER = re.compile(r"\b(track|artist|album):")


def _search(call: ApiCall) -> Response:
    """``/search?q=…&type=track``: catalog tracks whose names contain every word of
    the query, filter by filter (``track:``, ``artist:``, ``album:``; free words match
    any of them), in catalog order. Only ``type=track`` is served."""
    query = (call.req.q("q") or "").strip()
    if not query:
        raise ApiError(400, "No search query")
    kinds = [kind.strip() for kind in (call.req.q("type") or "").split(",") if kind.strip()]
    if not kinds:
        raise ApiError(400, "Missing parameter type")
    if kinds != ["track"]:
        raise ApiError(400, "Bad search type field")
    default, maximum = _SEARCH_LIMIT[call.mode]
    limit, offset = _limit_offset(call.req, default=default, maximum=maximum)
    wanted = _search_filters(query)
    cat = call.state.catalog
    found = [t for t in cat.track_ids if _search_matches(cat, cat.tracks[t], wanted)]
    items = [call.r.track_json(t, call.mode) for t in found[offset : offset + limit]]
    extra = "&" + urlencode({"query": query, "type": "track"})
    page = paging_json(f"{call.r.api}search", extra, items, limit, offset, len(found))
    return 200, '{"tracks":' + page + "}", {}


def _search_filters(query: str) -> dict[str, list[str]]:
    """Field ("track", "artist", "album", or "" for free words) → its lowercased words."""
    pieces = _SEARCH_FILTER.split(query)
    filters: dict[str, list[str]] = {"": _words(pieces[0])}
    for field, value in zip(pieces[1::2], pieces[2::2], strict=True):
        filters.setdefault(field, []).extend(_words(value))
    return filters


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[\s\"']+", text.casefold()) if word]


def _search_matches(cat, track, wanted: dict[str, list[str]]) -> bool:
    texts = {
        "track": track.name.casefold(),
        "artist": " ".join(cat.artists[a].name for a in track.artist_ids).casefold(),
        "album": cat.albums[track.album_id].name.casefold(),
    }
    everything = " ".join(texts.values())
    return all(
        word in (texts[field] if field else everything)
        for field, words in wanted.items()
        for word in words
    )


# --- artists, albums, tracks -------------------------------------------------------------
def _single(raw_id: str, table: dict, render) -> Response:
    if raw_id not in table:
        if not _is_base62_id(raw_id):
            raise ApiError(400, "Invalid base62 id")
        raise ApiError(404, "Resource not found")
    return 200, render(raw_id), {}


def _album_json(call: ApiCall, album_id: str) -> str:
    r, mode = call.r, call.mode
    al = call.state.catalog.albums[album_id]
    obj = dict(r.simple_album(album_id, mode))
    obj["copyrights"] = [{"text": f"℗ {al.release_date[:4]} {al.label}", "type": "P"}]
    obj["external_ids"] = {"upc": al.upc}
    obj["genres"] = []
    if mode == EXTENDED:
        obj["label"] = al.label
        obj["popularity"] = al.popularity
    items = [_simple_track_json(r, t, mode) for t in al.track_ids[:50]]
    page = paging_json(f"{r.api}albums/{album_id}/tracks", "", items, 50, 0, len(al.track_ids))
    return dumps(obj)[:-1] + ',"tracks":' + page + "}"


def _simple_track_json(r: Renderer, track_id: str, mode: str) -> str:
    obj = r.track(track_id, mode)
    for k in ("album", "external_ids", "popularity"):
        obj.pop(k, None)
    return dumps(obj)


def _album_tracks(call: ApiCall, album_id: str) -> Response:
    albums = call.state.catalog.albums
    if album_id not in albums:
        raise ApiError(
            404 if _is_base62_id(album_id) else 400,
            "Resource not found" if _is_base62_id(album_id) else "Invalid base62 id",
        )
    limit, offset = _limit_offset(call.req, default=20, maximum=50)
    r = call.r
    tids = albums[album_id].track_ids
    items = [_simple_track_json(r, t, call.mode) for t in tids[offset : offset + limit]]
    url = f"{r.api}albums/{album_id}/tracks"
    return 200, paging_json(url, "", items, limit, offset, len(tids)), {}


def _batch(call: ApiCall, head: str) -> Response:
    """``/artists?ids=``, ``/albums?ids=``, ``/tracks?ids=`` (Extended Quota Mode only)."""
    mode, r, cat = call.mode, call.r, call.state.catalog
    if mode == DEVELOPMENT:
        raise ApiError(403, "Forbidden")
    raw = call.req.q("ids")
    if not raw:
        raise ApiError(400, "invalid id")
    ids = [i.strip() for i in raw.split(",") if i.strip()]
    maximum = 20 if head == "albums" else 50
    if len(ids) > maximum:
        raise ApiError(400, "Too many ids requested")
    out = []
    for i in ids:
        if head == "artists":
            out.append(dumps(r.artist(i, mode)) if i in cat.artists else "null")
        elif head == "albums":
            out.append(_album_json(call, i) if i in cat.albums else "null")
        else:
            out.append(r.track_json(i, mode) if i in cat.tracks else "null")
    return 200, f'{{"{head}":[' + ",".join(out) + "]}", {}

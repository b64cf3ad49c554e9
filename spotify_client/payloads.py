"""Reading Spotify's JSON where its shape changed: one function per renamed field.

Since 2026-02 a playlist object's `tracks` is called `items`, and a playlist
item object's `track` is called `item`; the old names may still appear, marked
deprecated (docs/spotify-web-api.md, "Shape changes"). Every reader of those
fields goes through these functions, so each rename is handled in one place.
"""

from typing import Any

# A decoded JSON object as spotipy returns it.
JsonObject = dict[str, Any]


def items_paging(playlist: JsonObject) -> JsonObject | None:
    """The playlist's items paging object (`items`, deprecated `tracks`), or None.

    In a full playlist object (GET /v1/playlists/{id}) it is there only when this
    token may read the items: absent means "not readable" (Development Mode,
    someone else's playlist). In /v1/me/playlists it is a reference with `href`
    and `total`. When the new name is present it wins, even if null; the
    deprecated name is read only when the new one is absent.
    """
    paging = playlist["items"] if "items" in playlist else playlist.get("tracks")
    return paging if isinstance(paging, dict) else None


def item_object(entry: JsonObject) -> JsonObject | None:
    """A playlist item's track or episode (`item`, deprecated `track`), or None.

    None (null or absent) is content Spotify no longer serves: the item is
    unavailable. `item` is read first, then the deprecated `track`.
    """
    obj = entry.get("item") or entry.get("track")
    return obj if isinstance(obj, dict) else None

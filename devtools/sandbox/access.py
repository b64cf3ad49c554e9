"""Who may read what: Development Mode's app-wide walls, playlist visibility and the rules
for reading a playlist's items in Development and Extended Quota Mode (see
docs/spotify-web-api.md)."""

from __future__ import annotations

from .catalog import SPOTIFY_USER_ID
from .errors import ApiError
from .playlists import PlaylistState
from .state import DEVELOPMENT, EXTENDED, AccessToken, SandboxState

#: Spotify's 403 when the app owner's Premium lapsed (Development Mode needs it).
PREMIUM_REQUIRED_MESSAGE = "Active premium subscription required for the owner of the app."
#: Spotify's 403 for a user who is not on a Development Mode app's allow-list.
NOT_ALLOW_LISTED_MESSAGE = "User not registered in the Developer Dashboard"


def check_app_walls(state: SandboxState, tok: AccessToken) -> None:
    """Development Mode's app-wide refusals: the owner's Premium, the allow-list."""
    if state.premium_lapsed:
        raise ApiError(403, PREMIUM_REQUIRED_MESSAGE)
    allow = state.allow_list
    if (
        state.mode == DEVELOPMENT
        and allow is not None
        and tok.user_id is not None
        and tok.user_id not in allow
    ):
        raise ApiError(403, NOT_ALLOW_LISTED_MESSAGE)


def _is_member(tok: AccessToken, pl: PlaylistState) -> bool:
    """The token's user owns the playlist or collaborates on it."""
    meta = pl.meta
    return tok.user_id is not None and (
        tok.user_id == meta.owner_id or tok.user_id in meta.collaborators
    )


def is_visible(tok: AccessToken, pl: PlaylistState) -> bool:
    """Whether the playlist exists for this token (editorial playlists never do: 404)."""
    if pl.meta.owner_id == SPOTIFY_USER_ID:
        return False
    return pl.public or _is_member(tok, pl)


def items_refusal(mode: str, tok: AccessToken, pl: PlaylistState) -> str | None:
    """None if the token may read the playlist's items, else the 403 message."""
    if mode == EXTENDED and pl.public:
        return None
    if not _is_member(tok, pl):
        return "Forbidden"
    scopes = tok.scopes
    if mode == DEVELOPMENT or not pl.public:
        if "playlist-read-private" not in scopes:
            return "Insufficient client scope"
        if pl.meta.collaborative and "playlist-read-collaborative" not in scopes:
            return "Insufficient client scope"
    return None


def in_my_playlists(tok: AccessToken, pl: PlaylistState) -> bool:
    """Whether /me/playlists lists this playlist as the token user's own (owned or
    collaborative), given the token's scopes; followed playlists are added apart."""
    uid = tok.user_id
    meta = pl.meta
    if uid != meta.owner_id and uid not in meta.collaborators:
        return False
    scopes = tok.scopes
    if meta.collaborative:
        return "playlist-read-collaborative" in scopes
    return pl.public or "playlist-read-private" in scopes

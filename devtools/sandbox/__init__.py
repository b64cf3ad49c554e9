"""Local stand-in of the Spotify Web API ("the sandbox"), pure standard library.

    from devtools.sandbox import SandboxServer, DEMO_PLAYLISTS

    with SandboxServer(mode="development") as server:
        server.api_base_url        # "http://127.0.0.1:PORT/v1/"
        server.token_url           # "http://127.0.0.1:PORT/api/token"
        server.state.set_faults(rate_limit={"retry_after": 7, "times": 1})

Credentials: ``SANDBOX_CLIENT_ID`` / ``SANDBOX_CLIENT_SECRET``. Development Mode walls:
``server.state.allow_list`` (the 5 users who may use the app; ``ERIN_USER_ID`` is a sixth,
refused with 403) and ``server.state.premium_lapsed`` (every /v1 call answers 403).
Every user has a pre-issued, sandbox-only refresh token ``"sandbox-refresh-" + user_id``
(e.g. ``DEMO_REFRESH_TOKEN``).

Modules, by concern (each imports only those below it; import-linter checks it):
``server`` (lifecycle, dispatch) > ``control`` (faults per request, ``/_sandbox/`` API) >
``webapi`` (``/v1/`` routes) | ``oauth`` (token endpoint, consent page) > ``access``
(Development/Extended Mode rules) > ``render`` (Spotify JSON) > ``state`` (what changes) >
``playlists`` (playlist edits) | ``faults`` (armed faults) > ``errors``, ``request``,
``fields`` and the generated ``catalog``.
"""

from .access import NOT_ALLOW_LISTED_MESSAGE, PREMIUM_REQUIRED_MESSAGE
from .catalog import (
    ALICE_REFRESH_TOKEN,
    ALICE_USER_ID,
    BOB_PUBLIC_PLAYLIST_ID,
    BOB_REFRESH_TOKEN,
    BOB_USER_ID,
    COLLAB_PLAYLIST_ID,
    DEFAULT_ALLOW_LIST,
    DEFAULT_SEED,
    DEMO_PLAYLISTS,
    DEMO_REFRESH_TOKEN,
    DEMO_USER_ID,
    DISCOVER_WEEKLY_PLAYLIST_ID,
    EDITORIAL_PLAYLIST_ID,
    EDITORIAL_PLAYLIST_IDS,
    ERIN_REFRESH_TOKEN,
    ERIN_USER_ID,
    GENRES,
    LEGACY_SHAPE_PLAYLIST_ID,
    MIXED_PLAYLIST_ID,
    OTHER_USER_PLAYLIST_ID,
    PRE_ISSUED_SCOPE,
    PRIVATE_PLAYLIST_ID,
    REFRESH_TOKEN_PREFIX,
    SPOTIFY_USER_ID,
    Catalog,
    build_catalog,
)
from .oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from .server import SandboxServer
from .state import DEVELOPMENT, EXTENDED, MODES, SandboxState

__all__ = [
    "ALICE_REFRESH_TOKEN",
    "ALICE_USER_ID",
    "BOB_PUBLIC_PLAYLIST_ID",
    "BOB_REFRESH_TOKEN",
    "BOB_USER_ID",
    "COLLAB_PLAYLIST_ID",
    "DEFAULT_ALLOW_LIST",
    "DEFAULT_SEED",
    "DEMO_PLAYLISTS",
    "DEMO_REFRESH_TOKEN",
    "DEMO_USER_ID",
    "DEVELOPMENT",
    "DISCOVER_WEEKLY_PLAYLIST_ID",
    "EDITORIAL_PLAYLIST_ID",
    "EDITORIAL_PLAYLIST_IDS",
    "ERIN_REFRESH_TOKEN",
    "ERIN_USER_ID",
    "EXTENDED",
    "GENRES",
    "LEGACY_SHAPE_PLAYLIST_ID",
    "MIXED_PLAYLIST_ID",
    "MODES",
    "NOT_ALLOW_LISTED_MESSAGE",
    "OTHER_USER_PLAYLIST_ID",
    "PRE_ISSUED_SCOPE",
    "PREMIUM_REQUIRED_MESSAGE",
    "PRIVATE_PLAYLIST_ID",
    "REFRESH_TOKEN_PREFIX",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SPOTIFY_USER_ID",
    "Catalog",
    "SandboxServer",
    "SandboxState",
    "build_catalog",
]

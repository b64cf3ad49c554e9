"""The sandbox's mutable state: mode, playlists and follows, tokens, faults, request counters.

Thread-safe: every change happens under one re-entrant lock (``SandboxState.lock``).
"""

from __future__ import annotations

import secrets
import threading
import time

from .catalog import DEFAULT_ALLOW_LIST, PRE_ISSUED_SCOPE, Catalog
from .errors import ApiError
from .faults import Faults
from .playlists import PlaylistEdits, PlaylistState, initial_snapshot

DEVELOPMENT = "development"
EXTENDED = "extended"
MODES = (DEVELOPMENT, EXTENDED)
TOKEN_LIFETIME_S = 3600
#: Since 2026-07-20 Spotify ends every refresh token six months after the consent that issued
#: it; refreshing does not extend it.
REFRESH_TOKEN_LIFETIME_DAYS = 182
DAY_S = 86400


class AccessToken:
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


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    return mode


def _check_lifetime(days):
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int | float) or days < 0:
        raise ValueError(
            f"refresh_token_lifetime_days must be a number of days >= 0 or null, not {days!r}"
        )
    return days


class SandboxState(PlaylistEdits):
    """Mutable server state: tokens, playlists, faults, counters. Thread-safe (one lock)."""

    def __init__(
        self,
        catalog: Catalog,
        mode: str = DEVELOPMENT,
        latency_ms: int = 0,
        refresh_token_lifetime_days: float | None = REFRESH_TOKEN_LIFETIME_DAYS,
    ):
        self.catalog = catalog
        self.lock = threading.RLock()
        self._default_mode = _check_mode(mode)
        self._default_latency_ms = int(latency_ms)
        self._default_refresh_token_lifetime_days = _check_lifetime(refresh_token_lifetime_days)
        self.token_lifetime = TOKEN_LIFETIME_S
        #: Spotify only accepts HTTPS or loopback-IP http redirect URIs; set False to relax.
        self.strict_redirect_uris = True
        self.reset()

    # mode -------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        self._mode = _check_mode(value)

    # reset ------------------------------------------------------------------------------
    def reset(self, *, tokens: bool = False) -> None:
        """Restore the catalog's playlists, follows and mode; clear faults and counters;
        re-enable the pre-issued refresh tokens. Issued tokens survive unless ``tokens=True``."""
        with self.lock:
            self._mode = self._default_mode
            #: Seconds the sandbox clock runs ahead of the real one (``advance_clock``): tests
            #: walk token lifetimes with it instead of sleeping.
            self.clock_offset = 0.0
            #: Refresh tokens end this many days after the authorization that issued them
            #: (then ``invalid_grant``); None: never.
            self.refresh_token_lifetime_days = self._default_refresh_token_lifetime_days
            self.playlists = {
                pid: PlaylistState(p, initial_snapshot(pid))
                for pid, p in self.catalog.playlists.items()
            }
            self.follows = {uid: list(pids) for uid, pids in self.catalog.follows.items()}
            if tokens or not hasattr(self, "access_tokens"):
                self.access_tokens: dict[str, AccessToken] = {}
                self.refresh_tokens: dict[str, dict] = {}
                self.auth_codes: dict[str, dict] = {}
            for u in self.catalog.users.values():  # pre-issued: authorized just now
                self.add_refresh_token(u.refresh_token, u.id, PRE_ISSUED_SCOPE, public=True)
            #: Users who may use the app in Development Mode (Spotify allows 5); the
            #: others' user tokens get 403 on every /v1 call. None: no allow-list.
            self.allow_list: set[str] | None = set(DEFAULT_ALLOW_LIST)
            #: The app owner's Premium lapsed: every /v1 call answers 403.
            self.premium_lapsed = False
            #: Hand out a new refresh token on every refresh (and retire the old one).
            self.rotate_refresh_tokens = False
            self._faults = Faults(self.lock, self._default_latency_ms)
            self._snapshot_counter = 0
            self.reset_counters()

    # counters ---------------------------------------------------------------------------
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
                self._faults.arm(name, value)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> dict:
        return self._faults.snapshot()

    def latency_ms(self) -> int:
        return self._faults.latency_ms()

    def take_fault(self, path: str) -> ApiError | None:
        """Consume one matching fault for ``path`` and return the error to answer, if any."""
        return self._faults.take(path)

    # clock ------------------------------------------------------------------------------
    def now(self) -> float:
        """The sandbox's time (epoch seconds): the real time plus ``clock_offset``."""
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += seconds

    # tokens -----------------------------------------------------------------------------
    def add_refresh_token(self, token: str, user_id: str, scope: str, *, public: bool) -> dict:
        """Record a refresh token authorized now; its lifetime counts from here."""
        info = {"user_id": user_id, "scope": scope, "public": public, "issued_at": self.now()}
        with self.lock:
            self.refresh_tokens[token] = info
        return info

    def refresh_token_expired(self, info: dict) -> bool:
        """Whether the refresh token's lifetime (from its authorization) is over."""
        days = self.refresh_token_lifetime_days
        return days is not None and self.now() >= info["issued_at"] + days * DAY_S

    def set_refresh_token_lifetime_days(self, days) -> None:
        self.refresh_token_lifetime_days = _check_lifetime(days)

    def issue_access_token(self, user_id: str | None = None, scope: str | None = None) -> str:
        """Issue an access token directly (handy in tests). ``user_id`` None: app token."""
        if user_id is not None and user_id not in self.catalog.users:
            raise ValueError(f"unknown sandbox user {user_id!r}")
        if scope is None:
            scope = PRE_ISSUED_SCOPE if user_id else ""
        token = "BQ" + secrets.token_urlsafe(48)
        with self.lock:
            self.access_tokens[token] = AccessToken(
                token, user_id, scope, self.now() + self.token_lifetime
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

    def lookup_token(self, token: str) -> AccessToken:
        with self.lock:
            tok = self.access_tokens.get(token)
        if tok is None:
            raise ApiError(401, "Invalid access token")
        if tok.expired or self.now() >= tok.expires_at:
            raise ApiError(401, "The access token expired")
        return tok

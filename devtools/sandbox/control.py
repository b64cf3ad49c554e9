"""Fault injection on every Spotify request, and the control API under ``/_sandbox/`` (not
Spotify's): faults, mode, Development Mode walls, playlist edits, counters, reset."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from . import catalog as c
from .access import NOT_ALLOW_LISTED_MESSAGE, PREMIUM_REQUIRED_MESSAGE
from .catalog import Catalog
from .oauth import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from .request import Request, Response
from .state import SandboxState


class Sandbox(Protocol):
    """What the control API needs of the server (``server.SandboxServer``, which imports
    this module): its state, catalog and URLs."""

    state: SandboxState
    catalog: Catalog

    @property
    def base_url(self) -> str: ...
    @property
    def api_base_url(self) -> str: ...
    @property
    def token_url(self) -> str: ...
    @property
    def authorize_url(self) -> str: ...


def inject_faults(state: SandboxState, path: str) -> None:
    """Wait the armed latency, then raise the armed fault for ``path``, if any."""
    latency = state.latency_ms()
    if latency:
        time.sleep(latency / 1000)
    fault = state.take_fault(path)
    if fault is not None:
        raise fault


def handle(req: Request, sandbox: Sandbox) -> Response:
    """Answer a ``/_sandbox/...`` request (never counted, never faulted)."""
    path = req.path.rstrip("/")
    try:
        data = json.loads(req.body) if req.body else {}
    except ValueError:
        return 400, {"error": "body must be JSON"}, {}
    route = _ROUTES.get(path)
    answer = route(sandbox, req.method, data) if route else None
    if answer is None:
        answer = _playlist_items(sandbox.state, req.method, path, data)
    if answer is None:
        answer = _playlist_age(sandbox.state, req.method, path, data)
    if answer is None:
        return 404, {"error": "unknown sandbox control endpoint"}, {}
    return answer


# --- routes: (sandbox, method, JSON body) -> answer, or None for a method they don't take --
def _info(sandbox: Sandbox, method: str, data) -> Response | None:
    return (200, info(sandbox), {}) if method == "GET" else None


def _stats(sandbox: Sandbox, method: str, data) -> Response:
    if method == "DELETE":
        sandbox.state.reset_counters()
    return 200, sandbox.state.stats(), {}


def _statuses(sandbox: Sandbox, method: str, data) -> Response | None:
    if method != "GET":
        return None
    with sandbox.state.lock:
        return 200, dict(sandbox.state.statuses), {}


def _faults(sandbox: Sandbox, method: str, data) -> Response | None:
    state = sandbox.state
    if method == "POST":
        try:
            state.set_faults(**data)
        except (ValueError, TypeError) as e:
            return 400, {"error": str(e)}, {}
    elif method == "DELETE":
        state.clear_faults()
    elif method != "GET":
        return None
    return 200, state.faults, {}


def _mode(sandbox: Sandbox, method: str, data) -> Response:
    state = sandbox.state
    if method == "POST":
        try:
            state.mode = data.get("mode")
        except ValueError as e:
            return 400, {"error": str(e)}, {}
    return 200, {"mode": state.mode}, {}


def _app(sandbox: Sandbox, method: str, data) -> Response:
    """``{"allow_list": [user ids] or null, "premium_lapsed": bool,
    "rotate_refresh_tokens": bool, "refresh_token_lifetime_days": days or null}``"""
    state = sandbox.state
    if method == "POST":
        with state.lock:
            if "refresh_token_lifetime_days" in data:
                try:
                    state.set_refresh_token_lifetime_days(data["refresh_token_lifetime_days"])
                except ValueError as e:
                    return 400, {"error": str(e)}, {}
            if "allow_list" in data:
                users = data["allow_list"]
                state.allow_list = None if users is None else set(users)
            for flag in ("premium_lapsed", "rotate_refresh_tokens"):
                if flag in data:
                    setattr(state, flag, bool(data[flag]))
    return 200, app_settings(state), {}


def _clock(sandbox: Sandbox, method: str, data) -> Response | None:
    """``GET``: the sandbox's time; ``POST {"advance_days": N}`` or ``{"advance_seconds": N}``
    moves it ahead (token lifetimes are walked this way, never by sleeping)."""
    state = sandbox.state
    if method == "POST":
        seconds = _advance_seconds(data)
        if seconds is None:
            return 400, {"error": 'send {"advance_days": N} or {"advance_seconds": N}'}, {}
        state.advance_clock(seconds)
    elif method != "GET":
        return None
    now = datetime.fromtimestamp(state.now(), UTC)
    return 200, {"now": now.isoformat(), "offset_seconds": state.clock_offset}, {}


def _advance_seconds(data) -> float | None:
    for key, unit in (("advance_days", 86400), ("advance_seconds", 1)):
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value * unit
    return None


def _reset(sandbox: Sandbox, method: str, data) -> Response | None:
    if method != "POST":
        return None
    sandbox.state.reset(tokens=bool(data.get("tokens")))
    return 200, {"ok": True}, {}


def _expire_tokens(sandbox: Sandbox, method: str, data) -> Response | None:
    if method != "POST":
        return None
    sandbox.state.expire_tokens()
    return 200, {"ok": True}, {}


_ROUTES: dict[str, Callable[[Sandbox, str, object], Response | None]] = {
    "/_sandbox": _info,
    "/_sandbox/info": _info,
    "/_sandbox/stats": _stats,
    "/_sandbox/statuses": _statuses,
    "/_sandbox/faults": _faults,
    "/_sandbox/mode": _mode,
    "/_sandbox/app": _app,
    "/_sandbox/reset": _reset,
    "/_sandbox/clock": _clock,
    "/_sandbox/expire-tokens": _expire_tokens,
}


def _playlist_items(state: SandboxState, method: str, path: str, data) -> Response | None:
    """``POST /_sandbox/playlists/{id}/items`` with
    ``{"remove": [positions or track ids], "add": [track ids], "position": N}``."""
    parts = path.split("/")
    if not (len(parts) == 5 and parts[2] == "playlists" and parts[4] == "items"):
        return None
    if method != "POST":
        return None
    playlist_id = parts[3]
    try:
        snap = None
        if data.get("remove"):
            snap = state.remove_items(playlist_id, data["remove"])
        if data.get("add"):
            snap = state.add_tracks(playlist_id, data["add"], data.get("position"))
    except (KeyError, IndexError) as e:
        return 400, {"error": str(e)}, {}
    return 200, {"snapshot_id": snap or state.snapshot_id(playlist_id)}, {}


def _playlist_age(state: SandboxState, method: str, path: str, data) -> Response | None:
    """``POST /_sandbox/playlists/{id}/age`` with ``{"days": N}`` (default 1, at most 366):
    that many deterministic daily edits (``SandboxState.age_playlist``)."""
    parts = path.split("/")
    if not (len(parts) == 5 and parts[2] == "playlists" and parts[4] == "age"):
        return None
    if method != "POST":
        return None
    days = data.get("days", 1)
    if not isinstance(days, int) or not 1 <= days <= 366:
        return 400, {"error": "days must be a whole number from 1 to 366"}, {}
    try:
        edits = state.age_playlist(parts[3], days)
    except KeyError as e:
        return 404, {"error": str(e)}, {}
    return 200, {"snapshot_id": edits[-1]["snapshot_id"], "days": edits}, {}


# --- what the sandbox tells about itself -------------------------------------------------
def app_settings(state: SandboxState) -> dict:
    with state.lock:
        allow = None if state.allow_list is None else sorted(state.allow_list)
        return {
            "allow_list": allow,
            "premium_lapsed": state.premium_lapsed,
            "rotate_refresh_tokens": state.rotate_refresh_tokens,
            "refresh_token_lifetime_days": state.refresh_token_lifetime_days,
        }


_CONTROL_ENDPOINTS = {
    "GET /_sandbox/info": "this page",
    "GET|DELETE /_sandbox/stats": "requests by kind (DELETE resets)",
    "GET|POST|DELETE /_sandbox/faults": (
        "latency_ms, rate_limit, quota_exceeded, server_error, expire_tokens"
    ),
    "GET|POST /_sandbox/mode": '{"mode": "development" | "extended"}',
    "GET|POST /_sandbox/app": (
        '{"allow_list": [user ids] | null, "premium_lapsed": bool, '
        '"rotate_refresh_tokens": bool, "refresh_token_lifetime_days": days | null}: '
        "Development Mode walls, and how long a refresh token lives after its "
        "authorization (then invalid_grant, as at Spotify). Users not on "
        f'the allow-list get 403 "{NOT_ALLOW_LISTED_MESSAGE}"; premium_lapsed '
        f'makes every /v1 call answer 403 "{PREMIUM_REQUIRED_MESSAGE}"'
    ),
    "POST /_sandbox/expire-tokens": "expire every access token",
    "POST /_sandbox/playlists/{id}/items": '{"remove": [...], "add": [...]}',
    "GET|POST /_sandbox/clock": (
        '{"advance_days": N} or {"advance_seconds": N}: move the sandbox clock ahead '
        "(token lifetimes, without sleeping)"
    ),
    "POST /_sandbox/playlists/{id}/age": (
        '{"days": N}: N deterministic daily edits (~1% removed, as many added, one move, '
        "a rename every 7th day), each a new snapshot"
    ),
    "POST /_sandbox/reset": "everything back to the start (faults, walls, mode)",
    "GET /authorize": (
        "consent page: pick a user and agree; tests skip it with "
        "sandbox_user=ID (approve) or sandbox_deny=1"
    ),
}


def info(sandbox: Sandbox) -> dict:
    """Mode, walls, control endpoints, URLs, credentials, users and notable playlists."""
    return {
        "mode": sandbox.state.mode,
        "app": app_settings(sandbox.state),
        "control": dict(_CONTROL_ENDPOINTS),
        "base_url": sandbox.base_url,
        "api_base_url": sandbox.api_base_url,
        "token_url": sandbox.token_url,
        "authorize_url": sandbox.authorize_url,
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "users": {
            u.id: {
                "display_name": u.display_name,
                "account_id": u.account_id,
                "refresh_token": u.refresh_token,
            }
            for u in sandbox.catalog.users.values()
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

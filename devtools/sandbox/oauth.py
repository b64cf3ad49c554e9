"""The accounts service: ``POST /api/token`` (client credentials, authorization code with or
without PKCE, refresh token) and ``GET /authorize`` with its consent page."""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from .catalog import SPOTIFY_USER_ID
from .errors import ApiError, OAuthError
from .request import Request, Response
from .state import DEVELOPMENT, SandboxState

SANDBOX_CLIENT_ID = "sandbox-client-id"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
AUTH_CODE_LIFETIME_S = 600


# --- POST /api/token ---------------------------------------------------------------------
def token(req: Request, state: SandboxState) -> Response:
    if req.method != "POST":
        raise ApiError(405, "Method not allowed")
    form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
    cid, secret = _client_auth(req, form)
    if cid != SANDBOX_CLIENT_ID:
        raise OAuthError("invalid_client", "Invalid client")
    if secret is not None and secret != SANDBOX_CLIENT_SECRET:
        raise OAuthError("invalid_client", "Invalid client secret")
    public_client = secret is None  # PKCE: a client that holds no secret
    grant = form.get("grant_type")
    if not grant:
        raise OAuthError("unsupported_grant_type", "grant_type parameter is missing")
    if grant == "client_credentials":
        if public_client:
            raise OAuthError("invalid_client", "Invalid client")
        return 200, _token_response(state, None, ""), {}
    if grant == "authorization_code":
        return _authorization_code_grant(state, form, public_client)
    if grant == "refresh_token":
        return _refresh_token_grant(state, form, public_client)
    raise OAuthError(
        "unsupported_grant_type",
        "grant_type must be client_credentials, authorization_code or refresh_token",
    )


def _client_auth(req: Request, form: dict) -> tuple[str, str | None]:
    """(client id, secret or None) from HTTP Basic auth or the form."""
    auth = req.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        try:
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise OAuthError("invalid_client", "Invalid client") from None
        return cid, secret
    return form.get("client_id", ""), form.get("client_secret")


def _token_response(state: SandboxState, user_id, scope, refresh_token=None) -> dict:
    out = {
        "access_token": state.issue_access_token(user_id, scope),
        "token_type": "Bearer",
        "expires_in": state.token_lifetime,
        "scope": scope,
    }
    if refresh_token:
        out["refresh_token"] = refresh_token
    return out


def _authorization_code_grant(state: SandboxState, form: dict, public_client: bool) -> Response:
    with state.lock:
        code = state.auth_codes.pop(form.get("code", ""), None)
    if code is None or code["expires_at"] < state.now():
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
    state.add_refresh_token(refresh, code["user_id"], code["scope"], public=public_client)
    return 200, _token_response(state, code["user_id"], code["scope"], refresh), {}


def _refresh_token_grant(state: SandboxState, form: dict, public_client: bool) -> Response:
    with state.lock:
        info = state.refresh_tokens.get(form.get("refresh_token", ""))
    if info is None:
        raise OAuthError("invalid_grant", "Invalid refresh token")
    if state.refresh_token_expired(info):
        # Like Spotify since 2026-07-20: six months after the consent, whatever the refreshes.
        raise OAuthError("invalid_grant", "Refresh token expired")
    if public_client and not info["public"]:
        raise OAuthError("invalid_client", "Invalid client")
    rotated = None
    if state.rotate_refresh_tokens:
        rotated = secrets.token_urlsafe(48)
        with state.lock:
            state.refresh_tokens.pop(form.get("refresh_token", ""), None)
            state.refresh_tokens[rotated] = info
    return 200, _token_response(state, info["user_id"], info["scope"], rotated), {}


# --- GET /authorize ----------------------------------------------------------------------
def authorize(req: Request, state: SandboxState) -> Response:
    """The consent page for a person at a browser; with ``sandbox_user=ID`` (approve) or
    ``sandbox_deny=1`` (what the page's buttons send, and what tests send), the redirect."""
    if req.method != "GET":
        raise ApiError(405, "Method not allowed")
    q = req.q
    if q("client_id") != SANDBOX_CLIENT_ID:
        raise OAuthError("invalid_client", "Invalid client")
    redirect_uri = q("redirect_uri", "")
    if not redirect_uri:
        raise OAuthError("invalid_request", "Missing required parameter: redirect_uri")
    if not _redirect_ok(state, redirect_uri):
        raise OAuthError("invalid_request", "Insecure redirect URI")
    if q("response_type") != "code":
        raise OAuthError("unsupported_response_type", "response_type must be code")
    challenge = q("code_challenge")
    if challenge and q("code_challenge_method", "S256") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if q("sandbox_user") is None and not q("sandbox_deny"):
        # A person at a browser: pick a sandbox user and approve (or cancel).
        return 200, consent_page(req, state), {"Content-Type": "text/html; charset=utf-8"}
    user_id = q("sandbox_user") or "sandbox-demo"
    if user_id not in state.catalog.users:
        raise OAuthError("invalid_request", f"Unknown sandbox user {user_id!r}")
    params = {}
    if q("sandbox_deny"):
        params["error"] = "access_denied"
    else:
        params["code"] = _issue_auth_code(state, req, user_id, redirect_uri, challenge)
    if q("state") is not None:
        params["state"] = q("state")
    sep = "&" if "?" in redirect_uri else "?"
    return 302, None, {"Location": redirect_uri + sep + urlencode(params)}


def _redirect_ok(state: SandboxState, uri: str) -> bool:
    if not state.strict_redirect_uris:
        return uri.startswith(("http://", "https://"))
    if uri.startswith("https://"):
        return True
    host = urlsplit(uri).hostname or ""
    return uri.startswith("http://") and host in ("127.0.0.1", "::1")


def _issue_auth_code(
    state: SandboxState, req: Request, user_id: str, redirect_uri: str, challenge: str | None
) -> str:
    code = "AQ" + secrets.token_urlsafe(32)
    with state.lock:
        state.auth_codes[code] = {
            "user_id": user_id,
            "scope": " ".join((req.q("scope") or "").replace(",", " ").split()),
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "expires_at": state.now() + AUTH_CODE_LIFETIME_S,
        }
    return code


def consent_page(req: Request, state: SandboxState) -> bytes:
    """Spotify's consent page, sandbox style: choose who you are, then agree or cancel."""
    esc = html.escape
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
        for k, v in req.query.items()
        if not k.startswith("sandbox_")
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
<fieldset><legend>Sign in as</legend><ul>{"".join(_user_choices(state))}</ul></fieldset>
<p>It will be able to:</p><ul>{scopes or "<li>see your public profile</li>"}</ul>
<p><button type="submit" name="sandbox_approve" value="1">Agree</button>
<button type="submit" name="sandbox_deny" value="1">Cancel</button></p>
</form></body></html>"""
    return page.encode("utf-8")


def _user_choices(state: SandboxState) -> list[str]:
    """One radio button per sandbox user (the first checked), noting who the allow-list
    refuses in Development Mode."""
    esc = html.escape
    allow = state.allow_list
    users = [u for u in state.catalog.users.values() if u.id != SPOTIFY_USER_ID]
    choices = []
    for i, user in enumerate(users):
        note = ""
        if allow is not None and user.id not in allow and state.mode == DEVELOPMENT:
            note = " <small>(not on the app's allow-list: the API will answer 403)</small>"
        choices.append(
            f'<li><label><input type="radio" name="sandbox_user" value="{esc(user.id)}"'
            f"{' checked' if i == 0 else ''}> {esc(user.display_name)} "
            f"<code>{esc(user.id)}</code>{note}</label></li>"
        )
    return choices

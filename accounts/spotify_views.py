"""Connect Spotify: the account's Spotify page and the OAuth dance.

(Picking playlists from Spotify is a page of the dashboard: dashboard.views.spotify_pick.)

Authorization code flow with PKCE. The `state` and the PKCE verifier live in
the session and are used once: a callback that does not carry this session's
state is refused (it may be someone else's code: login CSRF).
"""

import secrets
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_POST

from accounts.connections import (
    ConnectionRefused,
    connection_disconnect,
    connection_for,
    connection_save,
    new_pkce_pair,
)
from spotify_client import (
    SpotifyClient,
    SpotifyError,
    authorize_url,
    exchange_authorization_code,
)

SESSION_KEY = "spotify_oauth"


def _render_account(request, *, error="", status=200):
    context = {
        "connection": connection_for(request.user),
        "error": error,
        "redirect_uri": settings.SPOTIFY_REDIRECT_URI,
    }
    return render(request, "accounts/spotify.html", context, status=status)


@login_required
def account(request):
    return _render_account(request)


@login_required
@require_POST
def connect(request):
    state = secrets.token_urlsafe(32)
    verifier, challenge = new_pkce_pair()
    try:
        url = authorize_url(
            state=state, code_challenge=challenge, redirect_uri=settings.SPOTIFY_REDIRECT_URI
        )
    except SpotifyError as error:
        return _render_account(request, error=str(error), status=503)
    request.session[SESSION_KEY] = {"state": state, "verifier": verifier}
    return redirect(url)


@login_required
def callback(request):
    pending = request.session.pop(SESSION_KEY, None)  # single use, whatever happens
    state = request.GET.get("state", "")
    if not pending or not state or not constant_time_compare(state, pending["state"]):
        return _render_account(
            request,
            error=(
                "This answer from Spotify does not belong to a connection started in this "
                "browser session (or it was used already), so it was refused. Start again "
                "with Connect Spotify. (If you opened this site as localhost, open it as "
                f"{settings.SPOTIFY_REDIRECT_URI.split('/accounts/')[0]} instead: the "
                "session lives on one address.)"
            ),
            status=400,
        )
    if request.GET.get("error"):
        reason = request.GET["error"]
        messages.info(
            request,
            "Spotify was not connected: "
            + ("you cancelled on Spotify's page." if reason == "access_denied" else reason),
        )
        return redirect("spotify")
    try:
        connection = _finish_connecting(request.user, request.GET.get("code", ""), pending)
    except SpotifyError as error:
        return _render_account(request, error=f"Spotify was not connected. {error}", status=502)
    messages.success(request, f"Connected to the Spotify account {connection.label}.")
    return redirect("spotify-playlists")


def _finish_connecting(user, code, pending):
    tokens = exchange_authorization_code(
        code=code, redirect_uri=settings.SPOTIFY_REDIRECT_URI, code_verifier=pending["verifier"]
    )
    # Whose account is this? A throwaway client on the fresh access token.
    client = SpotifyClient.for_stored_tokens(
        store=None,
        refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        expires_at=_expiry_timestamp(tokens),
    )
    profile = client.me()
    if not profile.get("id"):
        raise ConnectionRefused("Spotify's answer about your account had no user id.")
    return connection_save(user=user, tokens=tokens, profile=profile)


def _expiry_timestamp(tokens):
    return time.time() + int(tokens.get("expires_in", 3600))


@login_required
@require_POST
def disconnect(request):
    if connection_disconnect(user=request.user):
        messages.success(
            request,
            "Spotify disconnected: its tokens are deleted here. To withdraw the app's access "
            "at Spotify too, remove it at spotify.com/account/apps.",
        )
    return redirect("spotify")

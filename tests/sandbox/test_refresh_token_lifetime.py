"""The sandbox ends refresh tokens by age, as Spotify does since 2026-07-20: a lifetime from
each token's authorization, not extended by refreshing; then `invalid_grant`.

Time is walked with the sandbox clock (`state.advance_clock`, `POST /_sandbox/clock`), never
by sleeping. No database needed.
"""

from __future__ import annotations

from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command

from devtools.sandbox import (
    DEMO_REFRESH_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SandboxServer,
)

CREDS = (SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
TIMEOUT = 5
DAY = 86400
REDIRECT_URI = "http://127.0.0.1:8000/callback"


def refresh(http, server, token=DEMO_REFRESH_TOKEN):
    return http.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=CREDS,
        timeout=TIMEOUT,
    )


def control(http, server, path, body=None):
    method = http.post if body is not None else http.get
    return method(f"{server.base_url}_sandbox/{path}", json=body, timeout=TIMEOUT)


def authorize_new_token(http, server):
    """The authorization code dance for sandbox-alice; her new refresh token."""
    answer = http.get(
        server.authorize_url,
        params={
            "client_id": SANDBOX_CLIENT_ID,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "state": "s",
            "scope": "playlist-read-private",
            "sandbox_user": "sandbox-alice",
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    tokens = http.post(
        server.token_url,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=CREDS,
        timeout=TIMEOUT,
    )
    assert tokens.status_code == 200, tokens.text
    return tokens.json()["refresh_token"]


def assert_expired(answer):
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert "expired" in answer.json()["error_description"].lower()


def test_by_default_a_refresh_token_lives_like_spotifys(server):
    assert server.state.refresh_token_lifetime_days == 182


def test_a_pre_issued_refresh_token_ends_after_its_lifetime(http, server):
    server.state.advance_clock(181 * DAY)
    assert refresh(http, server).status_code == 200
    server.state.advance_clock(1 * DAY)
    assert_expired(refresh(http, server))


def test_refreshing_does_not_extend_it(http, server):
    server.state.rotate_refresh_tokens = True
    server.state.advance_clock(100 * DAY)
    rotated = refresh(http, server).json()["refresh_token"]
    server.state.advance_clock(81 * DAY)
    rotated = refresh(http, server, rotated).json()["refresh_token"]  # day 181: still fine
    server.state.advance_clock(1 * DAY)
    assert_expired(refresh(http, server, rotated))  # day 182 from the first authorization


def test_a_token_from_a_new_authorization_counts_from_then(http, server):
    server.state.advance_clock(170 * DAY)
    fresh = authorize_new_token(http, server)
    server.state.advance_clock(20 * DAY)  # day 190: the pre-issued one is over ...
    assert_expired(refresh(http, server))
    assert refresh(http, server, fresh).status_code == 200  # ... the new one is 20 days old
    server.state.advance_clock(162 * DAY)
    assert_expired(refresh(http, server, fresh))


def test_access_tokens_follow_the_clock_too(http, server):
    access = refresh(http, server).json()["access_token"]
    me = f"{server.api_base_url}me"
    headers = {"Authorization": f"Bearer {access}"}
    assert http.get(me, headers=headers, timeout=TIMEOUT).status_code == 200
    server.state.advance_clock(2 * 3600)
    assert http.get(me, headers=headers, timeout=TIMEOUT).status_code == 401


def test_a_shorter_lifetime_and_the_clock_over_the_control_api(http, server):
    answer = control(http, server, "app", {"refresh_token_lifetime_days": 1})
    assert answer.json()["refresh_token_lifetime_days"] == 1
    assert refresh(http, server).status_code == 200
    clock = control(http, server, "clock", {"advance_days": 1}).json()
    assert clock["offset_seconds"] == DAY
    assert_expired(refresh(http, server))
    assert control(http, server, "clock").json()["offset_seconds"] == DAY
    # No lifetime: refresh tokens never end.
    control(http, server, "app", {"refresh_token_lifetime_days": None})
    assert refresh(http, server).status_code == 200
    # A reset restores the default lifetime and the real time.
    assert http.post(f"{server.base_url}_sandbox/reset", timeout=TIMEOUT).status_code == 200
    assert control(http, server, "clock").json()["offset_seconds"] == 0
    assert control(http, server, "app").json()["refresh_token_lifetime_days"] == 182


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("clock", {"advance_days": "soon"}),
        ("clock", {}),
        ("app", {"refresh_token_lifetime_days": -1}),
        ("app", {"refresh_token_lifetime_days": "long"}),
    ],
)
def test_the_control_api_refuses_nonsense(http, server, path, body):
    answer = control(http, server, path, body)
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_the_command_takes_the_lifetime(monkeypatch):
    seen = {}

    def serve_once(self):
        seen["lifetime"] = self.state.refresh_token_lifetime_days
        raise KeyboardInterrupt

    monkeypatch.setattr(SandboxServer, "serve_forever", serve_once)
    call_command("spotify_sandbox", port=0, refresh_token_lifetime_days=3, stdout=StringIO())
    assert seen["lifetime"] == 3

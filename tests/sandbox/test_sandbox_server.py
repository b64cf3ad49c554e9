"""Tests of the Spotify sandbox server itself, over real HTTP (requests and spotipy).

No database needed. One server per module; every test starts from ``state.reset()``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import spotipy
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from devtools.sandbox import (
    ALICE_REFRESH_TOKEN,
    BOB_REFRESH_TOKEN,
    COLLAB_PLAYLIST_ID,
    DEFAULT_ALLOW_LIST,
    DEMO_PLAYLISTS,
    DEMO_REFRESH_TOKEN,
    DEMO_USER_ID,
    EDITORIAL_PLAYLIST_ID,
    LEGACY_SHAPE_PLAYLIST_ID,
    MIXED_PLAYLIST_ID,
    OTHER_USER_PLAYLIST_ID,
    PRIVATE_PLAYLIST_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SandboxServer,
    build_catalog,
)

CREDS = (SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
TIMEOUT = 5


def _token(http, server, **form) -> str:
    resp = http.post(server.token_url, data=form, auth=CREDS, timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


@pytest.fixture
def app_token(http, server):
    return _token(http, server, grant_type="client_credentials")


@pytest.fixture
def demo_token(http, server):
    return _token(http, server, grant_type="refresh_token", refresh_token=DEMO_REFRESH_TOKEN)


def _get(http, server, path, token, **params):
    return http.get(
        server.api_base_url + path,
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )


_SESSIONS: list[requests.Session] = []


def _spotipy(server, token) -> spotipy.Spotify:
    """A spotipy client as the contract recommends: 429s raise at once (no Retry-After sleep)."""
    session = requests.Session()
    retry = Retry(
        total=2,
        status_forcelist=(500, 502, 503, 504),
        respect_retry_after_header=False,
        backoff_factor=0,
        allowed_methods=None,
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    _SESSIONS.append(session)
    sp = spotipy.Spotify(auth=token, requests_session=session, requests_timeout=TIMEOUT)
    sp.prefix = server.api_base_url
    return sp


@pytest.fixture(scope="module", autouse=True)
def _close_sessions():
    yield
    while _SESSIONS:
        _SESSIONS.pop().close()


# --- accounts service --------------------------------------------------------------------
def test_client_credentials_grant(http, server):
    resp = http.post(
        server.token_url, data={"grant_type": "client_credentials"}, auth=CREDS, timeout=TIMEOUT
    )
    body = resp.json()
    assert resp.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"] and "refresh_token" not in body


def test_client_credentials_in_form_body(http, server):
    resp = http.post(
        server.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
        },
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200
    assert resp.json()["access_token"]


@pytest.mark.parametrize(
    "auth", [("wrong-id", SANDBOX_CLIENT_SECRET), (SANDBOX_CLIENT_ID, "wrong-secret")]
)
def test_bad_client_is_rejected(http, server, auth):
    resp = http.post(
        server.token_url, data={"grant_type": "client_credentials"}, auth=auth, timeout=TIMEOUT
    )
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_client"


def test_refresh_with_pre_issued_token(http, server):
    resp = http.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": DEMO_REFRESH_TOKEN},
        auth=CREDS,
        timeout=TIMEOUT,
    )
    body = resp.json()
    assert resp.status_code == 200
    assert "playlist-read-private" in body["scope"].split()
    assert "refresh_token" not in body  # not rotated
    me = _get(http, server, "me", body["access_token"]).json()
    assert me["id"] == DEMO_USER_ID
    assert me["display_name"] == "Demo Listener"


def test_unknown_or_revoked_refresh_token(http, server):
    server.state.revoke_refresh_token(DEMO_REFRESH_TOKEN)
    for token in (DEMO_REFRESH_TOKEN, "no-such-token"):
        resp = http.post(
            server.token_url,
            data={"grant_type": "refresh_token", "refresh_token": token},
            auth=CREDS,
            timeout=TIMEOUT,
        )
        assert resp.status_code == 400
        assert resp.json()["error"] == "invalid_grant"


def _authorize(http, server, **params):
    base = {
        "client_id": SANDBOX_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": "http://127.0.0.1:8000/callback",
        "state": "xyz",
        "scope": "playlist-read-private playlist-read-collaborative",
    }
    base.update(params)
    return http.get(server.authorize_url, params=base, allow_redirects=False, timeout=TIMEOUT)


def test_authorization_code_with_pkce(http, server):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    challenge = challenge.decode().rstrip("=")
    resp = _authorize(
        http,
        server,
        code_challenge=challenge,
        code_challenge_method="S256",
        sandbox_user="sandbox-alice",
    )
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith("http://127.0.0.1:8000/callback?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["xyz"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": "http://127.0.0.1:8000/callback",
        "client_id": SANDBOX_CLIENT_ID,
    }
    bad = http.post(server.token_url, data={**form, "code_verifier": "wrong"}, timeout=TIMEOUT)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    # the code was consumed by the failed attempt (single use): authorize again
    resp = _authorize(http, server, code_challenge=challenge, sandbox_user="sandbox-alice")
    form["code"] = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    ok = http.post(server.token_url, data={**form, "code_verifier": verifier}, timeout=TIMEOUT)
    body = ok.json()
    assert ok.status_code == 200, ok.text
    assert body["refresh_token"] and body["scope"].split() == [
        "playlist-read-private",
        "playlist-read-collaborative",
    ]
    assert _get(http, server, "me", body["access_token"]).json()["id"] == "sandbox-alice"
    # the new refresh token works without a secret (PKCE public client)
    refreshed = http.post(
        server.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": SANDBOX_CLIENT_ID,
        },
        timeout=TIMEOUT,
    )
    assert refreshed.status_code == 200


def test_authorization_code_with_spotipy_pkce(http, server):
    auth = spotipy.SpotifyPKCE(
        client_id=SANDBOX_CLIENT_ID,
        redirect_uri="http://127.0.0.1:8000/callback",
        scope="playlist-read-private",
        cache_handler=spotipy.MemoryCacheHandler(),
        open_browser=False,
        requests_timeout=TIMEOUT,
    )
    auth.OAUTH_AUTHORIZE_URL = server.authorize_url
    auth.OAUTH_TOKEN_URL = server.token_url
    # sandbox_user approves at once, skipping the consent page (a person's browser sees it).
    url = auth.get_authorize_url() + "&sandbox_user=" + DEMO_USER_ID
    resp = http.get(url, allow_redirects=False, timeout=TIMEOUT)
    code = auth.parse_response_code(resp.headers["Location"])
    token = auth.get_access_token(code, check_cache=False)
    assert _spotipy(server, token).me()["id"] == DEMO_USER_ID


def test_authorization_code_rejects_wrong_redirect_and_insecure_uri(http, server):
    resp = _authorize(http, server, sandbox_user=DEMO_USER_ID)
    code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    tok = http.post(
        server.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:9999/other",
        },
        auth=CREDS,
        timeout=TIMEOUT,
    )
    assert tok.status_code == 400 and tok.json()["error"] == "invalid_grant"
    insecure = _authorize(http, server, redirect_uri="http://example.com/callback")
    assert insecure.status_code == 400


def test_app_token_cannot_call_me(http, server, app_token):
    resp = _get(http, server, "me", app_token)
    assert resp.status_code == 401
    assert resp.json()["error"]["status"] == 401


def test_missing_and_unknown_tokens_are_401(http, server):
    missing = http.get(server.api_base_url + "me", timeout=TIMEOUT)
    unknown = _get(http, server, "me", "not-a-token")
    assert missing.status_code == 401
    assert unknown.status_code == 401
    assert unknown.json() == {"error": {"status": 401, "message": "Invalid access token"}}


# --- profile and playlists -----------------------------------------------------------------
def test_me_shape(http, server, demo_token):
    me = _get(http, server, "me", demo_token).json()
    assert me["account_id"].startswith("acc-") and len(me["account_id"]) == 20
    assert me["type"] == "user" and me["uri"] == "spotify:user:sandbox-demo"
    for removed in ("email", "country", "product", "followers"):
        assert removed not in me


def test_my_playlists_paginates_and_includes_followed(http, server, demo_token):
    sp = _spotipy(server, demo_token)
    page = sp.current_user_playlists(limit=4)
    ids = [p["id"] for p in page["items"]]
    while page["next"]:
        page = sp.next(page)
        ids += [p["id"] for p in page["items"]]
    assert len(ids) == page["total"] == len(set(ids))
    assert set(DEMO_PLAYLISTS.values()) <= set(ids)
    assert {MIXED_PLAYLIST_ID, COLLAB_PLAYLIST_ID, OTHER_USER_PLAYLIST_ID} <= set(ids)
    assert PRIVATE_PLAYLIST_ID not in ids and EDITORIAL_PLAYLIST_ID not in ids
    first = sp.current_user_playlists(limit=1)["items"][0]
    assert set(first["items"]) == {"href", "total"}


def test_limit_above_50_is_400(http, server, demo_token):
    for path in (f"playlists/{DEMO_PLAYLISTS[237]}/items", "me/playlists"):
        assert _get(http, server, path, demo_token, limit=51).status_code == 400
        assert _get(http, server, path, demo_token, limit=0).status_code == 400
    assert (
        _get(
            http, server, f"playlists/{DEMO_PLAYLISTS[237]}/items", demo_token, limit=50
        ).status_code
        == 200
    )


def test_items_default_limit_and_absolute_links(http, server, demo_token):
    page = _get(http, server, f"playlists/{DEMO_PLAYLISTS[51]}/items", demo_token).json()
    assert page["limit"] == 20 and len(page["items"]) == 20 and page["total"] == 51
    assert page["previous"] is None
    assert page["next"].startswith(server.api_base_url)
    last = http.get(
        f"{server.api_base_url}playlists/{DEMO_PLAYLISTS[51]}/items?offset=50&limit=50",
        headers={"Authorization": f"Bearer {demo_token}"},
        timeout=TIMEOUT,
    ).json()
    assert len(last["items"]) == 1 and last["next"] is None
    assert last["previous"].startswith(server.api_base_url)


def test_paginate_10000_items_with_spotipy_next(server, demo_token):
    sp = _spotipy(server, demo_token)
    page = sp.playlist_items(DEMO_PLAYLISTS[10000], limit=50)
    count, pages, positions_seen = len(page["items"]), 1, set()
    while page["next"]:
        page = sp.next(page)
        count += len(page["items"])
        pages += 1
        positions_seen.add(page["offset"])
    assert count == 10000 == page["total"]
    assert pages == 200 and len(positions_seen) == 199
    assert server.state.requests["items"] == 200


def test_empty_and_single_playlists(http, server, demo_token):
    empty = _get(http, server, f"playlists/{DEMO_PLAYLISTS[0]}", demo_token).json()
    assert empty["items"]["total"] == 0 and empty["items"]["items"] == []
    assert empty["images"] is None  # Spotify sends null images for playlists without a cover
    one = _get(http, server, f"playlists/{DEMO_PLAYLISTS[1]}", demo_token).json()
    assert one["collaborative"] is True and one["public"] is False
    assert one["items"]["total"] == 1


def test_html_and_unicode_survive(http, server, demo_token):
    pl = _get(http, server, f"playlists/{DEMO_PLAYLISTS[50]}", demo_token).json()
    assert "<script>alert(1)</script>" in pl["name"]
    assert pl["description"] == 'Songs &amp; more <a href="spotify:user:x">link</a>'
    pl237 = _get(http, server, f"playlists/{DEMO_PLAYLISTS[237]}", demo_token).json()
    assert "🌙" in pl237["name"]


def test_playlist_fields_snapshot_only(http, server, app_token):
    resp = _get(http, server, f"playlists/{DEMO_PLAYLISTS[237]}", app_token, fields="snapshot_id")
    assert resp.json() == {"snapshot_id": server.state.snapshot_id(DEMO_PLAYLISTS[237])}


# --- development mode rules ----------------------------------------------------------------
def test_development_app_token_gets_metadata_only(http, server, app_token):
    pid = DEMO_PLAYLISTS[237]
    meta = _get(http, server, f"playlists/{pid}", app_token)
    assert meta.status_code == 200
    body = meta.json()
    assert body["id"] == pid and body["snapshot_id"] and "items" not in body
    assert "tracks" not in body
    items = _get(http, server, f"playlists/{pid}/items", app_token)
    assert items.status_code == 403
    assert items.json() == {"error": {"status": 403, "message": "Forbidden"}}


def test_development_demo_token_reads_own_items(http, server, demo_token):
    body = _get(http, server, f"playlists/{DEMO_PLAYLISTS[237]}", demo_token).json()
    assert body["items"]["total"] == 237 and len(body["items"]["items"]) == 50
    assert body["items"]["next"].startswith(server.api_base_url)
    items = _get(http, server, f"playlists/{DEMO_PLAYLISTS[237]}/items", demo_token, limit=50)
    assert items.status_code == 200 and len(items.json()["items"]) == 50


def test_development_other_user_playlist(http, server, demo_token):
    meta = _get(http, server, f"playlists/{OTHER_USER_PLAYLIST_ID}", demo_token)
    assert meta.status_code == 200 and "items" not in meta.json()
    assert meta.json()["owner"]["id"] == "sandbox-alice"
    assert (
        _get(http, server, f"playlists/{OTHER_USER_PLAYLIST_ID}/items", demo_token).status_code
        == 403
    )


def test_collaborator_reads_collab_playlist(http, server, demo_token, app_token):
    resp = _get(http, server, f"playlists/{COLLAB_PLAYLIST_ID}/items", demo_token)
    assert resp.status_code == 200 and resp.json()["total"] == 80
    added_by = {i["added_by"]["id"] for i in resp.json()["items"] if i["added_by"]}
    assert added_by <= {"sandbox-alice", "sandbox-demo"}
    # private + collaborative: invisible to an app token
    assert _get(http, server, f"playlists/{COLLAB_PLAYLIST_ID}", app_token).status_code == 404


def test_private_playlist_is_404_except_for_owner(http, server, demo_token, app_token):
    for token in (demo_token, app_token):
        resp = _get(http, server, f"playlists/{PRIVATE_PLAYLIST_ID}", token)
        assert resp.status_code == 404
        assert resp.json()["error"]["status"] == 404
    bob = _token(http, server, grant_type="refresh_token", refresh_token=BOB_REFRESH_TOKEN)
    assert _get(http, server, f"playlists/{PRIVATE_PLAYLIST_ID}/items", bob).status_code == 200


@pytest.mark.parametrize("mode", ["development", "extended"])
def test_editorial_playlist_is_always_404(http, server, mode):
    server.state.mode = mode
    app = _token(http, server, grant_type="client_credentials")
    demo = _token(http, server, grant_type="refresh_token", refresh_token=DEMO_REFRESH_TOKEN)
    for token in (app, demo):
        for path in (
            f"playlists/{EDITORIAL_PLAYLIST_ID}",
            f"playlists/{EDITORIAL_PLAYLIST_ID}/items",
        ):
            assert _get(http, server, path, token).status_code == 404


def test_development_removed_endpoints(http, server, demo_token):
    artist_ids = build_catalog().artist_ids[:3]
    track_ids = build_catalog().track_ids[:3]
    assert _get(http, server, "artists", demo_token, ids=",".join(artist_ids)).status_code == 403
    assert _get(http, server, "tracks", demo_token, ids=",".join(track_ids)).status_code == 403
    assert (
        _get(http, server, f"playlists/{DEMO_PLAYLISTS[50]}/tracks", demo_token).status_code == 403
    )
    single = _get(http, server, f"artists/{artist_ids[0]}", demo_token).json()
    assert "popularity" not in single and "followers" not in single
    track = _get(http, server, f"tracks/{track_ids[0]}", demo_token).json()
    assert "popularity" not in track and "available_markets" not in track
    assert track["external_ids"]["isrc"]


def test_missing_scope_is_refused_in_development(http, server):
    token = server.state.issue_access_token(DEMO_USER_ID, scope="")
    resp = _get(http, server, f"playlists/{DEMO_PLAYLISTS[50]}/items", token)
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == "Insufficient client scope"


def test_unknown_artist_is_404(http, server, demo_token):
    assert _get(http, server, "artists/" + "0" * 22, demo_token).status_code == 404


# --- extended mode -------------------------------------------------------------------------
def test_extended_mode_rules(http, server, app_token):
    server.state.mode = "extended"
    cat = build_catalog()
    items = _get(http, server, f"playlists/{OTHER_USER_PLAYLIST_ID}/items", app_token, limit=50)
    assert items.status_code == 200 and items.json()["total"] == 75
    track = next(i["item"] for i in items.json()["items"] if i["item"])
    assert isinstance(track["popularity"], int)
    meta = _get(http, server, f"playlists/{DEMO_PLAYLISTS[237]}", app_token).json()
    assert meta["items"]["total"] == 237
    batch = _get(http, server, "artists", app_token, ids=",".join(cat.artist_ids[:50]))
    assert batch.status_code == 200
    artists = batch.json()["artists"]
    assert len(artists) == 50 and all("followers" in a and "popularity" in a for a in artists)
    too_many = _get(http, server, "artists", app_token, ids=",".join(cat.artist_ids[:51]))
    assert too_many.status_code == 400
    legacy = _get(http, server, f"playlists/{DEMO_PLAYLISTS[50]}/tracks", app_token)
    assert legacy.status_code == 200
    assert all("track" in i and "item" not in i for i in legacy.json()["items"])
    album = _get(http, server, f"albums/{cat.album_ids[0]}", app_token).json()
    assert "label" in album and "popularity" in album
    # private playlists stay private in extended mode
    assert _get(http, server, f"playlists/{PRIVATE_PLAYLIST_ID}", app_token).status_code == 404


def test_mode_switch_over_http(http, server, app_token):
    resp = http.post(server.base_url + "_sandbox/mode", json={"mode": "extended"}, timeout=5)
    assert resp.json() == {"mode": "extended"} and server.state.mode == "extended"
    assert _get(http, server, f"playlists/{DEMO_PLAYLISTS[50]}/items", app_token).status_code == 200


# --- item shapes ---------------------------------------------------------------------------
def _all_items(http, server, token, pid):
    out, url = [], f"{server.api_base_url}playlists/{pid}/items?limit=50"
    while url:
        page = http.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
        out += page["items"]
        url = page["next"]
    return out


def test_mixed_playlist_over_http(http, server, demo_token):
    items = _all_items(http, server, demo_token, MIXED_PLAYLIST_ID)
    assert 110 <= len(items) <= 130
    objs = [i["item"] for i in items]
    assert all(i["item"] == i["track"] for i in items)  # this playlist sends both keys
    locals_ = [i for i in items if i["is_local"]]
    assert len(locals_) == 3
    for i in locals_:
        assert i["item"]["id"] is None and i["item"]["uri"].startswith("spotify:local:")
        assert i["item"]["artists"][0]["id"] is None and i["item"]["album"]["id"] is None
    assert any(i["item"]["uri"].startswith("spotify:local:Sigur+Lj%C3%B3s:") for i in locals_)
    assert sum(1 for o in objs if o and o["type"] == "episode") == 2
    assert all(o["show"]["name"] for o in objs if o and o["type"] == "episode")
    assert sum(1 for o in objs if o is None) == 3
    ids = [o["id"] for o in objs if o and o["type"] == "track" and o["id"]]
    counts = sorted({ids.count(t) for t in ids})
    assert counts == [1, 2, 3]
    precisions = {
        (o["album"]["release_date"] == "0000", o["album"]["release_date_precision"])
        for o in objs
        if o and o["type"] == "track" and o["id"]
    }
    assert {(False, "day"), (False, "month"), (False, "year"), (True, "year")} <= precisions
    assert any(i["added_at"] is None for i in items)


def test_legacy_shape_playlist_has_only_track_key(http, server, demo_token):
    items = _all_items(http, server, demo_token, LEGACY_SHAPE_PLAYLIST_ID)
    assert len(items) == 60
    assert all("item" not in i and "track" in i for i in items)
    assert sum(1 for i in items if i["track"] is None) == 1


def test_item_key_variants(http, server, demo_token):
    with_both = _get(http, server, f"playlists/{DEMO_PLAYLISTS[50]}/items", demo_token).json()
    only_item = _get(http, server, f"playlists/{DEMO_PLAYLISTS[51]}/items", demo_token).json()
    assert all("item" in i and "track" in i for i in with_both["items"])
    assert all("item" in i and "track" not in i for i in only_item["items"])
    track = only_item["items"][0]["item"]
    assert track["type"] == "track" and len(track["id"]) == 22
    assert track["artists"][0]["id"] == track["album"]["artists"][0]["id"]
    assert track["album"]["release_date_precision"] in {"day", "month", "year"}


# --- faults ----------------------------------------------------------------------------------
def test_rate_limit_fault(http, server, demo_token):
    server.state.set_faults(
        rate_limit={"retry_after": 7, "times": 1, "path_prefix": "/v1/playlists"}
    )
    assert _get(http, server, "me", demo_token).status_code == 200  # other prefix unaffected
    resp = _get(http, server, f"playlists/{DEMO_PLAYLISTS[50]}", demo_token)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"
    assert resp.json() == {"error": {"status": 429, "message": "API rate limit exceeded"}}
    assert _get(http, server, f"playlists/{DEMO_PLAYLISTS[50]}", demo_token).status_code == 200


def test_quota_exceeded_fault_over_http_with_spotipy(http, server, demo_token):
    resp = http.post(
        server.base_url + "_sandbox/faults",
        json={"quota_exceeded": {"retry_after": 3600, "times": 2}},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200 and resp.json()["quota_exceeded"]["times"] == 2
    raw = _get(http, server, "me", demo_token)
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "3600"
    assert raw.json()["error"]["reason"] == "QUOTA_EXCEEDED"
    with pytest.raises(spotipy.SpotifyException) as exc:
        _spotipy(server, demo_token).me()
    assert exc.value.http_status == 429
    assert exc.value.reason == "QUOTA_EXCEEDED"
    assert exc.value.headers["Retry-After"] == "3600"
    assert _get(http, server, "me", demo_token).status_code == 200


def test_server_error_fault_then_success(http, server, demo_token):
    server.state.set_faults(server_error={"status": 502, "times": 2})
    statuses = [_get(http, server, "me", demo_token).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    http.delete(server.base_url + "_sandbox/faults", timeout=TIMEOUT)
    assert server.state.faults == {}


def test_expire_tokens_fault_and_refresh(http, server, demo_token):
    resp = http.post(server.base_url + "_sandbox/faults", json={"expire_tokens": True}, timeout=5)
    assert resp.status_code == 200
    expired = _get(http, server, "me", demo_token)
    assert expired.status_code == 401
    assert expired.json()["error"]["message"] == "The access token expired"
    fresh = _token(http, server, grant_type="refresh_token", refresh_token=DEMO_REFRESH_TOKEN)
    assert _get(http, server, "me", fresh).status_code == 200


def test_latency_fault(http, server, demo_token):
    import time

    server.state.set_faults(latency_ms=120)
    start = time.perf_counter()
    assert _get(http, server, "me", demo_token).status_code == 200
    assert time.perf_counter() - start >= 0.12
    server.state.clear_faults()
    start = time.perf_counter()
    _get(http, server, "me", demo_token)
    assert time.perf_counter() - start < 0.1


# --- mutations, counters, concurrency ------------------------------------------------------
def test_mutations_change_snapshot(http, server, demo_token):
    pid = DEMO_PLAYLISTS[50]

    def fetch():
        return _get(http, server, f"playlists/{pid}", demo_token).json()

    before = fetch()
    first_id = before["items"]["items"][0]["item"]["id"]
    snap1 = server.state.remove_items(pid, [first_id])
    after = fetch()
    assert after["snapshot_id"] == snap1 != before["snapshot_id"]
    assert after["items"]["total"] == 49
    assert first_id not in {i["item"]["id"] for i in after["items"]["items"]}
    snap2 = server.state.add_tracks(pid, [first_id])
    readded = fetch()
    assert readded["snapshot_id"] == snap2 not in (snap1, before["snapshot_id"])
    assert readded["items"]["total"] == 50
    assert readded["items"]["items"][-1]["item"]["id"] == first_id
    server.state.remove_items(pid, [0, 1])
    assert fetch()["items"]["total"] == 48
    server.state.reset()
    assert fetch()["items"]["total"] == 50


def test_mutation_over_http(http, server):
    track = build_catalog().track_ids[123]
    resp = http.post(
        f"{server.base_url}_sandbox/playlists/{DEMO_PLAYLISTS[0]}/items",
        json={"add": [track]},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200
    assert resp.json()["snapshot_id"] == server.state.snapshot_id(DEMO_PLAYLISTS[0])
    assert [i.ref for i in server.state.playlist_items(DEMO_PLAYLISTS[0])] == [track]


def test_request_counters(http, server, demo_token):
    cat = build_catalog()
    for aid in cat.artist_ids[:3]:
        _get(http, server, f"artists/{aid}", demo_token)
    _get(http, server, f"playlists/{DEMO_PLAYLISTS[50]}", demo_token)
    _get(http, server, f"playlists/{DEMO_PLAYLISTS[50]}/items", demo_token)
    stats = http.get(server.base_url + "_sandbox/stats", timeout=TIMEOUT).json()
    assert stats == {"total": 6, "token": 1, "artist": 3, "playlist": 1, "items": 1}
    assert stats == server.state.requests
    server.state.reset_counters()
    assert server.state.requests == {"total": 0}


def test_concurrent_artist_lookups(server, demo_token):
    ids = build_catalog().artist_ids[:80]
    local = threading.local()

    def fetch(aid):
        if not hasattr(local, "s"):
            local.s = requests.Session()
        resp = local.s.get(
            f"{server.api_base_url}artists/{aid}",
            headers={"Authorization": f"Bearer {demo_token}"},
            timeout=TIMEOUT,
        )
        return resp.status_code, resp.json()["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(fetch, ids))
    assert results == [(200, aid) for aid in ids]
    assert server.state.requests["artist"] == 80


def test_genres_variants(http, server, demo_token):
    cat = build_catalog()
    empty = next(a for a in cat.artists.values() if a.genres == ())
    absent = next(a for a in cat.artists.values() if a.genres is None)
    some = next(a for a in cat.artists.values() if a.genres)
    assert _get(http, server, f"artists/{empty.id}", demo_token).json()["genres"] == []
    assert "genres" not in _get(http, server, f"artists/{absent.id}", demo_token).json()
    assert _get(http, server, f"artists/{some.id}", demo_token).json()["genres"] == list(
        some.genres
    )


# --- catalog -------------------------------------------------------------------------------
def test_catalog_is_deterministic_and_sized():
    from devtools.sandbox.catalog import _generate

    a, b = build_catalog(), _generate(20261126)
    assert a is build_catalog()  # cached
    assert a.artist_ids == b.artist_ids and a.track_ids == b.track_ids
    assert a.playlists[MIXED_PLAYLIST_ID].items == b.playlists[MIXED_PLAYLIST_ID].items
    assert _generate(1).track_ids[:5] != a.track_ids[:5]
    assert 2500 <= len(a.artists) <= 3500 and 5000 <= len(a.albums) <= 7000
    assert 25000 <= len(a.tracks) <= 35000
    assert all(len(i) == 22 and i.isalnum() for i in a.track_ids[:1000])
    no_genres = sum(1 for x in a.artists.values() if x.genres == ()) / len(a.artists)
    absent = sum(1 for x in a.artists.values() if x.genres is None) / len(a.artists)
    assert 0.10 < no_genres < 0.20 and 0.005 < absent < 0.04
    isrc = a.tracks[a.track_ids[0]].isrc
    assert len(isrc) == 12 and isrc[:2].isalpha() and isrc[5:].isdigit()
    sizes = {size: len(a.playlists[pid].items) for size, pid in DEMO_PLAYLISTS.items()}
    assert sizes == {s: s for s in DEMO_PLAYLISTS}
    assert ALICE_REFRESH_TOKEN == "sandbox-refresh-sandbox-alice"


def test_mixed_playlist_catalog_contents():
    cat = build_catalog()
    items = cat.playlists[MIXED_PLAYLIST_ID].items
    kinds = [i.kind for i in items]
    assert kinds.count("local") == 3 and kinds.count("episode") == 2
    assert kinds.count("unavailable") == 3
    track_refs = [i.ref for i in items if i.kind == "track"]
    assert {track_refs.count(t) for t in track_refs} == {1, 2, 3}
    artists = [cat.artists[cat.tracks[t].artist_ids[0]] for t in track_refs]
    assert any(a.genres == () for a in artists) and any(a.genres is None for a in artists)
    dates = {cat.albums[cat.tracks[t].album_id].release_date_precision for t in track_refs}
    assert dates == {"day", "month", "year"}
    assert any(cat.albums[cat.tracks[t].album_id].release_date == "0000" for t in track_refs)


def test_created_playlists_are_readable_by_their_owner_and_gone_after_reset():
    with SandboxServer() as server:
        tracks = server.state.catalog.track_ids[:3]
        playlist_id = server.state.create_playlist("sandbox-demo", "Bench 1", tracks)
        assert [item.ref for item in server.state.playlist_items(playlist_id)] == tracks
        token = server.state.issue_access_token("sandbox-demo")
        page = requests.get(
            f"{server.api_base_url}playlists/{playlist_id}/items?limit=50",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        ).json()
        assert page["total"] == 3
        server.state.reset()
        with pytest.raises(KeyError):
            server.state.playlist_items(playlist_id)


# --- Development Mode walls: the allow-list and the owner's Premium -------------------------
def test_a_sixth_user_off_the_allow_list_gets_403_on_every_call(http, server):
    token = server.state.issue_access_token("sandbox-erin")
    resp = _get(http, server, "me", token)
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == "User not registered in the Developer Dashboard"
    assert len(server.state.allow_list) == 5 and "sandbox-erin" not in server.state.allow_list
    added = http.post(
        server.base_url + "_sandbox/app",
        json={"allow_list": [*server.state.allow_list, "sandbox-erin"]},
        timeout=TIMEOUT,
    )
    assert "sandbox-erin" in added.json()["allow_list"]
    assert _get(http, server, "me", token).status_code == 200


def test_the_allow_list_does_not_apply_to_app_tokens_or_extended_mode(http, server, app_token):
    server.state.allow_list = set()
    assert _get(http, server, f"artists/{server.catalog.artist_ids[0]}", app_token).ok
    server.state.mode = "extended"
    assert _get(http, server, "me", server.state.issue_access_token("sandbox-erin")).ok


def test_a_lapsed_premium_refuses_every_call_with_spotifys_message(http, server, demo_token):
    http.post(server.base_url + "_sandbox/app", json={"premium_lapsed": True}, timeout=TIMEOUT)
    for path in ("me", "me/playlists", f"playlists/{DEMO_PLAYLISTS[50]}"):
        resp = _get(http, server, path, demo_token)
        assert resp.status_code == 403
        assert "premium" in resp.json()["error"]["message"].lower()
    http.post(server.base_url + "_sandbox/reset", timeout=TIMEOUT)
    assert _get(http, server, "me", demo_token).ok


def test_authorize_without_a_user_shows_a_consent_page(http, server):
    resp = _authorize(http, server)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    for user_id in ("sandbox-demo", "sandbox-alice", "sandbox-erin"):
        assert f'value="{user_id}"' in resp.text
    assert 'name="redirect_uri" value="http://127.0.0.1:8000/callback"' in resp.text


def test_refresh_tokens_rotate_when_asked(http, server):
    server.state.rotate_refresh_tokens = True
    first = http.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": DEMO_REFRESH_TOKEN},
        auth=CREDS,
        timeout=TIMEOUT,
    ).json()
    assert first["refresh_token"] != DEMO_REFRESH_TOKEN
    old = http.post(
        server.token_url,
        data={"grant_type": "refresh_token", "refresh_token": DEMO_REFRESH_TOKEN},
        auth=CREDS,
        timeout=TIMEOUT,
    )
    assert old.json()["error"] == "invalid_grant"


def test_info_documents_the_walls(http, server):
    info = http.get(server.base_url + "_sandbox/info", timeout=TIMEOUT).json()
    assert info["app"] == {
        "allow_list": sorted(DEFAULT_ALLOW_LIST),
        "premium_lapsed": False,
        "rotate_refresh_tokens": False,
        "refresh_token_lifetime_days": 182,
    }
    assert "GET|POST /_sandbox/app" in info["control"]

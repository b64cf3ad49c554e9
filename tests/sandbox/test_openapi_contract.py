"""The sandbox keeps Spotify's published contract: every Web API answer the project relies on,
in Development and Extended Quota Mode, errors included, validated over real HTTP against the
vendored OpenAPI description (``openapi_contract``: the validator and its few allowances)."""

from __future__ import annotations

import copy

import pytest

from devtools.sandbox import (
    ALICE_USER_ID,
    DEMO_PLAYLISTS,
    DEMO_USER_ID,
    DEVELOPMENT,
    EDITORIAL_PLAYLIST_ID,
    ERIN_USER_ID,
    EXTENDED,
    MIXED_PLAYLIST_ID,
    MODES,
    OTHER_USER_PLAYLIST_ID,
)

from .openapi_contract import assert_keeps_contract, violations

TIMEOUT = 10
PAGE = 50  # the project's page size (spotify_client.ITEMS_PAGE_LIMIT)

PLAYLIST = "/playlists/{playlist_id}"
ITEMS = "/playlists/{playlist_id}/items"


@pytest.fixture(params=MODES)
def mode(request, server):
    server.state.mode = request.param  # the autouse reset puts the default back
    return request.param


@pytest.fixture
def call(http, server):
    """``call(path, token, **params)`` → (status, JSON body) of a GET under /v1/."""

    def get(path, token=None, **params):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = http.get(server.api_base_url + path, params=params, headers=headers, timeout=TIMEOUT)
        return resp.status_code, resp.json()

    return get


@pytest.fixture
def demo_token(server):
    return server.state.issue_access_token(DEMO_USER_ID)


@pytest.fixture
def app_token(server):
    return server.state.issue_access_token(None)


def test_me(call, mode, server):
    for user in (DEMO_USER_ID, ALICE_USER_ID):
        status, body = call("me", server.state.issue_access_token(user))
        assert status == 200 and body["account_id"]
        assert_keeps_contract("/me", status, body, mode)


def test_my_playlists_every_page(call, mode, server):
    for user in (DEMO_USER_ID, ALICE_USER_ID):
        token = server.state.issue_access_token(user)
        status, body = call("me/playlists", token, limit=PAGE)
        assert status == 200 and body["items"]
        assert_keeps_contract("/me/playlists", status, body, mode)
        status, small = call("me/playlists", token, limit=1, offset=1)  # links both ways
        assert small["next"] and small["previous"]
        assert_keeps_contract("/me/playlists", status, small, mode)


def test_every_playlist(call, mode, server, demo_token, app_token):
    # An app token reads no items in Development Mode (a shape of its own); in Extended Quota
    # Mode its answers are the user's, so the user's are enough.
    readers = [demo_token] + ([app_token] if mode == DEVELOPMENT else [])
    statuses = set()
    for playlist_id in server.catalog.playlists:
        for token in readers:
            status, body = call(f"playlists/{playlist_id}", token)
            statuses.add(status)
            assert_keeps_contract(PLAYLIST, status, body, mode)
    assert statuses == {200, 404}  # editorial and private playlists are 404


def _last_offset(total: int) -> int:
    return max(total - 1, 0) // PAGE * PAGE


def test_first_and_last_items_page_of_every_playlist(call, mode, server, demo_token, app_token):
    """Every playlist's first and last page (pages are rendered alike; the mixed playlist's
    odd items get every page below), read by the user in Development Mode and by the app in
    Extended Quota Mode, where it may read any public playlist's items."""
    token = demo_token if mode == DEVELOPMENT else app_token
    statuses, checked = set(), 0
    for playlist_id, playlist in server.catalog.playlists.items():
        for offset in sorted({0, _last_offset(len(playlist.items))}):
            path = f"playlists/{playlist_id}/items"
            status, page = call(path, token, limit=PAGE, offset=offset)
            assert_keeps_contract(ITEMS, status, page, mode)
            statuses.add(status)
            checked += len(page.get("items", ()))
    assert checked > 500 and {200, 404} <= statuses


def test_the_odd_items_are_checked(call, mode, demo_token):
    """The mixed playlist's episodes, local files and unavailable items are among those
    validated above: the allowances are exercised, not only the plain tracks."""
    kinds = set()
    for offset in (0, PAGE, 2 * PAGE):  # its 120 items
        status, page = call(f"playlists/{MIXED_PLAYLIST_ID}/items", demo_token, offset=offset)
        assert_keeps_contract(ITEMS, status, page, mode)
        for item in page["items"]:
            obj = item.get("item")
            kinds.add(
                "unavailable" if obj is None else "local" if item["is_local"] else obj["type"]
            )
        assert all("added_at" in item for item in page["items"])
    assert kinds == {"track", "episode", "local", "unavailable"}


def _sample_artists(server) -> list[str]:
    """Artists whose genres are listed, empty and absent, and one with no images."""
    artists = server.catalog.artists.values()
    picks = [
        next(a for a in artists if a.genres),
        next(a for a in artists if a.genres == ()),
        next(a for a in artists if a.genres is None),
        next(a for a in artists if a.popularity < 3),
    ]
    return [a.id for a in picks]


def test_track_search(call, mode, server, demo_token):
    # What enrichment asks for a track an older export names without an id
    # (ingestion/named_tracks.py): one search per track, `limit` within the mode's cap.
    track = server.catalog.tracks[server.catalog.track_ids[0]]
    status, body = call("search", demo_token, q=f"track:{track.name}", type="track", limit=10)
    assert status == 200 and body["tracks"]["items"]
    assert_keeps_contract("/search", status, body, mode)
    status, body = call("search", demo_token, q="", type="track")
    assert status == 400
    assert_keeps_contract("/search", status, body, mode)


def test_artists_and_tracks(call, mode, server, demo_token):
    for artist_id in _sample_artists(server):
        status, body = call(f"artists/{artist_id}", demo_token)
        assert status == 200
        assert_keeps_contract("/artists/{id}", status, body, mode)
    for track_id in server.catalog.track_ids[:5]:
        status, body = call(f"tracks/{track_id}", demo_token)
        assert status == 200
        assert_keeps_contract("/tracks/{id}", status, body, mode)
        assert ("available_markets" in body) == (mode == EXTENDED)
    for path in ("artists/{}", "tracks/{}"):
        for bad_id, expected in (("0" * 22, 404), ("not-an-id", 400)):
            status, body = call(path.format(bad_id), demo_token)
            assert status == expected
            assert_keeps_contract("/" + path.format("{id}"), status, body, mode)


def test_artists_batch(call, mode, server, demo_token):
    ids = ",".join(_sample_artists(server))
    status, body = call("artists", demo_token, ids=ids)
    assert status == (200 if mode == EXTENDED else 403)  # removed for Development Mode
    assert_keeps_contract("/artists", status, body, mode)


@pytest.mark.parametrize(
    "setup, path, status",
    [
        ("no token", "me", 401),
        ("unknown token", "me", 401),
        ("expired token", "playlists/{demo}", 401),
        ("not allow-listed", "me", 403),
        ("premium lapsed", "me/playlists", 403),
        ("someone else's items", "playlists/{other}/items", 403),
        ("editorial playlist", "playlists/{editorial}", 404),
        ("limit over 50", "playlists/{demo}/items", 400),
        ("rate limited", "playlists/{demo}/items", 429),
        ("quota exceeded", "artists/{artist}", 429),
        ("server error", "tracks/{track}", 502),
    ],
)
def test_error_answers(call, mode, server, setup, path, status):
    state = server.state
    token = state.issue_access_token(DEMO_USER_ID)
    params = {}
    if setup == "no token":
        token = None
    elif setup == "unknown token":
        token = "not-a-token"
    elif setup == "expired token":
        state.expire_tokens()
    elif setup == "not allow-listed":
        state.mode = DEVELOPMENT  # the allow-list is a Development Mode wall
        token = state.issue_access_token(ERIN_USER_ID)
    elif setup == "premium lapsed":
        state.premium_lapsed = True
    elif setup == "someone else's items":
        state.mode = DEVELOPMENT  # Extended Quota reads any public playlist's items
    elif setup == "limit over 50":
        params["limit"] = 51
    elif setup == "rate limited":
        state.set_faults(rate_limit={"retry_after": 7, "times": 1})
    elif setup == "quota exceeded":
        state.set_faults(quota_exceeded={"retry_after": 7, "times": 1})
    elif setup == "server error":
        state.set_faults(server_error={"status": 502, "times": 1})
    filled = path.format(
        demo=DEMO_PLAYLISTS[50],
        other=OTHER_USER_PLAYLIST_ID,
        editorial=EDITORIAL_PLAYLIST_ID,
        artist=server.catalog.artist_ids[0],
        track=server.catalog.track_ids[0],
    )
    got, body = call(filled, token, **params)
    assert got == status, body
    template = "/" + path.format(
        demo="{playlist_id}",
        other="{playlist_id}",
        editorial="{playlist_id}",
        artist="{id}",
        track="{id}",
    )
    assert_keeps_contract(template, got, body, state.mode)
    if status == 429:
        assert "Retry-After" not in body  # the header, not the body, says how long


# --- the check itself: it refuses what no allowance covers ----------------------------------
@pytest.fixture
def mixed_page(call, demo_token):
    return call(f"playlists/{MIXED_PLAYLIST_ID}/items", demo_token, limit=PAGE)[1]


def _first(page, kind):
    for item in page["items"]:
        obj = item.get("item")
        if obj and not item["is_local"] and obj["type"] == kind:
            return item
    raise AssertionError(f"no {kind} on the page")


def test_the_check_refuses_a_null_description_in_a_list(call, demo_token):
    _status, body = call("me/playlists", demo_token, limit=PAGE)
    assert not violations("/me/playlists", 200, body, DEVELOPMENT)
    body["items"][0]["description"] = None
    assert violations("/me/playlists", 200, body, DEVELOPMENT)


def test_the_check_refuses_an_episode_missing_a_field(mixed_page):
    page = copy.deepcopy(mixed_page)
    page["items"] = [_first(page, "episode")]
    assert not violations(ITEMS, 200, page, DEVELOPMENT)
    del page["items"][0]["item"]["html_description"]
    assert violations(ITEMS, 200, page, DEVELOPMENT)


def test_the_check_wants_markets_in_extended_quota_only(call, server):
    server.state.mode = EXTENDED
    token = server.state.issue_access_token(DEMO_USER_ID)
    _status, body = call(f"tracks/{server.catalog.track_ids[0]}", token)
    del body["album"]["available_markets"]
    assert violations("/tracks/{id}", 200, body, EXTENDED)
    assert not violations("/tracks/{id}", 200, body, DEVELOPMENT)


def test_the_check_lets_only_local_files_be_stubs(mixed_page):
    page = copy.deepcopy(mixed_page)
    track = _first(page, "track")
    track["item"]["id"] = None
    track["item"]["album"]["release_date"] = None
    page["items"] = [track]
    assert violations(ITEMS, 200, page, DEVELOPMENT)  # is_local is false: not a stub
    track["is_local"] = track["item"]["is_local"] = True
    assert violations(ITEMS, 200, page, DEVELOPMENT)  # a Spotify URI: not a stub either
    track["item"]["uri"] = "spotify:local:Artist:Album:Title:215"
    assert not violations(ITEMS, 200, page, DEVELOPMENT)

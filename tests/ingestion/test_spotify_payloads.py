"""Spotify's renamed fields are read in one place each (spotify_client.payloads)."""

import pytest

from spotify_client import item_object, items_paging
from spotify_client.transport import ApiSession, RateCap

PAGING = {"href": "https://api.spotify.com/v1/playlists/p/items", "total": 3}


@pytest.mark.parametrize(
    ("playlist", "expected"),
    [
        ({"items": PAGING}, PAGING),
        ({"tracks": PAGING}, PAGING),  # the deprecated name alone
        ({"items": PAGING, "tracks": {"total": 9}}, PAGING),  # the new name first
        ({"id": "p"}, None),  # absent: this token may not read the items
        ({"items": None, "tracks": PAGING}, None),  # the new name, present, wins
        ({"items": "not an object"}, None),
    ],
)
def test_items_paging_reads_items_then_the_deprecated_tracks(playlist, expected):
    assert items_paging(playlist) == expected


TRACK = {"id": "t", "type": "track"}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"item": TRACK}, TRACK),
        ({"track": TRACK}, TRACK),  # the deprecated name alone
        ({"item": TRACK, "track": {"id": "old"}}, TRACK),
        ({"item": None}, None),  # unavailable content
        ({"is_local": False}, None),
    ],
)
def test_item_object_reads_item_then_the_deprecated_track(entry, expected):
    assert item_object(entry) == expected


@pytest.mark.parametrize("backoff", [0, 0.3])
def test_the_retry_backoff_is_the_setting(settings, backoff):
    settings.SPOTIFY_RETRY_BACKOFF = backoff
    retry = ApiSession(RateCap(0), pool_size=2).get_adapter("https://api.spotify.com/").max_retries
    assert retry.backoff_factor == backoff
    assert retry.status_forcelist == (500, 502, 503, 504)
    assert retry.respect_retry_after_header is False

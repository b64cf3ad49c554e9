"""End to end against the sandbox over HTTP: extract → transform → load."""

from collections import Counter

import pytest

from devtools.sandbox import (
    COLLAB_PLAYLIST_ID,
    DEMO_PLAYLISTS,
    EDITORIAL_PLAYLIST_ID,
    LEGACY_SHAPE_PLAYLIST_ID,
    MIXED_PLAYLIST_ID,
    OTHER_USER_PLAYLIST_ID,
    PRIVATE_PLAYLIST_ID,
)
from ingestion.pipeline import Status, ingest_playlist
from spotify_client import SpotifyClient
from warehouse.models import Artist, Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db


def present_rows(playlist_id):
    return PlaylistTrack.objects.filter(playlist_id=playlist_id, removed_at__isnull=True)


def sandbox_items(sandbox, playlist_id):
    return sandbox.state.playlist_items(playlist_id)


def sandbox_kinds(sandbox, playlist_id):
    return Counter(item.kind for item in sandbox_items(sandbox, playlist_id))


def test_it_loads_a_playlist_from_a_pasted_link(sandbox):
    playlist_id = DEMO_PLAYLISTS[237]
    result = ingest_playlist(f"https://open.spotify.com/intl-de/playlist/{playlist_id}?si=abc")
    assert result.status == Status.SUCCEEDED, result.error
    assert result.playlist_id == playlist_id
    assert result.tracks_loaded == present_rows(playlist_id).count() > 0
    playlist = Playlist.objects.get(pk=playlist_id)
    assert playlist.snapshot_id == sandbox.state.snapshot_id(playlist_id)
    assert playlist.owner_id == "sandbox-demo"


def test_it_accounts_for_every_kind_of_item(sandbox):
    result = ingest_playlist(MIXED_PLAYLIST_ID)
    assert result.status in (Status.SUCCEEDED, Status.PARTIAL), result.error
    items = sandbox_items(sandbox, MIXED_PLAYLIST_ID)
    assert result.items_total == len(items)
    kinds = sandbox_kinds(sandbox, MIXED_PLAYLIST_ID)
    assert result.items_skipped == {
        "episode": kinds["episode"],
        "unavailable": kinds["unavailable"],
    }
    assert kinds["episode"] and kinds["unavailable"] and kinds["local"]
    rows = present_rows(MIXED_PLAYLIST_ID)
    # Every item is a row, a repeat of a row, or a counted skip: nothing vanishes.
    occurrences = sum(rows.values_list("occurrences", flat=True))
    assert occurrences + sum(result.items_skipped.values()) == len(items)
    assert rows.filter(is_local=True, track_id__startswith="spotify:local:").exists()
    assert rows.filter(occurrences__gte=2).exists()
    assert rows.filter(track_genres=[]).exists()
    precisions = set(rows.values_list("album_release_date_precision", flat=True))
    assert {"day", "month", "year"} <= precisions
    unknown_dates = rows.filter(album_release_date="0000")
    assert unknown_dates.exists()
    assert not unknown_dates.exclude(release_year=None).exists()
    assert rows.filter(track_explicit=True).exists()
    assert rows.exclude(track_isrc=None).exists()


def test_it_reads_items_in_the_deprecated_track_shape(sandbox):
    result = ingest_playlist(LEGACY_SHAPE_PLAYLIST_ID)
    assert result.status == Status.SUCCEEDED, result.error
    assert result.tracks_loaded > 0
    kinds = sandbox_kinds(sandbox, LEGACY_SHAPE_PLAYLIST_ID)
    assert result.items_skipped.get("unavailable", 0) == kinds["unavailable"]
    assert result.tracks_loaded == len(
        {
            item.ref
            for item in sandbox_items(sandbox, LEGACY_SHAPE_PLAYLIST_ID)
            if item.kind == "track"
        }
    )


def test_it_reads_a_playlist_the_user_collaborates_on(sandbox):
    result = ingest_playlist(COLLAB_PLAYLIST_ID)
    assert result.status == Status.SUCCEEDED, result.error
    assert result.tracks_loaded > 0


def test_it_reports_unchanged_after_one_call_and_reloads_with_force(sandbox):
    playlist_id = DEMO_PLAYLISTS[51]
    first = ingest_playlist(playlist_id)
    assert first.status == Status.SUCCEEDED
    rows_before = list(present_rows(playlist_id).order_by("track_id").values())

    again = ingest_playlist(playlist_id)
    assert (again.status, again.api_calls) == (Status.UNCHANGED, 1)

    forced = ingest_playlist(playlist_id, force=True)
    assert forced.status == Status.SUCCEEDED
    assert (forced.rows_inserted, forced.rows_updated) == (0, 0)
    assert list(present_rows(playlist_id).order_by("track_id").values()) == rows_before


def test_it_marks_removals_and_clears_them_on_readdition(sandbox):
    playlist_id = DEMO_PLAYLISTS[50]
    ingest_playlist(playlist_id)
    removed_track = sandbox_items(sandbox, playlist_id)[3].ref
    sandbox.state.remove_items(playlist_id, [3])

    result = ingest_playlist(playlist_id)
    assert (result.status, result.rows_removed) == (Status.SUCCEEDED, 1)
    gone = PlaylistTrack.objects.get(playlist_id=playlist_id, track_id=removed_track)
    assert gone.removed_at is not None

    sandbox.state.add_tracks(playlist_id, [removed_track])
    result = ingest_playlist(playlist_id)
    assert result.rows_removed == 0
    back = PlaylistTrack.objects.get(playlist_id=playlist_id, track_id=removed_track)
    assert back.removed_at is None
    assert back.first_seen_at == gone.first_seen_at


def test_it_costs_one_call_per_page_and_per_unknown_artist(sandbox):
    playlist_id = DEMO_PLAYLISTS[1000]
    client = SpotifyClient.from_settings()
    result = ingest_playlist(playlist_id, client=client)
    artists = Artist.objects.count()
    assert result.api_calls == 1 + 1000 // 50 + artists

    # A second playlist only looks up the artists the cache does not know yet.
    other = ingest_playlist(DEMO_PLAYLISTS[237], client=client)
    new_artists = Artist.objects.count() - artists
    assert other.api_calls == 1 + -(-237 // 50) + new_artists


@pytest.mark.slow
def test_it_loads_a_10000_item_playlist(sandbox, every_artist_cached):
    # Pagination at size. Its 2,861 artists are cached already: one call per
    # unknown artist is test_it_costs_one_call_per_page_and_per_unknown_artist's.
    playlist_id = DEMO_PLAYLISTS[10000]
    result = ingest_playlist(playlist_id)
    assert result.status in (Status.SUCCEEDED, Status.PARTIAL), result.error
    assert result.items_total == 10_000
    occurrences = sum(present_rows(playlist_id).values_list("occurrences", flat=True))
    assert occurrences + sum(result.items_skipped.values()) == 10_000
    assert result.api_calls == 1 + 200  # the pages; no artist fetched again
    assert sandbox.state.stats()["items"] == 200


def test_an_editorial_playlist_is_explained(sandbox):
    result = ingest_playlist(EDITORIAL_PLAYLIST_ID)
    assert result.status == Status.FAILED
    assert "editorial" in result.error
    assert "playlist of your own" in result.error
    assert not Playlist.objects.exists()


def test_a_private_playlist_of_someone_else_is_not_found(sandbox):
    result = ingest_playlist(PRIVATE_PLAYLIST_ID)
    assert result.status == Status.FAILED
    assert "404" in result.error


def test_another_users_playlist_is_refused_with_the_fix(sandbox):
    result = ingest_playlist(OTHER_USER_PLAYLIST_ID)
    assert result.status == Status.FAILED
    assert "owns it or collaborates on it" in result.error
    assert "SPOTIFY_REFRESH_TOKEN" in result.error
    assert result.api_calls == 1
    assert not PlaylistTrack.objects.filter(playlist_id=OTHER_USER_PLAYLIST_ID).exists()


def test_an_app_token_cannot_read_items_in_development_mode(sandbox, settings):
    settings.SPOTIFY_REFRESH_TOKEN = ""
    result = ingest_playlist(DEMO_PLAYLISTS[50])
    assert result.status == Status.FAILED
    assert "owns it or collaborates on it" in result.error


def test_an_app_token_reads_public_playlists_in_extended_mode(sandbox, settings):
    sandbox.state.mode = "extended"
    settings.SPOTIFY_REFRESH_TOKEN = ""
    client = SpotifyClient.from_settings()
    result = ingest_playlist(OTHER_USER_PLAYLIST_ID, client=client)
    assert result.status == Status.SUCCEEDED, result.error
    assert client.batch_artists_available is True
    # Artists came in batches of 50, not one call each.
    assert sandbox.state.stats().get("artist", 0) == 0
    rows = present_rows(OTHER_USER_PLAYLIST_ID)
    assert rows.exclude(track_popularity=None).exists()


def test_a_rate_limit_stops_the_playlist_at_once_with_the_wait(sandbox):
    sandbox.state.set_faults(rate_limit={"retry_after": 7200, "times": 1})
    result = ingest_playlist(DEMO_PLAYLISTS[50])
    assert result.status == Status.FAILED
    assert (result.retry_after, result.quota_exceeded) == (7200, False)
    assert "7200 s" in result.error
    # No retry was made (spotipy's default would sleep 2 h and retry 3 times).
    assert sandbox.state.stats()["total"] == 2  # the token, then the 429
    assert not Playlist.objects.exists()


def test_quota_exhaustion_is_told_apart_from_a_rate_limit(sandbox):
    sandbox.state.set_faults(quota_exceeded={"retry_after": 86400, "times": 1})
    result = ingest_playlist(DEMO_PLAYLISTS[50])
    assert result.status == Status.FAILED
    assert (result.retry_after, result.quota_exceeded) == (86400, True)
    assert "QUOTA_EXCEEDED" in result.error


def test_a_rate_limit_during_artist_lookups_loads_nothing(sandbox):
    sandbox.state.set_faults(
        rate_limit={"retry_after": 30, "times": 1, "path_prefix": "/v1/artists/"}
    )
    result = ingest_playlist(DEMO_PLAYLISTS[51])
    assert (result.status, result.retry_after) == (Status.FAILED, 30)
    assert not PlaylistTrack.objects.exists()


def test_server_errors_are_retried_then_succeed(sandbox):
    sandbox.state.set_faults(
        server_error={"status": 502, "times": 2, "path_prefix": "/v1/playlists"}
    )
    result = ingest_playlist(DEMO_PLAYLISTS[50])
    assert result.status == Status.SUCCEEDED, result.error
    assert sandbox.state.statuses.get("502") == 2


def test_persistent_server_errors_fail_with_the_real_status(sandbox):
    sandbox.state.set_faults(server_error={"status": 503, "times": 0, "path_prefix": "/v1/"})
    result = ingest_playlist(DEMO_PLAYLISTS[50])
    assert result.status == Status.FAILED
    assert "503" in result.error
    assert "try again later" in result.error


def test_an_expired_token_is_renewed_mid_ingest(sandbox):
    client = SpotifyClient.from_settings()
    ingest_playlist(DEMO_PLAYLISTS[1], client=client)
    sandbox.state.set_faults(expire_tokens=True)
    result = ingest_playlist(DEMO_PLAYLISTS[50], client=client)
    assert result.status == Status.SUCCEEDED, result.error
    assert sandbox.state.stats()["token"] == 2


def test_wrong_app_credentials_are_named(sandbox, settings):
    settings.SPOTIFY_CLIENT_SECRET = "wrong"
    result = ingest_playlist(DEMO_PLAYLISTS[50])
    assert result.status == Status.FAILED
    assert "SPOTIFY_CLIENT_SECRET" in result.error


def test_a_revoked_refresh_token_asks_to_sign_in_again(sandbox, settings):
    settings.SPOTIFY_REFRESH_TOKEN = "sandbox-refresh-nobody"
    result = ingest_playlist(DEMO_PLAYLISTS[50])
    assert result.status == Status.FAILED
    assert "Sign in with Spotify again" in result.error


def test_artists_spotify_cannot_find_make_the_run_partial(sandbox, monkeypatch):
    # The sandbox knows every artist it lists; a vanished one is simulated at
    # the HTTP seam: the lookup of the first artist answers "not found".
    client = SpotifyClient.from_settings()
    lookup = client._artist_or_none
    vanished = []

    def first_artist_vanished(artist_id):
        if not vanished:
            vanished.append(artist_id)
            return None
        return lookup(artist_id)

    monkeypatch.setattr(client, "_artist_or_none", first_artist_vanished)
    result = ingest_playlist(DEMO_PLAYLISTS[50], client=client)
    assert (result.status, result.artists_not_found) == (Status.PARTIAL, 1)
    assert "could not find 1" in result.error
    assert result.tracks_loaded == 50
    assert Artist.objects.get(pk=vanished[0]).genres is None

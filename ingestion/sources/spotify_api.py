"""Extract a playlist from the Spotify Web API into a normalized snapshot.

Calls made for a playlist of n items with k artists not in the cache:
1 (metadata) + ⌈n/50⌉ (item pages) + k (one per artist); an unchanged playlist
(same `snapshot_id` as the last successful load) costs the 1 call only.
"""

import html
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ingestion.snapshot import ArtistRef, ItemKind, PlaylistItem, PlaylistSnapshot, Track
from spotify_client import PlaylistNotReadable, item_object, items_paging
from warehouse.models import Artist, Source

# Keeps `artist_id IN (…)` under SQLite's bound-parameter limit.
_QUERY_CHUNK = 500


@dataclass(frozen=True)
class Unchanged:
    """The playlist has the snapshot that was loaded last time."""

    playlist_id: str
    name: str
    snapshot_id: str


def noop_progress(step, done, total):
    pass


def extract_playlist(client, playlist_id, *, known_snapshot_id="", progress=noop_progress):
    """A PlaylistSnapshot of `playlist_id`, or Unchanged if its snapshot is known."""
    metadata = client.playlist(playlist_id)
    # The playlist object carries its items page only when this token may read
    # them (Development Mode: the owner's or a collaborator's token). Checked
    # before the snapshot: "unchanged" must mean "this reader may read it".
    paging = items_paging(metadata)
    if paging is None or "total" not in paging:
        raise PlaylistNotReadable(client.not_readable_message(playlist_id))
    snapshot_id = metadata.get("snapshot_id") or ""
    if known_snapshot_id and snapshot_id == known_snapshot_id:
        return Unchanged(playlist_id, metadata.get("name") or "", snapshot_id)
    snapshot = _snapshot_from_metadata(metadata)
    snapshot.items = _extract_items(client, playlist_id, paging["total"], progress)
    snapshot.total_items = len(snapshot.items)
    snapshot.artist_genres, snapshot.artists_not_found = artist_genres(
        client, _artist_ids(snapshot.items), progress=progress
    )
    return snapshot


def _snapshot_from_metadata(metadata):
    owner = metadata.get("owner") or {}
    images = metadata.get("images") or []
    return PlaylistSnapshot(
        playlist_id=metadata["id"],
        name=metadata.get("name") or "",
        source=Source.SPOTIFY_API,
        snapshot_id=metadata.get("snapshot_id") or "",
        # Spotify escapes descriptions as HTML entities ("Rock &amp; roll"); we
        # store text and let templates escape it once.
        description=html.unescape(metadata.get("description") or ""),
        owner_id=owner.get("id") or "",
        owner_name=owner.get("display_name") or owner.get("id") or "",
        image_url=(images[0].get("url") or "") if images else "",
        public=metadata.get("public"),
        collaborative=bool(metadata.get("collaborative")),
    )


def _extract_items(client, playlist_id, total, progress):
    items = []
    if total == 0:
        return items
    for page in client.playlist_item_pages(playlist_id):
        for raw in page.get("items") or []:
            items.append(parse_item(raw, position=len(items)))
            if len(items) == 1 and items[0].track:
                client.notice_extended_quota(item_object(raw))
        progress("items", len(items), max(total, len(items)))
    return items


def parse_item(raw, *, position):
    """One playlist item object → PlaylistItem (reads `item`, then the deprecated `track`)."""
    obj = item_object(raw)
    added_by = (raw.get("added_by") or {}).get("id")
    added_at = parse_datetime(raw["added_at"]) if raw.get("added_at") else None
    common = {"position": position, "added_at": added_at, "added_by": added_by}
    if not obj:
        return PlaylistItem(kind=ItemKind.UNAVAILABLE, **common)
    if obj.get("type") == "episode":
        return PlaylistItem(kind=ItemKind.EPISODE, **common)
    if raw.get("is_local") or obj.get("is_local"):
        return PlaylistItem(kind=ItemKind.LOCAL, track=parse_track(obj), **common)
    if not obj.get("id"):
        return PlaylistItem(kind=ItemKind.UNAVAILABLE, **common)
    return PlaylistItem(kind=ItemKind.TRACK, track=parse_track(obj), **common)


def parse_track(obj):
    album = obj.get("album") or {}
    return Track(
        id=obj.get("id"),
        uri=obj.get("uri") or "",
        name=obj.get("name") or "",
        duration_ms=obj.get("duration_ms"),
        explicit=obj.get("explicit"),
        isrc=(obj.get("external_ids") or {}).get("isrc"),
        popularity=obj.get("popularity"),
        album_id=album.get("id"),
        album_name=None if album.get("name") is None else str(album["name"]),
        album_release_date=album.get("release_date"),
        album_release_date_precision=album.get("release_date_precision"),
        artists=tuple(
            ArtistRef(id=artist.get("id"), name=artist.get("name") or "")
            for artist in obj.get("artists") or []
        ),
    )


def _artist_ids(items):
    return list(
        dict.fromkeys(
            artist.id
            for item in items
            if item.kind is ItemKind.TRACK
            for artist in item.track.artists
            if artist.id
        )
    )


def artist_genres(client, artist_ids, *, progress=noop_progress):
    """Genres by artist id from the artist cache, fetching the missing or stale ones;
    and how many of those Spotify could not find."""
    now = timezone.now()
    fresh_after = now - timedelta(days=settings.SPOTIFY_ARTIST_TTL_DAYS)
    genres = {}
    for start in range(0, len(artist_ids), _QUERY_CHUNK):
        chunk = artist_ids[start : start + _QUERY_CHUNK]
        genres.update(
            Artist.objects.filter(artist_id__in=chunk, fetched_at__gte=fresh_after).values_list(
                "artist_id", "genres"
            )
        )
    missing = [artist_id for artist_id in artist_ids if artist_id not in genres]
    progress("artists", 0, len(missing))
    if not missing:
        return genres, 0
    fetched = client.artists(
        missing, on_progress=lambda done, total: progress("artists", done, total)
    )
    _cache_artists(fetched, now)
    genres.update(
        {artist_id: (artist or {}).get("genres") for artist_id, artist in fetched.items()}
    )
    return genres, sum(1 for artist in fetched.values() if artist is None)


def _cache_artists(fetched, now):
    artists = [
        Artist(
            artist_id=artist_id,
            name=(artist or {}).get("name") or "",
            # Absent `genres` (deprecated in the schema) means unknown, not none.
            genres=(artist or {}).get("genres"),
            fetched_at=now,
        )
        for artist_id, artist in fetched.items()
    ]
    Artist.objects.bulk_create(
        artists,
        update_conflicts=True,
        unique_fields=["artist_id"],
        update_fields=["name", "genres", "fetched_at"],
        batch_size=_QUERY_CHUNK,
    )

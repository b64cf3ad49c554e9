"""Snapshot → warehouse rows, with pandas.

One row per distinct track of the playlist (the warehouse key is playlist ×
track); a track present several times keeps its first position and counts its
`occurrences`. Local files are rows keyed by their `spotify:local:` URI.
Episodes and unavailable items are not rows: they are counted by reason, so
nothing disappears without a trace.
"""

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from ingestion.snapshot import ItemKind, PlaylistSnapshot

ROW_KINDS = (ItemKind.TRACK, ItemKind.LOCAL)

# Columns of a transformed frame, in the order the loader wants them. The
# loader adds the bookkeeping columns (seen/removed/loaded timestamps).
ROW_COLUMNS = (
    "playlist_id",
    "track_id",
    "track_name",
    "track_duration_ms",
    "track_duration_sec",
    "track_popularity",
    "track_genres",
    "track_isrc",
    "track_explicit",
    "album_id",
    "album_name",
    "album_release_date",
    "album_release_date_precision",
    "release_year",
    "artist_ids",
    "artist_names",
    "position",
    "occurrences",
    "added_at",
    "added_by",
    "is_local",
    "source",
)


@dataclass
class TransformResult:
    rows: pd.DataFrame
    items_total: int
    # reason -> count of items that did not become rows
    items_skipped: dict[str, int] = field(default_factory=dict)
    # rows whose artists have no known genre (for an honest genre chart)
    rows_without_genres: int = 0


def transform_snapshot(snapshot: PlaylistSnapshot) -> TransformResult:
    skipped = Counter(item.kind.value for item in snapshot.items if item.kind not in ROW_KINDS)
    items = pd.DataFrame(
        [_item_record(item) for item in snapshot.items if item.kind in ROW_KINDS],
        columns=_ITEM_RECORD_COLUMNS,
    )
    rows = _one_row_per_track(items)
    rows["playlist_id"] = snapshot.playlist_id
    rows["source"] = snapshot.source
    rows["release_year"] = release_years(rows["album_release_date"])
    rows["track_duration_sec"] = (rows["track_duration_ms"] / 1000).round(3)
    rows["track_genres"] = [
        _genre_union(artist_ids, snapshot.artist_genres) for artist_ids in rows["artist_ids"]
    ]
    rows = rows.sort_values("position", kind="stable").reset_index(drop=True)
    return TransformResult(
        rows=rows.loc[:, list(ROW_COLUMNS)],
        items_total=len(snapshot.items),
        items_skipped=dict(sorted(skipped.items())),
        rows_without_genres=int(sum(1 for genres in rows["track_genres"] if not genres)),
    )


_ITEM_RECORD_COLUMNS = (
    "track_id",
    "track_name",
    "track_duration_ms",
    "track_popularity",
    "track_isrc",
    "track_explicit",
    "album_id",
    "album_name",
    "album_release_date",
    "album_release_date_precision",
    "artist_ids",
    "artist_names",
    "position",
    "added_at",
    "added_by",
    "is_local",
)


def _item_record(item):
    track = item.track
    return (
        track.id or track.uri,
        track.name,
        track.duration_ms,
        track.popularity,
        track.isrc,
        track.explicit,
        track.album_id,
        track.album_name,
        track.album_release_date,
        track.album_release_date_precision,
        [artist.id for artist in track.artists if artist.id],
        [artist.name for artist in track.artists],
        item.position,
        item.added_at,
        item.added_by,
        item.kind is ItemKind.LOCAL,
    )


def _one_row_per_track(items):
    """Collapse repeated tracks onto their first position, counting occurrences."""
    items = items.sort_values("position", kind="stable")
    occurrences = items.groupby("track_id", sort=False).size().rename("occurrences")
    firsts = items.drop_duplicates("track_id", keep="first").set_index("track_id")
    rows = firsts.join(occurrences).reset_index()
    # Nullable integer columns stay integers (not floats) when values are missing.
    for column in ("track_duration_ms", "track_popularity", "position", "occurrences"):
        rows[column] = rows[column].astype("Int64")
    rows["track_explicit"] = rows["track_explicit"].astype("boolean")
    return rows


def release_years(release_dates: pd.Series) -> pd.Series:
    """The year of Spotify release dates of any precision ("1987", "1987-05",
    "1987-05-12"); missing for absent dates and the "0000" Spotify uses for unknown."""
    years = pd.to_numeric(release_dates.astype("string").str[:4], errors="coerce")
    return years.where(years > 0).astype("Int64")


def _genre_union(artist_ids, artist_genres):
    """Genres of all the track's artists, deduplicated, primary artist's first."""
    genres = []
    for artist_id in artist_ids:
        for genre in artist_genres.get(artist_id) or ():
            if genre not in genres:
                genres.append(genre)
    return genres

"""Snapshot → warehouse rows, with pandas.

One row per distinct track of the playlist (the warehouse key is playlist ×
track); a track present several times keeps its first position and counts its
`occurrences`. Local files are rows keyed by their `spotify:local:` URI.
Episodes and unavailable items are not rows: they are counted by reason, so
nothing disappears without a trace.
"""

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import orjson
import pandas as pd

from ingestion.snapshot import ItemKind, PlaylistSnapshot
from warehouse.schema import AUDIO_FEATURE_NAMES

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
    "album_label",
    *AUDIO_FEATURE_NAMES,
)
# Whole-number columns, kept integers (not floats) when values are missing.
INTEGER_COLUMNS = (
    "track_duration_ms",
    "track_popularity",
    "position",
    "occurrences",
    "audio_key",
    "audio_mode",
    "audio_time_signature",
)
_NO_AUDIO = (None,) * len(AUDIO_FEATURE_NAMES)


@dataclass
class TransformResult:
    rows: pd.DataFrame
    items_total: int
    # reason -> count of items that did not become rows
    items_skipped: dict[str, int] = field(default_factory=dict)
    # rows whose artists have no known genre (for an honest genre chart)
    rows_without_genres: int = 0


# Control characters (C0, U+0000–U+001F) other than tab and newline are stripped
# from every text of a snapshot, here and nowhere else, before it is transformed,
# loaded or named in a run: NUL cannot be stored in PostgreSQL text or jsonb at
# all (and broke its COPY), SQLite would keep it, and none of them is ever meant
# as part of a name. Stripped rather than refused: a stray one should not cost
# anyone their import, and the rest of the name is intact.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")
# In orjson's output each of them is an escape (\b, \f, \r or \u00XX) after an
# even run of backslashes; tab and newline are written \t and \n.
_ESCAPED_CONTROL = re.compile(rb"(?<!\\)(?:\\\\)*\\(?:[bfr]|u00[01])")


def without_control_characters(snapshot: PlaylistSnapshot) -> PlaylistSnapshot:
    """The snapshot with control characters stripped from its texts (see
    _CONTROL); the snapshot itself when it has none (one fast serialization
    tells, instead of visiting every string)."""
    serialized = orjson.dumps(snapshot, default=str)
    # Every escape starts with a backslash: most snapshots have none, and the
    # regular expression costs a tenth of an MPD slice's import.
    if b"\\" not in serialized or not _ESCAPED_CONTROL.search(serialized):
        return snapshot
    return _stripped(snapshot)


def _stripped(value):
    if isinstance(value, Enum):
        return value  # ItemKind is a str, and compared by identity
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if dataclasses.is_dataclass(value):
        changes = {f.name: _stripped(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    if isinstance(value, list | tuple):
        return type(value)(_stripped(element) for element in value)
    if isinstance(value, dict):
        return {_stripped(key): _stripped(element) for key, element in value.items()}
    return value


def transform_snapshot(snapshot: PlaylistSnapshot) -> TransformResult:
    """One playlist's rows. See `transform_snapshots` for many at once."""
    items = pd.DataFrame(
        [_item_record(item) for item in snapshot.items if item.kind in ROW_KINDS],
        columns=_ITEM_RECORD_COLUMNS,
    )
    rows = _one_row_per_track(items)
    rows["playlist_id"] = snapshot.playlist_id
    rows["source"] = snapshot.source
    rows["release_year"] = release_years(rows["album_release_date"])
    rows["track_duration_sec"] = duration_seconds(rows["track_duration_ms"])
    rows["track_genres"] = [
        track_genres(own, artist_ids, snapshot.artist_genres)
        for own, artist_ids in zip(rows[_OWN_GENRES], rows["artist_ids"], strict=True)
    ]
    rows = rows.sort_values("position", kind="stable").reset_index(drop=True)
    return TransformResult(
        rows=rows.loc[:, list(ROW_COLUMNS)],
        items_total=len(snapshot.items),
        items_skipped=_skipped(snapshot),
        rows_without_genres=int(sum(1 for genres in rows["track_genres"] if not genres)),
    )


def transform_snapshots(snapshots: list[PlaylistSnapshot]) -> list[TransformResult]:
    """`transform_snapshot` of each snapshot, in one pandas pass over all their items.

    Bulk imports (an MPD slice is 1,000 playlists of ~65 tracks) spend most of a
    per-playlist transform in pandas' fixed cost per DataFrame operation, not in
    the rows: 8–11 ms a playlist, against ~0.7 ms each here (MPD slices). Same rows and counts
    as `transform_snapshot`; a playlist's frame may differ only in dtype where
    pandas infers one from the values (e.g. `added_at` all missing is NaT here
    when other playlists of the batch have dates, None there).
    """
    if not snapshots:
        return []
    records = [
        (*_item_record(item), group)
        for group, snapshot in enumerate(snapshots)
        for item in snapshot.items
        if item.kind in ROW_KINDS
    ]
    items = pd.DataFrame(records, columns=(*_ITEM_RECORD_COLUMNS, _GROUP))
    rows = _one_row_per_track_of_each(items)
    groups = rows[_GROUP].to_numpy(dtype=np.int64)
    # Python ints index lists several times faster than numpy's.
    group_list = groups.tolist()
    rows["playlist_id"] = [snapshots[group].playlist_id for group in group_list]
    rows["source"] = [snapshots[group].source for group in group_list]
    rows["release_year"] = release_years(rows["album_release_date"])
    rows["track_duration_sec"] = duration_seconds(rows["track_duration_ms"])
    genres = [snapshot.artist_genres for snapshot in snapshots]
    rows["track_genres"] = [
        track_genres(own, artist_ids, genres[group])
        for group, own, artist_ids in zip(
            group_list, rows[_OWN_GENRES], rows["artist_ids"], strict=True
        )
    ]
    without = np.array([not genres for genres in rows["track_genres"]], dtype=bool)
    rows_without_genres = np.bincount(groups[without], minlength=len(snapshots))
    # Rows are ordered by (group, position): each playlist's rows are one slice.
    bounds = np.searchsorted(groups, np.arange(len(snapshots) + 1))
    rows = rows.loc[:, list(ROW_COLUMNS)]
    return [
        TransformResult(
            rows=_renumbered(rows.iloc[bounds[group] : bounds[group + 1]]),
            items_total=len(snapshot.items),
            items_skipped=_skipped(snapshot),
            rows_without_genres=int(rows_without_genres[group]),
        )
        for group, snapshot in enumerate(snapshots)
    ]


def _renumbered(frame):
    """The frame indexed 0…n-1, as `transform_snapshot`'s. Setting the index of the
    slice avoids `reset_index`'s copy of every column (half of a slice's transform)."""
    frame.index = pd.RangeIndex(len(frame))
    return frame


# The batch transform's column numbering each item's snapshot (0, 1, …).
_GROUP = "_group"


def _skipped(snapshot):
    """Items that are not rows, counted by kind."""
    skipped = Counter(item.kind.value for item in snapshot.items if item.kind not in ROW_KINDS)
    return dict(sorted(skipped.items()))


def _one_row_per_track_of_each(items):
    """`_one_row_per_track` within each group, ordered by group then position."""
    # A stable sort on both keys keeps the items' order among equal positions, as
    # the per-playlist sort does.
    items = items.sort_values([_GROUP, "position"], kind="stable")
    key = [_GROUP, "track_id"]
    occurrences = items.groupby(key, sort=False)["position"].transform("size")
    firsts = ~items.duplicated(key, keep="first")
    rows = items[firsts].assign(occurrences=occurrences[firsts]).reset_index(drop=True)
    for column in INTEGER_COLUMNS:
        rows[column] = rows[column].astype("Int64")
    rows["track_explicit"] = rows["track_explicit"].astype("boolean")
    return rows


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
    "_own_genres",
    "album_label",
    *AUDIO_FEATURE_NAMES,
)
# The track's own genres (Track.genres), until they become `track_genres`.
_OWN_GENRES = "_own_genres"


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
        track.genres,
        track.label,
        *(track.audio or _NO_AUDIO),
    )


def _one_row_per_track(items):
    """Collapse repeated tracks onto their first position, counting occurrences."""
    items = items.sort_values("position", kind="stable")
    occurrences = items.groupby("track_id", sort=False).size().rename("occurrences")
    firsts = items.drop_duplicates("track_id", keep="first").set_index("track_id")
    rows = firsts.join(occurrences).reset_index()
    # Nullable integer columns stay integers (not floats) when values are missing.
    for column in INTEGER_COLUMNS:
        rows[column] = rows[column].astype("Int64")
    rows["track_explicit"] = rows["track_explicit"].astype("boolean")
    return rows


def release_years(release_dates: pd.Series) -> pd.Series:
    """The year of Spotify release dates of any precision ("1987", "1987-05",
    "1987-05-12"); missing for absent dates and the "0000" Spotify uses for unknown."""
    years = pd.to_numeric(release_dates.astype("string").str[:4], errors="coerce")
    return years.where(years > 0).astype("Int64")


def duration_seconds(durations_ms: pd.Series) -> pd.Series:
    """Durations in milliseconds as seconds, to the millisecond."""
    return (durations_ms / 1000).round(3)


def track_genres(own, artist_ids, artist_genres):
    """A track's genres: its own when the source gives them (a file's row says
    what its track's genres are), else the union of its artists'."""
    if own is not None and not (isinstance(own, float) and np.isnan(own)):
        return list(dict.fromkeys(own))
    return genre_union(artist_ids, artist_genres) if artist_genres else []


def genre_union(artist_ids, artist_genres):
    """Genres of all the track's artists, deduplicated, primary artist's first."""
    genres = []
    for artist_id in artist_ids:
        for genre in artist_genres.get(artist_id) or ():
            if genre not in genres:
                genres.append(genre)
    return genres

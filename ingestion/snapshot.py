"""The normalized playlist snapshot every source produces and the transform reads.

Plain dataclasses with no behaviour: a source (the Spotify API, an export file)
fills them; `ingestion.transform` turns them into warehouse rows.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ItemKind(StrEnum):
    TRACK = "track"
    LOCAL = "local"  # a local file: a row, keyed by its spotify:local: URI
    EPISODE = "episode"  # skipped: podcasts are not music analytics
    AUDIOBOOK = "audiobook"  # skipped, like episodes (export files have them)
    UNAVAILABLE = "unavailable"  # skipped: Spotify sent no item (removed content)


@dataclass(frozen=True, slots=True)
class ArtistRef:
    id: str | None  # None for local files
    name: str


@dataclass(frozen=True, slots=True)
class Track:
    id: str | None  # None for local files
    uri: str
    name: str
    duration_ms: int | None = None
    explicit: bool | None = None
    isrc: str | None = None
    popularity: int | None = None
    album_id: str | None = None
    album_name: str | None = None
    album_release_date: str | None = None
    album_release_date_precision: str | None = None
    artists: tuple[ArtistRef, ...] = ()
    # Genres the source gives for this track itself (an Exportify row's): they
    # win over its artists' (None: the source gives none per track).
    genres: tuple[str, ...] | None = None
    # From Exportify files: the album's record label, and the audio features in
    # the order of warehouse.schema.AUDIO_FEATURE_NAMES (None: the file has none).
    label: str | None = None
    audio: tuple[float | int | None, ...] | None = None


@dataclass(frozen=True, slots=True)
class PlaylistItem:
    position: int
    kind: ItemKind
    track: Track | None = None
    added_at: datetime | None = None
    added_by: str | None = None


@dataclass
class PlaylistSnapshot:
    playlist_id: str
    name: str
    source: str
    snapshot_id: str = ""
    description: str = ""
    owner_id: str = ""
    owner_name: str = ""
    image_url: str = ""
    public: bool | None = None
    collaborative: bool = False
    total_items: int = 0
    items: list[PlaylistItem] = field(default_factory=list)
    # artist id -> genres ([] = none listed, None = unknown), for artists of the items.
    artist_genres: dict[str, list[str] | None] = field(default_factory=dict)
    # Artists the source names but could not describe (e.g. Spotify answered 404).
    artists_not_found: int = 0
    # A library's other lists (saved albums, shows, …), kind → count: counted, not rows.
    library: dict[str, int] = field(default_factory=dict)

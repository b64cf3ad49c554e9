"""The sandbox's playlists as they change: items, snapshot ids, metadata, follows."""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import threading
from datetime import UTC, datetime

from .catalog import BASE62, Catalog, Playlist, PlaylistItem


class PlaylistState:
    """One playlist now: the catalog's playlist plus the edits made since (items, metadata)."""

    __slots__ = ("meta", "items", "snapshot_id", "name", "description", "public", "days_aged")

    def __init__(self, meta: Playlist, snapshot_id: str):
        self.meta = meta
        self.items: list[PlaylistItem] = list(meta.items)
        self.snapshot_id = snapshot_id
        self.name = meta.name
        self.description = meta.description
        self.public = meta.public
        self.days_aged = 0  # daily edits applied by `age_playlist`


def initial_snapshot(playlist_id: str) -> str:
    digest = hashlib.sha256(f"snapshot:{playlist_id}:0".encode()).digest()
    return "AAAA" + base64.b64encode(digest[:21]).decode("ascii").rstrip("=")


def bare_id(value: str, kind: str) -> str:
    """Accept ``id``, ``spotify:KIND:id`` or ``https://open.spotify.com/KIND/id``."""
    prefix = f"spotify:{kind}:"
    if value.startswith(prefix):
        return value[len(prefix) :]
    marker = f"open.spotify.com/{kind}/"
    if marker in value:
        return value.split(marker, 1)[1].split("?", 1)[0]
    return value


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PlaylistEdits:
    """Playlist edits of ``SandboxState`` (a mixin: it owns ``lock``, ``catalog``,
    ``playlists``, ``follows`` and ``_snapshot_counter``, and resets them)."""

    lock: threading.RLock
    catalog: Catalog
    playlists: dict[str, PlaylistState]
    follows: dict[str, list[str]]
    _snapshot_counter: int

    def _playlist(self, playlist_id: str) -> PlaylistState:
        try:
            return self.playlists[bare_id(playlist_id, "playlist")]
        except KeyError:
            raise KeyError(f"unknown playlist {playlist_id!r}") from None

    def _new_snapshot(self, pl: PlaylistState) -> None:
        self._snapshot_counter += 1
        raw = f"{pl.meta.id}:{self._snapshot_counter}:{secrets.token_hex(8)}".encode()
        digest = hashlib.sha256(raw).digest()
        pl.snapshot_id = "AAAA" + base64.b64encode(digest[:21]).decode("ascii").rstrip("=")

    def snapshot_id(self, playlist_id: str) -> str:
        with self.lock:
            return self._playlist(playlist_id).snapshot_id

    def playlist_items(self, playlist_id: str) -> list[PlaylistItem]:
        with self.lock:
            return list(self._playlist(playlist_id).items)

    def remove_items(self, playlist_id: str, positions_or_track_ids) -> str:
        """Remove items by position (int, current order) and/or by track id/URI (str; every
        occurrence, like Spotify's remove-by-URI). Returns the new snapshot_id."""
        with self.lock:
            pl = self._playlist(playlist_id)
            positions = {p for p in positions_or_track_ids if isinstance(p, int)}
            ids = {bare_id(t, "track") for t in positions_or_track_ids if isinstance(t, str)}
            for p in positions:
                if not 0 <= p < len(pl.items):
                    raise IndexError(f"position {p} out of range for {len(pl.items)} items")
            pl.items = [
                it
                for pos, it in enumerate(pl.items)
                if pos not in positions and not (it.kind == "track" and it.ref in ids)
            ]
            self._new_snapshot(pl)
            return pl.snapshot_id

    def add_tracks(
        self,
        playlist_id: str,
        track_ids,
        position: int | None = None,
        added_by: str | None = None,
        added_at: str | None = None,
    ) -> str:
        """Append (or insert at ``position``) tracks by id/URI. Returns the new snapshot_id."""
        with self.lock:
            pl = self._playlist(playlist_id)
            new = []
            for t in track_ids:
                tid = bare_id(t, "track")
                if tid not in self.catalog.tracks:
                    raise KeyError(f"unknown track {t!r}")
                new.append(
                    PlaylistItem("track", tid, added_at or _now_iso(), added_by or pl.meta.owner_id)
                )
            if position is None:
                pl.items.extend(new)
            else:
                pl.items[position:position] = new
            self._new_snapshot(pl)
            return pl.snapshot_id

    def age_playlist(self, playlist_id: str, days: int = 1) -> list[dict]:
        """Apply `days` daily edits, the same for a playlist's Nth day whatever ran
        before: about 1% of the items (at least one) removed, as many catalog tracks
        added at seeded places, one item moved, and a rename every 7th day. Each day
        is a new snapshot; what each day did is returned (for tests and the demo)."""
        with self.lock:
            pl = self._playlist(playlist_id)
            return [self._age_one_day(pl) for _ in range(days)]

    def _age_one_day(self, pl: PlaylistState) -> dict:
        pl.days_aged += 1
        day = pl.days_aged
        rng = random.Random(f"age:{pl.meta.id}:{day}")
        changes = max(1, len(pl.items) // 100)
        removed = sorted(rng.sample(range(len(pl.items)), min(changes, len(pl.items))))
        for position in reversed(removed):
            del pl.items[position]
        present = {item.ref for item in pl.items}
        spare = sorted(track_id for track_id in self.catalog.tracks if track_id not in present)
        added = rng.sample(spare, min(changes, len(spare)))
        stamp = datetime(2026, 1, 1, tzinfo=UTC).replace(day=1 + day % 28)
        for track_id in added:
            item = PlaylistItem(
                "track", track_id, stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), pl.meta.owner_id
            )
            pl.items.insert(rng.randrange(len(pl.items) + 1), item)
        moved = None
        if len(pl.items) > 2:
            source = rng.randrange(len(pl.items))
            item = pl.items.pop(source)
            target = rng.choice([p for p in range(len(pl.items) + 1) if p != source])
            pl.items.insert(target, item)
            moved = {"track_id": item.ref, "from": source, "to": target}
        if day % 7 == 0:
            pl.name = f"{pl.meta.name} (week {day // 7})"
        self._new_snapshot(pl)
        return {
            "day": day,
            "snapshot_id": pl.snapshot_id,
            "removed_positions": removed,
            "added": added,
            "moved": moved,
            "name": pl.name,
        }

    def create_playlist(self, owner_id: str, name: str, track_ids, *, public: bool = True) -> str:
        """A new playlist of catalog tracks (for tests and benchmarks that need many);
        returns its id. `reset()` removes it again."""
        with self.lock:
            if owner_id not in self.catalog.users:
                raise ValueError(f"unknown sandbox user {owner_id!r}")
            playlist_id = "".join(secrets.choice(BASE62) for _ in range(22))
            meta = Playlist(
                id=playlist_id, name=name, description=None, owner_id=owner_id, public=public,
                collaborative=False, collaborators=(), items=(),
            )  # fmt: skip
            self.playlists[playlist_id] = PlaylistState(meta, initial_snapshot(playlist_id))
        self.add_tracks(playlist_id, track_ids)
        return playlist_id

    def update_playlist(
        self,
        playlist_id: str,
        *,
        name=None,
        description=None,
        public=None,
        change_snapshot: bool = False,
    ) -> str:
        """Metadata-only edit (whether Spotify changes snapshot_id then is unconfirmed)."""
        with self.lock:
            pl = self._playlist(playlist_id)
            if name is not None:
                pl.name = name
            if description is not None:
                pl.description = description
            if public is not None:
                pl.public = bool(public)
            if change_snapshot:
                self._new_snapshot(pl)
            return pl.snapshot_id

    def follow_playlist(self, user_id: str, playlist_id: str) -> None:
        with self.lock:
            pid = self._playlist(playlist_id).meta.id
            lst = self.follows.setdefault(user_id, [])
            if pid not in lst:
                lst.append(pid)

    def unfollow_playlist(self, user_id: str, playlist_id: str) -> None:
        with self.lock:
            pid = bare_id(playlist_id, "playlist")
            lst = self.follows.get(user_id, [])
            if pid in lst:
                lst.remove(pid)

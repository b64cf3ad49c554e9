"""Read-only admin for the warehouse: it is written only by ingestion."""

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, F, Model, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from warehouse.models import (
    Artist,
    DeferredIndex,
    Playlist,
    PlaylistTrack,
    PlaylistTrackRow,
    PlaylistVersion,
    Track,
)
from warehouse.schema import TABLE

# How many track rows a playlist's admin page lists (in playlist order).
TRACKS_SHOWN = 100


class ReadOnlyAdmin(admin.ModelAdmin):
    # Large tables: no COUNT(*) of the whole table on every changelist page.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Playlist)
class PlaylistAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "playlist_id",
        "owner_name",
        "source",
        "present_tracks",
        "total_items",
        "last_ingested_at",
    )
    list_filter = ("source", "collaborative", "public")
    search_fields = ("name", "playlist_id", "owner_id", "owner_name")
    date_hierarchy = "last_ingested_at"
    readonly_fields = ("tracks",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Playlist]:
        # One aggregate per page instead of a count query per row. The fact
        # table has no foreign key (it is unmanaged), so count with a subquery.
        present = (
            PlaylistTrack.objects.filter(playlist_id=OuterRef("pk"), removed_at__isnull=True)
            .values("playlist_id")
            .annotate(n=Count("*"))
            .values("n")
        )
        playlists: QuerySet[Playlist] = super().get_queryset(request)
        return playlists.annotate(present_count=Subquery(present))

    @admin.display(description="tracks present", ordering="present_count")
    def present_tracks(self, playlist: Playlist) -> int:
        count: int | None = getattr(playlist, "present_count", None)  # from get_queryset
        return count or 0

    @admin.display(description=f"tracks (first {TRACKS_SHOWN}, removed ones marked)")
    def tracks(self, playlist: Playlist) -> SafeString:
        rows = PlaylistTrack.objects.filter(playlist_id=playlist.pk).order_by(
            F("removed_at").asc(nulls_first=True), "position"
        )[:TRACKS_SHOWN]
        return format_html_join(
            "\n",
            "<div>{}. {} — {} ({}){}</div>",
            (
                (
                    # Present rows come first, in order; `position` is an order key.
                    "–" if row.removed_at else rank,
                    row.track_name,
                    ", ".join(row.artist_names),
                    row.release_year or "year unknown",
                    " [removed]" if row.removed_at else "",
                )
                for rank, row in enumerate(rows, start=1)
            ),
        )


@admin.register(Artist)
class ArtistAdmin(ReadOnlyAdmin):
    list_display = ("name", "artist_id", "genre_list", "fetched_at")
    search_fields = ("name", "artist_id")
    date_hierarchy = "fetched_at"

    @admin.display(description="genres")
    def genre_list(self, artist: Artist) -> str:
        if artist.genres is None:
            return "unknown"
        return ", ".join(artist.genres) or "none listed"


@admin.register(Track)
class TrackAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "track_id",
        "artist_list",
        "album_name",
        "album_release_date",
        "found",
        "fetched_at",
    )
    list_filter = ("found",)
    search_fields = ("name", "track_id", "isrc", "album_name")
    date_hierarchy = "fetched_at"

    @admin.display(description="artists")
    def artist_list(self, track: Track) -> str:
        return ", ".join(name for _, name in track.artists)


class EstimatedCountPaginator(Paginator):
    """Pages without COUNT(*) over the whole fact table (millions of rows).

    Unfiltered on PostgreSQL, the planner's row estimate stands in for the
    count; filtered or on SQLite, the real count is taken (a filter narrows it).
    """

    @property
    def count(self) -> int:
        if connection.vendor == "postgresql" and self._unfiltered():
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [TABLE])
                row = cursor.fetchone()
            if row and row[0] > 0:
                return int(row[0])
        return super().count

    def _unfiltered(self) -> bool:
        query = getattr(self.object_list, "query", None)  # a QuerySet's SQL
        return query is not None and not query.where


class RemovedFilter(admin.SimpleListFilter):
    title = "in the playlist"
    parameter_name = "present"

    def lookups(
        self, request: HttpRequest, model_admin: "admin.ModelAdmin[Any]"
    ) -> tuple[tuple[str, str], ...]:
        return (("yes", "present"), ("no", "removed"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(removed_at__isnull=self.value() == "yes")
        return queryset


@admin.register(PlaylistTrackRow)
class PlaylistTrackRowAdmin(ReadOnlyAdmin):
    list_display = (
        "track_name",
        "artists",
        "album_name",
        "release_year",
        "playlist_id",
        "order_key",
        "occurrences",
        "is_local",
        "removed_at",
        "source",
    )
    # Rows only: there is nothing to see on a row's own page that the list lacks.
    list_display_links = None
    list_filter = (RemovedFilter, "source", "is_local", "track_explicit")
    # Exact playlist id first: that one is served by the primary key's index.
    search_fields = ("=playlist_id", "track_name", "album_name")
    search_help_text = "A playlist id (exact), or words of a track or album name."
    paginator = EstimatedCountPaginator
    ordering = ("playlist_id", "position")

    @admin.display(description="order key", ordering="position")
    def order_key(self, row: PlaylistTrackRow) -> int:
        """`position`: sorts the playlist, is not its 0-based rank (see warehouse.history)."""
        return row.position

    @admin.display(description="artists")
    def artists(self, row: PlaylistTrackRow) -> str:
        return ", ".join(row.artist_names)


@admin.register(PlaylistVersion)
class PlaylistVersionAdmin(ReadOnlyAdmin):
    """Every version of every playlist (written by the loader only)."""

    list_display = (
        "playlist",
        "version",
        "seen_at",
        "source",
        "snapshot_id",
        "name",
        "tracks",
        "added",
        "removed",
        "moved",
    )
    list_display_links = None
    list_filter = ("source",)
    list_select_related = ("playlist",)
    search_fields = ("=playlist__playlist_id", "name")
    search_help_text = "A playlist id (exact), or words of its name at that version."
    date_hierarchy = "seen_at"
    ordering = ("playlist_id", "-version")


@admin.register(DeferredIndex)
class DeferredIndexAdmin(ReadOnlyAdmin):
    """Indexes an import is loading without (warehouse.index_deferral). A row
    that stays after its import ended is one the reaper builds on its next round."""

    list_display = ("name", "table_name", "dropped_at")
    readonly_fields = ("name", "table_name", "definition", "dropped_at")

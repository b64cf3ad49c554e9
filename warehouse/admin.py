"""Read-only admin for the warehouse: it is written only by ingestion."""

from django.contrib import admin
from django.db.models import Count, F, OuterRef, Subquery
from django.utils.html import format_html_join

from warehouse.models import Artist, Playlist, PlaylistTrack

# How many track rows a playlist's admin page lists (in playlist order).
TRACKS_SHOWN = 100


class ReadOnlyAdmin(admin.ModelAdmin):
    # Large tables: no COUNT(*) of the whole table on every changelist page.
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
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

    def get_queryset(self, request):
        # One aggregate per page instead of a count query per row. The fact
        # table has no foreign key (it is unmanaged), so count with a subquery.
        present = (
            PlaylistTrack.objects.filter(playlist_id=OuterRef("pk"), removed_at__isnull=True)
            .values("playlist_id")
            .annotate(n=Count("*"))
            .values("n")
        )
        return super().get_queryset(request).annotate(present_count=Subquery(present))

    @admin.display(description="tracks present", ordering="present_count")
    def present_tracks(self, playlist):
        return playlist.present_count or 0

    @admin.display(description=f"tracks (first {TRACKS_SHOWN}, removed ones marked)")
    def tracks(self, playlist):
        rows = PlaylistTrack.objects.filter(playlist_id=playlist.pk).order_by(
            F("removed_at").asc(nulls_first=True), "position"
        )[:TRACKS_SHOWN]
        return format_html_join(
            "\n",
            "<div>{}. {} — {} ({}){}</div>",
            (
                (
                    row.position + 1,
                    row.track_name,
                    ", ".join(row.artist_names),
                    row.release_year or "year unknown",
                    " [removed]" if row.removed_at else "",
                )
                for row in rows
            ),
        )


@admin.register(Artist)
class ArtistAdmin(ReadOnlyAdmin):
    list_display = ("name", "artist_id", "genre_list", "fetched_at")
    search_fields = ("name", "artist_id")
    date_hierarchy = "fetched_at"

    @admin.display(description="genres")
    def genre_list(self, artist):
        if artist.genres is None:
            return "unknown"
        return ", ".join(artist.genres) or "none listed"

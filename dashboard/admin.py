from django.contrib import admin

from dashboard.models import UserPlaylist


@admin.register(UserPlaylist)
class UserPlaylistAdmin(admin.ModelAdmin):
    list_display = ["playlist_id", "user", "added_at"]
    list_filter = ["added_at"]
    search_fields = ["playlist_id", "user__username", "user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    date_hierarchy = "added_at"

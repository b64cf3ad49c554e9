"""Connected Spotify accounts in the admin: who is linked, and whether it still works.

Tokens are never shown (not even encrypted): the admin has no reason to see them.
"""

from django.contrib import admin

from accounts.models import SpotifyConnection, UserPlaylist


@admin.register(SpotifyConnection)
class SpotifyConnectionAdmin(admin.ModelAdmin):
    list_display = ("user", "label", "account_id", "status", "expires_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("user__username", "spotify_user_id", "display_name", "account_id")
    list_select_related = ("user",)
    fields = (
        "user",
        "account_id",
        "spotify_user_id",
        "display_name",
        "scope",
        "status",
        "status_message",
        "expires_at",
        "connected_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        # Connections are made by their owner through Spotify, never by hand.
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UserPlaylist)
class UserPlaylistAdmin(admin.ModelAdmin):
    list_display = ["playlist_id", "user", "access", "access_changed_at", "added_at"]
    list_filter = ["access", "added_at"]
    search_fields = ["playlist_id", "user__username", "user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    date_hierarchy = "added_at"
    # Access is decided by what the person's own reads and imports showed
    # (accounts.library), never by hand: granting here would bypass the rule.
    readonly_fields = ["access", "access_reason", "access_changed_at"]

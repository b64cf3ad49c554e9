"""Connected Spotify accounts in the admin: who is linked, and whether it still works.

Tokens are never shown (not even encrypted): the admin has no reason to see them.
"""

from django.contrib import admin, messages

from accounts.models import SpotifyConnection, UserPlaylist
from accounts.token_lifetime import operator_token_notice


def tell_about_operator_token(request):
    """Put the notice about SPOTIFY_REFRESH_TOKEN's lifetime on the admin page being shown."""
    notice = operator_token_notice()
    if notice is not None:
        level = messages.WARNING if notice.urgent else messages.INFO
        messages.add_message(request, level, notice.message)


@admin.register(SpotifyConnection)
class SpotifyConnectionAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "label",
        "account_id",
        "status",
        "authorized_at",
        "refresh_token_expires_at",
        "updated_at",
    )
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
        "authorized_at",
        "refresh_token_expires_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="Spotify ends it on")
    def refresh_token_expires_at(self, connection):
        return connection.refresh_token_expires_at

    def changelist_view(self, request, extra_context=None):
        tell_about_operator_token(request)
        return super().changelist_view(request, extra_context)

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

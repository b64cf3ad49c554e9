from django.contrib import admin
from django.urls import include, path

from dashboard.views import spotify_pick
from ingestion import observability

urlpatterns = [
    path("", include("dashboard.urls")),
    # Under the account's Spotify page, but a dashboard page: it adds playlists.
    path("accounts/spotify/playlists/", spotify_pick.playlists, name="spotify-playlists"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("healthz", observability.healthz, name="healthz"),
    path("metrics", observability.metrics, name="metrics"),
]

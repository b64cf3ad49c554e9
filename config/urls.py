from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from dashboard.views import spotify_pick
from ingestion import observability

urlpatterns = [
    path("", include("dashboard.urls")),
    # Under the account's Spotify page, but a dashboard page: it adds playlists.
    path("accounts/spotify/playlists/", spotify_pick.playlists, name="spotify-playlists"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page links: send them to the icon.
    path("favicon.ico", RedirectView.as_view(url=static("dashboard/favicon.svg"), permanent=True)),
    path("healthz", observability.healthz, name="healthz"),
    path("metrics", observability.metrics, name="metrics"),
]

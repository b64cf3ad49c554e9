from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from dashboard.views import spotify_pick
from ingestion import observability

static_lazy = lazy(static, str)

urlpatterns = [
    path("", include("dashboard.urls")),
    # Under the account's Spotify page, but a dashboard page: it adds playlists.
    path("accounts/spotify/playlists/", spotify_pick.playlists, name="spotify-playlists"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page links: send them to the icon. Its
    # URL is looked up per request: in production it names the collected file, whose
    # manifest need not exist when the URLs are imported (`manage.py check --deploy`).
    path(
        "favicon.ico",
        RedirectView.as_view(url=static_lazy("dashboard/favicon.svg"), permanent=True),
    ),
    path("healthz", observability.healthz, name="healthz"),
    path("metrics", observability.metrics, name="metrics"),
]

from django.urls import path

from dashboard.views import analytics, history, playlists, runs, uploads

app_name = "dashboard"

urlpatterns = [
    path("", playlists.home, name="home"),
    path("playlists/add/", playlists.add, name="add"),
    path("playlists/upload/", uploads.upload, name="upload"),
    path("playlists/<str:playlist_id>/", analytics.playlist_dashboard, name="playlist"),
    path("playlists/<str:playlist_id>/tracks/", analytics.track_table, name="tracks"),
    path("playlists/<str:playlist_id>/history/", history.history, name="history"),
    path("playlists/<str:playlist_id>/changes/", history.diff, name="diff"),
    path(
        "playlists/<str:playlist_id>/versions/<int:version>.json",
        history.version_json,
        name="version-json",
    ),
    path("playlists/<str:playlist_id>/remove/", playlists.remove, name="remove"),
    path("playlists/<str:playlist_id>/enrich/", playlists.enrich, name="enrich"),
    path("overview/", analytics.overview, name="overview"),
    path("runs/<int:run_id>/", runs.progress, name="run"),
    path("runs/<int:run_id>/status.json", runs.status_json, name="run-status"),
    path("runs/<int:run_id>/retry/", runs.retry, name="run-retry"),
]

from django.urls import path

from dashboard.views import across, analytics, downloads, history, playlists, runs, uploads

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
    path(
        "playlists/<str:playlist_id>/versions/<int:version>.csv",
        history.version_csv,
        name="version-csv",
    ),
    path(
        "playlists/<str:playlist_id>/versions/<int:version>.parquet",
        history.version_parquet,
        name="version-parquet",
    ),
    path(
        "playlists/<str:playlist_id>/download.<str:file_format>",
        downloads.playlist_download,
        name="download",
    ),
    path(
        "download/playlists.<str:file_format>", downloads.library_download, name="library-download"
    ),
    path("playlists/<str:playlist_id>/remove/", playlists.remove, name="remove"),
    path("playlists/<str:playlist_id>/restore/", playlists.restore, name="restore"),
    path("playlists/runs.json", playlists.runs_json, name="home-runs"),
    path("playlists/<str:playlist_id>/enrich/", playlists.enrich, name="enrich"),
    path("overview/", analytics.overview, name="overview"),
    path("library/", across.library, name="library"),
    path("library/tracks/", across.library_tracks, name="library-tracks"),
    path("duplicates/", across.duplicates, name="duplicates"),
    path("compare/", across.compare, name="compare"),
    path("compare/tracks/", across.compare_tracks, name="compare-tracks"),
    path("overlap/", across.overlap, name="overlap"),
    path("runs/<int:run_id>/", runs.progress, name="run"),
    path("runs/<int:run_id>/status.json", runs.status_json, name="run-status"),
    path("runs/<int:run_id>/retry/", runs.retry, name="run-retry"),
    path("runs/<int:run_id>/download/", downloads.export_file, name="run-download"),
]

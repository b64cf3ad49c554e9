import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import UserPlaylist
from devtools.sandbox import DEMO_PLAYLISTS, EDITORIAL_PLAYLIST_ID, MIXED_PLAYLIST_ID
from devtools.synthetic.exports import (
    EPISODE_ITEM,
    catalog_tracks,
    export_item,
    export_playlist,
    export_track_item,
    write_export_json,
)
from devtools.synthetic.mpd import generate_slices
from ingestion.models import IngestRun, Kind, RunStatus, Trigger
from warehouse import summaries
from warehouse.models import PlaylistTrack

pytestmark = pytest.mark.django_db


def run_ingest(*args):
    stdout, stderr = StringIO(), StringIO()
    error = None
    try:
        call_command("ingest", *args, stdout=stdout, stderr=stderr)
    except CommandError as raised:
        error = raised
    return stdout.getvalue(), stderr.getvalue(), error


def test_it_prints_progress_on_stderr_and_a_summary_on_stdout(sandbox):
    playlist_id = DEMO_PLAYLISTS[237]
    stdout, stderr, error = run_ingest(f"https://open.spotify.com/playlist/{playlist_id}?si=x")
    assert error is None
    assert "items: 237/237" in stderr
    assert "artists: " in stderr
    assert stdout.startswith("SUCCEEDED: ")
    assert (
        f"{PlaylistTrack.objects.filter(playlist_id=playlist_id).count()} tracks loaded" in stdout
    )
    assert "API calls" in stdout


def test_json_output_has_one_object_per_playlist(sandbox):
    stdout, stderr, error = run_ingest("--json", MIXED_PLAYLIST_ID, DEMO_PLAYLISTS[1])
    assert error is None
    results = [json.loads(line) for line in stdout.splitlines()]
    assert [result["playlist_id"] for result in results] == [MIXED_PLAYLIST_ID, DEMO_PLAYLISTS[1]]
    mixed = results[0]
    assert mixed["status"] in ("succeeded", "partial")
    assert (
        mixed["tracks_loaded"]
        == PlaylistTrack.objects.filter(playlist_id=MIXED_PLAYLIST_ID).count()
    )
    assert set(mixed["items_skipped"]) == {"episode", "unavailable"}
    assert mixed["api_calls"] > 1
    assert "error" in mixed
    # The version the run made: the first, with every track added.
    assert (mixed["history_version"], mixed["tracks_added"]) == (1, mixed["tracks_loaded"])
    assert (mixed["tracks_removed"], mixed["tracks_moved"]) == (0, 0)
    # The human summaries moved to stderr.
    assert "SUCCEEDED" in stderr or "PARTIAL" in stderr


def test_it_exits_non_zero_when_any_playlist_failed(sandbox):
    stdout, stderr, error = run_ingest(
        "--json", DEMO_PLAYLISTS[1], EDITORIAL_PLAYLIST_ID, "nonsense"
    )
    assert error is not None
    assert error.returncode == 1
    assert "2 of 3" in str(error)
    statuses = [json.loads(line)["status"] for line in stdout.splitlines()]
    assert statuses == ["succeeded", "failed", "failed"]
    failed = json.loads(stdout.splitlines()[2])
    assert failed["playlist_id"] is None
    assert "is not a Spotify playlist" in failed["error"]


def test_a_rate_limit_stops_the_command_from_asking_again(sandbox):
    sandbox.state.set_faults(rate_limit={"retry_after": 3600, "times": 1})
    stdout, stderr, error = run_ingest("--json", DEMO_PLAYLISTS[50], DEMO_PLAYLISTS[1])
    first, second = (json.loads(line) for line in stdout.splitlines())
    assert (first["status"], first["retry_after"]) == ("failed", 3600)
    assert "about 60 min" in first["error"]
    assert (second["status"], second["playlist_id"]) == ("failed", DEMO_PLAYLISTS[1])
    assert second["error"].startswith("Not attempted: Spotify rate-limited")
    assert sandbox.state.stats()["playlist"] == 1
    assert error.returncode == 1


def test_unchanged_playlists_say_so_and_force_reloads(sandbox):
    run_ingest(DEMO_PLAYLISTS[50])
    stdout, _, _ = run_ingest(DEMO_PLAYLISTS[50])
    assert stdout.startswith("UNCHANGED")
    assert "1 API calls" in stdout
    stdout, _, _ = run_ingest("--force", DEMO_PLAYLISTS[50])
    assert stdout.startswith("SUCCEEDED")
    assert "0 new, 0 updated, 50 unchanged" in stdout
    assert "history: no new version (nothing changed)" in stdout


def test_missing_credentials_stop_the_command_with_what_to_set(sandbox, settings):
    settings.SPOTIFY_CLIENT_ID = ""
    _, _, error = run_ingest(DEMO_PLAYLISTS[1])
    assert "SPOTIFY_CLIENT_ID" in str(error)


def test_it_imports_export_files_given_as_paths(tmp_path):
    path = write_export_json(
        tmp_path / "Playlist1.json",
        [
            export_playlist(
                "Road trip", [export_track_item(1), export_track_item(2), EPISODE_ITEM]
            ),
            export_playlist("Quiet", [export_track_item(3)]),
        ],
    )
    stdout, stderr, error = run_ingest("--json", str(path))
    assert error is None
    results = [json.loads(line) for line in stdout.splitlines()]
    assert [(r["name"], r["status"], r["tracks_loaded"]) for r in results] == [
        ("Road trip", "succeeded", 2),
        ("Quiet", "succeeded", 1),
    ]
    assert results[0]["items_skipped"] == {"episode": 1}
    assert results[0]["playlist_id"].startswith("export:")
    assert PlaylistTrack.objects.filter(source="spotify_export").count() == 3
    assert "Importing " in stderr


def test_a_bad_file_fails_with_its_reason_and_loads_nothing(tmp_path):
    path = tmp_path / "Playlist1.json"
    path.write_text('{"playlists": [', encoding="utf-8")
    stdout, stderr, error = run_ingest(str(path))
    assert error.returncode == 1
    assert stdout.startswith("FAILED")
    assert "line 1" in stdout
    assert not PlaylistTrack.objects.exists()


def test_each_path_is_recorded_as_a_file_run(tmp_path):
    good = write_export_json(
        tmp_path / "good" / "Playlist1.json",
        [export_playlist("A", [export_track_item(1)]), export_playlist("B", [])],
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("Name\nx\n", encoding="utf-8")
    _, _, error = run_ingest(str(good), str(bad))
    assert error.returncode == 1
    good_run, bad_run = IngestRun.objects.order_by("pk")
    assert (good_run.kind, good_run.trigger, good_run.status) == (
        Kind.FILE,
        Trigger.SHELL,
        RunStatus.SUCCEEDED,
    )
    assert good_run.reference == str(good.resolve())
    assert (good_run.playlists_done, good_run.playlists_total, good_run.tracks_loaded) == (2, 2, 1)
    assert [p["name"] for p in good_run.playlists] == ["A", "B"]
    assert bad_run.status == RunStatus.FAILED and "column" in bad_run.error
    # The user's own files are never deleted.
    assert good.exists() and bad.exists()


def test_a_folder_is_one_run_counting_its_files_and_refusing_the_bad_ones(tmp_path):
    write_export_json(tmp_path / "a" / "Playlist1.json", [export_playlist("A", [])])
    (tmp_path / "b.csv").write_text("Name\nx\n", encoding="utf-8")
    stdout, _, error = run_ingest(str(tmp_path))
    assert error.returncode == 1
    run = IngestRun.objects.get()
    assert (run.status, run.files_done, run.files_total, run.playlists_done) == (
        RunStatus.PARTIAL,
        2,
        2,
        1,
    )
    assert run.error.startswith("1 file(s) refused: ") and "b.csv" in run.error
    assert "SUCCEEDED: 'A'" in stdout and "FAILED" in stdout


def test_with_user_the_imported_playlists_join_the_users_list(tmp_path, alice):
    path = write_export_json(tmp_path / "Playlist1.json", [export_playlist("A", [])])
    _, _, error = run_ingest("--user", "alice", str(path))
    assert error is None
    run = IngestRun.objects.get()
    assert run.requested_by == alice
    (entry,) = UserPlaylist.objects.filter(user=alice)
    assert run.playlists[0]["playlist_id"] == entry.playlist_id


def test_queued_files_wait_for_the_cluster(tmp_path, django_capture_on_commit_callbacks):
    path = write_export_json(tmp_path / "Playlist1.json", [export_playlist("A", [])])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        stdout, _, error = run_ingest("--queue", str(path))
    run = IngestRun.objects.get()
    assert error is None and stdout.strip() == f"run {run.pk} queued: {path}"
    assert run.status == RunStatus.QUEUED and len(queued) == 1
    assert not PlaylistTrack.objects.exists()


def test_enrich_queues_an_enrichment_run_per_imported_playlist(
    sandbox, tmp_path, django_capture_on_commit_callbacks
):
    catalog = sandbox.catalog
    several, single, _ = catalog_tracks(catalog)
    path = write_export_json(
        tmp_path / "Playlist1.json",
        [
            export_playlist("Found", [export_item(catalog, several), export_item(catalog, single)]),
            export_playlist("Only an episode", [EPISODE_ITEM]),
        ],
    )
    with django_capture_on_commit_callbacks(execute=False) as queued:
        _, stderr, error = run_ingest("--enrich", str(path))
    assert error is None
    (enrichment,) = IngestRun.objects.filter(kind=Kind.ENRICH)
    assert f"run {enrichment.pk} queued: enrich Found" in stderr
    assert (enrichment.status, enrichment.trigger) == (RunStatus.QUEUED, Trigger.SHELL)
    assert len(queued) == 1
    queued[0]()  # the cluster's turn (the queue runs inline in tests)
    enrichment.refresh_from_db()
    assert (enrichment.status, enrichment.rows_updated) == (RunStatus.SUCCEEDED, 2)
    assert not PlaylistTrack.objects.filter(
        playlist_id=enrichment.playlist_id, track_duration_ms__isnull=True
    ).exists()


def test_a_folder_of_mpd_slices_from_the_shell_leaves_the_counts_folded(tmp_path, settings):
    settings.IMPORT_FOLD_EVERY_SLICES = 2
    generate_slices(tmp_path / "mpd", slices=3, playlists_per_slice=5, seed=9)
    _, _, error = run_ingest(str(tmp_path / "mpd"))
    assert error is None
    assert PlaylistTrack.objects.filter(source="mpd").exists()
    # Nothing left for the reaper: the reads are one index read each at once.
    assert summaries.pending()["loads"] == 0
    assert summaries.differences() == {}

"""File imports as runs: live counts over a folder, uploads deleted when done,
cancelling, and the reaper's retry of a run whose worker died."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import UserPlaylist
from devtools.synthetic.exports import export_playlist, export_track_item, write_export_json
from devtools.synthetic.mpd import generate_slices
from ingestion import runs
from ingestion.models import IngestRun, Kind, RunStatus, Trigger
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db


def file_run(path, **options):
    return runs.request_file_import(path, trigger=Trigger.SHELL, enqueue=False, **options)


def execute(run, **options):
    runs.execute_run(runs.claim_run(run.pk), **options)
    run.refresh_from_db()
    return run


def uploaded_export(tmp_path, *playlists):
    """An export saved the way the upload page saves one: alone in its own folder."""
    return write_export_json(tmp_path / "uploads" / "1" / "abc" / "Playlist1.json", playlists)


def test_a_folder_run_counts_playlists_over_all_its_files_as_it_goes(tmp_path, settings):
    settings.INGEST_HEARTBEAT_SECONDS = 0  # every progress report is written
    generate_slices(tmp_path, slices=3, playlists_per_slice=20, seed=5)
    run = file_run(tmp_path)
    seen = []

    def watch(step, done, total):
        if step == "playlists":
            row = IngestRun.objects.get(pk=run.pk)
            seen.append((row.files_done, row.playlists_done, row.playlists_total))

    run = execute(run, progress=watch)
    assert (run.status, run.kind) == (RunStatus.SUCCEEDED, Kind.FILE)
    assert (run.files_done, run.files_total) == (3, 3)
    assert (run.playlists_done, run.playlists_total) == (60, 60)
    assert len(run.playlists) == 60 == Playlist.objects.count()
    assert run.tracks_loaded == PlaylistTrack.objects.count()
    assert run.rows_inserted == run.tracks_loaded
    # What a watcher of the run saw, written before each slice's report ended.
    done_counts = [playlists_done for _, playlists_done, _ in seen]
    assert done_counts == sorted(done_counts)
    assert (1, 20, 20) in seen and (2, 40, 40) in seen


def test_a_file_run_lists_only_the_first_playlists_but_counts_them_all(tmp_path, monkeypatch):
    monkeypatch.setattr("ingestion.file_runs.FILE_RUN_PLAYLISTS_LISTED", 5)
    generate_slices(tmp_path, slices=1, playlists_per_slice=12, seed=2)
    run = execute(file_run(tmp_path))
    assert (len(run.playlists), run.playlists_done) == (5, 12)


def test_importing_the_same_file_again_is_an_unchanged_run(tmp_path):
    path = write_export_json(
        tmp_path / "Playlist1.json", [export_playlist("A", [export_track_item(1)])]
    )
    first = execute(file_run(path))
    again = execute(file_run(path))
    assert (first.status, first.rows_inserted) == (RunStatus.SUCCEEDED, 1)
    assert (again.status, again.rows_inserted, again.rows_updated) == (RunStatus.UNCHANGED, 0, 0)
    assert again.tracks_loaded == 1


def test_an_upload_is_deleted_once_its_run_is_over(tmp_path, alice):
    path = uploaded_export(tmp_path, export_playlist("A", [export_track_item(1)]))
    run = execute(file_run(path, user=alice, owner_key=str(alice.pk), upload=True))
    assert run.status == RunStatus.SUCCEEDED
    assert not path.parent.exists()
    assert UserPlaylist.objects.filter(user=alice, playlist_id=run.playlists[0]["playlist_id"])


def test_a_refused_upload_is_deleted_too(tmp_path, alice):
    path = uploaded_export(tmp_path)
    path.write_text('{"playlists": [', encoding="utf-8")
    run = execute(file_run(path, user=alice, upload=True))
    assert run.status == RunStatus.FAILED and "not valid JSON" in run.error
    assert not path.parent.exists()
    assert not UserPlaylist.objects.exists()


def test_cancelling_a_queued_upload_deletes_the_file_and_loads_nothing(tmp_path, alice):
    path = uploaded_export(tmp_path, export_playlist("A", [export_track_item(1)]))
    run = file_run(path, user=alice, upload=True)
    assert runs.cancel_run(run)
    assert not path.parent.exists()
    assert runs.claim_run(run.pk) is None
    assert not Playlist.objects.exists()


def test_a_cancelled_file_run_stops_at_its_next_heartbeat(tmp_path, settings):
    settings.INGEST_HEARTBEAT_SECONDS = 0
    generate_slices(tmp_path, slices=2, playlists_per_slice=10, seed=1)
    run = file_run(tmp_path)

    def cancel_after_the_first_file(step, done, total):
        if (step, done) == ("files", 1):
            runs.cancel_run(IngestRun.objects.get(pk=run.pk))

    assert runs.execute_run(runs.claim_run(run.pk), progress=cancel_after_the_first_file) is None
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    # The first slice was loaded (its own transaction); the second never started.
    assert Playlist.objects.count() == 10


def test_the_reaper_requeues_a_file_run_whose_worker_died_and_it_completes(tmp_path, settings):
    path = uploaded_export(tmp_path, export_playlist("A", [export_track_item(1)]))
    run = file_run(path, upload=True)
    runs.claim_run(run.pk)
    stale = timezone.now() - dt.timedelta(seconds=settings.INGEST_STALE_AFTER_SECONDS + 1)
    IngestRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
    assert runs.reap_stale_runs() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and path.exists()
    IngestRun.objects.filter(pk=run.pk).update(not_before=None)
    run = execute(run)
    assert (run.status, run.attempt, run.tracks_loaded) == (RunStatus.SUCCEEDED, 2, 1)


def test_file_runs_do_not_hold_the_one_active_run_per_playlist_slot(tmp_path):
    path = write_export_json(tmp_path / "Playlist1.json", [export_playlist("A", [])])
    first, second = file_run(path), file_run(path)
    assert first.pk != second.pk
    assert IngestRun.objects.active().count() == 2


def test_a_reaped_worker_that_wakes_up_leaves_the_upload_for_the_retry(tmp_path, settings):
    settings.INGEST_HEARTBEAT_SECONDS = 0
    path = uploaded_export(tmp_path, export_playlist("A", [export_track_item(1)]))
    run = file_run(path, upload=True)

    def reaped_meanwhile(step, done, total):
        if step == "files":
            stale = timezone.now() - dt.timedelta(seconds=settings.INGEST_STALE_AFTER_SECONDS + 1)
            IngestRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
            assert runs.reap_stale_runs() == 1

    assert runs.execute_run(runs.claim_run(run.pk), progress=reaped_meanwhile) is None
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and path.exists()


def test_an_upload_whose_run_the_reaper_fails_for_good_is_deleted(tmp_path, settings):
    settings.INGEST_MAX_ATTEMPTS = 1
    path = uploaded_export(tmp_path, export_playlist("A", []))
    run = file_run(path, upload=True)
    runs.claim_run(run.pk)
    stale = timezone.now() - dt.timedelta(seconds=settings.INGEST_STALE_AFTER_SECONDS + 1)
    IngestRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
    runs.reap_stale_runs()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "stopped responding" in run.error
    assert not path.parent.exists()


def test_a_folder_of_many_bad_files_names_a_few_and_counts_the_rest(tmp_path):
    for n in range(5):
        (tmp_path / f"bad{n}.csv").write_text("Name\nx\n", encoding="utf-8")
    run = execute(file_run(tmp_path))
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("5 file(s) refused: ") and run.error.endswith("… and 2 more.")
    assert run.error.count("is missing the column(s)") == 3

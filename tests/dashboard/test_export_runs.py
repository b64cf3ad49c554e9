"""Export runs: a library download written by the queue to a private file, with
progress, a download link for the person who asked, and an end (failure, cancel,
expiry) that leaves no file behind.

The runs' steps run here directly (claim_run, execute_run), or through the real
task inline (the test settings' sync queue); tests/ingestion/test_qcluster.py has
one through a real cluster."""

import csv
import io
import os
import stat
import zipfile
from datetime import timedelta

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import library
from devtools.synthetic.snapshots import TrackFactory
from ingestion import export_runs, runs, tasks
from ingestion.models import IngestRun, Kind, RunStatus, Step, Trigger
from warehouse.models import PlaylistTrack

pytestmark = pytest.mark.django_db

FORMATS = ("zip", "json", "parquet")


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    return settings.EXPORT_DIR


@pytest.fixture
def libraries(alice, bob, loaded_playlist):
    """Alice: two playlists (one of them with a repeat); bob: one of his own, on her
    list but not hers to see."""
    loaded_playlist(alice, track_list=[TrackFactory(name="Song A"), TrackFactory(name="Song B")],
                    name="Mix")  # fmt: skip
    loaded_playlist(alice, track_list=[TrackFactory(name="Song C")], name="<b>Mix</b>?")
    bobs = loaded_playlist(bob, track_list=[TrackFactory(name="Bob's song")], name="Bob's")
    library.add_to_list(alice, bobs.playlist_id)
    return bobs


def alices_rows(alice):
    return PlaylistTrack.objects.filter(
        playlist_id__in=library.visible_playlist_ids(alice), removed_at__isnull=True
    ).count()


def executed(run, **options):
    claimed = runs.claim_run(run.pk)
    assert claimed is not None
    runs.execute_run(claimed, **options)
    run.refresh_from_db()
    return run


def queued_export(user, file_format="zip"):
    run, created = runs.request_export(user, file_format, trigger=Trigger.WEB, enqueue=False)
    assert created
    return run


def file_text(content, file_format):
    """What the file holds, as text to look for names in."""
    if file_format == "zip":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "\n".join(
                name + "\n" + archive.read(name).decode() for name in archive.namelist()
            )
    if file_format == "parquet":
        return str(pq.read_table(pa.BufferReader(content)).to_pylist())
    return content.decode()


def files_in(folder):
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("file_format", FORMATS)
def test_an_export_run_writes_the_visible_library_to_a_private_file(
    alice, libraries, export_dir, file_format
):
    run = executed(queued_export(alice, file_format))

    assert (run.kind, run.status, run.step) == (Kind.EXPORT, RunStatus.SUCCEEDED, Step.WRITE)
    assert run.playlist_id == ""
    path = export_runs.export_file(run)
    assert path is not None and path.parent == export_dir
    assert files_in(export_dir) == [path.name]  # no .part left
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(export_dir.stat().st_mode) == 0o700
    text = file_text(path.read_bytes(), file_format)
    assert "Song A" in text and "Song B" in text and "Song C" in text
    assert "Bob's song" not in text and libraries.playlist_id not in text


def test_the_export_holds_what_the_streamed_library_download_holds(client, alice, libraries):
    """The same library, the same writer: the run's JSON is the streamed one's bytes."""
    run = executed(queued_export(alice, "json"))
    client.force_login(alice)
    streamed = client.get(reverse("dashboard:library-download", args=["json"]))

    written = export_runs.export_file(run).read_bytes()
    assert written == b"".join(streamed.streaming_content)
    assert sorted(p["name"] for p in orjson.loads(written)) == ["<b>Mix</b>?", "Mix"]


@pytest.mark.parametrize("file_format", FORMATS)
def test_progress_counts_playlists_and_rows_to_their_totals(alice, libraries, file_format):
    seen = []
    run = executed(queued_export(alice, file_format), progress=lambda *args: seen.append(args))

    rows = alices_rows(alice)
    assert rows == 3
    assert (run.playlists_done, run.playlists_total) == (2, 2)
    assert (run.items_fetched, run.items_total) == (rows, rows)
    assert run.tracks_loaded == rows
    row_counts = [done for step, done, total in seen if step == "export_rows"]
    playlist_counts = [done for step, done, total in seen if step == "export_playlists"]
    assert row_counts[0] == 0 and row_counts[-1] == rows
    assert row_counts == sorted(row_counts)
    assert playlist_counts[0] == 0 and playlist_counts[-1] == 2
    assert {total for step, _, total in seen if step == "export_playlists"} == {2}


def test_a_failure_while_writing_fails_the_run_and_leaves_no_file(alice, libraries, export_dir):
    def fail_after_the_first_rows(step, done, total):
        if step == "export_rows" and done > 0:
            raise RuntimeError("the disk went away")

    run = executed(queued_export(alice, "zip"), progress=fail_after_the_first_rows)

    assert run.status == RunStatus.FAILED
    assert "unexpected error" in run.error
    assert run.finished_at is not None
    assert files_in(export_dir) == []
    assert export_runs.export_file(run) is None


def test_a_folder_that_cannot_be_written_fails_the_run_with_the_reason(
    alice, libraries, settings, tmp_path
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.EXPORT_DIR = blocker / "exports"

    run = executed(queued_export(alice, "parquet"))

    assert run.status == RunStatus.FAILED
    assert "could not be written" in run.error
    assert run.attempt == 1  # not retried: the same folder fails the same way


def test_a_run_cancelled_while_writing_keeps_no_file(alice, libraries, export_dir):
    def cancel_midway(step, done, total):
        if step == "export_rows" and done > 0:
            runs.cancel_run(IngestRun.objects.get(kind=Kind.EXPORT))

    run = executed(queued_export(alice, "zip"), progress=cancel_midway)

    assert run.status == RunStatus.CANCELLED
    assert files_in(export_dir) == []


def test_a_run_whose_requester_is_gone_fails(alice, libraries, export_dir):
    run = queued_export(alice)
    IngestRun.objects.filter(pk=run.pk).update(requested_by=None)

    run = executed(run)

    assert run.status == RunStatus.FAILED
    assert "no longer has an account" in run.error
    assert files_in(export_dir) == []


def test_asking_again_while_an_export_is_active_returns_it(alice, bob, libraries):
    first = queued_export(alice, "zip")
    again, created = runs.request_export(alice, "zip", trigger=Trigger.WEB, enqueue=False)
    other_format, other_created = runs.request_export(
        alice, "json", trigger=Trigger.WEB, enqueue=False
    )
    bobs, bobs_created = runs.request_export(bob, "zip", trigger=Trigger.WEB, enqueue=False)

    assert (again.pk, created) == (first.pk, False)
    assert other_created and bobs_created
    assert len({first.pk, other_format.pk, bobs.pk}) == 3
    assert first.parameters["file"] != bobs.parameters["file"]


def test_try_again_exports_the_requesters_library(alice, staff, libraries):
    run = executed(queued_export(alice, "json"), progress=_fail)
    assert run.status == RunStatus.FAILED

    again, created = runs.request_again(run, user=staff)

    assert created
    assert (again.kind, again.requested_by, again.trigger) == (Kind.EXPORT, alice, Trigger.RETRY)
    assert again.parameters["format"] == "json"


def _fail(step, done, total):
    if step == "export_rows" and done:
        raise RuntimeError("failing on purpose")


def test_a_run_the_reaper_fails_for_good_keeps_no_file(alice, libraries, export_dir, settings):
    run = runs.claim_run(queued_export(alice).pk)
    export_dir.mkdir(parents=True)
    left = export_dir / (run.parameters["file"] + ".part")
    left.write_bytes(b"PK")  # its worker died while writing
    long_ago = timezone.now() - timedelta(hours=1)
    IngestRun.objects.filter(pk=run.pk).update(
        heartbeat_at=long_ago, attempt=settings.INGEST_MAX_ATTEMPTS
    )

    assert runs.reap_stale_runs() == 1

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert files_in(export_dir) == []


def test_a_reaped_run_is_retried_and_its_retry_writes_the_file(alice, libraries, export_dir):
    run = runs.claim_run(queued_export(alice).pk)
    IngestRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert runs.reap_stale_runs() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    IngestRun.objects.filter(pk=run.pk).update(not_before=None)  # its backoff, skipped

    run = executed(run)

    assert (run.status, run.attempt) == (RunStatus.SUCCEEDED, 2)
    assert files_in(export_dir) == [export_runs.export_file(run).name]


# --- retention --------------------------------------------------------------------
def test_files_are_kept_for_the_retention_period(alice, libraries, export_dir, settings):
    settings.EXPORT_RETENTION_HOURS = 24
    run = executed(queued_export(alice))

    assert "0 expired export files deleted" in tasks.reap_stale_runs()
    assert export_runs.export_file(run) is not None


def test_the_reaper_schedule_deletes_expired_files(client, alice, libraries, export_dir, settings):
    run = executed(queued_export(alice))
    path = export_runs.export_file(run)
    settings.EXPORT_RETENTION_HOURS = 0  # every finished file is past it

    assert "1 expired export files deleted" in tasks.reap_stale_runs()

    run.refresh_from_db()
    assert not path.exists() and run.parameters["expired"] is True
    assert files_in(export_dir) == []
    client.force_login(alice)
    page = client.get(reverse("dashboard:run", args=[run.pk])).content.decode()
    assert "The file has expired" in page
    assert reverse("dashboard:run-download", args=[run.pk]) not in page
    status = client.get(reverse("dashboard:run-status", args=[run.pk])).json()
    assert (status["expired"], status["download_url"]) == (True, None)
    assert client.get(reverse("dashboard:run-download", args=[run.pk])).status_code == 404
    # Deleting again finds nothing more.
    assert export_runs.delete_expired_exports() == 0


def test_leftovers_expire_but_a_file_being_written_does_not(alice, libraries, export_dir, settings):
    writing = queued_export(alice, "parquet")
    export_dir.mkdir(parents=True)
    being_written = export_dir / (writing.parameters["file"] + ".part")
    being_written.write_bytes(b"PAR1")
    leftover = export_dir / "a-dead-workers-file.zip.part"
    leftover.write_bytes(b"PK")
    settings.EXPORT_RETENTION_HOURS = 0

    assert export_runs.delete_expired_exports() == 1

    assert files_in(export_dir) == [being_written.name]


# --- the pages --------------------------------------------------------------------
def post_library_download(client, file_format):
    return client.post(reverse("dashboard:library-download", args=[file_format]))


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_big_library_is_queued_and_its_page_links_to_the_file(
    client, alice, libraries, settings, django_capture_on_commit_callbacks, file_format
):
    settings.EXPORT_QUEUE_ABOVE_ROWS = 2  # alice has 3 rows
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=True):  # the task runs inline
        response = post_library_download(client, file_format)

    run = IngestRun.objects.get(kind=Kind.EXPORT)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:run", args=[run.pk])
    assert (run.status, run.requested_by, run.trigger) == (RunStatus.SUCCEEDED, alice, Trigger.WEB)
    page = client.get(response["Location"])
    html = page.content.decode()
    download_url = reverse("dashboard:run-download", args=[run.pk])
    assert download_url in html
    assert "2 playlists (3 tracks) written" in html
    download = client.get(download_url)
    assert download.status_code == 200
    assert download["Content-Type"] == (
        {"zip": "application/zip", "json": "application/json"}.get(
            file_format, "application/vnd.apache.parquet"
        )
    )
    day = f"{run.finished_at:%Y-%m-%d}"
    assert download["Content-Disposition"] == (
        f'attachment; filename="playlists-{day}.{file_format}"; '
        f"filename*=UTF-8''playlists-{day}.{file_format}"
    )
    assert download["X-Content-Type-Options"] == "nosniff"
    text = file_text(b"".join(download.streaming_content), file_format)
    assert "Song C" in text and "Bob's song" not in text


def test_the_page_of_a_queued_export_follows_it(client, alice, libraries, settings):
    settings.EXPORT_QUEUE_ABOVE_ROWS = 0  # every library download is queued
    client.force_login(alice)

    response = post_library_download(client, "zip")  # not committed: stays queued

    run = IngestRun.objects.get(kind=Kind.EXPORT)
    assert run.status == RunStatus.QUEUED
    html = client.get(response["Location"]).content.decode()
    assert "links to the file when it is written" in html
    status = client.get(reverse("dashboard:run-status", args=[run.pk])).json()
    assert (status["kind"], status["final"], status["download_url"]) == ("export", False, None)
    assert client.get(reverse("dashboard:run-download", args=[run.pk])).status_code == 404


def test_a_small_library_posted_downloads_at_once(client, alice, libraries):
    client.force_login(alice)  # 3 rows, under EXPORT_QUEUE_ABOVE_ROWS

    response = post_library_download(client, "zip")

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert not IngestRun.objects.filter(kind=Kind.EXPORT).exists()
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert sorted(names) == ["Mix.csv", "_b_Mix_b_.csv"]


def test_the_library_buttons_post_with_a_csrf_token(client, alice, libraries):
    client.force_login(alice)
    html = client.get(reverse("dashboard:home")).content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    for file_format in FORMATS:
        assert f'formaction="{reverse("dashboard:library-download", args=[file_format])}"' in html


def test_only_the_owner_downloads_the_file(client, alice, bob, charlie, staff, libraries):
    run = executed(queued_export(alice))
    download_url = reverse("dashboard:run-download", args=[run.pk])
    for someone in (bob, charlie, staff):
        client.force_login(someone)
        assert client.get(download_url).status_code == 404, someone
    # Staff may follow any run, but the file is the person's: no link for them.
    client.force_login(staff)
    assert download_url not in client.get(reverse("dashboard:run", args=[run.pk])).content.decode()
    status = client.get(reverse("dashboard:run-status", args=[run.pk])).json()
    assert status["download_url"] is None
    client.logout()
    assert client.get(download_url).status_code == 302  # to the sign-in page
    client.force_login(alice)
    download = client.get(download_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content)  # read to its end, which closes the file


def test_a_run_that_is_not_an_export_has_no_file(client, alice, libraries, ingest_run):
    other = ingest_run(libraries.playlist_id, requested_by=alice)
    client.force_login(alice)
    assert client.get(reverse("dashboard:run-download", args=[other.pk])).status_code == 404


def test_a_failed_export_offers_to_try_again(client, alice, libraries):
    run = executed(queued_export(alice, "json"), progress=_fail)
    client.force_login(alice)
    html = client.get(reverse("dashboard:run", args=[run.pk])).content.decode()
    assert reverse("dashboard:run-retry", args=[run.pk]) in html


def test_the_admin_lists_export_runs(client, alice, staff, libraries):
    executed(queued_export(alice))
    client.force_login(staff)
    html = client.get(reverse("admin:ingestion_ingestrun_changelist"), {"kind": "export"})
    assert "Library export" in html.content.decode()


def test_the_csv_of_the_exported_zip_reads_back(alice, libraries):
    """The ZIP's CSVs are the library download's: Exportify's header, one line a track."""
    run = executed(queued_export(alice, "zip"))
    with zipfile.ZipFile(export_runs.export_file(run)) as archive:
        mix = list(csv.DictReader(io.StringIO(archive.read("Mix.csv").decode(), newline="")))
    assert sorted(line["Track Name"] for line in mix) == ["Song A", "Song B"]
    assert os.path.getsize(export_runs.export_file(run)) > 0


def test_the_run_page_and_the_download_take_a_fixed_number_of_queries(
    client, alice, libraries, django_assert_num_queries
):
    run = executed(queued_export(alice))
    client.force_login(alice)
    page = reverse("dashboard:run", args=[run.pk])
    status = reverse("dashboard:run-status", args=[run.pk])
    download = reverse("dashboard:run-download", args=[run.pk])
    # Session, user, the run, its requester (named). An export has no playlist to ask
    # the access rule about.
    with django_assert_num_queries(4):
        assert client.get(page).status_code == 200
    with django_assert_num_queries(3):  # session, user, the run
        assert client.get(status).json()["download_url"] == download
    with django_assert_num_queries(3):  # session, user, the run
        response = client.get(download)
    assert b"".join(response.streaming_content)

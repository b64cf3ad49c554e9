"""The run history in the admin: the three kinds of run, and its actions."""

import pytest
from django.urls import reverse

from devtools.sandbox import DEMO_PLAYLISTS
from devtools.synthetic.exports import export_playlist, export_track_item, write_export_json
from ingestion import runs
from ingestion.models import IngestRun, Kind, RunStatus, Trigger

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:ingestion_ingestrun_changelist")


@pytest.fixture
def file_run(tmp_path):
    """A finished file run that loaded two playlists."""
    path = write_export_json(
        tmp_path / "upload" / "Playlist1.json",
        [export_playlist("Road trip", [export_track_item(1)]), export_playlist("Quiet", [])],
    )
    run = runs.request_file_import(path, trigger=Trigger.WEB, upload=True, enqueue=False)
    runs.execute_run(runs.claim_run(run.pk))
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    return run


def test_the_list_names_files_and_filters_by_kind(admin_client, file_run):
    playlist_run, _ = runs.request_ingest(DEMO_PLAYLISTS[1], trigger=Trigger.SHELL, enqueue=False)
    page = admin_client.get(CHANGELIST).content.decode()
    assert "Playlist1.json" in page and "File import" in page
    filtered = admin_client.get(CHANGELIST, {"kind__exact": "file"}).content.decode()
    assert "Playlist1.json" in filtered and DEMO_PLAYLISTS[1] not in filtered


def test_a_file_runs_page_lists_the_playlists_it_loaded(admin_client, file_run):
    page = admin_client.get(
        reverse("admin:ingestion_ingestrun_change", args=[file_run.pk])
    ).content.decode()
    for entry in file_run.playlists:
        assert f"{entry['name']} <code>{entry['playlist_id']}</code>: {entry['tracks']} tracks" in (
            page
        )


def test_run_again_repeats_ingests_and_enrichments_but_not_file_imports(admin_client, file_run):
    enrichment, _ = runs.request_enrichment(
        file_run.playlists[0]["playlist_id"], trigger=Trigger.WEB, enqueue=False
    )
    runs.cancel_run(enrichment)
    response = admin_client.post(
        CHANGELIST,
        {"action": "run_again", "_selected_action": [file_run.pk, enrichment.pk]},
        follow=True,
    )
    assert "1 run(s) queued" in response.content.decode()
    again = IngestRun.objects.exclude(pk__in=[file_run.pk, enrichment.pk]).get()
    assert (again.kind, again.playlist_id, again.trigger) == (
        Kind.ENRICH,
        enrichment.playlist_id,
        Trigger.RETRY,
    )
    assert IngestRun.objects.filter(kind=Kind.FILE).count() == 1


def test_cancelling_a_queued_upload_deletes_its_file(admin_client, tmp_path):
    path = write_export_json(tmp_path / "upload" / "Playlist1.json", [export_playlist("A", [])])
    run = runs.request_file_import(path, trigger=Trigger.WEB, upload=True, enqueue=False)
    admin_client.post(CHANGELIST, {"action": "cancel", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert not path.exists()

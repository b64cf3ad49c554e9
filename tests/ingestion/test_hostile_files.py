"""Files built to break the importer fail their run at once, with a message for
people: the run is never left running, the upload is deleted, nothing is written.
And any unexpected error in any run fails that run, not the task."""

import json
import logging

import pytest

from accounts.models import UserPlaylist
from devtools.synthetic.exports import (
    classic_row,
    export_playlist,
    export_track_item,
    write_csv,
    write_export_json,
    write_export_zip,
)
from ingestion import runs
from ingestion.models import IngestRun, RunStatus, Trigger
from warehouse.models import Playlist, PlaylistTrack

pytestmark = pytest.mark.django_db


def upload_folder(tmp_path):
    folder = tmp_path / "uploads" / "1" / "abc"
    folder.mkdir(parents=True)
    return folder


def run_upload(path, user):
    """Import `path` as an uploaded file run, the way the queue does; the run after."""
    run = runs.request_file_import(
        path, trigger=Trigger.WEB, user=user, owner_key=str(user.pk), upload=True, enqueue=False
    )
    runs.execute_run(runs.claim_run(run.pk))
    run.refresh_from_db()
    return run


def assert_failed_cleanly(run, path):
    assert run.status == RunStatus.FAILED
    assert run.finished_at is not None
    assert run.attempt == 1 and run.not_before is None  # no retry
    assert not path.parent.exists()  # the upload is deleted
    assert not Playlist.objects.exists()
    assert not PlaylistTrack.objects.exists()
    assert not UserPlaylist.objects.exists()


def test_a_csv_field_longer_than_the_csv_module_reads(tmp_path, alice):
    path = write_csv(
        upload_folder(tmp_path) / "Long.csv",
        [classic_row(1), classic_row(2, **{"Track Name": "x" * 200_000})],
    )
    run = run_upload(path, alice)
    assert_failed_cleanly(run, path)
    assert "Long.csv, line 3" in run.error
    assert "longer than" in run.error
    assert "Export the playlist again" in run.error


def test_a_json_number_of_5000_digits(tmp_path, alice):
    path = upload_folder(tmp_path) / "Playlist1.json"
    playlist = export_playlist("A", [export_track_item(1)])
    text = json.dumps({"playlists": [playlist]}).replace('"numberOfFollowers": 0', "")
    path.write_text(text.replace('"name"', '"numberOfFollowers": ' + "9" * 5000 + ', "name"'))
    run = run_upload(path, alice)
    assert_failed_cleanly(run, path)
    assert "Playlist1.json" in run.error
    assert "number" in run.error and "4300 digits" in run.error
    assert "download it again" in run.error


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_json_nested_50000_deep(tmp_path, alice, opening):
    closing = "]" if opening == "[" else "}"
    path = upload_folder(tmp_path) / "Playlist1.json"
    path.write_text('{"playlists": ' + opening * 50_000 + "1" + closing * 50_000 + "}")
    run = run_upload(path, alice)
    assert_failed_cleanly(run, path)
    assert "Playlist1.json" in run.error
    assert "nested too deeply" in run.error


def test_deep_nesting_inside_a_zip_member(tmp_path, alice):
    member = b'{"playlists": [' + b"[" * 50_000 + b"]" * 50_000 + b"]}"
    path = write_export_zip(upload_folder(tmp_path) / "export.zip", {"Playlist1.json": member})
    run = run_upload(path, alice)
    assert_failed_cleanly(run, path)
    assert "nested too deeply" in run.error


def test_nesting_near_the_parser_limit_loads_or_is_refused_but_never_crashes(tmp_path, alice):
    # Parses (the C parser allows ~1000 levels), but hashing the items for the
    # snapshot id recurses again, deeper in the stack.
    deep = "[" * 980 + "]" * 980
    playlist = json.dumps(export_playlist("A", [export_track_item(1)]))
    text = '{"playlists": [' + playlist[:-1] + ', "extra": ' + deep + "}]}"
    path = upload_folder(tmp_path) / "Playlist1.json"
    path.write_text(text)
    run = run_upload(path, alice)
    assert run.status in (RunStatus.FAILED, RunStatus.SUCCEEDED)
    assert run.finished_at is not None and not path.parent.exists()
    if run.status == RunStatus.FAILED:
        assert "nested too deeply" in run.error


CONTROL = "".join(chr(code) for code in range(32))


def test_control_characters_in_names_are_stripped_on_every_database(tmp_path, alice):
    """NUL breaks PostgreSQL (COPY's text format, text and jsonb columns); every
    C0 control but tab and newline is stripped, the same on both databases."""
    item = export_track_item(1, name=f"So\x00ng{CONTROL}", album="Al\x00bum\x1b[31m")
    item["track"]["artistName"] = "Art\x00ist"
    playlist = export_playlist("Road\x00 trip\x07", [item], description="a\x00b\r\nc")
    path = write_export_json(upload_folder(tmp_path) / "Playlist1.json", [playlist])
    run = run_upload(path, alice)
    assert run.status == RunStatus.SUCCEEDED, run.error
    stored = Playlist.objects.get()
    assert stored.name == "Road trip"
    assert stored.description == "ab\nc"
    row = PlaylistTrack.objects.get()
    assert row.track_name == "Song\t\n"
    assert row.album_name == "Album[31m"
    assert row.artist_names == ["Artist"]
    assert run.playlists[0]["name"] == "Road trip"


def test_control_characters_in_a_csv_are_stripped(tmp_path, alice):
    row = classic_row(1, **{"Track Name": "A\x00B\x01C", "Artist Name(s)": "D\x00E"})
    path = write_csv(upload_folder(tmp_path) / "Mixed.csv", [row])
    run = run_upload(path, alice)
    assert run.status == RunStatus.SUCCEEDED, run.error
    row = PlaylistTrack.objects.get()
    assert (row.track_name, row.artist_names) == ("ABC", ["DE"])


def test_an_unexpected_error_in_a_file_run_fails_it_at_once(tmp_path, alice, monkeypatch, caplog):
    # Stands in for a bug no input can reach on purpose (none is known: that is the point).
    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr("ingestion.file_runs.iter_ingest_path", broken)
    path = write_export_json(
        upload_folder(tmp_path) / "Playlist1.json", [export_playlist("A", [export_track_item(1)])]
    )
    with caplog.at_level(logging.ERROR, logger="ingestion.runs"):
        run = run_upload(path, alice)
    assert_failed_cleanly(run, path)
    assert "unexpected error" in run.error and "log" in run.error
    assert "surprise" not in run.error  # the details are for the operator
    [record] = [r for r in caplog.records if r.exc_info]
    assert f"Run {run.pk}" in record.getMessage()
    assert "KeyError" in caplog.text and "surprise" in caplog.text


def test_an_unexpected_error_in_a_playlist_run_fails_it_without_retrying(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr("ingestion.runs.ingest_playlist", broken)
    run, _ = runs.request_ingest("37i9dQZF1DXcBWIGoYBM5M", trigger=Trigger.SHELL, enqueue=False)
    with caplog.at_level(logging.ERROR, logger="ingestion.runs"):
        result = runs.execute_run(runs.claim_run(run.pk), client=object())
    run.refresh_from_db()
    assert result.status == "failed"
    assert run.status == RunStatus.FAILED and run.not_before is None
    assert "unexpected error" in run.error
    assert "ZeroDivisionError" in caplog.text
    assert not IngestRun.objects.filter(status=RunStatus.QUEUED).exists()


def test_an_unexpected_error_in_an_enrichment_run_fails_it(monkeypatch):
    def broken(*args, **kwargs):
        raise AttributeError("bug")

    monkeypatch.setattr("ingestion.runs.enrich_playlist", broken)
    run, _ = runs.request_enrichment("export:abc", trigger=Trigger.SHELL, enqueue=False)
    runs.execute_run(runs.claim_run(run.pk), client=object())
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "unexpected error" in run.error


def test_a_run_whose_outcome_cannot_be_recorded_is_failed_instead(tmp_path, alice, monkeypatch):
    # Stands in for a value the database refuses when the outcome is written.
    original = runs._outcome_fields
    calls = []

    def refusing_once(result):
        calls.append(result)
        if len(calls) == 1:
            raise ValueError("A string literal cannot contain NUL (0x00) characters.")
        return original(result)

    monkeypatch.setattr("ingestion.runs._outcome_fields", refusing_once)
    path = write_export_json(
        upload_folder(tmp_path) / "Playlist1.json", [export_playlist("A", [export_track_item(1)])]
    )
    run = run_upload(path, alice)
    assert run.status == RunStatus.FAILED and "unexpected error" in run.error
    assert run.finished_at is not None and not path.parent.exists()

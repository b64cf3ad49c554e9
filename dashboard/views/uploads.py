"""Uploading an export file: a Spotify account data export or an Exportify CSV.

The file is saved to a private folder under DATA_DIR (`uploads/<user id>/`) and
imported by a queued file-import run (`ingestion.file_runs`) whose page shows
its progress, like any run. The user's id is the owner key (two people's "Road
trip" stay two playlists), and every imported playlist goes on the user's list.
What the form can tell at once (too big, not an export) shows inline; a damaged
file fails its run with the reason and loads nothing. The file is deleted when
its run is over.
"""

import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.connections import can_look_up_tracks, spotify_reader
from dashboard.forms import UploadExportForm, mpd_refusal, upload_max_bytes
from ingestion.files import InvalidImportFile, detect_format
from ingestion.models import Trigger
from ingestion.runs import request_file_import
from warehouse.models import Source

UPLOAD_FORMATS = (Source.SPOTIFY_EXPORT.value, Source.EXPORTIFY.value)
# Characters never kept in a saved file name (the name is the Exportify playlist's).
_UNSAFE = str.maketrans({character: "_" for character in '/\\\0:*?"<>|'})


def upload_dir(user) -> Path:
    return Path(settings.DATA_DIR) / "uploads" / str(user.pk)


def save_upload(user, upload) -> Path:
    """Write the upload to its own folder, keeping its file name (an Exportify
    playlist is named after its file); readable by the app's user only."""
    folder = upload_dir(user) / uuid.uuid4().hex
    folder.mkdir(mode=0o700, parents=True)
    name = Path(upload.name).name.translate(_UNSAFE).strip(". ") or "upload"
    path = folder / name[-200:]
    with path.open("wb") as file:
        for chunk in upload.chunks():
            file.write(chunk)
    path.chmod(0o600)
    return path


def upload_format(path):
    """(format, None) of the saved upload from a quick look, or (None, why not).

    Only what a peek at the file shows: a damaged file is found, and
    explained on the run page, when the run reads it.
    """
    try:
        file_format = detect_format(path)
    except (InvalidImportFile, OSError) as error:
        return None, str(error)
    if file_format not in UPLOAD_FORMATS:
        return None, mpd_refusal(path.name)
    return file_format, None


# Room for the multipart envelope and the CSRF token around the file.
_ENVELOPE_BYTES = 64 * 1024


@login_required
def upload(request):
    can_enrich = can_look_up_tracks(request.user)
    form, refused = UploadExportForm(can_enrich=can_enrich), None
    if request.method == "POST" and _request_too_big(request):
        # Refused from the Content-Length, before Django reads the body to disk.
        refused = _too_big_message(request)
    elif request.method == "POST":
        form = UploadExportForm(request.POST, request.FILES, can_enrich=can_enrich)
        if form.is_valid():
            path = save_upload(request.user, form.cleaned_data["file"])
            file_format, error = upload_format(path)
            if error is None:
                run = request_file_import(
                    path,
                    trigger=Trigger.WEB,
                    user=request.user,
                    file_format=file_format,  # the run need not look again
                    owner_key=str(request.user.pk),
                    upload=True,
                    enrich=form.cleaned_data.get("enrich", False),
                    spotify_user=spotify_reader(request.user),
                )
                return redirect("dashboard:run", run_id=run.pk)
            shutil.rmtree(path.parent, ignore_errors=True)
            form.add_error("file", error)
    errors = [refused] if refused else form["file"].errors
    context = {
        "form": form,
        "file_errors": errors,
        "max_megabytes": upload_max_bytes() / (1024 * 1024),
    }
    return render(request, "dashboard/upload.html", context, status=400 if errors else 200)


def _request_too_big(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > upload_max_bytes() + _ENVELOPE_BYTES


def _too_big_message(request):
    size = int(request.META["CONTENT_LENGTH"]) / (1024 * 1024)
    limit = upload_max_bytes() / (1024 * 1024)
    return (
        f"The file is about {size:.1f} MB, over the upload limit of {limit:.1f} MB. Upload "
        "Playlist1.json rather than the whole ZIP, or import the file with `manage.py ingest`."
    )

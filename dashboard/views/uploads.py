"""Uploading an export file: a Spotify account data export or an Exportify CSV.

The file is saved to a private folder under DATA_DIR (`uploads/<user id>/`), then
imported within the request by `ingestion.files.ingest_path`, with the user's id
as owner key (two people's "Road trip" stay two playlists), and every imported
playlist goes on the user's list. A refused file loads nothing and is deleted;
its error shows inline on the form. Files are small (see `upload_max_bytes`), so
the import takes a second or two; larger imports use `manage.py ingest`.
"""

import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render

from dashboard.forms import UploadExportForm, upload_max_bytes
from dashboard.models import UserPlaylist
from ingestion.files import ingest_path
from ingestion.pipeline import Status
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


def import_upload(user, path):
    """Import a saved upload; (succeeded results, error message or None).

    All or nothing: on any refusal nothing of the file stays loaded (the importers
    refuse a file before loading it, and one export loads in one transaction).
    """
    from ingestion.files import InvalidImportFile, detect_format

    try:
        file_format = detect_format(path)
    except (InvalidImportFile, OSError) as error:
        return [], str(error)
    if file_format not in UPLOAD_FORMATS:
        return [], (
            f"{path.name} is a Million Playlist Dataset slice: import the dataset with "
            "`manage.py ingest <folder>` on the server, not through this page."
        )
    with transaction.atomic():
        results = ingest_path(path, format=file_format, owner_key=str(user.pk))
        failed = [result for result in results if result.status != Status.SUCCEEDED]
        if failed or not results:
            transaction.set_rollback(True)
            return [], (failed[0].error if failed else f"{path.name} holds no playlists.")
        for result in results:
            UserPlaylist.objects.get_or_create(user=user, playlist_id=result.playlist_id)
    return results, None


# Room for the multipart envelope and the CSRF token around the file.
_ENVELOPE_BYTES = 64 * 1024


@login_required
def upload(request):
    form, refused = UploadExportForm(), None
    if request.method == "POST" and _request_too_big(request):
        # Refused from the Content-Length, before Django reads the body to disk.
        refused = _too_big_message(request)
    elif request.method == "POST":
        form = UploadExportForm(request.POST, request.FILES)
        if form.is_valid():
            path = save_upload(request.user, form.cleaned_data["file"])
            results, error = import_upload(request.user, path)
            if error is None:
                messages.success(request, _imported_message(path.name, results))
                return redirect("dashboard:home")
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


def _imported_message(name, results):
    tracks = sum(result.tracks_loaded for result in results)
    playlists = len(results)
    return (
        f"Imported {playlists} playlist{'s' if playlists != 1 else ''} "
        f"({tracks} track{'s' if tracks != 1 else ''}) from {name}."
    )

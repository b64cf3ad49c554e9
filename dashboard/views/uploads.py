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
from datetime import timedelta
from math import ceil
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.connections import can_look_up_tracks, spotify_reader
from dashboard.forms import UploadExportForm, mpd_refusal, upload_max_bytes
from ingestion.files import InvalidImportFile, detect_format
from ingestion.models import IngestRun, Kind, Trigger
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
    elif request.method == "POST" and (limited := hourly_limit_refusal(request)):
        return _refused_for_now(request, form, *limited)
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


UPLOAD_WINDOW = timedelta(hours=1)


def hourly_limit_refusal(request):
    """(message, when they may upload again) if this upload would take the user
    past UPLOADS_PER_HOUR or UPLOAD_BYTES_PER_HOUR, else None. Read before the
    body: its size is the request's Content-Length."""
    incoming = _content_length(request)
    now = timezone.now()
    recent = _recent_uploads(request.user, since=now - UPLOAD_WINDOW)
    count_limit, bytes_limit = settings.UPLOADS_PER_HOUR, settings.UPLOAD_BYTES_PER_HOUR
    # The upload fits once enough of the recent ones have aged out of the window.
    for expired in range(len(recent) + 1):
        kept = recent[expired:]
        if len(kept) < count_limit and sum(size for _, size in kept) + incoming <= bytes_limit:
            break
    else:
        expired = None  # bigger than the hourly budget on its own
    if expired == 0:
        return None
    if expired is None:
        message = (
            f"The file is about {_mb(incoming)}, more than the {_mb(bytes_limit)} one person may "
            "upload per hour (UPLOAD_BYTES_PER_HOUR). Import it with `manage.py ingest` instead."
        )
        return message, None
    again = recent[expired - 1][0] + UPLOAD_WINDOW
    used = sum(size for _, size in recent)
    message = (
        f"You have uploaded {len(recent)} file(s), {_mb(used)}, in the last hour: this one would "
        f"pass the limit of {count_limit} files or {_mb(bytes_limit)} per hour. You can upload "
        f"it again from {timezone.localtime(again):%H:%M} ({_minutes_until(again, now)})."
    )
    return message, again


def _recent_uploads(user, *, since):
    """(queued at, bytes) of the user's uploads since `since`, oldest first."""
    runs = IngestRun.objects.filter(
        kind=Kind.FILE, trigger=Trigger.WEB, requested_by=user, queued_at__gt=since
    ).order_by("queued_at")
    return [
        (queued_at, parameters.get("upload_bytes", 0))
        for queued_at, parameters in runs.values_list("queued_at", "parameters")
        if parameters.get("delete_file")
    ]


def _refused_for_now(request, form, message, again):
    context = {
        "form": form,
        "file_errors": [message],
        "max_megabytes": upload_max_bytes() / (1024 * 1024),
    }
    response = render(request, "dashboard/upload.html", context, status=429)
    if again is not None:
        response["Retry-After"] = str(max(1, ceil((again - timezone.now()).total_seconds())))
    return response


def _content_length(request):
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _mb(size):
    return f"{size / (1024 * 1024):.1f} MB"


def _minutes_until(moment, now):
    minutes = ceil((moment - now).total_seconds() / 60)
    return "in 1 minute" if minutes <= 1 else f"in {minutes} minutes"

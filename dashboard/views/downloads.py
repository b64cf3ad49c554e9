"""Downloads: a playlist (CSV, JSON, Parquet) and a person's whole library (a ZIP of CSVs,
one JSON, one Parquet).

Every download asks dashboard.access first: a playlist the person may not see answers 404,
and a library holds only the playlists they may see. Files stream (StreamingHttpResponse
over the generators of warehouse.exports), so their size never decides the memory a
download takes.

The library's buttons post: a library of more than EXPORT_QUEUE_ABOVE_ROWS rows is then
written by an export run in the queue (ingestion.export_runs) and the person follows it
on the run's page, which links to the file when it is written (`export_file`, served
to the person who asked for it only). A plain GET streams the file as before.
"""

import unicodedata
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from dashboard.access import visible_playlist_or_404
from ingestion import export_runs
from ingestion.models import IngestRun, Kind, Trigger
from ingestion.runs import request_export
from warehouse import exports, queries

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
    "zip": "application/zip",
}
PLAYLIST_FORMATS = ("csv", "json", "parquet")
LIBRARY_FORMATS = ("zip", "json", "parquet")


@login_required
def playlist_download(request, playlist_id, file_format):
    """The playlist as the track table shows it: its search (`q`) and sort (`sort`,
    `dir`) apply, every page of it."""
    if file_format not in PLAYLIST_FORMATS:
        raise Http404("No such format.")
    playlist = visible_playlist_or_404(request.user, playlist_id)
    params = request.GET
    sort = params.get("sort", queries.DEFAULT_SORT)
    direction = params.get("dir", "asc")
    options = {"sort": sort, "direction": direction, "query": params.get("q", "")[:200]}
    # Parquet writes a row group per batch; CSV and JSON hold a batch's text (and for
    # JSON its Python values), so theirs are smaller (the 100,000-row memory test).
    rows = exports.ROWS_PER_BATCH if file_format == "parquet" else queries.EXPORT_CHUNK_ROWS
    batches = queries.export_batches([playlist_id], rows_per_batch=rows, **options)
    if file_format == "parquet":
        chunks = exports.parquet_chunks(batches)
    elif file_format == "csv":
        chunks = exports.csv_batch_chunks(batches)
    else:
        (metadata,) = queries.export_playlists([playlist_id])
        chunks = exports.json_batch_chunks(metadata, batches)
    return streamed(chunks, exports.safe_file_name(playlist.name, f".{file_format}"), file_format)


@login_required
@require_http_methods(["GET", "POST"])
def library_download(request, file_format):
    """Every playlist the person may see, in one file: streamed now, or (a POST for a
    library over EXPORT_QUEUE_ABOVE_ROWS rows) by an export run whose page it opens."""
    if file_format not in LIBRARY_FORMATS:
        raise Http404("No such format.")
    ids = export_runs.library_playlist_ids(request.user)
    if request.method == "POST" and _queued(ids):
        run, _ = request_export(request.user, file_format, trigger=Trigger.WEB)
        return redirect("dashboard:run", run_id=run.pk)
    chunks = export_runs.library_chunks(ids, file_format)
    name = f"playlists-{timezone.localdate():%Y-%m-%d}.{file_format}"
    return streamed(chunks, name, file_format)


def _queued(ids):
    limit = settings.EXPORT_QUEUE_ABOVE_ROWS
    return limit <= 0 or export_runs.library_rows(ids) > limit


@login_required
def export_file(request, run_id):
    """An export run's file, to the person who asked for it (anyone else: 404, staff
    too: it is that person's library); 404 too once it expired."""
    run = IngestRun.objects.filter(pk=run_id, kind=Kind.EXPORT, requested_by=request.user).first()
    path = export_runs.export_file(run) if run is not None else None
    if path is None:
        raise Http404("No such file.")
    file_format = run.parameters["format"]
    response = FileResponse(open(path, "rb"), content_type=CONTENT_TYPES[file_format])  # noqa: SIM115 - closed by the response
    response["Content-Disposition"] = content_disposition(export_file_name(run))
    response["X-Content-Type-Options"] = "nosniff"
    return response


def export_file_name(run):
    """What the downloaded file is called: the library download's name, of the run's day."""
    day = timezone.localdate(run.finished_at or run.queued_at)
    return f"playlists-{day:%Y-%m-%d}.{run.parameters['format']}"


def streamed(chunks, file_name, file_format):
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = content_disposition(file_name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def content_disposition(file_name):
    """`attachment` with an ASCII fallback name for old clients and the UTF-8 name
    in RFC 5987's `filename*` for the others."""
    decomposed = unicodedata.normalize("NFKD", file_name)  # "é" → "e" + an accent, dropped
    fallback = decomposed.encode("ascii", "ignore").decode().replace("\\", "_").replace('"', "_")
    if fallback.startswith("."):  # nothing left of the name but its suffix
        fallback = f"download{fallback}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"

"""Downloads: a playlist (CSV, JSON, Parquet) and a person's whole library (a ZIP of CSVs,
one JSON, one Parquet).

Every download asks dashboard.access first: a playlist the person may not see answers 404,
and a library holds only the playlists they may see. Files stream (StreamingHttpResponse
over the generators of warehouse.exports), so their size never decides the memory a
download takes.
"""

import unicodedata
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone

from dashboard.access import visible_playlist_ids, visible_playlist_or_404
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
def library_download(request, file_format):
    """Every playlist the person may see, in one file."""
    if file_format not in LIBRARY_FORMATS:
        raise Http404("No such format.")
    ids = sorted(visible_playlist_ids(request.user))
    if file_format == "zip":
        chunks = exports.zip_chunks(_csv_entries(ids))
    elif file_format == "json":
        chunks = exports.json_library_chunks(
            queries.export_playlists(ids),
            lambda playlist: queries.export_rows([playlist["playlist_id"]]),
        )
    else:
        chunks = exports.parquet_chunks(
            queries.export_batches(ids, rows_per_batch=exports.ROWS_PER_BATCH)
        )
    name = f"playlists-{timezone.localdate():%Y-%m-%d}.{file_format}"
    return streamed(chunks, name, file_format)


def _csv_entries(ids):
    """(file name, CSV chunks) per playlist, one query each as the ZIP reaches it."""
    playlists = list(queries.export_playlists(ids))
    names = exports.unique_names(exports.safe_file_name(p["name"], ".csv") for p in playlists)
    for name, playlist in zip(names, playlists, strict=True):
        batches = queries.export_batches([playlist["playlist_id"]])
        yield name, exports.csv_batch_chunks(batches)


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

"""A playlist's history: its versions (with a size chart) and the diff of two versions.

Both pages, and the versions' JSON, go through `dashboard.access`: a person sees
a playlist's history only if they may see its data.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from dashboard.access import visible_playlist_or_404
from dashboard.views.analytics import (
    TABLE_COLUMNS,
    _chart,
    _chart_data,
    _int,
    _long_duration,
    json_table,
    table_context,
)
from dashboard.views.downloads import content_disposition, streamed
from warehouse import exports, queries


@login_required
def history(request, playlist_id):
    playlist = visible_playlist_or_404(request.user, playlist_id)
    versions = queries.playlist_versions(playlist_id=playlist_id)
    if request.GET.get("format") == "json":
        return JsonResponse({"playlist_id": playlist_id, "versions": versions})
    for version in versions:
        version["length"] = _long_duration(version["duration_ms"])
    charts = [_size_chart(versions)] if versions else []
    context = {
        "playlist": playlist,
        "playlist_id": playlist_id,
        # Newest first on the page; the chart reads oldest first.
        "versions": list(reversed(versions)),
        "charts": charts,
        "chart_data": _chart_data(charts),
    }
    return render(request, "dashboard/history.html", context)


def _size_chart(versions):
    return _chart(
        "size",
        "Tracks over time",
        [f"v{v['version']} {v['seen_at']:%Y-%m-%d}" for v in versions],
        [v["tracks"] for v in versions],
        axis="Version and the date it was seen",
    )


@login_required
def diff(request, playlist_id):
    """Two versions' changes, one kind at a time (`?kind=added|removed|moved`), in
    the track table: sorted, searched and paged by the database."""
    playlist = visible_playlist_or_404(request.user, playlist_id)
    latest = queries.latest_version(playlist_id=playlist_id) or 0
    to_version = _version(request.GET.get("to"), latest, latest)
    from_version = _version(request.GET.get("from"), latest, max(1, to_version - 1))
    params = request.GET
    result = queries.playlist_diff_page(
        playlist_id=playlist_id,
        from_version=from_version,
        to_version=to_version,
        kind=params.get("kind", "added"),
        sort=params.get("sort", queries.DEFAULT_SORT),
        direction=params.get("dir", "asc"),
        query=params.get("q", "")[:200],
        page=params.get("page", 1),
        page_size=_int(params.get("size"), queries.DEFAULT_PAGE_SIZE),
    )
    if params.get("format") == "json":
        return _diff_json(result)
    page_url = reverse("dashboard:diff", args=[playlist_id])
    pair = {"from": from_version, "to": to_version}
    context = {
        "playlist": playlist,
        "playlist_id": playlist_id,
        "latest": latest,
        "version_numbers": range(1, latest + 1),
        "diff": result,
        "kinds": [
            {
                "key": kind,
                "title": DIFF_TITLES[kind],
                "count": result.counts[kind],
                "url": f"{page_url}?{urlencode({**pair, 'kind': kind})}",
            }
            for kind in queries.DIFF_KINDS
        ],
        "table": table_context(
            result.tracks,
            _diff_columns(result.kind),
            page_url=page_url,
            tracks_url=page_url,
            hidden=[("from", from_version), ("to", to_version), ("kind", result.kind)],
        ),
    }
    return render(request, "dashboard/diff.html", context)


DIFF_TITLES = {"added": "Added", "removed": "Removed", "moved": "Moved"}


def _diff_columns(kind):
    """The track table's columns, `#` being the place the change is listed at."""
    place = {"added": "Now at", "removed": "Was at", "moved": "Now at"}[kind]
    before = [("before", "Was at")] if kind == "moved" else []
    return [*before, ("position", place), *TABLE_COLUMNS[1:]]


def _diff_json(result):
    return json_table(
        result.tracks,
        from_version=result.from_version,
        to_version=result.to_version,
        kind=result.kind,
        counts=result.counts,
    )


def _version(value, latest, default):
    """A version number from the query string, kept within 1 … latest."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return min(max(1, number), latest) if latest else 0


@login_required
def version_json(request, playlist_id, version):
    """One version of the playlist as a JSON download (its tracks in order)."""
    described, rows = _version_or_404(request, playlist_id, version)
    response = JsonResponse(
        {
            "playlist_id": playlist_id,
            **{k: v for k, v in described.items() if k != "tracks"},  # the count
            "tracks": [{name: row[name] for name in queries.VERSION_TRACK_FIELDS} for row in rows],
        },
        json_dumps_params={"ensure_ascii": False},
    )
    response["Content-Disposition"] = content_disposition(
        _version_file(playlist_id, version, "json")
    )
    return response


@login_required
def version_csv(request, playlist_id, version):
    """One version of the playlist as a CSV download, in the playlist download's
    layout (Exportify's columns and ours, `warehouse.exports`), in its order."""
    rows = _named_version_rows(request, playlist_id, version)
    file_name = _version_file(playlist_id, version, "csv")
    return streamed(exports.csv_chunks(rows), file_name, "csv")


@login_required
def version_parquet(request, playlist_id, version):
    """One version of the playlist as a Parquet download, in the playlist download's
    schema (`warehouse.exports.PARQUET_SCHEMA`), in its order."""
    rows = _named_version_rows(request, playlist_id, version)
    batches = exports.record_batches(rows)
    file_name = _version_file(playlist_id, version, "parquet")
    return streamed(exports.parquet_chunks(batches), file_name, "parquet")


def _named_version_rows(request, playlist_id, version):
    """The version's rows, each with the playlist's name then (as the playlist
    download names it now)."""
    described, rows = _version_or_404(request, playlist_id, version)
    for row in rows:
        row["playlist_name"] = described["name"]
    return rows


def _version_or_404(request, playlist_id, version):
    """The version's description and rows, if the person may see the playlist."""
    visible_playlist_or_404(request.user, playlist_id)
    versions = {v["version"]: v for v in queries.playlist_versions(playlist_id=playlist_id)}
    if version not in versions:
        raise Http404("No such version.")
    return versions[version], queries.playlist_rows_as_of(playlist_id=playlist_id, version=version)


def _version_file(playlist_id, version, suffix):
    return f"{playlist_id.replace(':', '-')}-v{version}.{suffix}"

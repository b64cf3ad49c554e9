"""The playlist dashboard, its track table, and the overview across a user's playlists.

Thin adapters: the numbers come from `warehouse.queries`, the run states from
`ingestion.models`; this module only shapes them for the templates and the
page scripts. Chart data reaches the page through `json_script` only.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

from accounts.connections import can_look_up_tracks
from dashboard.access import (
    playlist_for,
    user_entries,
    user_entry_or_404,
    user_runs,
    visible_playlist_ids,
    visible_playlist_or_404,
)
from ingestion.models import IngestRun, Kind, RunStatus
from warehouse import queries
from warehouse.models import Source

NO_GENRE_LABEL = "No genre listed"
TABLE_COLUMNS = (
    ("position", "#"),
    ("track", "Track"),
    ("artist", "Artist"),
    ("album", "Album"),
    ("year", "Year"),
    ("duration", "Length"),
    ("added", "Added"),
)
# Shown when the playlist has audio features (from an Exportify file).
AUDIO_TABLE_COLUMNS = (
    ("tempo", "Tempo"),
    ("energy", "Energy"),
    ("valence", "Valence"),
    ("danceability", "Dance"),
    ("key", "Key"),
)


AUDIO_SORTS = frozenset(key for key, _ in AUDIO_TABLE_COLUMNS)


# --- the playlist dashboard ------------------------------------------------------------
@login_required
def playlist_dashboard(request, playlist_id):
    entry = user_entry_or_404(request.user, playlist_id)
    # None while the user may not see its data (waiting, or refused: see _state.html).
    playlist = playlist_for(entry)
    latest_run, loaded_run = _runs(request.user, playlist_id)
    context = {
        "playlist_id": playlist_id,
        "entry": entry,
        "playlist": playlist,
        "latest_run": latest_run,
        "loaded_run": loaded_run,
        "skipped": _skipped(loaded_run),
        "headline": None,
    }
    if playlist is not None and playlist.source != Source.SPOTIFY_API:
        context["details"] = _file_details(request.user, playlist_id)
    if playlist is not None:
        version, context["as_of"] = _as_of(request, playlist_id)
        with queries.as_of(version):
            data = queries.playlist_dashboard(playlist_id=playlist_id)
            context["headline"] = data.headline
            if data.headline.tracks:
                context.update(_dashboard_context(request, playlist_id, data, loaded_run))
    return render(request, "dashboard/playlist_dashboard.html", context)


def _as_of(request, playlist_id):
    """The version the page shows (`?version=N`, 1 … latest; None: as it is now),
    and what the "as of" switch lists."""
    versions = queries.playlist_versions(playlist_id=playlist_id)
    numbers = [v["version"] for v in versions]
    chosen = _int(request.GET.get("version"), None)
    version = chosen if chosen in numbers[:-1] else None  # the latest is "now"
    return version, {"version": version, "versions": list(reversed(versions))}


def _runs(user, playlist_id):
    """The user's latest ingest run of the playlist (any state), and the playlist's
    latest run that loaded data (whoever asked: only its counts are shown)."""
    runs = IngestRun.objects.filter(playlist_id=playlist_id, kind=Kind.PLAYLIST).order_by(
        "-queued_at", "-pk"
    )
    latest = runs.filter(pk__in=user_runs(user).values("pk")).first()
    loaded = (
        runs.filter(status__in=(RunStatus.SUCCEEDED, RunStatus.PARTIAL))
        .order_by("-finished_at", "-pk")
        .first()
    )
    return latest, loaded


def _file_details(user, playlist_id):
    """What a playlist imported from a file lacks, its latest enrichment run, and
    whether the user can start one."""
    return {
        "missing": queries.missing_details(playlist_id),
        "run": user_runs(user)
        .filter(playlist_id=playlist_id, kind=Kind.ENRICH)
        .order_by("-queued_at", "-pk")
        .first(),
        "can_enrich": can_look_up_tracks(user),
    }


def _skipped(run):
    """Items of the playlist that are not tracks, as the last loading run counted them."""
    skipped = (run.items_skipped or {}) if run else {}
    return {"episodes": skipped.get("episode", 0), "unavailable": skipped.get("unavailable", 0)}


def _dashboard_context(request, playlist_id, data, loaded_run):
    visible = list(visible_playlist_ids(request.user))
    charts = [
        _artists_chart(data.top_artists),
        _genres_chart(data.genres),
        *_release_charts(data.years),
        _durations_chart(data.durations),
        _timeline_chart(data.timeline),
    ]
    audio = _audio_context(playlist_id)
    return {
        "figures": _headline_figures(data.headline, _skipped(loaded_run)),
        "charts": charts,
        "audio": audio,
        # The page script draws every chart of the page, the audio ones too.
        "chart_data": _chart_data(charts + (audio["charts"] if audio else [])),
        "table": _table_context(request, playlist_id, visible=visible, audio=audio is not None),
        "also_in": queries.also_in(playlist_id=playlist_id, playlist_ids=visible),
    }


def _headline_figures(h, skipped):
    """(label, value, note) for the figure cards."""
    return [
        ("Tracks", f"{h.tracks:,}", _repeats_note(h)),
        ("Total length", _long_duration(h.duration_ms), ""),
        ("Artists", f"{h.artists:,}", "distinct Spotify artists"),
        ("Albums", f"{h.albums:,}", ""),
        ("Median release year", _year(h.median_year), ""),
        ("Explicit", _percent(h.explicit_share), f"{h.explicit:,} tracks"),
        ("Genre coverage", _percent(h.genre_coverage), "tracks whose artists list a genre"),
        ("Local files", f"{h.local_files:,}", "files from the owner's device"),
        ("Unavailable items", f"{skipped['unavailable']:,}", "no longer on Spotify; not counted"),
    ]


def _repeats_note(h):
    repeats = h.items - h.tracks
    return f"plus {repeats:,} repeat{'s' if repeats != 1 else ''}" if repeats else ""


def _chart(key, title, labels, values, *, unit="tracks", horizontal=False, note=""):
    return {
        "id": key,
        "title": title,
        "labels": [str(label) for label in labels],
        "values": list(values),
        "unit": unit,
        "horizontal": horizontal,
        "note": note,
        "rows": list(zip(labels, values, strict=True)),
    }


def _artists_chart(artists):
    return _chart(
        "artists",
        "Top artists",
        [artist["name"] or artist["artist_id"] for artist in artists],
        [artist["tracks"] for artist in artists],
        horizontal=True,
    )


def _genres_chart(genres):
    labels = [genre["genre"] for genre in genres.genres] + [NO_GENRE_LABEL]
    values = [genre["tracks"] for genre in genres.genres] + [genres.without_genres]
    note = (
        f"{_percent(genres.without_genres_share)} of tracks have no genre: Spotify lists none "
        "for their artists"
        + (
            f", or they are local files ({genres.local_without_genres:,})"
            if genres.local_without_genres
            else ""
        )
        + ". A track has the genres of all its artists, so it can count under several."
    )
    chart = _chart("genres", "Top genres", labels, values, horizontal=True, note=note)
    chart["highlight"] = NO_GENRE_LABEL
    return chart


def _release_charts(years):
    unknown = f"{years.unknown:,} tracks have no known release date." if years.unknown else ""
    decades = _with_empty_steps({row["decade"]: row["tracks"] for row in years.decades}, step=10)
    by_year = _with_empty_steps({row["year"]: row["tracks"] for row in years.years}, step=1)
    return [
        _chart(
            "decades",
            "Release decades",
            [f"{decade}s" for decade in decades],
            list(decades.values()),
            note=unknown,
        ),
        _chart("years", "Release years", list(by_year), list(by_year.values()), note=unknown),
    ]


def _with_empty_steps(counts, *, step):
    """A histogram with its empty years or decades present as zeros: an axis
    that skips them would squeeze 1955 next to 1977."""
    if not counts:
        return {}
    return {key: counts.get(key, 0) for key in range(min(counts), max(counts) + step, step)}


def _durations_chart(durations):
    note = f"{durations.unknown:,} tracks have no known length." if durations.unknown else ""
    return _chart(
        "durations",
        "Track lengths",
        [bucket["label"] for bucket in durations.buckets],
        [bucket["tracks"] for bucket in durations.buckets],
        note=note,
    )


def _timeline_chart(timeline):
    note = (
        f"{timeline.unknown:,} tracks have no date of addition (Spotify does not say)."
        if timeline.unknown
        else ""
    )
    return _chart(
        "timeline",
        "Tracks added per month",
        [month["month"] for month in timeline.months],
        [month["tracks"] for month in timeline.months],
        note=note,
    )


def _audio_context(playlist_id):
    """The audio-feature charts and their note, or None when no row has any."""
    features = queries.playlist_audio_features(playlist_id)
    if not features.with_features:
        return None
    charts = [
        _chart("tempo", "Tempo (BPM)", *_split_rows(features.tempo)),
        _chart("moods", "Energy and valence", *_split_rows(features.moods), horizontal=True),
        _chart("danceability", "Danceability", *_split_rows(features.danceability)),
        _chart(
            "keys",
            "Keys",
            *_split_rows(features.keys),
            note=f"{features.minor:,} of them in a minor key." if features.minor else "",
        ),
    ]
    note = (
        f"From the Exportify file: Spotify no longer gives audio features to new apps. "
        f"{features.with_features:,} of the {features.tracks:,} tracks "
        f"({_percent(features.coverage)}) have them; the charts count those only."
    )
    return {"charts": charts, "note": note}


def _split_rows(rows):
    return [label for label, _ in rows], [count for _, count in rows]


# --- the track table -------------------------------------------------------------------
@login_required
def track_table(request, playlist_id):
    """The table alone: HTML for the page script, or JSON with `?format=json`."""
    visible_playlist_or_404(request.user, playlist_id)
    version, _ = _as_of(request, playlist_id)
    with queries.as_of(version):
        audio = queries.has_audio_features(playlist_id)
        table = _table_context(request, playlist_id, audio=audio)
    if request.GET.get("format") == "json":
        return json_table(table["page"])
    return render(request, "dashboard/_track_table.html", {"table": table})


def _table_context(
    request,
    playlist_id,
    *,
    also_in=(),
    not_in=(),
    page_url=None,
    tracks_url=None,
    visible=None,
    audio=False,
):
    """The track table of one playlist; `also_in`/`not_in` narrow it to the tracks
    also in those playlists or in none of them (a comparison's lists)."""
    params = request.GET
    page = queries.playlist_tracks_page(
        playlist_id=playlist_id,
        sort=params.get("sort", queries.DEFAULT_SORT),
        direction=params.get("dir", "asc"),
        query=params.get("q", "")[:200],
        page=params.get("page", 1),
        page_size=_int(params.get("size"), queries.DEFAULT_PAGE_SIZE),
        also_in=also_in,
        not_in=not_in,
    )
    others = queries.tracks_also_in(
        track_ids=[row["track_id"] for row in page.rows],
        playlist_id=playlist_id,
        playlist_ids=visible if visible is not None else visible_playlist_ids(request.user),
    )
    for row in page.rows:
        row["duration"] = _short_duration(row["track_duration_ms"])
        row["also_in"] = others.get(row["track_id"], [])
        row["key_name"] = _key_name(row["audio_key"], row["audio_mode"])
    version = params.get("version", "")
    return table_context(
        page,
        TABLE_COLUMNS + (AUDIO_TABLE_COLUMNS if audio else ()),
        page_url=page_url or reverse("dashboard:playlist", args=[playlist_id]),
        tracks_url=tracks_url or reverse("dashboard:tracks", args=[playlist_id]),
        # The table's search keeps the "as of" version it shows.
        hidden=[("version", version)] if version else (),
        # A comparison's lists are not a playlist's file.
        downloads=() if also_in or not_in else _download_links(playlist_id, page),
    )


def table_context(page, columns, *, page_url, tracks_url, hidden=(), downloads=()):
    """What _track_table.html needs, for any page of rows (see queries.TracksPage);
    `downloads`: (label, URL) links to files of the rows shown."""
    return {
        "page": page,
        "columns": [_column(key, label, page) for key, label in columns],
        "page_url": page_url,
        "tracks_url": tracks_url,
        "page_sizes": queries.PAGE_SIZES,
        "hidden": list(hidden),
        "downloads": list(downloads),
    }


def _download_links(playlist_id, page):
    """(label, URL) per format: the rows the table shows now (its search and sort), every page."""
    shown = {"sort": page.sort, "dir": page.direction}
    if page.query:
        shown["q"] = page.query
    query = urlencode(shown)
    return [
        (label, f"{reverse('dashboard:download', args=[playlist_id, file_format])}?{query}")
        for file_format, label in (("csv", "CSV"), ("json", "JSON"), ("parquet", "Parquet"))
    ]


def _column(key, label, page):
    current = page.sort == key
    return {
        "key": key,
        "label": label,
        "audio": key in AUDIO_SORTS,
        "current": current,
        "aria_sort": ("ascending" if page.direction == "asc" else "descending") if current else "",
        "next_dir": "desc" if current and page.direction == "asc" else "asc",
    }


def json_table(page):
    """The track table as JSON (`?format=json`)."""
    return JsonResponse(
        {
            "total": page.total,
            "page": page.page,
            "pages": page.pages,
            "page_size": page.page_size,
            "sort": page.sort,
            "direction": page.direction,
            "query": page.query,
            "rows": [_json_row(row) for row in page.rows],
        }
    )


def _json_row(row):
    row = dict(row)
    row["added_at"] = row["added_at"].isoformat() if row["added_at"] else None
    return row


# --- the overview ----------------------------------------------------------------------
@login_required
def overview(request):
    entries = list(user_entries(request.user))
    listed_count = len(entries)
    playlist_ids = [entry.playlist_id for entry in entries if entry.is_visible]
    data = queries.user_overview(playlist_ids=playlist_ids)
    charts = []
    if data.figures.tracks:
        charts = [_artists_chart(data.top_artists), _genres_chart(data.genres)]
    figures = data.figures
    context = {
        "overview": data,
        "playlist_count": listed_count,
        "figures": [
            ("Playlists", f"{listed_count:,}", f"{len(data.playlists):,} loaded"),
            ("Tracks", f"{figures.tracks:,}", f"{figures.distinct_tracks:,} distinct"),
            ("Total length", _long_duration(figures.duration_ms), ""),
            ("Artists", f"{figures.artists:,}", "distinct Spotify artists"),
            ("Albums", f"{figures.albums:,}", ""),
            ("Median release year", _year(figures.median_year), ""),
            ("Explicit", _percent(figures.explicit_share), ""),
            ("Genre coverage", _percent(figures.genre_coverage), ""),
        ],
        "playlists": [
            {**p, "duration": _long_duration(p["duration_ms"])}
            for p in sorted(data.playlists, key=lambda p: p["name"].casefold())
        ],
        "charts": charts,
        "chart_data": _chart_data(charts),
    }
    return render(request, "dashboard/overview.html", context)


# --- formatting --------------------------------------------------------------------------
def _percent(share):
    if share is None:
        return "–"
    return f"{share * 100:.0f}%" if share * 100 >= 10 or share == 0 else f"{share * 100:.1f}%"


def _year(year):
    if year is None:
        return "–"
    return f"{year:.0f}" if year == int(year) else f"{year:.1f}"


def _long_duration(ms):
    minutes = round((ms or 0) / 60_000)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _short_duration(ms):
    if ms is None:
        return ""
    seconds = round(ms / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _key_name(key, mode):
    if key is None or not 0 <= key < len(queries.KEY_NAMES):
        return ""
    return queries.KEY_NAMES[key] + {0: " minor", 1: " major"}.get(mode, "")


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _chart_data(charts):
    """What the page script draws (the `rows` are for the templates' value tables)."""
    return {"charts": [{k: v for k, v in chart.items() if k != "rows"} for chart in charts]}

"""The playlist dashboard, its track table, and the overview across a user's playlists.

Thin adapters: the numbers come from `warehouse.queries`, the run states from
`ingestion.models`; this module only shapes them for the templates and the
page scripts. Chart data reaches the page through `json_script` only.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
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
from dashboard.views.playlists import list_order, sort_links, sorted_rows
from ingestion.models import IngestRun, Kind, RunStatus
from warehouse import queries
from warehouse.history import MOMENT_FORMATS, parse_moment
from warehouse.models import Source

# Below this many tracks a playlist shows its figures and table, not charts of
# single giant bars that say nothing.
CHARTS_FROM_TRACKS = 5
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
                context["charts_from"] = CHARTS_FROM_TRACKS
    return render(request, "dashboard/playlist_dashboard.html", context)


def _as_of(request, playlist_id):
    """The version the page shows, and what the "as of" switch lists and says.

    `?version=N` (1 … latest) or `?date=` an ISO date or date and time (the
    version current then, as `manage.py history --as-of` reads it); None: as it
    is now (also for the latest version, or a moment before the first one, which
    the switch then explains)."""
    versions = queries.playlist_versions(playlist_id=playlist_id)
    numbers = [v["version"] for v in versions]
    chosen, problem = _int(request.GET.get("version"), None), ""
    date = request.GET.get("date", "").strip()[:40]
    if date and chosen is None:
        chosen, problem = _version_on(playlist_id, date)
    version = chosen if chosen in numbers[:-1] else None  # the latest is "now"
    return version, {
        "version": version,
        "versions": list(reversed(versions)),
        "date": date,
        "problem": problem,
    }


def _version_on(playlist_id, text):
    """The version current at an ISO date or date and time, or (None, why not)."""
    try:
        moment = parse_moment(text)
    except ValueError:
        return None, f"“{text}” is not {MOMENT_FORMATS}: showing the playlist as it is now."
    version = queries.version_at(playlist_id=playlist_id, when=moment)
    if version is None:
        return None, f"The playlist was first seen after {text}: showing it as it is now."
    return version, ""


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
    missing = queries.missing_details(playlist_id)
    return {
        "missing": missing,
        "missing_sentence": _missing_sentence(missing),
        "run": user_runs(user)
        .filter(playlist_id=playlist_id, kind=Kind.ENRICH)
        .order_by("-queued_at", "-pk")
        .first(),
        "can_enrich": can_look_up_tracks(user),
    }


def _missing_sentence(missing):
    """ "Of its 40 tracks, 3 have no length and 1 no genre": only what is missing."""
    parts = []
    for key, what in (
        ("without_duration", "no length"),
        ("without_release_date", "no release date"),
        ("without_genres", "no genre"),
    ):
        count = missing.get(key) or 0
        if count:
            verb = "" if parts else ("has " if count == 1 else "have ")
            parts.append(f"{count:,} {verb}{what}")
    if not parts:
        return ""
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    rows = missing.get("rows") or 0
    return f"Of its {rows:,} track{'s' if rows != 1 else ''}, {listed}"


def _skipped(run):
    """Items of the playlist that are not tracks, as the last loading run counted them."""
    skipped = (run.items_skipped or {}) if run else {}
    return {"episodes": skipped.get("episode", 0), "unavailable": skipped.get("unavailable", 0)}


def _dashboard_context(request, playlist_id, data, loaded_run):
    visible = list(visible_playlist_ids(request.user))
    charts = []
    if data.headline.tracks >= CHARTS_FROM_TRACKS:
        charts = [
            _artists_chart(data.top_artists),
            _genres_chart(data.genres),
            *_release_charts(data.years),
            _durations_chart(data.durations),
            _timeline_chart(data.timeline),
        ]
        for chart in charts:  # a click on a bar filters the table below
            chart["filterable"] = chart["filter"] is not None
    # The table sorts by audio features at any size; their charts follow the others.
    audio = _audio_context(playlist_id)
    audio_charts = audio["charts"] if audio and charts else []
    return {
        "figures": _headline_figures(data.headline, _skipped(loaded_run)),
        "charts": charts,
        "audio": audio if audio_charts else None,
        # The page script draws every chart of the page, the audio ones too.
        "chart_data": _chart_data(charts + audio_charts),
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


def _chart(
    key,
    title,
    labels,
    values,
    *,
    axis,
    unit="tracks",
    horizontal=False,
    note="",
    filter_name=None,
    filter_values=None,
):
    """One bar chart for the page scripts (charts.js draws any of them the same way).

    `axis`: the category axis's title (with its unit, if any); the value axis is
    titled from `unit`. `filter_name`/`filter_values`: the track table's filter a
    click on each bar sets (see warehouse.queries.TRACK_FILTERS), or None.
    """
    return {
        "id": key,
        "title": title,
        "labels": [str(label) for label in labels],
        "values": list(values),
        "unit": unit,
        "category_title": axis,
        "value_title": f"{unit[:1].upper()}{unit[1:]}",
        "horizontal": horizontal,
        "note": note,
        "filter": filter_name,
        "filter_values": list(filter_values) if filter_name else [],
        "filterable": False,
        "rows": list(zip(labels, values, strict=True)),
    }


def _artists_chart(artists):
    return _chart(
        "artists",
        "Top artists",
        [artist["name"] or artist["artist_id"] for artist in artists],
        [artist["tracks"] for artist in artists],
        axis="Artist",
        horizontal=True,
        filter_name="artist",
        filter_values=[artist["artist_id"] for artist in artists],
    )


def _genres_chart(genres):
    """The genres with tracks; the tracks without any are a sentence, not a bar
    (as a bar it dwarfed every real genre)."""
    labels = [genre["genre"] for genre in genres.genres]
    values = [genre["tracks"] for genre in genres.genres]
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
    if not genres.without_genres:
        note = "A track has the genres of all its artists, so it can count under several."
    return _chart(
        "genres",
        "Top genres",
        labels,
        values,
        axis="Genre",
        horizontal=True,
        note=note,
        filter_name="genre",
        filter_values=labels,
    )


def _release_charts(years):
    unknown = _count_note(years.unknown, "has no known release date", "have no known release date")
    decades = _with_empty_steps({row["decade"]: row["tracks"] for row in years.decades}, step=10)
    by_year = _with_empty_steps({row["year"]: row["tracks"] for row in years.years}, step=1)
    return [
        _chart(
            "decades",
            "Release decades",
            [f"{decade}s" for decade in decades],
            list(decades.values()),
            axis="Release decade",
            note=unknown,
            filter_name="decade",
            filter_values=list(decades),
        ),
        _chart(
            "years",
            "Release years",
            list(by_year),
            list(by_year.values()),
            axis="Release year",
            note=unknown,
            filter_name="year",
            filter_values=list(by_year),
        ),
    ]


def _count_note(count, one, many):
    """ "1 track has …" / "1,467 tracks have …" / "" for none."""
    if not count:
        return ""
    return f"{count:,} track {one}." if count == 1 else f"{count:,} tracks {many}."


def _with_empty_steps(counts, *, step):
    """A histogram with its empty years or decades present as zeros: an axis
    that skips them would squeeze 1955 next to 1977."""
    if not counts:
        return {}
    return {key: counts.get(key, 0) for key in range(min(counts), max(counts) + step, step)}


def _durations_chart(durations):
    return _chart(
        "durations",
        "Track lengths",
        [bucket["label"] for bucket in durations.buckets],
        [bucket["tracks"] for bucket in durations.buckets],
        axis="Length (minutes)",
        note=_count_note(durations.unknown, "has no known length", "have no known length"),
        filter_name="minutes",
        filter_values=[bucket["min_minutes"] for bucket in durations.buckets],
    )


def _timeline_chart(timeline):
    note = _count_note(
        timeline.unknown,
        "has no date of addition (Spotify does not say)",
        "have no date of addition (Spotify does not say)",
    )
    return _chart(
        "timeline",
        "Tracks added per month",
        [month["month"] for month in timeline.months],
        [month["tracks"] for month in timeline.months],
        axis="Month added",
        note=note,
    )


def _audio_context(playlist_id):
    """The audio-feature charts and their note, or None when no row has any."""
    # Most playlists (every one read from Spotify) have none: asking the database
    # whether any row has one spares reading every row's features into Python.
    if not queries.has_audio_features(playlist_id):
        return None
    features = queries.playlist_audio_features(playlist_id)
    charts = [
        _chart("tempo", "Tempo (BPM)", *_split_rows(features.tempo), axis="Tempo (BPM)"),
        _chart(
            "moods",
            "Energy and valence",
            *_split_rows(features.moods),
            axis="Mood (energy × valence, each 0–1)",
            horizontal=True,
        ),
        _chart(
            "danceability",
            "Danceability",
            *_split_rows(features.danceability),
            axis="Danceability (0–1)",
        ),
        _chart(
            "keys",
            "Keys",
            *_split_rows(features.keys),
            axis="Key",
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
    known_total=None,
):
    """The track table of one playlist; `also_in`/`not_in` narrow it to the tracks
    also in those playlists or in none of them (a comparison's lists), of which the
    caller may know how many there are (`known_total`: not counted again)."""
    params = request.GET
    # A chart bar's filter: only a playlist's own table (not a comparison's lists).
    filters = {} if also_in or not_in else queries.track_filters(params)
    page = queries.playlist_tracks_page(
        playlist_id=playlist_id,
        sort=params.get("sort", queries.DEFAULT_SORT),
        direction=params.get("dir", "asc"),
        query=params.get("q", "")[:200],
        page=params.get("page", 1),
        page_size=_int(params.get("size"), queries.DEFAULT_PAGE_SIZE),
        also_in=also_in,
        not_in=not_in,
        filters=filters,
        known_total=known_total,
    )
    # "Also in" is the other playlists as they are now, even on a past version's
    # table (their version numbers are their own).
    with queries.as_of(None):
        others = queries.tracks_also_in(
            track_ids=[row["track_id"] for row in page.rows],
            playlist_id=playlist_id,
            playlist_ids=visible if visible is not None else visible_playlist_ids(request.user),
        )
    for row in page.rows:
        row["duration"] = _short_duration(row["track_duration_ms"])
        row["also_in"] = others.get(row["track_id"], [])
        row["key_name"] = _key_name(row["audio_key"], row["audio_mode"])
    # The search keeps the "as of" version or date and the chart filter it shows.
    hidden = [(name, params[name]) for name in ("version", "date") if params.get(name)]
    hidden += [(name, str(value)) for name, value in filters.items()]
    context = table_context(
        page,
        TABLE_COLUMNS + (AUDIO_TABLE_COLUMNS if audio else ()),
        page_url=page_url or reverse("dashboard:playlist", args=[playlist_id]),
        tracks_url=tracks_url or reverse("dashboard:tracks", args=[playlist_id]),
        hidden=hidden,
        # A comparison's lists are not a playlist's file; a filtered table is not all
        # of it (the downloads know search and sort, not the charts' filters).
        downloads=() if also_in or not_in or filters else _download_links(playlist_id, page),
    )
    context["filters"] = _filter_labels(filters, page)
    return context


FILTER_LABELS = {
    "artist": "Artist",
    "genre": "Genre",
    "decade": "Decade",
    "year": "Year",
    "minutes": "Length",
}


def _filter_labels(filters, page):
    """[(label, value as shown)] of the chart filters the table applies."""
    shown = []
    for name, value in filters.items():
        if name == "artist":  # an id: the name is in the rows shown
            names = [
                artist_name
                for row in page.rows
                for artist_id, artist_name in zip(
                    row.get("artist_ids") or (), row["artist_names"] or (), strict=False
                )
                if artist_id == value
            ]
            value = names[0] if names else value
        elif name == "decade":
            value = f"{value}s"
        elif name == "minutes":
            value = (
                f"{value}+ min" if value >= queries.DURATION_BUCKETS else f"{value}–{value + 1} min"
            )
        shown.append((FILTER_LABELS[name], value))
    return shown


def table_context(page, columns, *, page_url, tracks_url, hidden=(), downloads=(), filters=()):
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
        "filters": list(filters),
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


def json_table(page, **about):
    """The track table as JSON (`?format=json`); `about`: what else the page says
    of these rows (e.g. which versions a diff compares), put first."""
    return JsonResponse(
        {
            **about,
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
        **_overview_table(request, data.playlists),
        "charts": charts,
        "chart_data": _chart_data(charts),
    }
    return render(request, "dashboard/overview.html", context)


@dataclass
class OverviewRow:
    """A line of the overview's table, with what the list sorts read (see LIST_SORTS)."""

    summary: dict[str, Any]
    name: str
    track_count: int
    duration_ms: int
    refreshed_at: datetime | None
    playlist: None = None


def _overview_table(request, playlists):
    """The overview's playlists, searched and sorted as the home page's list is."""
    sort, direction, query = list_order(request.GET)
    rows = [
        OverviewRow(
            summary={**p, "duration": _long_duration(p["duration_ms"])},
            name=p["name"],
            track_count=p["tracks"],
            duration_ms=p["duration_ms"] or 0,
            refreshed_at=p["last_ingested_at"],
        )
        for p in playlists
    ]
    shown = sorted_rows(rows, sort=sort, direction=direction, query=query)
    return {
        "playlists": [row.summary for row in shown],
        "loaded_count": len(rows),
        "sort": sort,
        "direction": direction,
        "query": query,
        "sorts": {link["key"]: link for link in sort_links(sort, direction)},
    }


# --- formatting --------------------------------------------------------------------------
def _percent(share):
    if share is None:
        return "–"
    return f"{share * 100:.0f}%" if share * 100 >= 10 or share == 0 else f"{share * 100:.1f}%"


def _year(year):
    """A median year as a year: 2013.5 (between two) reads as 2013, not a fraction."""
    if year is None:
        return "–"
    return f"{int(year)}"


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

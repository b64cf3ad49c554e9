"""Across a person's playlists: duplicates, comparisons, the overlap map, the library.

Everything reads only the playlists the person may see (`visible_playlist_ids`);
an id asked for that is not one of them answers 404, so another person's
playlists never appear in a group, a comparison or the map. The numbers come
from `warehouse.queries`; this module shapes them for the templates.
"""

import csv
from html import escape
from urllib.parse import quote_plus

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from dashboard.access import visible_playlist_ids
from dashboard.views import analytics
from warehouse import across_cache, queries
from warehouse.models import Playlist

MAX_COMPARED = 10
GROUPS_PER_PAGE = 50
# The overlap map shades a table of at most this many playlists (those sharing the
# most tracks): 200 playlists would be 40,000 cells. The pairs list has them all.
MAP_PLAYLISTS = 40
PAIRS_SHOWN = 200
SHADES = 10  # overlap cells are shaded by one of `shade-0` … `shade-9` (CSS classes: CSP)
LIBRARY_COLUMNS = (
    ("track", "Track"),
    ("artist", "Artist"),
    ("album", "Album"),
    ("year", "Year"),
    ("duration", "Length"),
    ("playlists", "Playlists"),
    ("added", "First added"),
)


def _visible(user):
    return set(visible_playlist_ids(user))


def _cached(user, what, ids, compute, *, compute_if_missing=True):
    """`compute()` over the playlists `ids` (the access rule's), kept in the shared
    cache per person and stamp (`warehouse.across_cache`, where the warm task after
    a load fills the same keys)."""
    return across_cache.cached(user.pk, what, ids, compute, compute_if_missing=compute_if_missing)


def _asked_or_404(visible, asked):
    """The asked ids, in order and once each; 404 if any is not the person's to see."""
    ids = list(dict.fromkeys(asked))
    if any(playlist_id not in visible for playlist_id in ids):
        raise Http404("No such playlist.")
    return ids


def _names(ids):
    return dict(Playlist.objects.filter(pk__in=ids).values_list("playlist_id", "name"))


# --- duplicates --------------------------------------------------------------------------
@login_required
def duplicates(request):
    """Duplicates within one playlist (`?playlist=ID`) or across all of mine;
    `?loose=1` lets versions match the plain song; `?format=csv` exports the groups."""
    visible = _visible(request.user)
    playlist_id = request.GET.get("playlist", "")
    ids = _asked_or_404(visible, [playlist_id]) if playlist_id else sorted(visible)
    loose = request.GET.get("loose") == "1"
    plans = _cached(
        request.user,
        f"duplicates:{'loose' if loose else 'strict'}",
        ids,
        lambda: queries.duplicate_plans(playlist_ids=ids, loose=loose),
    )
    if request.GET.get("format") == "csv":
        groups = queries.duplicate_groups(playlist_ids=ids, loose=loose, plans=plans)
        return _duplicates_csv(groups, playlist_id or "all")
    found = queries.duplicates_page(
        playlist_ids=ids,
        loose=loose,
        page=request.GET.get("page", 1),
        per_page=GROUPS_PER_PAGE,
        plans=plans,
    )
    page = found.page
    context = {
        "total": found.total,
        "shown": found.groups,
        "first_number": found.first_number,
        "page": page,
        "pages": found.pages,
        "page_urls": {
            "previous": "?" + urlencode({**_without(request, "page"), "page": page - 1}),
            "next": "?" + urlencode({**_without(request, "page"), "page": page + 1}),
        },
        "loose": loose,
        "playlist": Playlist.objects.filter(pk=playlist_id).first() if playlist_id else None,
        "playlist_count": len(ids),
        "toggle_url": "?"
        + urlencode(_without(request, "loose", {"loose": "" if loose else "1", "page": ""})),
        "csv_url": "?" + urlencode({**_without(request, "format"), "format": "csv"}),
    }
    return render(request, "dashboard/duplicates.html", context)


def _without(request, name, extra=None):
    params = {key: value for key, value in request.GET.items() if key != name}
    params.update({k: v for k, v in (extra or {}).items() if v})
    return params


def duplicates_rows(groups):
    """One row per member of each group, for the CSV and `manage.py duplicates`."""
    for number, group in enumerate(groups, start=1):
        why = "; ".join(group.explanations)
        for member in group.members:
            yield {
                "group": number,
                "why": why,
                "playlist_id": member["playlist_id"],
                "playlist": member["playlist_name"],
                "position": member["position"] + 1,
                "times": member["occurrences"],
                "track_id": member["track_id"],
                "track": member["track_name"] or "",
                "artists": ", ".join(member["artist_names"]),
                "album": member["album_name"] or "",
                "isrc": member["track_isrc"] or "",
                "length_ms": member["track_duration_ms"],
            }


def _duplicates_csv(groups, scope):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="duplicates-{scope}.csv"'
    rows = list(duplicates_rows(groups))
    writer = csv.DictWriter(response, fieldnames=list(rows[0]) if rows else ["group"])
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _safe_cell(value) for key, value in row.items()})
    return response


def _safe_cell(value):
    """A cell a spreadsheet will not run as a formula (names come from other people)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --- comparing playlists --------------------------------------------------------------
@login_required
def compare(request):
    """Two or more of my playlists side by side (`?p=A&p=B…`); fewer: a picker."""
    visible = _visible(request.user)
    ids = _asked_or_404(visible, request.GET.getlist("p"))[:MAX_COMPARED]
    names = _names(sorted(visible))
    if len(ids) < 2:
        choices = sorted(names.items(), key=lambda item: item[1].casefold())
        return render(request, "dashboard/compare.html", {"choices": choices, "chosen": ids})
    result = _cached(
        request.user,
        across_cache.comparison(ids),
        ids,
        lambda: queries.compare_playlists(playlist_ids=ids),
    )
    context = {
        "comparison": result,
        "playlists": [
            {
                "playlist_id": pid,
                "name": names.get(pid, pid),
                "tracks": result.tracks.per_playlist[pid],
                "only_here": result.only_in[pid],
                "artists": result.artists.per_playlist[pid],
            }
            for pid in ids
        ],
        "figures": _comparison_figures(result),
        "table": _comparison_table(request, ids, names, visible, result),
    }
    return render(request, "dashboard/compare.html", context)


@login_required
def compare_tracks(request):
    """A comparison's track table alone (HTML fragment, or JSON with `?format=json`)."""
    visible = _visible(request.user)
    ids = _asked_or_404(visible, request.GET.getlist("p"))[:MAX_COMPARED]
    if len(ids) < 2:
        raise Http404("Compare at least two playlists.")
    # The comparison's counts, if they are at hand, hold the table's size (a search
    # counts its own).
    result = None
    if not request.GET.get("q", "").strip():
        what = across_cache.comparison(ids)
        result = _cached(request.user, what, ids, None, compute_if_missing=False)
    table = _comparison_table(request, ids, _names(ids), visible, result)
    if request.GET.get("format") == "json":
        return analytics.json_table(table["page"])
    return render(request, "dashboard/_track_table.html", {"table": table})


def _comparison_table(request, ids, names, visible, result=None):
    """The shared tracks (`?set=shared`) or those only in one playlist (`?set=N`);
    `result`, the comparison of `ids` if at hand, says how many each list has."""
    chosen = request.GET.get("set", "shared")
    index = analytics._int(chosen, -1)
    if 0 <= index < len(ids):
        base, also_in, not_in = ids[index], (), [pid for pid in ids if pid != ids[index]]
        title = f"Only in {names.get(ids[index], ids[index])}"
        known_total = result.only_in[base] if result else None
    else:
        chosen, base, also_in, not_in = "shared", ids[0], ids[1:], ()
        title = "In all of them"
        known_total = result.tracks.shared if result else None
    query = [("p", pid) for pid in ids]
    table = analytics._table_context(
        request,
        base,
        also_in=also_in,
        not_in=not_in,
        page_url=reverse("dashboard:compare"),
        tracks_url=reverse("dashboard:compare-tracks"),
        visible=visible,
        known_total=known_total,
    )
    table["hidden"] = [*query, ("set", chosen)]
    table["sets"] = [
        {
            "label": "In all of them",
            "url": "?" + urlencode([*query, ("set", "shared")]),
            "current": chosen == "shared",
        },
        *(
            {
                "label": f"Only in {names.get(pid, pid)}",
                "url": "?" + urlencode([*query, ("set", str(n))]),
                "current": chosen == str(n),
            }
            for n, pid in enumerate(ids)
        ),
    ]
    table["title"] = title
    return table


def _comparison_figures(result):
    return [
        ("Tracks in all", f"{result.tracks.shared:,}", f"of {result.tracks.union:,} in any"),
        ("Track similarity", analytics._percent(result.tracks.jaccard), "Jaccard index"),
        ("Artists in all", f"{result.artists.shared:,}", f"of {result.artists.union:,} in any"),
        ("Artist similarity", analytics._percent(result.artists.jaccard), "Jaccard index"),
        ("Genres in all", f"{result.genres.shared:,}", f"of {result.genres.union:,} in any"),
    ]


# --- the overlap map -----------------------------------------------------------------
@login_required
def overlap(request):
    """Shared tracks between every pair of my playlists: a shaded table, and the
    pairs sorted by overlap; each cell links to the comparison."""
    ids = sorted(_visible(request.user))
    data = _cached(request.user, "overlap", ids, lambda: queries.overlap_matrix(playlist_ids=ids))
    names = {p["playlist_id"]: p["name"] for p in data.playlists}
    mapped = _most_shared(data)
    compare_url = reverse("dashboard:compare")  # once: 1,600 cells would reverse it 1,600 times
    most = max(
        (
            data.shared(a["playlist_id"], b["playlist_id"])
            for a in mapped
            for b in mapped
            if a is not b
        ),
        default=0,
    )
    rows = []
    for row in mapped:
        cells = [
            _cell(
                row,
                column,
                data.shared(row["playlist_id"], column["playlist_id"]),
                most,
                compare_url,
            )
            for column in mapped
        ]
        # Each cell's text is escaped by `_Cell.html`.
        html = mark_safe("".join(cell.html() for cell in cells))
        rows.append({"playlist": row, "cells": cells, "html": html})
    pairs = [
        {
            **pair,
            "a_name": names.get(pair["a"], pair["a"]),
            "b_name": names.get(pair["b"], pair["b"]),
            "url": _compare_url(pair["a"], pair["b"], compare_url),
            "similarity": analytics._percent(pair["jaccard"]),
        }
        for pair in data.pairs[:PAIRS_SHOWN]
    ]
    context = {
        "overlap": data,
        "mapped": mapped,
        "rows": rows,
        "pairs": pairs,
        "pairs_total": len(data.pairs),
    }
    return render(request, "dashboard/overlap.html", context)


def _most_shared(data):
    """The playlists the map shows: all, or the MAP_PLAYLISTS sharing the most tracks."""
    if len(data.playlists) <= MAP_PLAYLISTS:
        return data.playlists
    shared = dict.fromkeys((p["playlist_id"] for p in data.playlists), 0)
    for pair in data.pairs:
        shared[pair["a"]] += pair["shared"]
        shared[pair["b"]] += pair["shared"]
    top = set(sorted(shared, key=lambda pid: -shared[pid])[:MAP_PLAYLISTS])
    return [p for p in data.playlists if p["playlist_id"] in top]


class _Cell(dict):
    """A cell of the map, and its `<td>` (`html`): 1,600 cells through the template
    engine, or through format_html, were most of a warm map's time."""

    def html(self):
        label = escape(self["label"])
        if self["same"]:
            return f'<td class="num overlap-self" title="{label}">{self["shared"]:,}</td>'
        return (
            f'<td class="num shade-{int(self["shade"])}"><a href="{escape(self["url"])}" '
            f'title="{label}" aria-label="{label}">{self["shared"]:,}</a></td>'
        )


def _cell(row, column, shared, most, compare_url):
    same = row["playlist_id"] == column["playlist_id"]
    shade = 0 if same or not most else min(SHADES - 1, round(shared / most * (SHADES - 1)))
    return _Cell(
        shared=shared,
        same=same,
        shade=shade,
        url=None if same else _compare_url(row["playlist_id"], column["playlist_id"], compare_url),
        label=f"{row['name']} and {column['name']}: {shared:,} shared tracks",
    )


def _compare_url(a, b, base):
    # urlencode's output, written out: the map asks for 1,600 of these.
    return f"{base}?p={quote_plus(a)}&p={quote_plus(b)}"


# --- my library -------------------------------------------------------------------------
@login_required
def library(request):
    """Every distinct track across my playlists, how many each is in, figures and charts."""
    ids = sorted(_visible(request.user))
    summary = _cached(
        request.user, "library", ids, lambda: queries.library_summary(playlist_ids=ids)
    )
    context = {"summary": summary, "playlist_count": len(ids), "figures": None}
    if summary.figures.tracks:
        charts = [
            analytics._artists_chart(summary.top_artists),
            analytics._genres_chart(summary.genres),
            *analytics._release_charts(summary.years),
            analytics._durations_chart(summary.durations),
        ]
        context.update(
            figures=_library_figures(summary.figures, len(ids)),
            charts=charts,
            chart_data=analytics._chart_data(charts),
            table=_library_table(request, ids, summary),
        )
    return render(request, "dashboard/library.html", context)


@login_required
def library_tracks(request):
    """The library's table alone (HTML fragment, or JSON with `?format=json`)."""
    ids = sorted(_visible(request.user))
    # The library's count of distinct tracks, if its figures are at hand.
    summary = _cached(request.user, "library", ids, None, compute_if_missing=False)
    table = _library_table(request, ids, summary)
    if request.GET.get("format") == "json":
        return analytics.json_table(table["page"])
    return render(request, "dashboard/_track_table.html", {"table": table})


def _library_table(request, ids, summary=None):
    params = request.GET
    page = queries.library_tracks_page(
        distinct_tracks=summary.figures.distinct_tracks if summary else None,
        playlist_ids=ids,
        sort=params.get("sort", queries.LIBRARY_DEFAULT_SORT),
        direction=params.get("dir", "desc"),
        query=params.get("q", "")[:200],
        page=params.get("page", 1),
        page_size=analytics._int(params.get("size"), queries.DEFAULT_PAGE_SIZE),
        min_playlists=params.get("min", 1),
    )
    for row in page.rows:
        row["duration"] = analytics._short_duration(row["track_duration_ms"])
    hidden = [("min", params["min"])] if params.get("min") else []
    return analytics.table_context(
        page,
        LIBRARY_COLUMNS,
        page_url=reverse("dashboard:library"),
        tracks_url=reverse("dashboard:library-tracks"),
        hidden=hidden,
    )


def _library_figures(figures, playlist_count):
    return [
        ("Distinct tracks", f"{figures.distinct_tracks:,}", f"in {playlist_count:,} playlists"),
        ("Playlist entries", f"{figures.tracks:,}", "a track in 3 playlists counts 3 times"),
        ("Total length", analytics._long_duration(figures.duration_ms), "of every entry"),
        ("Artists", f"{figures.artists:,}", "distinct Spotify artists"),
        ("Albums", f"{figures.albums:,}", ""),
        ("Median release year", analytics._year(figures.median_year), "of the distinct tracks"),
        ("Explicit", analytics._percent(figures.explicit_share), "of the entries"),
        ("Genre coverage", analytics._percent(figures.genre_coverage), "of the entries"),
        ("Local files", f"{figures.local_files:,}", ""),
    ]

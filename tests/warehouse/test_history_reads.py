"""The fast reads of history against plain references: a version's track table
(joined spans, the spans-only page in order) and the diff (from the spans alone,
paged by the database) give what `playlist_rows_as_of` of each version implies."""

import datetime as dt
import random

import pytest

from devtools.synthetic.snapshots import TrackFactory, snapshot_of
from ingestion.transform import transform_snapshot
from warehouse import queries
from warehouse.history import longest_increasing, longest_increasing_length
from warehouse.loader import load_playlist

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PLAYLIST = "p-reads"


@pytest.fixture
def aged_playlist():
    """60 tracks through 12 versions of removals, additions, moves and repeats,
    with a few insertions at one spot (so keys get renumbered once)."""
    rng = random.Random(7)
    pool = TrackFactory.create_batch(120)
    order, spare = pool[:60], pool[60:]
    for n in range(12):
        if n:
            for track in rng.sample(order, 3):
                order.remove(track)
            for _ in range(3):
                order.insert(rng.randrange(len(order) + 1), spare.pop())
            for track in rng.sample(order, 2):
                order.remove(track)
                order.insert(rng.randrange(len(order) + 1), track)
            for _ in range(n % 3):  # crowd one spot
                order.insert(1, spare.pop())
        items = [*order, order[5]] if n % 4 == 1 else order  # a repeat now and then
        snapshot = snapshot_of(items, playlist_id=PLAYLIST, name="Reads", snapshot_id=f"s{n}")
        load_playlist(snapshot, transform_snapshot(snapshot).rows, now=T0 + dt.timedelta(days=n))
    return queries.latest_version(playlist_id=PLAYLIST)


def reference_diff(from_version, to_version):
    """The diff as it was computed before: both versions' whole rows, compared in Python."""
    before = queries.playlist_rows_as_of(playlist_id=PLAYLIST, version=from_version)
    after = queries.playlist_rows_as_of(playlist_id=PLAYLIST, version=to_version)
    old_position = {row["track_id"]: row["position"] for row in before}
    common = [row for row in after if row["track_id"] in old_position]
    kept = longest_increasing([old_position[row["track_id"]] for row in common])
    new_ids = {row["track_id"] for row in after}
    return {
        "added": [row for row in after if row["track_id"] not in old_position],
        "removed": [row for row in before if row["track_id"] not in new_ids],
        "moved": [
            {**row, "position_before": old_position[row["track_id"]]}
            for index, row in enumerate(common)
            if index not in kept
        ],
    }


def pairs(latest):
    return [(1, latest), (latest, 1), (3, 4), (5, 9), (2, 2), (0, 3), (4, latest + 5)]


def test_the_diff_of_any_two_versions_equals_comparing_their_whole_rows(aged_playlist):
    for from_version, to_version in pairs(aged_playlist):
        expected = reference_diff(from_version, to_version)
        diff = queries.playlist_diff(
            playlist_id=PLAYLIST, from_version=from_version, to_version=to_version
        )
        for kind in queries.DIFF_KINDS:
            assert getattr(diff, kind) == expected[kind], (from_version, to_version, kind)
    assert any(reference_diff(1, aged_playlist)[kind] for kind in queries.DIFF_KINDS)


@pytest.mark.parametrize("kind", queries.DIFF_KINDS)
def test_the_diff_page_sorts_searches_and_pages_like_sorting_the_whole_list(aged_playlist, kind):
    from_version, to_version = 1, aged_playlist
    expected = reference_diff(from_version, to_version)[kind]
    assert len(expected) > 1
    sorts = {
        "position": lambda row: row["position"],
        "track": lambda row: row["track_name"].lower(),
        "duration": lambda row: row["track_duration_ms"],
    }
    if kind == "moved":
        sorts["before"] = lambda row: row["position_before"]
    for sort, key in sorts.items():
        for direction in ("asc", "desc"):
            ordered = sorted(expected, key=key, reverse=direction == "desc")
            result = queries.playlist_diff_page(
                playlist_id=PLAYLIST,
                from_version=from_version,
                to_version=to_version,
                kind=kind,
                sort=sort,
                direction=direction,
                page_size=25,
            )
            assert result.counts == {k: len(v) for k, v in reference_diff(1, to_version).items()}
            shown = [_listed(row) for row in result.tracks.rows]
            assert [row[0] for row in shown] == [row["track_id"] for row in ordered][:25]
            assert shown == [_listed(row) for row in ordered][:25], (sort, direction)
    # A search is done by the database; its total and pages follow it.
    word = expected[0]["track_name"].split()[0]
    matching = [row for row in expected if word.lower() in row["track_name"].lower()]
    result = queries.playlist_diff_page(
        playlist_id=PLAYLIST, from_version=1, to_version=to_version, kind=kind, query=word
    )
    assert result.tracks.total == len(matching)
    assert [row["track_id"] for row in result.tracks.rows] == [r["track_id"] for r in matching]


@pytest.mark.parametrize("sort", ["track", "album"])
def test_every_page_of_a_diff_sorted_by_a_column_is_that_slice_of_the_sorted_list(
    aged_playlist, sort
):
    """Page after page (the database ranks the listed tracks with an offset); by
    album every track ties, so the pages are the diff's own order either way."""
    column = {"track": "track_name", "album": "album_name"}[sort]
    for from_version, to_version in ((1, aged_playlist), (aged_playlist, 2)):
        for kind in queries.DIFF_KINDS:
            expected = reference_diff(from_version, to_version)[kind]
            for direction in ("asc", "desc"):
                ordered = (
                    _descending_with_ties_in_order(expected, column)
                    if direction == "desc"
                    else sorted(expected, key=lambda row: row[column].lower())
                )
                pages = [
                    queries.playlist_diff_page(
                        playlist_id=PLAYLIST,
                        from_version=from_version,
                        to_version=to_version,
                        kind=kind,
                        sort=sort,
                        direction=direction,
                        page=page,
                        page_size=25,
                    ).tracks.rows
                    for page in range(1, -(-len(expected) // 25) + 1)
                ]
                seen = [_listed(row) for rows in pages for row in rows]
                assert seen == [_listed(row) for row in ordered], (from_version, kind, direction)


def _descending_with_ties_in_order(rows, column):
    """Rows by `column` descending, rows of one value in their given order."""
    groups = {}
    for row in rows:
        groups.setdefault(row[column].lower(), []).append(row)
    return [row for value in sorted(groups, reverse=True) for row in groups[value]]


def test_the_diff_pages_past_the_first_and_clamps_the_rest(aged_playlist):
    added = reference_diff(1, aged_playlist)["added"]
    assert len(added) > 25
    second = queries.playlist_diff_page(
        playlist_id=PLAYLIST, from_version=1, to_version=aged_playlist, page=2, page_size=25
    )
    assert (second.tracks.page, second.tracks.pages) == (2, -(-len(added) // 25))
    assert [row["track_id"] for row in second.tracks.rows] == [
        row["track_id"] for row in added[25:50]
    ]
    odd = queries.playlist_diff_page(
        playlist_id=PLAYLIST, from_version=1, to_version=2, kind="nope", sort="before", page="x"
    )
    assert (odd.kind, odd.tracks.sort, odd.tracks.page) == ("added", "position", 1)
    same = queries.playlist_diff_page(playlist_id=PLAYLIST, from_version=4, to_version=4)
    assert same.counts == {"added": 0, "removed": 0, "moved": 0} and same.tracks.rows == []


def _listed(row):
    return (
        row["track_id"],
        row["position"],
        row["occurrences"],
        row.get("position_before"),
        row["track_name"],
    )


@pytest.mark.parametrize("sort", ["position", "track", "year"])
def test_the_track_table_as_of_a_version_is_that_versions_rows(aged_playlist, sort):
    for version in (1, 4, 7, aged_playlist - 1):
        whole = queries.playlist_rows_as_of(playlist_id=PLAYLIST, version=version)
        for direction in ("asc", "desc"):
            key = {
                "position": lambda row: row["position"],
                "track": lambda row: (row["track_name"].lower(), row["position"]),
                "year": lambda row: (row["release_year"] is None, row["release_year"] or 0),
            }[sort]
            ordered = sorted(whole, key=key, reverse=direction == "desc")
            seen = []
            for page in (1, 2, 3):
                with queries.as_of(version):
                    result = queries.playlist_tracks_page(
                        playlist_id=PLAYLIST,
                        sort=sort,
                        direction=direction,
                        page=page,
                        page_size=25,
                    )
                assert result.total == len(whole)
                seen += [(r["track_id"], r["position"], r["occurrences"]) for r in result.rows]
            expected = [(r["track_id"], r["position"], r["occurrences"]) for r in ordered]
            if sort == "year":  # ties in any order: compare the set and the places
                assert sorted(seen) == sorted(expected)
            else:
                assert seen == expected, (version, direction)


def _longest_increasing_before(keys):
    """`longest_increasing` as it was before its in-order shortcut (a bisect per key)."""
    import bisect

    tails, tail_index, previous = [], [], {}
    for index, key in enumerate(keys):
        if key is None:
            continue
        length = bisect.bisect_left(tails, key)
        if length == len(tails):
            tails.append(key)
            tail_index.append(index)
        else:
            tails[length] = key
            tail_index[length] = index
        if length:
            previous[index] = tail_index[length - 1]
    kept, index = set(), tail_index[-1] if tail_index else None
    while index is not None:
        kept.add(index)
        index = previous.get(index)
    return kept


def _longest_length(keys):
    """The length of a longest strictly increasing run, by the O(n²) recurrence."""
    best = {}
    for i, key in enumerate(keys):
        if key is not None:
            best[i] = 1 + max([best[j] for j in best if keys[j] < key], default=0)
    return max(best.values(), default=0)


def test_longest_increasing_keeps_its_choice_and_is_longest_and_its_length_is_counted_alone():
    rng = random.Random(3)
    for size in (0, 1, 2, 5, 30, 200):
        for _ in range(20):
            keys = list(range(size))
            for _ in range(rng.randrange(size + 1)):  # mostly in order, some moved
                keys.insert(rng.randrange(size + 1), keys.pop(rng.randrange(size)))
            keys = [None if rng.random() < 0.1 else key for key in keys]
            kept = longest_increasing(keys)
            assert kept == _longest_increasing_before(keys)
            assert longest_increasing_length(keys) == len(kept)
            chosen = [keys[i] for i in sorted(kept)]
            assert None not in chosen and chosen == sorted(set(chosen))
            if size <= 30:
                assert len(kept) == _longest_length(keys)


@pytest.mark.parametrize("sort", ["position", "track"])
def test_a_page_past_the_end_as_of_a_version_is_its_last_page(aged_playlist, sort):
    whole = queries.playlist_rows_as_of(playlist_id=PLAYLIST, version=4)
    for direction in ("asc", "desc"):
        with queries.as_of(4):
            last = queries.playlist_tracks_page(
                playlist_id=PLAYLIST, sort=sort, direction=direction, page=3, page_size=25
            )
            past = queries.playlist_tracks_page(
                playlist_id=PLAYLIST, sort=sort, direction=direction, page=99, page_size=25
            )
            junk = queries.playlist_tracks_page(
                playlist_id=PLAYLIST, sort=sort, direction=direction, page="x", page_size=25
            )
        assert (past.page, past.pages, past.total) == (3, 3, len(whole))
        assert (last.page, last.pages, last.total) == (3, 3, len(whole))
        assert past.rows == last.rows and len(last.rows) == len(whole) - 50
        assert junk.page == 1 and len(junk.rows) == 25


def test_the_track_table_as_of_a_version_before_the_first_is_empty(aged_playlist):
    for sort in ("position", "track"):
        with queries.as_of(0):
            empty = queries.playlist_tracks_page(playlist_id=PLAYLIST, sort=sort, page=2)
        assert (empty.rows, empty.total, empty.page, empty.pages) == ([], 0, 1, 1)

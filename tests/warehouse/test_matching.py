"""The duplicate rules, case by case (pure Python: no database)."""

import pytest

from warehouse.matching import (
    Reason,
    TrackFacts,
    candidate_pairs,
    group_tracks,
    match_reason,
    normalise_title,
)


def song(title, *, track_id=None, artist="a1", duration_ms=200_000, isrc=None):
    return TrackFacts(
        track_id=track_id or f"id-{title}-{artist}-{duration_ms}",
        title=title,
        primary_artist=artist,
        duration_ms=duration_ms,
        isrc=isrc,
    )


def test_the_same_id_is_the_same_track():
    assert match_reason(song("A", track_id="t1"), song("B", track_id="t1")) == Reason.SAME_ID


def test_the_same_isrc_across_single_and_album_is_the_same_recording():
    single = song("Hit - Single Version", track_id="s", isrc="USABC2400001", duration_ms=180_000)
    album = song("Hit", track_id="a", isrc="usabc2400001", duration_ms=240_000, artist="a9")
    assert match_reason(single, album) == Reason.SAME_ISRC


@pytest.mark.parametrize(
    "a, b",
    [
        ("Don't Stop Me Now", "dont stop me now"),
        ("Café del Mar", "CAFE DEL MAR"),
        ("Jóga", "Joga"),
        ("Song (feat. Guest)", "Song [ft. Guest]"),
        ("Song (feat. Guest)", "Song - featuring Guest"),
        ("Song feat. Guest", "Song (Feat. GUEST)"),
        ("Ｓｏｎｇ", "Song"),  # full-width letters (NFKC)
        ("Seven Nation Army", "Seven Nation Armyy"),  # a typo in a long title
    ],
)
def test_titles_that_differ_only_in_form_are_the_same_song(a, b):
    assert match_reason(song(a, track_id="x"), song(b, track_id="y")) == Reason.SAME_SONG


@pytest.mark.parametrize(
    "variant",
    [
        "Song - Remastered 2011",
        "Song (2011 Remaster)",
        "Song (Live)",
        "Song - Live at Wembley",
        "Song (Acoustic)",
        "Song - Radio Edit",
        "Song (Club Remix)",
        "Song (Demo)",
        "Song (Instrumental)",
        "Song (Karaoke Version)",
        "Song (Sped Up)",
        "Song (feat. Guest)",
    ],
)
def test_a_version_is_not_the_plain_song_unless_loose(variant):
    plain, other = song("Song", track_id="x"), song(variant, track_id="y")
    assert match_reason(plain, other) is None
    assert match_reason(plain, other, loose=True) == Reason.SAME_SONG


def test_two_remasters_of_different_years_differ_and_of_the_same_year_match():
    a = song("Song - Remastered 2011", track_id="x")
    assert match_reason(a, song("Song - 2011 Remaster", track_id="y")) == Reason.SAME_SONG
    assert match_reason(a, song("Song - Remastered 2015", track_id="z")) is None


def test_a_word_in_the_title_is_not_a_version_mark():
    assert normalise_title("Live Forever").variants == frozenset()
    assert normalise_title("Song - Part Two").base == "song part two"
    assert normalise_title("Song - Live").variants == {"live"}


@pytest.mark.parametrize("delta, same", [(0, True), (2_000, True), (-2_000, True), (2_001, False)])
def test_lengths_within_two_seconds(delta, same):
    a = song("Song", track_id="x", duration_ms=200_000)
    b = song("Song", track_id="y", duration_ms=200_000 + delta)
    assert (match_reason(a, b) == Reason.SAME_SONG) is same


def test_the_same_title_by_different_artists_is_not_the_same_song():
    a, b = (
        song("Hallelujah", track_id="x", artist="cohen"),
        song("Hallelujah", track_id="y", artist="buckley"),
    )
    assert match_reason(a, b) is None
    assert match_reason(a, b, loose=True) is None


def test_different_short_titles_are_not_the_same_song():
    assert match_reason(song("Hello", track_id="x"), song("Help", track_id="y")) is None


def test_an_unknown_length_never_matches_by_title():
    a, b = song("Song", track_id="x", duration_ms=None), song("Song", track_id="y")
    assert match_reason(a, b) is None


def test_groups_join_chains_and_keep_their_reasons():
    a = song("Song", track_id="a", isrc="ISRC1")
    b = song("Song - Single", track_id="b", isrc="ISRC1", duration_ms=150_000)
    c = song("song", track_id="c", duration_ms=201_000)
    d = song("Other", track_id="d")
    (group,) = group_tracks([a, b, c, d], candidate_pairs([a, b, c, d]))
    ids, links = group
    assert sorted(ids) == ["a", "b", "c"]
    assert {(link.track_a, link.track_b, link.reason) for link in links} == {
        ("a", "b", Reason.SAME_ISRC),
        ("a", "c", Reason.SAME_SONG),
    }
    assert all(link.explanation for link in links)

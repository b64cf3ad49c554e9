import pytest

from ingestion.references import InvalidPlaylistReference, parse_playlist_id

PLAYLIST_ID = "3cEYpjA9oz9GiPac4AsH4n"


@pytest.mark.parametrize(
    "reference",
    [
        PLAYLIST_ID,
        f"  {PLAYLIST_ID}\n",
        f"spotify:playlist:{PLAYLIST_ID}",
        f"spotify:user:someone:playlist:{PLAYLIST_ID}",
        f"https://open.spotify.com/playlist/{PLAYLIST_ID}",
        f"https://open.spotify.com/playlist/{PLAYLIST_ID}?si=a1b2c3d4e5f64a7b",
        f"https://open.spotify.com/playlist/{PLAYLIST_ID}?si=abc&pi=u-xyz&nd=1",
        f"https://open.spotify.com/intl-de/playlist/{PLAYLIST_ID}?si=x",
        f"https://open.spotify.com/intl-pt-BR/playlist/{PLAYLIST_ID}",
        f"http://open.spotify.com/playlist/{PLAYLIST_ID}/",
        f"open.spotify.com/playlist/{PLAYLIST_ID}",
        f"https://open.spotify.com/embed/playlist/{PLAYLIST_ID}",
        f"https://open.spotify.com/user/someone/playlist/{PLAYLIST_ID}",
    ],
)
def test_it_accepts_every_form_people_paste(reference):
    assert parse_playlist_id(reference) == PLAYLIST_ID


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy", "album link"),
        ("https://open.spotify.com/track/11dFghVXANMlKmJXsNCbNl?si=x", "track link"),
        ("https://open.spotify.com/intl-fr/artist/0TnOYISbd1XYRBk9myaseg", "artist link"),
        ("spotify:album:4aawyAB9vmqN3uQ7FjRGTy", "album URI"),
        ("https://example.com/playlist/3cEYpjA9oz9GiPac4AsH4n", "is not a Spotify playlist"),
        ("3cEYpjA9oz9GiPac4AsH4", "is not a Spotify playlist"),  # 21 characters
        ("hello world", "is not a Spotify playlist"),
        ("", "is not a Spotify playlist"),
    ],
)
def test_it_refuses_anything_else_and_says_what_is_accepted(reference, says):
    with pytest.raises(InvalidPlaylistReference) as error:
        parse_playlist_id(reference)
    assert says in str(error.value)
    assert "spotify:playlist:" in str(error.value)

"""The advice for a playlist Spotify answers 404 for matches the app's mode (issue 16)."""

from spotify_client import not_found_message


def test_in_development_mode_it_does_not_say_make_it_public(settings):
    settings.SPOTIFY_DEVELOPMENT_MODE = True
    message = not_found_message("0123456789abcdefghijkl")
    assert "make the playlist public" not in message
    assert "own or collaborate on" in message


def test_with_extended_quota_public_helps(settings):
    settings.SPOTIFY_DEVELOPMENT_MODE = False
    assert "make the playlist public" in not_found_message("0123456789abcdefghijkl")

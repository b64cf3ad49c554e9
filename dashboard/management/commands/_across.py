"""What `compare` and `duplicates` share: playlist references and whose playlists."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from accounts import library
from ingestion.references import InvalidPlaylistReference, parse_playlist_id
from warehouse.models import Playlist


def user_named(name):
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise CommandError(f"No user named {name!r}. Check the name (the admin lists users).")
    return user


def playlist_ids(references, user=None):
    """The warehouse ids of `references` (Spotify ids, URIs or links, or the ids of
    imported playlists); with `user`, only playlists that person may see."""
    visible = set(library.visible_playlist_ids(user)) if user is not None else None
    ids = []
    for reference in references:
        playlist_id = _resolve(reference)
        if visible is not None and playlist_id not in visible:
            raise CommandError(
                f"{reference}: not one of {user.get_username()}'s playlists "
                "(they see only playlists they loaded themselves)."
            )
        ids.append(playlist_id)
    return list(dict.fromkeys(ids))


def _resolve(reference):
    if Playlist.objects.filter(pk=reference).exists():
        return reference  # also the ids of imports (export:…, mpd:…)
    try:
        playlist_id = parse_playlist_id(reference)
    except InvalidPlaylistReference as error:
        raise CommandError(f"{reference}: {error}") from None
    if not Playlist.objects.filter(pk=playlist_id).exists():
        raise CommandError(
            f"{reference}: not in the warehouse. Load it first: manage.py ingest {playlist_id}"
        )
    return playlist_id


def names(ids):
    return dict(Playlist.objects.filter(pk__in=ids).values_list("playlist_id", "name"))


def percent(share):
    return "–" if share is None else f"{share * 100:.1f}%"

"""Who may see a playlist's data: the rule, and the only code that changes it.

A person sees a playlist's warehouse data only if they loaded it themselves:
a run with their own Spotify token read its items, or they imported the file.
It is recorded per (person, playlist) on their list entry (UserPlaylist.access):

- `add_to_list` puts a playlist on a person's list, *waiting* until they load it;
- `grant` when their token read the items (or their import loaded it), kept
  while their later reads keep succeeding;
- `restore_entry` puts back, exactly, an entry its person just removed (Undo);
- `refuse` when Spotify refuses their token (404 or 403): the data is hidden
  again and the reason kept, until a later read of theirs succeeds.

Being on the list is not enough, and knowing a playlist's id is nothing: every
page, JSON endpoint, export and comparison asks `visible_playlist_ids` or
`may_see` (through dashboard.access), never UserPlaylist directly.
"""

from datetime import datetime

from django.utils import timezone

from accounts.models import Access, UserPlaylist


def visible_playlist_ids(user):
    """The ids of the playlists whose data `user` may see (a lazy queryset)."""
    return UserPlaylist.objects.visible().filter(user=user).values_list("playlist_id", flat=True)


def may_see(user, playlist_id):
    return UserPlaylist.objects.visible().filter(user=user, playlist_id=playlist_id).exists()


def viewers(playlist_ids):
    """The ids of the people who may see the data of any of these playlists (the
    same rule, asked the other way round: whose pages a load of them changes)."""
    ids = list(dict.fromkeys(playlist_ids))
    found = set()
    for start in range(0, len(ids), 500):  # under SQLite's parameter limit
        found.update(
            UserPlaylist.objects.visible()
            .filter(playlist_id__in=ids[start : start + 500])
            .values_list("user_id", flat=True)
        )
    return sorted(found)


def add_to_list(user, playlist_id):
    """Put the playlist on the user's list (waiting, unless it was there already)."""
    entry, _ = UserPlaylist.objects.get_or_create(user=user, playlist_id=playlist_id)
    return entry


def entry_state(entry):
    """What restore_entry needs to put a removed entry back exactly as it was."""
    return {
        "playlist_id": entry.playlist_id,
        "access": entry.access,
        "access_reason": entry.access_reason,
        "access_changed_at": entry.access_changed_at.isoformat()
        if entry.access_changed_at
        else None,
    }


def restore_entry(user, state):
    """Undo a removal: the entry as entry_state saw it (the caller keeps that state
    where the user cannot forge it, the server-side session). An entry added again
    meanwhile stays as it is."""
    changed = state.get("access_changed_at")
    entry, _ = UserPlaylist.objects.get_or_create(
        user=user,
        playlist_id=state["playlist_id"],
        defaults={
            "access": state["access"],
            "access_reason": state["access_reason"],
            "access_changed_at": datetime.fromisoformat(changed) if changed else None,
        },
    )
    return entry


def grant(user_id, playlist_id, *, add=False):
    """`user_id` loaded the playlist themselves: they may see its data. Returns
    whether their entry changed.

    Only entries already on the list change, unless `add` (a file the person
    imported joins their list): a playlist removed from the list while its run
    was working does not come back.
    """
    if add:
        UserPlaylist.objects.get_or_create(user_id=user_id, playlist_id=playlist_id)
    return _set(user_id, playlist_id, Access.GRANTED, "")


def refuse(user_id, playlist_id, reason):
    """Spotify refused `user_id`'s token for the playlist: hide its data from them."""
    return _set(user_id, playlist_id, Access.REFUSED, reason)


def _set(user_id, playlist_id, access, reason):
    """Whether the entry changed (grant and refuse return it: a change of what the
    person sees is worth warming their pages for)."""
    entries = UserPlaylist.objects.filter(user_id=user_id, playlist_id=playlist_id)
    changed = entries.exclude(access=access, access_reason=reason).update(
        access=access, access_reason=reason, access_changed_at=timezone.now()
    )
    return changed > 0

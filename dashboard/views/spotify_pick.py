"""Pick from my Spotify: the person's Spotify playlists, the readable ones one click away.

Lives in the dashboard (not accounts) because it adds playlists to the list and
queues their runs, which accounts must not know about.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render

from accounts.connections import client_for_connection, connection_for, spotify_playlist_choices
from accounts.models import ConnectionStatus
from dashboard.access import listed_playlist_ids
from dashboard.library import user_playlist_add
from spotify_client import SpotifyError


@login_required
def playlists(request):
    """Pick from my Spotify: the person's playlists, readable ones selectable."""
    connection = connection_for(request.user)
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return redirect("spotify")
    try:
        choices = spotify_playlist_choices(
            connection=connection,
            client=client_for_connection(connection),
            listed_ids=listed_playlist_ids(request.user),
        )
    except SpotifyError as error:
        return render(
            request,
            "accounts/spotify_playlists.html",
            {"connection": connection, "error": str(error), "choices": []},
            status=502,
        )
    if request.method == "POST":
        return _add_chosen(request, choices)
    context = {
        "connection": connection,
        "choices": choices,
        "readable_count": sum(1 for choice in choices if choice.readable),
    }
    return render(request, "accounts/spotify_playlists.html", context)


def _add_chosen(request, choices):
    readable = {choice.playlist_id for choice in choices if choice.readable}
    if request.POST.get("all"):
        wanted = [choice.playlist_id for choice in choices if choice.readable]
    else:
        wanted = request.POST.getlist("playlist")
    # Only what the listing offers: nothing outside this person's Spotify library.
    chosen = [playlist_id for playlist_id in dict.fromkeys(wanted) if playlist_id in readable]
    if not chosen:
        messages.error(request, "Choose at least one playlist this app can read.")
        return redirect("spotify-playlists")
    names = {choice.playlist_id: choice.name for choice in choices}
    with transaction.atomic():
        added = [
            user_playlist_add(user=request.user, reference=pid, name=names.get(pid) or "")[0]
            for pid in chosen
        ]
    if len(added) == 1:
        return redirect("dashboard:run", run_id=added[0].pk)
    messages.success(
        request, f"Added {len(added)} playlists; their ingests are queued (see each one below)."
    )
    return redirect("dashboard:home")

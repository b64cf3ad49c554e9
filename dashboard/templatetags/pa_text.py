"""Template filters for words people read: text from outside (Spotify, export files), times."""

import html
import re
from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def as_text(value):
    """A Spotify description as plain text: Spotify sends a few tags (`<i>No skips.</i>`)
    and entities (`&amp;`); show the words, never the markup. The result is not marked
    safe: autoescaping still applies, so nothing in it can become markup."""
    if not value:
        return ""
    return html.unescape(strip_tags(str(value)))


# Spotify's ids are 22 base-62 characters; local files and exports have ids of
# their own ("local:…", "export:…") that open.spotify.com does not know.
_SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")


@register.filter
def spotify_url(spotify_id, kind):
    """`{{ id|spotify_url:"track" }}`: its open.spotify.com page, or "" if the id is
    not a real Spotify id (a local file, a track only known from an export)."""
    if not isinstance(spotify_id, str) or not _SPOTIFY_ID.fullmatch(spotify_id):
        return ""
    return f"https://open.spotify.com/{kind}/{spotify_id}"


@register.filter
def zip_lists(first, second):
    """Pairs of two lists (artist ids and names), as far as both go."""
    return list(zip(first or (), second or (), strict=False))


@register.filter
def ago(moment):
    """ "3 days ago", or "just now" for the last minute (not "0 minutes ago")."""
    if not moment:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"

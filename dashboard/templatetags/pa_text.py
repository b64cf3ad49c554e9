"""Template filters for text from outside (Spotify, export files)."""

import html

from django import template
from django.utils.html import strip_tags

register = template.Library()


@register.filter
def as_text(value):
    """A Spotify description as plain text: Spotify sends a few tags (`<i>No skips.</i>`)
    and entities (`&amp;`); show the words, never the markup. The result is not marked
    safe: autoescaping still applies, so nothing in it can become markup."""
    if not value:
        return ""
    return html.unescape(strip_tags(str(value)))

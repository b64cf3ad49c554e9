"""Start-up checks: when the operator's SPOTIFY_REFRESH_TOKEN stops working."""

from django.core import checks

from accounts.token_lifetime import operator_token_notice


def operator_refresh_token(app_configs=None, **kwargs):
    """A warning when SPOTIFY_REFRESH_TOKEN expired, expires soon, or has no known date."""
    notice = operator_token_notice()
    if notice is None or not notice.urgent:
        return []
    return [checks.Warning(notice.message, id=notice.id)]

"""How long Spotify honours a refresh token, and when to warn before it ends.

Since 2026-07-20 Spotify ends every refresh token six months after the
person's original consent (SPOTIFY_REFRESH_TOKEN_LIFETIME_DAYS); refreshing
does not extend it, and afterwards the token endpoint answers `invalid_grant`.
Only a new authorization helps, so people (and the operator, for
SPOTIFY_REFRESH_TOKEN) are told SPOTIFY_RECONNECT_WARNING_DAYS ahead.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone


def refresh_token_expiry(authorized_at):
    """When Spotify stops accepting a refresh token authorized at `authorized_at`."""
    return authorized_at + timedelta(days=settings.SPOTIFY_REFRESH_TOKEN_LIFETIME_DAYS)


def reconnect_due(authorized_at, now=None):
    """The refresh token's end once it is within the warning window (or past), else None."""
    expires_at = refresh_token_expiry(authorized_at)
    warn_from = expires_at - timedelta(days=settings.SPOTIFY_RECONNECT_WARNING_DAYS)
    return expires_at if (now or timezone.now()) >= warn_from else None


# --- the operator's SPOTIFY_REFRESH_TOKEN ------------------------------------------------
@dataclass(frozen=True)
class OperatorTokenNotice:
    """What to tell the operator about SPOTIFY_REFRESH_TOKEN's lifetime."""

    id: str  # the system check's id
    message: str
    urgent: bool  # expired, about to, or unknown: a warning rather than a note


def operator_token_notice(now=None):
    """The notice about SPOTIFY_REFRESH_TOKEN for the start-up check and the admin;
    None when no such token is configured."""
    if not settings.SPOTIFY_REFRESH_TOKEN:
        return None
    raw = settings.SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT.strip()
    lifetime = settings.SPOTIFY_REFRESH_TOKEN_LIFETIME_DAYS
    if not raw:
        return OperatorTokenNotice(
            "accounts.W001",
            "SPOTIFY_REFRESH_TOKEN is set but SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT is not. Spotify "
            f"ends every refresh token {lifetime} days after its authorization: set "
            "SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT to the date you authorized it (YYYY-MM-DD) to "
            "be told before it stops working.",
            urgent=True,
        )
    authorized_at = parse_authorized_at(raw)
    if authorized_at is None:
        return OperatorTokenNotice(
            "accounts.W002",
            f"SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT={raw!r} is not an ISO date or time "
            "(YYYY-MM-DD, or YYYY-MM-DDTHH:MM with an optional offset; UTC if none): "
            "write the date you authorized SPOTIFY_REFRESH_TOKEN that way.",
            urgent=True,
        )
    now = now or timezone.now()
    expires_at = refresh_token_expiry(authorized_at)
    when = (
        f"{expires_at:%Y-%m-%d} ({lifetime} days after its authorization on "
        f"{authorized_at:%Y-%m-%d})"
    )
    renew = (
        "Authorize the app again to get a new refresh token, and put it and today's date in "
        "SPOTIFY_REFRESH_TOKEN and SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT."
    )
    if now >= expires_at:
        return OperatorTokenNotice(
            "accounts.W003",
            f"SPOTIFY_REFRESH_TOKEN expired on {when}: Spotify answers invalid_grant, and runs "
            f"that use it fail. {renew}",
            urgent=True,
        )
    if reconnect_due(authorized_at, now) is not None:
        return OperatorTokenNotice(
            "accounts.W004",
            f"SPOTIFY_REFRESH_TOKEN expires on {when}. {renew}",
            urgent=True,
        )
    return OperatorTokenNotice(
        "accounts.I001", f"SPOTIFY_REFRESH_TOKEN expires on {when}.", urgent=False
    )


def parse_authorized_at(raw):
    """An aware datetime from an ISO date or date-time (UTC if it names no offset); None if
    it is neither."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

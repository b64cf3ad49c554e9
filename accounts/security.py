"""Security plumbing: the CSP header, the client's address, the password-reset throttle."""

import hashlib
import time
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.core.cache import cache


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's CONTENT_SECURITY_POLICY, plus Spotify's accounts site in form-action.

    "Connect Spotify" posts to this site, which answers with a redirect to
    Spotify's consent page; Chromium checks that redirect against the posting
    page's form-action. The origin is read per request, so the policy follows
    SPOTIFY_ACCOUNTS_BASE_URL wherever it points (Spotify, the sandbox).
    """

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if not report_only:
            # An update is appended to the policy's own form-action ('self').
            update = dict(parts.update or {})
            update["form-action"] = [*update.get("form-action", []), spotify_accounts_origin()]
            parts.update = update
        return parts


def spotify_accounts_origin():
    url = urlsplit(settings.SPOTIFY_ACCOUNTS_BASE_URL)
    return f"{url.scheme}://{url.netloc}"


def client_ip(request):
    """The address of the person, not of the proxies in front of the app.

    Each of the TRUSTED_PROXY_COUNT proxies appends the address it saw to
    X-Forwarded-For, so the client is that many entries from the right; what
    stands further left was written by the client and is not trusted.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


RESET_WINDOW_SECONDS = 3600


def password_reset_mail_allowed(request, email):
    """Note one reset request; False if its address or its client asked too often this hour.

    Every request counts, whether or not an account has the address, so that
    the throttle itself tells nothing about which addresses exist.
    """
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    counts = [
        (
            _note_request(f"password-reset:address:{address}"),
            settings.PASSWORD_RESET_MAILS_PER_ADDRESS_PER_HOUR,
        ),
        (
            _note_request(f"password-reset:client:{client_ip(request)}"),
            settings.PASSWORD_RESET_MAILS_PER_CLIENT_PER_HOUR,
        ),
    ]
    return all(count <= limit for count, limit in counts)


def _note_request(key):
    """Record a request under `key`; how many it holds from the last hour, this one included."""
    now = time.time()
    recent = [at for at in cache.get(key, []) if at > now - RESET_WINDOW_SECONDS]
    recent.append(now)
    cache.set(key, recent, timeout=RESET_WINDOW_SECONDS)
    return len(recent)

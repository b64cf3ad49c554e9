"""The HTTP under spotipy: retries on 5xx, never a sleep on 429, a rate cap, a count.

spotipy's default session retries 429s and sleeps on `Retry-After`, which can
be hours (see docs/spotify-web-api.md); ours hands every 429 back at once so the
run can be rescheduled instead. Timeouts are given per request
(`SPOTIFY_REQUEST_TIMEOUT`, passed to spotipy as `requests_timeout`).
"""

import threading
import time
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


class RateCap:
    """Holds every request of this process under `per_second` (0 = no cap)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


_rate_caps: dict[float, RateCap] = {}
_rate_caps_lock = threading.Lock()


def shared_rate_cap(per_second: float) -> RateCap:
    """The process-wide cap for this rate, so that parallel ingests share it."""
    with _rate_caps_lock:
        return _rate_caps.setdefault(per_second, RateCap(per_second))


def retry_policy() -> Retry:
    """Retry transient 5xx and broken connections with backoff, never a 429.

    A 429 must reach us at once so the run can be rescheduled, and Retry-After
    is never slept on. raise_on_status=False hands the last 5xx to spotipy,
    which then reports its real status instead of a fake "429 Max Retries".
    The backoff (SPOTIFY_RETRY_BACKOFF, urllib3's backoff_factor) sleeps
    0, 2×, 4×… that many seconds between attempts; the tests set it to 0.
    """
    return Retry(
        total=3,
        connect=2,
        read=1,
        status=3,
        backoff_factor=settings.SPOTIFY_RETRY_BACKOFF,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=False,
        raise_on_status=False,
    )


class ApiSession(requests.Session):
    """A session that counts API requests and holds them under the rate cap."""

    def __init__(self, rate_cap: RateCap, pool_size: int) -> None:
        super().__init__()
        self.rate_cap = rate_cap
        self.calls = 0
        self._calls_lock = threading.Lock()
        adapter = HTTPAdapter(
            max_retries=retry_policy(), pool_connections=4, pool_maxsize=pool_size
        )
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.rate_cap.wait()
        with self._calls_lock:
            self.calls += 1
        return super().request(*args, **kwargs)

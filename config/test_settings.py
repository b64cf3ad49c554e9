"""Settings for the test suite: the real settings, made safe and fast to test."""

import os
import tempfile
from pathlib import Path

# The developer's .env must not change what the tests see.
os.environ.setdefault("ENV_FILE", os.devnull)
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# A fixed Fernet key: tokens of connected accounts are encrypted with it.
os.environ.setdefault("SPOTIFY_TOKEN_KEY", "dGVzdC1vbmx5LXNwb3RpZnktdG9rZW4ta2V5LTMyYnk=")

from config.settings import *  # noqa: E402,F403
from config.settings import Q_CLUSTER  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run inline in tests; the integration tests start a real qcluster instead.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# Tests point the Spotify seam at a sandbox they start; never at the real API.
SPOTIFY_API_BASE_URL = "http://127.0.0.1:9/v1/"
SPOTIFY_ACCOUNTS_BASE_URL = "http://127.0.0.1:9/"
SPOTIFY_MAX_REQUESTS_PER_SECOND = 0
# Retries of a 5xx happen at once: a failing request does not sleep 1.8 s.
SPOTIFY_RETRY_BACKOFF = 0
# Every wait is a setting; here near zero, so no test waits on a clock. The
# run backoff stays above the time finish_run takes: a retry due at once would
# run inline in sync mode. The reaper's age stays above a claim-to-reap gap.
INGEST_RETRY_BACKOFF_SECONDS = 1
INGEST_HEARTBEAT_SECONDS = 1
INGEST_STALE_AFTER_SECONDS = 2
# A warm of the pages across playlists is enqueued at once (its deferral is a schedule).
ACROSS_WARM_DELAY_SECONDS = 0

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not an in-memory database: the integration tests start real
    # `qcluster` processes that must see the same database.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"playlist-analytics-test-{os.getpid()}.sqlite3")
    }

# Templates use {% static %}; the production storage (hashed names from a
# manifest) would need `collectstatic` before every test run. The plain storage
# resolves the same names without it. (WHITENOISE_MANIFEST_STRICT=False is not
# enough: unknown names are still hashed from files in STATIC_ROOT.)
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# As with DEBUG: WhiteNoise serves straight from the apps' static folders, and
# does not warn that STATIC_ROOT (filled by collectstatic) does not exist.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

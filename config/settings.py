"""Settings for Playlist Analytics, every knob read from the environment.

Names documented in docs/configuration.md and .env.example are a public interface: keep them.
A fresh clone runs with no configuration (SQLite in ./data, DEBUG from .env.example);
production settings that would be unsafe fail loudly at start-up.
"""

import base64
import hashlib
import re
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file is optional; real environment variables always win over it.
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))

# Used only when DEBUG is on and no SECRET_KEY is set, so a fresh clone runs.
_DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = _DEVELOPMENT_SECRET_KEY
elif not DEBUG and (SECRET_KEY == _DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 40):
    raise ImproperlyConfigured("SECRET_KEY is too weak for production: use 40+ random characters.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is empty. List the host names this site is served under, "
        "comma-separated (e.g. ALLOWED_HOSTS=analytics.example.com)."
    )

INSTALLED_APPS = [
    # Before the admin: its registration/ templates (password change and reset)
    # would otherwise shadow the site's own.
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # intcomma and friends: numbers as people read them
    "csp",
    "warehouse",
    # Before django_q: its `qcluster` command takes the place of django-q2's.
    "ingestion",
    "django_q",
    "dashboard",
    # Development tools (sandbox, demo, synthetic data): management commands only.
    "devtools",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The Content-Security-Policy and Permissions-Policy headers (see below).
    "accounts.security.ContentSecurityPolicyMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_from_env():
    default_sqlite = f"sqlite:///{DATA_DIR / 'db.sqlite3'}"
    database = env.db_url("DATABASE_URL", default=default_sqlite)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers (the web app) work while a writer (an ingest) loads;
        # IMMEDIATE transactions take the write lock up front, so concurrent
        # writers wait for `timeout` seconds instead of failing with
        # "database is locked" half-way through a transaction.
        database.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
        if database["NAME"] != ":memory:":
            Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    else:
        database.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
        database.setdefault("CONN_HEALTH_CHECKS", True)
    return database


DATABASES = {"default": _database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the static files. Without DEBUG they are the collected,
# hashed and compressed copies (`manage.py collectstatic` must have run).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Accounts ------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"
# Password-reset mail. The console backend prints it (development); set
# django.core.mail.backends.smtp.EmailBackend and the EMAIL_HOST_* below to send it.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="playlist-analytics@localhost")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed sign-ins for
# one username from one IP address, that pair is locked out for
# AXES_COOLOFF_MINUTES. Keyed on the pair so that a stranger guessing cannot
# lock the real user out from elsewhere. Axes must see the request, so its
# backend comes first (and the test client signs in with force_login).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# text (readable) or json (one object per line, for a log collector); either way
# the lines a run writes carry its id (config/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"run_id": {"()": "config.logs.RunIdFilter"}},
    "formatters": {
        "text": {"()": "config.logs.TextFormatter"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["run_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    # spotipy logs every HTTP error itself; spotify_client reports each one
    # with a message a person can act on, so spotipy's copy is noise.
    "loggers": {"spotipy": {"level": "CRITICAL"}},
}

# --- Spotify -----------------------------------------------------------------
# Empty credentials are allowed: ingestion then refuses with a message that says
# what to set. `make run` points these at the local sandbox instead.
SPOTIFY_CLIENT_ID = env.str("SPOTIFY_CLIENT_ID", default="")
SPOTIFY_CLIENT_SECRET = env.str("SPOTIFY_CLIENT_SECRET", default="")
# Whether the Spotify app is in Development Mode (every app since 2026 unless Spotify
# granted it Extended Quota): only playlists the person owns or collaborates on are
# readable, so "make the playlist public" is no advice. Changes messages only.
SPOTIFY_DEVELOPMENT_MODE = env.bool("SPOTIFY_DEVELOPMENT_MODE", default=True)
# Optional: a user's refresh token. In Development Mode only a user token can read
# playlist items (of playlists that user owns or collaborates on).
SPOTIFY_REFRESH_TOKEN = env.str("SPOTIFY_REFRESH_TOKEN", default="")
# When that token was authorized (ISO date): Spotify ends it
# SPOTIFY_REFRESH_TOKEN_LIFETIME_DAYS later, and start-up and the admin say when.
SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT = env.str("SPOTIFY_REFRESH_TOKEN_AUTHORIZED_AT", default="")
# Since 2026-07-20 Spotify ends every refresh token six months after the
# person's consent (refreshing does not extend it) ...
SPOTIFY_REFRESH_TOKEN_LIFETIME_DAYS = env.int("SPOTIFY_REFRESH_TOKEN_LIFETIME_DAYS", default=182)
# ... so people are asked to reconnect from this many days before.
SPOTIFY_RECONNECT_WARNING_DAYS = env.int("SPOTIFY_RECONNECT_WARNING_DAYS", default=14)
SPOTIFY_API_BASE_URL = env.str("SPOTIFY_API_BASE_URL", default="https://api.spotify.com/v1/")
SPOTIFY_ACCOUNTS_BASE_URL = env.str(
    "SPOTIFY_ACCOUNTS_BASE_URL", default="https://accounts.spotify.com/"
)
# Where Spotify sends people back after they approve "Connect Spotify". It must
# be listed, exactly, among the redirect URIs of the app in Spotify's dashboard;
# Spotify accepts HTTPS, or plain http only on a loopback address (127.0.0.1).
SPOTIFY_REDIRECT_URI = env.str(
    "SPOTIFY_REDIRECT_URI", default="http://127.0.0.1:8000/accounts/spotify/callback/"
)
# Keys that encrypt the connected accounts' Spotify tokens at rest (Fernet),
# comma-separated: the first encrypts, all of them decrypt, so a new key goes
# first and the old one stays until `manage.py rotate_spotify_tokens` has run.
SPOTIFY_TOKEN_KEYS = env.list("SPOTIFY_TOKEN_KEY", default=[])
if not SPOTIFY_TOKEN_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SPOTIFY_TOKEN_KEY is not set. It encrypts the Spotify tokens of connected "
            "accounts; generate one with python -c 'from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())' and keep it as secret as "
            "SECRET_KEY (losing it disconnects every account)."
        )
    # Development only: a key derived from the (development) SECRET_KEY.
    SPOTIFY_TOKEN_KEYS = [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"spotify-token-key:{SECRET_KEY}".encode()).digest()
        ).decode()
    ]
try:
    for _key in SPOTIFY_TOKEN_KEYS:
        Fernet(_key)
except ValueError as _error:
    raise ImproperlyConfigured(
        "SPOTIFY_TOKEN_KEY holds a key that is not a Fernet key (32 url-safe base64-encoded "
        "bytes); generate one with Fernet.generate_key()."
    ) from _error
# Seconds to wait for Spotify to connect and answer, per request.
SPOTIFY_REQUEST_TIMEOUT = env.float("SPOTIFY_REQUEST_TIMEOUT", default=10.0)
# A GET answered 5xx (or a broken connection) is retried up to 3 times, sleeping
# 0, 2x and 4x this many seconds between attempts (urllib3's backoff_factor).
SPOTIFY_RETRY_BACKOFF = env.float("SPOTIFY_RETRY_BACKOFF", default=0.3)
# Artist lookups run in parallel up to this many at once ...
SPOTIFY_MAX_CONCURRENCY = env.int("SPOTIFY_MAX_CONCURRENCY", default=8)
# ... and every request of this process is held under this rate (0 = no cap).
SPOTIFY_MAX_REQUESTS_PER_SECOND = env.float("SPOTIFY_MAX_REQUESTS_PER_SECOND", default=20.0)
# Cached artists (genres) older than this are fetched again.
SPOTIFY_ARTIST_TTL_DAYS = env.int("SPOTIFY_ARTIST_TTL_DAYS", default=30)
# Cached track details, and Spotify's "no such track", older than this are
# fetched again when a playlist is enriched (details of a track rarely change).
SPOTIFY_TRACK_TTL_DAYS = env.int("SPOTIFY_TRACK_TTL_DAYS", default=90)

# --- File imports ------------------------------------------------------------
# Largest file accepted (and most bytes unpacked from one ZIP), against
# oversized uploads and decompression bombs.
IMPORT_MAX_FILE_BYTES = env.int("IMPORT_MAX_FILE_BYTES", default=200 * 1024 * 1024)
# Most bytes of playlist files one import reads: a ZIP's Playlist*.json members
# inflated together (counted as they stream: small members cannot add up to a
# bomb), or one export JSON or Exportify CSV. A file is parsed whole, so this
# bounds a worker's memory (about 18 bytes per byte read with history, over ~120 MB
# at rest: 10 MB keeps every accepted file under 400 MB, see
# tests/ingestion/test_import_memory.py; 16 MB reached 405 MB once history landed, and
# 12 MB 412 MB in a freshly installed venv, whose libraries' pages count more).
IMPORT_MAX_DECOMPRESSED_BYTES = env.int("IMPORT_MAX_DECOMPRESSED_BYTES", default=10 * 1024 * 1024)
# Rows an MPD slice's bulk load (warehouse.bulk) serializes and COPYs at a time, in
# the slice's one transaction: it bounds the COPY text held at once (~200 bytes a row).
BULK_CHUNK_ROWS = env.int("BULK_CHUNK_ROWS", default=20_000)
# Off: every MPD slice takes the snapshot path (read, pandas transform, loader), as
# before the bulk path; for comparisons. The two write the same tables.
IMPORT_MPD_BULK = env.bool("IMPORT_MPD_BULK", default=True)
# An import of many files (MPD slices) folds the warehouse-wide counts' log
# (warehouse.summaries.fold) after every this many files, and always at its end:
# each fold adds up what the slices since the last one logged (keys shared by
# slices upserted once), and its memory grows with them. 0: only at the end.
IMPORT_FOLD_EVERY_SLICES = env.int("IMPORT_FOLD_EVERY_SLICES", default=10)
# An import of at least this many MPD slices that at least doubles the warehouse
# loads without the secondary indexes of the rows and spans and builds them at
# its end, on PostgreSQL (warehouse.index_deferral); 0: never. The builds get
# this much maintenance_work_mem each (more memory, fewer passes of the sort).
IMPORT_DEFER_INDEXES_SLICES = env.int("IMPORT_DEFER_INDEXES_SLICES", default=20)
IMPORT_INDEX_BUILD_MEMORY_MB = env.int("IMPORT_INDEX_BUILD_MEMORY_MB", default=256)
# Such an import folds the counts' log every this many files instead (0: only at
# its end): one fold of 100 slices took 69 s where ten of 10 took 136 s, and the
# warehouse-wide views, exact throughout, read the unfolded log meanwhile.
IMPORT_FOLD_EVERY_SLICES_DEFERRED = env.int("IMPORT_FOLD_EVERY_SLICES_DEFERRED", default=100)
# MPD slices an import loads at once on PostgreSQL, each read, parsed and loaded on
# its own thread, connection and transaction: one slice's Python (parse, rows,
# counts) runs while another's statements run on the server. Each in flight holds
# its slice in memory. 1: one at a time, the next read ahead. SQLite (one writer)
# and an import inside a transaction always load one at a time.
IMPORT_PARALLEL_SLICES = env.int("IMPORT_PARALLEL_SLICES", default=2)
if IMPORT_PARALLEL_SLICES < 1:
    raise ImproperlyConfigured(
        f"IMPORT_PARALLEL_SLICES={IMPORT_PARALLEL_SLICES}: use 1 (one slice at a time) or more."
    )

# Uploads one user may make per hour (counted from the runs they start), and
# bytes they may upload per hour; past either the upload page answers 429 with
# the time they may upload again.
UPLOADS_PER_HOUR = env.int("UPLOADS_PER_HOUR", default=20)
UPLOAD_BYTES_PER_HOUR = env.int("UPLOAD_BYTES_PER_HOUR", default=200 * 1024 * 1024)

# --- Library exports ------------------------------------------------------------
# "Download all my playlists" of more rows than this is written by an export run
# in the queue (progress on its page, then a download link) instead of streaming
# from the request; 0 queues every one. `manage.py export` is never queued.
EXPORT_QUEUE_ABOVE_ROWS = env.int("EXPORT_QUEUE_ABOVE_ROWS", default=50_000)
# Where export runs write their files (private: only the run's owner downloads
# one, through the app), and how long a finished file is kept before the reaper
# deletes it (its run's page then says it expired).
EXPORT_DIR = Path(env.str("EXPORT_DIR", default=str(DATA_DIR / "exports")))
EXPORT_RETENTION_HOURS = env.float("EXPORT_RETENTION_HOURS", default=24.0)

# --- Ingest runs ---------------------------------------------------------------
# Attempts per run before it fails for good (rate limits and transient errors
# are retried; "not found" or "not readable" fail at once).
INGEST_MAX_ATTEMPTS = env.int("INGEST_MAX_ATTEMPTS", default=5)
# Backoff after a transient error: base × 2^(attempt-1), capped.
INGEST_RETRY_BACKOFF_SECONDS = env.int("INGEST_RETRY_BACKOFF_SECONDS", default=60)
INGEST_RETRY_BACKOFF_MAX_SECONDS = env.int("INGEST_RETRY_BACKOFF_MAX_SECONDS", default=3600)
# A running run writes a heartbeat at least this often while it makes progress ...
INGEST_HEARTBEAT_SECONDS = env.int("INGEST_HEARTBEAT_SECONDS", default=5)
# ... and the reaper treats one silent for this long as dead (its worker crashed).
INGEST_STALE_AFTER_SECONDS = env.int("INGEST_STALE_AFTER_SECONDS", default=300)
# When the daily refresh of every tracked playlist runs (HH:MM in TIME_ZONE).
INGEST_DAILY_REFRESH_AT = env.str("INGEST_DAILY_REFRESH_AT", default="03:00")
# How often the reaper looks for runs whose worker died.
INGEST_REAPER_MINUTES = env.int("INGEST_REAPER_MINUTES", default=5)
# The admin and `manage.py queue_health` call the queue stalled when runs have
# waited this long with no run starting, beating its heartbeat or ending.
QUEUE_STALL_MINUTES = env.int("QUEUE_STALL_MINUTES", default=10)

# --- Queue (django-q2) -------------------------------------------------------
# See docs/django-q2-notes.md for why each value is what it is.
_Q_TIMEOUT = env.int("Q_TIMEOUT", default=1200)
_Q_WORKERS = env.int("Q_WORKERS", default=2)
# A stopping `qcluster` hands the runs in hand back to the queue at once; what is
# still alive after this many seconds (a worker stuck in one database statement)
# is killed, and the reaper retries its run (ingestion.cluster).
Q_STOP_SECONDS = env.int("Q_STOP_SECONDS", default=10)
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and _Q_WORKERS > 2:
    raise ImproperlyConfigured(
        "Q_WORKERS > 2 on SQLite makes workers fight over the write lock. "
        "Use at most 2 workers, or PostgreSQL (DATABASE_URL)."
    )
Q_CLUSTER = {
    "name": "playlist-analytics",
    "workers": _Q_WORKERS,
    # Our tasks hold one playlist each; the app retries, never django-q:
    # one delivery attempt, failures acknowledged, no catch-up of missed days.
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "timeout": _Q_TIMEOUT,
    # A task is redelivered after `retry` seconds; it may first wait in the
    # in-memory queue for up to one task's time, so retry > 2 × timeout, or
    # a slow task would run twice in parallel.
    "retry": 2 * _Q_TIMEOUT + 300,
    "queue_limit": _Q_WORKERS,
    "bulk": 1,
    "save_limit": 1000,
    # qinfo/qmonitor read cluster stats from the shared cache below.
    "cache": "default",
}
REDIS_URL = env.str("REDIS_URL", default="")
# /healthz calls the queue down when no cluster has reported itself for this long
# (a running cluster reports every few seconds).
HEALTHZ_QUEUE_MAX_AGE_SECONDS = env.int("HEALTHZ_QUEUE_MAX_AGE_SECONDS", default=60)
# /metrics (Prometheus) is off unless set; scrapers send "Authorization: Bearer <it>".
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if env.str("Q_BROKER", default="orm") == "redis":
    # Faster, but a crash loses queued tasks (no receipts); runs survive in the
    # database and the reaper requeues what was running.
    Q_CLUSTER["redis"] = REDIS_URL or "redis://127.0.0.1:6379/0"
else:
    Q_CLUSTER["orm"] = "default"

# A cache shared by every process (web, workers): the database, or Redis.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    )
}

# The pages across a person's playlists (library, overlap map, duplicates, comparison)
# keep their figures in the cache above for this many seconds, keyed by the person and
# a stamp of their playlists' loads (a load makes new keys; nothing is ever stale).
# 0: no caching, every view counts again.
ACROSS_CACHE_SECONDS = env.int("ACROSS_CACHE_SECONDS", default=7 * 24 * 3600)
# After a load commits, a queue task counts those figures for everyone who sees the
# playlist, so that their next view is warm (ingestion.across_warm); false: never.
ACROSS_WARM_ON_LOAD = env.bool("ACROSS_WARM_ON_LOAD", default=True)
# How long a requested warm waits before it runs, and how often a warm held back by
# runs still loading the person's playlists looks again (debounce; the end of a run
# brings it forward). 0: at once.
ACROSS_WARM_DELAY_SECONDS = env.int("ACROSS_WARM_DELAY_SECONDS", default=30)
# The warm also compares this many pairs of the person's playlists, those sharing
# the most tracks (the overlap map's first); 0: no comparison is warmed.
ACROSS_WARM_COMPARISONS = env.int("ACROSS_WARM_COMPARISONS", default=10)

# --- Security: HTTPS behind a proxy, headers, throttles ---------------------------
# Everything the browser is told to refuse, and how the app learns it is served
# over HTTPS. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER (the
# header the proxy sets to "https"), SECURE_SSL_REDIRECT and SECURE_HSTS_SECONDS:
# `manage.py check --deploy` is then clean. See docs/configuration.md.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# With DEBUG off the cookies are HTTPS-only unless told otherwise.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# Off by default: over plain http (development, `docker compose` on localhost)
# a redirect to https would lock everyone out.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# A container's health probe speaks plain http to the app itself, not to the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
_PROXY_SSL_HEADER = env.str("SECURE_PROXY_SSL_HEADER", default="")
if _PROXY_SSL_HEADER:
    if not re.fullmatch(r"[A-Za-z0-9-]+", _PROXY_SSL_HEADER):
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={_PROXY_SSL_HEADER!r} is not a header name. Set it to "
            "the header your TLS proxy sets to 'https', e.g. X-Forwarded-Proto."
        )
    # Only ever trust it behind a proxy that sets (or strips) it on every request.
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# How many proxies in front of the app append the client's address to
# X-Forwarded-For (0: none, REMOTE_ADDR is the client). The sign-in lockout and
# the password-reset throttle count per client address, which behind a proxy
# would otherwise be the proxy's, shared by everyone.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "accounts.security.client_ip"

# Content-Security-Policy (django-csp). Nothing inline: every script and style
# is a static file, and JSON data rides in <script type="application/json">.
# Covers are hot-linked from Spotify's image CDNs (i.scdn.co, mosaic.scdn.co,
# image-cdn-*.spotifycdn.com, …): their two parent domains, nothing else.
# The "Connect Spotify" form is answered by a redirect to Spotify's accounts
# site, which browsers check against form-action: that origin is added per
# request from SPOTIFY_ACCOUNTS_BASE_URL (accounts.security).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https://*.scdn.co", "https://*.spotifycdn.com"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Features no page uses: denied to the site and to anything it could embed.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# Password-reset mails: at most this many per hour to one address, and from one
# client address (whatever address it asks for). Past either, the page says the
# same as always and no mail is sent.
PASSWORD_RESET_MAILS_PER_ADDRESS_PER_HOUR = env.int(
    "PASSWORD_RESET_MAILS_PER_ADDRESS_PER_HOUR", default=3
)
PASSWORD_RESET_MAILS_PER_CLIENT_PER_HOUR = env.int(
    "PASSWORD_RESET_MAILS_PER_CLIENT_PER_HOUR", default=10
)

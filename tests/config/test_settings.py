"""Settings are read in a fresh interpreter: they run once per process."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k" * 50
TOKEN_KEY = Fernet.generate_key().decode()


def load_settings(tmp_path, code="pass", **env):
    """Import config.settings with exactly `env` (no .env file) and run `code`."""
    variables = {"PATH": os.environ["PATH"], "DATA_DIR": str(tmp_path), **env}
    variables["ENV_FILE"] = str(tmp_path / "no.env")  # the developer's .env must not leak in
    return subprocess.run(
        [sys.executable, "-c", f"import config.settings as s\n{code}"],
        cwd=ROOT,
        env=variables,
        capture_output=True,
        text=True,
    )


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    result = load_settings(tmp_path, DEBUG="false", ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_with_a_weak_secret_key_refuses_to_start(tmp_path):
    result = load_settings(tmp_path, DEBUG="false", SECRET_KEY="short", ALLOWED_HOSTS="x.com")
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_production_without_allowed_hosts_refuses_to_start(tmp_path):
    result = load_settings(tmp_path, DEBUG="false", SECRET_KEY=STRONG_KEY)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is empty" in result.stderr


def test_production_without_a_token_key_refuses_to_start(tmp_path):
    result = load_settings(
        tmp_path, DEBUG="false", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="example.com"
    )
    assert result.returncode != 0
    assert "SPOTIFY_TOKEN_KEY is not set" in result.stderr


def test_a_token_key_that_is_not_a_fernet_key_refuses_to_start(tmp_path):
    result = load_settings(tmp_path, DEBUG="true", SPOTIFY_TOKEN_KEY="not-a-key")
    assert result.returncode != 0
    assert "not a Fernet key" in result.stderr


def test_development_derives_a_token_key_and_keys_rotate_comma_separated(tmp_path):
    code = "print(len(s.SPOTIFY_TOKEN_KEYS))"
    assert load_settings(tmp_path, code, DEBUG="true").stdout.strip() == "1"
    two = f"{TOKEN_KEY},{Fernet.generate_key().decode()}"
    assert load_settings(tmp_path, code, DEBUG="true", SPOTIFY_TOKEN_KEY=two).stdout.strip() == "2"


def test_production_settings_start_and_secure_cookies(tmp_path):
    code = "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.ALLOWED_HOSTS)"
    result = load_settings(
        tmp_path,
        code,
        DEBUG="false",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="a.com,b.com",
        SPOTIFY_TOKEN_KEY=TOKEN_KEY,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False True True ['a.com', 'b.com']"


def test_the_default_database_is_a_sqlite_file_in_wal_mode_with_immediate_writes(tmp_path):
    code = """
import django; django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    print(connection.settings_dict["NAME"], cursor.fetchone()[0],
          connection.settings_dict["OPTIONS"]["transaction_mode"])
"""
    result = load_settings(tmp_path, code, DEBUG="true", DJANGO_SETTINGS_MODULE="config.settings")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(tmp_path / "db.sqlite3"), "wal", "IMMEDIATE"]


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("SPOTIFY_API_BASE_URL", "https://api.spotify.com/v1/"),
        ("SPOTIFY_ACCOUNTS_BASE_URL", "https://accounts.spotify.com/"),
    ],
)
def test_spotify_base_urls_default_to_spotify(tmp_path, name, default):
    result = load_settings(tmp_path, f"print(s.{name})", DEBUG="true")
    assert result.stdout.strip() == default


# What an operator behind a TLS-terminating proxy sets (docs/configuration.md).
TLS_PROXY_ENV = {
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "CSRF_TRUSTED_ORIGINS": "https://analytics.example.com",
}


def check_deploy(tmp_path, **env):
    """`manage.py check --deploy` with production settings and exactly `env` besides."""
    variables = {
        "PATH": os.environ["PATH"],
        "DATA_DIR": str(tmp_path),
        "ENV_FILE": str(tmp_path / "no.env"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        # Django's own check wants 50+ characters with some variety.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "analytics.example.com",
        "SPOTIFY_TOKEN_KEY": TOKEN_KEY,
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=variables,
        capture_output=True,
        text=True,
    )


def test_check_deploy_is_clean_behind_a_tls_proxy(tmp_path):
    result = check_deploy(tmp_path, **TLS_PROXY_ENV)

    assert result.returncode == 0, result.stderr
    assert "WARNINGS" not in result.stderr + result.stdout
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_check_deploy_warns_when_https_is_not_configured(tmp_path):
    result = check_deploy(tmp_path)

    assert "security.W004" in result.stderr  # no HSTS
    assert "security.W008" in result.stderr  # no redirect to https


def test_the_proxy_ssl_header_is_read_as_a_header_name(tmp_path):
    code = "print(s.SECURE_PROXY_SSL_HEADER)"
    result = load_settings(
        tmp_path, code, DEBUG="true", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"

    unset = load_settings(tmp_path, "print(hasattr(s, 'SECURE_PROXY_SSL_HEADER'))", DEBUG="true")
    assert unset.stdout.strip() == "False"


def test_a_proxy_ssl_header_that_is_not_a_header_name_refuses_to_start(tmp_path):
    result = load_settings(
        tmp_path, DEBUG="true", SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https"
    )
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER='HTTP_X_FORWARDED_PROTO,https' is not a header name" in (
        result.stderr
    )

"""Encryption at rest for secrets kept in the database (the Spotify tokens).

Fernet (AES-128-CBC + HMAC) from `cryptography`, with the keys of
SPOTIFY_TOKEN_KEY: the first key encrypts, every key decrypts (MultiFernet),
so keys can be rotated without losing the stored tokens.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys):
    return MultiFernet([Fernet(key) for key in keys])


def fernet():
    # Keyed on the setting's value, so tests that override it get their keys.
    return _fernet(tuple(settings.SPOTIFY_TOKEN_KEYS))


def encrypt(text):
    return fernet().encrypt(text.encode()).decode("ascii")


def decrypt(token):
    """The plaintext, or "" when no configured key can read it (a key was lost)."""
    try:
        return fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        return ""


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; reads give the plaintext back.

    Never filter on it: every encryption of the same text differs.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

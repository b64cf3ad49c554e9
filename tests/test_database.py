import os

from django.db import connection


def test_it_runs_on_the_expected_database():
    """CI sets EXPECT_DATABASE_VENDOR so a misconfigured run cannot pass as PostgreSQL."""
    expected = os.environ.get("EXPECT_DATABASE_VENDOR")
    if expected:
        assert connection.vendor == expected
    else:
        assert connection.vendor in ("sqlite", "postgresql")

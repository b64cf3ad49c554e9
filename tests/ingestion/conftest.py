import os

import pytest

REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1:6379")
CLAIM_KEY = "playlist-analytics:test-run"
CLAIM_SECONDS = 3600  # a crashed run's database is free again after an hour


@pytest.fixture(scope="session")
def redis_test_url():
    """A Redis database of this test run's own: parallel test runs on one Redis
    never see each other's queue. Claimed with SET NX (the first free one of
    databases 1–15; 0 is the app's default), emptied when the run ends.

    Without a reachable Redis the Redis-broker tests are skipped, unless
    REQUIRE_REDIS_TESTS=1 (CI, which starts Redis): then they fail."""
    import redis

    for number in range(1, 16):
        url = f"redis://{REDIS_HOST}/{number}"
        connection = redis.from_url(url)
        try:
            claimed = connection.set(CLAIM_KEY, os.getpid(), nx=True, ex=CLAIM_SECONDS)
        except redis.ConnectionError as error:
            reason = f"no Redis at {REDIS_HOST} ({error}); start it: redis-server --daemonize yes"
            if os.environ.get("REQUIRE_REDIS_TESTS") == "1":
                pytest.fail(f"{reason} (REQUIRE_REDIS_TESTS=1: the Redis tests may not be skipped)")
            pytest.skip(reason)
        if claimed:
            try:
                yield url
            finally:
                connection.flushdb()
                connection.close()
            return
        connection.close()
    pytest.fail(f"every Redis database 1–15 at {REDIS_HOST} is claimed by another test run")

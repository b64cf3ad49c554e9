"""Structured logs: one JSON object per line (LOG_FORMAT=json), the run id on
every line a run writes, from whichever module writes it."""

import json
import logging
from io import StringIO
from unittest import mock

import pytest
from django.conf import settings

from config.logs import JsonFormatter, RunIdFilter, TextFormatter
from devtools.sandbox import DEMO_PLAYLISTS
from ingestion import runs
from ingestion.models import Trigger

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines():
    """The root logger's output at INFO, through the handler settings.LOGGING makes
    for LOG_FORMAT=json (its filter and formatter)."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RunIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: stream.getvalue().splitlines()
    root.removeHandler(handler)
    root.setLevel(level)


def run_once(playlist_id):
    run, _ = runs.request_ingest(playlist_id, trigger=Trigger.SHELL, enqueue=False)
    runs.execute_run(runs.claim_run(run.pk))
    return run


def test_every_line_is_one_json_object_and_a_runs_lines_carry_its_id(sandbox, log_lines):
    sandbox.state.set_faults(rate_limit={"retry_after": 7200, "times": 1})
    run = run_once(DEMO_PLAYLISTS[51])
    logging.getLogger("elsewhere").warning("not a run's line")
    entries = [json.loads(line) for line in log_lines()]  # each line parses on its own
    of_the_run = [entry for entry in entries if entry.get("run_id") == run.pk]
    messages = [entry["message"] for entry in of_the_run]
    assert any("attempt 1 started" in message for message in messages)
    assert any("failed, retry at" in message for message in messages), messages
    assert {"time", "level", "logger", "message"} <= set(of_the_run[0])
    (other,) = [entry for entry in entries if entry["message"] == "not a run's line"]
    assert "run_id" not in other


def test_an_unexpected_error_is_one_line_with_its_traceback_and_the_run_id(sandbox, log_lines):
    with mock.patch.object(runs, "_read_spotify", side_effect=ValueError("boom\nsecond line")):
        run = run_once(DEMO_PLAYLISTS[51])
    lines = log_lines()
    failures = [json.loads(line) for line in lines if "failed unexpectedly" in line]
    assert len(failures) == 1
    assert failures[0]["run_id"] == run.pk and failures[0]["level"] == "ERROR"
    assert "ValueError: boom" in failures[0]["exception"]


def test_text_lines_name_the_run_too():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "loaded %s rows", (3,), None)
    record.run_id = 42
    assert TextFormatter().format(record) == "[run 42] loaded 3 rows"


def test_the_settings_pick_the_formatter_from_log_format():
    handler = settings.LOGGING["handlers"]["console"]
    assert handler["formatter"] == settings.LOG_FORMAT == "text"
    assert handler["filters"] == ["run_id"]
    assert settings.LOGGING["formatters"]["json"]["()"] == "config.logs.JsonFormatter"

"""Log lines: plain text, or one JSON object per line (LOG_FORMAT=json), each
carrying the id of the run it was written for.

Whatever logs while a run executes (the runs module, the Spotify client,
django-q2, Django) is inside `run_context`, so its lines carry `run_id`
without any logger having to pass it."""

import json
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_current_run_id: ContextVar[int | None] = ContextVar("run_id", default=None)


@contextmanager
def run_context(run_id):
    token = _current_run_id.set(run_id)
    try:
        yield
    finally:
        _current_run_id.reset(token)


class RunIdFilter(logging.Filter):
    """Puts the current run's id (or None) on every record as `run_id`, unless
    the call gave one (`extra={"run_id": …}`)."""

    def filter(self, record):
        if getattr(record, "run_id", None) is None:
            record.run_id = _current_run_id.get()
        return True


class TextFormatter(logging.Formatter):
    def format(self, record):
        line = super().format(record)
        run_id = getattr(record, "run_id", None)
        return line if run_id is None else f"[run {run_id}] {line}"


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        run_id = getattr(record, "run_id", None)
        if run_id is not None:
            entry["run_id"] = run_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # One line, whatever the message holds (newlines are escaped by json).
        return json.dumps(entry, default=str, ensure_ascii=False)

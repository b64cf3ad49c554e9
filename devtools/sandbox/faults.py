"""The faults armed on the sandbox: latency, 429 with Retry-After (rate limit or
QUOTA_EXCEEDED) and 5xx, each for the next N requests under a path prefix."""

from __future__ import annotations

import json
import threading

from .errors import ApiError

FAULT_KINDS = ("latency_ms", "rate_limit", "quota_exceeded", "server_error")
#: The faults a request may meet, in the order they are checked.
_ANSWERED_FAULTS = ("rate_limit", "quota_exceeded", "server_error")
_SERVER_ERROR_MESSAGES = {
    500: "Server error.",
    502: "Bad gateway.",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class Faults:
    """The armed faults, guarded by the sandbox state's lock (one lock for all its state)."""

    def __init__(self, lock: threading.RLock, latency_ms: int = 0):
        self._lock = lock
        self._armed: dict = {}
        if latency_ms:
            self._armed["latency_ms"] = latency_ms

    def arm(self, name: str, value) -> None:
        """Set one fault (see ``SandboxState.set_faults``); None or False removes it."""
        if name not in FAULT_KINDS:
            raise ValueError(f"unknown fault {name!r}; known: {FAULT_KINDS}")
        with self._lock:
            if value is None or value is False:
                self._armed.pop(name, None)
            elif name == "latency_ms":
                self._armed[name] = int(value)
            else:
                self._armed[name] = _answered_fault(name, value)

    def clear(self) -> None:
        with self._lock:
            self._armed = {}

    def snapshot(self) -> dict:
        """A deep copy of the armed faults (what the control API shows)."""
        with self._lock:
            return json.loads(json.dumps(self._armed))

    def latency_ms(self) -> int:
        return self._armed.get("latency_ms", 0)

    def take(self, path: str) -> ApiError | None:
        """Consume one matching fault for ``path`` and return the error to answer, if any."""
        with self._lock:
            for name in _ANSWERED_FAULTS:
                fault = self._armed.get(name)
                if not fault or not path.startswith(fault["path_prefix"]):
                    continue
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        del self._armed[name]
                return _fault_error(name, fault)
        return None


def _answered_fault(name: str, value) -> dict:
    """A 429 or 5xx fault from its options (``times``, ``path_prefix``, ``retry_after`` or
    ``status``); ``times`` None or <= 0 means "until cleared"."""
    opts = dict(value) if isinstance(value, dict) else {}
    times = opts.get("times", 1)
    fault = {
        "times": None if times is None or int(times) <= 0 else int(times),
        "path_prefix": opts.get("path_prefix") or "/v1/",
    }
    if name == "server_error":
        fault["status"] = int(opts.get("status", 502))
    else:
        fault["retry_after"] = int(opts.get("retry_after", 1))
    return fault


def _fault_error(name: str, fault: dict) -> ApiError:
    if name == "server_error":
        status = fault["status"]
        return ApiError(status, _SERVER_ERROR_MESSAGES.get(status, "Server error."))
    headers = {"Retry-After": str(fault["retry_after"])}
    if name == "rate_limit":
        return ApiError(429, "API rate limit exceeded", headers=headers)
    return ApiError(429, "Too many requests", reason="QUOTA_EXCEEDED", headers=headers)

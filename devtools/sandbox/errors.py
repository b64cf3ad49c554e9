"""The two error shapes the sandbox answers with: the Web API's and the accounts service's."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered as ``{"error": {"status": N, "message": ...}}`` (Web API shape)."""

    def __init__(self, status: int, message: str, *, reason=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.headers = headers or {}

    def body(self) -> dict:
        err = {"status": self.status, "message": self.message}
        if self.reason:
            err["reason"] = self.reason
        return {"error": err}


class OAuthError(Exception):
    """An error answered as ``{"error": code, "error_description": ...}`` (accounts shape)."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}

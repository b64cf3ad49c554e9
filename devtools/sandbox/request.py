"""One HTTP request as the route modules see it, read off the standard library's handler."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

#: What a route answers: (status, payload, headers). The payload is None (no body), bytes,
#: JSON text (str) or an object to serialise as JSON.
Response = tuple[int, object, dict]


class Request:
    __slots__ = ("method", "path", "query", "body", "headers", "host_base")

    def __init__(self, method, path, query, body, headers, host_base):
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.headers = headers
        self.host_base = host_base  # "http://HOST:PORT/" as the client addressed us

    def q(self, name: str, default=None):
        return self.query.get(name, default)


def read_request(handler: BaseHTTPRequestHandler, method: str, default_base: str) -> Request:
    """Parse the path, query (first value of each name), body and the base URL the client used
    (its ``Host`` header, so links in answers work through any address of the server)."""
    split = urlsplit(handler.path)
    query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    host = handler.headers.get("Host")
    host_base = f"http://{host}/" if host else default_base
    return Request(method, split.path, query, body, handler.headers, host_base)

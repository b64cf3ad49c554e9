"""A local stand-in of the Spotify Web API and accounts service ("the sandbox").

Pure standard library: ``http.server.ThreadingHTTPServer`` + ``json``. Follows the rules in
``docs/spotify-web-api.md`` (Development Mode vs Extended Quota Mode, the 2026 item shape,
404 for editorial playlists, 429 with ``Retry-After`` and the ``QUOTA_EXCEEDED`` reason).

This module is the lifecycle (``SandboxServer``: bind, start, stop, URLs) and the dispatch
of each request to its concern: ``oauth`` (accounts service), ``webapi`` (``/v1/``),
``control`` (faults, and the ``/_sandbox/`` control API), drawing on ``state`` (what
changes) and ``render`` (Spotify JSON).

Control API (not part of Spotify), from Python via ``server.state`` or over HTTP under
``/_sandbox/``: faults, mode, playlist edits, request counters, reset.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import control, oauth, webapi
from .catalog import DEFAULT_SEED, Catalog, build_catalog
from .errors import ApiError, OAuthError
from .render import Renderer, dumps
from .request import Request, Response, read_request
from .state import DEVELOPMENT, REFRESH_TOKEN_LIFETIME_DAYS, SandboxState

_JSON_CT = "application/json; charset=utf-8"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, sandbox: SandboxServer):
        self.sandbox = sandbox
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(addr, handler)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        if self.sandbox.verbose:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SpotifySandbox/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are dropped after this
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

    server: _HTTPServer

    def setup(self):
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self):
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        if self.server.sandbox.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self.server.sandbox._dispatch(self, "GET")

    def do_POST(self):
        self.server.sandbox._dispatch(self, "POST")

    def do_PUT(self):
        self.server.sandbox._dispatch(self, "PUT")

    def do_DELETE(self):
        self.server.sandbox._dispatch(self, "DELETE")


def request_kind(method: str, path: str) -> str:
    """The request counter a Spotify request adds to (``state.stats()``)."""
    if path == "/api/token":
        return "token"
    if path == "/authorize":
        return "authorize"
    if path.startswith("/v1/"):
        return webapi.route_kind([p for p in path[4:].split("/") if p])
    return "other"


def send(h: BaseHTTPRequestHandler, status: int, payload, headers=None) -> None:
    """Write the answer; a payload that is not bytes is JSON (text, or an object to dump)."""
    headers = dict(headers or {})
    if payload is None:
        data = b""
    elif isinstance(payload, bytes):
        data = payload
    else:
        data = (payload if isinstance(payload, str) else dumps(payload)).encode("utf-8")
        headers.setdefault("Content-Type", _JSON_CT)
    try:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if data and h.command != "HEAD":
            h.wfile.write(data)
    except OSError:
        h.close_connection = True


class SandboxServer:
    """Local Spotify Web API stand-in. ``port=0`` picks a free port (bound at construction).

    Use as ``with SandboxServer() as server: ...`` or ``server.start()`` / ``server.stop()``.
    """

    def __init__(
        self,
        catalog: Catalog | None = None,
        mode: str = DEVELOPMENT,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency_ms: int = 0,
        verbose: bool = False,
        seed: int = DEFAULT_SEED,
        refresh_token_lifetime_days: float | None = REFRESH_TOKEN_LIFETIME_DAYS,
    ):
        self.catalog = catalog if catalog is not None else build_catalog(seed)
        self.state = SandboxState(
            self.catalog,
            mode=mode,
            latency_ms=latency_ms,
            refresh_token_lifetime_days=refresh_token_lifetime_days,
        )
        self.verbose = verbose
        self.host = host
        self._httpd = _HTTPServer((host, port), _Handler, self)
        self.port = self._httpd.server_address[1]
        self._base_url = f"http://{_public_host(host)}:{self.port}/"
        self._renderers: dict[str, Renderer] = {}
        self._thread: threading.Thread | None = None
        self._serving = False

    # URLs -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def api_base_url(self) -> str:
        return self._base_url + "v1/"

    @property
    def accounts_base_url(self) -> str:
        return self._base_url

    @property
    def token_url(self) -> str:
        return self._base_url + "api/token"

    @property
    def authorize_url(self) -> str:
        return self._base_url + "authorize"

    def info(self) -> dict:
        """What ``GET /_sandbox/info`` answers: URLs, credentials, users, playlists."""
        return control.info(self)

    # lifecycle --------------------------------------------------------------------------
    def start(self) -> SandboxServer:
        if self._thread is None:
            self._serving = True
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"spotify-sandbox-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._serving = True
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._serving = False

    def stop(self) -> None:
        if self._serving:
            self._httpd.shutdown()
            self._serving = False
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._httpd.connections_lock:
            conns = list(self._httpd.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # dispatch ---------------------------------------------------------------------------
    def _dispatch(self, h: _Handler, method: str) -> None:
        req = read_request(h, method, self._base_url)
        try:
            if req.path.startswith("/_sandbox"):
                status, payload, headers = control.handle(req, self)
                send(h, status, payload, headers)  # not counted: the control API is not Spotify
                return
            self.state.count_request(request_kind(method, req.path))
            control.inject_faults(self.state, req.path)
            status, payload, headers = self._route(req)
        except ApiError as e:
            status, payload, headers = e.status, dumps(e.body()), e.headers
        except OAuthError as e:
            status, payload, headers = e.status, dumps(e.body), {}
        except Exception:  # pragma: no cover - a bug in the sandbox itself
            traceback.print_exc()
            status, payload, headers = 500, dumps(ApiError(500, "Server error.").body()), {}
        self.state.count_status(status)
        send(h, status, payload, headers)

    def _route(self, req: Request) -> Response:
        if req.path == "/api/token":
            return oauth.token(req, self.state)
        if req.path == "/authorize":
            return oauth.authorize(req, self.state)
        if req.path.startswith("/v1/"):
            return webapi.handle(req, self.state, self._renderer(req.host_base))
        raise ApiError(404, "Service not found")

    def _renderer(self, host_base: str) -> Renderer:
        """One renderer (and its caches) per base URL clients address the server by."""
        r = self._renderers.get(host_base)
        if r is None:
            r = self._renderers[host_base] = Renderer(self.catalog, host_base + "v1/")
        return r


def _public_host(host: str) -> str:
    """The host for URLs to the server: a wildcard bind is reached at the loopback address."""
    public_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    if public_host == "::":
        public_host = "::1"
    if ":" in public_host:
        public_host = f"[{public_host}]"
    return public_host

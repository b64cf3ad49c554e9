"""`manage.py spotify_sandbox`: serve the local Spotify Web API stand-in until Ctrl-C
(or, with --write-demo-export, write an export file of its catalog and exit)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from devtools.sandbox import (
    COLLAB_PLAYLIST_ID,
    DEFAULT_SEED,
    DEMO_PLAYLISTS,
    DEMO_REFRESH_TOKEN,
    DEMO_USER_ID,
    EDITORIAL_PLAYLIST_ID,
    ERIN_USER_ID,
    LEGACY_SHAPE_PLAYLIST_ID,
    MIXED_PLAYLIST_ID,
    MODES,
    OTHER_USER_PLAYLIST_ID,
    PRIVATE_PLAYLIST_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SandboxServer,
)
from devtools.sandbox.catalog import build_catalog
from devtools.sandbox.state import REFRESH_TOKEN_LIFETIME_DAYS
from devtools.synthetic import exports


class Command(BaseCommand):
    help = (
        "Run the Spotify sandbox: a local stand-in of the Spotify Web API and accounts service "
        "with a generated catalog (for the demo, tests and benchmarks). Serves until Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765, help="port (0 = any free port)")
        parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
        parser.add_argument(
            "--mode", choices=MODES, default="development", help="API access rules to follow"
        )
        parser.add_argument(
            "--latency-ms", type=int, default=0, help="delay every API answer by N ms"
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="catalog seed")
        parser.add_argument(
            "--refresh-token-lifetime-days",
            type=float,
            default=REFRESH_TOKEN_LIFETIME_DAYS,
            help="refresh tokens end this many days after their authorization, then "
            f"invalid_grant, as at Spotify (default {REFRESH_TOKEN_LIFETIME_DAYS})",
        )
        parser.add_argument("--verbose", action="store_true", help="log every request")
        parser.add_argument(
            "--write-demo-export",
            metavar="PATH",
            help="write a Spotify account data export ZIP of catalog tracks to PATH and exit "
            "(for trying imports and enrichment)",
        )

    def handle(
        self,
        *args,
        port,
        host,
        mode,
        latency_ms,
        seed,
        verbose,
        write_demo_export,
        refresh_token_lifetime_days,
        **options,
    ):
        if write_demo_export:
            path = exports.write_demo_export(Path(write_demo_export), build_catalog(seed))
            self.stdout.write(f"Wrote {path}")
            return
        try:
            server = SandboxServer(
                mode=mode,
                host=host,
                port=port,
                latency_ms=latency_ms,
                verbose=verbose,
                seed=seed,
                refresh_token_lifetime_days=refresh_token_lifetime_days,
            )
        except OSError as error:
            raise CommandError(f"cannot listen on {host}:{port}: {error}") from error
        out = self.stdout
        out.write(
            self.style.SUCCESS(f"Spotify sandbox ({mode} mode) listening on {host}:{server.port}")
        )
        out.write(f"  API base URL:       {server.api_base_url}")
        out.write(f"  accounts base URL:  {server.accounts_base_url}")
        out.write(f"  token URL:          {server.token_url}")
        out.write(f"  authorize URL:      {server.authorize_url}")
        out.write(f"  control API:        {server.base_url}_sandbox/  (stats, faults, mode, reset)")
        out.write("Demo credentials (sandbox only, never valid at Spotify):")
        out.write(f"  client id:          {SANDBOX_CLIENT_ID}")
        out.write(f"  client secret:      {SANDBOX_CLIENT_SECRET}")
        out.write(f"  user:               {DEMO_USER_ID} (refresh token: {DEMO_REFRESH_TOKEN})")
        out.write(
            f"  allow-list:         {', '.join(sorted(server.state.allow_list))} "
            f"({ERIN_USER_ID} is a sixth user, refused with 403 in development mode)"
        )
        out.write(
            '  walls:              POST /_sandbox/app {"premium_lapsed": true} or '
            '{"allow_list": [...]}; the authorize page lets you pick a user'
        )
        out.write(
            f"  refresh tokens:     end {refresh_token_lifetime_days:g} days after their "
            'authorization (POST /_sandbox/clock {"advance_days": N} walks there)'
        )
        out.write("Playlists:")
        for size, pid in DEMO_PLAYLISTS.items():
            out.write(f"  {pid}  demo, {size} items")
        for label, pid in (
            ("mixed: local files, episodes, unavailable, duplicates", MIXED_PLAYLIST_ID),
            ("legacy item shape (track key only)", LEGACY_SHAPE_PLAYLIST_ID),
            ("collaborative, owned by sandbox-alice", COLLAB_PLAYLIST_ID),
            (
                "public, owned by sandbox-alice (403 on items in development)",
                OTHER_USER_PLAYLIST_ID,
            ),
            ("private, owned by sandbox-bob (404)", PRIVATE_PLAYLIST_ID),
            ("editorial, Spotify-owned (always 404)", EDITORIAL_PLAYLIST_ID),
        ):
            out.write(f"  {pid}  {label}")
        if latency_ms:
            out.write(f"Latency: {latency_ms} ms per request")
        out.write("Quit with Ctrl-C.")
        out.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            out.write("Stopping the sandbox.")
        finally:
            server.stop()

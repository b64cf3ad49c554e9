"""The web app in a real browser: Playwright (sync API) driving Debian's Chromium.

Two journeys, as a person would take them. One: sign up, connect Spotify through
the sandbox's consent page, add a sandbox playlist by its link, watch its run
page follow the run and open the dashboard, check that the charts are drawn and
that the track table sorts, and keep a full-page screenshot in test-artifacts/.
Two: upload a Spotify export, watch its file-import run list the playlists,
open one whose dashboard says what the file lacks, follow its enrichment from
Spotify to the end, and see the details filled in. In both, the browser reports
nothing blocked by the Content-Security-Policy (the Connect form's redirect to the
consent page included: Chromium checks it against form-action).

The run is held back until the browser shows it queued, then handed to the
(synchronous) queue in a thread of its own: so the page really follows a live
run over its JSON status, instead of finding it already over.

Without Chromium (/usr/bin/chromium, `apt-get install chromium`) or the
`playwright` package the test is skipped, unless REQUIRE_BROWSER_TESTS=1 (CI)
makes that a failure.
"""

import os
import re
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

from devtools.sandbox import DEMO_PLAYLISTS, DEMO_USER_ID
from ingestion import runs as ingestion_runs

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOT = ARTIFACTS / "browser-journey.png"
TIMEOUT_MS = 30_000  # generous: every wait below is for an event, never a fixed time
RUN_TIMEOUT_MS = 120_000
PLAYLIST_ID = DEMO_PLAYLISTS[237]  # owned by sandbox-demo: readable in Development Mode
USERNAME = "browser-bea"
PASSWORD = "a-long-browser-test-passphrase-42"

# A canvas is drawn if it has a size and at least one pixel that is not transparent.
CANVAS_DRAWN_JS = """(canvas) => {
  if (!canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
  return false;
}"""


def _require_or_skip(reason):
    if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        pytest.fail(f"{reason} (REQUIRE_BROWSER_TESTS=1: the browser test may not be skipped)")
    pytest.skip(reason)


@pytest.fixture
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require_or_skip("the playwright package is not installed (make install)")
    if not shutil.which(CHROMIUM):
        _require_or_skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return sync_playwright


@pytest.fixture
def held_runs(monkeypatch):
    """Runs the web app enqueues are held here (their ids) instead of executing inline."""
    held = []
    monkeypatch.setattr(ingestion_runs, "enqueue_run", lambda run_id, **kw: held.append(run_id))
    return held


@contextmanager
def _browser_page(sync_playwright):
    """A page in a fresh headless Chromium, the list of the page's script errors, and
    the list of what the Content-Security-Policy blocked (Chromium reports it on the console).
    """
    page_errors = []
    csp_violations = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            # Hermetic: only this machine (the app, the sandbox). The sandbox's cover
            # images point at Spotify's CDN; those requests are refused here, not sent.
            context.route(re.compile(r"^https?://(?!(127\.0\.0\.1|localhost)[:/])"), _refuse)
            page = context.new_page()
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("console", lambda message: _note_csp_violation(message, csp_violations))
            yield page, page_errors, csp_violations
        finally:
            browser.close()


def _note_csp_violation(message, violations):
    if message.type == "error" and "Content Security Policy" in message.text:
        violations.append(message.text)


def _execute_in_thread(run_id):
    """Hand the held run to the queue (synchronous in tests) in a thread of its own."""

    def work():
        try:
            ingestion_runs.async_task(
                ingestion_runs.RUN_TASK, run_id, task_name=f"ingest-run-{run_id}"
            )
        finally:
            connections.close_all()

    thread = threading.Thread(target=work, name=f"ingest-run-{run_id}", daemon=True)
    thread.start()
    return thread


def test_sign_up_connect_add_follow_the_run_and_explore_the_dashboard(
    sync_playwright, transactional_db, live_server, sandbox, settings, held_runs
):
    from playwright.sync_api import expect

    # Spotify sends the browser back to 127.0.0.1 (loopback IP, as the sandbox
    # demands), so the whole journey uses that address: one session throughout.
    port = live_server.url.rsplit(":", 1)[1]
    base = f"http://127.0.0.1:{port}"
    settings.SPOTIFY_REDIRECT_URI = base + reverse("spotify-callback")
    ARTIFACTS.mkdir(exist_ok=True)

    run_thread = None
    with _browser_page(sync_playwright) as (page, page_errors, csp_violations):
        try:
            # --- sign up
            page.goto(base + "/")
            expect(page).to_have_url(re.compile(r"/accounts/login/"))
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign up").click()
            page.fill("#id_username", USERNAME)
            page.fill("#id_email", f"{USERNAME}@example.org")
            page.fill("#id_password1", PASSWORD)
            page.fill("#id_password2", PASSWORD)
            page.get_by_role("button", name="Sign up").click()
            expect(page.get_by_role("heading", name="My playlists", level=1)).to_be_visible()
            expect(page.locator("details.account-menu summary")).to_have_text(USERNAME)

            # --- connect Spotify: the sandbox's consent page, then back to the callback
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Spotify").click()
            expect(page.locator('[data-connection-status="none"]')).to_be_visible()
            page.get_by_role("button", name="Connect Spotify").click()
            expect(page).to_have_title("Spotify sandbox: authorize")
            page.check(f'input[name="sandbox_user"][value="{DEMO_USER_ID}"]')
            page.get_by_role("button", name="Agree").click()
            expect(page).to_have_url(base + reverse("spotify-playlists"))
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Spotify").click()
            expect(page.locator('[data-connection-status="connected"]')).to_contain_text(
                DEMO_USER_ID
            )

            # --- add the playlist by pasting its link
            page.get_by_role("navigation", name="Main").get_by_role(
                "link", name="My playlists"
            ).click()
            page.get_by_label("Playlist link, URI or id").fill(
                f"https://open.spotify.com/playlist/{PLAYLIST_ID}?si=browser-test"
            )
            page.get_by_role("button", name="Add", exact=True).click()

            # --- the run page, while the run is still queued: it follows it live
            expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
            badge = page.locator("#run [data-field='status_label']")
            expect(badge).to_have_attribute("data-status", "queued")
            expect(page.locator("#run [data-show='working']")).to_be_visible()
            assert len(held_runs) == 1, held_runs
            run_thread = _execute_in_thread(held_runs[0])
            page.wait_for_url(
                base + reverse("dashboard:playlist", args=[PLAYLIST_ID]), timeout=RUN_TIMEOUT_MS
            )
            run_thread.join(timeout=RUN_TIMEOUT_MS / 1000)
            assert not run_thread.is_alive()

            # --- the dashboard: every chart drawn on its canvas
            expect(page.get_by_role("heading", level=1)).not_to_be_empty()
            canvases = page.locator("section.charts canvas")
            expect(canvases.first).to_be_visible()
            chart_count = page.evaluate(
                "() => JSON.parse(document.getElementById('chart-data').textContent).charts"
                ".filter((c) => document.getElementById('chart-' + c.id)).length"
            )
            assert chart_count >= 2
            expect(canvases).to_have_count(chart_count)
            page.wait_for_function(
                f"() => [...document.querySelectorAll('section.charts canvas')]"
                f".every({CANVAS_DRAWN_JS})"
            )
            drawn = canvases.evaluate_all(f"(nodes) => nodes.map({CANVAS_DRAWN_JS})")
            assert drawn == [True] * chart_count

            # --- the track table: sorted by position, then by year (ascending, descending)
            table = page.locator("#track-table")
            expect(table.locator("p.table-status")).to_contain_text("of 237")
            positions_before = _column(page, "position")
            assert positions_before[:5] == ["1", "2", "3", "4", "5"]

            table.locator("th.col-year a").click()
            expect(page.locator("#track-table th.col-year")).to_have_attribute(
                "aria-sort", "ascending"
            )
            expect(page).to_have_url(re.compile(r"[?&]sort=year(&|$)"))
            years_up = _years(page)
            assert years_up == sorted(years_up) and years_up[0] < years_up[-1]
            assert _column(page, "position") != positions_before

            page.locator("#track-table th.col-year a").click()
            expect(page.locator("#track-table th.col-year")).to_have_attribute(
                "aria-sort", "descending"
            )
            years_down = _years(page)
            assert years_down == sorted(years_down, reverse=True)
            assert years_down[0] >= years_up[-1]

            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            if run_thread is not None:
                run_thread.join(timeout=RUN_TIMEOUT_MS / 1000)

    assert page_errors == [], page_errors
    assert csp_violations == [], csp_violations
    assert SCREENSHOT.stat().st_size > 0


def test_upload_an_export_follow_its_import_and_its_enrichment(
    sync_playwright, transactional_db, live_server, sandbox, settings, held_runs, alice, tmp_path
):
    from playwright.sync_api import expect

    from devtools.synthetic.exports import (
        catalog_tracks,
        export_item,
        export_playlist,
        export_track_item,
    )
    from devtools.synthetic.exports import write_export_json as write_export
    from tests.conftest import PASSWORD as ALICE_PASSWORD

    settings.DATA_DIR = tmp_path / "data"
    catalog = sandbox.catalog
    several, single, _ = catalog_tracks(catalog)
    export = write_export(
        tmp_path / "Playlist1.json",
        [
            export_playlist(
                "Road trip", [export_item(catalog, several), export_item(catalog, single)]
            ),
            export_playlist("Quiet", [export_track_item(999)]),
        ],
    )
    threads = []
    with _browser_page(sync_playwright) as (page, page_errors, csp_violations):
        try:
            page.goto(live_server.url + reverse("login"))
            page.fill("#id_username", alice.username)
            page.fill("#id_password", ALICE_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("link", name="Upload it").click()

            # --- the upload: the file-import run page follows the queued run
            page.set_input_files("#id_file", str(export))
            page.get_by_label("Fill in durations, release dates and genres from Spotify").uncheck()
            page.get_by_role("button", name="Import").click()
            expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
            expect(page.locator("#run [data-field='status_label']")).to_have_attribute(
                "data-status", "queued"
            )
            assert len(held_runs) == 1, held_runs
            threads.append(_execute_in_thread(held_runs[0]))
            # Two playlists: the page reloads to list them (no single dashboard to open).
            page.get_by_role("link", name="Road trip").click(timeout=RUN_TIMEOUT_MS)

            # --- the dashboard says what the export lacks, and offers to fill it in
            missing = page.locator("#missing-details")
            expect(missing).to_contain_text("Of its 2 tracks, 2 have no length")
            page.get_by_role("button", name="Fill in from Spotify").click()
            expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
            expect(page.locator("#run")).to_contain_text("Tracks:")
            assert len(held_runs) == 2, held_runs
            threads.append(_execute_in_thread(held_runs[1]))
            page.wait_for_url(re.compile(r"/playlists/export:[^/]+/$"), timeout=RUN_TIMEOUT_MS)
            expect(page.locator("#missing-details")).to_have_count(0)
            expect(page.locator("#track-table p.table-status")).to_contain_text("of 2")
        finally:
            for thread in threads:
                thread.join(timeout=RUN_TIMEOUT_MS / 1000)

    assert page_errors == [], page_errors
    assert csp_violations == [], csp_violations


def _refuse(route):
    route.abort("blockedbyclient")


def _column(page, key):
    return page.locator(f"#track-table tbody td.col-{key}").all_inner_texts()


def _years(page):
    return [int(year) for year in _column(page, "year") if year.strip().isdigit()]

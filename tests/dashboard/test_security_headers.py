"""Every page sends the Content-Security-Policy and Permissions-Policy, and needs nothing inline.

The policy allows scripts and styles from this site only, so an inline
<script>, an on…= handler, a javascript: link or a style="…" attribute would
be blocked by the browser (and is refused here first). JSON data blocks
(`json_script`, type="application/json") are data, not scripts: allowed.
"""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from ingestion.models import RunStatus

pytestmark = pytest.mark.django_db

PLAYLIST_ID = "37i9dQZF1DXcBWIGoYBM5M"
OTHER_PLAYLIST_ID = "37i9dQZF1DX0XUsuxWHRQd"
DATA_TYPES = {"application/json", "application/ld+json"}


class _InlineCode(HTMLParser):
    """Collects what a `script-src 'self'; style-src 'self'` policy would block."""

    def __init__(self):
        super().__init__()
        self.found = []
        self._inline_script = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…> (inline event handler)")
            if name == "style":
                self.found.append(f"<{tag} style=…> (inline style)")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:…>")
        if tag == "style":
            self.found.append("<style> element (inline style sheet)")
        script_type = (attributes.get("type") or "").lower()
        if tag == "script" and "src" not in attributes and script_type not in DATA_TYPES:
            self._inline_script = ""

    def handle_data(self, data):
        if self._inline_script is not None:
            self._inline_script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._inline_script is not None:
            self.found.append(f"inline <script>: {self._inline_script.strip()[:60]!r}")
            self._inline_script = None


def inline_code(html):
    parser = _InlineCode()
    parser.feed(html)
    return parser.found


def directives(response):
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_the_inline_code_finder_finds_what_the_policy_blocks():
    html = """
      <script>alert(1)</script>
      <script type="application/json" id="data">{"ok": true}</script>
      <script src="/static/x.js"></script>
      <button onclick="go()">Go</button>
      <a href="javascript:go()">go</a>
      <p style="color: red">red</p>
      <style>p { color: red }</style>
    """
    assert inline_code(html) == [
        "inline <script>: 'alert(1)'",
        "<button onclick=…> (inline event handler)",
        "<a href=javascript:…>",
        "<p style=…> (inline style)",
        "<style> element (inline style sheet)",
    ]


@pytest.fixture
def alice_with_data(alice, loaded_playlist, ingest_run):
    loaded_playlist(alice, playlist_id=PLAYLIST_ID, name="Road trip", tracks=6)
    loaded_playlist(alice, playlist_id=OTHER_PLAYLIST_ID, name="Commute", tracks=3)
    run = ingest_run(PLAYLIST_ID, status=RunStatus.SUCCEEDED, requested_by=alice)
    return alice, run


def _pages(run):
    return {
        "home": reverse("dashboard:home"),
        "dashboard": reverse("dashboard:playlist", args=[PLAYLIST_ID]),
        "track table": reverse("dashboard:tracks", args=[PLAYLIST_ID]),
        "overview": reverse("dashboard:overview"),
        "library": reverse("dashboard:library"),
        "library table": reverse("dashboard:library-tracks"),
        "duplicates": reverse("dashboard:duplicates"),
        "overlap": reverse("dashboard:overlap"),
        "compare picker": reverse("dashboard:compare"),
        "compare": f"{reverse('dashboard:compare')}?p={PLAYLIST_ID}&p={OTHER_PLAYLIST_ID}",
        "run": reverse("dashboard:run", args=[run.pk]),
        "upload": reverse("dashboard:upload"),
        "spotify": reverse("spotify"),
        "password change": reverse("password_change"),
    }


ANONYMOUS_PAGES = ("login", "signup", "password_reset", "password_reset_done")


def _assert_hardened(name, response):
    assert response.status_code == 200, f"{name}: {response.status_code}"
    policy = directives(response)
    assert policy["default-src"] == ["'self'"], name
    assert policy["script-src"] == ["'self'"], name
    assert policy["style-src"] == ["'self'"], name
    assert policy["object-src"] == ["'none'"], name
    assert policy["base-uri"] == ["'self'"], name
    assert policy["frame-ancestors"] == ["'none'"], name
    assert policy["form-action"][0] == "'self'", name
    assert "camera=()" in response["Permissions-Policy"], name
    assert "geolocation=()" in response["Permissions-Policy"], name
    assert inline_code(response.content.decode()) == [], name


def test_every_signed_in_page_sends_the_policies_and_has_no_inline_code(client, alice_with_data):
    alice, run = alice_with_data
    client.force_login(alice)

    for name, url in _pages(run).items():
        _assert_hardened(name, client.get(url))


@pytest.mark.parametrize("url_name", ANONYMOUS_PAGES)
def test_every_public_page_sends_the_policies_and_has_no_inline_code(client, url_name):
    _assert_hardened(url_name, client.get(reverse(url_name)))


def test_the_dashboard_charts_ride_in_a_json_data_block(client, alice_with_data):
    alice, _ = alice_with_data
    client.force_login(alice)

    html = client.get(reverse("dashboard:playlist", args=[PLAYLIST_ID])).content.decode()

    assert '<script id="chart-data" type="application/json">' in html


def test_covers_may_come_from_spotifys_image_hosts_only(client):
    images = directives(client.get(reverse("login")))["img-src"]

    assert sorted(images) == sorted(
        ["'self'", "data:", "https://*.scdn.co", "https://*.spotifycdn.com"]
    )


def test_forms_may_post_to_this_site_and_go_on_to_spotifys_consent_page(client, settings):
    # "Connect Spotify" posts here and is redirected to Spotify's accounts site:
    # Chromium checks that redirect against form-action.
    settings.SPOTIFY_ACCOUNTS_BASE_URL = "https://accounts.example.test:8443/"

    assert directives(client.get(reverse("login")))["form-action"] == [
        "'self'",
        "https://accounts.example.test:8443",
    ]


def test_the_spotify_pages_of_a_connected_account_have_no_inline_code(
    client, alice, sandbox, connect_spotify
):
    connect_spotify(alice)
    client.force_login(alice)

    for name in ("spotify", "spotify-playlists"):
        response = client.get(reverse(name))
        _assert_hardened(name, response)
    assert "<img" in response.content.decode()  # the covers of the pick page


def test_the_admin_pages_have_no_inline_code(client, staff, alice):
    client.force_login(staff)

    for url in (
        reverse("admin:index"),
        reverse("admin:auth_user_changelist"),
        reverse("admin:auth_user_change", args=[alice.pk]),
        reverse("admin:ingestion_ingestrun_changelist"),
    ):
        _assert_hardened(url, client.get(url))

"""People and the OAuth dance for the "Connect Spotify" tests.

`alice` and `bob` are site users with no Spotify account until a test connects
one: with the real dance over HTTP (`connect_over_oauth(client, "sandbox-alice")`)
or directly (`connect_spotify(alice, "sandbox-demo")`, tests/conftest.py).
"""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

TIMEOUT = 5


def start_connecting(client):
    """POST "Connect Spotify"; the sandbox authorize URL it redirects to."""
    response = client.post(reverse("spotify-connect"))
    assert response.status_code == 302, response.content
    return response.url


def approve(authorize_url, sandbox_user, **extra):
    """What the sandbox consent page does when a person picks `sandbox_user` and agrees:
    the callback path and query it redirects the browser to."""
    params = {"sandbox_user": sandbox_user, "sandbox_approve": "1", **extra}
    answer = requests.get(authorize_url, params=params, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert location.path == reverse("spotify-callback")
    return location.path, parse_qs(location.query)


@pytest.fixture
def connect_over_oauth(sandbox):
    """The whole dance: connect → sandbox authorize → callback; the callback response."""

    def dance(client, sandbox_user="sandbox-alice"):
        path, query = approve(start_connecting(client), sandbox_user)
        return client.get(path, {key: values[0] for key, values in query.items()})

    return dance

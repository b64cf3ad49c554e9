"""The sandbox suites' own server: one per test module, its state reset around each test."""

import pytest
import requests

from devtools.sandbox import SandboxServer


@pytest.fixture(scope="module")
def server():
    with SandboxServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh_state(server):
    server.state.reset()
    yield
    server.state.reset()


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session

"""What the account pages tell a stranger, and how often they mail: the reset throttle,
sign-up's messages, the client address behind a proxy."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts import security
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

RESET = reverse("password_reset")
RESET_DONE = reverse("password_reset_done")
LOGIN = reverse("login")
SIGNUP = reverse("signup")
PROXY = "10.0.0.2"  # the TLS proxy's address, as the app sees it


def ask_reset(email, client_address="192.0.2.10", **headers):
    return Client(REMOTE_ADDR=client_address, **headers).post(RESET, {"email": email})


@pytest.fixture
def limits(settings):
    settings.PASSWORD_RESET_MAILS_PER_ADDRESS_PER_HOUR = 2
    settings.PASSWORD_RESET_MAILS_PER_CLIENT_PER_HOUR = 3
    return settings


def test_reset_mails_to_one_address_stop_at_the_limit_whoever_asks(alice, limits, mailoutbox):
    answers = [ask_reset("alice@example.org", f"192.0.2.{n}") for n in range(1, 5)]

    assert len(mailoutbox) == 2
    # The page over the limit is the page under it.
    assert [answer.status_code for answer in answers] == [302] * 4
    assert {answer.url for answer in answers} == {RESET_DONE}


def test_the_address_limit_ignores_case_and_spaces(alice, limits, mailoutbox):
    for email in ("alice@example.org", "ALICE@Example.org", " alice@example.org "):
        ask_reset(email, "192.0.2.77")

    assert len(mailoutbox) == 2


def test_reset_mails_from_one_client_stop_at_the_limit_whatever_address(
    alice, bob, charlie, limits, mailoutbox
):
    for name in ("alice", "bob", "charlie", "alice"):
        assert ask_reset(f"{name}@example.org").url == RESET_DONE

    assert [mail.to for mail in mailoutbox] == [
        ["alice@example.org"],
        ["bob@example.org"],
        ["charlie@example.org"],
    ]


def test_asking_for_unknown_addresses_counts_too(alice, limits, mailoutbox):
    # Else the throttle itself would tell which addresses have an account.
    for n in range(3):
        assert ask_reset(f"nobody{n}@example.org").url == RESET_DONE

    assert ask_reset("alice@example.org").url == RESET_DONE
    assert mailoutbox == []


def test_the_limit_is_per_hour(alice, limits, mailoutbox, monkeypatch):
    now = 1_800_000_000.0
    monkeypatch.setattr(security.time, "time", lambda: now)
    for _ in range(3):
        ask_reset("alice@example.org")
    assert len(mailoutbox) == 2

    now += 3599
    ask_reset("alice@example.org")
    assert len(mailoutbox) == 2  # the first two are still within the hour

    now += 2
    ask_reset("alice@example.org")
    assert len(mailoutbox) == 3


def test_behind_a_proxy_each_client_has_its_own_reset_limit(alice, bob, limits, mailoutbox):
    limits.TRUSTED_PROXY_COUNT = 1
    limits.PASSWORD_RESET_MAILS_PER_CLIENT_PER_HOUR = 2
    for name in ("alice", "bob", "alice"):  # one client: its third request is refused
        ask_reset(f"{name}@example.org", PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5")
    ask_reset("bob@example.org", PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9")  # another client

    assert [mail.to for mail in mailoutbox] == [
        ["alice@example.org"],
        ["bob@example.org"],
        ["bob@example.org"],
    ]


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "203.0.113.5", PROXY),  # no proxy trusted: the header is the client's word
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "198.51.100.1, 203.0.113.5", "203.0.113.5"),  # the left one is made up
        (2, "198.51.100.1, 203.0.113.5, 10.0.0.1", "203.0.113.5"),
        (2, "203.0.113.5", PROXY),  # fewer entries than proxies: not forwarded as said
        (1, "", PROXY),
    ],
)
def test_the_client_address_is_read_past_the_trusted_proxies(
    rf, settings, proxies, forwarded_for, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)

    assert security.client_ip(request) == expected


def test_behind_a_proxy_the_sign_in_lockout_holds_one_client_not_everyone(alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 2
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.66")
    for _ in range(2):
        attacker.post(LOGIN, {"username": "alice", "password": "wrong"})

    still_locked = attacker.post(LOGIN, {"username": "alice", "password": PASSWORD})
    alice_elsewhere = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.7").post(
        LOGIN, {"username": "alice", "password": PASSWORD}
    )

    assert still_locked.status_code == 429
    assert alice_elsewhere.status_code == 302


def _sign_up(client, username, email):
    return client.post(
        SIGNUP,
        {
            "username": username,
            "email": email,
            "password1": "a-long-enough-pass-42",
            "password2": "a-long-enough-pass-42",
        },
    )


def test_sign_up_with_an_address_in_use_does_not_say_so(client, alice):
    response = _sign_up(client, "alice-two", "alice@example.org")

    assert response.status_code == 302  # signed up: nothing tells that alice exists
    assert get_user_model().objects.filter(email="alice@example.org").count() == 2


def test_sign_up_with_a_taken_username_says_only_that(client, alice):
    response = _sign_up(client, "alice", "someone-else@example.org")

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "username": ["A user with that username already exists."]
    }
    assert "e-mail" not in str(response.context["form"].errors).lower()

import pytest
from django.urls import reverse

from accounts.models import SpotifyConnection

pytestmark = pytest.mark.django_db


def test_the_admin_lists_connections_without_their_tokens(admin_client, django_user_model):
    owner = django_user_model.objects.create_user("dana", password="x-long-password-1")
    connection = SpotifyConnection.objects.create(
        user=owner,
        account_id="acc-123",
        spotify_user_id="dana-on-spotify",
        access_token="secret-access-token-value",
        refresh_token="secret-refresh-token-value",
    )
    listing = admin_client.get(reverse("admin:accounts_spotifyconnection_changelist"))
    assert listing.status_code == 200
    assert b"dana-on-spotify" in listing.content
    page = admin_client.get(
        reverse("admin:accounts_spotifyconnection_change", args=[connection.pk])
    )
    assert page.status_code == 200
    assert b"acc-123" in page.content
    assert b"secret-" not in page.content
    assert admin_client.get(reverse("admin:accounts_spotifyconnection_add")).status_code == 403

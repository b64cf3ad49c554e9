"""The demo login of `make run`, shown on the sign-in page while DEBUG is on.

`manage.py seed_demo` (devtools.demo) creates this account; the product only
knows its name and public password, to show them when the account exists.
"""

from django.contrib.auth import get_user_model

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password-123"


def demo_user_exists():
    return get_user_model().objects.filter(username=DEMO_USERNAME).exists()

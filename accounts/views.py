"""Sign-up, sign-in and the password-reset request; the other account pages are Django's own."""

import logging

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts.demo_login import DEMO_PASSWORD, DEMO_USERNAME, demo_user_exists
from accounts.forms import SignUpForm
from accounts.security import password_reset_mail_allowed

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEBUG and demo_user_exists():
            context["demo_login"] = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
        return context


@sensitive_post_parameters("password1", "password2")
def signup(request):
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        # Two authentication backends (axes, then the model backend): name the one.
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/signup.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with its mails throttled per address and per client address.

    Over the limit the answer is the same "check your inbox" page, so that the
    page tells nothing about the address either way.
    """

    def form_valid(self, form):
        if password_reset_mail_allowed(self.request, form.cleaned_data["email"]):
            return super().form_valid(form)
        logger.warning("Password-reset mail throttled (too many requests in the last hour).")
        return HttpResponseRedirect(self.get_success_url())

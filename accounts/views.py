"""Sign-up and sign-in; the other account pages are Django's own auth views."""

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts.demo_login import DEMO_PASSWORD, DEMO_USERNAME, demo_user_exists
from accounts.forms import SignUpForm


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

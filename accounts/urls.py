from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import spotify_views, views

# Django's default names (login, logout, password_reset_confirm, …), which its
# auth views and e-mail templates reverse.
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    # Connect Spotify. The callback's path is part of SPOTIFY_REDIRECT_URI.
    path("spotify/", spotify_views.account, name="spotify"),
    path("spotify/connect/", spotify_views.connect, name="spotify-connect"),
    path("spotify/callback/", spotify_views.callback, name="spotify-callback"),
    path("spotify/disconnect/", spotify_views.disconnect, name="spotify-disconnect"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

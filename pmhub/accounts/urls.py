from __future__ import annotations

from django.urls import path

from pmhub.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/two-factor/", views.login_two_factor, name="login-two-factor"),
    path("logout/", views.logout, name="logout"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/sent/", views.password_reset_done, name="password-reset-done"),
    path("reset/<uidb64>/<token>/", views.password_reset_confirm, name="password-reset-confirm"),
    path("reset/done/", views.password_reset_complete, name="password-reset-complete"),
    path("two-factor/", views.two_factor_settings, name="two-factor"),
    path(
        "two-factor/recovery-codes/",
        views.two_factor_recovery_regenerate,
        name="two-factor-recovery-codes",
    ),
    path("two-factor/disable/", views.two_factor_disable_view, name="two-factor-disable"),
]

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.functional import lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from pmhub.accounts.forms import (
    LoginForm,
    TwoFactorConfirmForm,
    TwoFactorLoginForm,
    TwoFactorSetupForm,
)
from pmhub.accounts.two_factor import (
    login_pending_begin,
    login_pending_complete,
    login_pending_user,
    recovery_codes_left,
    recovery_codes_regenerate,
    two_factor_disable,
    two_factor_enable,
    two_factor_setup,
)
from pmhub.core.access import public_view
from pmhub.core.exceptions import ApplicationError
from pmhub.core.forms import form_add_service_error
from pmhub.core.http import client_address
from pmhub.core.views import user_view
from pmhub.workspaces.selectors import membership_list_for_user

BACKEND = "pmhub.accounts.backends.UserBackend"


def _base_url() -> str:
    return settings.PMHUB_BASE_URL


class LoginView(auth_views.LoginView):
    """Email and password; people with two-factor on go on to give a code before anyone is
    logged in."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: LoginForm) -> HttpResponse:
        user = form.get_user()
        if not user.has_two_factor:
            return super().form_valid(form)
        login_pending_begin(
            self.request, user=user, backend=BACKEND, next_url=self.get_success_url()
        )
        return redirect("accounts:login-two-factor")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset, which logs the person in, except that a new password does not replace
    the second factor: people with two-factor on give a code next, as after a login."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")
    post_reset_login = True
    post_reset_login_backend = BACKEND

    def form_valid(self, form: Any) -> HttpResponse:
        if not self.user.has_two_factor:
            return super().form_valid(form)
        self.post_reset_login = False
        super().form_valid(form)  # saves the password and spends the link
        login_pending_begin(
            self.request, user=self.user, backend=BACKEND, next_url=settings.LOGIN_REDIRECT_URL
        )
        messages.success(self.request, "Password saved. Enter a code to finish logging in.")
        return redirect("accounts:login-two-factor")


login = public_view(LoginView.as_view())
logout = public_view(auth_views.LogoutView.as_view())
password_reset = public_view(
    auth_views.PasswordResetView.as_view(
        template_name="accounts/password_reset.html",
        email_template_name="emails/password_reset.txt",
        html_email_template_name="emails/password_reset.html",
        subject_template_name="emails/password_reset_subject.txt",
        success_url=reverse_lazy("accounts:password-reset-done"),
        extra_email_context={"base_url": lazy(_base_url, str)()},
    )
)
password_reset_done = public_view(
    auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html")
)
password_reset_confirm = public_view(PasswordResetConfirmView.as_view())
password_reset_complete = public_view(
    auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"
    )
)


@public_view
@require_http_methods(["GET", "POST"])
def login_two_factor(request: HttpRequest) -> HttpResponse:
    """The login's second step: a code from the app, or a recovery code."""
    found = login_pending_user(request)
    if found is None:
        if request.method == "POST":
            messages.error(request, "That took too long. Log in again.")
        return redirect("accounts:login")
    user, _pending = found
    form = TwoFactorLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            next_url = login_pending_complete(request, code=form.cleaned_data["code"])
        except ApplicationError as exc:
            form_add_service_error(form, exc)
        else:
            return redirect(next_url)
    return render(
        request,
        "accounts/login_two_factor.html",
        {"form": form, "email": user.email},
        status=400 if form.errors else 200,
    )


def _workspaces_in_play(request: HttpRequest) -> dict[str, Any]:
    """The person's workspaces as this page speaks of them: the one that sent them here because
    it requires two-factor (`?workspace=`, if they are a member and it does), the safe address
    to return to (`?next=`), the ones requiring it, and the one to go back to."""
    next_url = request.GET.get("next") or request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    slug = request.GET.get("workspace") or request.POST.get("workspace") or ""
    workspaces = [m.workspace for m in membership_list_for_user(user=request.user)]
    requiring = [w for w in workspaces if w.two_factor_required]
    last = request.session.get("last_workspace")
    return {
        "next_url": next_url,
        "required_by": next((w for w in requiring if w.slug == slug), None),
        "requiring": requiring,
        "back_to": next((w for w in workspaces if w.slug == (slug or last)), None),
    }


def _security_page(
    request: HttpRequest,
    *,
    forms: dict[str, Form] | None = None,
    recovery_codes: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {
        **_workspaces_in_play(request),
        "recovery_codes": recovery_codes or [],
        "setup_form": TwoFactorSetupForm(),
        "regenerate_form": TwoFactorConfirmForm(prefix="regenerate"),
        "disable_form": TwoFactorConfirmForm(prefix="disable"),
        **(forms or {}),
    }
    if user.has_two_factor:
        context["codes_left"] = recovery_codes_left(user=user)
    else:
        context["setup"] = two_factor_setup(user=user)
    return render(request, "accounts/two_factor.html", context, status=status)


def _answered(
    request: HttpRequest,
    form: Form,
    form_name: str,
    service: Callable[[str], Any],
    done: Callable[[Any], HttpResponse],
) -> HttpResponse:
    """Call `service` with the form's one answer (a code, a password) and `done` with what it
    returns; when refused, the page again with the reason on the form. A GET of the form's
    address is sent to the page the form is on."""
    if request.method == "GET":
        return redirect("accounts:two-factor")
    if form.is_valid():
        (answer,) = form.cleaned_data.values()
        try:
            result = service(answer)
        except ApplicationError as exc:
            form_add_service_error(form, exc)
        else:
            return done(result)
    return _security_page(request, forms={form_name: form}, status=400)


def _codes_made(request: HttpRequest, message: str) -> Callable[[list[str]], HttpResponse]:
    def done(codes: list[str]) -> HttpResponse:
        request.user.refresh_from_db(fields=["two_factor_enabled_at"])
        messages.success(request, message)
        return _security_page(request, recovery_codes=codes)

    return done


@user_view
@require_http_methods(["GET", "POST"])
def two_factor_settings(request: HttpRequest) -> HttpResponse:
    """Account › Two-factor: set up an authenticator app (POST confirms it with a code), or,
    once on, see the recovery codes left, regenerate them, or turn it off."""
    if request.method == "GET":
        return _security_page(request)
    if request.user.has_two_factor:
        return redirect("accounts:two-factor")
    return _answered(
        request,
        TwoFactorSetupForm(request.POST),
        "setup_form",
        lambda code: two_factor_enable(
            user=request.user, code=code, address=client_address(request)
        ),
        _codes_made(request, "Two-factor authentication is on."),
    )


def _turned_off(request: HttpRequest) -> Callable[[Any], HttpResponse]:
    def done(_user: Any) -> HttpResponse:
        messages.success(request, "Two-factor authentication is off.")
        return redirect("accounts:two-factor")

    return done


def _password_or_code_view(
    prefix: str,
    service: Callable[..., Any],
    done: Callable[[HttpRequest], Callable[[Any], HttpResponse]],
) -> Callable[[HttpRequest], HttpResponse]:
    """A POST of the account page that changes the second factor once the person has given
    their password or a code again (the form's fields carry `prefix`)."""

    @user_view
    @require_http_methods(["GET", "POST"])
    def view(request: HttpRequest) -> HttpResponse:
        return _answered(
            request,
            TwoFactorConfirmForm(request.POST or None, prefix=prefix),
            f"{prefix}_form",
            lambda answer: service(
                user=request.user, password_or_code=answer, address=client_address(request)
            ),
            done(request),
        )

    return view


two_factor_recovery_regenerate = _password_or_code_view(
    "regenerate",
    recovery_codes_regenerate,
    lambda request: _codes_made(request, "New recovery codes made. The old ones no longer work."),
)
two_factor_disable_view = _password_or_code_view("disable", two_factor_disable, _turned_off)

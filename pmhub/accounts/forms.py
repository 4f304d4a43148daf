from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from pmhub.accounts.models import ApiToken
from pmhub.accounts.throttle import failure_record, failures_exhausted, throttle_key
from pmhub.core.http import client_address

# Failed and refused logins, for the operators' log monitoring (e.g. fail2ban on the address).
log = logging.getLogger(__name__)


class LoginForm(AuthenticationForm):
    """Email + password; refuses further tries after too many failures for an email and address."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account.",
        "throttled": "Too many failed attempts. Wait 15 minutes, or reset your password.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "email", "type": "email", "placeholder": "you@company.com"}
        )
        self.fields["password"].widget.attrs["placeholder"] = "Password"

    def _who(self) -> tuple[str, str]:
        email = (self.data.get("username") or "").strip().lower()
        return email, client_address(self.request) if self.request else ""

    def clean(self) -> dict[str, Any]:
        email, address = self._who()
        key = throttle_key("login", email, address)
        if failures_exhausted(key):
            log.warning("login refused, too many failures: email=%s address=%s", email, address)
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            failures = failure_record(key)
            log.info("login failed: email=%s address=%s failures=%d", email, address, failures)
            raise


class SignupForm(forms.Form):
    """Create an account while accepting an invitation (the email comes from the invitation)."""

    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = forms.CharField(
        min_length=8,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=80, widget=forms.TextInput(attrs={"placeholder": "e.g. CI backlog export"})
    )
    access = forms.ChoiceField(
        choices=ApiToken.Access.choices, initial=ApiToken.Access.READ, widget=forms.RadioSelect
    )


def _code_input(**attrs: Any) -> forms.TextInput:
    return forms.TextInput(
        attrs={
            "autocomplete": "one-time-code",
            "autocapitalize": "none",
            "spellcheck": "false",
            "placeholder": "123456",
            **attrs,
        }
    )


class TwoFactorSetupForm(forms.Form):
    """The first code from the app being set up, which proves it holds the key."""

    code = forms.CharField(
        max_length=12, label="Code from the app", widget=_code_input(inputmode="numeric")
    )


class TwoFactorLoginForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        label="Authentication code",
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=_code_input(autofocus=True),
    )


class TwoFactorConfirmForm(forms.Form):
    """Who is at the keyboard, asked again before the second factor changes."""

    password_or_code = forms.CharField(
        max_length=128,
        label="Password or authentication code",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

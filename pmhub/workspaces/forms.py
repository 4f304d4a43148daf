from __future__ import annotations

from django import forms

from pmhub.workspaces.models import SLUG_VALIDATOR
from pmhub.workspaces.roles import Role


class WorkspaceCreateForm(forms.Form):
    name = forms.CharField(
        max_length=80, widget=forms.TextInput(attrs={"placeholder": "Acme Inc."})
    )
    slug = forms.CharField(
        max_length=50,
        validators=[SLUG_VALIDATOR],
        label="Address",
        help_text="Lowercase letters, digits and hyphens. Appears in every link: /w/your-address/.",
        widget=forms.TextInput(attrs={"placeholder": "acme", "autocapitalize": "none"}),
    )


class WorkspaceRenameForm(forms.Form):
    name = forms.CharField(max_length=80)


class TwoFactorRequirementForm(forms.Form):
    two_factor_required = forms.BooleanField(
        required=False, label="Require two-factor authentication"
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"placeholder": "colleague@company.com"})
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.EDITOR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, max_length=64)
    actor = forms.IntegerField(required=False, min_value=1)
    object_type = forms.CharField(required=False, max_length=64)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

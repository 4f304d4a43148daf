from __future__ import annotations

from django.urls import path

from pmhub.workspaces import views

app_name = "workspaces"

# Mounted under /w/<workspace_slug>/.
urlpatterns = [
    path("", views.workspace_home, name="home"),
    path("settings/", views.settings_general, name="settings"),
    path("settings/members/", views.settings_members, name="members"),
    path("settings/security/", views.settings_security, name="security"),
    path("settings/members/<int:member_id>/role/", views.member_role_view, name="member-role"),
    path(
        "settings/members/<int:member_id>/remove/", views.member_remove_view, name="member-remove"
    ),
    path("settings/leave/", views.workspace_leave_view, name="leave"),
    path("settings/invitations/", views.invitation_create_view, name="invitation-create"),
    path(
        "settings/invitations/<int:invitation_id>/resend/",
        views.invitation_resend_view,
        name="invitation-resend",
    ),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke_view,
        name="invitation-revoke",
    ),
    path("settings/tokens/", views.settings_tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke_view, name="token-revoke"),
    path("settings/audit/", views.settings_audit, name="audit"),
]

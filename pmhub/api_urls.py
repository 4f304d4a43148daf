"""Every route under /api/v1/."""

from __future__ import annotations

from django.urls import include, path

from pmhub.accounts.api.views import MeApi
from pmhub.workspaces.api.views import (
    InvitationListCreateApi,
    MemberDetailApi,
    MemberListApi,
    WorkspaceDetailApi,
)

app_name = "api"

urlpatterns = [
    path("me/", MeApi.as_view(), name="me"),
    path(
        "workspaces/<slug:workspace_slug>/", WorkspaceDetailApi.as_view(), name="workspace-detail"
    ),
    path("workspaces/<slug:workspace_slug>/members/", MemberListApi.as_view(), name="member-list"),
    path(
        "workspaces/<slug:workspace_slug>/members/<int:member_id>/",
        MemberDetailApi.as_view(),
        name="member-detail",
    ),
    path(
        "workspaces/<slug:workspace_slug>/invitations/",
        InvitationListCreateApi.as_view(),
        name="invitation-list",
    ),
    path("workspaces/<slug:workspace_slug>/", include("discovery.api.urls")),
    path("workspaces/<slug:workspace_slug>/", include("backlog.api.urls")),
    path("workspaces/<slug:workspace_slug>/", include("roadmap.api.urls")),
    path("workspaces/<slug:workspace_slug>/", include("docs.api.urls")),
    path("workspaces/<slug:workspace_slug>/", include("pmhub.digests.api.urls")),
]
